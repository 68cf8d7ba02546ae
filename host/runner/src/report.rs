//! What a run found, as data. The operator reads the same struct back from
//! the in-pod runner's framed result, so field names are part of the
//! contract: add fields with defaults, never rename.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::duration::human;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CellStatus {
    Success,
    Failure,
    Skipped,
}

impl CellStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CellStatus::Success => "Success",
            CellStatus::Failure => "Failure",
            CellStatus::Skipped => "Skipped",
        }
    }
}

/// Why a run failed. The names are the `failure` strings the termination
/// summary carries and the operator maps to condition reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailureKind {
    /// A cell raised.
    CellError,
    /// A cell ran past `--cell-timeout`.
    CellTimeout,
    /// The run ran past `--timeout`.
    Timeout,
    /// The kernel process exited or stopped answering heartbeats.
    KernelDied,
    /// The kernel could not be started (crash or hang at start-up).
    KernelStartFailed,
    /// No kernelspec and no importable ipykernel.
    KernelMissing,
    /// A cell marked NBVAL_RAISES_EXCEPTION ran cleanly.
    ExpectedExceptionMissing,
    /// `--fail-on-stderr` and a cell wrote to stderr.
    StderrOutput,
    /// `--fail-on-warnings` and a cell emitted a warning.
    Warnings,
    /// Outputs differ from the golden notebook.
    GoldenMismatch,
    /// The notebook or golden notebook cannot be read or parsed.
    InvalidNotebook,
    /// Bad arguments or comparison config.
    InvalidInput,
    /// Stopped by Ctrl-C or a termination signal.
    Interrupted,
    /// A failure of the runner itself (its own files, the kernel protocol).
    Internal,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::CellError => "CellError",
            FailureKind::CellTimeout => "CellTimeout",
            FailureKind::Timeout => "Timeout",
            FailureKind::KernelDied => "KernelDied",
            FailureKind::KernelStartFailed => "KernelStartFailed",
            FailureKind::KernelMissing => "KernelMissing",
            FailureKind::ExpectedExceptionMissing => "ExpectedExceptionMissing",
            FailureKind::StderrOutput => "StderrOutput",
            FailureKind::Warnings => "Warnings",
            FailureKind::GoldenMismatch => "GoldenMismatch",
            FailureKind::InvalidNotebook => "InvalidNotebook",
            FailureKind::InvalidInput => "InvalidInput",
            FailureKind::Interrupted => "Interrupted",
            FailureKind::Internal => "Internal",
        }
    }

    /// Exit code: 2 when the input (not the notebook's behaviour) is at fault.
    pub fn exit_code(self) -> u8 {
        match self {
            FailureKind::KernelMissing
            | FailureKind::InvalidNotebook
            | FailureKind::InvalidInput => 2,
            _ => 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CellError {
    pub ename: String,
    pub evalue: String,
    /// Traceback lines with terminal colour codes removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traceback: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CellReport {
    /// Position in the executed notebook, from 0 (markdown cells count).
    pub index: usize,
    pub id: String,
    pub status: CellStatus,
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_count: Option<i64>,
    /// The start of the cell's text output, for people skimming a report.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub output: String,
    /// Why the cell failed or was skipped, in one line.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<CellError>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
    /// The cell raised as its NBVAL_RAISES_EXCEPTION marker asked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expected_error: bool,
}

impl CellReport {
    pub fn new(index: usize, id: impl Into<String>, status: CellStatus) -> Self {
        CellReport {
            index,
            id: id.into(),
            status,
            duration_ms: 0,
            execution_count: None,
            output: String::new(),
            message: String::new(),
            error: None,
            timed_out: false,
            expected_error: false,
        }
    }

    /// "cell 3" counts from 1, as people do; the id pins it down when cells move.
    pub fn label(&self) -> String {
        cell_label(self.index, &self.id)
    }
}

pub fn cell_label(index: usize, id: &str) -> String {
    format!("cell {} (id {id})", index + 1)
}

/// The golden comparison, as `nbv-compare` reports it, and which golden it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComparisonReport {
    pub golden: String,
    #[serde(flatten)]
    pub result: nbv_compare::Comparison,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KernelReport {
    pub name: String,
    /// The kernelspec directory, or "fallback: python3 -m ipykernel_launcher".
    pub source: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub language: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub implementation: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    /// Bumped when a field changes meaning; readers reject what they don't know.
    pub version: u32,
    pub notebook: String,
    pub passed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureKind>,
    /// One line a person can act on.
    pub message: String,
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<KernelReport>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, serde_json::Value>,
    /// Code cells only: markdown and raw cells are never run.
    #[serde(default)]
    pub cells: Vec<CellReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<ComparisonReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executed_notebook: Option<String>,
}

pub const REPORT_VERSION: u32 = 1;

impl RunReport {
    pub fn new(notebook: impl Into<String>) -> Self {
        RunReport {
            version: REPORT_VERSION,
            notebook: notebook.into(),
            passed: false,
            failure: None,
            message: String::new(),
            duration_ms: 0,
            kernel: None,
            parameters: BTreeMap::new(),
            cells: Vec::new(),
            comparison: None,
            executed_notebook: None,
        }
    }

    /// A report for a run that never got to execute anything.
    pub fn failed_early(
        notebook: impl Into<String>,
        kind: FailureKind,
        message: impl Into<String>,
    ) -> Self {
        let mut r = RunReport::new(notebook);
        r.fail(kind, message);
        r
    }

    /// Records a failure; the first one is the headline, later ones only
    /// show in the cells they belong to.
    pub fn fail(&mut self, kind: FailureKind, message: impl Into<String>) {
        self.passed = false;
        if self.failure.is_none() {
            self.failure = Some(kind);
            self.message = message.into();
        }
    }

    pub fn count(&self, status: CellStatus) -> usize {
        self.cells.iter().filter(|c| c.status == status).count()
    }

    pub fn first_failure(&self) -> Option<&CellReport> {
        self.cells.iter().find(|c| c.status == CellStatus::Failure)
    }

    pub fn exit_code(&self) -> u8 {
        match (self.passed, self.failure) {
            (true, None) => 0,
            (_, Some(kind)) => kind.exit_code(),
            // Not passed and no reason is a runner bug; never call it success.
            (false, None) => 1,
        }
    }

    /// The closing table printed after the progress lines.
    pub fn summary_table(&self) -> String {
        let mut out = String::new();
        if !self.cells.is_empty() {
            let _ = writeln!(out, "{:>5}  {:<8}  {:>8}  detail", "cell", "status", "time");
            for c in &self.cells {
                let time = match c.status {
                    CellStatus::Skipped => String::new(),
                    _ => human(Duration::from_millis(c.duration_ms)),
                };
                let detail = if c.message.is_empty() {
                    first_line(&c.output)
                } else {
                    c.message.clone()
                };
                let _ = writeln!(
                    out,
                    "{:>5}  {:<8}  {time:>8}  {}",
                    c.index + 1,
                    status_mark(c.status),
                    clip(&detail, 70)
                );
            }
        }
        if let Some(cmp) = &self.comparison {
            let r = &cmp.result;
            let _ = writeln!(
                out,
                "golden {}: {} matched, {} differ, {} not compared ({})",
                cmp.golden, r.matched, r.mismatched, r.skipped, r.strategy
            );
            for d in &cmp.result.diffs {
                let _ = writeln!(
                    out,
                    "  cell {} {} [{}]",
                    d.cell_index + 1,
                    d.diff_type,
                    d.severity
                );
                for line in d.diff.lines().take(12) {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
        let counts = format!(
            "{} passed, {} failed, {} skipped",
            self.count(CellStatus::Success),
            self.count(CellStatus::Failure),
            self.count(CellStatus::Skipped)
        );
        let verdict = if self.exit_code() == 0 {
            "PASS"
        } else {
            "FAIL"
        };
        let took = human(Duration::from_millis(self.duration_ms));
        let _ = writeln!(out, "{verdict} {}: {counts} in {took}", self.notebook);
        if verdict == "FAIL" {
            let _ = writeln!(out, "  {}", self.message);
        }
        out
    }
}

pub fn status_mark(status: CellStatus) -> &'static str {
    match status {
        CellStatus::Success => "✓ pass",
        CellStatus::Failure => "✗ FAIL",
        CellStatus::Skipped => "– skip",
    }
}

pub fn first_line(s: &str) -> String {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Shortens to at most `max` characters, marking the cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Terminal colour codes, as IPython puts in tracebacks.
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            // CSI: parameters and intermediates, then one final byte in @..~.
            for f in chars.by_ref() {
                if ('@'..='~').contains(&f) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(index: usize, status: CellStatus) -> CellReport {
        let mut c = CellReport::new(index, format!("c{index}"), status);
        c.duration_ms = 5;
        c.output = "hello\nworld".into();
        c
    }

    #[test]
    fn exit_codes_follow_the_failure_kind() {
        let mut r = RunReport::new("nb.ipynb");
        assert_eq!(r.exit_code(), 1, "no verdict is a failure");
        r.passed = true;
        assert_eq!(r.exit_code(), 0);
        let r = RunReport::failed_early("nb.ipynb", FailureKind::InvalidNotebook, "bad");
        assert_eq!(r.exit_code(), 2);
        let r = RunReport::failed_early("nb.ipynb", FailureKind::KernelDied, "dead");
        assert_eq!(r.exit_code(), 1);
    }

    #[test]
    fn first_failure_is_the_headline() {
        let mut r = RunReport::new("nb.ipynb");
        r.fail(FailureKind::CellError, "first");
        r.fail(FailureKind::GoldenMismatch, "second");
        assert_eq!(r.failure, Some(FailureKind::CellError));
        assert_eq!(r.message, "first");
    }

    #[test]
    fn table_lists_cells_and_the_verdict() {
        let mut r = RunReport::new("nb.ipynb");
        r.cells = vec![cell(0, CellStatus::Success), cell(2, CellStatus::Failure)];
        r.cells[1].message = "ZeroDivisionError: division by zero".into();
        r.fail(
            FailureKind::CellError,
            "cell 3 (id c2) raised ZeroDivisionError",
        );
        let t = r.summary_table();
        assert!(t.contains("✓ pass"), "{t}");
        assert!(t.contains("✗ FAIL"), "{t}");
        assert!(t.contains("ZeroDivisionError: division by zero"), "{t}");
        assert!(
            t.contains("FAIL nb.ipynb: 1 passed, 1 failed, 0 skipped"),
            "{t}"
        );
    }

    #[test]
    fn ansi_codes_are_removed() {
        assert_eq!(
            strip_ansi("\u{1b}[0;31mZeroDivisionError\u{1b}[0m: x"),
            "ZeroDivisionError: x"
        );
    }

    #[test]
    fn report_round_trips_through_json() {
        let mut r = RunReport::new("nb.ipynb");
        r.cells.push(cell(1, CellStatus::Skipped));
        r.fail(FailureKind::GoldenMismatch, "differs");
        let json = serde_json::to_string(&r).expect("serializes");
        assert!(json.contains("\"failure\":\"GoldenMismatch\""), "{json}");
        let back: RunReport = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, r);
    }
}
