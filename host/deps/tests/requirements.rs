//! ADR-024 dependency tiers on real notebook files in temporary repositories.

use std::path::{Path, PathBuf};

use nbv_deps::requirements::{
    Fallback, RequirementsError, ResolveOptions, Resolved, Tier, digest, requirements_txt, resolve,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A temporary repository; files are written relative to its root.
struct Repo(tempfile::TempDir);

impl Repo {
    fn new() -> Self {
        Repo(tempfile::tempdir().expect("tempdir"))
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn write(&self, rel: &str, content: &str) -> &Self {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
        self
    }

    fn notebook(&self, rel: &str, fixture_name: &str) -> &Self {
        let content = std::fs::read_to_string(fixture(fixture_name)).expect("fixture");
        self.write(rel, &content)
    }

    fn resolve(
        &self,
        notebook: &str,
        opts: &ResolveOptions,
    ) -> Result<Resolved, RequirementsError> {
        resolve(self.path(), notebook, opts)
    }
}

fn opts(auto_generate: bool, fallback: Fallback) -> ResolveOptions {
    ResolveOptions {
        auto_generate,
        fallback,
        ..ResolveOptions::default()
    }
}

fn has_warning(resolved: &Resolved, needle: &str) -> bool {
    resolved.warnings.iter().any(|w| w.contains(needle))
}

// ---------------------------------------------------------------- tier 1

#[test]
fn requirements_next_to_the_notebook_wins_over_root_and_imports() {
    let repo = Repo::new();
    repo.notebook("analysis/churn.ipynb", "imports.ipynb")
        .write("analysis/requirements.txt", "pandas==2.2.2\n")
        .write("requirements.txt", "flask\n");
    let r = repo
        .resolve("analysis/churn.ipynb", &ResolveOptions::default())
        .unwrap();
    assert_eq!(r.tier, Tier::RequirementsFile);
    assert_eq!(r.source, "analysis/requirements.txt");
    assert_eq!(r.requirements, vec!["pandas==2.2.2"]);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn root_requirements_are_used_when_the_notebook_directory_has_none() {
    let repo = Repo::new();
    repo.notebook("notebooks/deep/nb.ipynb", "no_imports.ipynb")
        .write("requirements.txt", "requests>=2.31\n");
    let r = repo
        .resolve("notebooks/deep/nb.ipynb", &opts(false, Fallback::Fail))
        .unwrap();
    assert_eq!(
        (r.tier, r.source.as_str()),
        (Tier::RequirementsFile, "requirements.txt")
    );
    assert_eq!(r.requirements, vec!["requests>=2.31"]);
}

#[test]
fn requirements_file_is_parsed_like_pip() {
    let repo = Repo::new();
    repo.notebook("nb.ipynb", "no_imports.ipynb")
        .write(
            "requirements.txt",
            "# pinned stack\n\
             --index-url https://pypi.example.org/simple\n\
             numpy==1.26.4  # inline comment\n\
             pandas[performance] >=2.0, <3 ; python_version >= \"3.9\"\n\
             scikit-learn==1.4.2 \\\n    --hash=sha256:abc \\\n    --hash=sha256:def\n\
             \n\
             -r deps/extra.txt\n\
             numpy==1.26.4\n\
             -q\n\
             -e git+https://github.com/org/tool.git@v1#egg=tool\n\
             Django>=5\n",
        )
        .write(
            "deps/extra.txt",
            "--extra-index-url=https://download.pytorch.org/whl/cpu\n-r ../more.txt\ntorch==2.3.0\n",
        )
        .write("more.txt", "--pre\nattrs\n");
    let r = repo
        .resolve("nb.ipynb", &ResolveOptions::default())
        .unwrap();
    assert_eq!(r.tier, Tier::RequirementsFile);
    assert_eq!(
        r.requirements,
        vec![
            "--index-url https://pypi.example.org/simple",
            "--extra-index-url https://download.pytorch.org/whl/cpu",
            "--pre",
            "attrs",
            "Django>=5",
            "numpy==1.26.4",
            "pandas[performance] >=2.0, <3 ; python_version >= \"3.9\"",
            "scikit-learn==1.4.2 --hash=sha256:abc --hash=sha256:def",
            "-e git+https://github.com/org/tool.git@v1#egg=tool",
            "torch==2.3.0",
        ]
    );
}

#[test]
fn explicit_requirements_file_has_no_fallback() {
    let repo = Repo::new();
    repo.notebook("nb.ipynb", "imports.ipynb")
        .write("requirements.txt", "numpy\n")
        .write("env/prod.txt", "numpy==2.0.0\n");
    let explicit = |file: &str| ResolveOptions {
        requirements_file: Some(file.into()),
        ..ResolveOptions::default()
    };
    let r = repo.resolve("nb.ipynb", &explicit("env/prod.txt")).unwrap();
    assert_eq!(
        (r.tier, r.source.as_str()),
        (Tier::RequirementsFile, "env/prod.txt")
    );
    assert_eq!(r.requirements, vec!["numpy==2.0.0"]);

    let err = repo
        .resolve("nb.ipynb", &explicit("env/missing.txt"))
        .unwrap_err();
    assert!(
        matches!(err, RequirementsError::RequirementsFileMissing { .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("env/missing.txt"), "{message}");
    assert!(
        message.contains("buildConfig.requirementsFile"),
        "{message}"
    );
    assert_eq!(err.reason(), "RequirementsFileNotFound");
}

#[test]
fn requirements_sources_are_searched_in_order() {
    let repo = Repo::new();
    repo.notebook("nb.ipynb", "no_imports.ipynb")
        .write("requirements.txt", "ignored\n")
        .write("ci/requirements-test.txt", "pytest==8.2.0\n")
        .write("envs/gpu/requirements.txt", "torch==2.3.0\n");
    let sources = |list: &[&str]| ResolveOptions {
        requirements_sources: list.iter().map(|s| s.to_string()).collect(),
        ..ResolveOptions::default()
    };
    let r = repo
        .resolve(
            "nb.ipynb",
            &sources(&["missing.txt", "ci/requirements-test.txt", "envs/gpu"]),
        )
        .unwrap();
    assert_eq!(r.source, "ci/requirements-test.txt");
    assert_eq!(r.requirements, vec!["pytest==8.2.0"]);
    // A directory entry means its requirements.txt.
    let r = repo
        .resolve(
            "nb.ipynb",
            &sources(&["envs/gpu", "ci/requirements-test.txt"]),
        )
        .unwrap();
    assert_eq!(r.source, "envs/gpu/requirements.txt");
    // Nothing listed exists: the default search is not used.
    let err = repo
        .resolve(
            "nb.ipynb",
            &ResolveOptions {
                fallback: Fallback::Fail,
                ..sources(&["a.txt", "b/req.txt"])
            },
        )
        .unwrap_err();
    match &err {
        RequirementsError::NotFound { searched, .. } => {
            assert_eq!(searched, &["a.txt", "b/req.txt"])
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn paths_escaping_the_repository_are_refused() {
    let outer = tempfile::tempdir().unwrap();
    std::fs::write(outer.path().join("secret.txt"), "leak==1\n").unwrap();
    let repo_dir = outer.path().join("repo");
    std::fs::create_dir(&repo_dir).unwrap();
    let repo = Repo(tempfile::TempDir::new_in(&repo_dir).unwrap());
    repo.notebook("nb.ipynb", "no_imports.ipynb");

    // `-r ..` out of the tree.
    repo.write("requirements.txt", "numpy\n-r ../../secret.txt\n");
    let err = repo
        .resolve("nb.ipynb", &ResolveOptions::default())
        .unwrap_err();
    assert!(
        matches!(err, RequirementsError::PathEscapesRepo { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("requirements.txt:2"), "{err}");
    assert_eq!(err.reason(), "PathEscapesRepository");

    // An explicit file outside the repository, absolute or relative.
    for file in ["../secret.txt", "/etc/passwd"] {
        let err = repo
            .resolve(
                "nb.ipynb",
                &ResolveOptions {
                    requirements_file: Some(file.into()),
                    ..ResolveOptions::default()
                },
            )
            .unwrap_err();
        assert!(
            matches!(err, RequirementsError::PathEscapesRepo { .. }),
            "{file}: {err:?}"
        );
    }

    // A symlink inside the repository that points outside it.
    std::fs::remove_file(repo.path().join("requirements.txt")).unwrap();
    std::os::unix::fs::symlink(
        outer.path().join("secret.txt"),
        repo.path().join("requirements.txt"),
    )
    .unwrap();
    let err = repo
        .resolve("nb.ipynb", &ResolveOptions::default())
        .unwrap_err();
    assert!(
        matches!(err, RequirementsError::PathEscapesRepo { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("symlink"), "{err}");

    // The notebook path itself.
    let err = repo
        .resolve("../nb.ipynb", &ResolveOptions::default())
        .unwrap_err();
    assert!(
        matches!(err, RequirementsError::PathEscapesRepo { .. }),
        "{err:?}"
    );
}

#[test]
fn local_and_editable_paths_in_requirements_are_refused() {
    for (line, needle) in [
        ("-e .", "editable local requirement"),
        ("./vendor/pkg", "local path requirement"),
        ("dist/tool-1.0-py3-none-any.whl", "local path requirement"),
        ("--find-links ./wheels", "local path"),
        ("--frobnicate", "unsupported pip option"),
    ] {
        let repo = Repo::new();
        repo.notebook("nb.ipynb", "no_imports.ipynb")
            .write("requirements.txt", &format!("numpy\n{line}\n"));
        let err = repo
            .resolve("nb.ipynb", &ResolveOptions::default())
            .unwrap_err();
        match &err {
            RequirementsError::InvalidRequirement {
                file,
                line: number,
                message,
            } => {
                assert_eq!((file.as_str(), *number), ("requirements.txt", 2), "{line}");
                assert!(message.contains(needle), "{line}: {message}");
            }
            other => panic!("{line}: {other:?}"),
        }
        assert_eq!(err.reason(), "InvalidRequirement");
    }
}

#[test]
fn include_cycles_and_missing_includes_are_errors() {
    let repo = Repo::new();
    repo.notebook("nb.ipynb", "no_imports.ipynb")
        .write("requirements.txt", "-r a.txt\n")
        .write("a.txt", "x\n-r requirements.txt\n");
    let err = repo
        .resolve("nb.ipynb", &ResolveOptions::default())
        .unwrap_err();
    assert!(err.to_string().contains("cycle"), "{err}");

    repo.write("a.txt", "-r nope.txt\n");
    let err = repo
        .resolve("nb.ipynb", &ResolveOptions::default())
        .unwrap_err();
    assert!(
        err.to_string().contains("a.txt:1: included file nope.txt"),
        "{err}"
    );
}

// ---------------------------------------------------------------- tier 2

#[test]
fn imports_are_mapped_and_stdlib_and_local_modules_filtered() {
    let repo = Repo::new();
    repo.notebook("analysis/churn.ipynb", "imports.ipynb")
        .write("analysis/helpers.py", "def f():\n    return 1\n")
        .write("utils/__init__.py", "")
        .write("utils/features.py", "def build_features():\n    pass\n");
    let r = repo
        .resolve("analysis/churn.ipynb", &opts(true, Fallback::Fail))
        .unwrap();
    assert_eq!(r.tier, Tier::AutoGenerated);
    assert_eq!(r.source, "notebook imports");
    // os, json, pathlib, collections, typing, __future__: stdlib. helpers
    // (next to the notebook), utils (repo root), `from . import`: local.
    // The markdown cell's text is not code.
    assert_eq!(
        r.requirements,
        vec![
            "google-cloud-storage",
            "matplotlib",
            "numpy",
            "opencv-python",
            "pandas",
            "PyYAML",
            "scikit-learn",
        ]
    );
    assert!(has_warning(&r, "unpinned"), "{:?}", r.warnings);
    assert!(has_warning(&r, "numpy"), "{:?}", r.warnings);
    assert!(!has_warning(&r, "not valid Python"), "{:?}", r.warnings);
}

#[test]
fn local_module_filtering_needs_the_module_to_exist() {
    // Without helpers.py / utils/ they are treated as packages.
    let repo = Repo::new();
    repo.notebook("churn.ipynb", "imports.ipynb");
    let r = repo
        .resolve("churn.ipynb", &opts(true, Fallback::Warn))
        .unwrap();
    assert!(
        r.requirements.contains(&"helpers".to_string()),
        "{:?}",
        r.requirements
    );
    assert!(
        r.requirements.contains(&"utils".to_string()),
        "{:?}",
        r.requirements
    );
    assert!(
        !r.requirements.iter().any(|l| l == "sibling"),
        "{:?}",
        r.requirements
    );
}

#[test]
fn auto_generate_off_ignores_imports() {
    let repo = Repo::new();
    repo.notebook("churn.ipynb", "imports.ipynb");
    let r = repo
        .resolve("churn.ipynb", &opts(false, Fallback::Warn))
        .unwrap();
    assert_eq!(r.tier, Tier::BaseImageOnly);
    assert!(r.requirements.is_empty());
}

#[test]
fn syntax_errors_fall_back_to_a_line_scan_with_a_warning() {
    let repo = Repo::new();
    repo.notebook("broken.ipynb", "broken.ipynb");
    let r = repo
        .resolve("broken.ipynb", &opts(true, Fallback::Fail))
        .unwrap();
    assert_eq!(r.tier, Tier::AutoGenerated);
    assert_eq!(r.source, "notebook imports + %pip magics");
    assert_eq!(
        r.requirements,
        vec![
            "boto3==1.34.0",
            "requests",
            "torch",
            "tqdm>=4.66",
            "transformers"
        ]
    );
    let syntax: Vec<&String> = r
        .warnings
        .iter()
        .filter(|w| w.contains("not valid Python"))
        .collect();
    assert_eq!(syntax.len(), 1, "{:?}", r.warnings);
    assert!(syntax[0].starts_with("cell 2:"), "{}", syntax[0]);
    assert!(syntax[0].contains("line 3"), "{}", syntax[0]);
}

// ---------------------------------------------------------------- tier 3

fn magics_repo() -> Repo {
    let repo = Repo::new();
    repo.notebook("work/train.ipynb", "magics.ipynb").write(
        "work/requirements-extra.txt",
        "--extra-index-url https://download.pytorch.org/whl/cpu\nseaborn==0.13.2\n",
    );
    repo
}

#[test]
fn pip_magics_alone_when_auto_generate_is_off() {
    let repo = magics_repo();
    let r = repo
        .resolve("work/train.ipynb", &opts(false, Fallback::Fail))
        .unwrap();
    assert_eq!(
        (r.tier, r.source.as_str()),
        (Tier::PipMagics, "%pip magics")
    );
    assert_eq!(
        r.requirements,
        vec![
            "--extra-index-url https://download.pytorch.org/whl/cpu",
            "pandas==2.2.2",
            "scikit-learn>=1.3",
            "seaborn==0.13.2",
        ]
    );
    assert!(
        has_warning(&r, "cell 3: conda installs are ignored"),
        "{:?}",
        r.warnings
    );
    assert!(
        has_warning(
            &r,
            "cell 3: `{pkg}` uses shell or Python variable interpolation"
        ),
        "{:?}",
        r.warnings
    );
    assert!(
        has_warning(&r, "cell 1: `scikit-learn>=1.3` should be quoted"),
        "{:?}",
        r.warnings
    );
    assert!(!has_warning(&r, "unpinned"), "{:?}", r.warnings);
}

#[test]
fn imports_and_magics_merge_with_the_magic_spec_winning() {
    let repo = magics_repo();
    let r = repo
        .resolve("work/train.ipynb", &opts(true, Fallback::Fail))
        .unwrap();
    assert_eq!(r.tier, Tier::AutoGenerated);
    assert_eq!(r.source, "notebook imports + %pip magics");
    assert_eq!(
        r.requirements,
        vec![
            "--extra-index-url https://download.pytorch.org/whl/cpu",
            "numpy",
            "pandas==2.2.2",
            "scikit-learn>=1.3",
            "seaborn==0.13.2",
        ]
    );
    let unpinned: Vec<&String> = r
        .warnings
        .iter()
        .filter(|w| w.contains("unpinned"))
        .collect();
    assert_eq!(unpinned.len(), 1);
    assert!(
        unpinned[0].contains("numpy") && !unpinned[0].contains("pandas"),
        "{}",
        unpinned[0]
    );
}

#[test]
fn pip_magic_forms() {
    let repo = Repo::new();
    let cells = [
        "!pip3 install --upgrade --no-cache-dir xgboost==2.0.3 lightgbm",
        "import sys\n!{sys.executable} -m pip install -qU 'polars>=0.20' --index-url https://idx.example/simple",
        "%pip install --user -r ../shared/reqs.txt $EXTRA",
        "if True:\n    %pip install \\\n        duckdb==1.0.0",
        "%pip install -e . ./local_pkg",
        "%pip uninstall -y numpy\n!pip list\n!conda install -y gdal",
        "out = !pip install httpx==0.27.0 2>&1 | tail -n 1",
        "!uv pip install pyarrow==16.1.0; pip install orjson",
    ];
    let notebook = serde_json::json!({
        "cells": cells.iter().map(|c| serde_json::json!({
            "cell_type": "code", "metadata": {}, "outputs": [], "execution_count": null, "source": c
        })).collect::<Vec<_>>(),
        "metadata": {"kernelspec": {"language": "python", "name": "python3", "display_name": "Python 3"}},
        "nbformat": 4, "nbformat_minor": 5
    });
    repo.write("nbs/forms.ipynb", &notebook.to_string())
        .write("shared/reqs.txt", "rich==13.7.1\n");
    let r = repo
        .resolve("nbs/forms.ipynb", &opts(false, Fallback::Fail))
        .unwrap();
    assert_eq!(r.tier, Tier::PipMagics);
    assert_eq!(
        r.requirements,
        vec![
            "--index-url https://idx.example/simple",
            "duckdb==1.0.0",
            "httpx==0.27.0",
            "lightgbm",
            "orjson",
            "polars>=0.20",
            "pyarrow==16.1.0",
            "rich==13.7.1",
            "xgboost==2.0.3",
        ]
    );
    for needle in [
        "cell 3: `$EXTRA` uses shell or Python variable interpolation",
        "cell 5: editable local install `-e .`",
        "cell 5: local path `./local_pkg`",
        "cell 6: conda installs are ignored",
        "unpinned requirements (pip picks the latest version at build time): lightgbm, orjson;",
    ] {
        assert!(has_warning(&r, needle), "{needle}: {:?}", r.warnings);
    }
}

#[test]
fn pip_magic_includes_cannot_escape_the_repository() {
    let repo = Repo::new();
    let notebook = serde_json::json!({
        "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "source": ["%pip install -r ../../etc/reqs.txt\n"]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5
    });
    repo.write("nbs/x.ipynb", &notebook.to_string());
    let err = repo
        .resolve("nbs/x.ipynb", &opts(true, Fallback::Warn))
        .unwrap_err();
    assert!(
        matches!(err, RequirementsError::PathEscapesRepo { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("cell 1 of nbs/x.ipynb"), "{err}");
}

// ---------------------------------------------------------------- tiers 4 and 5

#[test]
fn nothing_found_builds_from_the_base_image_with_warn_or_auto() {
    for fallback in [Fallback::Warn, Fallback::Auto] {
        let repo = Repo::new();
        repo.notebook("reports/daily.ipynb", "no_imports.ipynb");
        let r = repo
            .resolve("reports/daily.ipynb", &opts(true, fallback))
            .unwrap();
        assert_eq!(
            (r.tier, r.source.as_str()),
            (Tier::BaseImageOnly, "base image")
        );
        assert!(r.requirements.is_empty());
        assert_eq!(
            r.warnings,
            vec![
                "no requirements found; building from the base image only - add requirements.txt next to \
                 reports/daily.ipynb or set buildConfig.requirementsFile"
            ]
        );
    }
}

#[test]
fn nothing_found_with_fail_names_every_searched_path() {
    let repo = Repo::new();
    repo.notebook("reports/q1/daily.ipynb", "no_imports.ipynb");
    let err = repo
        .resolve("reports/q1/daily.ipynb", &opts(true, Fallback::Fail))
        .unwrap_err();
    assert_eq!(err.reason(), "RequirementsNotFound");
    assert!(err.is_permanent());
    match &err {
        RequirementsError::NotFound {
            searched, notebook, ..
        } => {
            assert_eq!(notebook, "reports/q1/daily.ipynb");
            assert_eq!(
                searched,
                &[
                    "reports/q1/requirements.txt",
                    "reports/requirements.txt",
                    "requirements.txt"
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    let message = err.to_string();
    for needle in [
        "reports/q1/daily.ipynb",
        "searched reports/q1/requirements.txt, reports/requirements.txt, requirements.txt",
        "Add reports/q1/requirements.txt next to the notebook",
        "buildConfig.requirementsFile",
        "fallbackStrategy",
    ] {
        assert!(message.contains(needle), "{needle}: {message}");
    }
}

#[test]
fn broken_or_missing_notebooks_are_errors() {
    let repo = Repo::new();
    repo.write("bad.ipynb", "{\"cells\": [ {\"cell_type\": \"code\", ");
    let err = repo
        .resolve("bad.ipynb", &ResolveOptions::default())
        .unwrap_err();
    assert!(
        matches!(err, RequirementsError::InvalidNotebook { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("bad.ipynb is not a valid Jupyter notebook"),
        "{err}"
    );

    repo.write(
        "odd.ipynb",
        "{\"cells\": [{\"cell_type\": \"code\", \"source\": 42}]}",
    );
    let err = repo
        .resolve("odd.ipynb", &ResolveOptions::default())
        .unwrap_err();
    assert!(err.to_string().contains("cell 1"), "{err}");

    let err = repo
        .resolve("gone.ipynb", &ResolveOptions::default())
        .unwrap_err();
    assert!(matches!(err, RequirementsError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("gone.ipynb"), "{err}");

    // A requirements file still wins without reading the notebook.
    repo.write("requirements.txt", "numpy\n");
    assert_eq!(
        repo.resolve("gone.ipynb", &ResolveOptions::default())
            .unwrap()
            .tier,
        Tier::RequirementsFile
    );
}

#[test]
fn non_python_notebooks_skip_import_scanning() {
    let repo = Repo::new();
    let notebook = serde_json::json!({
        "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "source": "library(ggplot2)\nimport numpy\n"}],
        "metadata": {"kernelspec": {"language": "R", "name": "ir", "display_name": "R"}},
        "nbformat": 4, "nbformat_minor": 5
    });
    repo.write("r.ipynb", &notebook.to_string());
    let r = repo
        .resolve("r.ipynb", &opts(true, Fallback::Warn))
        .unwrap();
    assert_eq!(r.tier, Tier::BaseImageOnly);
    assert!(
        has_warning(&r, "not a Python notebook (language R)"),
        "{:?}",
        r.warnings
    );
}

// ---------------------------------------------------------------- rendering

#[test]
fn rendered_file_and_digest_are_stable_and_sensitive() {
    let repo = Repo::new();
    repo.notebook("nb.ipynb", "no_imports.ipynb")
        .write("requirements.txt", "pandas==2.2.2\nnumpy==1.26.4\n");
    let first = repo
        .resolve("nb.ipynb", &ResolveOptions::default())
        .unwrap();
    let text = requirements_txt(&first);
    assert_eq!(
        text,
        "# Generated by nbv: tier 1 (requirementsFile) from requirements.txt\nnumpy==1.26.4\npandas==2.2.2\n"
    );
    let d = digest(&first);
    assert_eq!(d.len(), 64);
    assert!(
        d.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );

    // Same input, reordered lines and extra comments: same digest.
    repo.write(
        "requirements.txt",
        "# deps\nnumpy==1.26.4\n\npandas==2.2.2  # df\n",
    );
    let again = repo
        .resolve("nb.ipynb", &ResolveOptions::default())
        .unwrap();
    assert_eq!(digest(&again), d);

    // A changed pin: a different digest.
    repo.write("requirements.txt", "pandas==2.2.3\nnumpy==1.26.4\n");
    let changed = repo
        .resolve("nb.ipynb", &ResolveOptions::default())
        .unwrap();
    assert_ne!(digest(&changed), d);

    // Same list from another tier: a different digest (the header names it).
    let mut other_tier = first.clone();
    other_tier.tier = Tier::PipMagics;
    assert_ne!(digest(&other_tier), d);

    // Base image only renders a comment.
    let base = Resolved {
        tier: Tier::BaseImageOnly,
        source: "base image".into(),
        requirements: Vec::new(),
        warnings: Vec::new(),
    };
    assert_eq!(
        requirements_txt(&base),
        "# Generated by nbv: tier 4 (baseImageOnly) from base image\n# no requirements: the base image only\n"
    );
}

#[test]
fn fallback_parses_from_the_crd_strings() {
    assert_eq!("warn".parse::<Fallback>(), Ok(Fallback::Warn));
    assert_eq!("Fail".parse::<Fallback>(), Ok(Fallback::Fail));
    assert_eq!("auto".parse::<Fallback>(), Ok(Fallback::Auto));
    assert!("never".parse::<Fallback>().is_err());
    assert_eq!(Tier::AutoGenerated.as_str(), "autoGenerated");
    assert_eq!(Tier::BaseImageOnly.number(), 4);
}
