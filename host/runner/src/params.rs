//! Papermill-compatible parameters: a new cell tagged `injected-parameters`
//! goes right after the cell tagged `parameters` (or first, when there is
//! none), replacing one a previous run injected, so notebooks written for
//! papermill behave the same here.

use nbformat::v4::{Cell, CellId, CellMetadata, Notebook};
use serde_json::Value;

use crate::notebook::tags;

pub const PARAMETERS_TAG: &str = "parameters";
pub const INJECTED_TAG: &str = "injected-parameters";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParamError {
    #[error("--param {0:?}: expected NAME=VALUE")]
    MissingEquals(String),
    #[error("--param {0:?}: {1:?} is not a Python identifier")]
    BadName(String, String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    pub value: Value,
}

/// `NAME=VALUE`, with VALUE read as a JSON literal when it is one (numbers,
/// booleans, null, quoted strings, lists, objects) and as a plain string
/// otherwise, so `--param who=world` needs no quoting.
pub fn parse_param(text: &str) -> Result<Param, ParamError> {
    let (name, raw) = text
        .split_once('=')
        .ok_or_else(|| ParamError::MissingEquals(text.to_string()))?;
    let name = name.trim();
    if !is_identifier(name) {
        return Err(ParamError::BadName(text.to_string(), name.to_string()));
    }
    let value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()));
    Ok(Param {
        name: name.to_string(),
        value,
    })
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

/// The value as Python source, the way papermill's translator writes it.
pub fn python_literal(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => python_str(s),
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(python_literal)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", python_str(k), python_literal(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn python_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub fn render(params: &[Param]) -> String {
    let mut code = String::from("# Parameters\n");
    for p in params {
        code.push_str(&format!("{} = {}\n", p.name, python_literal(&p.value)));
    }
    code
}

/// Where the injection went, for the progress output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    AfterParametersCell(usize),
    /// No cell is tagged `parameters`; papermill warns and puts it first too.
    Top,
}

pub fn inject(nb: &mut Notebook, params: &[Param]) -> Option<Placement> {
    if params.is_empty() {
        return None;
    }
    nb.cells
        .retain(|c| !tags(c).iter().any(|t| t == INJECTED_TAG));
    let anchor = nb
        .cells
        .iter()
        .position(|c| tags(c).iter().any(|t| t == PARAMETERS_TAG));
    let (at, placement) = match anchor {
        Some(i) => (i + 1, Placement::AfterParametersCell(i)),
        None => (0, Placement::Top),
    };
    let source: Vec<String> = render(params)
        .split_inclusive('\n')
        .map(str::to_string)
        .collect();
    let cell = Cell::Code {
        id: fresh_id(nb),
        metadata: CellMetadata {
            tags: Some(vec![INJECTED_TAG.to_string()]),
            ..Default::default()
        },
        execution_count: None,
        source,
        outputs: Vec::new(),
    };
    nb.cells.insert(at, cell);
    Some(placement)
}

fn fresh_id(nb: &Notebook) -> CellId {
    let taken = |id: &str| nb.cells.iter().any(|c| c.id().as_str() == id);
    let mut n = 0usize;
    loop {
        let candidate = match n {
            0 => INJECTED_TAG.to_string(),
            n => format!("{INJECTED_TAG}-{n}"),
        };
        // Only ASCII letters, digits and '-', which CellId always accepts.
        if let (false, Ok(id)) = (taken(&candidate), CellId::new(&candidate)) {
            return id;
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_json_literals_when_they_parse() {
        let p = |s| parse_param(s).expect(s).value;
        assert_eq!(p("n=3"), json!(3));
        assert_eq!(p("x=2.5"), json!(2.5));
        assert_eq!(p("flag=true"), json!(true));
        assert_eq!(p("none=null"), json!(null));
        assert_eq!(p("xs=[1, \"a\"]"), json!([1, "a"]));
        assert_eq!(p("who=world"), json!("world"));
        assert_eq!(p("quoted=\"3\""), json!("3"));
        assert_eq!(p("eq=a=b"), json!("a=b"));
        assert_eq!(p("empty="), json!(""));
    }

    #[test]
    fn names_must_be_identifiers() {
        assert!(matches!(
            parse_param("noequals"),
            Err(ParamError::MissingEquals(_))
        ));
        assert!(matches!(parse_param("1x=2"), Err(ParamError::BadName(..))));
        assert!(matches!(parse_param("a-b=2"), Err(ParamError::BadName(..))));
        assert!(parse_param("_private=1").is_ok());
    }

    #[test]
    fn renders_python_literals() {
        let v = json!({"k": [1, 2.5, true, false, null, "q\"uote\\\n"]});
        assert_eq!(
            python_literal(&v),
            r#"{"k": [1, 2.5, True, False, None, "q\"uote\\\n"]}"#
        );
        let params = vec![
            parse_param("alpha=0.1").expect("valid"),
            parse_param("name=run 1").expect("valid"),
        ];
        assert_eq!(
            render(&params),
            "# Parameters\nalpha = 0.1\nname = \"run 1\"\n"
        );
    }

    fn notebook(cells: &[(&str, &[&str])]) -> Notebook {
        let cells: Vec<_> = cells
            .iter()
            .enumerate()
            .map(|(i, (src, tags))| {
                json!({"cell_type": "code", "id": format!("c{i}"), "metadata": {"tags": tags},
                       "source": src, "outputs": [], "execution_count": null})
            })
            .collect();
        serde_json::from_value(
            json!({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}),
        )
        .expect("valid notebook")
    }

    #[test]
    fn injects_after_the_parameters_cell_and_replaces_old_injections() {
        let mut nb = notebook(&[
            ("import os", &[]),
            ("a = 1", &["parameters"]),
            ("# Parameters\na = 5", &["injected-parameters"]),
            ("print(a)", &[]),
        ]);
        let placement = inject(&mut nb, &[parse_param("a=2").expect("valid")]);
        assert_eq!(placement, Some(Placement::AfterParametersCell(1)));
        assert_eq!(nb.cells.len(), 4);
        assert_eq!(
            crate::notebook::source(&nb.cells[2]),
            "# Parameters\na = 2\n"
        );
        assert_eq!(tags(&nb.cells[2]), ["injected-parameters"]);
        assert_eq!(crate::notebook::source(&nb.cells[3]), "print(a)");
    }

    #[test]
    fn injects_at_the_top_without_a_parameters_cell() {
        let mut nb = notebook(&[("print(a)", &[])]);
        assert_eq!(inject(&mut nb, &[]), None);
        assert_eq!(nb.cells.len(), 1);
        let placement = inject(&mut nb, &[parse_param("a=1").expect("valid")]);
        assert_eq!(placement, Some(Placement::Top));
        assert_eq!(
            crate::notebook::source(&nb.cells[0]),
            "# Parameters\na = 1\n"
        );
    }
}
