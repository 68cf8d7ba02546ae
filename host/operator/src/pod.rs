//! The validation pod. Three containers, each seeing only what it needs:
//!
//! 1. `install` (operator image): copies the static `nbv` runner and the job's
//!    result-signing key into a shared emptyDir. Only it mounts the key Secret.
//! 2. `fetch` (operator image): checks out the notebook (and golden) repo at
//!    the resolved commit. Only it mounts the git credentials, as files.
//! 3. `notebook` (the user's or the built image): runs `nbv run`, which reads
//!    and deletes the key before the kernel starts, so notebook code can't
//!    forge the signed result it writes to the termination message.
//!
//! Everything runs under OpenShift `restricted-v2`: non-root with any UID, no
//! privilege escalation, all capabilities dropped, RuntimeDefault seccomp.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, Container, EnvFromSource, EnvVar, PodSecurityContext, PodSpec,
    ResourceRequirements, SeccompProfile, SecretEnvSource, SecretVolumeSource, SecurityContext,
    Volume, VolumeMount,
};
use k8s_openapi::api::core::v1::{EmptyDirVolumeSource, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::Resource;
use nbv_crd::NotebookValidationJob;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::labels;

pub const RUNNER_PATH: &str = "/nbv/bin/nbv";
pub const KEY_PATH: &str = "/nbv/bin/.result-key";
pub const NOTEBOOK_ROOT: &str = "/workspace/notebook";
pub const GOLDEN_ROOT: &str = "/workspace/golden";
const KEY_SECRET_MOUNT: &str = "/var/run/nbv/key";
const GIT_CREDENTIALS_MOUNT: &str = "/var/run/nbv/git";
const HOME: &str = "/nbv/home";
pub const MAIN_CONTAINER: &str = "notebook";

#[derive(Debug, thiserror::Error)]
pub enum PodError {
    #[error("podConfig.{field} is invalid: {message}")]
    InvalidField {
        field: &'static str,
        message: String,
    },
    #[error("spec.timeout: {0}")]
    Timeout(#[from] nbv_crd::DurationError),
    #[error("the job has no namespace or uid yet")]
    Unsaved,
}

/// What the reconciler decided before building the pod.
pub struct PodPlan<'a> {
    pub job: &'a NotebookValidationJob,
    /// The image the notebook runs in: the built image by digest, or podConfig.containerImage.
    pub image: String,
    /// The operator's own image, which carries the static `nbv` binary.
    pub runner_image: String,
    pub notebook_commit: String,
    pub golden_commit: Option<String>,
    /// Secret holding the per-job result-signing key.
    pub key_secret: String,
    /// Infrastructure retry number; part of the pod name so a retry is a new pod.
    pub attempt: i64,
}

pub fn pod_name(job_name: &str, attempt: i64) -> String {
    format!("{job_name}-validation-{attempt}")
}

pub fn owner_reference(job: &NotebookValidationJob) -> Result<OwnerReference, PodError> {
    job.controller_owner_ref(&()).ok_or(PodError::Unsaved)
}

fn restricted_security_context() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        run_as_non_root: Some(true),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            add: None,
        }),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            localhost_profile: None,
        }),
        ..Default::default()
    }
}

fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: read_only.then_some(true),
        ..Default::default()
    }
}

fn empty_dir(name: &str) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Default::default()
    }
}

