//! From import paths to PyPI distributions: the standard library and local
//! modules are dropped, known import names are mapped (data/import_to_pypi.txt),
//! everything else is installed under its own top-level name.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::LazyLock;

use super::imports::Import;
use super::{Repo, RepoPath};

static STDLIB: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    data_lines(include_str!("../../data/stdlib.txt"))
        .map(str::trim)
        .collect()
});

/// Import path -> distribution; `-` not installable, `?` ambiguous namespace.
static MAPPING: LazyLock<HashMap<&'static str, &'static str>> = LazyLock::new(|| {
    data_lines(include_str!("../../data/import_to_pypi.txt"))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
});

fn data_lines(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// True when `module` (a top-level name) is in the Python 3.8-3.13 stdlib.
pub(crate) fn is_stdlib(module: &str) -> bool {
    STDLIB.contains(module)
}

/// Modules importable from the notebook's directory or the repository root:
/// `name.py`, or a directory `name/` holding at least one `.py` file.
pub(crate) struct LocalModules {
    dirs: Vec<PathBuf>,
}

impl LocalModules {
    pub(crate) fn new(repo: &Repo, nb_dir: &str) -> Self {
        let mut dirs = vec![repo.root().to_path_buf()];
        if !nb_dir.is_empty() {
            let RepoPath { abs, .. } = match repo.join("", nb_dir, "the notebook directory") {
                Ok(p) => p,
                Err(_) => return Self { dirs },
            };
            dirs.insert(0, abs);
        }
        Self { dirs }
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.dirs.iter().any(|dir| {
            if dir.join(format!("{name}.py")).is_file() {
                return true;
            }
            let package = dir.join(name);
            package.is_dir()
                && std::fs::read_dir(&package).is_ok_and(|entries| {
                    entries.flatten().any(|e| {
                        e.path().extension().is_some_and(|x| x == "py") && e.path().is_file()
                    })
                })
        })
    }
}

/// What an import path needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Mapped {
    Stdlib,
    Local,
    Package(String),
    /// Not on PyPI (a Colab or platform module).
    NotInstallable,
    /// A namespace root (`google`, `azure`) without a known sub-package.
    Ambiguous,
}

/// Maps one dotted import path. The longest mapped prefix wins;
/// `google.cloud.<x>` is `google-cloud-<x>` unless listed.
pub(crate) fn map_import(path: &str, local: &LocalModules) -> Mapped {
    let top = path.split('.').next().unwrap_or(path);
    if is_stdlib(top) {
        return Mapped::Stdlib;
    }
    if local.contains(top) {
        return Mapped::Local;
    }
    let parts: Vec<&str> = path.split('.').collect();
    for n in (1..=parts.len()).rev() {
        let prefix = parts[..n].join(".");
        if n == 2 && prefix == "google.cloud" && parts.len() > 2 {
            // google.cloud.<service> not in the table.
            return Mapped::Package(format!("google-cloud-{}", parts[2].replace('_', "-")));
        }
        if let Some(value) = MAPPING.get(prefix.as_str()) {
            return match *value {
                "-" => Mapped::NotInstallable,
                "?" => Mapped::Ambiguous,
                package => Mapped::Package(package.to_string()),
            };
        }
    }
    Mapped::Package(top.to_string())
}

/// Distinct packages for the imports (keyed and ordered by normalized name),
/// each with the first cell that needs it; warnings for skipped imports.
pub(crate) fn to_packages(
    imports: &[Import],
    local: &LocalModules,
    warnings: &mut Vec<String>,
) -> Vec<(String, usize)> {
    let mut packages: BTreeMap<String, (String, usize)> = BTreeMap::new();
    let mut skipped: BTreeMap<String, String> = BTreeMap::new();
    for import in imports {
        match map_import(&import.path, local) {
            Mapped::Stdlib | Mapped::Local => {}
            Mapped::Package(name) => {
                packages
                    .entry(super::reqfile::normalize_name(&name))
                    .or_insert((name, import.cell));
            }
            Mapped::NotInstallable => {
                let key = not_installable_key(&import.path);
                skipped.entry(key.clone()).or_insert_with(|| {
                    format!(
                        "cell {}: {key} is not installable from PyPI; it was skipped",
                        import.cell
                    )
                });
            }
            Mapped::Ambiguous => {
                let shown = import.path.split('.').take(3).collect::<Vec<_>>().join(".");
                skipped.entry(shown.clone()).or_insert_with(|| {
                    format!(
                        "cell {}: cannot tell which PyPI package provides {shown}; add it to requirements.txt",
                        import.cell
                    )
                });
            }
        }
    }
    warnings.extend(skipped.into_values());
    packages.into_values().collect()
}

/// The mapped prefix that marked `path` as not installable.
fn not_installable_key(path: &str) -> String {
    let parts: Vec<&str> = path.split('.').collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("."))
        .find(|p| MAPPING.get(p.as_str()) == Some(&"-"))
        .unwrap_or_else(|| path.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_local() -> LocalModules {
        LocalModules { dirs: Vec::new() }
    }

    #[test]
    fn stdlib_covers_old_and_new_pythons() {
        for m in [
            "os",
            "json",
            "sys",
            "typing",
            "asyncio",
            "tomllib",
            "distutils",
            "imp",
            "asynchat",
            "formatter",
            "__future__",
            "zoneinfo",
            "winreg",
            "_thread",
        ] {
            assert!(is_stdlib(m), "{m}");
        }
        for m in ["numpy", "pandas", "yaml", "requests"] {
            assert!(!is_stdlib(m), "{m}");
        }
    }

    #[test]
    fn mapping_uses_the_longest_prefix() {
        let local = no_local();
        let cases = [
            ("sklearn.model_selection.train_test_split", "scikit-learn"),
            ("cv2", "opencv-python"),
            ("yaml.safe_load", "PyYAML"),
            ("PIL.Image", "Pillow"),
            ("google.protobuf.json_format", "protobuf"),
            ("google.cloud.storage", "google-cloud-storage"),
            (
                "google.cloud.bigquery_datatransfer",
                "google-cloud-bigquery-datatransfer",
            ),
            ("azure.storage.blob.BlobClient", "azure-storage-blob"),
            ("mpl_toolkits.mplot3d", "matplotlib"),
            ("numpy", "numpy"),
        ];
        for (path, package) in cases {
            assert_eq!(
                map_import(path, &local),
                Mapped::Package(package.into()),
                "{path}"
            );
        }
        assert_eq!(
            map_import("google.colab.drive", &local),
            Mapped::NotInstallable
        );
        assert_eq!(map_import("google.mystery", &local), Mapped::Ambiguous);
        assert_eq!(map_import("google", &local), Mapped::Ambiguous);
        assert_eq!(map_import("os.path", &local), Mapped::Stdlib);
    }

    #[test]
    fn table_lines_are_well_formed() {
        for line in data_lines(include_str!("../../data/import_to_pypi.txt")) {
            let (k, v) = line.split_once(':').expect(line);
            assert!(!k.trim().is_empty() && !v.trim().is_empty(), "{line}");
            assert!(
                !is_stdlib(k.split('.').next().unwrap()),
                "{line} shadows the stdlib"
            );
        }
    }
}
