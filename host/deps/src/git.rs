//! Git with gix (pure Rust, HTTPS over rustls): resolve a ref to a commit,
//! and write a commit's tree to a directory. No git binary, no shell.
//!
//! Refs may be a branch, a tag (annotated tags are peeled to their commit) or
//! a full commit SHA. A SHA is verified by fetching: a typo fails here, not
//! later in a pod. Credentials come from a Kubernetes Secret's data and are
//! handed to gix in memory; they never appear in errors or logs.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use gix::bstr::ByteSlice;
use gix::protocol::handshake::Ref;
use gix::remote::Direction;

/// HTTP(S) credentials for the remote.
#[derive(Clone, Default)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("git URL {url} is not usable: {message}")]
    InvalidUrl { url: String, message: String },
    #[error("ref {git_ref:?} was not found in {url}{}", hint(.candidates))]
    RefNotFound {
        url: String,
        git_ref: String,
        candidates: Vec<String>,
    },
    #[error("ref {git_ref:?} looks like an abbreviated commit SHA; use the full 40-character SHA")]
    ShortSha { git_ref: String },
    #[error("commit {commit} is not reachable from any branch or tag of {url}")]
    CommitNotFound { url: String, commit: String },
    #[error(
        "{url} refused the credentials (check the secret named in credentialsSecret: username/password or token): {message}"
    )]
    Auth { url: String, message: String },
    #[error("refusing to send credentials to {url} over plain http; use its https URL")]
    InsecureCredentials { url: String },
    #[error(
        "SSH git URLs are not supported in-process; use the https URL with a token in credentialsSecret ({url})"
    )]
    SshUnsupported { url: String },
    #[error("cannot reach {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("git: {0}")]
    Local(String),
}

fn hint(candidates: &[String]) -> String {
    if candidates.is_empty() {
        String::new()
    } else {
        format!("; it has {}", candidates.join(", "))
    }
}

impl GitError {
    /// True when retrying cannot help (the spec or the secret must change).
    pub fn is_permanent(&self) -> bool {
        !matches!(self, GitError::Unreachable { .. } | GitError::Local(_))
    }

    /// A short machine-readable reason for conditions.
    pub fn reason(&self) -> &'static str {
        match self {
            GitError::InvalidUrl { .. }
            | GitError::SshUnsupported { .. }
            | GitError::InsecureCredentials { .. } => "InvalidGitURL",
            GitError::RefNotFound { .. }
            | GitError::ShortSha { .. }
            | GitError::CommitNotFound { .. } => "GitRefNotFound",
            GitError::Auth { .. } => "GitAuthFailed",
            GitError::Unreachable { .. } => "GitUnreachable",
            GitError::Local(_) => "GitError",
        }
    }
}

/// The URL without any user-info, safe to print.
pub fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let (authority, path) = rest
            .split_once('/')
            .map_or((rest, None), |(a, p)| (a, Some(p)));
        if let Some((_, host)) = authority.rsplit_once('@') {
            return format!(
                "{scheme}://{host}{}",
                path.map(|p| format!("/{p}")).unwrap_or_default()
            );
        }
    }
    url.to_string()
}

fn is_full_sha(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn looks_like_short_sha(s: &str) -> bool {
    (7..40).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_hexdigit())
        && s.bytes().any(|b| b.is_ascii_digit())
}

fn check_url(url: &str) -> Result<(), GitError> {
    let redacted = redact(url);
    if url.starts_with("ssh://") || url.starts_with("git@") {
        return Err(GitError::SshUnsupported { url: redacted });
    }
    if !(url.starts_with("https://") || url.starts_with("http://") || url.starts_with("git://")) {
        return Err(GitError::InvalidUrl {
            url: redacted,
            message: "use an https:// (or http://, git://) URL".into(),
        });
    }
    Ok(())
}

fn classify(url: &str, e: impl std::fmt::Display) -> GitError {
    let message = format!("{e:#}");
    let lower = message.to_lowercase();
    let url = redact(url);
    if lower.contains("clear text") {
        return GitError::InsecureCredentials { url };
    }
    if lower.contains("401")
        || lower.contains("403")
        || lower.contains("authenticat")
        || lower.contains("credential")
    {
        GitError::Auth { url, message }
    } else {
        GitError::Unreachable { url, message }
    }
}

type Helper = Box<
    dyn FnMut(
        gix::credentials::helper::Action,
    ) -> Result<Option<gix::credentials::protocol::Outcome>, gix::Error>,
>;

/// Answers gix's credential requests from memory; without credentials it
/// declines, so gix never falls back to prompts or the user's git config.
fn helper(creds: Option<Credentials>) -> Helper {
    Box::new(move |action| match (action, &creds) {
        (gix::credentials::helper::Action::Get(ctx), Some(c)) => {
            Ok(Some(gix::credentials::protocol::Outcome {
                identity: gix::sec::identity::Account {
                    username: c.username.clone(),
                    password: c.password.clone(),
                    oauth_refresh_token: None,
                },
                next: ctx.into(),
            }))
        }
        _ => Ok(None),
    })
}

