//! End to end on the real apiserver: the operator runs in-process as its
//! ServiceAccount under exactly the RBAC in deploy/, notebooks come from a
//! real git server over smart HTTP, and the stand-in kubelet runs the
//! validation pods' commands (the real `nbv install`, `nbv fetch`, `nbv run`
//! on a real ipykernel) and writes pod status back.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use nbv_crd::{NotebookValidationJob, Phase};
use nbv_tests::e2e::*;
use nbv_tests::{ControlPlane, Options};
use serde_json::json;

fn nbv_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_nbv"))
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
    let env = setup_env("pass", None).await;
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
    let env = setup_env("fail", None).await;
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
    let env = setup_env("golden", None).await;
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
    let env = setup_env("timeout", None).await;
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
    let env = setup_env("delete", None).await;
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
    let env = setup_env("pull", None).await;
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
    let env = setup_env("badref", None).await;
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
    let mut env = setup_env("restart", None).await;
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
    let env = setup_env("creds", Some(("alice", "s3cret-token"))).await;
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

async fn setup_env(prefix: &str, git_credentials: Option<(&str, &str)>) -> Env {
    setup(prefix, git_credentials, nbv_binary()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_names_longer_than_a_label_value_still_validate() {
    let env = setup_env("longname", None).await;
    let name = format!(
        "a-notebook-validation-job-with-a-name-longer-{}",
        "x".repeat(30)
    );
    assert!(name.len() > 63);
    let url = env.repo(&[("a.ipynb", &notebook(&[("print(1)", json!([]))]))]);
    let jobs = env
        .create(job(&name, &url, "main", "a.ipynb", json!({})))
        .await;
    let done = wait_for_phase(&jobs, &name, Duration::from_secs(120)).await;
    assert_eq!(
        done.status.as_ref().and_then(|s| s.phase),
        Some(Phase::Succeeded),
        "{:#?}",
        done.status
    );
    env.operator.abort();
}
