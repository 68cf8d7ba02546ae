use crate::manifests::{self, Builder, TEKTON_API};
use crate::status;
use nbv_guest_sdk::testing::{SAMPLE_COMMIT, object, sample_context, strings, with_params};
use nbv_guest_sdk::{BuildPhase, Error};
use serde_json::{Value, json};

const DIGEST: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn steps(run: &Value) -> &Vec<Value> {
    run["spec"]["pipelineSpec"]["tasks"][0]["taskSpec"]["steps"]
        .as_array()
        .unwrap()
}

fn step<'a>(run: &'a Value, name: &str) -> &'a Value {
    steps(run).iter().find(|s| s["name"] == name).unwrap()
}

#[test]
fn describe_declares_exactly_the_kinds_it_touches() {
    let d = manifests::description();
    assert_eq!((d.name.as_str(), d.version.as_str()), ("tekton", "0.1.0"));
    let kinds: Vec<_> = d
        .kinds
        .iter()
        .map(|k| (k.api_version(), k.kind.clone()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("v1".into(), "ConfigMap".into()),
            (TEKTON_API.into(), "PipelineRun".into()),
            ("v1".into(), "Pod".into()),
        ]
    );
    let defaults: Vec<_> = d
        .parameters
        .iter()
        .map(|p| (p.name.as_str(), p.default_value.as_deref()))
        .collect();
    assert_eq!(
        defaults,
        vec![
            ("builder", Some("kaniko")),
            ("gitImage", Some("alpine/git:2.45.2")),
            (
                "kanikoImage",
                Some("gcr.io/kaniko-project/executor:v1.23.2")
            ),
            ("buildahImage", Some("quay.io/buildah/stable:v1.37")),
            ("registry", None),
            ("pushSecret", None),
            ("insecureRegistry", Some("false")),
            ("serviceAccount", None),
        ]
    );
}

#[test]
fn pipeline_is_embedded_and_named_after_the_build() {
    let ctx = sample_context();
    let run = manifests::pipeline_run(&ctx).unwrap();
    assert_eq!(run, manifests::pipeline_run(&ctx).unwrap(), "deterministic");
    assert_eq!(run["metadata"]["name"], ctx.build_name.as_str());
    assert!(run["metadata"].get("namespace").is_none());
    let spec = &run["spec"];
    assert!(spec.get("pipelineRef").is_none());
    let task = &spec["pipelineSpec"]["tasks"][0];
    assert!(task.get("taskRef").is_none() && task.get("taskSpec").is_some());
    assert_eq!(spec["timeouts"]["pipeline"], "1800s");
    assert_eq!(
        spec["pipelineSpec"]["results"][0],
        json!({"name": "IMAGE_DIGEST", "description": "digest of the pushed image",
               "value": "$(tasks.build.results.IMAGE_DIGEST)"})
    );
    let names: Vec<_> = steps(&run)
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["clone", "prepare", "build"]);
    // Nothing cluster-specific is hard-coded.
    let all = strings(&run).join("\n");
    assert!(!all.contains("openshift"), "{all}");
    let volumes = &task["taskSpec"]["volumes"];
    assert_eq!(
        volumes[1]["configMap"]["name"],
        format!("{}-src", ctx.build_name)
    );
}

#[test]
fn clone_step_checks_out_exactly_the_commit() {
    let run = manifests::pipeline_run(&sample_context()).unwrap();
    let clone = step(&run, "clone");
    assert_eq!(clone["image"], "alpine/git:2.45.2");
    let script = clone["command"][2].as_str().unwrap();
    assert!(script.contains(&format!("git fetch -q --depth 1 origin {SAMPLE_COMMIT}")));
    assert!(script.contains("git checkout -q FETCH_HEAD"));
    assert!(!script.contains("$("), "Tekton would substitute $(...)");
    let prepare = step(&run, "prepare")["command"][2].as_str().unwrap();
    assert!(
        prepare.contains("/workspace/src/notebooks/nbv.Dockerfile"),
        "{prepare}"
    );
}

#[test]
fn kaniko_builds_the_context_and_reports_the_digest() {
    let ctx = sample_context();
    let run = manifests::pipeline_run(&ctx).unwrap();
    let build = step(&run, "build");
    assert_eq!(build["image"], "gcr.io/kaniko-project/executor:v1.23.2");
    assert_eq!(build["command"], json!(["/kaniko/executor"]));
    assert_eq!(
        build["args"],
        json!([
            "--context=dir:///workspace/src/notebooks",
            "--dockerfile=/workspace/src/notebooks/nbv.Dockerfile",
            format!("--destination={}", ctx.output_image),
            "--digest-file=$(results.IMAGE_DIGEST.path)",
        ])
    );
    let insecure = with_params(ctx, &[("insecureRegistry", "true")]);
    let run = manifests::pipeline_run(&insecure).unwrap();
    let args = step(&run, "build")["args"].as_array().unwrap().clone();
    assert!(args.contains(&json!("--insecure")) && args.contains(&json!("--skip-tls-verify")));
}

