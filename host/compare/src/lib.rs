//! Golden-notebook comparison: normalisation, float tolerance, nbval markers
//! and readable diffs. Pure: no I/O, regexes compiled once per `Comparator`.

mod config;
pub mod markers;
mod normalize;
pub mod numbers;

pub use config::{Comparator, CompareConfig, ConfigError, Sanitizer, Strategy};

use nbformat::v4::{Cell, Notebook, Output};
use serde::{Deserialize, Serialize};

/// Diff texts are bounded so a huge output can't bloat reports or status.
pub const MAX_TEXT: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellMatch {
    Matched,
    Mismatched,
    Skipped,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CellOutcome {
    /// Index in the executed notebook's cell list (what a person sees).
    pub cell_index: usize,
    pub status: CellMatch,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CellDiff {
    pub cell_index: usize,
    pub cell_type: String,
    /// output_mismatch, execution_error, missing_cell or extra_cell.
    pub diff_type: String,
    pub expected: String,
    pub actual: String,
    /// Unified diff of the normalised texts.
    pub diff: String,
    /// minor (whitespace only), major (output differs), critical (an error appeared or vanished, or cells are missing).
    pub severity: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    pub strategy: String,
    pub cells: Vec<CellOutcome>,
    pub total: usize,
    pub matched: usize,
    pub mismatched: usize,
    pub skipped: usize,
    pub diffs: Vec<CellDiff>,
}

impl Comparison {
    pub fn passed(&self) -> bool {
        self.mismatched == 0
    }
}

/// One comparable piece of a cell's output.
#[derive(Debug, PartialEq)]
struct Item {
    kind: String,
    text: String,
}

fn is_injected(cell: &Cell) -> bool {
    cell.metadata()
        .tags
        .iter()
        .flatten()
        .any(|t| t == "injected-parameters")
}

/// Code cells that take part in alignment, with their notebook index.
fn code_cells(nb: &Notebook) -> Vec<(usize, &Cell)> {
    nb.cells
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c, Cell::Code { .. }) && !is_injected(c))
        .collect()
}

fn ignored(cmp: &Comparator, kind: &str) -> bool {
    cmp.config.ignore_output_types.iter().any(|i| {
        i == kind
            || kind.split(':').next() == Some(i.as_str())
            || kind.rsplit(':').next() == Some(i.as_str())
    })
}

fn mime_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(parts) => parts.iter().filter_map(|p| p.as_str()).collect(),
        other => other.to_string(),
    }
}

