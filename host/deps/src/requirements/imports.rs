//! Imports of a notebook's code cells, found with Ruff's Python parser.
//!
//! IPython syntax is blanked first (each such line becomes `pass` at its
//! indentation, so blocks stay valid): line magics `%x`, shell escapes `!x`,
//! `var = !cmd` / `var = %magic`, `obj?` help, and continuation lines of
//! those. A cell magic other than the Python-running ones (`%%time`,
//! `%%timeit`, `%%capture`, ...) makes the cell non-Python, and it is skipped.
//! A cell that still does not parse is scanned line by line, with a warning.

use ruff_python_ast::statement_visitor::{StatementVisitor, walk_stmt};
use ruff_python_ast::{Stmt, StmtImport, StmtImportFrom};

/// A module path an import needs, with the cell it appears in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Import {
    /// Dotted path: `a.b` for `import a.b`, `a.b.c` for `from a.b import c`
    /// (`c` may be a name rather than a module; mapping uses prefixes).
    pub(crate) path: String,
    pub(crate) cell: usize,
}

/// Cell magics whose body is Python code.
const PYTHON_CELL_MAGICS: &[&str] = &[
    "time", "timeit", "capture", "prun", "debug", "memit", "mprun", "python", "python3", "ipython",
];

/// All absolute, non-`__future__` imports of the cells, in cell order.
pub(crate) fn scan(cells: &[(usize, String)], warnings: &mut Vec<String>) -> Vec<Import> {
    let mut out = Vec::new();
    for (cell, source) in cells {
        let Some(python) = python_source(source) else {
            continue;
        };
        let paths = match ruff_python_parser::parse_module(&python) {
            Ok(parsed) => {
                let mut visitor = Collector::default();
                visitor.visit_body(parsed.suite());
                visitor.paths
            }
            Err(e) => {
                let offset = e.location.start().to_usize().min(python.len());
                let line = python
                    .get(..offset)
                    .map_or(0, |head| head.matches('\n').count())
                    + 1;
                warnings.push(format!(
                    "cell {cell}: not valid Python after removing IPython magics ({} on line {line}); \
                     its imports were found by a line-by-line scan",
                    e.error
                ));
                line_scan(&python)
            }
        };
        out.extend(paths.into_iter().map(|path| Import { path, cell: *cell }));
    }
    out
}

#[derive(Default)]
struct Collector {
    paths: Vec<String>,
}

impl<'a> StatementVisitor<'a> for Collector {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Import(StmtImport { names, .. }) => {
                for alias in names {
                    self.paths.push(alias.name.as_str().to_string());
                }
            }
            Stmt::ImportFrom(StmtImportFrom {
                module: Some(module),
                names,
                level: 0,
                ..
            }) => {
                let module = module.as_str();
                if module != "__future__" {
                    for alias in names {
                        match alias.name.as_str() {
                            "*" => self.paths.push(module.to_string()),
                            name => self.paths.push(format!("{module}.{name}")),
                        }
                    }
                }
            }
            _ => {}
        }
        walk_stmt(self, stmt);
    }
}

/// The cell with IPython syntax blanked, or `None` for a non-Python cell magic.
pub(crate) fn python_source(cell: &str) -> Option<String> {
    let mut out = String::with_capacity(cell.len());
    let mut first = true;
    let mut continuation = false;
    for line in cell.lines() {
        let trimmed = line.trim_start();
        if first && !trimmed.is_empty() {
            first = false;
            if let Some(magic) = trimmed.strip_prefix("%%") {
                let name = magic.split_whitespace().next().unwrap_or_default();
                if !PYTHON_CELL_MAGICS.contains(&name) {
                    return None;
                }
                out.push_str("pass\n");
                continue;
            }
        }
        if continuation {
            continuation = line.ends_with('\\');
            out.push('\n');
            continue;
        }
        if is_ipython_line(trimmed) {
            continuation = line.ends_with('\\');
            out.push_str(&line[..line.len() - trimmed.len()]);
            out.push_str("pass\n");
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    Some(out)
}

fn is_ipython_line(t: &str) -> bool {
    if t.starts_with('%') || (t.starts_with('!') && !t.starts_with("!=")) || t.starts_with('?') {
        return true;
    }
    // `files = !ls`, `t = %timeit -o f()`
    if let Some((lhs, rhs)) = t.split_once('=') {
        let rhs = rhs.trim_start();
        if !lhs.trim().is_empty()
            && lhs
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | ' ' | '\t' | ',' | '.'))
            && (rhs.starts_with('%') || (rhs.starts_with('!') && !rhs.starts_with("!=")))
        {
            return true;
        }
    }
    // `obj?`, `obj.attr??`
    if let Some(head) = t.strip_suffix('?') {
        let head = head.trim_end_matches('?');
        return !head.is_empty()
            && head
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '*'));
    }
    false
}

/// Best-effort scan of `import x` / `from x import y` lines.
pub(crate) fn line_scan(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in source.lines() {
        for stmt in line.split(';') {
            let stmt = stmt.split('#').next().unwrap_or_default().trim();
            // `try: import x`, `if a: import x`
            let stmt = stmt.rsplit_once(": ").map_or(stmt, |(_, s)| s.trim());
            if let Some(rest) = stmt.strip_prefix("import ") {
                for part in rest.split(',') {
                    let name = part.split(" as ").next().unwrap_or_default().trim();
                    if is_dotted_name(name) {
                        out.push(name.to_string());
                    }
                }
            } else if let Some(rest) = stmt.strip_prefix("from ") {
                let Some((module, names)) = rest.split_once(" import ") else {
                    continue;
                };
                let module = module.trim();
                if module == "__future__" || !is_dotted_name(module) {
                    continue;
                }
                let names = names
                    .trim()
                    .trim_start_matches('(')
                    .trim_end_matches(['(', ')', '\\']);
                let mut any = false;
                for part in names.split(',') {
                    let name = part.split(" as ").next().unwrap_or_default().trim();
                    if is_dotted_name(name) {
                        out.push(format!("{module}.{name}"));
                        any = true;
                    }
                }
                if !any {
                    out.push(module.to_string());
                }
            }
        }
    }
    out
}

fn is_dotted_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
                && chars.all(|c| c.is_alphanumeric() || c == '_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magics_become_pass_at_their_indentation() {
        let src = "import os\n%matplotlib inline\nif True:\n    !pip install x \\\n      y\nfiles = !ls\nos?\n";
        assert_eq!(
            python_source(src).unwrap(),
            "import os\npass\nif True:\n    pass\n\npass\npass\n"
        );
        assert!(ruff_python_parser::parse_module(&python_source(src).unwrap()).is_ok());
        assert_eq!(python_source("%%bash\npip install x\n"), None);
        assert_eq!(
            python_source("\n%%time\nimport numpy\n").unwrap(),
            "\npass\nimport numpy\n"
        );
        // Not magics: comparisons and modulo continuation stay Python.
        assert!(!is_ipython_line("!= 3"));
        assert!(!is_ipython_line("x = a != b"));
    }

    #[test]
    fn line_scan_finds_imports() {
        let found = line_scan(
            "import a.b as c, d\nfrom e.f import (g, h as i)\nfrom . import local\ntry: import j\nx = 'import nope'\n",
        );
        assert_eq!(found, vec!["a.b", "d", "e.f.g", "e.f.h", "j"]);
    }
}
