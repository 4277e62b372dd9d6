//! The `textclean` binary: parse the command line, run, report errors.

use std::process::ExitCode;

/// glibc's malloc gives freed memory back to the kernel early (128 KiB
/// at the top of a heap) and serves blocks from 128 KiB up with fresh
/// mappings, adjusting that bound as it goes. A run frees and reallocates
/// megabytes a batch, mostly from several threads' arenas, so the same
/// pages were faulted in again and again: at 2 threads, 2.5 times the
/// page faults of 1 thread and about 5% more CPU (`perf stat` over
/// `textclean bench`). Keeping up to 64 MiB and mapping only blocks of
/// 16 MiB and more halves the faults; peak RSS is unchanged, since it
/// is set by the batches in flight.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_malloc() {
    // SAFETY: mallopt only sets allocator parameters; it is called before
    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 16 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_malloc() {}

fn main() -> ExitCode {
    tune_malloc();
    match textclean::cli::main() {
        Ok(code) => code,
        Err(err) => {
            // A closed pipe (`textclean … | head`) is not an error.
            if textclean::cli::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("textclean: {err:#}");
            ExitCode::from(2)
        }
    }
}