/// The cell's outputs as items in a fixed order: streams by name, then
/// results and displays in order, then the error. Kernels split and
/// interleave stream chunks arbitrarily, so streams are joined per name.
fn items(cmp: &Comparator, cell: &Cell) -> Vec<Item> {
    let Cell::Code { outputs, .. } = cell else {
        return Vec::new();
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    let mut rich = Vec::new();
    let mut error = None;
    for output in outputs {
        match output {
            Output::Stream { name, text } => match name.as_str() {
                "stderr" => stderr.push_str(&text.0),
                _ => stdout.push_str(&text.0),
            },
            Output::DisplayData(d) => rich.push((
                "display_data",
                serde_json::to_value(&d.data).unwrap_or_default(),
            )),
            Output::ExecuteResult(r) => rich.push((
                "execute_result",
                serde_json::to_value(&r.data).unwrap_or_default(),
            )),
            Output::Error(e) => error = Some(format!("{}: {}", e.ename, e.evalue)),
        }
    }
    let mut out = Vec::new();
    for (kind, text) in [("stream:stdout", stdout), ("stream:stderr", stderr)] {
        if !text.is_empty() && !ignored(cmp, kind) {
            out.push(Item {
                kind: kind.into(),
                text,
            });
        }
    }
    for (kind, data) in rich {
        let Some(bundle) = data.as_object() else {
            continue;
        };
        let mut mimes = vec!["text/plain".to_string()];
        mimes.extend(cmp.config.compare_mime_types.iter().cloned());
        for mime in mimes {
            let full = format!("{kind}:{mime}");
            if let Some(value) = bundle.get(&mime).filter(|_| !ignored(cmp, &full)) {
                let mut text = mime_text(value);
                if mime.starts_with("image/") {
                    text.retain(|c| !c.is_whitespace());
                }
                out.push(Item { kind: full, text });
            }
        }
    }
    if let Some(text) = error.filter(|_| !ignored(cmp, "error")) {
        out.push(Item {
            kind: "error".into(),
            text,
        });
    }
    out
}

fn render(items: &[Item]) -> String {
    items
        .iter()
        .map(|i| format!("[{}]\n{}", i.kind, i.text.trim_end()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn bounded(mut s: String) -> String {
    if s.len() > MAX_TEXT {
        let total = s.len();
        let mut cut = MAX_TEXT;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str(&format!("\n… (truncated {} bytes)", total - cut));
    }
    s
}

fn items_match(cmp: &Comparator, expected: &[Item], actual: &[Item]) -> bool {
    expected.len() == actual.len()
        && expected.iter().zip(actual).all(|(e, a)| {
            if e.kind != a.kind {
                return false;
            }
            let (en, an) = (cmp.normalize(&e.text), cmp.normalize(&a.text));
            match cmp.config.strategy {
                Strategy::Exact => en == an,
                Strategy::Normalized if e.kind.contains("image/") => en == an,
                Strategy::Normalized => numbers::equal_within(
                    &en,
                    &an,
                    cmp.config.abs_tolerance,
                    cmp.config.rel_tolerance,
                ),
            }
        })
}

fn unified(expected: &str, actual: &str) -> String {
    similar::TextDiff::from_lines(expected, actual)
        .unified_diff()
        .context_radius(3)
        .header("golden", "executed")
        .to_string()
}

fn diff_for(cmp: &Comparator, cell_index: usize, expected: &[Item], actual: &[Item]) -> CellDiff {
    let has_error = |items: &[Item]| items.iter().any(|i| i.kind == "error");
    let (exp_text, act_text) = (render(expected), render(actual));
    let (exp_norm, act_norm) = (
        cmp.normalize(&exp_text).into_owned(),
        cmp.normalize(&act_text).into_owned(),
    );
    let whitespace_only = exp_norm.split_whitespace().eq(act_norm.split_whitespace());
    let (diff_type, severity) = if has_error(expected) != has_error(actual) {
        ("execution_error", "critical")
    } else if whitespace_only {
        ("output_mismatch", "minor")
    } else {
        ("output_mismatch", "major")
    };
    CellDiff {
        cell_index,
        cell_type: "code".into(),
        diff_type: diff_type.into(),
        diff: bounded(unified(&exp_norm, &act_norm)),
        expected: bounded(exp_text),
        actual: bounded(act_text),
        severity: severity.into(),
    }
}

/// Compares the executed notebook with the golden one, cell by cell.
pub fn compare(cmp: &Comparator, executed: &Notebook, golden: &Notebook) -> Comparison {
    let exec_cells = code_cells(executed);
    let gold_cells = code_cells(golden);
    let mut result = Comparison {
        strategy: cmp.config.strategy.as_str().into(),
        cells: Vec::new(),
        total: 0,
        matched: 0,
        mismatched: 0,
        skipped: 0,
        diffs: Vec::new(),
    };
    for pos in 0..exec_cells.len().max(gold_cells.len()) {
        result.total += 1;
        let (index, status, reason) = match (exec_cells.get(pos), gold_cells.get(pos)) {
            (Some(&(ei, ec)), Some(&(_, gc))) => {
                let m = markers::cell_markers(ec).union(markers::cell_markers(gc));
                let skip_reason = if m.skip {
                    Some("NBVAL_SKIP")
                } else if m.ignore_output {
                    Some("NBVAL_IGNORE_OUTPUT")
                } else if cmp.config.lax && !m.check_output {
                    Some("lax mode: no NBVAL_CHECK_OUTPUT")
                } else {
                    None
                };
                if let Some(r) = skip_reason {
                    (ei, CellMatch::Skipped, Some(r.to_string()))
                } else {
                    let (expected, actual) = (items(cmp, gc), items(cmp, ec));
                    if items_match(cmp, &expected, &actual) {
                        (ei, CellMatch::Matched, None)
                    } else {
                        let d = diff_for(cmp, ei, &expected, &actual);
                        let reason = format!("{} ({})", d.diff_type, d.severity);
                        result.diffs.push(d);
                        (ei, CellMatch::Mismatched, Some(reason))
                    }
                }
            }
            (None, Some(&(gi, gc))) => {
                result.diffs.push(CellDiff {
                    cell_index: gi,
                    cell_type: "code".into(),
                    diff_type: "missing_cell".into(),
                    expected: bounded(gc.source().concat()),
                    actual: String::new(),
                    diff: String::new(),
                    severity: "critical".into(),
                });
                (
                    gi,
                    CellMatch::Mismatched,
                    Some("the golden notebook has a code cell the executed one lacks".into()),
                )
            }
            (Some(&(ei, ec)), None) => {
                result.diffs.push(CellDiff {
                    cell_index: ei,
                    cell_type: "code".into(),
                    diff_type: "extra_cell".into(),
                    expected: String::new(),
                    actual: bounded(ec.source().concat()),
                    diff: String::new(),
                    severity: "critical".into(),
                });
                (
                    ei,
                    CellMatch::Mismatched,
                    Some("the executed notebook has a code cell the golden one lacks".into()),
                )
            }
            (None, None) => unreachable!("pos is below the longer length"),
        };
        match status {
            CellMatch::Matched => result.matched += 1,
            CellMatch::Mismatched => result.mismatched += 1,
            CellMatch::Skipped => result.skipped += 1,
        }
        result.cells.push(CellOutcome {
            cell_index: index,
            status,
            reason,
        });
    }
    result
}
