//! Text equality with a true numeric tolerance: both texts are split into
//! numbers and the text between them; the text must match exactly and every
//! pair of numbers must satisfy |a - b| <= max(abs_tol, rel_tol * max(|a|, |b|)),
//! the rule of Python's math.isclose. No rounding is involved.

use std::sync::LazyLock;

use regex::Regex;

static NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    // Signs only count when they can't be an operator between two values.
    Regex::new(r"(?:(?:^|[\s(\[{,:=])[-+])?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|\b(?:nan|NaN|inf|-inf)\b")
        .expect("number pattern is valid")
});

#[derive(Debug, PartialEq)]
enum Token<'a> {
    Text(&'a str),
    Number(f64, &'a str),
}

fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut last = 0;
    for m in NUMBER.find_iter(text) {
        let raw = m.as_str();
        // The leading delimiter captured before a sign belongs to the text.
        let start_of_number = raw
            .char_indices()
            .find(|(_, c)| {
                c.is_ascii_digit()
                    || *c == '.'
                    || *c == '-'
                    || *c == '+'
                    || *c == 'n'
                    || *c == 'N'
                    || *c == 'i'
            })
            .map(|(i, _)| i)
            .unwrap_or(0);
        let num_start = m.start() + start_of_number;
        if num_start > last {
            out.push(Token::Text(&text[last..num_start]));
        }
        let literal = &text[num_start..m.end()];
        match literal.parse::<f64>() {
            Ok(v) => out.push(Token::Number(v, literal)),
            Err(_) => out.push(Token::Text(literal)),
        }
        last = m.end();
    }
    if last < text.len() {
        out.push(Token::Text(&text[last..]));
    }
    out
}

pub fn close(a: f64, b: f64, abs_tol: f64, rel_tol: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == b {
        return true;
    }
    if a.is_infinite() || b.is_infinite() {
        return false;
    }
    (a - b).abs() <= abs_tol.max(rel_tol * a.abs().max(b.abs()))
}

/// True when the texts differ at most by numbers within tolerance.
pub fn equal_within(expected: &str, actual: &str, abs_tol: f64, rel_tol: f64) -> bool {
    if expected == actual {
        return true;
    }
    let (e, a) = (tokens(expected), tokens(actual));
    e.len() == a.len()
        && e.iter().zip(&a).all(|pair| match pair {
            (Token::Text(x), Token::Text(y)) => x == y,
            (Token::Number(x, _), Token::Number(y, _)) => close(*x, *y, abs_tol, rel_tol),
            _ => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_noise_within_tolerance() {
        assert!(equal_within(
            "loss: 0.3",
            "loss: 0.30000000000000004",
            1e-4,
            0.0
        ));
        assert!(equal_within("[1.0, 2.00001]", "[1.0, 2.0]", 1e-4, 0.0));
        assert!(!equal_within("accuracy 0.91", "accuracy 0.87", 1e-4, 0.0));
    }

    #[test]
    fn boundary_is_inclusive_and_relative_scales() {
        assert!(close(1.0, 1.5, 0.5, 0.0));
        assert!(!close(1.0, 1.5000001, 0.5, 0.0));
        assert!(close(1e6, 1e6 + 1.0, 0.0, 1e-6));
        assert!(!close(1.0, 1.0 + 1e-5, 0.0, 1e-6));
        assert!(equal_within("x = -1.5e-3", "x = -1.50001e-3", 0.0, 1e-4));
        assert!(
            !equal_within("x = -1.5e-3", "x = 1.5e-3", 1e-4, 0.0),
            "a sign flip is a real change"
        );
    }

    #[test]
    fn nan_and_inf() {
        assert!(equal_within("value nan", "value nan", 1e-4, 0.0));
        assert!(close(f64::NAN, f64::NAN, 0.0, 0.0));
        assert!(!close(f64::NAN, 1.0, 1.0, 1.0));
        assert!(!close(f64::INFINITY, 1e308, 1.0, 1.0));
    }

    #[test]
    fn text_between_numbers_must_match() {
        assert!(!equal_within("loss 0.3", "gain 0.3", 1.0, 1.0));
        assert!(!equal_within("1 2 3", "1 2", 1.0, 1.0));
        assert!(equal_within("epoch 1/10", "epoch 1/10", 0.0, 0.0));
    }
}
