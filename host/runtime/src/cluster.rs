//! Where a strategy's (already guarded) Kubernetes calls go: a real cluster
//! through kube-rs, or recorded fixtures for `nbv strategy test --fixture`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;

use futures::future::BoxFuture;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, LogParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;

use crate::guard::api_version_of;
use crate::{ApiKind, GuestError};

/// The cluster operations the sandbox forwards. Namespaces and selectors arrive
/// already decided by the guard; implementations do no policy.
pub trait Cluster: Send + Sync {
    fn has_api_group<'a>(&'a self, group: &'a str) -> BoxFuture<'a, Result<bool, GuestError>>;
    fn get<'a>(
        &'a self,
        namespace: &'a str,
        api_version: &'a str,
        kind: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<Value>, GuestError>>;
    fn list<'a>(
        &'a self,
        namespace: &'a str,
        kind: &'a ApiKind,
        selector: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Value>, GuestError>>;
    fn apply<'a>(
        &'a self,
        namespace: &'a str,
        kind: &'a ApiKind,
        name: &'a str,
        manifest: &'a Value,
        field_manager: &'a str,
    ) -> BoxFuture<'a, Result<Value, GuestError>>;
    fn delete<'a>(
        &'a self,
        namespace: &'a str,
        kind: &'a ApiKind,
        name: &'a str,
    ) -> BoxFuture<'a, Result<bool, GuestError>>;
    fn pod_logs<'a>(
        &'a self,
        namespace: &'a str,
        pod: &'a str,
        container: Option<&'a str>,
        tail_lines: u32,
    ) -> BoxFuture<'a, Result<String, GuestError>>;
}

/// A cluster that refuses everything: what `describe` and `name` run against.
pub struct NoCluster;

fn no_cluster<T>() -> Result<T, GuestError> {
    Err(GuestError::Unavailable(
        "no cluster access in this call (describe/name run before any job)".into(),
    ))
}

impl Cluster for NoCluster {
    fn has_api_group<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<bool, GuestError>> {
        Box::pin(async { no_cluster() })
    }
    fn get<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: &'a str,
        _: &'a str,
    ) -> BoxFuture<'a, Result<Option<Value>, GuestError>> {
        Box::pin(async { no_cluster() })
    }
    fn list<'a>(
        &'a self,
        _: &'a str,
        _: &'a ApiKind,
        _: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Value>, GuestError>> {
        Box::pin(async { no_cluster() })
    }
    fn apply<'a>(
        &'a self,
        _: &'a str,
        _: &'a ApiKind,
        _: &'a str,
        _: &'a Value,
        _: &'a str,
    ) -> BoxFuture<'a, Result<Value, GuestError>> {
        Box::pin(async { no_cluster() })
    }
    fn delete<'a>(
        &'a self,
        _: &'a str,
        _: &'a ApiKind,
        _: &'a str,
    ) -> BoxFuture<'a, Result<bool, GuestError>> {
        Box::pin(async { no_cluster() })
    }
    fn pod_logs<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: Option<&'a str>,
        _: u32,
    ) -> BoxFuture<'a, Result<String, GuestError>> {
        Box::pin(async { no_cluster() })
    }
}

/// A real cluster through the operator's kube client (and so its RBAC).
#[derive(Clone)]
pub struct KubeCluster {
    client: kube::Client,
}

impl KubeCluster {
    pub fn new(client: kube::Client) -> Self {
        KubeCluster { client }
    }

    fn api(&self, namespace: &str, kind: &ApiKind) -> Api<DynamicObject> {
        let resource = ApiResource {
            group: kind.group.clone(),
            version: kind.version.clone(),
            api_version: api_version_of(kind),
            kind: kind.kind.clone(),
            plural: kind.plural.clone(),
        };
        Api::namespaced_with(self.client.clone(), namespace, &resource)
    }
}

/// Maps API errors onto the WIT error so strategies can react to "not found"
/// or "conflict", and transport failures read as retryable.
fn from_kube(what: &str, e: kube::Error) -> GuestError {
    match e {
        kube::Error::Api(s) => {
            let msg = format!("{what}: {} ({})", s.message, s.reason);
            match s.code {
                404 => GuestError::NotFound(msg),
                409 => GuestError::Conflict(msg),
                403 => GuestError::Denied(format!(
                    "{msg}; the operator's RBAC does not allow this - grant it in deploy/rbac"
                )),
                400 | 422 => GuestError::Invalid(msg),
                c if c >= 500 || c == 429 => GuestError::Unavailable(msg),
                _ => GuestError::Other(msg),
            }
        }
        other => GuestError::Unavailable(format!("{what}: {other}")),
    }
}

fn to_value(what: &str, obj: &DynamicObject) -> Result<Value, GuestError> {
    serde_json::to_value(obj).map_err(|e| GuestError::Other(format!("{what}: {e}")))
}

