//! Go `time.ParseDuration` strings, the format the API has always used for
//! `timeout` and `buildConfig.timeout` ("30m", "1h30m", "1.5s", "250ms").

use std::time::Duration;

#[derive(Debug, PartialEq, Eq)]
pub struct DurationError(pub String);

impl std::fmt::Display for DurationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invalid duration {:?}: use a number with a unit, e.g. \"90s\", \"30m\" or \"1h30m\" (units: ms, s, m, h)",
            self.0
        )
    }
}

impl std::error::Error for DurationError {}

/// Parses a Go duration. Rejects empty strings, missing units and negative values.
pub fn parse_go_duration(text: &str) -> Result<Duration, DurationError> {
    let err = || DurationError(text.to_string());
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(err());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(err)?;
        if number_len == 0 {
            return Err(err());
        }
        let value: f64 = rest[..number_len].parse().map_err(|_| err())?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(err()),
        };
        total += value * seconds_per_unit;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| err())
}

/// Formats like Go's `Duration.String()` for the values status reports ("1m30s", "1.5s").
pub fn format_go_duration(d: Duration) -> String {
    let total_ms = d.as_millis();
    let hours = total_ms / 3_600_000;
    let minutes = (total_ms / 60_000) % 60;
    let millis = total_ms % 60_000;
    let mut out = String::new();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    let secs = millis as f64 / 1000.0;
    out.push_str(&format!("{}s", trim_float(secs)));
    out
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() {
        "0".into()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_forms() {
        assert_eq!(parse_go_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_go_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("2h0m5s"), Ok(Duration::from_secs(7205)));
    }

    #[test]
    fn rejects_what_go_rejects() {
        for bad in ["", "30", "m", "5x", "-5s", "1..2s", "1h 30m"] {
            let e = parse_go_duration(bad).expect_err(bad);
            assert!(e.to_string().contains("e.g. \"90s\""), "{bad}: {e}");
        }
    }

    #[test]
    fn formats_like_go() {
        assert_eq!(format_go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_go_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(format_go_duration(Duration::ZERO), "0s");
    }
}
