//! The in-pod hand-over: the bounded, signed summary for the container's
//! termination message (format and shrinking live in `nbv-summary`, the
//! contract shared with the operator), and the job key it is signed with.

use std::path::Path;

use nbv_summary::{CellSummary, ComparisonSummary, DiffSummary, Summary};

use crate::report::{FailureKind, RunReport};

#[derive(Debug, thiserror::Error)]
pub enum HandoverError {
    #[error("cannot read the result-signing key {path}: {source}")]
    ReadKey {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the result-signing key {path} is empty")]
    EmptyKey { path: String },
    #[error("cannot write {what} to {path}: {source}")]
    Write {
        what: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Reads the job's key and deletes the file, before any notebook code runs,
/// so the notebook (same user, same container) can never read it.
pub fn take_key(path: &Path) -> Result<Vec<u8>, HandoverError> {
    let shown = path.display().to_string();
    let key = std::fs::read(path).map_err(|source| HandoverError::ReadKey {
        path: shown.clone(),
        source,
    })?;
    // A key we could not delete is still used: failing the run would not
    // protect anything, and the operator's verdict still needs a signature.
    if let Err(e) = std::fs::remove_file(path) {
        tracing::warn!(path = %shown, "could not delete the result-signing key: {e}");
    }
    let trimmed = key.trim_ascii().to_vec();
    if trimmed.is_empty() {
        return Err(HandoverError::EmptyKey { path: shown });
    }
    Ok(trimmed)
}

pub fn summary(report: &RunReport) -> Summary {
    Summary {
        passed: report.exit_code() == 0,
        message: if report.message.is_empty() && report.passed {
            format!("{} code cells passed", report.cells.len())
        } else {
            report.message.clone()
        },
        failure: report.failure.map(|f| f.as_str().to_string()),
        execution_error: report
            .failure
            .filter(|f| *f != FailureKind::GoldenMismatch)
            .map(|_| report.message.clone()),
        cells: report
            .cells
            .iter()
            .map(|c| CellSummary {
                index: c.index,
                status: c.status.as_str().to_string(),
                duration_ms: c.duration_ms,
                output: c.output.clone(),
                error: c.message.clone(),
            })
            .collect(),
        comparison: report.comparison.as_ref().map(|c| ComparisonSummary {
            strategy: c.result.strategy.clone(),
            total: c.result.total,
            matched: c.result.matched,
            mismatched: c.result.mismatched,
            diffs: c
                .result
                .diffs
                .iter()
                .map(|d| DiffSummary {
                    cell_index: d.cell_index,
                    cell_type: d.cell_type.clone(),
                    diff_type: d.diff_type.clone(),
                    expected: d.expected.clone(),
                    actual: d.actual.clone(),
                    diff: d.diff.clone(),
                    severity: d.severity.clone(),
                })
                .collect(),
        }),
        truncated: false,
    }
}

/// Writes the sealed summary; `nbv-summary` keeps it within the kubelet's 4096 bytes.
pub fn write_termination_log(
    path: &Path,
    report: &RunReport,
    key: &[u8],
) -> Result<(), HandoverError> {
    let sealed = nbv_summary::seal(&summary(report), key);
    std::fs::write(path, sealed).map_err(|source| HandoverError::Write {
        what: "the termination summary",
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{CellReport, CellStatus};

    #[test]
    fn a_big_failing_report_fits_and_verifies() {
        let mut r = RunReport::new("big.ipynb");
        for i in 0..300 {
            let mut c = CellReport::new(i, format!("cell-{i}"), CellStatus::Success);
            c.output = "x".repeat(400);
            r.cells.push(c);
        }
        r.cells[7].status = CellStatus::Failure;
        r.cells[7].message = "ValueError: bad".into();
        r.fail(
            FailureKind::CellError,
            "cell 8 (id cell-7) raised ValueError: bad",
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("termination-log");
        write_termination_log(&path, &r, b"job-key").expect("written");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.len() <= nbv_summary::LIMIT, "{} bytes", text.len());
        let back = nbv_summary::open(&text, b"job-key").expect("verifies");
        assert!(!back.passed);
        assert_eq!(back.failure.as_deref(), Some("CellError"));
        assert!(
            back.cells
                .iter()
                .any(|c| c.index == 7 && c.status == "Failure"),
            "{back:?}"
        );
    }

    #[test]
    fn the_key_is_read_once_and_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(".result-key");
        std::fs::write(&path, "s3cret\n").expect("write key");
        assert_eq!(take_key(&path).expect("key"), b"s3cret");
        assert!(!path.exists());
        assert!(matches!(
            take_key(&path),
            Err(HandoverError::ReadKey { .. })
        ));
    }
}
