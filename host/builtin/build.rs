//! Builds the guest components with a nested `cargo build --target
//! wasm32-wasip2`, in its own target directory (so it never waits on the outer
//! build's lock), and hands their paths to `include_bytes!`.

use std::path::{Path, PathBuf};
use std::process::Command;

const GUESTS: &[(&str, &str)] = &[
    ("nbv-strategy-s2i", "nbv_strategy_s2i"),
    ("nbv-strategy-tekton", "nbv_strategy_tekton"),
    ("nbv-strategy-kaniko", "nbv_strategy_kaniko"),
    ("nbv-fixture-hostile", "nbv_fixture_hostile"),
];

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .ancestors()
        .nth(2)
        .expect("host/builtin lives two levels below the workspace root")
        .to_path_buf();
    for dir in [
        "wit",
        "guest-sdk",
        "strategies",
        "tests/fixtures/hostile/src",
        "tests/fixtures/hostile/Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    // OUT_DIR is <target>/<profile>/build/<pkg>-<hash>/out; share one guest
    // target dir per outer target dir so every profile reuses the same build.
    let target_dir = out_dir
        .ancestors()
        .nth(4)
        .map(|t| t.join("wasm-guests"))
        .unwrap_or_else(|| out_dir.join("wasm-guests"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--target-dir",
        ])
        .arg(&target_dir);
    for (package, _) in GUESTS {
        cmd.args(["-p", package]);
    }
    // The outer build's flags and wrappers (clippy's driver, coverage
    // instrumentation, host RUSTFLAGS) must not leak into the guest build.
    for var in [
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_MANIFEST_DIR",
        "CARGO_PKG_NAME",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("running cargo for the wasm guests: {e}"));
    if !status.success() {
        panic!(
            "building the strategy components for wasm32-wasip2 failed (see above). \
             If the target is missing, run scripts/setup-rust.sh (rustup target add wasm32-wasip2)."
        );
    }
    let release = target_dir.join("wasm32-wasip2").join("release");
    for (_, file) in GUESTS {
        let path = release.join(format!("{file}.wasm"));
        assert!(
            exists(&path),
            "expected {} after the guest build",
            path.display()
        );
        println!(
            "cargo:rustc-env=NBV_WASM_{}={}",
            file.to_uppercase(),
            path.display()
        );
    }
}

fn exists(p: &Path) -> bool {
    p.metadata().map(|m| m.len() > 0).unwrap_or(false)
}
