//! Walking a directory input for its `.txt` files, with `walkdir` (the
//! walker under ripgrep's `ignore`): symbolic links are not followed unless
//! asked, a followed link that loops is read once, an entry that cannot be
//! read is an error for that entry only, and FIFOs, devices and sockets are
//! skipped (reading one would hang or never end).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::{format_name, is_text_file, notice, InputError};

/// One `.txt` file of a directory input, or an entry that could not be
/// read; sorted by [`walk_text_files`].
pub type WalkedFile = Result<(String, PathBuf), InputError>;

/// A walked entry: its sort key, the file's identity (device, inode)
/// when links are followed, and the entry.
type Found = (String, Option<(u64, u64)>, WalkedFile);

/// The text files under `dir` (and the entries that could not be read, in
/// their place), sorted by relative path with `/` separators so that the
/// order is the same on every system and whatever the walk order.
///
/// With `follow`, symbolic links are followed; a link that points back up
/// its own tree is noticed and not followed again, and a file reached by
/// two paths is read once, under the first path in that order.
pub fn walk_text_files(dir: &Path, follow: bool) -> Vec<WalkedFile> {
    let mut found: Vec<Found> = Vec::new();
    let rel_of = |p: &Path| -> String {
        p.strip_prefix(dir)
            .unwrap_or(p)
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/")
    };
    let mut walk = walkdir::WalkDir::new(dir).follow_links(follow).into_iter();
    while let Some(entry) = walk.next() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e.path().unwrap_or(dir).to_path_buf();
                if let Some(ancestor) = e.loop_ancestor() {
                    notice(format!(
                        "{}: a symbolic link to {}, which contains it: not followed again",
                        path.display(),
                        ancestor.display()
                    ));
                    continue;
                }
                let message = match e.io_error() {
                    Some(io) => io.to_string(),
                    None => e.to_string(),
                };
                found.push((
                    rel_of(&path),
                    None,
                    Err(InputError::new(&path.display().to_string(), None, message)),
                ));
                continue;
            }
        };
        let name = entry.file_name().to_string_lossy();
        let kind = entry.file_type();
        if entry.depth() > 0 && name.starts_with('.') {
            if kind.is_dir() {
                walk.skip_current_dir();
            }
            continue;
        }
        let path = entry.path();
        let text = is_text_file(&format_name(path));
        if kind.is_symlink() {
            if text || path.is_dir() {
                notice(format!(
                    "{}: a symbolic link, not followed (--follow follows links)",
                    path.display()
                ));
            }
            continue;
        }
        if kind.is_dir() || !text {
            continue;
        }
        if !kind.is_file() {
            notice(format!(
                "{}: not a regular file (a FIFO, device or socket): skipped; name it as an input to read it as a stream",
                path.display()
            ));
            continue;
        }
        let identity = if follow { file_identity(&entry) } else { None };
        found.push((
            rel_of(path),
            identity,
            Ok((rel_of(path), path.to_path_buf())),
        ));
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    let mut seen = HashSet::new();
    found
        .into_iter()
        .filter(|(_, id, _)| id.is_none_or(|id| seen.insert(id)))
        .map(|(_, _, entry)| entry)
        .collect()
}

#[cfg(unix)]
fn file_identity(entry: &walkdir::DirEntry) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    entry.metadata().ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_identity(_: &walkdir::DirEntry) -> Option<(u64, u64)> {
    // Loops are still caught by the walker; only a file reached by two
    // different links would be read twice.
    None
}

/// The readable text files under `dir`, not following links, for sizes and
/// totals (entries that cannot be read are left out; the reader reports
/// them).
///
/// # Errors
/// `dir` itself cannot be read.
pub fn list_text_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, InputError> {
    let mut out = Vec::new();
    for entry in walk_text_files(dir, false) {
        match entry {
            Ok(file) => out.push(file),
            Err(e) if Path::new(&e.path) == dir => return Err(e),
            Err(_) => {}
        }
    }
    Ok(out)
}
