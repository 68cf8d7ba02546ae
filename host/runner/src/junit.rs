//! JUnit XML, which every CI system can display: one testcase per code cell,
//! plus one for the golden comparison when there was one.

use std::fmt::Write as _;

use crate::report::{CellStatus, RunReport};

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot carry other control characters at all, even escaped.
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn seconds(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

pub fn render(report: &RunReport) -> String {
    let suite = escape(&report.notebook);
    let golden = report.comparison.as_ref();
    let tests = report.cells.len() + usize::from(golden.is_some());
    let golden_failed = golden.is_some_and(|g| !g.result.passed());
    let failures = report.count(CellStatus::Failure) + usize::from(golden_failed);
    // A run that failed before any cell ran still has to show up as a failure.
    let run_failed = report.exit_code() != 0 && failures == 0;
    let (tests, failures) = (
        tests + usize::from(run_failed),
        failures + usize::from(run_failed),
    );
    let skipped = report.count(CellStatus::Skipped);
    let time = seconds(report.duration_ms);

    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"nbv\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{time}\">"
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"{suite}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{time}\">"
    );
    for cell in &report.cells {
        let _ = write!(
            x,
            "    <testcase classname=\"{suite}\" name=\"{}\" time=\"{}\"",
            escape(&cell.label()),
            seconds(cell.duration_ms)
        );
        match cell.status {
            CellStatus::Success => x.push_str("/>\n"),
            CellStatus::Skipped => {
                let _ = writeln!(
                    x,
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                    escape(&cell.message)
                );
            }
            CellStatus::Failure => {
                let kind = if cell.timed_out {
                    "Timeout"
                } else {
                    "CellFailure"
                };
                let mut body = String::new();
                if let Some(e) = &cell.error {
                    body = e.traceback.join("\n");
                }
                if body.is_empty() {
                    body = cell.output.clone();
                }
                let _ = writeln!(
                    x,
                    ">\n      <failure message=\"{}\" type=\"{kind}\">{}</failure>\n    </testcase>",
                    escape(&cell.message),
                    escape(&body)
                );
            }
        }
    }
    if let Some(g) = golden {
        let name = escape(&format!("golden comparison with {}", g.golden));
        let _ = write!(
            x,
            "    <testcase classname=\"{suite}\" name=\"{name}\" time=\"0.000\""
        );
        if golden_failed {
            let message = format!(
                "{} of {} compared cells differ",
                g.result.mismatched, g.result.total
            );
            let body: Vec<String> = g
                .result
                .diffs
                .iter()
                .map(|d| {
                    format!(
                        "cell {} {} [{}]\n{}",
                        d.cell_index + 1,
                        d.diff_type,
                        d.severity,
                        d.diff
                    )
                })
                .collect();
            let _ = writeln!(
                x,
                ">\n      <failure message=\"{}\" type=\"GoldenMismatch\">{}</failure>\n    </testcase>",
                escape(&message),
                escape(&body.join("\n"))
            );
        } else {
            x.push_str("/>\n");
        }
    }
    if run_failed {
        let kind = report.failure.map(|f| f.as_str()).unwrap_or("Failure");
        let _ = writeln!(
            x,
            "    <testcase classname=\"{suite}\" name=\"run\" time=\"{time}\">\n      <failure message=\"{}\" type=\"{kind}\"/>\n    </testcase>",
            escape(&report.message)
        );
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{CellError, CellReport, FailureKind};

    #[test]
    fn one_testcase_per_cell_with_failures_explained() {
        let mut r = RunReport::new("a&b.ipynb");
        r.cells.push(CellReport::new(0, "ok", CellStatus::Success));
        let mut bad = CellReport::new(2, "bad", CellStatus::Failure);
        bad.message = "ValueError: x < 1".into();
        bad.error = Some(CellError {
            ename: "ValueError".into(),
            evalue: "x < 1".into(),
            traceback: vec!["Traceback\u{1}".into(), "ValueError: x < 1".into()],
        });
        r.cells.push(bad);
        let mut skip = CellReport::new(3, "skip", CellStatus::Skipped);
        skip.message = "NBVAL_SKIP".into();
        r.cells.push(skip);
        r.fail(FailureKind::CellError, "cell 3 raised");
        let xml = render(&r);
        assert!(
            xml.contains("tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\""),
            "{xml}"
        );
        assert!(xml.contains("name=\"cell 3 (id bad)\""), "{xml}");
        assert!(
            xml.contains(
                "<failure message=\"ValueError: x &lt; 1\" type=\"CellFailure\">Traceback\u{fffd}"
            ),
            "{xml}"
        );
        assert!(xml.contains("<skipped message=\"NBVAL_SKIP\"/>"), "{xml}");
        assert!(xml.contains("classname=\"a&amp;b.ipynb\""), "{xml}");
    }

    #[test]
    fn a_run_that_failed_before_any_cell_still_fails() {
        let r = RunReport::failed_early("nb.ipynb", FailureKind::KernelMissing, "no kernel");
        let xml = render(&r);
        assert!(xml.contains("failures=\"1\""), "{xml}");
        assert!(xml.contains("type=\"KernelMissing\""), "{xml}");
    }
}
