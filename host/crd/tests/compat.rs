//! YAML written for the Go operator must keep working unchanged: every
//! sample parses, round-trips, and gets the defaults the Go API documented.

use std::path::PathBuf;

use nbv_crd::{NotebookValidationJob, NotebookValidationJobStatus, Phase};

fn samples() -> Vec<(PathBuf, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/samples");
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .expect("deploy/samples exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable sample");
            (p, text)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_sample_parses_and_round_trips() {
    let samples = samples();
    assert!(
        samples.len() >= 4,
        "expected the samples under deploy/samples"
    );
    for (path, text) in samples {
        let job: NotebookValidationJob = serde_yaml::from_str(&text)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
        let back = serde_json::to_value(&job).expect("serialises");
        let again: NotebookValidationJob = serde_json::from_value(back).expect("parses again");
        assert_eq!(
            job.spec,
            again.spec,
            "{} does not round-trip",
            path.display()
        );
    }
}

#[test]
fn go_defaults_apply_to_minimal_yaml() {
    let job: NotebookValidationJob = serde_yaml::from_str(
        r#"
apiVersion: mlops.mlops.dev/v1alpha1
kind: NotebookValidationJob
metadata: {name: minimal}
spec:
  notebook: {git: {url: "https://example.com/r.git", ref: main}, path: a.ipynb}
  podConfig:
    containerImage: img
    buildConfig: {enabled: true}
"#,
    )
    .expect("minimal job parses");
    assert_eq!(job.spec.timeout, "30m");
    assert_eq!(job.spec.pod_config.service_account_name, "default");
    let build = job.spec.pod_config.build_config.expect("buildConfig kept");
    assert!(build.enabled);
    assert_eq!(build.strategy, "s2i");
    assert_eq!(build.base_image, "quay.io/jupyter/minimal-notebook:latest");
    assert!(build.auto_generate_requirements);
    assert_eq!(build.fallback_strategy, "warn");
    assert_eq!(build.timeout, "15m");
}

#[test]
fn status_written_by_the_go_operator_still_reads() {
    let status: NotebookValidationJobStatus = serde_json::from_value(serde_json::json!({
        "phase": "BuildComplete",
        "retryCount": 2,
        "results": [{"cellIndex": 0, "status": "Success", "executionTime": "1.5s"}],
        "buildStatus": {"phase": "Complete", "imageReference": "image-registry/ns/img:tag",
                        "availableImages": [{"name": "s2i-minimal", "displayName": "Minimal",
                                             "description": "d", "imageRef": "x", "s2iEnabled": true}]},
        "educationalFeedback": [{"cell": -1, "severity": "info", "category": "c", "message": "m"}],
        "modelValidationResult": {"phase": "both", "platform": "kserve", "platformDetected": false, "success": true}
    }))
    .expect("Go status parses");
    assert_eq!(status.phase, Some(Phase::BuildComplete));
    assert_eq!(status.retry_count, 2);
    assert_eq!(status.build_status.expect("kept").available_images.len(), 1);
}

#[test]
fn unknown_phase_is_rejected_not_guessed() {
    let err = serde_json::from_value::<NotebookValidationJobStatus>(
        serde_json::json!({"phase": "Exploded"}),
    );
    assert!(
        err.is_err(),
        "an unknown phase must not deserialise into a default"
    );
}