impl Cluster for KubeCluster {
    fn has_api_group<'a>(&'a self, group: &'a str) -> BoxFuture<'a, Result<bool, GuestError>> {
        Box::pin(async move {
            if group.is_empty() {
                return Ok(true);
            }
            let groups = self
                .client
                .list_api_groups()
                .await
                .map_err(|e| from_kube("listing API groups", e))?;
            Ok(groups.groups.iter().any(|g| g.name == group))
        })
    }

    fn get<'a>(
        &'a self,
        namespace: &'a str,
        api_version: &'a str,
        kind: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<Value>, GuestError>> {
        Box::pin(async move {
            let what = format!("get {api_version}/{kind} {name}");
            let (group, version) = match api_version.split_once('/') {
                Some((g, v)) => (g, v),
                None => ("", api_version),
            };
            let gvk = GroupVersionKind::gvk(group, version, kind);
            let (resource, _) = kube::discovery::pinned_kind(&self.client, &gvk)
                .await
                .map_err(|e| from_kube(&what, e))?;
            let api: Api<DynamicObject> =
                Api::namespaced_with(self.client.clone(), namespace, &resource);
            match api.get_opt(name).await.map_err(|e| from_kube(&what, e))? {
                Some(o) => to_value(&what, &o).map(Some),
                None => Ok(None),
            }
        })
    }

    fn list<'a>(
        &'a self,
        namespace: &'a str,
        kind: &'a ApiKind,
        selector: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Value>, GuestError>> {
        Box::pin(async move {
            let what = format!("list {}", kind.plural);
            let list = self
                .api(namespace, kind)
                .list(&ListParams::default().labels(selector))
                .await
                .map_err(|e| from_kube(&what, e))?;
            list.items.iter().map(|o| to_value(&what, o)).collect()
        })
    }

    fn apply<'a>(
        &'a self,
        namespace: &'a str,
        kind: &'a ApiKind,
        name: &'a str,
        manifest: &'a Value,
        field_manager: &'a str,
    ) -> BoxFuture<'a, Result<Value, GuestError>> {
        Box::pin(async move {
            let what = format!("apply {} {name}", kind.kind);
            let applied = self
                .api(namespace, kind)
                .patch(
                    name,
                    &PatchParams::apply(field_manager).force(),
                    &Patch::Apply(manifest),
                )
                .await
                .map_err(|e| from_kube(&what, e))?;
            to_value(&what, &applied)
        })
    }

    fn delete<'a>(
        &'a self,
        namespace: &'a str,
        kind: &'a ApiKind,
        name: &'a str,
    ) -> BoxFuture<'a, Result<bool, GuestError>> {
        Box::pin(async move {
            let what = format!("delete {} {name}", kind.kind);
            let params = DeleteParams::background();
            match self.api(namespace, kind).delete(name, &params).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
                Err(e) => Err(from_kube(&what, e)),
            }
        })
    }

    fn pod_logs<'a>(
        &'a self,
        namespace: &'a str,
        pod: &'a str,
        container: Option<&'a str>,
        tail_lines: u32,
    ) -> BoxFuture<'a, Result<String, GuestError>> {
        Box::pin(async move {
            let pods: Api<k8s_openapi::api::core::v1::Pod> =
                Api::namespaced(self.client.clone(), namespace);
            let params = LogParams {
                container: container.map(str::to_string),
                tail_lines: Some(i64::from(tail_lines.clamp(1, 10_000))),
                ..LogParams::default()
            };
            pods.logs(pod, &params)
                .await
                .map_err(|e| from_kube(&format!("logs of pod {pod}"), e))
        })
    }
}

/// Recorded cluster state for `nbv strategy test --fixture DIR`: the file
/// `DIR/cluster.json` holds `{"apiGroups": [...], "objects": [...], "logs":
/// {"pod/container": "text"}}`. Applies and deletes change the in-memory copy
/// (an apply keeps an existing object's `status`, as the API server does), so
/// a fixture can pre-record the status a build controller would have written.
#[derive(Default)]
pub struct FixtureCluster {
    groups: BTreeSet<String>,
    objects: Mutex<BTreeMap<(String, String, String, String), Value>>,
    logs: BTreeMap<String, String>,
}

