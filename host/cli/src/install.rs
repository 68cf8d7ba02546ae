//! `nbv install`: the validation pod's first init container. Copies this very
//! binary (static, so it runs in any notebook image) and the job's
//! result-signing key into the shared emptyDir.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct InstallArgs {
    /// Where to put the runner binary.
    #[arg(long)]
    pub dest: PathBuf,
    /// The mounted key Secret file.
    #[arg(long)]
    pub key_from: Option<PathBuf>,
    /// Where the runner will read (and then delete) the key.
    #[arg(long, requires = "key_from")]
    pub key_dest: Option<PathBuf>,
}

fn copy_with_mode(from: &Path, to: &Path, mode: u32) -> io::Result<()> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent)?;
    }
    // Write then rename so a half-copied runner can never be executed.
    let tmp = to.with_extension("partial");
    fs::copy(from, &tmp)?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))?;
    fs::rename(&tmp, to)
}

pub fn run(args: InstallArgs) -> std::process::ExitCode {
    let result = (|| -> Result<(), String> {
        let me = std::env::current_exe().map_err(|e| format!("cannot find the nbv binary: {e}"))?;
        copy_with_mode(&me, &args.dest, 0o755)
            .map_err(|e| format!("cannot install the runner to {}: {e}", args.dest.display()))?;
        if let (Some(from), Some(to)) = (&args.key_from, &args.key_dest) {
            copy_with_mode(from, to, 0o400)
                .map_err(|e| format!("cannot copy the result key from {}: {e}", from.display()))?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nbv install: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
