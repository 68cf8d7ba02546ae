//! End to end on the real apiserver: the operator runs in-process as its
//! ServiceAccount under exactly the RBAC in deploy/, notebooks come from a
//! real git server over smart HTTP, and the stand-in kubelet runs the
//! validation pods' commands (the real `nbv install`, `nbv fetch`, `nbv run`
//! on a real ipykernel) and writes pod status back.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use nbv_crd::{NotebookValidationJob, Phase};
use nbv_tests::gitserver::GitServer;
use nbv_tests::kubelet::FakeKubelet;
use nbv_tests::{ControlPlane, Options, create_namespace, install_nbv_crd, workspace_root};
use serde_json::json;

const OPERATOR_NS: &str = "nbv-system";
const OPERATOR_SA: &str = "system:serviceaccount:nbv-system:nbv-operator";

fn nbv_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_nbv"))
}

fn notebook(cells: &[(&str, serde_json::Value)]) -> String {
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

fn stdout(text: &str) -> serde_json::Value {
    json!([{"output_type": "stream", "name": "stdout", "text": text}])
}

struct Env {
    client: kube::Client,
    ns: String,
    git: GitServer,
    _kubelet: FakeKubelet,
    operator: tokio::task::JoinHandle<()>,
}

impl Env {
    /// Publishes `files` as a fresh repo on the test git server and returns its URL.
    fn repo(&self, files: &[(&str, &str)]) -> String {
        self.git.create_repo("nbs", files).expect("repo").0
    }

    /// Creates a basic-auth git credentials Secret as users do (username/password keys).
    async fn git_secret(&self, name: &str, username: &str, password: &str) {
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
    async fn create(&self, job: NotebookValidationJob) -> Api<NotebookValidationJob> {
        let jobs: Api<NotebookValidationJob> = Api::namespaced(self.client.clone(), &self.ns);
        jobs.create(&PostParams::default(), &job)
            .await
            .expect("job");
        jobs
    }
}

async fn apply_yaml(client: &kube::Client, path: &str) {
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
async fn spawn_operator(
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
        strategies: Default::default(),
    };
    tokio::spawn(async move {
        // An aborted task (the restart test) never gets here; a real error is a test failure.
        if let Err(e) = nbv_operator::run(as_operator, args, std::future::pending()).await {
            panic!("operator stopped: {e:#}");
        }
    })
}

async fn setup(prefix: &str, git_credentials: Option<(&str, &str)>) -> Env {
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
    let kubelet = FakeKubelet::start(admin.clone(), &ns, nbv_binary());
    let git = GitServer::start(git_credentials).await.expect("git server");
    Env {
        client: admin,
        ns,
        git,
        _kubelet: kubelet,
        operator,
    }
}

fn job(
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

fn merge(a: &mut serde_json::Value, b: serde_json::Value) {
    match (a, b) {
        (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

async fn wait_for_phase(
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

fn condition<'a>(
    job: &'a NotebookValidationJob,
    type_: &str,
) -> &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == type_))
        .unwrap_or_else(|| panic!("no {type_} condition in {:#?}", job.status))
}

async fn pods_of(env: &Env, job: &str) -> Vec<Pod> {
    let pods: Api<Pod> = Api::namespaced(env.client.clone(), &env.ns);
    pods.list(&ListParams::default().labels(&format!("nbv.mlops.dev/job={job}")))
        .await
        .expect("pods")
        .items
}

const PASSING: &[(&str, &str)] = &[
    ("print('hello')", "hello\n"),
    (
        "total = sum(x * 0.1 for x in range(10))\nprint(total)",
        "4.5\n",
    ),
];

fn passing_notebooks() -> (String, String) {
    let nb = notebook(
        &PASSING
            .iter()
            .map(|(s, _)| (*s, json!([])))
            .collect::<Vec<_>>(),
    );
    // The golden copy carries float noise the tolerance must absorb.
    let golden = notebook(&[
        (PASSING[0].0, stdout("hello\n")),
        (PASSING[1].0, stdout("4.500000000000001\n")),
    ]);
    (nb, golden)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passing_job_succeeds_with_per_cell_results_under_restricted_pods() {
    let env = setup("pass", None).await;
    let (nb, golden) = passing_notebooks();
    let (url, commit) = env
        .git
        .create_repo(
            "nbs",
            &[
                ("notebooks/demo.ipynb", &nb),
                ("golden/demo.ipynb", &golden),
            ],
        )
        .expect("repo");
    env.git_secret("git-creds", "alice", "s3cret-token").await;
    let jobs: Api<NotebookValidationJob> = Api::namespaced(env.client.clone(), &env.ns);
    let spec = job(
        "pass",
        &url,
        "main",
        "notebooks/demo.ipynb",
        json!({
            "notebook": {"git": {"credentialsSecret": "git-creds"}},
            "goldenNotebook": {"git": {"url": url, "ref": "main", "credentialsSecret": "git-creds"}, "path": "golden/demo.ipynb"},
            "podConfig": {"env": [{"name": "EXTRA", "value": "1"}], "nodeSelector": {"kubernetes.io/os": "linux"}}
        }),
    );
    jobs.create(&PostParams::default(), &spec)
        .await
        .expect("create job");
    let done = wait_for_phase(&jobs, "pass", Duration::from_secs(120)).await;
    let status = done.status.clone().expect("status");
    assert_eq!(status.phase, Some(Phase::Succeeded), "{status:#?}");
    assert_eq!(status.resolved_commit.as_deref(), Some(commit.as_str()));
    assert_eq!(status.results.len(), 2);
    assert!(
        status.results.iter().all(|r| r.status == "Success"),
        "{:#?}",
        status.results
    );
    assert_eq!(
        status.comparison_result.as_ref().map(|c| c.result.as_str()),
        Some("matched")
    );
    assert_eq!(condition(&done, "GoldenMatched").status, "True");
    assert_eq!(condition(&done, "Ready").status, "True");
    assert_eq!(status.observed_generation, done.metadata.generation);

    let pods = pods_of(&env, "pass").await;
    assert_eq!(pods.len(), 1);
    let pod = &pods[0];
    let spec = pod.spec.as_ref().expect("pod spec");
    let rendered = serde_json::to_string(pod).expect("json");
    assert!(
        !rendered.contains("s3cret-token"),
        "git credentials leaked into the pod spec"
    );
    assert_eq!(pod.owner_references()[0].name, "pass");
    assert_eq!(
        spec.security_context
            .as_ref()
            .and_then(|s| s.run_as_non_root),
        Some(true)
    );
    for c in spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
    {
        let sc = c
            .security_context
            .as_ref()
            .expect("container security context");
        assert_eq!(sc.allow_privilege_escalation, Some(false), "{}", c.name);
        assert_eq!(
            sc.capabilities.as_ref().and_then(|c| c.drop.clone()),
            Some(vec!["ALL".to_string()])
        );
        assert!(
            sc.run_as_user.is_none(),
            "any UID must work under restricted-v2"
        );
    }
    assert_eq!(
        spec.node_selector
            .as_ref()
            .and_then(|n| n.get("kubernetes.io/os"))
            .map(String::as_str),
        Some("linux")
    );
    let main = &spec.containers[0];
    assert!(main.env.iter().flatten().any(|e| e.name == "EXTRA"));
    // Only the fetch init container sees the git credentials.
    let mounts_secret = |c: &k8s_openapi::api::core::v1::Container| {
        c.volume_mounts
            .iter()
            .flatten()
            .any(|m| m.name.starts_with("nbv-git-"))
    };
    assert!(!mounts_secret(main));
    assert!(
        spec.init_containers
            .iter()
            .flatten()
            .any(|c| c.name == "fetch" && mounts_secret(c))
    );
    env.operator.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_cell_fails_once_without_retry() {
    let env = setup("fail", None).await;
    let nb = notebook(&[
        ("x = 1", json!([])),
        ("y = 2", json!([])),
        ("1 / 0", json!([])),
        ("print('never')", json!([])),
    ]);
    let url = env.repo(&[("fail.ipynb", &nb)]);
    let jobs = env
        .create(job("fail", &url, "main", "fail.ipynb", json!({})))
        .await;
    let done = wait_for_phase(&jobs, "fail", Duration::from_secs(120)).await;
    let status = done.status.clone().expect("status");
    assert_eq!(status.phase, Some(Phase::Failed));
    assert_eq!(condition(&done, "Ready").reason, "CellError");
    assert!(
        status.message.contains("ZeroDivisionError"),
        "{}",
        status.message
    );
    assert_eq!(
        status
            .results
            .iter()
            .find(|r| r.cell_index == 2)
            .map(|r| r.status.as_str()),
        Some("Failure")
    );
    assert_eq!(status.retry_count, 0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        pods_of(&env, "fail").await.len(),
        1,
        "a notebook error must not be retried"
    );
    env.operator.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden_mismatch_reports_the_diff() {
    let env = setup("golden", None).await;
    let nb = notebook(&[("print('accuracy', 0.87)", json!([]))]);
    let golden = notebook(&[("print('accuracy', 0.87)", stdout("accuracy 0.91\n"))]);
    let url = env.repo(&[("a.ipynb", &nb), ("a.golden.ipynb", &golden)]);
    let golden_spec = json!({
        "goldenNotebook": {"git": {"url": url, "ref": "main"}, "path": "a.golden.ipynb"}});
    let jobs = env
        .create(job("golden", &url, "main", "a.ipynb", golden_spec))
        .await;
    let done = wait_for_phase(&jobs, "golden", Duration::from_secs(120)).await;
    let status = done.status.clone().expect("status");
    assert_eq!(status.phase, Some(Phase::Failed), "{status:#?}");
    assert_eq!(
        condition(&done, "GoldenMatched").status,
        "False",
        "{status:#?}"
    );
    assert_eq!(condition(&done, "Executed").status, "True");
    let cmp = status.comparison_result.expect("comparison");
    assert_eq!((cmp.result.as_str(), cmp.mismatched_cells), ("failed", 1));
    assert!(
        cmp.diffs[0].diff.contains("0.91") && cmp.diffs[0].diff.contains("0.87"),
        "{:#?}",
        cmp.diffs
    );
    env.operator.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_is_enforced_with_active_deadline() {
    let env = setup("timeout", None).await;
    let nb = notebook(&[("while True:\n    pass", json!([]))]);
    let url = env.repo(&[("loop.ipynb", &nb)]);
    let timeout = json!({"timeout": "8s"});
    let jobs = env
        .create(job("timeout", &url, "main", "loop.ipynb", timeout))
        .await;
    let done = wait_for_phase(&jobs, "timeout", Duration::from_secs(90)).await;
    assert_eq!(
        done.status.as_ref().and_then(|s| s.phase),
        Some(Phase::Failed)
    );
    assert_eq!(condition(&done, "Ready").reason, "Timeout");
    let pods = pods_of(&env, "timeout").await;
    assert_eq!(
        pods[0]
            .spec
            .as_ref()
            .and_then(|s| s.active_deadline_seconds),
        Some(8)
    );
    env.operator.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_job_removes_everything_it_created() {
    let env = setup("delete", None).await;
    let nb = notebook(&[("print(1)", json!([]))]);
    let url = env.repo(&[("a.ipynb", &nb)]);
    let jobs = env
        .create(job("delete", &url, "main", "a.ipynb", json!({})))
        .await;
    wait_for_phase(&jobs, "delete", Duration::from_secs(120)).await;
    assert!(!pods_of(&env, "delete").await.is_empty());
    jobs.delete("delete", &DeleteParams::default())
        .await
        .expect("delete");
    let started = Instant::now();
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), &env.ns);
    loop {
        let gone = jobs.get_opt("delete").await.expect("get").is_none()
            && pods_of(&env, "delete").await.is_empty()
            && secrets
                .list(&ListParams::default().labels("nbv.mlops.dev/job=delete"))
                .await
                .expect("secrets")
                .items
                .is_empty();
        if gone {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the job's objects were not cleaned up"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    env.operator.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_pull_failures_are_retried_a_bounded_number_of_times() {
    let env = setup("pull", None).await;
    let nb = notebook(&[("print(1)", json!([]))]);
    let url = env.repo(&[("a.ipynb", &nb)]);
    let mut spec = job("pull", &url, "main", "a.ipynb", json!({}));
    spec.spec.pod_config.container_image = "registry.invalid/does-not-exist:1".into();
    let jobs = env.create(spec).await;
    // Backoff is 10s, 20s, 40s in production; the test only checks the first retry happened.
    let started = Instant::now();
    loop {
        let j = jobs.get("pull").await.expect("job");
        if j.status
            .as_ref()
            .is_some_and(|s| s.retry_count >= 1 && s.last_retry_time.is_some())
        {
            // The retry's reason survives in a Warning event (status moves on to the new pod).
            let events: Api<k8s_openapi::api::events::v1::Event> =
                Api::namespaced(env.client.clone(), &env.ns);
            let warned = events
                .list(&ListParams::default())
                .await
                .expect("events")
                .items
                .into_iter()
                .any(|e| {
                    e.reason.as_deref() == Some("ImagePullFailed")
                        && e.type_.as_deref() == Some("Warning")
                        && e.note
                            .as_deref()
                            .is_some_and(|n| n.contains("ErrImagePull"))
                });
            assert!(warned, "no ImagePullFailed warning event");
            assert!(
                !j.status
                    .as_ref()
                    .is_some_and(|s| s.phase.is_some_and(Phase::is_terminal)),
                "one pull failure must not end the job"
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no retry after an image pull failure: {:#?}",
            j.status
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    env.operator.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_git_ref_fails_with_an_actionable_message() {
    let env = setup("badref", None).await;
    let url = env.repo(&[("a.ipynb", &notebook(&[("print(1)", json!([]))]))]);
    let jobs = env
        .create(job("badref", &url, "no-such-branch", "a.ipynb", json!({})))
        .await;
    let done = wait_for_phase(&jobs, "badref", Duration::from_secs(60)).await;
    assert_eq!(condition(&done, "Ready").reason, "GitRefNotFound");
    assert!(
        done.status
            .as_ref()
            .is_some_and(|s| s.message.contains("no-such-branch"))
    );
    assert!(
        pods_of(&env, "badref").await.is_empty(),
        "no pod for a job that cannot resolve its ref"
    );
    env.operator.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_restart_mid_run_resumes_without_duplicates() {
    let mut env = setup("restart", None).await;
    let nb = notebook(&[("import time\ntime.sleep(3)\nprint('done')", json!([]))]);
    let url = env.repo(&[("slow.ipynb", &nb)]);
    let jobs = env
        .create(job("restart", &url, "main", "slow.ipynb", json!({})))
        .await;
    let started = Instant::now();
    while pods_of(&env, "restart").await.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no pod was created"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Kill the operator mid-run and start a fresh one, as a pod restart would.
    env.operator.abort();
    let _ = (&mut env.operator).await;
    let cp = ControlPlane::shared(Options {
        controller_manager: true,
    })
    .expect("control plane");
    env.operator = spawn_operator(cp, &env.ns, "test-restart-2", false).await;
    let done = wait_for_phase(&jobs, "restart", Duration::from_secs(120)).await;
    assert_eq!(
        done.status.as_ref().and_then(|s| s.phase),
        Some(Phase::Succeeded),
        "{:#?}",
        done.status
    );
    assert_eq!(
        pods_of(&env, "restart").await.len(),
        1,
        "the restart created a second pod"
    );
    let events: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(env.client.clone(), &env.ns);
    let created = events
        .list(&ListParams::default())
        .await
        .expect("events")
        .items
        .into_iter()
        .filter(|e| {
            e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("restart")
                && e.reason.as_deref() == Some("PodCreated")
        })
        .map(|e| e.series.map(|s| s.count).unwrap_or(1))
        .sum::<i32>();
    assert_eq!(created, 1, "PodCreated was published more than once");
    env.operator.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_never_sent_over_plain_http_and_missing_secrets_are_named() {
    let env = setup("creds", Some(("alice", "s3cret-token"))).await;
    let url = env.repo(&[("a.ipynb", &notebook(&[("print(1)", json!([]))]))]);
    env.git_secret("git-creds", "alice", "s3cret-token").await;
    let with_secret = json!({"notebook": {"git": {"credentialsSecret": "git-creds"}}});
    let jobs = env
        .create(job("creds", &url, "main", "a.ipynb", with_secret))
        .await;
    let done = wait_for_phase(&jobs, "creds", Duration::from_secs(60)).await;
    assert_eq!(condition(&done, "Ready").reason, "InvalidGitURL");
    let message = done
        .status
        .as_ref()
        .map(|s| s.message.clone())
        .unwrap_or_default();
    assert!(message.contains("https"), "{message}");
    assert!(!message.contains("s3cret-token"));
    assert!(pods_of(&env, "creds").await.is_empty());

    let absent = json!({"notebook": {"git": {"credentialsSecret": "absent"}}});
    env.create(job("nosecret", &url, "main", "a.ipynb", absent))
        .await;
    let done = wait_for_phase(&jobs, "nosecret", Duration::from_secs(60)).await;
    assert_eq!(condition(&done, "Ready").reason, "GitCredentialsMissing");
    env.operator.abort();
}
