//! Reading a PipelineRun: its `Succeeded` condition and its digest result.

use nbv_guest_sdk::manifest::Object;
use nbv_guest_sdk::recipes::pin_digest;
use nbv_guest_sdk::{BuildState, Error};
use serde_json::Value;

use crate::manifests::DIGEST_RESULT;

/// The label Tekton puts on the pods of a PipelineRun.
pub const PIPELINE_RUN_LABEL: &str = "tekton.dev/pipelineRun";

const CANCELLED: [&str; 4] = [
    "Cancelled",
    "CancelledRunFinally",
    "StoppedRunFinally",
    "PipelineRunCancelled",
];
const TIMED_OUT: [&str; 2] = ["PipelineRunTimeout", "Timeout"];
const PENDING: [&str; 2] = ["Pending", "PipelineRunPending"];

fn detail(reason: &str, message: &str) -> String {
    match (reason.is_empty(), message.is_empty()) {
        (_, false) if message.contains(reason) => message.to_string(),
        (false, false) => format!("{reason}: {message}"),
        (true, false) => message.to_string(),
        (false, true) => reason.to_string(),
        (true, true) => String::new(),
    }
}

/// The `Succeeded` condition of a PipelineRun as a build state.
pub fn run_state(run: &Object) -> BuildState {
    let Some((status, reason, message)) = run.condition("Succeeded") else {
        return BuildState::pending("waiting for Tekton to start the PipelineRun");
    };
    let text = detail(&reason, &message);
    let or = |fallback: &str| {
        if text.is_empty() {
            fallback.to_string()
        } else {
            text.clone()
        }
    };
    match status.as_str() {
        "True" => BuildState::complete(or("pipeline succeeded")),
        "False" if CANCELLED.contains(&reason.as_str()) => {
            BuildState::cancelled(or("pipeline cancelled"))
        }
        "False" if TIMED_OUT.contains(&reason.as_str()) => {
            BuildState::failed(format!("timeout: {}", or("the pipeline ran out of time")))
        }
        "False" => BuildState::failed(or("pipeline failed")),
        _ if PENDING.contains(&reason.as_str()) || reason.is_empty() => {
            BuildState::pending(or("pipeline pending"))
        }
        _ => BuildState::running(or("pipeline running")),
    }
}

/// The `IMAGE_DIGEST` pipeline result pinned on the output image.
pub fn built_image(run: &Object, output_image: &str) -> Result<String, Error> {
    let name = run.name();
    if run.condition("Succeeded").map(|c| c.0).as_deref() != Some("True") {
        return Err(Error::Other(format!(
            "PipelineRun {name} has not succeeded: it has no image yet"
        )));
    }
    // `results` in tekton.dev/v1, `pipelineResults` in v1beta1.
    let digest = ["/status/results", "/status/pipelineResults"]
        .iter()
        .filter_map(|p| run.at(p).and_then(Value::as_array))
        .flatten()
        .find(|r| r.get("name").and_then(Value::as_str) == Some(DIGEST_RESULT))
        .and_then(|r| r.get("value"))
        .and_then(Value::as_str);
    pin_digest(
        output_image,
        digest,
        &format!("PipelineRun {name} result {DIGEST_RESULT}"),
    )
}

/// The step containers of a Tekton pod (`step-<name>`), in order.
pub fn step_containers(pod: &Object) -> Vec<String> {
    pod.at("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .filter(|n| n.starts_with("step-"))
        .map(str::to_string)
        .collect()
}
