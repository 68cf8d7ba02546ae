//! Reading and writing notebooks through the `nbformat` crate. Every error
//! names the file, because a person fixing it needs to know which of the
//! notebook, the golden notebook or the output is at fault.

use std::path::{Path, PathBuf};

use nbformat::v4::{Cell, Notebook};

#[derive(Debug, thiserror::Error)]
pub enum NotebookError {
    #[error("{path}: cannot read the notebook: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a valid notebook: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error(
        "{path}: nbformat {major}.{minor} is not supported; nbv runs nbformat 4 notebooks \
         (convert with `jupyter nbconvert --to notebook --nbformat 4`)"
    )]
    Version {
        path: PathBuf,
        major: i32,
        minor: i32,
    },
    #[error("{path}: cannot write the notebook: {message}")]
    Write { path: PathBuf, message: String },
}

pub fn load(path: &Path) -> Result<Notebook, NotebookError> {
    let text = std::fs::read_to_string(path).map_err(|source| NotebookError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// `origin` only labels errors; embedded notebooks have no file.
pub fn parse(text: &str, origin: &Path) -> Result<Notebook, NotebookError> {
    let invalid = |message: String| NotebookError::Invalid {
        path: origin.to_path_buf(),
        message,
    };
    // nbformat reports a JSON syntax error without saying that is what it
    // is, so check the syntax first ourselves.
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| invalid(format!("malformed JSON ({e})")))?;
    if !value.is_object() {
        return Err(invalid("the top level is not a JSON object".into()));
    }
    match nbformat::parse_notebook(text) {
        Ok(nbformat::Notebook::V4(nb)) => Ok(nb),
        // Missing cell ids in 4.5 are common in hand-written notebooks; the
        // parser already filled them in.
        Ok(nbformat::Notebook::V4QuirksMode(q)) => Ok(q.repair()),
        Ok(nbformat::Notebook::Legacy(legacy)) => {
            nbformat::upgrade_legacy_notebook(legacy).map_err(|e| invalid(e.to_string()))
        }
        Ok(nbformat::Notebook::V3(v3)) => Err(NotebookError::Version {
            path: origin.to_path_buf(),
            major: v3.nbformat,
            minor: v3.nbformat_minor.unwrap_or(0),
        }),
        Ok(_) => Err(invalid("unrecognised notebook layout".into())),
        Err(nbformat::NotebookError::UnsupportedVersion(major, minor)) => {
            Err(NotebookError::Version {
                path: origin.to_path_buf(),
                major,
                minor,
            })
        }
        Err(e) => Err(invalid(describe_parse_error(&e.to_string()))),
    }
}

/// serde's messages for a cell read as "Failed to deserialize cell at index
/// 3: missing field `source`"; say it as people count cells.
fn describe_parse_error(message: &str) -> String {
    match message.split_once("Failed to deserialize cell at index ") {
        Some((_, rest)) => {
            let (index, detail) = rest.split_once(':').unwrap_or((rest, ""));
            match index.trim().parse::<usize>() {
                Ok(i) => format!("cell {} is malformed:{detail}", i + 1),
                Err(_) => message.to_string(),
            }
        }
        None => message.to_string(),
    }
}

pub fn to_json(nb: &Notebook) -> Result<String, nbformat::NotebookError> {
    nbformat::serialize_notebook(&nbformat::Notebook::V4(nb.clone()))
}

pub fn save(nb: &Notebook, path: &Path) -> Result<(), NotebookError> {
    let write_err = |message: String| NotebookError::Write {
        path: path.to_path_buf(),
        message,
    };
    let json = to_json(nb).map_err(|e| write_err(e.to_string()))?;
    crate::files::write_atomically(path, json.as_bytes()).map_err(|e| write_err(e.to_string()))
}

/// The source of a cell as one string.
pub fn source(cell: &Cell) -> String {
    cell.source().concat()
}

pub fn tags(cell: &Cell) -> &[String] {
    cell.metadata().tags.as_deref().unwrap_or_default()
}

/// The notebook's language, for choosing a fallback kernel.
pub fn language(nb: &Notebook) -> Option<&str> {
    nb.metadata
        .kernelspec
        .as_ref()
        .and_then(|k| k.language.as_deref())
        .or_else(|| nb.metadata.language_info.as_ref().map(|l| l.name.as_str()))
}

/// The default place for the executed notebook: next to the input, never the input.
pub fn default_output_path(input: &Path) -> PathBuf {
    let stem = input
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("notebook");
    input.with_file_name(format!("{stem}.nbv.ipynb"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(text, Path::new("bad.ipynb"))
            .expect_err(text)
            .to_string()
    }

    #[test]
    fn malformed_json_names_the_file() {
        let e = err("{\"cells\": [");
        assert!(
            e.starts_with("bad.ipynb: not a valid notebook: malformed JSON"),
            "{e}"
        );
    }

    #[test]
    fn wrong_version_is_explained() {
        let e = err(r#"{"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": []}"#);
        assert!(e.contains("nbformat 3.0 is not supported"), "{e}");
        let e = err(r#"{"nbformat": 5, "nbformat_minor": 0, "metadata": {}, "cells": []}"#);
        assert!(e.contains("nbformat 5.0 is not supported"), "{e}");
    }

    #[test]
    fn bad_cell_is_named_by_position() {
        let e = err(
            r#"{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
                {"cell_type": "code", "id": "a", "metadata": {}, "source": "1", "outputs": [], "execution_count": null},
                {"cell_type": "code", "id": "b", "metadata": {}, "outputs": [], "execution_count": null}]}"#,
        );
        assert!(e.contains("cell 2 is malformed"), "{e}");
        assert!(e.contains("source"), "{e}");
    }

    #[test]
    fn older_v4_and_missing_ids_are_accepted() {
        let nb = parse(
            r#"{"nbformat": 4, "nbformat_minor": 2, "metadata": {}, "cells": [
                {"cell_type": "code", "metadata": {}, "source": ["print(1)\n", "x"], "outputs": [], "execution_count": null}]}"#,
            Path::new("old.ipynb"),
        )
        .expect("4.2 upgrades");
        assert_eq!(nb.nbformat_minor, 5);
        assert_eq!(source(&nb.cells[0]), "print(1)\nx");
        let nb = parse(
            r#"{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
                {"cell_type": "markdown", "metadata": {}, "source": "hi"}]}"#,
            Path::new("noid.ipynb"),
        )
        .expect("missing id repaired");
        assert!(!nb.cells[0].id().as_str().is_empty());
    }

    #[test]
    fn default_output_sits_next_to_the_input() {
        assert_eq!(
            default_output_path(Path::new("dir/analysis.ipynb")),
            PathBuf::from("dir/analysis.nbv.ipynb")
        );
    }
}
