//! requirements.txt parsing, following `-r` includes inside the repository.
//!
//! Comments and blank lines are dropped, backslash continuations joined, and
//! requirement lines kept as written (pins, extras, markers, `--hash`) with
//! whitespace collapsed. Index options (`--index-url`, `--extra-index-url`,
//! `--find-links URL`, `--trusted-host`, `--pre`, ...) are kept as lines.
//! `-c` constraints files are ignored with a warning (the build installs one
//! rendered file). Editable or local-path requirements (`-e .`, `./pkg`,
//! `dist/x.whl`, `file:` URLs) are refused: the build context holds only the
//! rendered requirements, not the repository. `-e` with a VCS URL is kept.

use std::path::PathBuf;

use super::{Repo, RepoPath, RequirementsError, parent_dir, read_text};

/// One line of the rendered requirements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ReqLine {
    /// A pip option line such as `--index-url https://...`.
    Opt(String),
    /// A requirement; `key` is the normalized package name (or the whole line
    /// for a URL without `#egg=`).
    Req { key: String, line: String },
}

/// What a pip option means for the rendered requirements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OptKind {
    /// Kept as a line; `true` when it takes a value.
    Keep(bool),
    /// Irrelevant to what gets installed (`-q`, `--upgrade`, ...); `true`
    /// when it takes a value.
    Drop(bool),
    Requirement,
    Constraint,
    Editable,
    Unknown,
}

impl OptKind {
    /// Whether the option is followed by a value (`-r FILE`, `-i URL`, ...).
    pub(crate) fn takes_value(self) -> bool {
        matches!(
            self,
            OptKind::Keep(true)
                | OptKind::Drop(true)
                | OptKind::Requirement
                | OptKind::Constraint
                | OptKind::Editable
        )
    }
}

/// The long name and meaning of a pip option (`-i` is `--index-url`).
pub(crate) fn pip_option(name: &str) -> (&str, OptKind) {
    let long = match name {
        "-r" => "--requirement",
        "-c" => "--constraint",
        "-e" => "--editable",
        "-i" => "--index-url",
        "-f" => "--find-links",
        "-t" => "--target",
        "-C" => "--config-settings",
        other => other,
    };
    let kind = match long {
        "--requirement" => OptKind::Requirement,
        "--constraint" => OptKind::Constraint,
        "--editable" => OptKind::Editable,
        "--index-url" | "--extra-index-url" | "--find-links" | "--trusted-host" | "--no-binary"
        | "--only-binary" | "--use-feature" => OptKind::Keep(true),
        "--pre" | "--prefer-binary" | "--no-index" | "--require-hashes" => OptKind::Keep(false),
        "--upgrade-strategy" | "--progress-bar" | "--root-user-action" | "--cache-dir"
        | "--timeout" | "--retries" | "--exists-action" | "--target" | "--prefix" | "--root"
        | "--src" | "--log" | "--config-settings" | "--global-option" | "--report"
        | "--python-version" | "--platform" | "--implementation" | "--abi" | "--proxy"
        | "--cert" | "--client-cert" | "--keyring-provider" => OptKind::Drop(true),
        "-q"
        | "--quiet"
        | "-U"
        | "--upgrade"
        | "--no-cache-dir"
        | "--user"
        | "-v"
        | "--verbose"
        | "--force-reinstall"
        | "--no-deps"
        | "-I"
        | "--ignore-installed"
        | "--no-warn-script-location"
        | "--disable-pip-version-check"
        | "--no-color"
        | "--no-input"
        | "--break-system-packages"
        | "--no-build-isolation"
        | "--use-pep517"
        | "--no-use-pep517"
        | "--no-compile"
        | "--compile"
        | "--isolated"
        | "--require-virtualenv"
        | "--no-warn-conflicts"
        | "--ignore-requires-python"
        | "--no-clean"
        | "--check-build-dependencies" => OptKind::Drop(false),
        _ if is_short_flag_cluster(long) => OptKind::Drop(false),
        _ => OptKind::Unknown,
    };
    (long, kind)
}

/// `-qq`, `-qU`, `-Uq`: clusters of value-less short flags.
fn is_short_flag_cluster(s: &str) -> bool {
    s.len() > 2
        && s.starts_with('-')
        && !s.starts_with("--")
        && s[1..].chars().all(|c| matches!(c, 'q' | 'U' | 'v' | 'I'))
}

