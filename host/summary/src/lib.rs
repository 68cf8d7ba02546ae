//! The signed summary the in-pod runner writes to the termination message,
//! which is how the operator learns the verdict. Never read from logs.
//!
//! Format: one header line, then the JSON body.
//!
//! ```text
//! NBV-SUMMARY/1 <body-bytes> sha256:<hex> hmac-sha256:<hex>
//! {"passed":true,...}
//! ```
//!
//! The HMAC key is per job: the operator creates it, the `install` init
//! container copies it next to the runner, and the runner reads and deletes
//! it before the kernel starts. Notebook code therefore cannot forge a
//! passing summary, even though it runs in the same container. The kubelet
//! keeps at most 4096 bytes, so the body is shrunk (outputs, then diffs, then
//! per-cell detail) until it fits; the verdict and counts always survive.

use ring::{digest, hmac};
use serde::{Deserialize, Serialize};

pub const HEADER: &str = "NBV-SUMMARY/1";
/// The kubelet truncates termination messages beyond this.
pub const LIMIT: usize = 4096;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub passed: bool,
    /// One line a person can act on.
    pub message: String,
    /// Machine-readable failure kind: CellError, CellTimeout, Timeout, KernelDied, GoldenMismatch, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Set when execution itself failed (as opposed to a golden mismatch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_error: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cells: Vec<CellSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<ComparisonSummary>,
    /// Set when detail was dropped to fit the kubelet's limit.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CellSummary {
    pub index: usize,
    /// Success, Failure or Skipped.
    pub status: String,
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub output: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComparisonSummary {
    pub strategy: String,
    pub total: usize,
    pub matched: usize,
    pub mismatched: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diffs: Vec<DiffSummary>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffSummary {
    pub cell_index: usize,
    pub cell_type: String,
    pub diff_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub expected: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub actual: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub diff: String,
    pub severity: String,
}

impl Summary {
    /// The reason conditions and events carry when the run failed.
    pub fn failure_reason(&self) -> &'static str {
        // The runner's FailureKind names, mapped to condition reasons. A
        // kind this operator doesn't know still fails, as RunnerFailed.
        match self.failure.as_deref() {
            _ if self.passed => "Succeeded",
            Some("CellError") => "CellError",
            Some("CellTimeout") | Some("Timeout") => "Timeout",
            Some("KernelDied") => "KernelDied",
            Some("KernelStartFailed") | Some("KernelMissing") => "KernelUnavailable",
            Some("ExpectedExceptionMissing") => "ExpectedExceptionMissing",
            Some("StderrOutput") => "StderrOutput",
            Some("Warnings") => "Warnings",
            Some("GoldenMismatch") => "GoldenMismatch",
            Some("InvalidNotebook") | Some("InvalidInput") => "InvalidNotebook",
            Some("Interrupted") => "Interrupted",
            _ => "RunnerFailed",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OpenError {
    #[error(
        "no summary header (expected {HEADER}); the runner did not finish or something else wrote the termination message"
    )]
    MissingHeader,
    #[error("malformed summary header: {0}")]
    BadHeader(String),
    #[error("summary is {actual} bytes but the header says {expected}: it was truncated")]
    Truncated { expected: usize, actual: usize },
    #[error("summary checksum does not match: it was corrupted or altered")]
    Checksum,
    #[error(
        "summary signature does not match the job's key: it was not written by this job's runner"
    )]
    Signature,
    #[error("summary body is not valid JSON: {0}")]
    Json(String),
}

fn sha256_hex(body: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, body))
}

fn frame(body: &[u8], key: &[u8]) -> String {
    let sum = sha256_hex(body);
    let sig = hex::encode(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), body));
    format!(
        "{HEADER} {} sha256:{sum} hmac-sha256:{sig}\n{}",
        body.len(),
        String::from_utf8_lossy(body)
    )
}

fn cut(s: &mut String, max: usize) {
    if s.len() > max {
        let mut at = max;
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        s.truncate(at);
        s.push('…');
    }
}