impl FixtureCluster {
    pub fn load(dir: &Path) -> Result<Self, String> {
        let path = dir.join("cluster.json");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "{}: {e} (a fixture directory needs cluster.json)",
                path.display()
            )
        })?;
        let value: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_value(&value).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn from_value(value: &Value) -> Result<Self, String> {
        let groups = value
            .get("apiGroups")
            .and_then(Value::as_array)
            .map(|g| {
                g.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let mut objects = BTreeMap::new();
        for (i, o) in value
            .get("objects")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let key = key_of(o).ok_or_else(|| {
                format!("objects[{i}] needs apiVersion, kind, metadata.name and metadata.namespace")
            })?;
            objects.insert(key, o.clone());
        }
        let logs = value
            .get("logs")
            .and_then(Value::as_object)
            .map(|l| {
                l.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        Ok(FixtureCluster {
            groups,
            objects: Mutex::new(objects),
            logs,
        })
    }

    /// Every object as it stands now (for the harness's final report).
    pub fn objects(&self) -> Vec<Value> {
        self.objects
            .lock()
            .map(|o| o.values().cloned().collect())
            .unwrap_or_default()
    }
}

fn key_of(o: &Value) -> Option<(String, String, String, String)> {
    let s = |p: &str| o.pointer(p).and_then(Value::as_str).map(str::to_string);
    Some((
        s("/apiVersion")?,
        s("/kind")?,
        s("/metadata/namespace")?,
        s("/metadata/name")?,
    ))
}

fn matches_selector(o: &Value, selector: &str) -> bool {
    selector
        .split(',')
        .filter(|s| !s.is_empty())
        .all(|term| match term.split_once('=') {
            Some((k, v)) => {
                o.pointer("/metadata/labels")
                    .and_then(|l| l.get(k.trim_end_matches('=')))
                    .and_then(Value::as_str)
                    == Some(v)
            }
            None => o
                .pointer("/metadata/labels")
                .and_then(|l| l.get(term))
                .is_some(),
        })
}

fn poisoned() -> GuestError {
    GuestError::Other("fixture state is unusable after an earlier panic".into())
}

impl Cluster for FixtureCluster {
    fn has_api_group<'a>(&'a self, group: &'a str) -> BoxFuture<'a, Result<bool, GuestError>> {
        Box::pin(async move { Ok(group.is_empty() || self.groups.contains(group)) })
    }

    fn get<'a>(
        &'a self,
        namespace: &'a str,
        api_version: &'a str,
        kind: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<Value>, GuestError>> {
        Box::pin(async move {
            let key = (
                api_version.into(),
                kind.into(),
                namespace.into(),
                name.into(),
            );
            Ok(self
                .objects
                .lock()
                .map_err(|_| poisoned())?
                .get(&key)
                .cloned())
        })
    }

    fn list<'a>(
        &'a self,
        namespace: &'a str,
        kind: &'a ApiKind,
        selector: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Value>, GuestError>> {
        Box::pin(async move {
            let api_version = api_version_of(kind);
            let objects = self.objects.lock().map_err(|_| poisoned())?;
            Ok(objects
                .iter()
                .filter(|((av, k, ns, _), o)| {
                    *av == api_version
                        && *k == kind.kind
                        && ns == namespace
                        && matches_selector(o, selector)
                })
                .map(|(_, o)| o.clone())
                .collect())
        })
    }

    fn apply<'a>(
        &'a self,
        namespace: &'a str,
        kind: &'a ApiKind,
        name: &'a str,
        manifest: &'a Value,
        _field_manager: &'a str,
    ) -> BoxFuture<'a, Result<Value, GuestError>> {
        Box::pin(async move {
            let key = (
                api_version_of(kind),
                kind.kind.clone(),
                namespace.to_string(),
                name.to_string(),
            );
            let mut objects = self.objects.lock().map_err(|_| poisoned())?;
            let mut object = manifest.clone();
            if let Some(status) = objects.get(&key).and_then(|o| o.get("status")).cloned()
                && let Some(map) = object.as_object_mut()
            {
                map.insert("status".into(), status);
            }
            objects.insert(key, object.clone());
            Ok(object)
        })
    }

    fn delete<'a>(
        &'a self,
        namespace: &'a str,
        kind: &'a ApiKind,
        name: &'a str,
    ) -> BoxFuture<'a, Result<bool, GuestError>> {
        Box::pin(async move {
            let key = (
                api_version_of(kind),
                kind.kind.clone(),
                namespace.to_string(),
                name.to_string(),
            );
            Ok(self
                .objects
                .lock()
                .map_err(|_| poisoned())?
                .remove(&key)
                .is_some())
        })
    }

    fn pod_logs<'a>(
        &'a self,
        _namespace: &'a str,
        pod: &'a str,
        container: Option<&'a str>,
        tail_lines: u32,
    ) -> BoxFuture<'a, Result<String, GuestError>> {
        Box::pin(async move {
            let key = format!("{pod}/{}", container.unwrap_or_default());
            let text = self
                .logs
                .get(&key)
                .or_else(|| self.logs.get(pod))
                .ok_or_else(|| GuestError::NotFound(format!("no recorded logs for {key}")))?;
            let lines: Vec<&str> = text.lines().collect();
            let start = lines.len().saturating_sub(tail_lines as usize);
            Ok(lines[start..].join("\n"))
        })
    }
}
