//! `nbv fetch`: the validation pod's second init container. Writes the
//! notebook repository at the resolved commit (and the golden notebook's, if
//! it lives elsewhere) into the shared workspace. Credentials are read from
//! the mounted Secret files and never leave this process.

use std::path::PathBuf;
use std::process::ExitCode;

use nbv_deps::git;

#[derive(clap::Args, Debug)]
pub struct FetchArgs {
    #[arg(long)]
    pub url: String,
    /// A full commit SHA (the operator resolves refs before the pod exists).
    #[arg(long)]
    pub commit: String,
    #[arg(long)]
    pub dest: PathBuf,
    /// Directory where the credentials Secret is mounted (username/password or token files).
    #[arg(long)]
    pub credentials_dir: Option<PathBuf>,
    /// The golden notebook's repository, when it is not the notebook's.
    #[arg(long, requires_all = ["golden_commit", "golden_dest"])]
    pub golden_url: Option<String>,
    #[arg(long)]
    pub golden_commit: Option<String>,
    #[arg(long)]
    pub golden_dest: Option<PathBuf>,
    #[arg(long)]
    pub golden_credentials_dir: Option<PathBuf>,
}

fn one(
    url: &str,
    commit: &str,
    dest: &std::path::Path,
    creds_dir: Option<&std::path::Path>,
) -> Result<(), String> {
    let creds = creds_dir
        .map(git::credentials_from_dir)
        .transpose()?
        .flatten();
    let files = git::checkout(url, commit, creds, dest).map_err(|e| e.to_string())?;
    eprintln!(
        "nbv fetch: {} at {commit}: {files} files into {}",
        git::redact(url),
        dest.display()
    );
    Ok(())
}

pub fn run(args: FetchArgs) -> ExitCode {
    let mut jobs = vec![(args.url, args.commit, args.dest, args.credentials_dir)];
    if let (Some(url), Some(commit), Some(dest)) =
        (args.golden_url, args.golden_commit, args.golden_dest)
    {
        jobs.push((url, commit, dest, args.golden_credentials_dir));
    }
    for (url, commit, dest, creds) in jobs {
        if let Err(e) = one(&url, &commit, &dest, creds.as_deref()) {
            // The message becomes the init container's log, which the operator reports.
            eprintln!("nbv fetch: {e}");
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}
