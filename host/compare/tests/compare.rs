//! Comparison on notebooks shaped like what ipykernel writes.

use nbformat::v4::Notebook;
use nbv_compare::{CellMatch, CompareConfig, ConfigError, Sanitizer, Strategy, compare};
use serde_json::{Value, json};

fn code(source: &str, outputs: Value) -> Value {
    json!({"cell_type": "code", "id": format!("c{:x}", source.len() * 7919 + outputs.to_string().len()),
           "metadata": {}, "execution_count": 1, "source": source, "outputs": outputs})
}

fn tagged(mut cell: Value, tag: &str) -> Value {
    cell["metadata"]["tags"] = json!([tag]);
    cell
}

fn stdout(text: &str) -> Value {
    json!({"output_type": "stream", "name": "stdout", "text": text})
}

fn stderr(text: &str) -> Value {
    json!({"output_type": "stream", "name": "stderr", "text": text})
}

fn result(text: &str) -> Value {
    json!({"output_type": "execute_result", "execution_count": 1, "data": {"text/plain": text}, "metadata": {}})
}

fn display(bundle: Value) -> Value {
    json!({"output_type": "display_data", "data": bundle, "metadata": {}})
}

fn error(ename: &str, evalue: &str) -> Value {
    json!({"output_type": "error", "ename": ename, "evalue": evalue,
           "traceback": ["\u{1b}[0;31m---------\u{1b}[0m", format!("{ename}: {evalue}")]})
}

