//! The `tekton` build strategy: one PipelineRun with an embedded pipeline
//! (no catalog or cluster Task references) that clones the exact commit,
//! prepares the build context and builds + pushes with kaniko or buildah.
//!
//! The manifests and the status mapping are pure functions in [`manifests`]
//! and [`status`], tested natively; this file wires them to the host.

pub mod manifests;
pub mod status;

use nbv_guest_sdk::prelude::*;
use nbv_guest_sdk::{manifest, recipes};

struct Tekton;

impl Strategy for Tekton {
    fn describe() -> Description {
        manifests::description()
    }

    fn detect() -> bool {
        k8s::has_api_group(manifests::TEKTON_GROUP)
    }

    fn create_build() -> Result<String, Error> {
        let ctx = build::context();
        // Build both manifests first so that bad parameters fail before
        // anything is created.
        let config_map = recipes::source_config_map(&ctx, true)?;
        let run = manifests::pipeline_run(&ctx)?;
        manifest::apply(&config_map)?;
        // A started PipelineRun's spec is immutable: adopt an existing one.
        recipes::ensure(&run)?;
        events::build_log(&format!(
            "tekton: PipelineRun {} builds {} at {}",
            ctx.build_name, ctx.source_url, ctx.commit
        ));
        Ok(ctx.build_name)
    }

    fn build_status(build: String) -> Result<BuildState, Error> {
        let run = manifest::get(manifests::TEKTON_API, "PipelineRun", &build)?
            .ok_or_else(|| Error::NotFound(format!("PipelineRun {build}")))?;
        Ok(status::run_state(&run))
    }

    fn built_image(build: String) -> Result<String, Error> {
        let run = manifest::get(manifests::TEKTON_API, "PipelineRun", &build)?
            .ok_or_else(|| Error::NotFound(format!("PipelineRun {build}")))?;
        status::built_image(&run, &recipes::output_image(&build::context())?)
    }

    fn logs(build: String) -> Result<Vec<String>, Error> {
        let selector = labels_selector(&[(status::PIPELINE_RUN_LABEL, &build)]);
        let mut lines = Vec::new();
        for json in k8s::list("v1", "Pod", &selector)? {
            let pod = Object::parse(&json)?;
            for container in status::step_containers(&pod) {
                let step = container.trim_start_matches("step-");
                for line in recipes::pod_log_lines(pod.name(), Some(&container))? {
                    lines.push(format!("[{step}] {line}"));
                }
            }
        }
        Ok(lines)
    }

    fn delete_build(build: String) -> Result<(), Error> {
        recipes::delete_all(&manifests::owned_objects(&build))
    }
}

export_strategy!(Tekton);

#[cfg(test)]
mod tests;
