//! The code cells of a notebook, read with serde_json over the nbformat shape
//! (v4 `cells`, and v3 `worksheets[].cells[].input`), leniently: `source` may
//! be a string or a list of strings, and unknown fields are ignored.

use std::path::Path;

use serde_json::Value;

use super::{RequirementsError, read_text};

pub(crate) struct Notebook {
    /// Kernel language when the notebook says (`python`, `R`, ...).
    pub(crate) language: Option<String>,
    /// (1-based cell number among all cells, source) of each code cell.
    pub(crate) cells: Vec<(usize, String)>,
}

impl Notebook {
    /// True unless the notebook names a language other than Python.
    pub(crate) fn is_python(&self) -> bool {
        self.language
            .as_deref()
            .is_none_or(|l| l.to_ascii_lowercase().starts_with("python"))
    }
}

pub(crate) fn load(abs: &Path, rel: &str) -> Result<Notebook, RequirementsError> {
    let text = read_text(abs, rel)?;
    let invalid = |message: String| RequirementsError::InvalidNotebook {
        path: rel.to_string(),
        message,
    };
    let doc: Value = serde_json::from_str(&text).map_err(|e| invalid(format!("not JSON: {e}")))?;
    let Some(obj) = doc.as_object() else {
        return Err(invalid("the top level is not a JSON object".into()));
    };
    let metadata = obj.get("metadata");
    let language = metadata
        .and_then(|m| m.pointer("/kernelspec/language"))
        .or_else(|| metadata.and_then(|m| m.pointer("/language_info/name")))
        .and_then(Value::as_str)
        .map(str::to_string);

    let (cells, field): (Vec<&Value>, &str) = if let Some(cells) = obj.get("cells") {
        let Some(cells) = cells.as_array() else {
            return Err(invalid("`cells` is not a list".into()));
        };
        (cells.iter().collect(), "source")
    } else if let Some(sheets) = obj.get("worksheets").and_then(Value::as_array) {
        let cells = sheets
            .iter()
            .filter_map(|s| s.get("cells").and_then(Value::as_array))
            .flatten()
            .collect();
        (cells, "input")
    } else {
        return Err(invalid("it has no `cells` list (nbformat 4)".into()));
    };

    let mut out = Vec::new();
    for (index, cell) in cells.into_iter().enumerate() {
        if cell.get("cell_type").and_then(Value::as_str) != Some("code") {
            continue;
        }
        let source = match cell.get(field) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(parts)) => {
                let mut joined = String::new();
                for part in parts {
                    let Some(s) = part.as_str() else {
                        return Err(invalid(format!(
                            "cell {} has a non-string entry in `{field}`",
                            index + 1
                        )));
                    };
                    joined.push_str(s);
                }
                joined
            }
            Some(_) => {
                return Err(invalid(format!(
                    "cell {}: `{field}` is neither a string nor a list of strings",
                    index + 1
                )));
            }
        };
        out.push((index + 1, source));
    }
    Ok(Notebook {
        language,
        cells: out,
    })
}
