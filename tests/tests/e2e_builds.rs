//! Builds end to end on the real apiserver: the operator (under deploy/ RBAC)
//! resolves requirements at the commit, runs the official strategy
//! components, and this test plays the build controllers (OpenShift builds,
//! Tekton, the kubelet for Kaniko's pod) by writing their status through the
//! API. The validation pod then runs the real `nbv` on the pinned image.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Resource, ResourceExt};
use nbv_crd::{NotebookValidationJob, Phase};
use nbv_tests::e2e::*;
use nbv_tests::{ControlPlane, Options, install_openshift_standins, install_tekton_standins};
use serde_json::{Value, json};

const DIGEST: &str = "sha256:4a5d4b3a1f0e9c8b7a6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a49";

fn nbv_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_nbv"))
}

/// A repo with a requirements file (tier 1) and a notebook that passes.
fn repo(env: &Env, requirements: &str) -> String {
    let nb = notebook(&[("print('built image ok')", json!([]))]);
    env.repo(&[
        ("nbs/demo.ipynb", &nb),
        ("nbs/requirements.txt", requirements),
    ])
}

fn build_job(name: &str, url: &str, strategy: &str, timeout: &str) -> NotebookValidationJob {
    job(
        name,
        url,
        "main",
        "nbs/demo.ipynb",
        json!({"podConfig": {"buildConfig": {"enabled": true, "strategy": strategy, "timeout": timeout}}}),
    )
}

