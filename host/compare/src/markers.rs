//! nbval markers, as a comment line in the cell (`# NBVAL_SKIP`) or as a cell
//! tag (`nbval-skip`), with the meanings nbval gives them.

use nbformat::v4::Cell;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Markers {
    /// Not executed and not compared.
    pub skip: bool,
    /// Executed, outputs not compared.
    pub ignore_output: bool,
    /// The cell must raise; its error is expected and execution continues.
    pub raises_exception: bool,
    /// In lax mode, only cells with this marker are compared.
    pub check_output: bool,
}

/// Sets one marker flag.
type Set = fn(&mut Markers);

const COMMENTS: &[(&str, Set)] = &[
    ("NBVAL_SKIP", |m| m.skip = true),
    ("NBVAL_IGNORE_OUTPUT", |m| m.ignore_output = true),
    ("NBVAL_RAISES_EXCEPTION", |m| m.raises_exception = true),
    ("NBVAL_CHECK_OUTPUT", |m| m.check_output = true),
];

const TAGS: &[(&str, Set)] = &[
    ("nbval-skip", |m| m.skip = true),
    ("nbval-ignore-output", |m| m.ignore_output = true),
    ("raises-exception", |m| m.raises_exception = true),
    ("nbval-raises-exception", |m| m.raises_exception = true),
    ("nbval-check-output", |m| m.check_output = true),
];

pub fn cell_markers(cell: &Cell) -> Markers {
    let mut m = Markers::default();
    for line in cell.source().concat().lines() {
        let Some(comment) = line.trim_start().strip_prefix('#') else {
            continue;
        };
        let word = comment.trim();
        for (name, set) in COMMENTS {
            // The marker must be the whole comment word, so "NBVAL_SKIPPED" does not count.
            if word.split_whitespace().next() == Some(name) {
                set(&mut m);
            }
        }
    }
    for tag in cell.metadata().tags.iter().flatten() {
        for (name, set) in TAGS {
            if tag == name {
                set(&mut m);
            }
        }
    }
    m
}

impl Markers {
    pub fn union(self, other: Markers) -> Markers {
        Markers {
            skip: self.skip || other.skip,
            ignore_output: self.ignore_output || other.ignore_output,
            raises_exception: self.raises_exception || other.raises_exception,
            check_output: self.check_output || other.check_output,
        }
    }
}
