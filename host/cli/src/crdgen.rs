//! Writes the CRD YAML generated from the Rust types to stdout, or to a file.

fn main() -> anyhow::Result<()> {
    let yaml = nbv_crd::crd_yaml()?;
    match std::env::args().nth(1) {
        Some(path) => std::fs::write(&path, yaml)?,
        None => print!("{yaml}"),
    }
    Ok(())
}
