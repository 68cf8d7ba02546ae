//! What the s2i strategy creates, as pure functions of the build context.

use nbv_guest_sdk::recipes::{self, bool_param, context_dir, repo_path, source_config_map_name};
use nbv_guest_sdk::{ApiKind, BuildContext, Description, Error};
use serde_json::{Value, json};

pub const BUILD_GROUP: &str = "build.openshift.io";
pub const IMAGE_GROUP: &str = "image.openshift.io";
pub const BUILD_API: &str = "build.openshift.io/v1";
pub const IMAGE_API: &str = "image.openshift.io/v1";
/// The label and annotation OpenShift uses to tie a Build to its BuildConfig.
pub const BUILD_CONFIG_LABEL: &str = "openshift.io/build-config.name";
/// Length of the cache-key prefix used as the ImageStream tag.
pub const TAG_LENGTH: usize = 20;

pub fn description() -> Description {
    Description::new(
        "s2i",
        "OpenShift source-to-image build into an ImageStream in the job's namespace",
    )
    .version("0.1.0")
    .kind(ApiKind::core("v1", "ConfigMap", "configmaps"))
    .kind(ApiKind::new(
        IMAGE_GROUP,
        "v1",
        "ImageStream",
        "imagestreams",
    ))
    .kind(ApiKind::new(
        BUILD_GROUP,
        "v1",
        "BuildConfig",
        "buildconfigs",
    ))
    .kind(ApiKind::new(BUILD_GROUP, "v1", "Build", "builds"))
    .requires_group(BUILD_GROUP)
    .requires_group(IMAGE_GROUP)
    .parameter(
        "builderImage",
        "s2i builder image (DockerImage reference) to use instead of the job's base image",
        None,
    )
    .parameter(
        "incremental",
        "reuse artifacts of the previous image (s2i incremental build): true or false",
        Some("false"),
    )
    .parameter(
        "forcePull",
        "always pull the builder image: true or false",
        Some("false"),
    )
}

/// The objects of one build: those applied declaratively every time, and the
/// Build, created once.
pub struct Plan {
    pub declarative: Vec<Value>,
    pub build: Value,
}

pub fn plan(ctx: &BuildContext) -> Result<Plan, Error> {
    Ok(Plan {
        declarative: vec![
            recipes::source_config_map(ctx, false)?,
            image_stream(ctx),
            build_config(ctx)?,
        ],
        build: build(ctx)?,
    })
}

pub fn image_stream(ctx: &BuildContext) -> Value {
    json!({
        "apiVersion": IMAGE_API,
        "kind": "ImageStream",
        "metadata": {"name": ctx.build_name},
        "spec": {"lookupPolicy": {"local": false}},
    })
}

/// The ImageStreamTag the build pushes to: `<build>:<cache-key prefix>`.
pub fn output_tag(ctx: &BuildContext) -> String {
    format!(
        "{}:{}",
        ctx.build_name,
        recipes::cache_tag(&ctx.cache_key, TAG_LENGTH)
    )
}

fn source(ctx: &BuildContext) -> Result<Value, Error> {
    let commit = recipes::validate_commit(&ctx.commit)?;
    let uri = recipes::validate_source_url(&ctx.source_url)?;
    let mut source = json!({
        "type": "Git",
        "git": {"uri": uri, "ref": commit},
    });
    let dir = context_dir(ctx)?;
    if !dir.is_empty() {
        source["contextDir"] = json!(dir);
    }
    if let Some(secret) = &ctx.git_credentials_secret {
        source["sourceSecret"] = json!({"name": secret});
    }
    if ctx.dockerfile.is_none() {
        // For a Source build, OpenShift injects the files relative to the
        // working directory of the assemble script, which holds the context
        // directory's files: "." is where the Python builder looks for
        // requirements.txt.
        source["configMaps"] = json!([{
            "configMap": {"name": source_config_map_name(&ctx.build_name)},
            "destinationDir": ".",
        }]);
    }
    Ok(source)
}

fn strategy(ctx: &BuildContext) -> Result<Value, Error> {
    let incremental = bool_param(ctx, "incremental", false)?;
    let force_pull = bool_param(ctx, "forcePull", false)?;
    match &ctx.dockerfile {
        Some(path) => Ok(json!({
            "type": "Docker",
            "dockerStrategy": {
                "dockerfilePath": dockerfile_in_context(ctx, path)?,
                "forcePull": force_pull,
            },
        })),
        None => {
            let builder = match recipes::opt_param(ctx, "builderImage") {
                Some(image) => recipes::validate_image("strategyConfig.builderImage", &image)?,
                None => recipes::validate_image("the base image", &ctx.base_image)?,
            };
            Ok(json!({
                "type": "Source",
                "sourceStrategy": {
                    "from": {"kind": "DockerImage", "name": builder},
                    "incremental": incremental,
                    "forcePull": force_pull,
                },
            }))
        }
    }
}

/// OpenShift reads `dockerfilePath` relative to `contextDir`, and refuses `..`.
pub fn dockerfile_in_context(ctx: &BuildContext, path: &str) -> Result<String, Error> {
    let file = repo_path("the Dockerfile path", path)?;
    let dir = context_dir(ctx)?;
    let relative = if dir.is_empty() {
        Some(file.as_str())
    } else {
        file.strip_prefix(&format!("{dir}/"))
    };
    match relative {
        Some(r) if !r.is_empty() => Ok(r.to_string()),
        _ => Err(Error::Invalid(format!(
            "the s2i strategy builds the Dockerfile from the context directory {dir:?}; \
             {file:?} is outside it: move the Dockerfile under {dir:?} or use the tekton or kaniko strategy"
        ))),
    }
}

/// The spec shared by the BuildConfig and the Build.
fn common_spec(ctx: &BuildContext) -> Result<Value, Error> {
    let mut spec = json!({
        "source": source(ctx)?,
        "strategy": strategy(ctx)?,
        "output": {"to": {"kind": "ImageStreamTag", "name": output_tag(ctx)}},
    });
    if ctx.timeout_seconds > 0 {
        spec["completionDeadlineSeconds"] = json!(ctx.timeout_seconds);
    }
    Ok(spec)
}

pub fn build_config(ctx: &BuildContext) -> Result<Value, Error> {
    let mut spec = common_spec(ctx)?;
    spec["runPolicy"] = json!("Serial");
    spec["triggers"] = json!([]);
    Ok(json!({
        "apiVersion": BUILD_API,
        "kind": "BuildConfig",
        "metadata": {"name": ctx.build_name},
        "spec": spec,
    }))
}

/// The Build, created directly with the BuildConfig's spec: creating it is
/// what starts the build (no `instantiate` call needed).
pub fn build(ctx: &BuildContext) -> Result<Value, Error> {
    let mut spec = common_spec(ctx)?;
    spec["triggeredBy"] = json!([{"message": format!("nbv job {}", ctx.job_name)}]);
    let name = &ctx.build_name;
    Ok(json!({
        "apiVersion": BUILD_API,
        "kind": "Build",
        "metadata": {
            "name": name,
            "labels": {"buildconfig": name, BUILD_CONFIG_LABEL: name},
            "annotations": {BUILD_CONFIG_LABEL: name},
        },
        "spec": spec,
    }))
}

/// Everything `create-build` made, in deletion order.
pub fn owned_objects(build: &str) -> Vec<(&'static str, &'static str, String)> {
    vec![
        (BUILD_API, "Build", build.to_string()),
        (BUILD_API, "BuildConfig", build.to_string()),
        (IMAGE_API, "ImageStream", build.to_string()),
        ("v1", "ConfigMap", source_config_map_name(build)),
    ]
}
