//! The PipelineRun, as a pure function of the build context.

use nbv_guest_sdk::recipes::{
    self, DEFAULT_GIT_IMAGE, DEFAULT_KANIKO_IMAGE, PUSH_SECRET_VOLUME, WORKSPACE, WORKSPACE_VOLUME,
    bool_param, image_param, name_param, sh_quote, source_config_map_name,
};
use nbv_guest_sdk::{ApiKind, BuildContext, Description, Error, param};
use serde_json::{Value, json};

pub const TEKTON_GROUP: &str = "tekton.dev";
pub const TEKTON_API: &str = "tekton.dev/v1";
/// The one task of the embedded pipeline (its pod carries
/// `tekton.dev/pipelineTask=build`).
pub const TASK: &str = "build";
/// The task and pipeline result holding the pushed digest.
pub const DIGEST_RESULT: &str = "IMAGE_DIGEST";
pub const DEFAULT_BUILDAH_IMAGE: &str = "quay.io/buildah/stable:v1.37";
/// Where kaniko reads registry credentials (`config.json`).
pub const KANIKO_DOCKER_CONFIG: &str = "/kaniko/.docker";
/// Where buildah reads registry credentials (`config.json`).
pub const BUILDAH_AUTH_DIR: &str = "/nbv/push";

pub fn description() -> Description {
    Description::new(
        "tekton",
        "Tekton PipelineRun (embedded pipeline): commit-exact clone, then kaniko or buildah build and push",
    )
    .version("0.1.0")
    .kind(ApiKind::core("v1", "ConfigMap", "configmaps"))
    .kind(ApiKind::new(TEKTON_GROUP, "v1", "PipelineRun", "pipelineruns"))
    .kind(ApiKind::core("v1", "Pod", "pods"))
    .requires_group(TEKTON_GROUP)
    .parameter("builder", "image builder: kaniko or buildah", Some("kaniko"))
    .parameter(
        "gitImage",
        "image with git and sh for the clone and prepare steps",
        Some(DEFAULT_GIT_IMAGE),
    )
    .parameter(
        "kanikoImage",
        "kaniko executor image (builder=kaniko)",
        Some(DEFAULT_KANIKO_IMAGE),
    )
    .parameter(
        "buildahImage",
        "buildah image (builder=buildah)",
        Some(DEFAULT_BUILDAH_IMAGE),
    )
    .push_parameters()
    .parameter(
        "serviceAccount",
        "ServiceAccount the build pod runs as (Tekton's default when unset)",
        None,
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builder {
    Kaniko,
    Buildah,
}

pub fn builder(ctx: &BuildContext) -> Result<Builder, Error> {
    match param(ctx, "builder", "kaniko").trim() {
        "kaniko" => Ok(Builder::Kaniko),
        "buildah" => Ok(Builder::Buildah),
        other => Err(Error::Invalid(format!(
            "strategyConfig.builder must be \"kaniko\" or \"buildah\", got {other:?}"
        ))),
    }
}

/// Tekton replaces this with the path of the task result file.
fn digest_path() -> String {
    format!("$(results.{DIGEST_RESULT}.path)")
}

fn workspace_mount() -> Value {
    json!({"name": WORKSPACE_VOLUME, "mountPath": WORKSPACE})
}

fn kaniko_step(
    ctx: &BuildContext,
    push_secret: Option<&str>,
    insecure: bool,
) -> Result<Value, Error> {
    let mut args = vec![
        format!("--context=dir://{}", recipes::context_path(ctx)?),
        format!("--dockerfile={}", recipes::dockerfile_path(ctx)?),
        format!("--destination={}", recipes::output_image(ctx)?),
        format!("--digest-file={}", digest_path()),
    ];
    if insecure {
        args.push("--insecure".into());
        args.push("--skip-tls-verify".into());
    }
    let mut mounts = vec![workspace_mount()];
    if push_secret.is_some() {
        mounts.push(json!({"name": PUSH_SECRET_VOLUME, "mountPath": KANIKO_DOCKER_CONFIG, "readOnly": true}));
    }
    Ok(json!({
        "name": "build",
        "image": image_param(ctx, "kanikoImage", DEFAULT_KANIKO_IMAGE)?,
        "command": ["/kaniko/executor"],
        "args": args,
        "env": [{"name": "DOCKER_CONFIG", "value": KANIKO_DOCKER_CONFIG}],
        "volumeMounts": mounts,
        // kaniko unpacks and snapshots a root filesystem: it must run as root.
        "securityContext": {"runAsUser": 0},
    }))
}

fn buildah_step(
    ctx: &BuildContext,
    push_secret: Option<&str>,
    insecure: bool,
) -> Result<Value, Error> {
    let output = recipes::output_image(ctx)?;
    let tls = if insecure { " --tls-verify=false" } else { "" };
    let auth = match push_secret {
        Some(_) => format!(" --authfile {BUILDAH_AUTH_DIR}/config.json"),
        None => String::new(),
    };
    let script = format!(
        "set -eu\n\
         buildah --storage-driver=vfs bud --isolation=chroot --format=docker{tls}{auth} -f {dockerfile} -t {out} {context}\n\
         buildah --storage-driver=vfs push{tls}{auth} --digestfile {digest} {out} docker://{out}\n",
        dockerfile = sh_quote(&recipes::dockerfile_path(ctx)?),
        context = sh_quote(&recipes::context_path(ctx)?),
        out = sh_quote(&output),
        digest = digest_path(),
    );
    let mut mounts = vec![workspace_mount()];
    if push_secret.is_some() {
        mounts.push(
            json!({"name": PUSH_SECRET_VOLUME, "mountPath": BUILDAH_AUTH_DIR, "readOnly": true}),
        );
    }
    Ok(json!({
        "name": "build",
        "image": image_param(ctx, "buildahImage", DEFAULT_BUILDAH_IMAGE)?,
        "command": ["/bin/sh", "-c", script],
        "volumeMounts": mounts,
        // buildah (vfs, chroot isolation) runs as root and needs SETFCAP to
        // unpack images with file capabilities.
        "securityContext": {"runAsUser": 0, "capabilities": {"add": ["SETFCAP"]}},
    }))
}

pub fn pipeline_run(ctx: &BuildContext) -> Result<Value, Error> {
    let git_image = image_param(ctx, "gitImage", DEFAULT_GIT_IMAGE)?;
    let push_secret = name_param(ctx, "pushSecret")?;
    let insecure = bool_param(ctx, "insecureRegistry", false)?;
    let service_account = name_param(ctx, "serviceAccount")?;
    let build_step = match builder(ctx)? {
        Builder::Kaniko => kaniko_step(ctx, push_secret.as_deref(), insecure)?,
        Builder::Buildah => buildah_step(ctx, push_secret.as_deref(), insecure)?,
    };
    let mounts = recipes::source_mounts(ctx);
    let steps = vec![
        recipes::git_container(
            "clone",
            &git_image,
            &recipes::clone_script(ctx)?,
            mounts.clone(),
        ),
        recipes::git_container(
            "prepare",
            &git_image,
            &recipes::prepare_script(ctx)?,
            mounts,
        ),
        build_step,
    ];
    let mut volumes = recipes::source_volumes(ctx);
    if let Some(secret) = &push_secret {
        volumes.push(recipes::push_secret_volume(secret));
    }
    let mut spec = json!({
        "pipelineSpec": {
            "description": format!("nbv image build for job {}", ctx.job_name),
            "results": [{
                "name": DIGEST_RESULT,
                "description": "digest of the pushed image",
                "value": format!("$(tasks.{TASK}.results.{DIGEST_RESULT})"),
            }],
            "tasks": [{
                "name": TASK,
                "taskSpec": {
                    "results": [{"name": DIGEST_RESULT, "description": "digest of the pushed image"}],
                    "volumes": volumes,
                    "steps": steps,
                },
            }],
        },
    });
    if ctx.timeout_seconds > 0 {
        spec["timeouts"] = json!({"pipeline": format!("{}s", ctx.timeout_seconds)});
    }
    if let Some(sa) = service_account {
        spec["taskRunTemplate"] = json!({"serviceAccountName": sa});
    }
    Ok(json!({
        "apiVersion": TEKTON_API,
        "kind": "PipelineRun",
        "metadata": {"name": ctx.build_name},
        "spec": spec,
    }))
}

/// Everything `create-build` made (pods go with their PipelineRun).
pub fn owned_objects(build: &str) -> Vec<(&'static str, &'static str, String)> {
    vec![
        (TEKTON_API, "PipelineRun", build.to_string()),
        ("v1", "ConfigMap", source_config_map_name(build)),
    ]
}
