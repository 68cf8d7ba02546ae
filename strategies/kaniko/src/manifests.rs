//! The build Pod, as a pure function of the build context.

use nbv_guest_sdk::recipes::{
    self, DEFAULT_GIT_IMAGE, DEFAULT_KANIKO_IMAGE, PUSH_SECRET_VOLUME, WORKSPACE, WORKSPACE_VOLUME,
    bool_param, image_param, name_param, quantity_param, source_config_map_name,
};
use nbv_guest_sdk::{ApiKind, BuildContext, Description, Error};
use serde_json::{Value, json};

pub const CLONE_CONTAINER: &str = "clone";
pub const BUILD_CONTAINER: &str = "build";
/// Where kaniko reads registry credentials (`config.json`).
pub const KANIKO_DOCKER_CONFIG: &str = "/kaniko/.docker";
/// kaniko writes the pushed digest here; Kubernetes reports it as the
/// `build` container's termination message.
pub const DIGEST_FILE: &str = "/dev/termination-log";
/// The UID of the clone container (it needs no privileges at all).
pub const CLONE_UID: i64 = 65532;
/// The capabilities kaniko keeps: enough to unpack a root filesystem with
/// its owners and modes and to run `RUN` steps as the image's user; all
/// others (NET_RAW, MKNOD, SYS_CHROOT, SETFCAP, KILL, ...) are dropped.
pub const KANIKO_CAPABILITIES: [&str; 6] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "SETUID",
    "SETGID",
];

pub fn description() -> Description {
    Description::new(
        "kaniko",
        "A plain Pod: commit-exact git clone, then the kaniko executor builds and pushes (any cluster, no CRDs)",
    )
    .version("0.1.0")
    .kind(ApiKind::core("v1", "ConfigMap", "configmaps"))
    .kind(ApiKind::core("v1", "Pod", "pods"))
    .parameter(
        "gitImage",
        "image with git and sh for the clone init container",
        Some(DEFAULT_GIT_IMAGE),
    )
    .parameter("kanikoImage", "kaniko executor image", Some(DEFAULT_KANIKO_IMAGE))
    .push_parameters()
    .parameter("cpu", "CPU request and limit of the build container, e.g. 2", None)
    .parameter(
        "memory",
        "memory request and limit of the build container, e.g. 4Gi",
        None,
    )
}

fn clone_container(ctx: &BuildContext) -> Result<Value, Error> {
    let script = format!(
        "{}{}",
        recipes::clone_script(ctx)?,
        recipes::prepare_script(ctx)?
    );
    let mut container = recipes::git_container(
        CLONE_CONTAINER,
        &image_param(ctx, "gitImage", DEFAULT_GIT_IMAGE)?,
        &script,
        recipes::source_mounts(ctx),
    );
    container["securityContext"]["runAsUser"] = json!(CLONE_UID);
    container["securityContext"]["runAsNonRoot"] = json!(true);
    Ok(container)
}

fn build_container(ctx: &BuildContext, push_secret: Option<&str>) -> Result<Value, Error> {
    let mut args = vec![
        format!("--context=dir://{}", recipes::context_path(ctx)?),
        format!("--dockerfile={}", recipes::dockerfile_path(ctx)?),
        format!("--destination={}", recipes::output_image(ctx)?),
        format!("--digest-file={DIGEST_FILE}"),
    ];
    if bool_param(ctx, "insecureRegistry", false)? {
        args.push("--insecure".into());
        args.push("--skip-tls-verify".into());
    }
    let mut mounts = vec![json!({"name": WORKSPACE_VOLUME, "mountPath": WORKSPACE})];
    if push_secret.is_some() {
        mounts.push(json!({"name": PUSH_SECRET_VOLUME,
            "mountPath": KANIKO_DOCKER_CONFIG, "readOnly": true}));
    }
    let mut container = json!({
        "name": BUILD_CONTAINER,
        "image": image_param(ctx, "kanikoImage", DEFAULT_KANIKO_IMAGE)?,
        "command": ["/kaniko/executor"],
        "args": args,
        "env": [{"name": "DOCKER_CONFIG", "value": KANIKO_DOCKER_CONFIG}],
        "volumeMounts": mounts,
        "terminationMessagePath": DIGEST_FILE,
        "terminationMessagePolicy": "File",
        // kaniko builds a root filesystem inside its own container: it must
        // run as UID 0. It never needs to gain privileges, and keeps only
        // the file-ownership and user-switching capabilities.
        "securityContext": {
            "runAsUser": 0,
            "runAsNonRoot": false,
            "allowPrivilegeEscalation": false,
            "capabilities": {"drop": ["ALL"], "add": KANIKO_CAPABILITIES},
        },
    });
    let mut resources = serde_json::Map::new();
    if let Some(cpu) = quantity_param(ctx, "cpu")? {
        resources.insert("cpu".into(), json!(cpu));
    }
    if let Some(memory) = quantity_param(ctx, "memory")? {
        resources.insert("memory".into(), json!(memory));
    }
    if !resources.is_empty() {
        container["resources"] = json!({"requests": resources, "limits": resources});
    }
    Ok(container)
}

pub fn pod(ctx: &BuildContext) -> Result<Value, Error> {
    let push_secret = name_param(ctx, "pushSecret")?;
    let mut volumes = recipes::source_volumes(ctx);
    if let Some(secret) = &push_secret {
        volumes.push(recipes::push_secret_volume(secret));
    }
    let mut spec = json!({
        "restartPolicy": "Never",
        // The build talks to git and the registry, never to the API server.
        "automountServiceAccountToken": false,
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "volumes": volumes,
        "initContainers": [clone_container(ctx)?],
        "containers": [build_container(ctx, push_secret.as_deref())?],
    });
    if ctx.timeout_seconds > 0 {
        spec["activeDeadlineSeconds"] = json!(ctx.timeout_seconds);
    }
    Ok(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": ctx.build_name},
        "spec": spec,
    }))
}

/// Everything `create-build` made.
pub fn owned_objects(build: &str) -> Vec<(&'static str, &'static str, String)> {
    vec![
        ("v1", "Pod", build.to_string()),
        ("v1", "ConfigMap", source_config_map_name(build)),
    ]
}
