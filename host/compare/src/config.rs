//! Comparison settings and their compiled form.

use regex::Regex;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Byte-for-byte (execution counts are never compared).
    Exact,
    /// Volatile text masked, numbers compared within tolerance.
    #[default]
    Normalized,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Exact => "exact",
            Strategy::Normalized => "normalized",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sanitizer {
    pub pattern: String,
    #[serde(default)]
    pub replacement: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CompareConfig {
    pub strategy: Strategy,
    pub abs_tolerance: f64,
    pub rel_tolerance: f64,
    pub ignore_timestamps: bool,
    pub ignore_execution_count: bool,
    /// Extra regexes whose matches count as timestamps.
    pub timestamp_patterns: Vec<String>,
    /// Regex replacements applied to both sides before comparing.
    pub sanitizers: Vec<Sanitizer>,
    /// Output types (stream, stream:stdout, stream:stderr, execute_result,
    /// display_data, error) or MIME types not compared.
    pub ignore_output_types: Vec<String>,
    /// Rich MIME types compared in addition to text/plain.
    pub compare_mime_types: Vec<String>,
    /// nbval-lax: compare only cells marked NBVAL_CHECK_OUTPUT.
    pub lax: bool,
}

impl Default for CompareConfig {
    fn default() -> Self {
        Self {
            strategy: Strategy::Normalized,
            abs_tolerance: 1e-4,
            rel_tolerance: 0.0,
            ignore_timestamps: true,
            ignore_execution_count: true,
            timestamp_patterns: Vec::new(),
            sanitizers: Vec::new(),
            ignore_output_types: Vec::new(),
            compare_mime_types: Vec::new(),
            lax: false,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("{field}[{index}] is not a valid regular expression ({pattern:?}): {message}")]
    Regex {
        field: &'static str,
        index: usize,
        pattern: String,
        message: String,
    },
    #[error("{field} must be a finite, non-negative number, got {value}")]
    Tolerance { field: &'static str, value: f64 },
}

/// A config with its regexes compiled once.
#[derive(Debug, Clone)]
pub struct Comparator {
    pub config: CompareConfig,
    pub(crate) timestamps: Vec<Regex>,
    pub(crate) sanitizers: Vec<(Regex, String)>,
}

fn compile(field: &'static str, index: usize, pattern: &str) -> Result<Regex, ConfigError> {
    Regex::new(pattern).map_err(|e| ConfigError::Regex {
        field,
        index,
        pattern: pattern.to_string(),
        message: e
            .to_string()
            .lines()
            .last()
            .unwrap_or_default()
            .trim()
            .to_string(),
    })
}

impl CompareConfig {
    pub fn compile(&self) -> Result<Comparator, ConfigError> {
        for (field, value) in [
            ("absTolerance", self.abs_tolerance),
            ("relTolerance", self.rel_tolerance),
        ] {
            if !value.is_finite() || value < 0.0 {
                return Err(ConfigError::Tolerance { field, value });
            }
        }
        let timestamps = self
            .timestamp_patterns
            .iter()
            .enumerate()
            .map(|(i, p)| compile("timestampPatterns", i, p))
            .collect::<Result<_, _>>()?;
        let sanitizers = self
            .sanitizers
            .iter()
            .enumerate()
            .map(|(i, s)| Ok((compile("sanitizers", i, &s.pattern)?, s.replacement.clone())))
            .collect::<Result<_, _>>()?;
        Ok(Comparator {
            config: self.clone(),
            timestamps,
            sanitizers,
        })
    }
}
