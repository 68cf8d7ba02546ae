//! Reading an OpenShift Build: its phase and the image it pushed.

use nbv_guest_sdk::manifest::Object;
use nbv_guest_sdk::recipes::{message_or_reason, pin_digest};
use nbv_guest_sdk::{BuildState, Error};

/// The build pod OpenShift runs for Build `<build>`.
pub fn build_pod(build: &str) -> String {
    format!("{build}-build")
}

/// `status.phase` of a Build as a build state.
pub fn build_state(build: &Object) -> BuildState {
    let phase = build.str_at("/status/phase").unwrap_or("New");
    let detail = message_or_reason(build, "/status/message", "/status/reason");
    let or = |fallback: &str| {
        if detail.is_empty() {
            fallback.to_string()
        } else {
            detail.clone()
        }
    };
    match phase {
        "New" | "Pending" => BuildState::pending(or(&format!("build is {}", phase.to_lowercase()))),
        "Running" => BuildState::running(or("build is running")),
        "Complete" => BuildState::complete(or("build complete")),
        "Failed" | "Error" => BuildState::failed(or(&format!("build {}", phase.to_lowercase()))),
        "Cancelled" => BuildState::cancelled(or("build cancelled")),
        other => BuildState::pending(format!("build phase {other:?}")),
    }
}

/// The pushed image, `status.outputDockerImageReference` pinned on
/// `status.output.to.imageDigest`.
pub fn built_image(build: &Object) -> Result<String, Error> {
    let name = build.name();
    let phase = build.str_at("/status/phase").unwrap_or("New");
    if phase != "Complete" {
        return Err(Error::Other(format!(
            "Build {name} is {phase}, not Complete: it has no image yet"
        )));
    }
    let reference = build
        .str_at("/status/outputDockerImageReference")
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| {
            Error::Other(format!(
                "Build {name} is Complete but has no status.outputDockerImageReference"
            ))
        })?;
    pin_digest(
        reference,
        build.str_at("/status/output/to/imageDigest"),
        &format!("Build {name} status.output.to.imageDigest"),
    )
}
