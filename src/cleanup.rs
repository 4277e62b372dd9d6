//! Temporary files that must not outlive the process: on SIGINT, SIGTERM
//! or SIGHUP (Ctrl-C, `scancel`, a closed terminal) the handler removes
//! every registered file before exiting, so an interrupted run leaves
//! neither a truncated output nor hundreds of MB of hidden temp files.
//! (`kill -9` cannot be caught: the next run that writes the same output
//! removes what it left, see `output::AtomicFile`.)

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

fn live() -> MutexGuard<'static, HashSet<PathBuf>> {
    static LIVE: OnceLock<Mutex<HashSet<PathBuf>>> = OnceLock::new();
    // A panic while holding the lock leaves the set usable.
    LIVE.get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A temporary file (or directory) registered for removal on a signal, for as long as
/// this guard lives (its owner removes or renames it on the normal paths).
#[derive(Debug)]
pub struct Live(PathBuf);

impl Live {
    /// Registers `path`.
    pub fn register(path: &Path) -> Live {
        live().insert(path.to_path_buf());
        Live(path.to_path_buf())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        live().remove(&self.0);
    }
}

/// Starts the thread that waits for SIGINT, SIGTERM and SIGHUP, removes
/// the registered files and exits with 128 + the signal number, as a shell
/// reports a process killed by it. Called once by the CLI; a library user
/// keeps its own signal handling.
///
/// # Errors
/// The handler cannot be installed.
pub fn install_signal_handler() -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("textclean-signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                for path in live().drain() {
                    // A registered directory (stdin's spool) goes whole.
                    if path.is_dir() {
                        let _ = std::fs::remove_dir_all(&path);
                    } else {
                        let _ = std::fs::remove_file(&path);
                    }
                }
                std::process::exit(128 + sig);
            }
        })?;
    Ok(())
}
