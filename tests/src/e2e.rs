//! Shared set-up for the end-to-end tests: the operator in-process as its
//! ServiceAccount under deploy/ RBAC, a git server, and the stand-in kubelet.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::ResourceExt;
use kube::api::{Api, ListParams, PostParams};
use nbv_crd::{NotebookValidationJob, Phase};
use serde_json::json;

use crate::gitserver::GitServer;
use crate::kubelet::FakeKubelet;
use crate::{ControlPlane, Options, create_namespace, install_nbv_crd, workspace_root};

/// Where the e2e operator says built images go (nothing is pushed: the
/// stand-in build controllers report digests).
pub const BUILD_REGISTRY: &str = "registry.test.local/nbv";

pub const OPERATOR_NS: &str = "nbv-system";
pub const OPERATOR_SA: &str = "system:serviceaccount:nbv-system:nbv-operator";

pub fn notebook(cells: &[(&str, serde_json::Value)]) -> String {
    let cells: Vec<_> = cells
        .iter()
        .enumerate()
        .map(|(i, (src, outputs))| {
            json!({"cell_type": "code", "id": format!("c{i}"), "metadata": {}, "execution_count": null,
                   "source": src, "outputs": outputs})
        })
        .collect();
    serde_json::to_string_pretty(&json!({"nbformat": 4, "nbformat_minor": 5, "cells": cells,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}}))
    .expect("json")
}

pub fn stdout(text: &str) -> serde_json::Value {
    json!([{"output_type": "stream", "name": "stdout", "text": text}])
}

pub struct Env {
    pub client: kube::Client,
    pub ns: String,
    pub git: GitServer,
    pub _kubelet: FakeKubelet,
    pub operator: tokio::task::JoinHandle<()>,
}

impl Env {
    /// Publishes `files` as a fresh repo on the test git server and returns its URL.
    pub fn repo(&self, files: &[(&str, &str)]) -> String {
        static REPOS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = REPOS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.git
            .create_repo(&format!("nbs{n}"), files)
            .expect("repo")
            .0
    }

    /// Creates a basic-auth git credentials Secret as users do (username/password keys).
    pub async fn git_secret(&self, name: &str, username: &str, password: &str) {
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &self.ns);
        let secret = json!({"metadata": {"name": name},
            "stringData": {"username": username, "password": password}});
        secrets
            .create(
                &PostParams::default(),
                &serde_json::from_value(secret).expect("secret"),
            )
            .await
            .expect("secret");
    }

    /// Creates `job` in the test namespace and returns the API it lives in.
    pub async fn create(&self, job: NotebookValidationJob) -> Api<NotebookValidationJob> {
        let jobs: Api<NotebookValidationJob> = Api::namespaced(self.client.clone(), &self.ns);
        jobs.create(&PostParams::default(), &job)
            .await
            .expect("job");
        jobs
    }
}

pub async fn apply_yaml(client: &kube::Client, path: &str) {
    let text = std::fs::read_to_string(workspace_root().join(path)).expect("manifest");
    let ssa = kube::api::PatchParams::apply("nbv-tests").force();
    let discovery = kube::Discovery::new(client.clone())
        .run()
        .await
        .expect("discovery");
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let obj: kube::api::DynamicObject = serde::Deserialize::deserialize(doc).expect("object");
        let gvk =
            kube::api::GroupVersionKind::try_from(obj.types.as_ref().expect("types")).expect("gvk");
        let (ar, caps) = discovery.resolve_gvk(&gvk).expect("known kind");
        let api: Api<kube::api::DynamicObject> =
            match (caps.scope, obj.metadata.namespace.as_deref()) {
                (kube::discovery::Scope::Namespaced, Some(ns)) => {
                    Api::namespaced_with(client.clone(), ns, &ar)
                }
                _ => Api::all_with(client.clone(), &ar),
            };
        api.patch(&obj.name_any(), &ssa, &kube::api::Patch::Apply(&obj))
            .await
            .expect("apply");
    }
}

