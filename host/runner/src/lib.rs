//! The notebook runner: executes a notebook on a real Jupyter kernel,
//! compares it with a golden notebook, and reports the verdict as data.
//! The same code runs locally (`nbv run`) and inside the validation pod.

pub mod duration;
pub mod kernel;
pub mod notebook;
pub mod params;
pub mod report;

pub use report::{CellReport, CellStatus, FailureKind, RunReport};
