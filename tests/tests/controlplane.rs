//! The test platform itself, proven against the real apiserver: RBAC is
//! enforced, stand-in API groups are discoverable, garbage collection runs,
//! and the NotebookValidationJob CRD round-trips a full-featured job.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::discovery::Discovery;
use kube::{Resource, ResourceExt};
use nbv_crd::NotebookValidationJob;
use nbv_tests::{
    ControlPlane, Options, create_namespace, install_nbv_crd, install_openshift_standins,
    install_tekton_standins, workspace_root,
};

const OPTS: Options = Options {
    controller_manager: true,
};

async fn admin() -> kube::Client {
    let cp = ControlPlane::shared(OPTS).expect("control plane starts");
    cp.client().await.expect("admin client")
}

fn config_map(name: &str, ns: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(ns.into()),
            ..Default::default()
        },
        data: Some([("k".to_string(), "v".to_string())].into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn admin_can_write_objects() {
    let client = admin().await;
    let ns = create_namespace(&client, "admin").await.expect("namespace");
    let cms: Api<ConfigMap> = Api::namespaced(client, &ns);
    cms.create(&PostParams::default(), &config_map("hello", &ns))
        .await
        .expect("create");
    let back = cms.get("hello").await.expect("get");
    assert_eq!(
        back.data.and_then(|d| d.get("k").cloned()).as_deref(),
        Some("v")
    );
}

#[tokio::test]
async fn rbac_is_enforced() {
    let cp = ControlPlane::shared(OPTS).expect("control plane starts");
    let client = cp.client().await.expect("admin");
    let ns = create_namespace(&client, "rbac").await.expect("namespace");
    let user = format!("system:serviceaccount:{ns}:reader");
    let as_sa = cp
        .client_impersonating(&user, &["system:serviceaccounts", "system:authenticated"])
        .await
        .expect("impersonating client");
    let pods: Api<Pod> = Api::namespaced(as_sa.clone(), &ns);
    match pods.list(&ListParams::default()).await {
        Err(kube::Error::Api(e)) => assert_eq!(e.code, 403, "{e:?}"),
        other => panic!("listing pods without a binding must be forbidden, got {other:?}"),
    }

    let roles: Api<Role> = Api::namespaced(client.clone(), &ns);
    roles
        .create(
            &PostParams::default(),
            &Role {
                metadata: ObjectMeta {
                    name: Some("pod-reader".into()),
                    ..Default::default()
                },
                rules: Some(vec![PolicyRule {
                    api_groups: Some(vec!["".into()]),
                    resources: Some(vec!["pods".into()]),
                    verbs: vec!["list".into()],
                    ..Default::default()
                }]),
            },
        )
        .await
        .expect("role");
    let bindings: Api<RoleBinding> = Api::namespaced(client, &ns);
    bindings
        .create(
            &PostParams::default(),
            &RoleBinding {
                metadata: ObjectMeta {
                    name: Some("pod-reader".into()),
                    ..Default::default()
                },
                role_ref: RoleRef {
                    api_group: Some("rbac.authorization.k8s.io".into()),
                    kind: "Role".into(),
                    name: "pod-reader".into(),
                },
                subjects: Some(vec![Subject {
                    kind: "ServiceAccount".into(),
                    name: "reader".into(),
                    namespace: Some(ns.clone()),
                    ..Default::default()
                }]),
            },
        )
        .await
        .expect("binding");
    // RBAC caches refresh quickly but not instantly.
    let started = Instant::now();
    loop {
        match pods.list(&ListParams::default()).await {
            Ok(_) => break,
            Err(e) if started.elapsed() < Duration::from_secs(10) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("listing pods with a binding must succeed: {e:?}"),
        }
    }
    // The binding grants list only: a write stays forbidden.
    let denied = Api::<ConfigMap>::namespaced(as_sa, &ns)
        .create(&PostParams::default(), &config_map("nope", &ns))
        .await;
    assert!(
        matches!(denied, Err(kube::Error::Api(ref e)) if e.code == 403),
        "{denied:?}"
    );
}

#[tokio::test]
async fn standin_api_groups_are_discoverable() {
    let client = admin().await;
    install_openshift_standins(&client)
        .await
        .expect("openshift stand-ins");
    install_tekton_standins(&client)
        .await
        .expect("tekton stand-ins");
    let discovery = Discovery::new(client).run().await.expect("discovery");
    for group in ["build.openshift.io", "image.openshift.io", "tekton.dev"] {
        assert!(discovery.has_group(group), "{group} is not discoverable");
    }
    let (_, caps) = discovery
        .resolve_gvk(&kube::api::GroupVersionKind::gvk(
            "tekton.dev",
            "v1",
            "PipelineRun",
        ))
        .expect("PipelineRun resolves");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
}

#[tokio::test]
async fn garbage_collector_removes_dependents() {
    let client = admin().await;
    let ns = create_namespace(&client, "gc").await.expect("namespace");
    let cms: Api<ConfigMap> = Api::namespaced(client, &ns);
    let owner = cms
        .create(&PostParams::default(), &config_map("owner", &ns))
        .await
        .expect("owner");
    let mut dependent = config_map("dependent", &ns);
    dependent.metadata.owner_references =
        Some(vec![owner.controller_owner_ref(&()).expect("owner ref")]);
    cms.create(&PostParams::default(), &dependent)
        .await
        .expect("dependent");
    cms.delete("owner", &DeleteParams::background())
        .await
        .expect("delete owner");
    let started = Instant::now();
    while cms.get_opt("dependent").await.expect("get").is_some() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the garbage collector did not remove the dependent within 60s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn notebook_validation_job_round_trips() {
    let client = admin().await;
    install_nbv_crd(&client).await.expect("CRD installs");
    let ns = create_namespace(&client, "crd").await.expect("namespace");
    let jobs: Api<NotebookValidationJob> = Api::namespaced(client.clone(), &ns);
    for sample in [
        "golden-comparison",
        "build-tekton",
        "scheduling-and-volumes",
        "basic",
    ] {
        let text =
            std::fs::read_to_string(workspace_root().join(format!("deploy/samples/{sample}.yaml")))
                .expect("sample");
        let job: NotebookValidationJob = serde_yaml::from_str(&text).expect("sample parses");
        let created = jobs
            .create(&PostParams::default(), &job)
            .await
            .unwrap_or_else(|e| panic!("{sample}: {e}"));
        let back = jobs.get(&created.name_any()).await.expect("get");
        assert_eq!(
            back.spec, job.spec,
            "{sample} did not round-trip through the apiserver"
        );
    }

    // Defaults come from the schema, exactly as the Go operator's did.
    let minimal: NotebookValidationJob = serde_json::from_value(serde_json::json!({
        "apiVersion": "mlops.mlops.dev/v1alpha1", "kind": "NotebookValidationJob",
        "metadata": {"name": "defaults"},
        "spec": {"notebook": {"git": {"url": "https://example.com/r.git", "ref": "main"}, "path": "a.ipynb"},
                 "podConfig": {"containerImage": "img", "buildConfig": {"enabled": true}}}
    }))
    .expect("minimal job");
    let raw: Api<kube::api::DynamicObject> = Api::namespaced_with(
        client.clone(),
        &ns,
        &kube::api::ApiResource::erase::<NotebookValidationJob>(&()),
    );
    let created = raw
        .create(
            &PostParams::default(),
            &serde_json::from_value(serde_json::to_value(&minimal).expect("json"))
                .expect("dynamic"),
        )
        .await
        .expect("create minimal");
    assert_eq!(created.data["spec"]["timeout"], "30m");
    assert_eq!(
        created.data["spec"]["podConfig"]["buildConfig"]["strategy"],
        "s2i"
    );

    // The status subresource takes what the operator writes.
    let status = serde_json::json!({"status": {"phase": "Succeeded", "observedGeneration": 1,
        "results": [{"cellIndex": 0, "status": "Success", "executionTime": "1.5s"}]}});
    let patched = jobs
        .patch_status("defaults", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .expect("status patch");
    assert_eq!(
        patched.status.and_then(|s| s.phase),
        Some(nbv_crd::Phase::Succeeded)
    );

    // Short names are served for kubectl.
    let discovery = Discovery::new(client.clone())
        .run()
        .await
        .expect("discovery");
    let (resource, _) = discovery
        .resolve_gvk(&kube::api::GroupVersionKind::gvk(
            "mlops.mlops.dev",
            "v1alpha1",
            "NotebookValidationJob",
        ))
        .expect("NotebookValidationJob is served");
    assert_eq!(resource.plural, "notebookvalidationjobs");
}

#[tokio::test]
async fn fields_nbv_cannot_honour_are_refused_with_a_clear_message() {
    let client = admin().await;
    install_nbv_crd(&client).await.expect("CRD installs");
    let ns = create_namespace(&client, "cel").await.expect("namespace");
    let raw: Api<kube::api::DynamicObject> = Api::namespaced_with(
        client,
        &ns,
        &kube::api::ApiResource::erase::<NotebookValidationJob>(&()),
    );
    let job = |name: &str, extra: serde_json::Value| {
        let mut spec = serde_json::json!({"notebook": {"git": {"url": "https://example.com/r.git", "ref": "main"}, "path": "a.ipynb"},
                                          "podConfig": {"containerImage": "img"}});
        if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
            s.extend(e.clone());
        }
        serde_json::from_value::<kube::api::DynamicObject>(serde_json::json!({
            "apiVersion": "mlops.mlops.dev/v1alpha1", "kind": "NotebookValidationJob",
            "metadata": {"name": name}, "spec": spec}))
        .expect("dynamic object")
    };
    let refused = raw
        .create(
            &PostParams::default(),
            &job(
                "model",
                serde_json::json!({"modelValidation": {"platform": "kserve"}}),
            ),
        )
        .await;
    match refused {
        Err(kube::Error::Api(e)) => {
            assert_eq!(e.code, 422);
            assert!(
                e.message.contains("modelValidation.enabled: false"),
                "{}",
                e.message
            );
        }
        other => panic!("modelValidation must be refused, got {other:?}"),
    }
    let refused = raw
        .create(
            &PostParams::default(),
            &job(
                "strict",
                serde_json::json!({"validationConfig": {"strictMode": true}}),
            ),
        )
        .await;
    assert!(
        matches!(refused, Err(kube::Error::Api(ref e)) if e.message.contains("failOnStderr")),
        "{refused:?}"
    );
    // Honoured settings of the same blocks are accepted.
    raw.create(&PostParams::default(), &job("ok", serde_json::json!({"validationConfig": {"failOnStderr": true},
                                                                     "modelValidation": {"enabled": false}})))
        .await
        .expect("supported fields are accepted");
    let bad_timeout = raw
        .create(
            &PostParams::default(),
            &job("t", serde_json::json!({"timeout": "ten minutes"})),
        )
        .await;
    assert!(
        matches!(bad_timeout, Err(kube::Error::Api(ref e)) if e.code == 422),
        "{bad_timeout:?}"
    );
}
