//! The committed CRD must be exactly what the Rust types generate, so the
//! schema the apiserver validates against never drifts from the code.

use std::path::PathBuf;

fn committed_crd_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(nbv_crd::CRD_PATH)
}

#[test]
fn committed_crd_matches_generated() {
    let generated = nbv_crd::crd_yaml().expect("CRD serialises");
    let path = committed_crd_path();
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}; run `make crds`", path.display()));
    assert!(
        committed == generated,
        "{} is out of date with the Rust types in host/crd; run `make crds` and commit the result",
        path.display()
    );
}

#[test]
fn crd_has_short_names_and_printer_columns() {
    use kube::CustomResourceExt;
    let crd = nbv_crd::NotebookValidationJob::crd();
    let names = &crd.spec.names;
    assert_eq!(
        names.short_names.as_deref(),
        Some(&["nvj".to_string(), "nvjob".to_string()][..])
    );
    assert_eq!(crd.spec.group, "mlops.mlops.dev");
    let version = &crd.spec.versions[0];
    assert_eq!(version.name, "v1alpha1");
    let columns: Vec<_> = version
        .additional_printer_columns
        .iter()
        .flatten()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        columns,
        ["Phase", "Notebook", "Git-URL", "Timeout", "Age", "Message"]
    );
    assert!(
        version
            .subresources
            .as_ref()
            .and_then(|s| s.status.as_ref())
            .is_some()
    );
}
