//! {{project-name}}: a minimal nbv build strategy.
//!
//! It touches a single kind, ConfigMap: `create-build` records the prebuilt
//! image named by `strategyConfig.image` in a ConfigMap named after the build,
//! and `built-image` reads it back. Swap in real build objects (declare their
//! kinds in `describe`) to build images for real.
//!
//! Keep the logic in pure functions of the `BuildContext` / `Object` (like
//! `record` and `image_of` below) and test them natively with `cargo test`;
//! the `Strategy` methods only move JSON between them and the host.

use nbv_guest_sdk::prelude::*;
use nbv_guest_sdk::{manifest, pin, recipes};
use serde_json::{Value, json};

const NAME: &str = "{{project-name}}";

struct MyStrategy;

/// The ConfigMap recording the image for this build.
pub fn record(ctx: &BuildContext) -> Result<Value, Error> {
    let image = recipes::opt_param(ctx, "image").ok_or_else(|| {
        Error::Invalid("set buildConfig.strategyConfig.image to a repo@sha256:... reference".into())
    })?;
    let (repo, digest) = image.split_once('@').ok_or_else(|| {
        Error::Invalid(format!(
            "strategyConfig.image {image:?} is not pinned by digest (repo@sha256:...)"
        ))
    })?;
    let pinned = pin(repo, digest)?;
    Ok(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": ctx.build_name},
        "data": {"image": pinned, "commit": ctx.commit},
    }))
}

/// The image recorded in the ConfigMap.
pub fn image_of(config_map: &Object) -> Result<String, Error> {
    config_map
        .str_at("/data/image")
        .map(str::to_string)
        .ok_or_else(|| Error::Other(format!("ConfigMap {} has no image", config_map.name())))
}

impl Strategy for MyStrategy {
    fn describe() -> Description {
        Description::new(NAME, "Pins a prebuilt image (template strategy)")
            .version("0.1.0")
            .kind(ApiKind::core("v1", "ConfigMap", "configmaps"))
            .parameter("image", "prebuilt image, repo@sha256:...", None)
    }

    fn detect() -> bool {
        true
    }

    fn create_build() -> Result<String, Error> {
        let ctx = build::context();
        // Server-side apply of the same manifest is idempotent: create-build
        // may run again after an operator restart.
        manifest::apply(&record(&ctx)?)?;
        events::build_log(&format!(
            "{NAME}: recorded the image for {}",
            ctx.build_name
        ));
        Ok(ctx.build_name)
    }

    fn build_status(build: String) -> Result<BuildState, Error> {
        match manifest::get("v1", "ConfigMap", &build)? {
            Some(_) => Ok(BuildState::complete("image recorded")),
            None => Err(Error::NotFound(format!("ConfigMap {build}"))),
        }
    }

    fn built_image(build: String) -> Result<String, Error> {
        let cm = manifest::get("v1", "ConfigMap", &build)?
            .ok_or_else(|| Error::NotFound(format!("ConfigMap {build}")))?;
        image_of(&cm)
    }

    fn delete_build(build: String) -> Result<(), Error> {
        recipes::delete_all(&[("v1", "ConfigMap", build)])
    }
}

export_strategy!(MyStrategy);

#[cfg(test)]
mod tests {
    use super::*;
    use nbv_guest_sdk::testing::{object, sample_context, with_params};

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn records_the_pinned_image_under_the_build_name() {
        let ctx = with_params(
            sample_context(),
            &[("image", &format!("quay.io/org/img:1@{DIGEST}"))],
        );
        let cm = record(&ctx).unwrap();
        assert_eq!(cm["metadata"]["name"], ctx.build_name.as_str());
        assert_eq!(
            image_of(&object(cm)).unwrap(),
            format!("quay.io/org/img@{DIGEST}")
        );
    }

    #[test]
    fn refuses_unpinned_images() {
        let ctx = with_params(sample_context(), &[("image", "quay.io/org/img:latest")]);
        assert!(matches!(record(&ctx), Err(Error::Invalid(_))));
        assert!(matches!(record(&sample_context()), Err(Error::Invalid(_))));
    }
}
