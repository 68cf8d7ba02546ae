//! The `s2i` build strategy: an OpenShift `BuildConfig` + `Build` running the
//! source-to-image Python builder (or a Docker build of the job's own
//! Dockerfile), pushing to an `ImageStream` in the job's namespace.
//!
//! Everything that decides what to create or how to read a status is a pure
//! function in [`manifests`] and [`status`], tested natively; this file only
//! wires them to the host.

pub mod manifests;
pub mod status;

use nbv_guest_sdk::prelude::*;
use nbv_guest_sdk::{manifest, recipes};

struct S2i;

impl Strategy for S2i {
    fn describe() -> Description {
        manifests::description()
    }

    fn detect() -> bool {
        k8s::has_api_group(manifests::BUILD_GROUP) && k8s::has_api_group(manifests::IMAGE_GROUP)
    }

    fn create_build() -> Result<String, Error> {
        let ctx = build::context();
        let plan = manifests::plan(&ctx)?;
        for object in &plan.declarative {
            manifest::apply(object)?;
        }
        // A Build's spec is fixed once created: adopt an existing one (a
        // repeated create-build after an operator restart) instead of
        // re-applying it over what the build controller filled in.
        recipes::ensure(&plan.build)?;
        events::build_log(&format!(
            "s2i: build {} of {} at {}",
            ctx.build_name, ctx.source_url, ctx.commit
        ));
        Ok(ctx.build_name)
    }

    fn build_status(build: String) -> Result<BuildState, Error> {
        let object = manifest::get(manifests::BUILD_API, "Build", &build)?
            .ok_or_else(|| Error::NotFound(format!("Build {build}")))?;
        Ok(status::build_state(&object))
    }

    fn built_image(build: String) -> Result<String, Error> {
        let object = manifest::get(manifests::BUILD_API, "Build", &build)?
            .ok_or_else(|| Error::NotFound(format!("Build {build}")))?;
        status::built_image(&object)
    }

    fn logs(build: String) -> Result<Vec<String>, Error> {
        recipes::pod_log_lines(&status::build_pod(&build), None)
    }

    fn delete_build(build: String) -> Result<(), Error> {
        recipes::delete_all(&manifests::owned_objects(&build))
    }
}

export_strategy!(S2i);

#[cfg(test)]
mod tests;
