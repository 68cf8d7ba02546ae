//! Reading the build Pod: its phase, container states and the digest its
//! `build` container left as termination message.

use nbv_guest_sdk::manifest::Object;
use nbv_guest_sdk::recipes::pin_digest;
use nbv_guest_sdk::{BuildState, Error};
use serde_json::Value;

use crate::manifests::BUILD_CONTAINER;

/// Waiting reasons that will not resolve by themselves: the build fails
/// instead of staying pending until its deadline.
pub const FATAL_WAITING: [&str; 5] = [
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
];

fn statuses(pod: &Object) -> impl Iterator<Item = &Value> {
    ["/status/initContainerStatuses", "/status/containerStatuses"]
        .into_iter()
        .filter_map(|p| pod.at(p).and_then(Value::as_array))
        .flatten()
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn join(parts: &[String]) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(": ")
}

/// The first container that failed, as `container: reason (exit code N): message`.
fn failure(pod: &Object) -> Option<String> {
    statuses(pod).find_map(|s| {
        let t = s.pointer("/state/terminated")?;
        let code = t.get("exitCode").and_then(Value::as_i64).unwrap_or(0);
        if code == 0 {
            return None;
        }
        let reason = match text(t, "reason") {
            r if r.is_empty() => format!("exit code {code}"),
            r => format!("{r} (exit code {code})"),
        };
        Some(join(&[text(s, "name"), reason, text(t, "message")]))
    })
}

/// The Pod phase as a build state.
pub fn pod_state(pod: &Object) -> BuildState {
    let phase = pod.str_at("/status/phase").unwrap_or("Pending");
    match phase {
        "Succeeded" => BuildState::complete("image built and pushed"),
        "Failed" => {
            if pod.str_at("/status/reason") == Some("DeadlineExceeded") {
                let deadline = pod
                    .at("/spec/activeDeadlineSeconds")
                    .and_then(Value::as_u64)
                    .map(|s| format!(" of {s}s"))
                    .unwrap_or_default();
                return BuildState::failed(format!(
                    "timeout: the build exceeded its deadline{deadline}"
                ));
            }
            let pod_message = join(&[
                pod.str_at("/status/reason").unwrap_or_default().into(),
                pod.str_at("/status/message").unwrap_or_default().into(),
            ]);
            BuildState::failed(
                failure(pod)
                    .or((!pod_message.is_empty()).then_some(pod_message))
                    .unwrap_or_else(|| "the build pod failed".into()),
            )
        }
        "Running" => BuildState::running("building the image"),
        "Pending" => {
            for s in statuses(pod) {
                if let Some(w) = s.pointer("/state/waiting") {
                    let reason = text(w, "reason");
                    if FATAL_WAITING.contains(&reason.as_str()) {
                        return BuildState::failed(join(&[
                            text(s, "name"),
                            reason,
                            text(w, "message"),
                        ]));
                    }
                }
            }
            // The clone init container at work: the build has started.
            let cloning = pod
                .at("/status/initContainerStatuses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|s| {
                    s.pointer("/state/running").is_some()
                        || s.pointer("/state/terminated").is_some()
                });
            if cloning {
                return BuildState::running("cloning the source");
            }
            let unschedulable = pod
                .at("/status/conditions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|c| {
                    c.get("type").and_then(Value::as_str) == Some("PodScheduled")
                        && c.get("status").and_then(Value::as_str) == Some("False")
                })
                .map(|c| join(&[text(c, "reason"), text(c, "message")]));
            BuildState::pending(
                unschedulable
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| "waiting for the build pod to start".into()),
            )
        }
        other => BuildState::pending(format!("build pod phase {other:?}")),
    }
}

/// The digest kaniko wrote to the `build` container's termination message,
/// pinned on the output image.
pub fn built_image(pod: &Object, output_image: &str) -> Result<String, Error> {
    let name = pod.name();
    let phase = pod.str_at("/status/phase").unwrap_or("Pending");
    if phase != "Succeeded" {
        return Err(Error::Other(format!(
            "build pod {name} is {phase}, not Succeeded: it has no image yet"
        )));
    }
    let digest = statuses(pod)
        .find(|s| s.get("name").and_then(Value::as_str) == Some(BUILD_CONTAINER))
        .and_then(|s| s.pointer("/state/terminated/message"))
        .and_then(Value::as_str);
    pin_digest(
        output_image,
        digest,
        &format!("the termination message of container {BUILD_CONTAINER} in pod {name}"),
    )
}
