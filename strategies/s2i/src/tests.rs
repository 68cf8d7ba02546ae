use crate::manifests::{self, BUILD_API, IMAGE_API};
use crate::status;
use nbv_guest_sdk::testing::{SAMPLE_COMMIT, object, sample_context, strings, with_params};
use nbv_guest_sdk::{BuildPhase, Error};
use serde_json::json;

const DIGEST: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

#[test]
fn describe_declares_exactly_the_kinds_it_touches() {
    let d = manifests::description();
    assert_eq!(d.name, "s2i");
    assert_eq!(d.version, "0.1.0");
    let kinds: Vec<_> = d
        .kinds
        .iter()
        .map(|k| (k.api_version(), k.kind.clone(), k.plural.clone()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("v1".into(), "ConfigMap".into(), "configmaps".into()),
            (
                IMAGE_API.into(),
                "ImageStream".into(),
                "imagestreams".into()
            ),
            (
                BUILD_API.into(),
                "BuildConfig".into(),
                "buildconfigs".into()
            ),
            (BUILD_API.into(), "Build".into(), "builds".into()),
        ]
    );
    let params: Vec<_> = d
        .parameters
        .iter()
        .map(|p| (p.name.as_str(), p.default_value.as_deref(), p.required))
        .collect();
    assert_eq!(
        params,
        vec![
            ("builderImage", None, false),
            ("incremental", Some("false"), false),
            ("forcePull", Some("false"), false),
        ]
    );
}

