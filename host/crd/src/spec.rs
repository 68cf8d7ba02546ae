//! Spec of `NotebookValidationJob`, field for field compatible with the Go
//! operator's `mlops.mlops.dev/v1alpha1` so existing YAML applies unchanged.
//! Field names and optionality follow the Go JSON tags; kubebuilder defaults
//! and patterns are carried into the schema.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::status::NotebookValidationJobStatus;

/// Matches Go `time.ParseDuration`-style strings the API has always accepted ("30m", "1h30m", "1.5s").
pub const DURATION_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$";
const FLOAT_PATTERN: &str = r"^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$";
const SIGNED_FLOAT_PATTERN: &str = r"^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$";
const DNS_LABEL_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

fn default_timeout() -> String {
    "30m".into()
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "mlops.mlops.dev",
    version = "v1alpha1",
    kind = "NotebookValidationJob",
    plural = "notebookvalidationjobs",
    singular = "notebookvalidationjob",
    shortname = "nvj",
    shortname = "nvjob",
    namespaced,
    status = "NotebookValidationJobStatus",
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Notebook","type":"string","jsonPath":".spec.notebook.path"}"#,
    printcolumn = r#"{"name":"Git-URL","type":"string","jsonPath":".spec.notebook.git.url","priority":1}"#,
    printcolumn = r#"{"name":"Timeout","type":"string","jsonPath":".spec.timeout"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Message","type":"string","jsonPath":".status.message","priority":1}"#
)]
#[serde(rename_all = "camelCase")]
pub struct NotebookValidationJobSpec {
    /// The notebook to validate.
    pub notebook: NotebookSpec,
    /// Pod configuration for the validation run.
    pub pod_config: PodConfigSpec,
    /// Golden notebook whose outputs the executed notebook must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub golden_notebook: Option<NotebookSpec>,
    /// How outputs are compared with the golden notebook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison_config: Option<ComparisonConfigSpec>,
    /// Maximum execution time of the whole validation (Go duration, e.g. "30m").
    #[serde(default = "default_timeout")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub timeout: String,
    /// Model-aware validation (accepted for compatibility; see the operator's admission rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_validation: Option<ModelValidationSpec>,
    /// Exit-code validation and developer-safety settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_config: Option<ValidationConfigSpec>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotebookSpec {
    pub git: GitSpec,
    /// Path of the notebook inside the repository.
    #[schemars(regex(pattern = r"^.*\.ipynb$"))]
    pub path: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitSpec {
    /// Repository URL: https://, git://, ssh:// or git@host:path.
    #[schemars(regex(pattern = r"^((https?|git|ssh)://|git@).*$"))]
    pub url: String,
    /// Branch, tag or full commit SHA.
    pub r#ref: String,
    /// Secret with git credentials (username/password, token, or ssh-privatekey).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credentials_secret: String,
}

fn default_service_account() -> String {
    "default".into()
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodConfigSpec {
    /// Image the notebook runs in (ignored in favour of the built image when a build is enabled).
    pub container_image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    #[serde(default = "default_service_account")]
    pub service_account_name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_from: Vec<EnvFromSource>,
    /// Secret names exposed to the notebook as environment (shorthand for envFrom secretRef).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_config: Option<BuildConfigSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume_mounts: Vec<VolumeMount>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRequirements {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvVar {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<EnvVarSource>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvVarSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<KeySelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_key_ref: Option<KeySelector>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeySelector {
    pub name: String,
    pub key: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvFromSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<NameRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_ref: Option<NameRef>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NameRef {
    pub name: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    #[schemars(regex(pattern = DNS_LABEL_PATTERN), length(max = 63))]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_volume_claim: Option<PvcVolumeSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<ConfigMapVolumeSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretVolumeSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_dir: Option<EmptyDirVolumeSource>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PvcVolumeSource {
    #[schemars(length(min = 1))]
    pub claim_name: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapVolumeSource {
    #[schemars(length(min = 1))]
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<KeyToPath>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 511))]
    pub default_mode: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretVolumeSource {
    #[schemars(length(min = 1))]
    pub secret_name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<KeyToPath>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 511))]
    pub default_mode: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmptyDirVolumeSource {
    /// "" for the node's default medium, or "Memory" for tmpfs.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(regex(pattern = r"^(|Memory)$"))]
    pub medium: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$"))]
    pub size_limit: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyToPath {
    #[schemars(length(min = 1))]
    pub key: String,
    #[schemars(length(min = 1), regex(pattern = r"^[^/].*$"))]
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 511))]
    pub mode: Option<i32>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    #[schemars(regex(pattern = DNS_LABEL_PATTERN))]
    pub name: String,
    #[schemars(regex(pattern = r"^/.*$"))]
    pub mount_path: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sub_path: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Toleration {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    /// Exists or Equal (the default).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(regex(pattern = r"^(|Exists|Equal)$"))]
    pub operator: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(regex(pattern = r"^(|NoSchedule|PreferNoSchedule|NoExecute)$"))]
    pub effect: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toleration_seconds: Option<i64>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Affinity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_affinity: Option<NodeAffinity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_affinity: Option<PodAffinity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_anti_affinity: Option<PodAffinity>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeAffinity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_during_scheduling_ignored_during_execution: Option<NodeSelector>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preferred_during_scheduling_ignored_during_execution: Vec<PreferredSchedulingTerm>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeSelector {
    #[schemars(length(min = 1))]
    pub node_selector_terms: Vec<NodeSelectorTerm>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeSelectorTerm {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<SelectorRequirement>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_fields: Vec<SelectorRequirement>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SelectorRequirement {
    pub key: String,
    /// In, NotIn, Exists, DoesNotExist, and for nodes Gt and Lt.
    #[schemars(regex(pattern = r"^(In|NotIn|Exists|DoesNotExist|Gt|Lt)$"))]
    pub operator: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreferredSchedulingTerm {
    #[schemars(range(min = 1, max = 100))]
    pub weight: i32,
    pub preference: NodeSelectorTerm,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodAffinity {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_during_scheduling_ignored_during_execution: Vec<PodAffinityTerm>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preferred_during_scheduling_ignored_during_execution: Vec<WeightedPodAffinityTerm>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodAffinityTerm {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<LabelSelector>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    pub topology_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WeightedPodAffinityTerm {
    #[schemars(range(min = 1, max = 100))]
    pub weight: i32,
    pub pod_affinity_term: PodAffinityTerm,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<SelectorRequirement>,
}

fn default_true() -> bool {
    true
}
fn default_strategy() -> String {
    "s2i".into()
}
fn default_base_image() -> String {
    "quay.io/jupyter/minimal-notebook:latest".into()
}
fn default_fallback() -> String {
    "warn".into()
}
fn default_build_timeout() -> String {
    "15m".into()
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BuildConfigSpec {
    #[serde(default)]
    pub enabled: bool,
    /// Build strategy name: s2i, tekton, kaniko, or any strategy registered with the operator.
    #[serde(default = "default_strategy")]
    pub strategy: String,
    #[serde(default = "default_base_image")]
    pub base_image: String,
    /// Path of a Dockerfile in the repository, used as-is instead of a generated one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(regex(pattern = r"^[a-zA-Z0-9._/-]+$"))]
    pub dockerfile: String,
    /// Generate requirements from the notebook's imports when no requirements file is found.
    #[serde(default = "default_true")]
    pub auto_generate_requirements: bool,
    /// Explicit requirements file in the repository; no fallback chain when set.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub requirements_file: String,
    /// Custom search order of requirements files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requirements_sources: Vec<String>,
    /// Use the repository's Dockerfile even when a requirements file exists.
    #[serde(default)]
    pub prefer_dockerfile: bool,
    /// What to do when no requirements can be resolved: warn (base image only), fail, or auto.
    #[serde(default = "default_fallback")]
    #[schemars(regex(pattern = r"^(warn|fail|auto)$"))]
    pub fallback_strategy: String,
    /// Strategy-specific parameters, validated against the strategy's declared parameters.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub strategy_config: BTreeMap<String, String>,
    /// Maximum build time (Go duration).
    #[serde(default = "default_build_timeout")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub timeout: String,
}

impl Default for BuildConfigSpec {
    fn default() -> Self {
        Self {
            enabled: false,
            strategy: default_strategy(),
            base_image: default_base_image(),
            dockerfile: String::new(),
            auto_generate_requirements: true,
            requirements_file: String::new(),
            requirements_sources: Vec::new(),
            prefer_dockerfile: false,
            fallback_strategy: default_fallback(),
            strategy_config: BTreeMap::new(),
            timeout: default_build_timeout(),
        }
    }
}

/// Only `failOnStderr` and `failOnWarnings` are implemented; the API server
/// refuses the rest so nothing is silently ignored.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "!has(self.level) && !has(self.strictMode) && !has(self.detectSilentFailures) && !has(self.requireExplicitExitCodes) && !has(self.checkOutputTypes) && !has(self.verifyAssertions) && !has(self.educationalMode) && !has(self.expectedOutputs)",
    "message": "only validationConfig.failOnStderr and failOnWarnings are implemented by nbv; remove the other validationConfig fields (use a golden notebook or asserts in the notebook instead)"
}]))]
pub struct ValidationConfigSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^(learning|development|staging|production)$"))]
    pub level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict_mode: Option<bool>,
    /// Fail the validation when any cell writes to stderr.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_on_stderr: Option<bool>,
    /// Fail the validation when a cell emits a Python warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_on_warnings: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detect_silent_failures: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_explicit_exit_codes: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_output_types: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_assertions: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub educational_mode: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected_outputs: Vec<ExpectedOutputSpec>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExpectedOutputSpec {
    #[schemars(range(min = 0))]
    pub cell: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub r#type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub shape: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(regex(pattern = SIGNED_FLOAT_PATTERN))]
    pub min_value: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(regex(pattern = SIGNED_FLOAT_PATTERN))]
    pub max_value: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_empty: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComparisonConfigSpec {
    /// exact: byte-for-byte after execution counts are dropped; normalized (default): numbers within tolerance, volatile text masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^(exact|normalized)$"))]
    pub strategy: Option<String>,
    /// Absolute tolerance for numbers embedded in outputs (default "0.0001").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = FLOAT_PATTERN))]
    pub floating_point_tolerance: Option<String>,
    /// Relative tolerance for numbers embedded in outputs (default "0": absolute only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = FLOAT_PATTERN))]
    pub relative_tolerance: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_timestamps: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_execution_count: Option<bool>,
    /// Extra regexes whose matches are treated as timestamps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_timestamp_patterns: Vec<String>,
    /// Output types (stream, execute_result, display_data, error) or MIME types to skip.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_output_types: Vec<String>,
    /// Regex replacements applied to both sides before comparing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sanitizers: Vec<Sanitizer>,
    /// Rich MIME types compared in addition to text (e.g. "image/png", "text/html").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compare_mime_types: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Sanitizer {
    pub pattern: String,
    #[serde(default)]
    pub replacement: String,
}

/// Kept so the Go operator's YAML still parses; model-serving checks are out
/// of scope, so only `enabled: false` is accepted.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "has(self.enabled) && self.enabled == false",
    "message": "model-serving checks are out of scope for nbv; remove spec.modelValidation or set modelValidation.enabled: false"
}]))]
pub struct ModelValidationSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^(kserve|openshift-ai|vllm|torchserve|tensorflow-serving|triton|ray-serve|seldon|bentoml|custom)$"
    ))]
    pub platform: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^(clean|existing|both)$"))]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_models: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction_validation: Option<PredictionValidationSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_platform: Option<CustomPlatformSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub timeout: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PredictionValidationSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub test_data: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub expected_output: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = FLOAT_PATTERN))]
    pub tolerance: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomPlatformSpec {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_group: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub health_check_endpoint: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prediction_endpoint: String,
}