/// Waits until the operator recorded the build it started; returns its name.
async fn started_build(
    jobs: &Api<NotebookValidationJob>,
    name: &str,
) -> (NotebookValidationJob, String) {
    let started = Instant::now();
    loop {
        let j = jobs.get(name).await.expect("job");
        let st = j.status.clone().unwrap_or_default();
        if let Some(b) = st
            .build_status
            .as_ref()
            .filter(|b| !b.build_name.is_empty() && !b.phase.is_empty())
        {
            return (j.clone(), b.build_name.clone());
        }
        assert!(
            !st.phase.is_some_and(Phase::is_terminal),
            "job ended before a build started: {st:#?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "no build started: {st:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn dynamic(
    client: &kube::Client,
    ns: &str,
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk(group, version, kind);
    Api::namespaced_with(
        client.clone(),
        ns,
        &ApiResource::from_gvk_with_plural(&gvk, plural),
    )
}

async fn get_eventually(api: &Api<DynamicObject>, name: &str) -> DynamicObject {
    let started = Instant::now();
    loop {
        if let Some(o) = api.get_opt(name).await.expect("get") {
            return o;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{name} was never created"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Labelled by the host for this job and strategy, and owned by the job.
fn assert_stamped(meta: &kube::api::ObjectMeta, job: &NotebookValidationJob, strategy: &str) {
    let labels = meta.labels.clone().unwrap_or_default();
    assert_eq!(
        labels.get("nbv.mlops.dev/job").map(String::as_str),
        Some(job.name_any().as_str())
    );
    assert_eq!(
        labels.get("nbv.mlops.dev/strategy").map(String::as_str),
        Some(strategy)
    );
    let owner = meta.owner_references.clone().unwrap_or_default();
    assert_eq!(owner.len(), 1, "{owner:?}");
    assert_eq!(Some(owner[0].uid.as_str()), job.meta().uid.as_deref());
}

async fn validation_image(env: &Env, job: &str) -> String {
    let pods: Api<Pod> = Api::namespaced(env.client.clone(), &env.ns);
    let list = pods
        .list(
            &ListParams::default()
                .labels(&format!("nbv.mlops.dev/job={job},nbv.mlops.dev/attempt")),
        )
        .await
        .expect("pods");
    let pod = list.items.first().expect("a validation pod");
    let spec = pod.spec.as_ref().expect("spec");
    spec.containers[0].image.clone().unwrap_or_default()
}

/// Plays the kubelet for Kaniko's build pod: the build container exits 0
/// after writing the digest to its termination log.
async fn finish_kaniko_pod(env: &Env, build: &str, exit_code: i32, message: &str) {
    let pods: Api<Pod> = Api::namespaced(env.client.clone(), &env.ns);
    let phase = if exit_code == 0 {
        "Succeeded"
    } else {
        "Failed"
    };
    let terminated = |name: &str, code: i32, msg: &str| {
        json!({"name": name, "image": "x", "imageID": "", "ready": false, "restartCount": 0,
               "state": {"terminated": {"exitCode": code, "message": msg, "reason": if code == 0 {"Completed"} else {"Error"}}}})
    };
    pods.patch_status(
        build,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"phase": phase,
            "initContainerStatuses": [terminated("clone", 0, "")],
            "containerStatuses": [terminated("build", exit_code, message)]}})),
    )
    .await
    .expect("pod status");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kaniko_builds_are_owned_cached_pinned_and_cleaned_up() {
    let env = setup("kaniko", None, nbv_binary()).await;
    let url = repo(&env, "pandas==2.2.2\n");
    let jobs = env
        .create(build_job("kaniko-a", &url, "kaniko", "2m"))
        .await;
    let (job_a, build) = started_build(&jobs, "kaniko-a").await;

    let pods: Api<Pod> = Api::namespaced(env.client.clone(), &env.ns);
    let pod = pods.get(&build).await.expect("build pod");
    assert_stamped(&pod.metadata, &job_a, "kaniko");
    let spec = pod.spec.clone().expect("spec");
    let args = spec.containers[0]
        .args
        .clone()
        .unwrap_or_default()
        .join(" ");
    assert!(
        args.contains(&format!(
            "--destination={BUILD_REGISTRY}/{}/nbv-notebook:",
            env.ns
        )),
        "{args}"
    );
    let maps: Api<ConfigMap> = Api::namespaced(env.client.clone(), &env.ns);
    let src = maps
        .get(&format!("{build}-src"))
        .await
        .expect("source config map");
    assert_stamped(&src.metadata, &job_a, "kaniko");
    let reqs = src.data.clone().unwrap_or_default();
    assert!(
        reqs["requirements.txt"].contains("pandas==2.2.2"),
        "{reqs:?}"
    );
    let bs = job_a
        .status
        .clone()
        .unwrap_or_default()
        .build_status
        .expect("build status");
    assert_eq!(bs.requirements_source, "requirementsFile");
    assert_eq!(bs.requirements, vec!["pandas==2.2.2".to_string()]);
    assert!(bs.strategy_digest.starts_with("sha256:"));

    finish_kaniko_pod(&env, &build, 0, DIGEST).await;
    let done = wait_for_phase(&jobs, "kaniko-a", Duration::from_secs(120)).await;
    let status = done.status.clone().expect("status");
    assert_eq!(status.phase, Some(Phase::Succeeded), "{status:#?}");
    let image = status.build_status.clone().expect("bs").image_reference;
    assert_eq!(
        image,
        format!("{BUILD_REGISTRY}/{}/nbv-notebook@{DIGEST}", env.ns)
    );
    assert_eq!(condition(&done, "BuildReady").status, "True");
    assert_eq!(
        validation_image(&env, "kaniko-a").await,
        image,
        "the notebook ran on the pinned image"
    );

    // The strategy's build-log lines and the build milestones reach the job's events.
    let events: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(env.client.clone(), &env.ns);
    let reasons: Vec<(String, String)> = events
        .list(&ListParams::default())
        .await
        .expect("events")
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("kaniko-a"))
        .map(|e| (e.reason.unwrap_or_default(), e.note.unwrap_or_default()))
        .collect();
    for wanted in [
        "RequirementsResolved",
        "BuildStarted",
        "BuildLog",
        "BuildSucceeded",
    ] {
        assert!(
            reasons.iter().any(|(r, _)| r == wanted),
            "no {wanted} event in {reasons:#?}"
        );
    }
    assert!(
        reasons
            .iter()
            .any(|(r, n)| r == "BuildLog" && n.contains("kaniko: pod")),
        "{reasons:#?}"
    );

    // Same commit, requirements, base image and strategy: no second build.
    env.create(build_job("kaniko-b", &url, "kaniko", "2m"))
        .await;
    let again = wait_for_phase(&jobs, "kaniko-b", Duration::from_secs(120)).await;
    let bs = again
        .status
        .clone()
        .and_then(|s| s.build_status)
        .expect("bs");
    assert!(bs.cached, "{bs:#?}");
    assert_eq!(bs.image_reference, image);
    let build_pods = pods
        .list(&ListParams::default().labels("nbv.mlops.dev/strategy=kaniko"))
        .await
        .expect("pods");
    assert_eq!(build_pods.items.len(), 1, "exactly one build ran");

    // Deleting the job runs delete-build (and GC takes the rest).
    jobs.delete("kaniko-a", &DeleteParams::default())
        .await
        .expect("delete");
    let started = Instant::now();
    while pods.get_opt(&build).await.expect("get").is_some()
        || maps
            .get_opt(&format!("{build}-src"))
            .await
            .expect("get")
            .is_some()
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "build objects were not removed"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    env.operator.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_that_outlives_its_timeout_fails_with_build_timeout() {
    let env = setup("btimeout", None, nbv_binary()).await;
    let url = repo(&env, "numpy==2.1.0\n");
    let jobs = env.create(build_job("slow", &url, "kaniko", "4s")).await;
    let (_, build) = started_build(&jobs, "slow").await;
    let done = wait_for_phase(&jobs, "slow", Duration::from_secs(60)).await;
    assert_eq!(
        condition(&done, "Ready").reason,
        "BuildTimeout",
        "{:#?}",
        done.status
    );
    assert_eq!(condition(&done, "BuildReady").status, "False");
    // The timed-out build is stopped, not left running.
    let pods: Api<Pod> = Api::namespaced(env.client.clone(), &env.ns);
    let started = Instant::now();
    while pods.get_opt(&build).await.expect("get").is_some() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "build pod still there"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    env.operator.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tekton_pipeline_runs_map_success_failure_and_results() {
    let env = setup("tekton", None, nbv_binary()).await;
    install_tekton_standins(&env.client)
        .await
        .expect("tekton stand-ins");
    let runs = dynamic(
        &env.client,
        &env.ns,
        "tekton.dev",
        "v1",
        "PipelineRun",
        "pipelineruns",
    );

    let url = repo(&env, "scikit-learn==1.5.2\n");
    let jobs = env.create(build_job("tk-ok", &url, "tekton", "5m")).await;
    let (job_ok, build) = started_build(&jobs, "tk-ok").await;
    let run = get_eventually(&runs, &build).await;
    assert_stamped(&run.metadata, &job_ok, "tekton");
    let spec = serde_json::to_string(&run.data["spec"]).expect("spec");
    assert!(
        run.data["spec"]["pipelineSpec"].is_object(),
        "embedded pipeline: {spec}"
    );
    assert!(
        !spec.contains("openshift"),
        "nothing OpenShift-specific: {spec}"
    );
    assert!(
        spec.contains(
            job_ok
                .status
                .as_ref()
                .and_then(|s| s.resolved_commit.clone())
                .expect("commit")
                .as_str()
        )
    );
    runs.patch_status(
        &build,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {
            "conditions": [{"type": "Succeeded", "status": "True", "reason": "Succeeded", "message": "Tasks Completed: 1"}],
            "results": [{"name": "IMAGE_DIGEST", "value": DIGEST}]}})),
    )
    .await
    .expect("run status");
    let done = wait_for_phase(&jobs, "tk-ok", Duration::from_secs(120)).await;
    let status = done.status.clone().expect("status");
    assert_eq!(status.phase, Some(Phase::Succeeded), "{status:#?}");
    let image = status.build_status.expect("bs").image_reference;
    assert!(image.ends_with(&format!("@{DIGEST}")), "{image}");
    assert_eq!(validation_image(&env, "tk-ok").await, image);

    let url = repo(&env, "scikit-learn==0.0.0-broken\n");
    let jobs = env.create(build_job("tk-fail", &url, "tekton", "5m")).await;
    let (_, build) = started_build(&jobs, "tk-fail").await;
    get_eventually(&runs, &build).await;
    runs.patch_status(
        &build,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"conditions": [{"type": "Succeeded", "status": "False",
            "reason": "Failed", "message": "step-build exited with code 1: no matching distribution"}]}})),
    )
    .await
    .expect("run status");
    let done = wait_for_phase(&jobs, "tk-fail", Duration::from_secs(60)).await;
    assert_eq!(
        condition(&done, "Ready").reason,
        "BuildFailed",
        "{:#?}",
        done.status
    );
    let message = done.status.clone().map(|s| s.message).unwrap_or_default();
    assert!(message.contains("no matching distribution"), "{message}");

    // A cancelled PipelineRun is a cancelled build, not a failed one.
    let url = repo(&env, "scikit-learn==1.5.1\n");
    let jobs = env
        .create(build_job("tk-cancel", &url, "tekton", "5m"))
        .await;
    let (_, build) = started_build(&jobs, "tk-cancel").await;
    get_eventually(&runs, &build).await;
    runs.patch_status(
        &build,
        &PatchParams::default(),
        &Patch::Merge(
            json!({"status": {"conditions": [{"type": "Succeeded", "status": "False",
            "reason": "Cancelled", "message": "PipelineRun was cancelled"}]}}),
        ),
    )
    .await
    .expect("run status");
    let done = wait_for_phase(&jobs, "tk-cancel", Duration::from_secs(60)).await;
    assert_eq!(
        condition(&done, "Ready").reason,
        "BuildCancelled",
        "{:#?}",
        done.status
    );
    let phase = done
        .status
        .clone()
        .and_then(|s| s.build_status)
        .map(|b| b.phase);
    assert_eq!(phase.as_deref(), Some("Cancelled"));
    env.operator.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s2i_builds_create_openshift_objects_and_survive_an_operator_restart() {
    let mut env = setup("s2i", None, nbv_binary()).await;
    install_openshift_standins(&env.client)
        .await
        .expect("openshift stand-ins");
    let builds = dynamic(
        &env.client,
        &env.ns,
        "build.openshift.io",
        "v1",
        "Build",
        "builds",
    );
    let configs = dynamic(
        &env.client,
        &env.ns,
        "build.openshift.io",
        "v1",
        "BuildConfig",
        "buildconfigs",
    );
    let streams = dynamic(
        &env.client,
        &env.ns,
        "image.openshift.io",
        "v1",
        "ImageStream",
        "imagestreams",
    );

    let url = repo(&env, "matplotlib==3.9.2\n");
    let jobs = env.create(build_job("s2i-a", &url, "s2i", "5m")).await;
    let (job_a, build) = started_build(&jobs, "s2i-a").await;
    let b = get_eventually(&builds, &build).await;
    assert_stamped(&b.metadata, &job_a, "s2i");
    assert_stamped(
        &configs.get(&build).await.expect("BuildConfig").metadata,
        &job_a,
        "s2i",
    );
    assert_stamped(
        &streams.get(&build).await.expect("ImageStream").metadata,
        &job_a,
        "s2i",
    );
    let commit = job_a
        .status
        .as_ref()
        .and_then(|s| s.resolved_commit.clone())
        .expect("commit");
    assert_eq!(b.data["spec"]["source"]["git"]["ref"], Value::from(commit));
    assert_eq!(b.data["spec"]["source"]["contextDir"], "nbs");

    // Restart the operator mid-build: the build is polled, not recreated.
    env.operator.abort();
    let _ = (&mut env.operator).await;
    let cp = ControlPlane::shared(Options {
        controller_manager: true,
    })
    .expect("control plane");
    env.operator = spawn_operator(cp, &env.ns, "test-s2i-restart", false).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let all = builds.list(&ListParams::default()).await.expect("builds");
    assert_eq!(all.items.len(), 1, "no duplicate build after the restart");

    let reference = format!(
        "image-registry.openshift-image-registry.svc:5000/{}/{build}:latest",
        env.ns
    );
    builds
        .patch_status(
            &build,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Complete",
                "outputDockerImageReference": reference,
                "output": {"to": {"imageDigest": DIGEST}}}})),
        )
        .await
        .expect("build status");
    let done = wait_for_phase(&jobs, "s2i-a", Duration::from_secs(120)).await;
    let status = done.status.clone().expect("status");
    assert_eq!(status.phase, Some(Phase::Succeeded), "{status:#?}");
    let image = status.build_status.expect("bs").image_reference;
    assert_eq!(
        image,
        format!(
            "image-registry.openshift-image-registry.svc:5000/{}/{build}@{DIGEST}",
            env.ns
        )
    );
    assert_eq!(validation_image(&env, "s2i-a").await, image);
    env.operator.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_strategies_and_missing_requirements_fail_with_what_to_do() {
    let env = setup("bfail", None, nbv_binary()).await;
    let nb = notebook(&[("print(1)", json!([]))]);
    let url = env.repo(&[("a.ipynb", &nb)]);
    let jobs = env
        .create(job(
            "nostrat",
            &url,
            "main",
            "a.ipynb",
            json!({"podConfig": {"buildConfig": {"enabled": true, "strategy": "buildpacks"}}}),
        ))
        .await;
    let done = wait_for_phase(&jobs, "nostrat", Duration::from_secs(60)).await;
    assert_eq!(condition(&done, "Ready").reason, "UnknownStrategy");
    let message = done.status.clone().map(|s| s.message).unwrap_or_default();
    assert!(
        message.contains("kaniko") && message.contains("s2i") && message.contains("tekton"),
        "{message}"
    );

    env.create(job(
        "noreqs",
        &url,
        "main",
        "a.ipynb",
        json!({"podConfig": {"buildConfig": {"enabled": true, "strategy": "kaniko", "fallbackStrategy": "fail"}}}),
    ))
    .await;
    let done = wait_for_phase(&jobs, "noreqs", Duration::from_secs(60)).await;
    assert_eq!(
        condition(&done, "Ready").reason,
        "RequirementsNotFound",
        "{:#?}",
        done.status
    );
    let message = done.status.clone().map(|s| s.message).unwrap_or_default();
    assert!(message.contains("requirements.txt"), "{message}");
    env.operator.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strategy_registrations_are_loaded_from_config_maps_and_failures_are_named() {
    let env = setup("register", None, nbv_binary()).await;
    // A component that calls itself "hostile", registered as "custom": the
    // operator must refuse it and say why when a job asks for "custom".
    let maps: Api<ConfigMap> = Api::namespaced(env.client.clone(), "nbv-system");
    let name = format!("strategy-custom-{}", env.ns);
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"nbv.mlops.dev/strategy": format!("custom-{}", env.ns)}},
        "binaryData": {"strategy.wasm": k8s_openapi::ByteString(nbv_builtin::HOSTILE.to_vec())},
    }))
    .expect("config map");
    maps.create(&kube::api::PostParams::default(), &cm)
        .await
        .expect("register");
    let nb = notebook(&[("print(1)", json!([]))]);
    let url = env.repo(&[("a.ipynb", &nb), ("requirements.txt", "pandas\n")]);
    let strategy = format!("custom-{}", env.ns);
    let started = Instant::now();
    let mut attempt = 0;
    let message = loop {
        attempt += 1;
        let job_name = format!("custom-{attempt}");
        let spec = json!({"podConfig": {"buildConfig": {"enabled": true, "strategy": strategy}}});
        let jobs = env
            .create(job(&job_name, &url, "main", "a.ipynb", spec))
            .await;
        let done = wait_for_phase(&jobs, &job_name, Duration::from_secs(60)).await;
        let message = done.status.clone().map(|s| s.message).unwrap_or_default();
        // The watcher may not have seen the ConfigMap on the first job yet.
        if message.contains("failed to load") || started.elapsed() > Duration::from_secs(30) {
            break message;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(
        message.contains("failed to load") && message.contains("calls itself \"hostile\""),
        "{message}"
    );
    maps.delete(&name, &DeleteParams::default())
        .await
        .expect("cleanup");
    env.operator.abort();
}
