//! A stand-in kubelet for end-to-end tests. There is no container runtime
//! here, so it runs each container's command as a local process: volumes
//! become directories, mount paths in arguments, env and working dir are
//! remapped onto them, and the termination message file is read back. What
//! it writes is real pod status through the real API: container states, exit
//! codes, termination messages, `DeadlineExceeded` after activeDeadlineSeconds.
//!
//! The image's `/usr/local/bin/nbv` is the `nbv` binary built from this
//! workspace. An image containing `does-not-exist` fails to pull.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Secret};
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::json;

pub const IMAGE_BINARY: &str = "/usr/local/bin/nbv";

pub struct FakeKubelet {
    task: tokio::task::JoinHandle<()>,
    /// Pods it has run, by name, for assertions.
    pub ran: Arc<Mutex<Vec<String>>>,
}

impl Drop for FakeKubelet {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Mounts(Vec<(String, PathBuf)>);

impl Mounts {
    /// Rewrites a path-like string whose prefix is a mount path.
    fn map(&self, s: &str) -> String {
        self.0
            .iter()
            .filter(|(m, _)| s == m || s.starts_with(&format!("{m}/")))
            .max_by_key(|(m, _)| m.len())
            .map(|(m, host)| format!("{}{}", host.display(), &s[m.len()..]))
            .unwrap_or_else(|| s.to_string())
    }
}

impl FakeKubelet {
    /// Runs every pod that appears in `namespace`. `nbv` is the binary that
    /// stands for the operator image's `/usr/local/bin/nbv`.
    pub fn start(client: kube::Client, namespace: &str, nbv: PathBuf) -> FakeKubelet {
        let ran = Arc::new(Mutex::new(Vec::new()));
        let seen_ran = ran.clone();
        let ns = namespace.to_string();
        let task = tokio::spawn(async move {
            let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
            let mut started = HashSet::new();
            loop {
                // Validation pods only: build pods (Kaniko's) belong to the
                // tests that play the build controller.
                let validation_pods = ListParams::default().labels("nbv.mlops.dev/attempt");
                if let Ok(list) = pods.list(&validation_pods).await {
                    for pod in list {
                        let uid = pod.metadata.uid.clone().unwrap_or_default();
                        let fresh = pod
                            .status
                            .as_ref()
                            .and_then(|s| s.phase.as_deref())
                            .is_none_or(|p| p == "Pending");
                        if fresh && pod.metadata.deletion_timestamp.is_none() && started.insert(uid)
                        {
                            if let Ok(mut r) = seen_ran.lock() {
                                r.push(pod.metadata.name.clone().unwrap_or_default());
                            }
                            let (client, nbv) = (client.clone(), nbv.clone());
                            tokio::spawn(async move {
                                let name = pod.metadata.name.clone().unwrap_or_default();
                                if let Err(e) = run_pod(client, pod, nbv).await {
                                    eprintln!("fake kubelet: pod {name}: {e:#}");
                                }
                            });
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        FakeKubelet { task, ran }
    }
}

async fn patch_status(
    pods: &Api<Pod>,
    name: &str,
    status: serde_json::Value,
) -> anyhow::Result<()> {
    pods.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(&json!({ "status": status })),
    )
    .await
    .with_context(|| format!("patching status of {name}"))?;
    Ok(())
}

fn now() -> String {
    k8s_openapi::jiff::Timestamp::now().to_string()
}

async fn materialise_volumes(
    client: &kube::Client,
    ns: &str,
    pod: &Pod,
    root: &Path,
) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    let mut dirs = BTreeMap::new();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    for v in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
        let dir = root.join("volumes").join(&v.name);
        std::fs::create_dir_all(&dir)?;
        if let Some(s) = &v.secret {
            let name = s.secret_name.clone().unwrap_or_default();
            let secret = secrets
                .get(&name)
                .await
                .with_context(|| format!("secret {name} for volume {}", v.name))?;
            for (k, val) in secret.data.unwrap_or_default() {
                std::fs::write(dir.join(k), val.0)?;
            }
        }
        if let Some(c) = &v.config_map {
            let cm = cms
                .get(&c.name)
                .await
                .with_context(|| format!("configmap {} for volume {}", c.name, v.name))?;
            for (k, val) in cm.data.unwrap_or_default() {
                std::fs::write(dir.join(k), val)?;
            }
        }
        dirs.insert(v.name.clone(), dir);
    }
    Ok(dirs)
}

async fn resolve_env(
    client: &kube::Client,
    ns: &str,
    c: &Container,
    mounts: &Mounts,
) -> anyhow::Result<Vec<(String, String)>> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let mut env = Vec::new();
    for from in c.env_from.iter().flatten() {
        if let Some(s) = &from.secret_ref {
            for (k, v) in secrets.get(&s.name).await?.data.unwrap_or_default() {
                env.push((k, String::from_utf8_lossy(&v.0).into_owned()));
            }
        }
        if let Some(m) = &from.config_map_ref {
            env.extend(cms.get(&m.name).await?.data.unwrap_or_default());
        }
    }
    for e in c.env.iter().flatten() {
        let value = if let Some(v) = &e.value {
            mounts.map(v)
        } else if let Some(r) = e
            .value_from
            .as_ref()
            .and_then(|f| f.secret_key_ref.as_ref())
        {
            let data = secrets.get(&r.name).await?.data.unwrap_or_default();
            data.get(&r.key)
                .map(|b| String::from_utf8_lossy(&b.0).into_owned())
                .unwrap_or_default()
        } else if let Some(r) = e
            .value_from
            .as_ref()
            .and_then(|f| f.config_map_key_ref.as_ref())
        {
            cms.get(&r.name)
                .await?
                .data
                .unwrap_or_default()
                .get(&r.key)
                .cloned()
                .unwrap_or_default()
        } else {
            String::new()
        };
        env.push((e.name.clone(), value));
    }
    Ok(env)
}

enum Exit {
    Code(i32, String),
    Deadline,
}

async fn run_container(
    client: &kube::Client,
    ns: &str,
    c: &Container,
    volumes: &BTreeMap<String, PathBuf>,
    root: &Path,
    nbv: &Path,
    deadline: Option<Instant>,
) -> anyhow::Result<Exit> {
    let mut mounts: Vec<(String, PathBuf)> = c
        .volume_mounts
        .iter()
        .flatten()
        .filter_map(|m| {
            let base = volumes.get(&m.name)?;
            let host = match m.sub_path.as_deref().filter(|s| !s.is_empty()) {
                Some(sub) => base.join(sub),
                None => base.clone(),
            };
            Some((m.mount_path.clone(), host))
        })
        .collect();
    let termination = root.join(format!("termination-{}", c.name));
    let _ = std::fs::remove_file(&termination);
    mounts.push((
        c.termination_message_path
            .clone()
            .unwrap_or_else(|| "/dev/termination-log".into()),
        termination.clone(),
    ));
    mounts.push((IMAGE_BINARY.into(), nbv.to_path_buf()));
    let mounts = Mounts(mounts);

    let argv: Vec<String> = c
        .command
        .iter()
        .flatten()
        .chain(c.args.iter().flatten())
        .map(|a| mounts.map(a))
        .collect();
    let (program, args) = argv.split_first().context("container without a command")?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args).kill_on_drop(true);
    cmd.envs(resolve_env(client, ns, c, &mounts).await?);
    if let Some(dir) = &c.working_dir {
        let dir = mounts.map(dir);
        std::fs::create_dir_all(&dir)?;
        cmd.current_dir(dir);
    }
    let log = std::fs::File::create(root.join(format!("{}.log", c.name)))?;
    cmd.stdout(log.try_clone()?).stderr(log);
    let mut child = cmd.spawn().with_context(|| format!("starting {program}"))?;
    let status = match deadline {
        Some(d) => match tokio::time::timeout_at(d.into(), child.wait()).await {
            Ok(s) => s?,
            Err(_) => {
                let _ = child.kill().await;
                return Ok(Exit::Deadline);
            }
        },
        None => child.wait().await?,
    };
    let message = std::fs::read_to_string(&termination).unwrap_or_default();
    Ok(Exit::Code(status.code().unwrap_or(137), message))
}

fn terminated(name: &str, code: i32, message: &str) -> serde_json::Value {
    json!({"name": name, "ready": false, "restartCount": 0, "image": "", "imageID": "",
           "state": {"terminated": {"exitCode": code, "reason": if code == 0 { "Completed" } else { "Error" },
                                     "message": message, "startedAt": now(), "finishedAt": now()}}})
}

async fn run_pod(client: kube::Client, pod: Pod, nbv: PathBuf) -> anyhow::Result<()> {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let spec = pod.spec.clone().context("pod without spec")?;
    let root = tempfile::Builder::new()
        .prefix(&format!("nbv-kubelet-{name}-"))
        .tempdir()?
        .keep();
    let deadline = spec
        .active_deadline_seconds
        .map(|s| Instant::now() + Duration::from_secs(s as u64));

    if let Some(bad) = spec.containers.iter().find(|c| {
        c.image
            .as_deref()
            .unwrap_or_default()
            .contains("does-not-exist")
    }) {
        let image = bad.image.clone().unwrap_or_default();
        return patch_status(&pods, &name, json!({"phase": "Pending", "containerStatuses": [
            {"name": bad.name, "ready": false, "restartCount": 0, "image": image, "imageID": "",
             "state": {"waiting": {"reason": "ErrImagePull", "message": format!("pull access denied for {image}")}}}]})).await;
    }
    let volumes = materialise_volumes(&client, &ns, &pod, &root).await?;
    patch_status(
        &pods,
        &name,
        json!({"phase": "Pending", "startTime": now()}),
    )
    .await?;

    let mut init_statuses = Vec::new();
    for c in spec.init_containers.iter().flatten() {
        match run_container(&client, &ns, c, &volumes, &root, &nbv, deadline).await? {
            Exit::Code(code, message) => {
                // Init containers have no termination message in nbv pods; stderr stands in, as a log would.
                let message = if message.is_empty() {
                    std::fs::read_to_string(root.join(format!("{}.log", c.name)))
                        .unwrap_or_default()
                } else {
                    message
                };
                init_statuses.push(terminated(&c.name, code, &message));
                if code != 0 {
                    return patch_status(
                        &pods,
                        &name,
                        json!({"phase": "Failed", "initContainerStatuses": init_statuses}),
                    )
                    .await;
                }
            }
            Exit::Deadline => return deadline_exceeded(&pods, &name).await,
        }
    }
    patch_status(
        &pods,
        &name,
        json!({"phase": "Running", "initContainerStatuses": init_statuses}),
    )
    .await?;
    let mut statuses = Vec::new();
    let mut failed = false;
    for c in &spec.containers {
        match run_container(&client, &ns, c, &volumes, &root, &nbv, deadline).await? {
            Exit::Code(code, message) => {
                failed |= code != 0;
                statuses.push(terminated(&c.name, code, &message));
            }
            Exit::Deadline => return deadline_exceeded(&pods, &name).await,
        }
    }
    patch_status(&pods, &name, json!({"phase": if failed { "Failed" } else { "Succeeded" }, "containerStatuses": statuses})).await
}

/// What the kubelet reports when `activeDeadlineSeconds` runs out.
async fn deadline_exceeded(pods: &Api<Pod>, name: &str) -> anyhow::Result<()> {
    patch_status(
        pods,
        name,
        json!({"phase": "Failed", "reason": "DeadlineExceeded",
        "message": "Pod was active on the node longer than the specified deadline"}),
    )
    .await
}