/// Runs the operator in-process, seeing the cluster only as its ServiceAccount
/// under deploy/ RBAC, watching one namespace so parallel tests stay apart.
pub async fn spawn_operator(
    cp: &ControlPlane,
    ns: &str,
    identity: &str,
    leader_elect: bool,
) -> tokio::task::JoinHandle<()> {
    let as_operator = cp
        .client_impersonating(
            OPERATOR_SA,
            &[
                "system:serviceaccounts",
                "system:serviceaccounts:nbv-system",
                "system:authenticated",
            ],
        )
        .await
        .expect("operator client");
    let args = nbv_operator::OperatorArgs {
        runner_image: "ghcr.io/nbv-dev/nbv:test".into(),
        namespace: OPERATOR_NS.into(),
        metrics_addr: "127.0.0.1:0".parse().expect("addr"),
        leader_elect,
        identity: identity.into(),
        watch_namespace: Some(ns.to_string()),
        strategies: nbv_operator::build::StrategyArgs {
            build_registry: BUILD_REGISTRY.into(),
            // Shared by every test operator: components compile once.
            strategy_cache: Some(std::env::temp_dir().join("nbv-e2e-strategy-cache")),
            ..Default::default()
        },
    };
    tokio::spawn(async move {
        // An aborted task (the restart test) never gets here; a real error is a test failure.
        if let Err(e) = nbv_operator::run(as_operator, args, std::future::pending()).await {
            panic!("operator stopped: {e:#}");
        }
    })
}

pub async fn setup(prefix: &str, git_credentials: Option<(&str, &str)>, nbv: PathBuf) -> Env {
    let cp = ControlPlane::shared(Options {
        controller_manager: true,
    })
    .expect("control plane");
    let admin = cp.client().await.expect("admin");
    install_nbv_crd(&admin).await.expect("crd");
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(admin.clone());
    let _ = namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": OPERATOR_NS}})).expect("ns"),
        )
        .await;
    apply_yaml(&admin, "deploy/rbac/role.yaml").await;
    apply_yaml(&admin, "deploy/rbac/binding.yaml").await;
    let ns = create_namespace(&admin, prefix).await.expect("namespace");

    // The operator sees the cluster only as its ServiceAccount under deploy/ RBAC.
    let operator = spawn_operator(cp, &ns, &format!("test-{prefix}"), true).await;
    let kubelet = FakeKubelet::start(admin.clone(), &ns, nbv);
    let git = GitServer::start(git_credentials).await.expect("git server");
    Env {
        client: admin,
        ns,
        git,
        _kubelet: kubelet,
        operator,
    }
}

pub fn job(
    name: &str,
    url: &str,
    git_ref: &str,
    path: &str,
    extra: serde_json::Value,
) -> NotebookValidationJob {
    let mut spec = json!({
        "notebook": {"git": {"url": url, "ref": git_ref}, "path": path},
        "podConfig": {"containerImage": "quay.io/jupyter/minimal-notebook:latest"},
    });
    merge(&mut spec, extra);
    serde_json::from_value(
        json!({"apiVersion": "mlops.mlops.dev/v1alpha1", "kind": "NotebookValidationJob",
                                  "metadata": {"name": name}, "spec": spec}),
    )
    .expect("job")
}

pub fn merge(a: &mut serde_json::Value, b: serde_json::Value) {
    match (a, b) {
        (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

pub async fn wait_for_phase(
    jobs: &Api<NotebookValidationJob>,
    name: &str,
    timeout: Duration,
) -> NotebookValidationJob {
    let started = Instant::now();
    loop {
        let job = jobs.get(name).await.expect("job");
        if job
            .status
            .as_ref()
            .and_then(|s| s.phase)
            .is_some_and(Phase::is_terminal)
        {
            return job;
        }
        assert!(
            started.elapsed() < timeout,
            "job {name} did not finish within {timeout:?}: {:#?}",
            job.status
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

pub fn condition<'a>(
    job: &'a NotebookValidationJob,
    type_: &str,
) -> &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == type_))
        .unwrap_or_else(|| panic!("no {type_} condition in {:#?}", job.status))
}

pub async fn pods_of(env: &Env, job: &str) -> Vec<Pod> {
    let pods: Api<Pod> = Api::namespaced(env.client.clone(), &env.ns);
    pods.list(&ListParams::default().labels(&format!("nbv.mlops.dev/job={job}")))
        .await
        .expect("pods")
        .items
}