#[test]
fn the_registry_parameter_or_the_operator_names_the_destination() {
    let build_args = |ctx: &nbv_guest_sdk::BuildContext| -> Result<Vec<Value>, Error> {
        let m = manifests::pipeline_run(ctx)?;
        Ok(step(&m, "build")["args"].as_array().unwrap().clone())
    };
    let ctx = with_params(sample_context(), &[("registry", "quay.io/team")]);
    assert_eq!(
        build_args(&ctx).unwrap()[2],
        "--destination=quay.io/team/nbv-notebook:3f2a9c1e7b5d40a1b2c3d4e5f6071829"
    );
    let mut none = sample_context();
    none.output_image = String::new();
    assert!(matches!(build_args(&none), Err(Error::Invalid(m)) if m.contains("registry")));
}

#[test]
fn a_repository_dockerfile_is_built_as_is() {
    let mut ctx = sample_context();
    ctx.dockerfile = Some("docker/Dockerfile".into());
    let run = manifests::pipeline_run(&ctx).unwrap();
    let args = &step(&run, "build")["args"];
    assert_eq!(args[1], "--dockerfile=/workspace/src/docker/Dockerfile");
    let prepare = step(&run, "prepare")["command"][2].as_str().unwrap();
    assert!(!prepare.contains("cp "), "{prepare}");
}

#[test]
fn buildah_builds_and_pushes_with_a_digest_file() {
    let ctx = with_params(
        sample_context(),
        &[
            ("builder", "buildah"),
            ("pushSecret", "registry-creds"),
            ("insecureRegistry", "true"),
        ],
    );
    assert_eq!(manifests::builder(&ctx).unwrap(), Builder::Buildah);
    let run = manifests::pipeline_run(&ctx).unwrap();
    let build = step(&run, "build");
    assert_eq!(build["image"], "quay.io/buildah/stable:v1.37");
    let script = build["command"][2].as_str().unwrap();
    assert!(script.contains("bud --isolation=chroot"), "{script}");
    assert!(
        script.contains("--digestfile $(results.IMAGE_DIGEST.path)"),
        "{script}"
    );
    assert!(
        script.contains("--authfile /nbv/push/config.json"),
        "{script}"
    );
    assert!(script.contains("--tls-verify=false"), "{script}");
    assert!(
        script.contains(&format!("docker://'{}'", ctx.output_image)),
        "{script}"
    );
}