/// PEP 503 name normalization: lowercase, runs of `-_.` become `-`.
pub(crate) fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The normalized project name of a requirement line, or the line itself for
/// a URL requirement without `#egg=`.
pub(crate) fn req_key(line: &str) -> String {
    if line.starts_with("git+")
        || line.starts_with("hg+")
        || line.starts_with("svn+")
        || line.starts_with("bzr+")
        || line.starts_with("http://")
        || line.starts_with("https://")
    {
        return url_key(line);
    }
    let name: String = line
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    if name.is_empty() {
        line.to_string()
    } else {
        normalize_name(&name)
    }
}

fn url_key(line: &str) -> String {
    match line.split_once("#egg=") {
        Some((_, egg)) => normalize_name(
            egg.split(|c: char| c == '&' || c.is_whitespace())
                .next()
                .unwrap_or(egg),
        ),
        None => line.to_string(),
    }
}

/// True when a requirement constrains its version (or names a URL).
pub(crate) fn is_pinned(line: &str) -> bool {
    let spec = line.split(';').next().unwrap_or(line);
    spec.contains(['=', '<', '>', '~', '@']) || spec.contains("://")
}

/// True when the requirement points at a local file or directory.
pub(crate) fn is_local_path(spec: &str) -> bool {
    let first = spec
        .split(|c: char| c.is_whitespace() || c == ';')
        .next()
        .unwrap_or(spec);
    if let Some((_, target)) = spec.split_once('@') {
        let target = target.trim();
        if target.starts_with("file:") {
            return true;
        }
        if first.contains("://") || target.contains("://") {
            return false;
        }
    }
    if first.starts_with("file:") {
        return true;
    }
    if first.contains("://") {
        return false;
    }
    first == "."
        || first.starts_with("./")
        || first.starts_with("../")
        || first.starts_with('/')
        || first.starts_with('~')
        || first.contains('/')
        || first.contains('\\')
        || first.ends_with(".whl")
        || first.ends_with(".tar.gz")
        || first.ends_with(".zip")
}

/// True for VCS or archive URLs usable from the build (`git+https://...`).
pub(crate) fn is_remote_url(spec: &str) -> bool {
    spec.contains("://") && !spec.starts_with("file:")
}

/// Collapses runs of whitespace to one space.
pub(crate) fn collapse(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Splits an option line into its name and value: `--x=v`, `--x v`, `-xv`, `-x v`.
fn split_option(line: &str) -> (&str, Option<&str>) {
    let (name, rest) = if line.starts_with("--") {
        match line.find(|c: char| c == '=' || c.is_whitespace()) {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => (line, ""),
        }
    } else {
        // Short options: `-r file` or `-rfile`.
        let end = line.char_indices().nth(2).map_or(line.len(), |(i, _)| i);
        (&line[..end], &line[end..])
    };
    let value = rest.trim().trim_start_matches('=').trim();
    (name, (!value.is_empty()).then_some(value))
}

/// Parses a requirements file and its `-r` includes.
pub(crate) fn parse(
    repo: &Repo,
    path: &RepoPath,
    warnings: &mut Vec<String>,
) -> Result<Vec<ReqLine>, RequirementsError> {
    let mut out = Vec::new();
    let mut stack = Vec::new();
    parse_into(repo, path, warnings, &mut out, &mut stack)?;
    Ok(out)
}

/// Like [`parse`], appending to `out`; used for `-r` in pip magics too.
pub(crate) fn parse_into(
    repo: &Repo,
    path: &RepoPath,
    warnings: &mut Vec<String>,
    out: &mut Vec<ReqLine>,
    stack: &mut Vec<PathBuf>,
) -> Result<(), RequirementsError> {
    let abs = repo
        .existing(path, "a requirements file")?
        .ok_or_else(|| RequirementsError::Io {
            path: path.rel.clone(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "file not found"),
        })?;
    if stack.contains(&abs) {
        return Err(RequirementsError::InvalidRequirement {
            file: path.rel.clone(),
            line: 0,
            message: "requirements files include each other in a cycle".into(),
        });
    }
    stack.push(abs.clone());
    let text = read_text(&abs, &path.rel)?;
    let dir = parent_dir(&path.rel).to_string();
    for (number, line) in logical_lines(&text) {
        let invalid = |message: String| RequirementsError::InvalidRequirement {
            file: path.rel.clone(),
            line: number,
            message,
        };
        if line.starts_with('-') {
            let (name, value) = split_option(&line);
            let (long, kind) = pip_option(name);
            let needs_value = kind.takes_value();
            if needs_value && value.is_none() {
                return Err(invalid(format!("{long} needs a value")));
            }
            let value = value.unwrap_or_default();
            match kind {
                OptKind::Requirement => {
                    let from = format!("{}:{number}", path.rel);
                    let include = repo.join(&dir, value, &from)?;
                    if repo.existing(&include, &from)?.is_none() {
                        return Err(invalid(format!(
                            "included file {value} ({}) does not exist",
                            include.rel
                        )));
                    }
                    parse_into(repo, &include, warnings, out, stack)?;
                }
                OptKind::Constraint => {
                    let from = format!("{}:{number}", path.rel);
                    repo.join(&dir, value, &from)?;
                    warnings.push(format!(
                        "{from}: constraints file {value} is ignored; pin those versions in the requirements file instead"
                    ));
                }
                OptKind::Editable => {
                    if is_remote_url(value) {
                        out.push(ReqLine::Req {
                            key: req_key(value),
                            line: format!("-e {value}"),
                        });
                    } else {
                        return Err(invalid(format!(
                            "editable local requirement `-e {value}` cannot be installed: the image build gets only the \
                             resolved requirements, not the repository; publish the package, use a VCS URL \
                             (-e git+https://...), or install it from the notebook"
                        )));
                    }
                }
                OptKind::Keep(true) => {
                    if long == "--find-links" && !is_remote_url(value) {
                        return Err(invalid(format!(
                            "--find-links {value} is a local path, which the image build does not have; use an https URL"
                        )));
                    }
                    out.push(ReqLine::Opt(format!("{long} {value}")));
                }
                OptKind::Keep(false) => out.push(ReqLine::Opt(long.to_string())),
                OptKind::Drop(_) => {}
                OptKind::Unknown => {
                    return Err(invalid(format!(
                        "unsupported pip option {name} in a requirements file"
                    )));
                }
            }
            continue;
        }
        if is_local_path(&line) {
            return Err(invalid(format!(
                "local path requirement `{line}` cannot be installed: the image build gets only the resolved \
                 requirements, not the repository; publish the package or use a VCS URL (git+https://...)"
            )));
        }
        let first = line.chars().next().unwrap_or(' ');
        if !first.is_ascii_alphanumeric() && first != '$' && !is_remote_url(&line) {
            return Err(invalid(format!("`{line}` is not a requirement")));
        }
        out.push(ReqLine::Req {
            key: req_key(&line),
            line,
        });
    }
    stack.pop();
    Ok(())
}

/// (first physical line number, text) of each non-empty logical line: joined
/// backslash continuations, comments removed, whitespace collapsed.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending = String::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        if pending.is_empty() {
            start = i + 1;
        }
        if let Some(head) = raw.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(raw);
        push_logical(&mut out, start, &pending);
        pending.clear();
    }
    if !pending.is_empty() {
        push_logical(&mut out, start, &pending);
    }
    out
}