const REFSPECS: [&str; 2] = [
    "+refs/heads/*:refs/remotes/origin/*",
    "+refs/tags/*:refs/tags/*",
];

/// A detached remote for `url` with every branch and tag as fetch refspecs.
fn remote_for<'r>(repo: &'r gix::Repository, url: &str) -> Result<gix::Remote<'r>, GitError> {
    repo.remote_at(url)
        .and_then(|r| r.with_refspecs(REFSPECS, Direction::Fetch))
        .map_err(|e| GitError::InvalidUrl {
            url: redact(url),
            message: e.to_string(),
        })
}

/// The advertised refs of `url`: (full ref name, commit it points to, peeled).
fn list_refs(
    repo: &gix::Repository,
    url: &str,
    creds: Option<Credentials>,
) -> Result<Vec<(String, String)>, GitError> {
    let remote = remote_for(repo, url)?;
    let connection = remote
        .connect(Direction::Fetch)
        .map_err(|e| classify(url, e))?
        .with_credentials(helper(creds));
    let (map, _) = connection
        .ref_map(gix::progress::Discard, Default::default())
        .map_err(|e| classify(url, e))?;
    Ok(map
        .remote_refs
        .iter()
        .filter_map(|r| match r {
            Ref::Peeled {
                full_ref_name,
                object,
                ..
            }
            | Ref::Direct {
                full_ref_name,
                object,
            }
            | Ref::Symbolic {
                full_ref_name,
                object,
                ..
            } => Some((
                full_ref_name.to_str_lossy().into_owned(),
                object.to_string(),
            )),
            Ref::Unborn { .. } => None,
        })
        .collect())
}

fn scratch_repo() -> Result<(tempfile::TempDir, gix::Repository), GitError> {
    let dir = tempfile::Builder::new()
        .prefix("nbv-git-")
        .tempdir()
        .map_err(|e| GitError::Local(e.to_string()))?;
    let repo = gix::init_bare(dir.path()).map_err(|e| GitError::Local(e.to_string()))?;
    Ok((dir, repo))
}

/// Fetches every branch and tag of `url` into `repo`.
fn fetch_all(
    repo: &gix::Repository,
    url: &str,
    creds: Option<Credentials>,
) -> Result<(), GitError> {
    let remote = remote_for(repo, url)?;
    remote
        .connect(Direction::Fetch)
        .map_err(|e| classify(url, e))?
        .with_credentials(helper(creds))
        .prepare_fetch(gix::progress::Discard, Default::default())
        .map_err(|e| classify(url, e))?
        .receive(gix::progress::Discard, &AtomicBool::new(false))
        .map_err(|e| classify(url, e))?;
    Ok(())
}

/// Resolves `git_ref` to a commit SHA. Blocking: call from a blocking thread.
pub fn resolve_ref(
    url: &str,
    git_ref: &str,
    creds: Option<Credentials>,
) -> Result<String, GitError> {
    check_url(url)?;
    let (_dir, repo) = scratch_repo()?;
    if is_full_sha(git_ref) {
        let sha = git_ref.to_ascii_lowercase();
        // A tip is confirmed by listing alone; anything else needs the history.
        if list_refs(&repo, url, creds.clone())?
            .iter()
            .any(|(_, c)| *c == sha)
        {
            return Ok(sha);
        }
        fetch_all(&repo, url, creds)?;
        let id =
            gix::ObjectId::from_hex(sha.as_bytes()).map_err(|e| GitError::Local(e.to_string()))?;
        return match repo.find_object(id) {
            Ok(obj) if obj.kind == gix::object::Kind::Commit => Ok(sha),
            _ => Err(GitError::CommitNotFound {
                url: redact(url),
                commit: sha,
            }),
        };
    }
    let refs = list_refs(&repo, url, creds)?;
    let wanted = [
        git_ref.to_string(),
        format!("refs/heads/{git_ref}"),
        format!("refs/tags/{git_ref}"),
    ];
    // Branches win over tags of the same name, as `git checkout` does.
    for name in &wanted {
        if let Some((_, commit)) = refs.iter().find(|(n, _)| n == name) {
            return Ok(commit.clone());
        }
    }
    if looks_like_short_sha(git_ref) {
        return Err(GitError::ShortSha {
            git_ref: git_ref.into(),
        });
    }
    let mut candidates: Vec<String> = refs
        .iter()
        .filter_map(|(n, _)| {
            n.strip_prefix("refs/heads/")
                .or_else(|| n.strip_prefix("refs/tags/"))
        })
        .map(String::from)
        .collect();
    candidates.sort();
    candidates.dedup();
    candidates.truncate(8);
    Err(GitError::RefNotFound {
        url: redact(url),
        git_ref: git_ref.into(),
        candidates,
    })
}

