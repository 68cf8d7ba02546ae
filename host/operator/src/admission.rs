//! Spec checks done before any work starts. Every field the API accepts must
//! do something; the few nbv cannot honour fail the job here with a reason
//! and a message that says what to change, instead of being ignored. The CRD
//! carries the same rules as CEL validations so `kubectl apply` already
//! refuses them; this is the backstop for CRDs installed without them.

use nbv_crd::NotebookValidationJob;

use crate::context::Context;

#[derive(Debug, thiserror::Error)]
pub enum AdmissionError {
    #[error("{field} is not supported by nbv: {hint}")]
    Unsupported {
        field: &'static str,
        hint: &'static str,
    },
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("buildConfig.strategy {name:?} is not registered; available strategies: {available}")]
    UnknownStrategy { name: String, available: String },
}

impl AdmissionError {
    pub fn reason(&self) -> &'static str {
        match self {
            AdmissionError::Unsupported { .. } => "UnsupportedField",
            AdmissionError::Invalid { .. } => "InvalidSpec",
            AdmissionError::UnknownStrategy { .. } => "UnknownStrategy",
        }
    }
}

pub const MODEL_VALIDATION_HINT: &str = "model-serving checks are out of scope; remove spec.modelValidation or set modelValidation.enabled: false";
pub const VALIDATION_CONFIG_HINT: &str = "only validationConfig.failOnStderr and failOnWarnings are implemented; \
     remove the other validationConfig fields (use a golden notebook or asserts in the notebook instead)";

pub fn check(job: &NotebookValidationJob, ctx: &Context) -> Result<(), AdmissionError> {
    let spec = &job.spec;
    if spec
        .model_validation
        .as_ref()
        .is_some_and(|mv| mv.enabled != Some(false))
    {
        return Err(AdmissionError::Unsupported {
            field: "spec.modelValidation",
            hint: MODEL_VALIDATION_HINT,
        });
    }
    if let Some(vc) = &spec.validation_config {
        let unsupported = vc.level.is_some()
            || vc.strict_mode.is_some()
            || vc.detect_silent_failures.is_some()
            || vc.require_explicit_exit_codes.is_some()
            || vc.check_output_types.is_some()
            || vc.verify_assertions.is_some()
            || vc.educational_mode.is_some()
            || !vc.expected_outputs.is_empty();
        if unsupported {
            return Err(AdmissionError::Unsupported {
                field: "spec.validationConfig",
                hint: VALIDATION_CONFIG_HINT,
            });
        }
    }
    nbv_crd::parse_go_duration(&spec.timeout).map_err(|e| AdmissionError::Invalid {
        field: "spec.timeout",
        message: e.to_string(),
    })?;
    if let Some(cc) = &spec.comparison_config {
        crate::compare_config::compile(cc).map_err(|message| AdmissionError::Invalid {
            field: "spec.comparisonConfig",
            message,
        })?;
    }
    if let Some(build) = spec.pod_config.build_config.as_ref().filter(|b| b.enabled) {
        nbv_crd::parse_go_duration(&build.timeout).map_err(|e| AdmissionError::Invalid {
            field: "spec.podConfig.buildConfig.timeout",
            message: e.to_string(),
        })?;
        if !ctx.strategies.contains(&build.strategy) {
            return Err(AdmissionError::UnknownStrategy {
                name: build.strategy.clone(),
                available: ctx.strategies.registry.available(&build.strategy),
            });
        }
    }
    Ok(())
}