#[test]
fn plan_is_deterministic_and_named_after_the_build() {
    let ctx = sample_context();
    let a = manifests::plan(&ctx).unwrap();
    let b = manifests::plan(&ctx).unwrap();
    assert_eq!(a.declarative, b.declarative);
    assert_eq!(a.build, b.build);
    let names: Vec<_> = a
        .declarative
        .iter()
        .chain([&a.build])
        .map(|o| {
            (
                o["kind"].as_str().unwrap().to_string(),
                o["metadata"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let build = &ctx.build_name;
    assert_eq!(
        names,
        vec![
            ("ConfigMap".into(), format!("{build}-src")),
            ("ImageStream".into(), build.clone()),
            ("BuildConfig".into(), build.clone()),
            ("Build".into(), build.clone()),
        ]
    );
    for o in a.declarative.iter().chain([&a.build]) {
        assert!(o["metadata"].get("namespace").is_none(), "{o}");
        assert!(o["metadata"].get("ownerReferences").is_none(), "{o}");
    }
}

#[test]
fn build_config_builds_the_commit_with_generated_requirements() {
    let ctx = sample_context();
    let bc = manifests::build_config(&ctx).unwrap();
    let spec = &bc["spec"];
    assert_eq!(spec["runPolicy"], "Serial");
    assert_eq!(spec["triggers"], json!([]));
    assert_eq!(spec["source"]["type"], "Git");
    assert_eq!(spec["source"]["git"]["uri"], ctx.source_url.as_str());
    assert_eq!(spec["source"]["git"]["ref"], SAMPLE_COMMIT);
    assert_eq!(spec["source"]["contextDir"], "notebooks");
    assert!(spec["source"].get("sourceSecret").is_none());
    assert_eq!(
        spec["source"]["configMaps"],
        json!([{"configMap": {"name": format!("{}-src", ctx.build_name)}, "destinationDir": "."}])
    );
    assert_eq!(spec["strategy"]["type"], "Source");
    assert_eq!(
        spec["strategy"]["sourceStrategy"]["from"],
        json!({"kind": "DockerImage", "name": ctx.base_image})
    );
    assert_eq!(spec["strategy"]["sourceStrategy"]["incremental"], false);
    assert_eq!(spec["strategy"]["sourceStrategy"]["forcePull"], false);
    assert_eq!(
        spec["output"]["to"],
        json!({"kind": "ImageStreamTag", "name": format!("{}:3f2a9c1e7b5d40a1b2c3", ctx.build_name)})
    );
    assert_eq!(spec["completionDeadlineSeconds"], 1800);
    // The generated requirements travel in the ConfigMap.
    let cm = &manifests::plan(&ctx).unwrap().declarative[0];
    assert_eq!(cm["data"]["requirements.txt"], ctx.requirements.as_str());
    assert!(cm["data"].get("Dockerfile").is_none());
}

#[test]
fn build_is_started_directly_with_the_build_config_spec() {
    let ctx = sample_context();
    let bc = manifests::build_config(&ctx).unwrap();
    let b = manifests::build(&ctx).unwrap();
    assert_eq!(b["kind"], "Build");
    let name = ctx.build_name.as_str();
    assert_eq!(b["metadata"]["labels"]["buildconfig"], name);
    assert_eq!(
        b["metadata"]["labels"]["openshift.io/build-config.name"],
        name
    );
    assert_eq!(
        b["metadata"]["annotations"]["openshift.io/build-config.name"],
        name
    );
    for field in ["source", "strategy", "output", "completionDeadlineSeconds"] {
        assert_eq!(b["spec"][field], bc["spec"][field], "{field}");
    }
    assert!(b["spec"].get("runPolicy").is_none() && b["spec"].get("triggers").is_none());
}

#[test]
fn credentials_are_referenced_by_secret_name_only() {
    let mut ctx = sample_context();
    ctx.git_credentials_secret = Some("git-creds".into());
    let plan = manifests::plan(&ctx).unwrap();
    assert_eq!(
        plan.build["spec"]["source"]["sourceSecret"],
        json!({"name": "git-creds"})
    );
    let all: Vec<String> = plan
        .declarative
        .iter()
        .chain([&plan.build])
        .flat_map(strings)
        .collect();
    assert_eq!(all.iter().filter(|s| s.as_str() == "git-creds").count(), 2);
}

#[test]
fn parameters_shape_the_source_strategy() {
    let ctx = with_params(
        sample_context(),
        &[
            ("builderImage", "registry.example.com/s2i/python:3.12"),
            ("incremental", "true"),
            ("forcePull", "TRUE"),
        ],
    );
    let s = &manifests::build(&ctx).unwrap()["spec"]["strategy"]["sourceStrategy"];
    assert_eq!(s["from"]["name"], "registry.example.com/s2i/python:3.12");
    assert_eq!(s["incremental"], true);
    assert_eq!(s["forcePull"], true);
    let bad = with_params(sample_context(), &[("incremental", "maybe")]);
    assert!(matches!(manifests::plan(&bad), Err(Error::Invalid(m)) if m.contains("incremental")));
}

#[test]
fn a_repository_dockerfile_uses_the_docker_strategy_as_is() {
    let mut ctx = sample_context();
    ctx.dockerfile = Some("notebooks/docker/Dockerfile".into());
    let spec = &manifests::build(&ctx).unwrap()["spec"];
    assert_eq!(spec["strategy"]["type"], "Docker");
    assert_eq!(
        spec["strategy"]["dockerStrategy"]["dockerfilePath"],
        "docker/Dockerfile"
    );
    assert!(spec["source"].get("configMaps").is_none());
    ctx.dockerfile = Some("Dockerfile".into());
    assert!(matches!(manifests::plan(&ctx), Err(Error::Invalid(m)) if m.contains("outside")));
    ctx.context_dir = String::new();
    assert_eq!(
        manifests::build(&ctx).unwrap()["spec"]["strategy"]["dockerStrategy"]["dockerfilePath"],
        "Dockerfile"
    );
}

#[test]
fn bad_inputs_are_invalid() {
    let mut ctx = sample_context();
    ctx.commit = "main".into();
    assert!(matches!(manifests::plan(&ctx), Err(Error::Invalid(_))));
    let mut ctx = sample_context();
    ctx.context_dir = "../elsewhere".into();
    assert!(matches!(manifests::plan(&ctx), Err(Error::Invalid(_))));
}

fn build_with(status: serde_json::Value) -> nbv_guest_sdk::manifest::Object {
    object(json!({"apiVersion": BUILD_API, "kind": "Build",
        "metadata": {"name": "b1"}, "status": status}))
}

#[test]
fn status_maps_every_build_phase() {
    let table = [
        ("New", BuildPhase::Pending),
        ("Pending", BuildPhase::Pending),
        ("Running", BuildPhase::Running),
        ("Complete", BuildPhase::Complete),
        ("Failed", BuildPhase::Failed),
        ("Error", BuildPhase::Failed),
        ("Cancelled", BuildPhase::Cancelled),
    ];
    for (phase, expected) in table {
        let state = status::build_state(&build_with(json!({"phase": phase})));
        assert_eq!(state.phase, expected, "{phase}");
        assert!(!state.message.is_empty(), "{phase}");
    }
    let fresh = object(json!({"metadata": {"name": "b1"}}));
    assert_eq!(status::build_state(&fresh).phase, BuildPhase::Pending);
}

#[test]
fn status_message_comes_from_the_build() {
    let state = status::build_state(&build_with(json!({
        "phase": "Failed", "reason": "FetchSourceFailed", "message": "Failed to fetch the input source."})));
    assert_eq!(state.phase, BuildPhase::Failed);
    assert_eq!(
        state.message,
        "FetchSourceFailed: Failed to fetch the input source."
    );
    let state = status::build_state(&build_with(
        json!({"phase": "Error", "reason": "BuildPodDeleted"}),
    ));
    assert_eq!(state.message, "BuildPodDeleted");
}

#[test]
fn built_image_pins_the_output_reference() {
    let reference = "image-registry.openshift-image-registry.svc:5000/team-a/b1:3f2a9c1e";
    let b = build_with(
        json!({"phase": "Complete", "outputDockerImageReference": reference,
        "output": {"to": {"imageDigest": DIGEST}}}),
    );
    assert_eq!(
        status::built_image(&b).unwrap(),
        format!("image-registry.openshift-image-registry.svc:5000/team-a/b1@{DIGEST}")
    );
    let no_digest =
        build_with(json!({"phase": "Complete", "outputDockerImageReference": reference}));
    assert!(
        matches!(status::built_image(&no_digest), Err(Error::Other(m)) if m.contains("imageDigest"))
    );
    let running = build_with(json!({"phase": "Running", "outputDockerImageReference": reference}));
    assert!(matches!(
        status::built_image(&running),
        Err(Error::Other(_))
    ));
}

#[test]
fn logs_come_from_the_build_pod_and_deletion_covers_everything() {
    assert_eq!(status::build_pod("b1"), "b1-build");
    let owned = manifests::owned_objects("b1");
    let kinds: Vec<_> = owned.iter().map(|(_, k, n)| (*k, n.as_str())).collect();
    assert_eq!(
        kinds,
        vec![
            ("Build", "b1"),
            ("BuildConfig", "b1"),
            ("ImageStream", "b1"),
            ("ConfigMap", "b1-src")
        ]
    );
}
