//! The embedded demo: `nbv run` with no notebook runs it, so a fresh clone
//! can see a real validation (kernel, outputs, float tolerance, golden
//! diff) without writing a notebook first. The same files are in examples/.

pub const NOTEBOOK: &str = include_str!("../../../examples/demo.ipynb");
pub const GOLDEN: &str = include_str!("../../../examples/demo.golden.ipynb");
pub const LABEL: &str = "examples/demo.ipynb (embedded)";
pub const GOLDEN_LABEL: &str = "examples/demo.golden.ipynb (embedded)";
