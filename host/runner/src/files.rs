//! Writing the files a run leaves behind.

use std::path::{Path, PathBuf};

/// Writes via a temporary file and a rename, so a reader (a person, CI, the
/// operator) never sees half a file. Paths that are not regular files
/// (`/dev/termination-log` is a bind mount, a pipe cannot be renamed over)
/// are written in place.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let is_regular = std::fs::metadata(path).map(|m| m.is_file()).unwrap_or(true);
    if !is_regular {
        return std::fs::write(path, bytes);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
