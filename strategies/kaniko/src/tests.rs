use crate::manifests::{self, KANIKO_CAPABILITIES};
use crate::status;
use nbv_guest_sdk::testing::{SAMPLE_COMMIT, object, sample_context, strings, with_params};
use nbv_guest_sdk::{BuildPhase, Error};
use serde_json::{Value, json};

const DIGEST: &str = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";

#[test]
fn describe_declares_exactly_the_kinds_it_touches() {
    let d = manifests::description();
    assert_eq!((d.name.as_str(), d.version.as_str()), ("kaniko", "0.1.0"));
    let kinds: Vec<_> = d
        .kinds
        .iter()
        .map(|k| (k.api_version(), k.kind.clone()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("v1".into(), "ConfigMap".into()),
            ("v1".into(), "Pod".into())
        ]
    );
    assert!(d.requires_groups.is_empty());
    let defaults: Vec<_> = d
        .parameters
        .iter()
        .map(|p| (p.name.as_str(), p.default_value.as_deref()))
        .collect();
    assert_eq!(
        defaults,
        vec![
            ("gitImage", Some("alpine/git:2.45.2")),
            (
                "kanikoImage",
                Some("gcr.io/kaniko-project/executor:v1.23.2")
            ),
            ("registry", None),
            ("pushSecret", None),
            ("insecureRegistry", Some("false")),
            ("cpu", None),
            ("memory", None),
        ]
    );
}