/// Serialises, shrinks until it fits in `LIMIT`, and signs.
pub fn seal(summary: &Summary, key: &[u8]) -> String {
    let mut s = summary.clone();
    let fits = |s: &Summary| frame(&serde_json::to_vec(s).unwrap_or_default(), key).len() <= LIMIT;
    // Each step drops less important detail than the one after it.
    let steps: [&dyn Fn(&mut Summary); 6] = [
        &|s| s.cells.iter_mut().for_each(|c| cut(&mut c.output, 80)),
        &|s| {
            if let Some(c) = s.comparison.as_mut() {
                for d in &mut c.diffs {
                    cut(&mut d.expected, 120);
                    cut(&mut d.actual, 120);
                    cut(&mut d.diff, 400);
                }
            }
        },
        &|s| s.cells.iter_mut().for_each(|c| c.output.clear()),
        &|s| {
            if let Some(c) = s.comparison.as_mut() {
                c.diffs.truncate(3);
                c.diffs.iter_mut().for_each(|d| {
                    d.expected.clear();
                    d.actual.clear();
                    cut(&mut d.diff, 200);
                });
            }
        },
        &|s| {
            // Keep the failing cells; they are what a person needs.
            s.cells.retain(|c| c.status != "Success");
            s.cells.iter_mut().for_each(|c| cut(&mut c.error, 200));
        },
        &|s| {
            s.cells.clear();
            if let Some(c) = s.comparison.as_mut() {
                c.diffs.clear();
            }
            cut(&mut s.message, 300);
            if let Some(e) = s.execution_error.as_mut() {
                cut(e, 300);
            }
        },
    ];
    for step in steps {
        if fits(&s) {
            break;
        }
        step(&mut s);
        s.truncated = true;
    }
    frame(&serde_json::to_vec(&s).unwrap_or_default(), key)
}

/// Verifies and parses a termination message.
pub fn open(message: &str, key: &[u8]) -> Result<Summary, OpenError> {
    let (header, body) = message.split_once('\n').ok_or(OpenError::MissingHeader)?;
    let mut parts = header.split(' ');
    if parts.next() != Some(HEADER) {
        return Err(OpenError::MissingHeader);
    }
    let bad = || OpenError::BadHeader(header.chars().take(120).collect());
    let len: usize = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let sum = parts
        .next()
        .and_then(|p| p.strip_prefix("sha256:"))
        .ok_or_else(bad)?;
    let sig = parts
        .next()
        .and_then(|p| p.strip_prefix("hmac-sha256:"))
        .ok_or_else(bad)?;
    if parts.next().is_some() {
        return Err(bad());
    }
    let body = body.as_bytes();
    if body.len() != len {
        return Err(OpenError::Truncated {
            expected: len,
            actual: body.len(),
        });
    }
    if sha256_hex(body) != sum {
        return Err(OpenError::Checksum);
    }
    let sig = hex::decode(sig).map_err(|_| bad())?;
    // ring's verify compares in constant time.
    hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, key), body, &sig)
        .map_err(|_| OpenError::Signature)?;
    serde_json::from_slice(body).map_err(|e| OpenError::Json(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn summary(cells: usize, output: usize) -> Summary {
        Summary {
            passed: false,
            message: "cell 3 raised ZeroDivisionError".into(),
            failure: Some("CellError".into()),
            execution_error: Some("ZeroDivisionError: division by zero".into()),
            cells: (0..cells)
                .map(|i| CellSummary {
                    index: i,
                    status: if i == 3 { "Failure" } else { "Success" }.into(),
                    duration_ms: 12,
                    output: "x".repeat(output),
                    error: if i == 3 {
                        "ZeroDivisionError".into()
                    } else {
                        String::new()
                    },
                })
                .collect(),
            comparison: None,
            truncated: false,
        }
    }

    #[test]
    fn round_trips_when_small() {
        let s = summary(5, 10);
        let sealed = seal(&s, KEY);
        assert!(sealed.len() <= LIMIT);
        assert_eq!(open(&sealed, KEY), Ok(s));
    }

    #[test]
    fn shrinks_large_summaries_but_keeps_the_verdict_and_failing_cell() {
        let s = summary(400, 500);
        let sealed = seal(&s, KEY);
        assert!(sealed.len() <= LIMIT, "{} bytes", sealed.len());
        let back = open(&sealed, KEY).expect("verifies");
        assert!(back.truncated);
        assert!(!back.passed);
        assert_eq!(back.failure_reason(), "CellError");
        assert!(
            back.cells
                .iter()
                .any(|c| c.index == 3 && c.status == "Failure"),
            "{back:?}"
        );
    }

    #[test]
    fn forged_or_damaged_summaries_are_rejected() {
        let sealed = seal(&summary(2, 1), KEY);
        assert_eq!(open(&sealed, b"another key"), Err(OpenError::Signature));
        let tampered = sealed.replace("\"passed\":false", "\"passed\":true ");
        assert_eq!(open(&tampered, KEY), Err(OpenError::Checksum));
        let truncated = &sealed[..sealed.len() - 5];
        assert!(matches!(
            open(truncated, KEY),
            Err(OpenError::Truncated { .. })
        ));
        assert_eq!(
            open("{\"passed\":true}", KEY),
            Err(OpenError::MissingHeader)
        );
        assert_eq!(open("", KEY), Err(OpenError::MissingHeader));
        // A notebook that knows the format but not the key cannot pass itself off.
        let body = br#"{"passed":true,"message":"ok"}"#;
        let fake = frame(body, b"guessed");
        assert_eq!(open(&fake, KEY), Err(OpenError::Signature));
    }
}