#[test]
fn secrets_are_mounted_never_inlined() {
    let mut ctx = with_params(sample_context(), &[("pushSecret", "registry-creds")]);
    ctx.git_credentials_secret = Some("git-creds".into());
    let run = manifests::pipeline_run(&ctx).unwrap();
    let volumes = run["spec"]["pipelineSpec"]["tasks"][0]["taskSpec"]["volumes"]
        .as_array()
        .unwrap();
    let secret_volumes: Vec<_> = volumes
        .iter()
        .filter_map(|v| v["secret"]["secretName"].as_str())
        .collect();
    assert_eq!(secret_volumes, ["git-creds", "registry-creds"]);
    // The names appear only as volume sources: not in scripts, args or env.
    for s in steps(&run) {
        let text = strings(s).join("\n");
        assert!(
            !text.contains("git-creds") && !text.contains("registry-creds"),
            "{text}"
        );
    }
    let build = step(&run, "build");
    assert!(
        build["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["mountPath"] == "/kaniko/.docker")
    );
}

#[test]
fn bad_parameters_are_invalid() {
    for params in [
        [("builder", "docker")],
        [("insecureRegistry", "sometimes")],
        [("pushSecret", "Not_A_Name")],
        [("gitImage", "alpine/git latest")],
    ] {
        let ctx = with_params(sample_context(), &params);
        assert!(
            matches!(manifests::pipeline_run(&ctx), Err(Error::Invalid(_))),
            "{params:?}"
        );
    }
    let sa = with_params(sample_context(), &[("serviceAccount", "pipeline")]);
    let run = manifests::pipeline_run(&sa).unwrap();
    assert_eq!(
        run["spec"]["taskRunTemplate"]["serviceAccountName"],
        "pipeline"
    );
}

fn run_with(condition: Option<(&str, &str, &str)>) -> nbv_guest_sdk::manifest::Object {
    let conditions = match condition {
        Some((status, reason, message)) => {
            json!([{"type": "Succeeded", "status": status, "reason": reason, "message": message}])
        }
        None => json!([]),
    };
    object(json!({"apiVersion": TEKTON_API, "kind": "PipelineRun",
        "metadata": {"name": "r1"}, "status": {"conditions": conditions}}))
}

#[test]
fn status_maps_the_succeeded_condition() {
    let table = [
        (None, BuildPhase::Pending),
        (Some(("Unknown", "", "")), BuildPhase::Pending),
        (Some(("Unknown", "Pending", "")), BuildPhase::Pending),
        (
            Some(("Unknown", "PipelineRunPending", "")),
            BuildPhase::Pending,
        ),
        (
            Some(("Unknown", "Running", "Tasks Completed: 0")),
            BuildPhase::Running,
        ),
        (Some(("Unknown", "Started", "")), BuildPhase::Running),
        (
            Some(("True", "Succeeded", "Tasks Completed: 1")),
            BuildPhase::Complete,
        ),
        (Some(("False", "Cancelled", "")), BuildPhase::Cancelled),
        (
            Some(("False", "CancelledRunFinally", "")),
            BuildPhase::Cancelled,
        ),
        (
            Some(("False", "StoppedRunFinally", "")),
            BuildPhase::Cancelled,
        ),
        (
            Some(("False", "PipelineRunCancelled", "")),
            BuildPhase::Cancelled,
        ),
        (
            Some(("False", "PipelineRunTimeout", "")),
            BuildPhase::Failed,
        ),
        (
            Some(("False", "Failed", "Tasks Completed: 1 (Failed: 1)")),
            BuildPhase::Failed,
        ),
    ];
    for (condition, expected) in table {
        let state = status::run_state(&run_with(condition));
        assert_eq!(state.phase, expected, "{condition:?}");
        assert!(!state.message.is_empty(), "{condition:?}");
    }
}

#[test]
fn status_messages_explain_failures_and_timeouts() {
    for reason in ["PipelineRunTimeout", "Timeout"] {
        let state = status::run_state(&run_with(Some((
            "False",
            reason,
            "PipelineRun \"r1\" failed to finish within \"30m0s\"",
        ))));
        assert_eq!(state.phase, BuildPhase::Failed);
        assert!(state.message.contains("timeout"), "{}", state.message);
    }
    let state = status::run_state(&run_with(Some((
        "False",
        "CouldntGetTask",
        "step \"build\" exited with code 1",
    ))));
    assert_eq!(state.phase, BuildPhase::Failed);
    assert_eq!(
        state.message,
        "CouldntGetTask: step \"build\" exited with code 1"
    );
}

#[test]
fn built_image_pins_the_digest_result_on_the_output_image() {
    let output = "registry.example.com/team-a/nbv-demo:3f2a9c1e7b5d";
    let mut run = run_with(Some(("True", "Succeeded", "")));
    run.0["status"]["results"] = json!([{"name": "IMAGE_DIGEST", "value": format!("{DIGEST}\n")}]);
    assert_eq!(
        status::built_image(&run, output).unwrap(),
        format!("registry.example.com/team-a/nbv-demo@{DIGEST}")
    );
    let mut v1beta1 = run_with(Some(("True", "Succeeded", "")));
    v1beta1.0["status"]["pipelineResults"] = json!([{"name": "IMAGE_DIGEST", "value": DIGEST}]);
    assert!(status::built_image(&v1beta1, output).is_ok());
    let missing = run_with(Some(("True", "Succeeded", "")));
    assert!(
        matches!(status::built_image(&missing, output), Err(Error::Other(m)) if m.contains("IMAGE_DIGEST"))
    );
    let running = run_with(Some(("Unknown", "Running", "")));
    assert!(matches!(
        status::built_image(&running, output),
        Err(Error::Other(_))
    ));
}

#[test]
fn logs_read_every_step_container() {
    let pod = object(json!({"metadata": {"name": "r1-build-pod"}, "spec": {
        "initContainers": [{"name": "prepare"}, {"name": "place-scripts"}],
        "containers": [{"name": "step-clone"}, {"name": "step-prepare"}, {"name": "step-build"}, {"name": "sidecar-x"}]}}));
    assert_eq!(
        status::step_containers(&pod),
        ["step-clone", "step-prepare", "step-build"]
    );
    let owned = manifests::owned_objects("r1");
    let kinds: Vec<_> = owned.iter().map(|(_, k, n)| (*k, n.as_str())).collect();
    assert_eq!(kinds, [("PipelineRun", "r1"), ("ConfigMap", "r1-src")]);
}