fn secret_volume(name: &str, secret: &str) -> Volume {
    Volume {
        name: name.into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret.into()),
            // Owner-only read: the UID is random under restricted-v2 but the
            // kubelet makes the pod's fsGroup/UID the owner.
            default_mode: Some(0o400),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The CRD's podConfig types mirror the core/v1 JSON shapes field for field,
/// so conversion is a JSON round trip; a mismatch is reported, never dropped.
fn convert<A: Serialize, B: DeserializeOwned>(
    field: &'static str,
    value: &A,
) -> Result<B, PodError> {
    let json = serde_json::to_value(value).map_err(|e| PodError::InvalidField {
        field,
        message: e.to_string(),
    })?;
    serde_json::from_value(json).map_err(|e| PodError::InvalidField {
        field,
        message: e.to_string(),
    })
}

fn resources(job: &NotebookValidationJob) -> Option<ResourceRequirements> {
    let r = job.spec.pod_config.resources.as_ref()?;
    let q = |m: &BTreeMap<String, String>| {
        (!m.is_empty()).then(|| {
            m.iter()
                .map(|(k, v)| (k.clone(), Quantity(v.clone())))
                .collect()
        })
    };
    Some(ResourceRequirements {
        limits: q(&r.limits),
        requests: q(&r.requests),
        ..Default::default()
    })
}

fn fetch_args(url: &str, commit: &str, dest: &str, credentials: Option<&str>) -> Vec<String> {
    let mut args = vec![
        "fetch".into(),
        "--url".into(),
        url.into(),
        "--commit".into(),
        commit.into(),
        "--dest".into(),
        dest.into(),
    ];
    if let Some(dir) = credentials {
        args.push("--credentials-dir".into());
        args.push(dir.into());
    }
    args
}

pub fn build(plan: &PodPlan<'_>) -> Result<Pod, PodError> {
    let job = plan.job;
    let spec = &job.spec;
    let pc = &spec.pod_config;
    let name = job.metadata.name.clone().ok_or(PodError::Unsaved)?;
    let namespace = job.metadata.namespace.clone().ok_or(PodError::Unsaved)?;
    let deadline = nbv_crd::parse_go_duration(&spec.timeout)?;

    let mut volumes = vec![
        empty_dir("nbv-bin"),
        empty_dir("nbv-workspace"),
        empty_dir("nbv-home"),
        secret_volume("nbv-result-key", &plan.key_secret),
    ];
    let mut fetch_mounts = vec![mount("nbv-workspace", "/workspace", false)];
    let mut add_git_secret = |role: &str, secret: &str| -> Option<String> {
        if secret.is_empty() {
            return None;
        }
        let volume = format!("nbv-git-{role}");
        if !volumes.iter().any(|v| v.name == volume) {
            volumes.push(secret_volume(&volume, secret));
        }
        let path = format!("{GIT_CREDENTIALS_MOUNT}/{role}");
        fetch_mounts.push(mount(&volume, &path, true));
        Some(path)
    };
    let notebook_creds = add_git_secret("notebook", &spec.notebook.git.credentials_secret);
    let mut fetch_cmd = fetch_args(
        &spec.notebook.git.url,
        &plan.notebook_commit,
        NOTEBOOK_ROOT,
        notebook_creds.as_deref(),
    );
    // A golden notebook in the same repository at the same commit is already in the checkout.
    let golden_shares_checkout = spec
        .golden_notebook
        .as_ref()
        .is_some_and(|g| g.git.url == spec.notebook.git.url)
        && plan.golden_commit.as_deref() == Some(plan.notebook_commit.as_str());
    if let (Some(golden), Some(commit), false) = (
        &spec.golden_notebook,
        &plan.golden_commit,
        golden_shares_checkout,
    ) {
        let creds = add_git_secret("golden", &golden.git.credentials_secret);
        // One init container fetches both so the pod stays at three containers.
        fetch_cmd.extend([
            "--golden-url".into(),
            golden.git.url.clone(),
            "--golden-commit".into(),
            commit.clone(),
        ]);
        fetch_cmd.extend(["--golden-dest".into(), GOLDEN_ROOT.into()]);
        if let Some(dir) = creds {
            fetch_cmd.extend(["--golden-credentials-dir".into(), dir]);
        }
    }
    let install = Container {
        name: "install".into(),
        image: Some(plan.runner_image.clone()),
        command: Some(vec!["/usr/local/bin/nbv".into()]),
        args: Some(vec![
            "install".into(),
            "--dest".into(),
            RUNNER_PATH.into(),
            "--key-from".into(),
            format!("{KEY_SECRET_MOUNT}/key"),
            "--key-dest".into(),
            KEY_PATH.into(),
        ]),
        volume_mounts: Some(vec![
            mount("nbv-bin", "/nbv/bin", false),
            mount("nbv-result-key", KEY_SECRET_MOUNT, true),
        ]),
        security_context: Some(restricted_security_context()),
        ..Default::default()
    };
    let fetch = Container {
        name: "fetch".into(),
        image: Some(plan.runner_image.clone()),
        command: Some(vec!["/usr/local/bin/nbv".into()]),
        args: Some(fetch_cmd),
        env: Some(vec![EnvVar {
            name: "HOME".into(),
            value: Some(HOME.into()),
            ..Default::default()
        }]),
        volume_mounts: Some({
            fetch_mounts.push(mount("nbv-home", HOME, false));
            fetch_mounts
        }),
        security_context: Some(restricted_security_context()),
        ..Default::default()
    };

    let notebook_path = format!("{NOTEBOOK_ROOT}/{}", spec.notebook.path);
    let mut run_args = vec!["run".to_string(), notebook_path.clone()];
    if let Some(golden) = &spec.golden_notebook {
        run_args.push("--golden".into());
        let root = if golden_shares_checkout {
            NOTEBOOK_ROOT
        } else {
            GOLDEN_ROOT
        };
        run_args.push(format!("{root}/{}", golden.path));
    }
    if let Some(cc) = &spec.comparison_config {
        run_args.push("--compare-config-json".into());
        run_args.push(crate::compare_config::to_runner_json(cc).to_string());
    }
    run_args.extend([
        "--timeout".into(),
        spec.timeout.clone(),
        "--termination-log".into(),
        "/dev/termination-log".into(),
        "--sign-key-file".into(),
        KEY_PATH.into(),
        "--output".into(),
        format!("{HOME}/executed.ipynb"),
    ]);
    if let Some(vc) = &spec.validation_config {
        if vc.fail_on_stderr == Some(true) {
            run_args.push("--fail-on-stderr".into());
        }
        if vc.fail_on_warnings == Some(true) {
            run_args.push("--fail-on-warnings".into());
        }
    }

    let mut env: Vec<EnvVar> = ["HOME", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR", "MPLCONFIGDIR"]
        .iter()
        .map(|n| EnvVar {
            name: (*n).into(),
            value: Some(HOME.into()),
            ..Default::default()
        })
        .collect();
    env.extend(convert::<_, Vec<EnvVar>>("env", &pc.env)?);
    let mut env_from: Vec<EnvFromSource> = convert("envFrom", &pc.env_from)?;
    env_from.extend(pc.credentials.iter().map(|secret| EnvFromSource {
        secret_ref: Some(SecretEnvSource {
            name: secret.clone(),
            optional: None,
        }),
        ..Default::default()
    }));
    let mut main_mounts = vec![
        mount("nbv-bin", "/nbv/bin", false),
        mount("nbv-workspace", "/workspace", false),
        mount("nbv-home", HOME, false),
    ];
    main_mounts.extend(convert::<_, Vec<VolumeMount>>(
        "volumeMounts",
        &pc.volume_mounts,
    )?);
    for user in convert::<_, Vec<Volume>>("volumes", &pc.volumes)? {
        if user.name.starts_with("nbv-") {
            return Err(PodError::InvalidField {
                field: "volumes",
                message: format!(
                    "volume name {:?} uses the reserved prefix \"nbv-\"; rename it",
                    user.name
                ),
            });
        }
        volumes.push(user);
    }
    let notebook_dir = notebook_path
        .rsplit_once('/')
        .map(|(dir, _)| dir.to_string())
        .unwrap_or_else(|| NOTEBOOK_ROOT.into());

    let main = Container {
        name: MAIN_CONTAINER.into(),
        image: Some(plan.image.clone()),
        command: Some(vec![RUNNER_PATH.into()]),
        args: Some(run_args),
        working_dir: Some(notebook_dir),
        env: Some(env),
        env_from: (!env_from.is_empty()).then_some(env_from),
        resources: resources(job),
        volume_mounts: Some(main_mounts),
        security_context: Some(restricted_security_context()),
        termination_message_path: Some("/dev/termination-log".into()),
        termination_message_policy: Some("File".into()),
        ..Default::default()
    };

    let mut pod_labels = labels::for_job(&name);
    pod_labels.insert(labels::ATTEMPT.into(), plan.attempt.to_string());
    Ok(Pod {
        metadata: ObjectMeta {
            name: Some(pod_name(&name, plan.attempt)),
            namespace: Some(namespace),
            labels: Some(pod_labels),
            owner_references: Some(vec![owner_reference(job)?]),
            annotations: Some(BTreeMap::from([(
                labels::COMMIT_ANNOTATION.to_string(),
                plan.notebook_commit.clone(),
            )])),
            ..Default::default()
        },
        spec: Some(PodSpec {
            restart_policy: Some("Never".into()),
            active_deadline_seconds: Some(deadline.as_secs().max(1) as i64),
            service_account_name: Some(pc.service_account_name.clone()),
            // The notebook has no business talking to the API server unless the
            // user asked for a specific service account.
            automount_service_account_token: Some(pc.service_account_name != "default"),
            security_context: Some(PodSecurityContext {
                run_as_non_root: Some(true),
                seccomp_profile: Some(SeccompProfile {
                    type_: "RuntimeDefault".into(),
                    localhost_profile: None,
                }),
                ..Default::default()
            }),
            init_containers: Some(vec![install, fetch]),
            containers: vec![main],
            volumes: Some(volumes),
            tolerations: (!pc.tolerations.is_empty())
                .then(|| convert("tolerations", &pc.tolerations))
                .transpose()?,
            node_selector: (!pc.node_selector.is_empty()).then(|| pc.node_selector.clone()),
            affinity: pc
                .affinity
                .as_ref()
                .map(|a| convert("affinity", a))
                .transpose()?,
            ..Default::default()
        }),
        status: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(extra: serde_json::Value) -> NotebookValidationJob {
        let mut v = serde_json::json!({
            "apiVersion": "mlops.mlops.dev/v1alpha1", "kind": "NotebookValidationJob",
            "metadata": {"name": "j", "namespace": "ns", "uid": "1234"},
            "spec": {"notebook": {"git": {"url": "https://example.com/r.git", "ref": "main", "credentialsSecret": "git"},
                                  "path": "dir/nb.ipynb"},
                     "podConfig": {"containerImage": "img", "credentials": ["aws"],
                                   "volumes": [{"name": "data", "emptyDir": {}}],
                                   "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                                   "tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]},
                     "timeout": "1h30m"}});
        if let (Some(spec), Some(extra)) = (v["spec"].as_object_mut(), extra.as_object()) {
            spec.extend(extra.clone());
        }
        serde_json::from_value(v).expect("job")
    }

    fn plan(job: &NotebookValidationJob) -> PodPlan<'_> {
        PodPlan {
            job,
            image: "img@sha256:abc".into(),
            runner_image: "nbv:1".into(),
            notebook_commit: "c0ffee".into(),
            golden_commit: None,
            key_secret: "j-nbv-result-key".into(),
            attempt: 2,
        }
    }

    #[test]
    fn credentials_reach_only_the_fetch_container_as_files() {
        let j = job(serde_json::json!({}));
        let pod = build(&plan(&j)).expect("pod");
        let spec = pod.spec.expect("spec");
        let inits = spec.init_containers.expect("inits");
        let fetch = inits.iter().find(|c| c.name == "fetch").expect("fetch");
        assert!(
            fetch
                .volume_mounts
                .iter()
                .flatten()
                .any(|m| m.mount_path == "/var/run/nbv/git/notebook")
        );
        assert!(
            fetch.args.iter().flatten().any(|a| a == "c0ffee"),
            "fetches the resolved commit, not the ref"
        );
        let main = &spec.containers[0];
        assert!(
            !main
                .volume_mounts
                .iter()
                .flatten()
                .any(|m| m.name.starts_with("nbv-git") || m.name == "nbv-result-key")
        );
        assert!(main.env.iter().flatten().all(|e| e.value_from.is_none()));
        // `credentials` is the Go API's shorthand for envFrom secretRef.
        assert!(
            main.env_from
                .iter()
                .flatten()
                .any(|e| e.secret_ref.as_ref().is_some_and(|s| s.name == "aws"))
        );
        assert_eq!(main.working_dir.as_deref(), Some("/workspace/notebook/dir"));
        assert_eq!(spec.active_deadline_seconds, Some(5400));
        assert_eq!(pod.metadata.name.as_deref(), Some("j-validation-2"));
        assert_eq!(spec.tolerations.map(|t| t.len()), Some(1));
        assert!(spec.volumes.iter().flatten().any(|v| v.name == "data"));
    }

    #[test]
    fn every_container_fits_restricted_v2() {
        let j = job(serde_json::json!({}));
        let spec = build(&plan(&j)).expect("pod").spec.expect("spec");
        for c in spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
        {
            let sc = c.security_context.as_ref().expect("security context");
            assert_eq!(sc.run_as_non_root, Some(true), "{}", c.name);
            assert_eq!(sc.allow_privilege_escalation, Some(false));
            assert_eq!(
                sc.capabilities.as_ref().and_then(|c| c.drop.clone()),
                Some(vec!["ALL".to_string()])
            );
            assert_eq!(
                sc.seccomp_profile.as_ref().map(|s| s.type_.as_str()),
                Some("RuntimeDefault")
            );
            assert!(sc.run_as_user.is_none() && sc.privileged.is_none());
        }
    }

    #[test]
    fn reserved_volume_names_and_bad_timeouts_are_refused() {
        let mut j = job(serde_json::json!({}));
        j.spec.pod_config.volumes[0].name = "nbv-bin".into();
        assert!(
            build(&plan(&j))
                .expect_err("reserved")
                .to_string()
                .contains("reserved prefix")
        );
        let j = job(serde_json::json!({"timeout": "soon"}));
        assert!(matches!(build(&plan(&j)), Err(PodError::Timeout(_))));
    }
}
