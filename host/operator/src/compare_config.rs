//! `spec.comparisonConfig` → the runner's `nbv_compare::CompareConfig`.
//! Compiled at admission so a bad regex fails the job before any pod runs.

use nbv_compare::{CompareConfig, Sanitizer, Strategy};
use nbv_crd::ComparisonConfigSpec;

fn tolerance(field: &str, value: &Option<String>, default: f64) -> Result<f64, String> {
    match value {
        None => Ok(default),
        Some(text) => text
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("{field} {text:?} is not a non-negative number")),
    }
}

pub fn translate(spec: &ComparisonConfigSpec) -> Result<CompareConfig, String> {
    let defaults = CompareConfig::default();
    let strategy = match spec.strategy.as_deref() {
        None | Some("normalized") => Strategy::Normalized,
        Some("exact") => Strategy::Exact,
        Some(other) => {
            return Err(format!(
                "strategy {other:?} is not one of exact, normalized"
            ));
        }
    };
    Ok(CompareConfig {
        strategy,
        abs_tolerance: tolerance(
            "floatingPointTolerance",
            &spec.floating_point_tolerance,
            defaults.abs_tolerance,
        )?,
        rel_tolerance: tolerance(
            "relativeTolerance",
            &spec.relative_tolerance,
            defaults.rel_tolerance,
        )?,
        ignore_timestamps: spec.ignore_timestamps.unwrap_or(defaults.ignore_timestamps),
        ignore_execution_count: spec
            .ignore_execution_count
            .unwrap_or(defaults.ignore_execution_count),
        timestamp_patterns: spec.custom_timestamp_patterns.clone(),
        sanitizers: spec
            .sanitizers
            .iter()
            .map(|s| Sanitizer {
                pattern: s.pattern.clone(),
                replacement: s.replacement.clone(),
            })
            .collect(),
        ignore_output_types: spec.ignore_output_types.clone(),
        compare_mime_types: spec.compare_mime_types.clone(),
        lax: false,
    })
}

/// Validates the settings the way the runner will use them.
pub fn compile(spec: &ComparisonConfigSpec) -> Result<CompareConfig, String> {
    let config = translate(spec)?;
    config.compile().map_err(|e| e.to_string())?;
    Ok(config)
}

/// The JSON handed to `nbv run --compare-config-json`.
pub fn to_runner_json(spec: &ComparisonConfigSpec) -> serde_json::Value {
    // Admission already rejected invalid settings; a default is the safe fallback.
    serde_json::to_value(translate(spec).unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_fields_map_onto_the_comparator() {
        let spec = ComparisonConfigSpec {
            strategy: Some("exact".into()),
            floating_point_tolerance: Some("0.01".into()),
            relative_tolerance: Some("1e-6".into()),
            ignore_timestamps: Some(false),
            custom_timestamp_patterns: vec!["run-[0-9]+".into()],
            ignore_output_types: vec!["display_data".into()],
            ..Default::default()
        };
        let c = compile(&spec).expect("valid");
        assert_eq!(c.strategy, Strategy::Exact);
        assert_eq!((c.abs_tolerance, c.rel_tolerance), (0.01, 1e-6));
        assert!(!c.ignore_timestamps);
        assert_eq!(c.ignore_output_types, ["display_data"]);
        let json = to_runner_json(&spec);
        assert_eq!(json["absTolerance"], 0.01);
    }

    #[test]
    fn invalid_settings_say_which_field() {
        let bad_regex = ComparisonConfigSpec {
            custom_timestamp_patterns: vec!["(".into()],
            ..Default::default()
        };
        assert!(
            compile(&bad_regex)
                .expect_err("bad regex")
                .contains("timestampPatterns[0]")
        );
        let bad_tol = ComparisonConfigSpec {
            floating_point_tolerance: Some("lots".into()),
            ..Default::default()
        };
        assert!(
            compile(&bad_tol)
                .expect_err("bad tolerance")
                .contains("floatingPointTolerance")
        );
    }
}