fn notebook(cells: Vec<Value>) -> Notebook {
    // Unique ids, as nbformat 4.5 requires.
    let cells: Vec<Value> = cells
        .into_iter()
        .enumerate()
        .map(|(i, mut c)| {
            c["id"] = json!(format!("cell-{i}"));
            c
        })
        .collect();
    serde_json::from_value(json!({
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": cells}))
    .expect("valid notebook")
}

fn run(cfg: &CompareConfig, executed: Vec<Value>, golden: Vec<Value>) -> nbv_compare::Comparison {
    compare(
        &cfg.compile().expect("valid config"),
        &notebook(executed),
        &notebook(golden),
    )
}

#[test]
fn float_noise_within_tolerance_matches() {
    let cmp = run(
        &CompareConfig::default(),
        vec![
            code("0.1 + 0.2", json!([result("0.30000000000000004")])),
            code("print(loss)", json!([stdout("loss: 0.250001\n")])),
        ],
        vec![
            code("0.1 + 0.2", json!([result("0.3")])),
            code("print(loss)", json!([stdout("loss: 0.25\n")])),
        ],
    );
    assert!(cmp.passed(), "{cmp:#?}");
    assert_eq!((cmp.total, cmp.matched), (2, 2));
}

#[test]
fn a_real_change_mismatches_with_a_diff_naming_the_cell() {
    let cmp = run(
        &CompareConfig::default(),
        vec![
            json!({"cell_type": "markdown", "id": "m", "metadata": {}, "source": "# Title"}),
            code("print(acc)", json!([stdout("accuracy 0.87\n")])),
        ],
        vec![
            json!({"cell_type": "markdown", "id": "m", "metadata": {}, "source": "# Title"}),
            code("print(acc)", json!([stdout("accuracy 0.91\n")])),
        ],
    );
    assert!(!cmp.passed());
    assert_eq!(cmp.mismatched, 1);
    let d = &cmp.diffs[0];
    assert_eq!(
        d.cell_index, 1,
        "the index counts the markdown cell, as a person sees it"
    );
    assert_eq!(
        (d.diff_type.as_str(), d.severity.as_str()),
        ("output_mismatch", "major")
    );
    assert!(
        d.diff.contains("-accuracy 0.91") && d.diff.contains("+accuracy 0.87"),
        "{}",
        d.diff
    );
    assert!(d.expected.contains("[stream:stdout]"));
}

#[test]
fn exact_strategy_fails_on_float_noise_that_normalized_accepts() {
    let exec = || vec![code("x", json!([result("0.30000000000000004")]))];
    let gold = || vec![code("x", json!([result("0.3")]))];
    let exact = CompareConfig {
        strategy: Strategy::Exact,
        ..Default::default()
    };
    assert!(!run(&exact, exec(), gold()).passed());
    assert!(run(&CompareConfig::default(), exec(), gold()).passed());
}

#[test]
fn relative_tolerance_scales_with_magnitude() {
    let cfg = CompareConfig {
        abs_tolerance: 0.0,
        rel_tolerance: 1e-3,
        ..Default::default()
    };
    assert!(
        run(
            &cfg,
            vec![code("x", json!([result("100050.0")]))],
            vec![code("x", json!([result("100000.0")]))]
        )
        .passed()
    );
    assert!(
        !run(
            &cfg,
            vec![code("x", json!([result("0.0106")]))],
            vec![code("x", json!([result("0.0100")]))]
        )
        .passed()
    );
}

#[test]
fn timestamps_addresses_and_ansi_are_normalised() {
    let cmp = run(
        &CompareConfig::default(),
        vec![code(
            "x",
            json!([
                stdout("started 2026-11-24T14:14:44.123Z\n"),
                result("<Model at 0x7f3a2b1c9d40>"),
                stderr("\u{1b}[31mwarn\u{1b}[0m\n")
            ]),
        )],
        vec![code(
            "x",
            json!([
                stdout("started 2025-01-02T03:04:05Z\n"),
                result("<Model at 0x55d0c0ffee00>"),
                stderr("warn\n")
            ]),
        )],
    );
    assert!(cmp.passed(), "{:#?}", cmp.diffs);
    let off = CompareConfig {
        ignore_timestamps: false,
        ..Default::default()
    };
    let cmp = run(
        &off,
        vec![code("x", json!([stdout("at 2026-11-24 10:00:00\n")]))],
        vec![code("x", json!([stdout("at 2025-01-01 09:00:00\n")]))],
    );
    assert!(
        !cmp.passed(),
        "without ignoreTimestamps the dates are compared as text and numbers"
    );
}

#[test]
fn custom_timestamp_patterns_and_sanitizers_apply() {
    let cfg = CompareConfig {
        timestamp_patterns: vec![r"run-[0-9]{8}".into()],
        sanitizers: vec![Sanitizer {
            pattern: r"/tmp/[a-z0-9_]+".into(),
            replacement: "/tmp/<dir>".into(),
        }],
        ..Default::default()
    };
    let cmp = run(
        &cfg,
        vec![code(
            "x",
            json!([stdout("run-20261124 wrote /tmp/tmpab12_x\n")]),
        )],
        vec![code(
            "x",
            json!([stdout("run-20250101 wrote /tmp/tmpzz99_q\n")]),
        )],
    );
    assert!(cmp.passed(), "{:#?}", cmp.diffs);
}

#[test]
fn invalid_regex_is_a_clear_error() {
    let cfg = CompareConfig {
        sanitizers: vec![Sanitizer {
            pattern: "(unclosed".into(),
            replacement: String::new(),
        }],
        ..Default::default()
    };
    let err = cfg.compile().expect_err("invalid regex");
    assert!(
        matches!(
            err,
            ConfigError::Regex {
                field: "sanitizers",
                index: 0,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("(unclosed"), "{err}");
    let cfg = CompareConfig {
        timestamp_patterns: vec!["ok".into(), "[z-a]".into()],
        ..Default::default()
    };
    assert!(
        cfg.compile()
            .expect_err("bad range")
            .to_string()
            .starts_with("timestampPatterns[1]")
    );
    let cfg = CompareConfig {
        abs_tolerance: -1.0,
        ..Default::default()
    };
    assert!(matches!(cfg.compile(), Err(ConfigError::Tolerance { .. })));
}

#[test]
fn ignore_output_types_are_honoured() {
    let exec = || {
        vec![code(
            "x",
            json!([
                stdout("same\n"),
                stderr("DeprecationWarning: a\n"),
                display(json!({"text/plain": "<Figure 1>"}))
            ]),
        )]
    };
    let gold = || {
        vec![code(
            "x",
            json!([
                stdout("same\n"),
                stderr("DeprecationWarning: b\n"),
                display(json!({"text/plain": "<Figure 2>"}))
            ]),
        )]
    };
    assert!(!run(&CompareConfig::default(), exec(), gold()).passed());
    let cfg = CompareConfig {
        ignore_output_types: vec!["stream:stderr".into(), "display_data".into()],
        ..Default::default()
    };
    assert!(run(&cfg, exec(), gold()).passed());
    let only_stderr = CompareConfig {
        ignore_output_types: vec!["stderr".into()],
        ..Default::default()
    };
    assert!(
        !run(&only_stderr, exec(), gold()).passed(),
        "the display still differs"
    );
}

#[test]
fn images_are_compared_only_when_configured() {
    let exec = || {
        vec![code(
            "plot()",
            json!([display(
                json!({"text/plain": "<Figure>", "image/png": "iVBORw0KGgoAAAA\n"})
            )]),
        )]
    };
    let gold = || {
        vec![code(
            "plot()",
            json!([display(
                json!({"text/plain": "<Figure>", "image/png": "iVBORw0KGgoBBBB\n"})
            )]),
        )]
    };
    assert!(run(&CompareConfig::default(), exec(), gold()).passed());
    let cfg = CompareConfig {
        compare_mime_types: vec!["image/png".into()],
        ..Default::default()
    };
    let cmp = run(&cfg, exec(), gold());
    assert!(!cmp.passed());
    assert!(cmp.diffs[0].expected.contains("display_data:image/png"));
}

#[test]
fn errors_compare_by_name_and_value_and_appearing_errors_are_critical() {
    let cmp = run(
        &CompareConfig::default(),
        vec![code(
            "1/0",
            json!([error("ZeroDivisionError", "division by zero")]),
        )],
        vec![code("1/0", json!([result("0.5")]))],
    );
    assert_eq!(cmp.diffs[0].diff_type, "execution_error");
    assert_eq!(cmp.diffs[0].severity, "critical");
    let same = run(
        &CompareConfig::default(),
        vec![code("raise", json!([error("ValueError", "bad")]))],
        vec![code("raise", json!([error("ValueError", "bad")]))],
    );
    assert!(same.passed());
}

#[test]
fn nbval_markers_as_comments_and_tags() {
    let cmp = run(
        &CompareConfig::default(),
        vec![
            code(
                "# NBVAL_IGNORE_OUTPUT\nimport time; print(time.time())",
                json!([stdout("1764000000.1\n")]),
            ),
            tagged(
                code("print(random())", json!([stdout("0.1\n")])),
                "nbval-ignore-output",
            ),
            code("#NBVAL_SKIP\nslow()", json!([])),
            tagged(code("fetch()", json!([])), "nbval-skip"),
            code("print(1)", json!([stdout("1\n")])),
        ],
        vec![
            code(
                "# NBVAL_IGNORE_OUTPUT\nimport time; print(time.time())",
                json!([stdout("1500000000.9\n")]),
            ),
            tagged(
                code("print(random())", json!([stdout("0.9\n")])),
                "nbval-ignore-output",
            ),
            code("#NBVAL_SKIP\nslow()", json!([stdout("done\n")])),
            tagged(code("fetch()", json!([stdout("fetched\n")])), "nbval-skip"),
            code("print(1)", json!([stdout("1\n")])),
        ],
    );
    assert!(cmp.passed(), "{:#?}", cmp.diffs);
    assert_eq!((cmp.skipped, cmp.matched), (4, 1));
    // A marker-like word that is not the marker does nothing.
    let cmp = run(
        &CompareConfig::default(),
        vec![code(
            "# NBVAL_SKIPPED is not a marker\nprint(2)",
            json!([stdout("2\n")]),
        )],
        vec![code(
            "# NBVAL_SKIPPED is not a marker\nprint(2)",
            json!([stdout("3\n")]),
        )],
    );
    assert!(!cmp.passed());
}

#[test]
fn lax_mode_checks_only_marked_cells() {
    let cfg = CompareConfig {
        lax: true,
        ..Default::default()
    };
    let cmp = run(
        &cfg,
        vec![
            code("print(a)", json!([stdout("1\n")])),
            code("# NBVAL_CHECK_OUTPUT\nprint(b)", json!([stdout("2\n")])),
        ],
        vec![
            code("print(a)", json!([stdout("9\n")])),
            code("# NBVAL_CHECK_OUTPUT\nprint(b)", json!([stdout("3\n")])),
        ],
    );
    assert_eq!(cmp.skipped, 1);
    assert_eq!(cmp.mismatched, 1);
    assert_eq!(
        cmp.cells
            .iter()
            .find(|c| c.status == CellMatch::Mismatched)
            .map(|c| c.cell_index),
        Some(1)
    );
}

#[test]
fn missing_and_extra_cells_and_injected_parameters() {
    let cmp = run(
        &CompareConfig::default(),
        vec![code("a", json!([]))],
        vec![code("a", json!([])), code("b", json!([stdout("b\n")]))],
    );
    assert_eq!(cmp.diffs[0].diff_type, "missing_cell");
    let cmp = run(
        &CompareConfig::default(),
        vec![code("a", json!([])), code("b", json!([]))],
        vec![code("a", json!([]))],
    );
    assert_eq!(cmp.diffs[0].diff_type, "extra_cell");
    // papermill-style injected parameters don't shift the alignment.
    let cmp = run(
        &CompareConfig::default(),
        vec![
            tagged(code("n = 1", json!([])), "parameters"),
            tagged(code("n = 5", json!([])), "injected-parameters"),
            code("print(n)", json!([stdout("5\n")])),
        ],
        vec![
            tagged(code("n = 1", json!([])), "parameters"),
            code("print(n)", json!([stdout("5\n")])),
        ],
    );
    assert!(cmp.passed(), "{:#?}", cmp.diffs);
}

#[test]
fn streams_split_differently_still_match() {
    let cmp = run(
        &CompareConfig::default(),
        vec![code(
            "x",
            json!([stdout("a"), stdout("b\n"), stdout("c\n")]),
        )],
        vec![code("x", json!([stdout("ab\nc\n")]))],
    );
    assert!(cmp.passed());
}

#[test]
fn huge_outputs_are_truncated_visibly() {
    let big = "x".repeat(20_000);
    let cmp = run(
        &CompareConfig::default(),
        vec![code("x", json!([stdout(&big)]))],
        vec![code("x", json!([stdout("y")]))],
    );
    assert!(cmp.diffs[0].actual.len() < 5000);
    assert!(cmp.diffs[0].actual.contains("truncated"));
}
