//! `nbv run` as a user and the operator call it: exit codes, the files it
//! writes, and what it prints. Needs a Jupyter kernel on PATH (`make setup`,
//! then `source scripts/env.sh`); without one these tests fail and say so.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../runner/tests/fixtures")
        .join(name)
}

fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("run_cli")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn nbv(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_nbv"))
        .arg("run")
        .args(args)
        .output()
        .expect("nbv runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("no Jupyter kernel") || stderr.contains("lacks ipykernel") {
        panic!(
            "`nbv run` found no Jupyter kernel, so nothing was tested:\n{stderr}\n\
             Run `make setup` and `source scripts/env.sh`, or run the tests through `make test`."
        );
    }
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn the_embedded_demo_passes_and_prints_a_summary() {
    let out = nbv(&[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("✓ pass"), "{stderr}");
    assert!(stderr.contains("PASS examples/demo.ipynb"), "{stderr}");
    assert!(stderr.contains("0 differ"), "{stderr}");
}

#[test]
fn a_cell_error_exits_1_and_the_json_report_names_the_cell() {
    let dir = scratch("cell_error");
    let executed = dir.join("executed.ipynb");
    let out = nbv(&[
        path(&fixture("error_cell3.ipynb")),
        "-o",
        path(&executed),
        "--report",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("JSON report on stdout");
    assert_eq!(report["failure"], "CellError");
    let message = report["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("cell 3 (id boom)") && message.contains("ZeroDivisionError"),
        "{message}"
    );
    let written = std::fs::read_to_string(&executed).expect("executed notebook written");
    assert!(written.contains("ZeroDivisionError"));
    assert!(text(&out.stderr).contains("✗ FAIL"));
}

#[test]
fn bad_input_exits_2_naming_the_file() {
    let dir = scratch("bad_input");
    let out_nb = dir.join("x.ipynb");
    for (name, expect) in [
        ("malformed.ipynb", "malformed JSON"),
        ("nbformat3.ipynb", "nbformat 3.0 is not supported"),
        ("does-not-exist.ipynb", "cannot read"),
    ] {
        let out = nbv(&[path(&fixture(name)), "-o", path(&out_nb)]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains(name) && stderr.contains(expect),
            "{name}: {stderr}"
        );
    }
    let bad_golden = nbv(&[
        path(&fixture("pass.ipynb")),
        "--golden",
        path(&fixture("malformed.ipynb")),
        "-o",
        path(&out_nb),
    ]);
    assert_eq!(bad_golden.status.code(), Some(2));
    let param = nbv(&[
        path(&fixture("params.ipynb")),
        "--param",
        "not-an-identifier=1",
    ]);
    assert_eq!(param.status.code(), Some(2));
    let config = dir.join("cmp.yaml");
    std::fs::write(&config, "absTolerence: 0.1\n").expect("write config");
    let out = nbv(&[
        path(&fixture("pass.ipynb")),
        "--compare-config",
        path(&config),
        "-o",
        path(&out_nb),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("absTolerence"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_input_notebook_is_never_overwritten() {
    let dir = scratch("overwrite");
    let input = dir.join("nb.ipynb");
    std::fs::copy(fixture("pass.ipynb"), &input).expect("copy");
    let before = std::fs::read(&input).expect("read");
    let out = nbv(&[path(&input), "-o", path(&input)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&input).expect("read"), before);
    // The default output goes next to the input under another name.
    let out = nbv(&[path(&input)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(dir.join("nb.nbv.ipynb").exists());
    assert_eq!(std::fs::read(&input).expect("read"), before);
}

#[test]
fn in_pod_mode_writes_a_signed_summary_and_a_checksummed_result() {
    let dir = scratch("in_pod");
    let key = dir.join(".result-key");
    std::fs::write(&key, "0123456789abcdef").expect("key");
    let (result, log, junit) = (
        dir.join("result"),
        dir.join("termination-log"),
        dir.join("report.xml"),
    );
    let out = nbv(&[
        path(&fixture("float_noise.ipynb")),
        "--golden",
        path(&fixture("changed_output.golden.ipynb")),
        "--compare-config-json",
        r#"{"strategy":"normalized","absTolerance":0.001}"#,
        "--timeout",
        "2m",
        "--cell-timeout",
        "30s",
        "--sign-key-file",
        path(&key),
        "--result",
        path(&result),
        "--termination-log",
        path(&log),
        "--report-file",
        path(&junit),
        "-o",
        path(&dir.join("executed.ipynb")),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        !key.exists(),
        "the key is deleted before notebook code runs"
    );

    let bytes = std::fs::read(&result).expect("result written");
    let report = nbv_runner::result::decode_result_signed(&bytes, b"0123456789abcdef")
        .expect("result verifies");
    assert_eq!(
        report.failure,
        Some(nbv_runner::FailureKind::GoldenMismatch)
    );
    let diffs = &report.comparison.as_ref().expect("compared").result.diffs;
    assert!(diffs[0].diff.contains("+answer 42"), "{diffs:?}");
    let mut tampered = bytes.clone();
    let last = tampered.len() - 2;
    tampered[last] ^= 1;
    assert!(nbv_runner::decode_result(&tampered).is_err());
    assert!(nbv_runner::decode_result(&bytes[..bytes.len() - 1]).is_err());

    let summary = std::fs::read_to_string(&log).expect("termination log written");
    assert!(summary.len() <= 4096, "{} bytes", summary.len());
    assert!(summary.starts_with("NBV-SUMMARY/1 "), "{summary}");
    assert!(
        summary.contains("\"failure\":\"GoldenMismatch\""),
        "{summary}"
    );

    let xml = std::fs::read_to_string(&junit).expect("junit written");
    assert!(
        xml.contains("<testsuite ") && xml.contains("type=\"GoldenMismatch\""),
        "{xml}"
    );
}

#[test]
fn a_cell_timeout_ends_the_run_without_hanging() {
    let dir = scratch("timeout");
    let started = std::time::Instant::now();
    let out = nbv(&[
        path(&fixture("infinite_loop.ipynb")),
        "--cell-timeout",
        "2s",
        "-o",
        path(&dir.join("executed.ipynb")),
    ]);
    assert!(
        started.elapsed().as_secs() < 30,
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cell 2 (id spin) did not finish within --cell-timeout 2.00s"),
        "{stderr}"
    );
}
