//! The `kaniko` build strategy: a plain Pod (no CRDs, any cluster) whose
//! `clone` init container checks out the exact commit and prepares the build
//! context, and whose `build` container runs the kaniko executor and pushes.
//!
//! The manifests and the status mapping are pure functions in [`manifests`]
//! and [`status`], tested natively; this file wires them to the host.

pub mod manifests;
pub mod status;

use nbv_guest_sdk::prelude::*;
use nbv_guest_sdk::{manifest, recipes};

struct Kaniko;

impl Strategy for Kaniko {
    fn describe() -> Description {
        manifests::description()
    }

    /// Needs nothing beyond core Pods and ConfigMaps.
    fn detect() -> bool {
        true
    }

    fn create_build() -> Result<String, Error> {
        let ctx = build::context();
        // Build both manifests first so that bad parameters fail before
        // anything is created.
        let config_map = recipes::source_config_map(&ctx, true)?;
        let pod = manifests::pod(&ctx)?;
        manifest::apply(&config_map)?;
        // A Pod's spec is immutable: adopt an existing one.
        recipes::ensure(&pod)?;
        events::build_log(&format!(
            "kaniko: pod {} builds {} at {}",
            ctx.build_name, ctx.source_url, ctx.commit
        ));
        Ok(ctx.build_name)
    }

    fn build_status(build: String) -> Result<BuildState, Error> {
        let pod = manifest::get("v1", "Pod", &build)?
            .ok_or_else(|| Error::NotFound(format!("Pod {build}")))?;
        Ok(status::pod_state(&pod))
    }

    fn built_image(build: String) -> Result<String, Error> {
        let pod = manifest::get("v1", "Pod", &build)?
            .ok_or_else(|| Error::NotFound(format!("Pod {build}")))?;
        status::built_image(&pod, &recipes::output_image(&build::context())?)
    }

    fn logs(build: String) -> Result<Vec<String>, Error> {
        let mut lines = Vec::new();
        for container in [manifests::CLONE_CONTAINER, manifests::BUILD_CONTAINER] {
            for line in recipes::pod_log_lines(&build, Some(container))? {
                lines.push(format!("[{container}] {line}"));
            }
        }
        Ok(lines)
    }

    fn delete_build(build: String) -> Result<(), Error> {
        recipes::delete_all(&manifests::owned_objects(&build))
    }
}

export_strategy!(Kaniko);

#[cfg(test)]
mod tests;
