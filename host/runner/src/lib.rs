//! The notebook runner: kernel execution, golden comparison and reports.
