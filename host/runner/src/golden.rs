//! Loading the comparison settings and running the golden comparison. The
//! comparison itself is `nbv-compare`'s; this only reads files and reports.

use std::path::Path;

use nbformat::v4::Notebook;
use nbv_compare::{Comparator, CompareConfig};

use crate::report::ComparisonReport;

#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    #[error("{origin}: cannot read the comparison config: {source}")]
    Read {
        origin: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}: not a valid comparison config: {message}")]
    Parse { origin: String, message: String },
    #[error("{origin}: unknown setting {field:?} (known: {known})")]
    UnknownField {
        origin: String,
        field: String,
        known: String,
    },
    #[error("{origin}: {source}")]
    Invalid {
        origin: String,
        #[source]
        source: nbv_compare::ConfigError,
    },
}

/// A YAML or JSON file (YAML unless the name ends in `.json`).
pub fn load_config_file(path: &Path) -> Result<Comparator, ConfigFileError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigFileError::Read {
        origin: origin.clone(),
        source,
    })?;
    let value: serde_json::Value = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        serde_json::from_str(&text).map_err(|e| parse_err(&origin, e))?
    } else {
        serde_yaml::from_str(&text).map_err(|e| parse_err(&origin, e))?
    };
    compile(value, &origin)
}

/// Inline JSON, as the operator passes `spec.comparisonConfig`.
pub fn parse_config_json(text: &str) -> Result<Comparator, ConfigFileError> {
    let origin = "--compare-config-json";
    let value = serde_json::from_str(text).map_err(|e| parse_err(origin, e))?;
    compile(value, origin)
}

fn parse_err(origin: &str, e: impl std::fmt::Display) -> ConfigFileError {
    ConfigFileError::Parse {
        origin: origin.to_string(),
        message: e.to_string(),
    }
}

fn compile(value: serde_json::Value, origin: &str) -> Result<Comparator, ConfigFileError> {
    // An empty YAML file means "all defaults".
    let value = if value.is_null() {
        serde_json::json!({})
    } else {
        value
    };
    // CompareConfig fills in defaults for missing fields, so a misspelt one
    // would silently do nothing; refuse it instead.
    let known = serde_json::to_value(CompareConfig::default()).unwrap_or_default();
    if let (Some(given), Some(known)) = (value.as_object(), known.as_object())
        && let Some(field) = given.keys().find(|k| !known.contains_key(*k))
    {
        return Err(ConfigFileError::UnknownField {
            origin: origin.to_string(),
            field: field.clone(),
            known: known.keys().cloned().collect::<Vec<_>>().join(", "),
        });
    }
    let config: CompareConfig = serde_json::from_value(value).map_err(|e| parse_err(origin, e))?;
    config.compile().map_err(|source| ConfigFileError::Invalid {
        origin: origin.to_string(),
        source,
    })
}

pub fn compare(
    comparator: &Comparator,
    executed: &Notebook,
    golden: &Notebook,
    golden_label: &str,
) -> ComparisonReport {
    ComparisonReport {
        golden: golden_label.to_string(),
        result: nbv_compare::compare(comparator, executed, golden),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_json_files_load() {
        let dir = tempfile::tempdir().expect("tempdir");
        let yaml = dir.path().join("cmp.yaml");
        std::fs::write(
            &yaml,
            "strategy: exact\nabsTolerance: 0.01\nignoreOutputTypes: [stream:stderr]\n",
        )
        .expect("write");
        let c = load_config_file(&yaml).expect("yaml loads");
        assert_eq!(c.config.strategy, nbv_compare::Strategy::Exact);
        assert_eq!(c.config.abs_tolerance, 0.01);
        let json = dir.path().join("cmp.json");
        std::fs::write(&json, r#"{"relTolerance": 1e-6}"#).expect("write");
        assert_eq!(
            load_config_file(&json)
                .expect("json loads")
                .config
                .rel_tolerance,
            1e-6
        );
        let empty = dir.path().join("empty.yml");
        std::fs::write(&empty, "").expect("write");
        assert_eq!(
            load_config_file(&empty).expect("defaults").config,
            CompareConfig::default()
        );
    }

    #[test]
    fn mistakes_are_named() {
        let e = parse_config_json(r#"{"absTolerence": 0.1}"#).expect_err("typo");
        assert!(
            e.to_string().contains("unknown setting \"absTolerence\""),
            "{e}"
        );
        let e = parse_config_json(r#"{"absTolerance": -1}"#).expect_err("negative");
        assert!(e.to_string().contains("absTolerance"), "{e}");
        let e = parse_config_json(r#"{"sanitizers": [{"pattern": "("}]}"#).expect_err("regex");
        assert!(e.to_string().contains("sanitizers[0]"), "{e}");
        let e = load_config_file(Path::new("/nonexistent/cmp.yaml")).expect_err("missing");
        assert!(
            e.to_string()
                .starts_with("/nonexistent/cmp.yaml: cannot read"),
            "{e}"
        );
    }
}
