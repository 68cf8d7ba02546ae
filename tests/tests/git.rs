//! Git resolution and checkout against a real git server over smart HTTP.

use nbv_deps::git::{Credentials, GitError, checkout, resolve_ref};
use nbv_tests::gitserver::GitServer;

fn creds(user: &str, password: &str) -> Option<Credentials> {
    Some(Credentials {
        username: user.into(),
        password: password.into(),
    })
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking task")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn branches_tags_and_full_shas_resolve() {
    let git = GitServer::start(None).await.expect("server");
    let (url, first) = git.create_repo("r", &[("a.txt", "one")]).expect("repo");
    git.git("r", &["tag", "-a", "v1", "-m", "release 1"])
        .expect("annotated tag");
    let second = git
        .commit("r", &[("a.txt", "two")], "second")
        .expect("commit");
    git.git("r", &["tag", "light"]).expect("lightweight tag");
    git.git("r", &["branch", "feature", &first])
        .expect("branch");
    git.publish("r").expect("publish");

    let (u, tip) = (url.clone(), second.clone());
    let (main, v1, light, feature, sha, head_sha) = blocking(move || {
        (
            resolve_ref(&u, "main", None),
            resolve_ref(&u, "v1", None),
            resolve_ref(&u, "light", None),
            resolve_ref(&u, "refs/heads/feature", None),
            resolve_ref(&u, &first.to_uppercase(), None),
            resolve_ref(&u, &tip, None),
        )
    })
    .await;
    assert_eq!(main.expect("main"), second);
    let first_lower = v1.expect("annotated tag peels to its commit");
    assert_eq!(light.expect("lightweight tag"), second);
    assert_eq!(feature.expect("full ref name"), first_lower);
    assert_eq!(sha.expect("a non-tip commit SHA resolves"), first_lower);
    assert_eq!(head_sha.expect("tip SHA"), second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_refs_get_actionable_errors() {
    let git = GitServer::start(None).await.expect("server");
    let (url, _) = git.create_repo("r", &[("a.txt", "one")]).expect("repo");
    let u = url.clone();
    let (unknown, short, missing) = blocking(move || {
        (
            resolve_ref(&u, "no-such-branch", None),
            resolve_ref(&u, "3f2c1a9", None),
            resolve_ref(&u, "0123456789abcdef0123456789abcdef01234567", None),
        )
    })
    .await;
    let e = unknown.expect_err("unknown ref");
    assert!(matches!(e, GitError::RefNotFound { .. }), "{e:?}");
    assert!(
        e.to_string().contains("no-such-branch") && e.to_string().contains("main"),
        "{e}"
    );
    assert!(e.is_permanent());
    assert!(matches!(short, Err(GitError::ShortSha { .. })), "{short:?}");
    assert!(
        matches!(missing, Err(GitError::CommitNotFound { .. })),
        "{missing:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_required_and_never_sent_in_clear_text() {
    let git = GitServer::start(Some(("alice", "s3cret")))
        .await
        .expect("server");
    let (url, _) = git
        .create_repo("private", &[("nb/a.ipynb", "{}")])
        .expect("repo");
    let u = url.clone();
    let (without, with) = blocking(move || {
        (
            resolve_ref(&u, "main", None),
            resolve_ref(&u, "main", creds("alice", "s3cret")),
        )
    })
    .await;
    let without = without.expect_err("the server wants credentials");
    assert!(matches!(without, GitError::Auth { .. }), "{without:?}");
    assert!(
        without.to_string().contains("credentialsSecret"),
        "{without}"
    );
    // gix refuses to put a password on the wire unencrypted; so do we.
    let with = with.expect_err("plain http");
    assert!(
        matches!(with, GitError::InsecureCredentials { .. }),
        "{with:?}"
    );
    assert!(!with.to_string().contains("s3cret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_writes_files_and_modes() {
    let git = GitServer::start(None).await.expect("server");
    let (url, sha) = git
        .create_repo("r", &[("nb/a.ipynb", "{}"), ("run.sh", "#!/bin/sh\n")])
        .expect("repo");
    git.git("r", &["update-index", "--chmod=+x", "run.sh"])
        .expect("chmod");
    git.git("r", &["commit", "-q", "-m", "make run.sh executable"])
        .expect("commit the mode");
    let sha2 = git.git("r", &["rev-parse", "HEAD"]).expect("head");
    assert_ne!(sha2, sha);
    git.publish("r").expect("publish");
    let dest = tempfile::tempdir().expect("dest");
    let d = dest.path().to_path_buf();
    let files = blocking(move || checkout(&url, &sha2, None, &d))
        .await
        .expect("checkout");
    assert_eq!(files, 2);
    assert_eq!(
        std::fs::read_to_string(dest.path().join("nb/a.ipynb")).expect("file"),
        "{}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dest.path().join("run.sh"))
        .expect("run.sh")
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "the executable bit survives");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_writes_the_requested_commit_not_the_tip() {
    let git = GitServer::start(None).await.expect("server");
    let (url, first) = git.create_repo("r", &[("a.txt", "one")]).expect("repo");
    git.commit("r", &[("a.txt", "two"), ("b.txt", "new")], "second")
        .expect("commit");
    git.publish("r").expect("publish");
    let dest = tempfile::tempdir().expect("dest");
    let d = dest.path().to_path_buf();
    blocking(move || checkout(&url, &first, None, &d))
        .await
        .expect("checkout");
    assert_eq!(
        std::fs::read_to_string(dest.path().join("a.txt")).expect("a"),
        "one"
    );
    assert!(!dest.path().join("b.txt").exists());
}
