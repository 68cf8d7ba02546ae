//! Status of `NotebookValidationJob`. Keeps every field the Go operator wrote
//! (so status written by it still deserialises) and adds what nbv reports on
//! top: observed generation, resolved commit, build provenance and
//! requirements.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Phases of a job. `Pending → Building → ValidationRunning → Succeeded|Failed`
/// is what nbv writes; the others are accepted because the Go operator wrote them.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, Default)]
pub enum Phase {
    #[default]
    Pending,
    Initializing,
    Building,
    BuildComplete,
    ValidationRunning,
    Running,
    Succeeded,
    Failed,
}

impl Phase {
    pub fn is_terminal(self) -> bool {
        matches!(self, Phase::Succeeded | Phase::Failed)
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotebookValidationJobStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
    /// The commit the notebook's git ref resolved to; the job stays on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_commit: Option<String>,
    /// The commit the golden notebook's git ref resolved to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_golden_commit: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<CellResult>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub validation_pod_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Infrastructure retries only (image pull, eviction); notebook errors are never retried.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retry_count: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_retry_time: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison_result: Option<ComparisonResult>,
    /// Kept so status written by the Go operator still reads; nbv never writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
    pub model_validation_result: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_status: Option<BuildStatus>,
    /// Kept so status written by the Go operator still reads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<serde_json::Map<String, serde_json::Value>>")]
    pub educational_feedback: Vec<serde_json::Value>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CellResult {
    #[schemars(range(min = 0))]
    pub cell_index: i64,
    /// Success, Failure or Skipped.
    #[schemars(regex(pattern = r"^(Success|Failure|Skipped)$"))]
    pub status: String,
    /// Go duration string, e.g. "1.25s".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_time: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub output: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error_message: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComparisonResult {
    #[schemars(regex(pattern = r"^(exact|normalized|fuzzy|semantic)$"))]
    pub strategy: String,
    #[schemars(regex(pattern = r"^(matched|failed|skipped)$"))]
    pub result: String,
    pub total_cells: i64,
    pub matched_cells: i64,
    pub mismatched_cells: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diffs: Vec<CellDiff>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CellDiff {
    pub cell_index: i64,
    #[schemars(regex(pattern = r"^(code|markdown|raw)$"))]
    pub cell_type: String,
    #[schemars(regex(pattern = r"^(output_mismatch|execution_error|missing_cell|extra_cell)$"))]
    pub diff_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub expected: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub actual: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub diff: String,
    #[schemars(regex(pattern = r"^(minor|major|critical)$"))]
    pub severity: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BuildStatus {
    /// Pending, Running, Complete, Failed or Cancelled.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phase: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The built image, pinned by digest.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image_reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub duration: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub build_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub strategy: String,
    /// sha256 of the strategy component this job is pinned to.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub strategy_digest: String,
    /// Cache key of the build inputs (commit, requirements, base image, strategy digest).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cache_key: String,
    /// True when an earlier build with the same inputs was reused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
    /// Which tier resolved the dependencies: requirementsFile, autoGenerated, pipMagics, baseImageOnly.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub requirements_source: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requirements: Vec<String>,
    /// The last lines of the build log.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_tail: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<serde_json::Map<String, serde_json::Value>>")]
    pub available_images: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub recommended_image: String,
}
