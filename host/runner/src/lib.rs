//! The notebook runner: executes a notebook on a real Jupyter kernel,
//! compares it with a golden notebook, and reports the verdict as data.
//! The same code runs locally (`nbv run`) and inside the validation pod.

pub mod cli;
pub mod demo;
pub mod duration;
pub mod execute;
pub mod files;
pub mod golden;
pub mod junit;
pub mod kernel;
pub mod notebook;
pub mod params;
pub mod report;
pub mod result;
pub mod run;
pub mod termination;

pub use report::{CellReport, CellStatus, ComparisonReport, FailureKind, RunReport};
pub use result::{ResultError, decode_result, encode_result};