fn write_tree(repo: &gix::Repository, tree: gix::Tree<'_>, dest: &Path) -> Result<usize, GitError> {
    let local = |e: &dyn std::fmt::Display| GitError::Local(e.to_string());
    std::fs::create_dir_all(dest).map_err(|e| local(&e))?;
    let mut files = 0;
    for entry in tree.iter() {
        let entry = entry.map_err(|e| local(&e))?;
        let name = entry.filename().to_str_lossy().into_owned();
        // Tree entries come from a remote: never let one escape `dest`.
        if name.is_empty() || name == "." || name == ".." || name.contains('/') {
            return Err(local(&format!("refusing tree entry {name:?}")));
        }
        let path = dest.join(&name);
        let mode = entry.mode();
        if mode.is_tree() {
            let sub = repo.find_tree(entry.oid()).map_err(|e| local(&e))?;
            files += write_tree(repo, sub, &path)?;
        } else if mode.is_blob() {
            let blob = repo.find_blob(entry.oid()).map_err(|e| local(&e))?;
            std::fs::write(&path, &blob.data).map_err(|e| local(&e))?;
            if mode.is_executable() {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                    .map_err(|e| local(&e))?;
            }
            files += 1;
        } else if mode.is_link() {
            let blob = repo.find_blob(entry.oid()).map_err(|e| local(&e))?;
            let target = blob.data.to_str_lossy().into_owned();
            std::os::unix::fs::symlink(target, &path).map_err(|e| local(&e))?;
        }
        // Submodules (commit entries) are not followed.
    }
    Ok(files)
}

/// Writes the tree of `commit` in `url` into `dest`. Blocking.
pub fn checkout(
    url: &str,
    commit: &str,
    creds: Option<Credentials>,
    dest: &Path,
) -> Result<usize, GitError> {
    check_url(url)?;
    if !is_full_sha(commit) {
        return Err(GitError::ShortSha {
            git_ref: commit.into(),
        });
    }
    let (_dir, repo) = scratch_repo()?;
    fetch_all(&repo, url, creds)?;
    let id =
        gix::ObjectId::from_hex(commit.as_bytes()).map_err(|e| GitError::Local(e.to_string()))?;
    let tree = repo
        .find_commit(id)
        .map_err(|_| GitError::CommitNotFound {
            url: redact(url),
            commit: commit.into(),
        })?
        .tree()
        .map_err(|e| GitError::Local(e.to_string()))?;
    write_tree(&repo, tree, dest)
}

/// Reads credentials from a mounted Secret directory (or a Secret's data):
/// `username`+`password`, or `token` alone (sent as the password of
/// `x-access-token`, which GitHub, GitLab and Gitea accept).
pub fn credentials_from(
    get: impl Fn(&str) -> Option<String>,
) -> Result<Option<Credentials>, String> {
    let trimmed = |k: &str| {
        get(k)
            .map(|v| v.trim_end_matches(['\n', '\r']).to_string())
            .filter(|v| !v.is_empty())
    };
    if let (Some(username), Some(password)) = (trimmed("username"), trimmed("password")) {
        return Ok(Some(Credentials { username, password }));
    }
    if let Some(token) = trimmed("token") {
        return Ok(Some(Credentials {
            username: trimmed("username").unwrap_or_else(|| "x-access-token".into()),
            password: token,
        }));
    }
    if get("ssh-privatekey").is_some() {
        return Err("the secret holds an ssh-privatekey, but only HTTPS credentials are supported: add `token` (or username/password) and use the https URL".into());
    }
    Err("the secret has none of: username+password, token".into())
}

/// Reads credentials from a directory where a Secret is mounted as files.
pub fn credentials_from_dir(dir: &Path) -> Result<Option<Credentials>, String> {
    credentials_from(|k| std::fs::read_to_string(dir.join(k)).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_user_info() {
        assert_eq!(
            redact("https://bob:pw@example.com/r.git"),
            "https://example.com/r.git"
        );
        assert_eq!(
            redact("https://example.com/a@b.git"),
            "https://example.com/a@b.git"
        );
    }

    #[test]
    fn secret_shapes() {
        let get = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let c = credentials_from(get(&[("token", "t0k\n")]))
            .expect("token")
            .expect("some");
        assert_eq!(
            (c.username.as_str(), c.password.as_str()),
            ("x-access-token", "t0k")
        );
        let c = credentials_from(get(&[("username", "u"), ("password", "p")]))
            .expect("pair")
            .expect("some");
        assert_eq!(c.username, "u");
        assert!(
            credentials_from(get(&[("ssh-privatekey", "k")]))
                .expect_err("ssh")
                .contains("https")
        );
        assert!(
            format!("{c:?}").find("p\"").is_none(),
            "Debug must not print the password"
        );
    }

    #[test]
    fn ssh_and_odd_urls_are_refused_clearly() {
        assert!(matches!(
            resolve_ref("git@github.com:a/b.git", "main", None),
            Err(GitError::SshUnsupported { .. })
        ));
        assert!(matches!(
            resolve_ref("ftp://x/y", "main", None),
            Err(GitError::InvalidUrl { .. })
        ));
    }
}