fn push_logical(out: &mut Vec<(usize, String)>, number: usize, line: &str) {
    let line = strip_comment(line);
    let line = collapse(line);
    if !line.is_empty() {
        out.push((number, line));
    }
}

/// pip's rule: `#` starts a comment at the line start or after whitespace.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalize_like_pep_503() {
        assert_eq!(normalize_name("Scikit_Learn"), "scikit-learn");
        assert_eq!(normalize_name("ruamel.yaml"), "ruamel-yaml");
        assert_eq!(
            req_key("PyYAML[extra]>=6 ; python_version<'3.12'"),
            "pyyaml"
        );
        assert_eq!(req_key("git+https://x/y.git#egg=My_Pkg"), "my-pkg");
        assert_eq!(req_key("pkg @ https://x/pkg.whl"), "pkg");
    }

    #[test]
    fn local_paths_are_recognized() {
        for local in [
            ".",
            "./pkg",
            "../x",
            "dist/a-1.whl",
            "a.tar.gz",
            "pkg @ file:///tmp/x",
            "file:../x",
        ] {
            assert!(is_local_path(local), "{local}");
        }
        for remote in [
            "pandas>=2",
            "git+https://github.com/a/b.git",
            "pkg @ https://x/y.whl",
            "numpy; python_version<'3.9'",
        ] {
            assert!(!is_local_path(remote), "{remote}");
        }
    }

    #[test]
    fn continuations_and_comments() {
        let lines = logical_lines("a==1 \\\n  --hash=sha256:x # c\n# full\n\nb#notcomment\n");
        assert_eq!(
            lines,
            vec![
                (1, "a==1 --hash=sha256:x".to_string()),
                (5, "b#notcomment".to_string())
            ]
        );
    }

    #[test]
    fn options_split() {
        assert_eq!(split_option("-r other.txt"), ("-r", Some("other.txt")));
        assert_eq!(split_option("-rother.txt"), ("-r", Some("other.txt")));
        assert_eq!(
            split_option("--index-url=https://x"),
            ("--index-url", Some("https://x"))
        );
        assert_eq!(split_option("--pre"), ("--pre", None));
        assert_eq!(pip_option("-qU").1, OptKind::Drop(false));
    }
}