#[test]
fn pod_clones_the_commit_then_runs_kaniko() {
    let ctx = sample_context();
    let pod = manifests::pod(&ctx).unwrap();
    assert_eq!(pod, manifests::pod(&ctx).unwrap(), "deterministic");
    assert_eq!(pod["metadata"]["name"], ctx.build_name.as_str());
    assert!(pod["metadata"].get("namespace").is_none());
    let spec = &pod["spec"];
    assert_eq!(spec["restartPolicy"], "Never");
    assert_eq!(spec["activeDeadlineSeconds"], 1800);
    assert_eq!(spec["automountServiceAccountToken"], false);
    assert_eq!(
        spec["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let clone = &spec["initContainers"][0];
    assert_eq!(clone["name"], "clone");
    assert_eq!(clone["image"], "alpine/git:2.45.2");
    let script = clone["command"][2].as_str().unwrap();
    assert!(script.contains(&format!("git fetch -q --depth 1 origin {SAMPLE_COMMIT}")));
    assert!(script.contains("git checkout -q FETCH_HEAD"));
    assert!(
        script.contains("/workspace/src/notebooks/nbv.Dockerfile"),
        "prepare runs too"
    );
    let build = &spec["containers"][0];
    assert_eq!(build["name"], "build");
    assert_eq!(
        build["args"],
        json!([
            "--context=dir:///workspace/src/notebooks",
            "--dockerfile=/workspace/src/notebooks/nbv.Dockerfile",
            format!("--destination={}", ctx.output_image),
            "--digest-file=/dev/termination-log",
        ])
    );
    assert!(build.get("resources").is_none());
    assert_eq!(
        spec["volumes"][1]["configMap"]["name"],
        format!("{}-src", ctx.build_name)
    );
}

#[test]
fn security_context_is_as_tight_as_kaniko_allows() {
    let pod = manifests::pod(&sample_context()).unwrap();
    let clone = &pod["spec"]["initContainers"][0]["securityContext"];
    assert_eq!(clone["runAsNonRoot"], true);
    assert_eq!(clone["allowPrivilegeEscalation"], false);
    assert_eq!(clone["capabilities"], json!({"drop": ["ALL"]}));
    let build = &pod["spec"]["containers"][0]["securityContext"];
    assert_eq!(build["runAsUser"], 0);
    assert_eq!(build["allowPrivilegeEscalation"], false);
    assert_eq!(build["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(build["capabilities"]["add"], json!(KANIKO_CAPABILITIES));
    assert!(build.get("privileged").is_none());
    let all = strings(&pod).join("\n");
    assert!(!all.contains("SYS_ADMIN") && !all.contains("NET_RAW"));
}

#[test]
fn parameters_configure_the_build_container() {
    let ctx = with_params(
        sample_context(),
        &[
            ("pushSecret", "registry-creds"),
            ("insecureRegistry", "true"),
            ("cpu", "2"),
            ("memory", "4Gi"),
            ("kanikoImage", "mirror.example.com/kaniko/executor:v1.23.2"),
        ],
    );
    let pod = manifests::pod(&ctx).unwrap();
    let build = &pod["spec"]["containers"][0];
    assert_eq!(build["image"], "mirror.example.com/kaniko/executor:v1.23.2");
    let args = build["args"].as_array().unwrap();
    assert!(args.contains(&json!("--insecure")) && args.contains(&json!("--skip-tls-verify")));
    assert_eq!(
        build["resources"],
        json!({"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}})
    );
    let volume = pod["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["secret"]["secretName"] == "registry-creds")
        .cloned()
        .unwrap();
    assert_eq!(
        volume["secret"]["items"],
        json!([{"key": ".dockerconfigjson", "path": "config.json"}])
    );
    assert!(
        build["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == volume["name"] && m["mountPath"] == "/kaniko/.docker")
    );
    for params in [
        [("cpu", "lots")],
        [("memory", "4 GB")],
        [("insecureRegistry", "1")],
        [("pushSecret", "x y")],
    ] {
        let bad = with_params(sample_context(), &params);
        assert!(
            matches!(manifests::pod(&bad), Err(Error::Invalid(_))),
            "{params:?}"
        );
    }
}

#[test]
fn git_credentials_are_mounted_not_inlined() {
    let mut ctx = sample_context();
    ctx.git_credentials_secret = Some("git-creds".into());
    let pod = manifests::pod(&ctx).unwrap();
    let containers: Vec<&Value> = pod["spec"]["initContainers"]
        .as_array()
        .unwrap()
        .iter()
        .chain(pod["spec"]["containers"].as_array().unwrap())
        .collect();
    for c in containers {
        assert!(!strings(c).iter().any(|s| s.contains("git-creds")), "{c}");
        assert!(c.get("envFrom").is_none());
    }
    assert!(strings(&pod["spec"]["volumes"]).contains(&"git-creds".to_string()));
}

#[test]
fn the_registry_parameter_or_the_operator_names_the_destination() {
    let build_args = |ctx: &nbv_guest_sdk::BuildContext| -> Result<Vec<Value>, Error> {
        let m = manifests::pod(ctx)?;
        Ok(m["spec"]["containers"][0]["args"]
            .as_array()
            .unwrap()
            .clone())
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
    ctx.dockerfile = Some("Dockerfile".into());
    let pod = manifests::pod(&ctx).unwrap();
    assert_eq!(
        pod["spec"]["containers"][0]["args"][1],
        "--dockerfile=/workspace/src/Dockerfile"
    );
    ctx.dockerfile = Some("../Dockerfile".into());
    assert!(matches!(manifests::pod(&ctx), Err(Error::Invalid(_))));
}

fn pod_with(status: Value) -> nbv_guest_sdk::manifest::Object {
    object(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p1"},
        "spec": {"activeDeadlineSeconds": 1800}, "status": status}),
    )
}

#[test]
fn status_maps_pod_phases() {
    let table = [
        (json!({}), BuildPhase::Pending),
        (json!({"phase": "Pending"}), BuildPhase::Pending),
        (json!({"phase": "Running"}), BuildPhase::Running),
        (json!({"phase": "Succeeded"}), BuildPhase::Complete),
        (json!({"phase": "Failed"}), BuildPhase::Failed),
        (
            json!({"phase": "Pending", "initContainerStatuses": [{"name": "clone", "state": {"running": {}}}]}),
            BuildPhase::Running,
        ),
    ];
    for (s, expected) in table {
        let state = status::pod_state(&pod_with(s.clone()));
        assert_eq!(state.phase, expected, "{s}");
        assert!(!state.message.is_empty(), "{s}");
    }
}

#[test]
fn stuck_containers_fail_the_build() {
    for reason in [
        "ErrImagePull",
        "ImagePullBackOff",
        "CreateContainerConfigError",
    ] {
        for list in ["initContainerStatuses", "containerStatuses"] {
            let state = status::pod_state(&pod_with(json!({"phase": "Pending", list: [
                {"name": "clone", "state": {"waiting": {"reason": reason, "message": "secret \"x\" not found"}}}]})));
            assert_eq!(state.phase, BuildPhase::Failed, "{reason} in {list}");
            assert!(
                state.message.contains(reason) && state.message.contains("clone"),
                "{}",
                state.message
            );
        }
    }
    let state = status::pod_state(&pod_with(json!({"phase": "Pending", "containerStatuses": [
        {"name": "build", "state": {"waiting": {"reason": "PodInitializing"}}}]})));
    assert_eq!(state.phase, BuildPhase::Pending);
    let state = status::pod_state(&pod_with(json!({"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/3 nodes are available"}]})));
    assert_eq!(state.phase, BuildPhase::Pending);
    assert_eq!(state.message, "Unschedulable: 0/3 nodes are available");
}

#[test]
fn failures_name_the_container_and_timeouts_say_so() {
    let state = status::pod_state(&pod_with(
        json!({"phase": "Failed", "initContainerStatuses": [
        {"name": "clone", "state": {"terminated": {"exitCode": 128, "reason": "Error"}}}]}),
    ));
    assert_eq!(state.phase, BuildPhase::Failed);
    assert_eq!(state.message, "clone: Error (exit code 128)");
    let state = status::pod_state(&pod_with(json!({"phase": "Failed", "containerStatuses": [
        {"name": "build", "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]})));
    assert_eq!(state.message, "build: OOMKilled (exit code 137)");
    let state = status::pod_state(&pod_with(
        json!({"phase": "Failed", "reason": "DeadlineExceeded",
        "message": "Pod was active on the node longer than the specified deadline"}),
    ));
    assert_eq!(state.phase, BuildPhase::Failed);
    assert!(
        state.message.contains("timeout") && state.message.contains("1800s"),
        "{}",
        state.message
    );
}

#[test]
fn built_image_reads_the_termination_message() {
    let output = "registry.example.com/team-a/nbv-demo:3f2a9c1e7b5d";
    let done = pod_with(json!({"phase": "Succeeded", "containerStatuses": [
        {"name": "build", "state": {"terminated": {"exitCode": 0, "message": DIGEST}}}]}));
    assert_eq!(
        status::built_image(&done, output).unwrap(),
        format!("registry.example.com/team-a/nbv-demo@{DIGEST}")
    );
    let empty = pod_with(json!({"phase": "Succeeded", "containerStatuses": [
        {"name": "build", "state": {"terminated": {"exitCode": 0}}}]}));
    assert!(
        matches!(status::built_image(&empty, output), Err(Error::Other(m)) if m.contains("termination message"))
    );
    let running = pod_with(json!({"phase": "Running"}));
    assert!(matches!(
        status::built_image(&running, output),
        Err(Error::Other(_))
    ));
    let owned = manifests::owned_objects("p1");
    let kinds: Vec<_> = owned.iter().map(|(_, k, n)| (*k, n.as_str())).collect();
    assert_eq!(kinds, [("Pod", "p1"), ("ConfigMap", "p1-src")]);
}
