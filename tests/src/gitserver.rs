//! A real git server for tests: `git http-backend` (the smart HTTP protocol,
//! v0 and v2) behind a loopback HTTP listener, with optional basic auth so
//! credential handling is exercised end to end.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context as _, bail};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use tokio::io::AsyncWriteExt;

#[derive(Clone)]
struct Served {
    root: PathBuf,
    /// `user:password` required on every request when set.
    credentials: Option<(String, String)>,
}

pub struct GitServer {
    pub base_url: String,
    root: PathBuf,
    _dir: tempfile::TempDir,
    _task: tokio::task::JoinHandle<()>,
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "nbv tests")
        .env("GIT_AUTHOR_EMAIL", "tests@nbv.invalid")
        .env("GIT_COMMITTER_NAME", "nbv tests")
        .env("GIT_COMMITTER_EMAIL", "tests@nbv.invalid")
        .output()
        .with_context(|| format!("running git {args:?}"))?;
    if !out.status.success() {
        bail!(
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn authorized(served: &Served, headers: &HeaderMap) -> bool {
    use base64::Engine;
    let Some((user, password)) = &served.credentials else {
        return true;
    };
    let expected = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .is_some_and(|v| v == expected)
}

async fn cgi(
    State(served): State<Served>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorized(&served, &headers) {
        return Response::builder()
            .status(StatusCode::UNAUTHORIZED)
            .header("WWW-Authenticate", "Basic realm=\"nbv-tests\"")
            .body(Body::empty())
            .unwrap_or_default();
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("http-backend")
        .env("GIT_PROJECT_ROOT", &served.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", method.as_str())
        .env("PATH_INFO", uri.path())
        .env("QUERY_STRING", uri.query().unwrap_or_default())
        .env("CONTENT_TYPE", header("content-type"))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("GIT_PROTOCOL", header("git-protocol"))
        .env("HTTP_CONTENT_ENCODING", header("content-encoding"))
        .env(
            "REMOTE_USER",
            served
                .credentials
                .as_ref()
                .map(|c| c.0.clone())
                .unwrap_or_default(),
        )
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let fail = |e: &dyn std::fmt::Display| {
        Response::builder()
            .status(StatusCode::INTERNAL_SERVER_ERROR)
            .body(Body::from(e.to_string()))
            .unwrap_or_default()
    };
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    if let Some(mut stdin) = child.stdin.take()
        && let Err(e) = stdin.write_all(&body).await
    {
        return fail(&e);
    }
    let out = match child.wait_with_output().await {
        Ok(o) => o,
        Err(e) => return fail(&e),
    };
    // CGI output: headers, a blank line, then the body.
    let raw = out.stdout;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let Some((at, sep)) = split else {
        return fail(&"git http-backend produced no headers");
    };
    let mut response = Response::builder().status(StatusCode::OK);
    for line in String::from_utf8_lossy(&raw[..at]).lines() {
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("status") {
                let code = value
                    .split_whitespace()
                    .next()
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(500);
                response = response.status(code);
            } else {
                response = response.header(name.trim(), value);
            }
        }
    }
    response
        .body(Body::from(raw[at + sep..].to_vec()))
        .unwrap_or_default()
}

impl GitServer {
    /// Starts a server for bare repositories under a fresh directory.
    pub async fn start(credentials: Option<(&str, &str)>) -> anyhow::Result<GitServer> {
        let dir = tempfile::Builder::new().prefix("nbv-git-").tempdir()?;
        let root = dir.path().to_path_buf();
        let served = Served {
            root: root.clone(),
            credentials: credentials.map(|(u, p)| (u.to_string(), p.to_string())),
        };
        let app = axum::Router::new().fallback(cgi).with_state(served);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(GitServer {
            base_url: format!("http://{addr}"),
            root,
            _dir: dir,
            _task: task,
        })
    }

    /// Creates bare repository `name` from `files` (path → content) committed
    /// on `main`; returns (clone URL, commit SHA).
    pub fn create_repo(
        &self,
        name: &str,
        files: &[(&str, &str)],
    ) -> anyhow::Result<(String, String)> {
        let work = self.root.join(format!("{name}.work"));
        std::fs::create_dir_all(&work)?;
        git(&work, &["init", "-q", "-b", "main"])?;
        let sha = self.commit(name, files, "initial")?;
        let bare = self.root.join(format!("{name}.git"));
        git(
            &self.root,
            &[
                "clone",
                "-q",
                "--bare",
                work.to_str().context("utf-8 path")?,
                bare.to_str().context("utf-8 path")?,
            ],
        )?;
        Ok((format!("{}/{name}.git", self.base_url), sha))
    }

    /// Commits `files` in the working copy of `name`; push with `publish`.
    pub fn commit(
        &self,
        name: &str,
        files: &[(&str, &str)],
        message: &str,
    ) -> anyhow::Result<String> {
        let work = self.root.join(format!("{name}.work"));
        for (path, content) in files {
            let p = work.join(path);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(p, content)?;
        }
        git(&work, &["add", "-A"])?;
        git(&work, &["commit", "-q", "-m", message])?;
        git(&work, &["rev-parse", "HEAD"])
    }

    /// Pushes the working copy's refs (branches and tags) to the served bare repository.
    pub fn publish(&self, name: &str) -> anyhow::Result<()> {
        let work = self.root.join(format!("{name}.work"));
        let bare = self.root.join(format!("{name}.git"));
        git(
            &work,
            &["push", "-q", "--all", bare.to_str().context("utf-8 path")?],
        )?;
        git(
            &work,
            &["push", "-q", "--tags", bare.to_str().context("utf-8 path")?],
        )?;
        Ok(())
    }

    /// Runs git in the working copy of `name` (tags, branches).
    pub fn git(&self, name: &str, args: &[&str]) -> anyhow::Result<String> {
        git(&self.root.join(format!("{name}.work")), args)
    }
}
