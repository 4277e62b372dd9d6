//! Parallel helpers for code outside the document loop (compiling the
//! rules): a leaf module that stages may use without reaching `run.rs`.
//!
//! They run on the rayon pool they are called from, which is the run's
//! pool sized by `--threads`. Called from any other thread (`check-config`,
//! `explain`, opening a planned run, a unit test) they run serially: rayon
//! would otherwise start its global pool with one thread per CPU, ignoring
//! `--threads` and the CPUs a Slurm task was given.

use rayon::prelude::*;

/// True on a worker thread of some rayon pool.
fn on_pool() -> bool {
    rayon::current_thread_index().is_some()
}

/// Maps `f` over `items` in order: in parallel on the current pool,
/// serially when there is none.
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync + Send) -> Vec<R> {
    if on_pool() {
        items.par_iter().map(f).collect()
    } else {
        items.iter().map(f).collect()
    }
}

/// Runs `a` and `b`: in parallel when the current pool has a thread to
/// spare, one after the other when there is no pool.
pub fn join<A: Send, B: Send>(
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    if on_pool() {
        rayon::join(a, b)
    } else {
        (a(), b())
    }
}

/// A run's thread pool as outputs see it: they may hand it jobs (encoding
/// a Parquet row group) without knowing the pool's crate.
#[derive(Clone)]
pub struct Pool(std::sync::Arc<rayon::ThreadPool>);

impl Pool {
    /// The run's pool (see `run.rs`).
    pub fn of(pool: std::sync::Arc<rayon::ThreadPool>) -> Pool {
        Pool(pool)
    }

    /// A pool of its own, for work outside a run (`merge`).
    ///
    /// # Errors
    /// The threads cannot be started.
    pub fn with_threads(threads: usize) -> Result<Pool, String> {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build()
            .map(|p| Pool(std::sync::Arc::new(p)))
            .map_err(|e| e.to_string())
    }

    /// Its number of threads.
    pub fn threads(&self) -> usize {
        self.0.current_num_threads()
    }

    /// Runs `job` on one of its threads, not waiting for it.
    pub fn spawn(&self, job: impl FnOnce() + Send + 'static) {
        self.0.spawn(job);
    }
}

/// Maps `f` over `items`, consuming them, in order: in parallel on the
/// current pool, serially when there is none.
pub fn par_map_owned<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync + Send) -> Vec<R> {
    if on_pool() {
        items.into_par_iter().map(f).collect()
    } else {
        items.into_iter().map(f).collect()
    }
}

/// CPU time of the calling thread, user and system: what the sequential
/// writer (or an output's job on a worker) spends on the outputs, copying
/// into the page cache included, without the time it waits for the disk
/// (a final `fsync`).
pub fn thread_cpu() -> std::time::Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid place for the result.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return std::time::Duration::ZERO;
    }
    std::time::Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_pool_means_serial_and_a_pool_is_used_when_there_is_one() {
        // Off any pool: everything runs on the calling thread, so rayon's
        // global pool is never started.
        let here = std::thread::current().id();
        let ids = par_map(&[1, 2, 3], |_| std::thread::current().id());
        assert!(ids.iter().all(|&id| id == here));
        let (a, b) = join(
            || std::thread::current().id(),
            || std::thread::current().id(),
        );
        assert_eq!((a, b), (here, here));
        // On a pool: the work runs on its workers, in order.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let out = pool.install(|| par_map(&[1, 2, 3], |&x| (x * 2, on_pool())));
        assert_eq!(out, [(2, true), (4, true), (6, true)]);
    }
}
