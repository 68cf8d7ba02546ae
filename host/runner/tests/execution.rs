//! Real notebooks on a real ipykernel. These need a Jupyter kernel on PATH
//! (`make setup`, then `source scripts/env.sh`); without one they fail and
//! say so, rather than passing without having run anything.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nbformat::v4::{Cell, Notebook, Output};
use nbv_compare::CompareConfig;
use nbv_runner::execute::{Cancel, Quiet};
use nbv_runner::params::parse_param;
use nbv_runner::run::{Inputs, RunOptions, run};
use nbv_runner::{CellStatus, FailureKind, RunReport, notebook};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn load(name: &str) -> Notebook {
    notebook::load(&fixture(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

async fn require_kernel() {
    if let Err(e) = nbv_runner::kernel::resolve("python3", false, Some("python")).await {
        panic!(
            "these tests execute notebooks on a real Jupyter kernel, and none was found: {e}\n\
             Run `make setup` (or scripts/setup-python.sh) and `source scripts/env.sh`, or run them through `make test`."
        );
    }
}

async fn run_fixture(name: &str, golden: Option<&str>, opts: RunOptions) -> (RunReport, Notebook) {
    require_kernel().await;
    let inputs = Inputs {
        label: name.to_string(),
        notebook: load(name),
        workdir: Some(fixture("")),
        golden: golden.map(|g| (g.to_string(), load(g))),
        comparator: CompareConfig::default()
            .compile()
            .expect("default config compiles"),
    };
    run(inputs, &opts, &mut Cancel::never(), &mut Quiet).await
}

fn outputs<'a>(nb: &'a Notebook, id: &str) -> &'a [Output] {
    nb.cells
        .iter()
        .find_map(|c| match c {
            Cell::Code {
                id: cid, outputs, ..
            } if cid.as_str() == id => Some(outputs.as_slice()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no code cell {id}"))
}

fn stream_text(outputs: &[Output]) -> String {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Stream { text, .. } => Some(text.0.as_str()),
            _ => None,
        })
        .collect()
}

fn status_of(report: &RunReport, id: &str) -> CellStatus {
    report
        .cells
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no report for {id}: {report:#?}"))
        .status
}

#[tokio::test]
async fn a_passing_notebook_passes_with_outputs_captured() {
    let (report, nb) = run_fixture("pass.ipynb", None, RunOptions::default()).await;
    assert!(report.passed, "{report:#?}");
    assert_eq!(report.exit_code(), 0);
    assert_eq!(report.cells.len(), 4, "code cells only");
    assert_eq!(stream_text(outputs(&nb, "hello")), "hello\n");
    let math = outputs(&nb, "math");
    assert!(
        matches!(&math[0], Output::ExecuteResult(r) if serde_json::to_string(&r.data).unwrap_or_default().contains("4.0")),
        "{math:?}"
    );
    assert!(matches!(outputs(&nb, "display")[0], Output::DisplayData(_)));
    let counts: Vec<_> = nb
        .cells
        .iter()
        .filter_map(|c| match c {
            Cell::Code {
                execution_count, ..
            } => Some(*execution_count),
            _ => None,
        })
        .collect();
    assert_eq!(
        counts,
        [Some(1), Some(2), Some(3), None],
        "empty cells are not sent"
    );
    let kernel = report.kernel.expect("kernel reported");
    assert!(kernel.implementation.starts_with("ipython"), "{kernel:?}");
}

#[tokio::test]
async fn an_exception_in_cell_3_stops_the_run_and_names_the_cell() {
    let (report, nb) = run_fixture("error_cell3.ipynb", None, RunOptions::default()).await;
    assert!(!report.passed);
    assert_eq!(report.failure, Some(FailureKind::CellError));
    assert_eq!(report.exit_code(), 1);
    assert!(
        report.message.contains("cell 3 (id boom)"),
        "{}",
        report.message
    );
    assert!(
        report.message.contains("ZeroDivisionError"),
        "{}",
        report.message
    );
    let boom = report
        .cells
        .iter()
        .find(|c| c.id == "boom")
        .expect("boom reported");
    assert_eq!(boom.status, CellStatus::Failure);
    let error = boom.error.as_ref().expect("error captured");
    assert_eq!(error.ename, "ZeroDivisionError");
    assert!(
        error.traceback.iter().all(|l| !l.contains('\u{1b}')),
        "colour codes stripped"
    );
    assert_eq!(status_of(&report, "after"), CellStatus::Skipped);
    assert!(outputs(&nb, "after").is_empty());
    assert!(matches!(outputs(&nb, "boom")[0], Output::Error(_)));
}

#[tokio::test]
async fn float_noise_within_tolerance_matches_the_golden() {
    let (report, _) = run_fixture(
        "float_noise.ipynb",
        Some("float_noise.golden.ipynb"),
        RunOptions::default(),
    )
    .await;
    assert!(report.passed, "{}", report.summary_table());
    let cmp = report.comparison.expect("compared");
    assert_eq!((cmp.result.matched, cmp.result.mismatched), (2, 0));
}

#[tokio::test]
async fn a_real_output_change_fails_with_a_diff() {
    let (report, _) = run_fixture(
        "float_noise.ipynb",
        Some("changed_output.golden.ipynb"),
        RunOptions::default(),
    )
    .await;
    assert!(!report.passed);
    assert_eq!(report.failure, Some(FailureKind::GoldenMismatch));
    assert_eq!(report.exit_code(), 1);
    let cmp = report.comparison.as_ref().expect("compared");
    assert_eq!(cmp.result.mismatched, 1, "{cmp:#?}");
    let diff = &cmp.result.diffs[0].diff;
    assert!(
        diff.contains("-answer 41") && diff.contains("+answer 42"),
        "{diff}"
    );
    assert!(report.summary_table().contains("+answer 42"));
}

#[tokio::test]
async fn nbval_markers_skip_expect_errors_and_ignore_output() {
    let (report, nb) = run_fixture(
        "markers.ipynb",
        Some("markers.golden.ipynb"),
        RunOptions::default(),
    )
    .await;
    assert!(report.passed, "{}", report.summary_table());
    assert_eq!(status_of(&report, "skip"), CellStatus::Skipped);
    assert!(
        outputs(&nb, "skip").is_empty(),
        "a skipped cell is not executed"
    );
    for id in ["raises", "tagged"] {
        let cell = report.cells.iter().find(|c| c.id == id).expect("reported");
        assert_eq!(cell.status, CellStatus::Success, "{cell:?}");
        assert!(cell.expected_error);
    }
    assert_eq!(stream_text(outputs(&nb, "after")), "still running\n");
    let cmp = report.comparison.expect("compared");
    assert_eq!(cmp.result.mismatched, 0, "{cmp:#?}");
}

#[tokio::test]
async fn a_raises_exception_cell_that_does_not_raise_fails() {
    let (report, _) = run_fixture("raises_missing.ipynb", None, RunOptions::default()).await;
    assert_eq!(report.failure, Some(FailureKind::ExpectedExceptionMissing));
    assert_eq!(status_of(&report, "quiet"), CellStatus::Failure);
    assert_eq!(
        status_of(&report, "after"),
        CellStatus::Success,
        "execution continues"
    );
}

#[tokio::test]
async fn parameters_are_injected_after_the_parameters_cell() {
    let opts = RunOptions {
        params: ["x=21", "name=papermill", "flags=[1, true, null]"]
            .iter()
            .map(|p| parse_param(p).expect("valid"))
            .collect(),
        ..RunOptions::default()
    };
    let (report, nb) = run_fixture("params.ipynb", None, opts).await;
    assert!(report.passed, "{}", report.summary_table());
    assert_eq!(report.parameters["x"], serde_json::json!(21));
    let injected = &nb.cells[2];
    assert_eq!(
        injected.metadata().tags.as_deref(),
        Some(&["injected-parameters".to_string()][..])
    );
    assert_eq!(
        notebook::source(injected),
        "# Parameters\nx = 21\nname = \"papermill\"\nflags = [1, True, None]\n"
    );
    assert_eq!(
        stream_text(outputs(&nb, "use")),
        "42 papermill [1, True, None]\n"
    );
}

#[tokio::test]
async fn an_infinite_loop_is_interrupted_at_the_cell_timeout() {
    let opts = RunOptions {
        cell_timeout: Some(Duration::from_secs(2)),
        ..RunOptions::default()
    };
    let started = Instant::now();
    let (report, nb) = run_fixture("infinite_loop.ipynb", None, opts).await;
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(report.failure, Some(FailureKind::CellTimeout));
    let spin = report
        .cells
        .iter()
        .find(|c| c.id == "spin")
        .expect("reported");
    assert!(
        spin.timed_out && spin.status == CellStatus::Failure,
        "{spin:?}"
    );
    assert!(
        report.message.contains("cell 2 (id spin)"),
        "{}",
        report.message
    );
    // The interrupt reached Python: the cell ended with KeyboardInterrupt.
    assert!(
        outputs(&nb, "spin")
            .iter()
            .any(|o| matches!(o, Output::Error(e) if e.ename == "KeyboardInterrupt")),
        "{:?}",
        outputs(&nb, "spin")
    );
    assert_eq!(status_of(&report, "after"), CellStatus::Skipped);
}

#[tokio::test]
async fn a_kernel_that_ignores_interrupts_is_killed_after_the_grace_period() {
    let opts = RunOptions {
        cell_timeout: Some(Duration::from_secs(1)),
        interrupt_grace: Duration::from_secs(1),
        ..RunOptions::default()
    };
    let started = Instant::now();
    let (report, _) = run_fixture("stubborn_loop.ipynb", None, opts).await;
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(report.failure, Some(FailureKind::CellTimeout));
    assert!(report.message.contains("killed"), "{}", report.message);
}

#[tokio::test]
async fn the_whole_run_timeout_applies_across_cells() {
    let opts = RunOptions {
        timeout: Some(Duration::from_secs(4)),
        ..RunOptions::default()
    };
    let (report, _) = run_fixture("infinite_loop.ipynb", None, opts).await;
    assert_eq!(
        report.failure,
        Some(FailureKind::Timeout),
        "{}",
        report.message
    );
    assert!(report.message.contains("--timeout"), "{}", report.message);
}

#[tokio::test]
async fn a_dead_kernel_is_detected_and_the_cell_named() {
    let started = Instant::now();
    let (report, _) = run_fixture("kernel_death.ipynb", None, RunOptions::default()).await;
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(report.failure, Some(FailureKind::KernelDied));
    assert!(
        report.message.contains("cell 2 (id die)"),
        "{}",
        report.message
    );
    assert!(report.message.contains("exit code 1"), "{}", report.message);
    assert_eq!(status_of(&report, "after"), CellStatus::Skipped);
}

#[tokio::test]
async fn streams_warnings_display_updates_and_stdin() {
    let (report, nb) = run_fixture("streams.ipynb", None, RunOptions::default()).await;
    // input() must fail at once, not wait for an answer.
    assert_eq!(status_of(&report, "input"), CellStatus::Failure);
    assert!(
        report.message.contains("StdinNotImplementedError"),
        "{}",
        report.message
    );
    let update = outputs(&nb, "update");
    let shown = serde_json::to_string(&update).unwrap_or_default();
    assert!(
        shown.contains("second") && !shown.contains("first"),
        "{shown}"
    );
    assert_eq!(stream_text(outputs(&nb, "clear")), "kept\n");

    let strict = RunOptions {
        fail_on_warnings: true,
        ..RunOptions::default()
    };
    let (report, _) = run_fixture("streams.ipynb", None, strict).await;
    assert_eq!(
        report.failure,
        Some(FailureKind::Warnings),
        "{}",
        report.message
    );
    assert!(
        report.message.contains("UserWarning: old api"),
        "{}",
        report.message
    );

    let strict = RunOptions {
        fail_on_stderr: true,
        ..RunOptions::default()
    };
    let (report, _) = run_fixture("streams.ipynb", None, strict).await;
    assert_eq!(
        report.failure,
        Some(FailureKind::StderrOutput),
        "{}",
        report.message
    );
}

#[tokio::test]
async fn a_missing_kernel_is_an_input_error_that_says_what_to_install() {
    let opts = RunOptions {
        kernel: Some("no-such-kernel-nbv".into()),
        ..RunOptions::default()
    };
    let (report, _) = run_fixture("pass.ipynb", None, opts).await;
    assert_eq!(report.failure, Some(FailureKind::KernelMissing));
    assert_eq!(report.exit_code(), 2);
    assert!(report.message.contains("make setup"), "{}", report.message);
    assert!(
        report.message.contains("pip install ipykernel"),
        "{}",
        report.message
    );
}
