//! Slurm: the task's shard index, and the job chain's scripts and sbatch steps.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use super::{invalid, Pass, Run, ShardError};

/// A shard index given on the command line: `I/N` or `I`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardArg {
    /// The index.
    pub index: u32,
    /// The shard count, if given (it must match the manifest).
    pub of: Option<u32>,
}

impl std::str::FromStr for ShardArg {
    type Err = String;

    fn from_str(s: &str) -> Result<ShardArg, String> {
        let num = |t: &str| {
            t.trim()
                .parse::<u32>()
                .map_err(|_| format!("`{s}` is not I/N or I (non-negative integers)"))
        };
        Ok(match s.split_once('/') {
            Some((i, n)) => ShardArg {
                index: num(i)?,
                of: Some(num(n)?),
            },
            None => ShardArg {
                index: num(s)?,
                of: None,
            },
        })
    }
}

/// Environment variables that carry a shard index, in precedence order:
/// Slurm job arrays, then Kubernetes indexed jobs. The shard count never
/// comes from the environment: `SLURM_ARRAY_TASK_COUNT` describes one
/// submission (a retry of `--array=2,5` sees 2), not the dataset.
pub const INDEX_VARS: [&str; 2] = ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"];

/// The shard to run: `--shard`, else the first of [`INDEX_VARS`] that
/// `env` has; checked against the manifest's count.
///
/// # Errors
/// No index anywhere, one that does not parse, a count that is not the
/// manifest's, or an index ≥ the count.
pub fn resolve_shard(
    arg: Option<ShardArg>,
    env: impl Fn(&str) -> Option<String>,
    shards: NonZeroU32,
) -> Result<u32, ShardError> {
    let n = shards.get();
    let (index, from) = match arg {
        Some(a) => {
            if let Some(of) = a.of.filter(|&of| of != n) {
                return Err(ShardError::Shard(format!(
                    "--shard {}/{of}: the run was planned with {n} shards",
                    a.index
                )));
            }
            (a.index, "--shard".to_string())
        }
        None => {
            let Some((var, value)) = INDEX_VARS
                .iter()
                .find_map(|v| env(v).map(|value| (*v, value)))
            else {
                return Err(ShardError::Shard(format!(
                    "no shard index: give --shard I/{n}, or run as a Slurm array task (SLURM_ARRAY_TASK_ID) or an indexed job (JOB_COMPLETION_INDEX)"
                )));
            };
            let index = value
                .trim()
                .parse::<u32>()
                .map_err(|_| ShardError::Shard(format!("{var}={value:?} is not a shard index")))?;
            (index, var.to_string())
        }
    };
    if index >= n {
        return Err(ShardError::Shard(format!(
            "shard {index} (from {from}) does not exist: the run has {n} shards, 0 to {}",
            n - 1
        )));
    }
    Ok(index)
}

/// Formats shard indices as a Slurm `--array` list: `2,5,7-9`.
pub fn array_list(shards: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < shards.len() {
        let mut j = i;
        while j + 1 < shards.len() && shards[j + 1] == shards[j] + 1 {
            j += 1;
        }
        out.push(if j == i {
            shards[i].to_string()
        } else {
            format!("{}-{}", shards[i], shards[j])
        });
        i = j + 1;
    }
    out.join(",")
}

/// How to submit a run to Slurm.
#[derive(Debug, Clone, Default)]
pub struct SlurmOptions {
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time` of each job.
    pub time: Option<String>,
    /// `--cpus-per-task` of each array task (the rayon threads).
    pub cpus_per_task: Option<u32>,
    /// `merge -o`: the merged output (default `RUN/output.EXT`).
    pub output: Option<PathBuf>,
}

/// One job of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlurmStep {
    /// `profile`, `merge-profile`, `clean` or `merge`.
    pub name: &'static str,
    /// The sbatch script.
    pub script: PathBuf,
    /// The array indices, for the shard passes.
    pub array: Option<String>,
    /// Whether it waits (`afterok`) for the step before it.
    pub after_previous: bool,
}

impl SlurmStep {
    /// The `sbatch` arguments; `previous` is the job id it waits for.
    pub fn sbatch_args(&self, previous: Option<&str>) -> Vec<String> {
        let mut args = vec!["--parsable".to_string()];
        if let Some(a) = &self.array {
            args.push(format!("--array={a}"));
        }
        if let (true, Some(p)) = (self.after_previous, previous) {
            args.push(format!("--dependency=afterok:{p}"));
            // A failed shard must cancel what waits for it, not leave it
            // pending forever (Slurm's default on most clusters).
            args.push("--kill-on-invalid-dep=yes".into());
        }
        args.push(self.script.display().to_string());
        args
    }
}

/// Quotes a word for a POSIX shell.
fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+=:,@".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl Run {
    /// The sbatch scripts of the chain, by step name, with their text.
    ///
    /// # Errors
    /// A run directory path that `#SBATCH` lines cannot hold.
    pub fn slurm_scripts(
        &self,
        opts: &SlurmOptions,
        exe: &Path,
    ) -> Result<Vec<(&'static str, PathBuf, String)>, ShardError> {
        let dir = self.dir.join("slurm");
        let dir_str = dir.display().to_string();
        // `#SBATCH` values are split at white space and `%` starts a
        // filename pattern, so such a path cannot name the logs.
        if dir_str.chars().any(|c| c.is_whitespace() || c == '%') {
            return Err(invalid(
                &self.dir,
                "a run directory for Slurm must not contain white space or `%`",
            ));
        }
        let exe = sh_quote(&exe.display().to_string());
        let run = sh_quote(&self.dir.display().to_string());
        let merge_out = opts
            .output
            .as_ref()
            .map(|o| {
                let abs = std::path::absolute(o).unwrap_or_else(|_| o.clone());
                format!(" -o {}", sh_quote(&abs.display().to_string()))
            })
            .unwrap_or_default();
        let steps: [(&'static str, bool, String); 4] = [
            ("profile", true, format!("{exe} profile --run {run}")),
            (
                "merge-profile",
                false,
                format!("{exe} merge-profile --run {run}"),
            ),
            ("clean", true, format!("{exe} clean --run {run}")),
            (
                "merge",
                false,
                format!("{exe} merge --run {run}{merge_out}"),
            ),
        ];
        let mut out = Vec::new();
        for (name, array, command) in steps {
            let mut s = String::from("#!/bin/bash\n");
            s.push_str(&format!(
                "# textclean run {}: {name}{}\n",
                self.dir.display(),
                if array {
                    " (one array task per shard; the index comes from SLURM_ARRAY_TASK_ID)"
                } else {
                    ""
                }
            ));
            if array {
                s.push_str(&format!(
                    "# Re-run shards alone with: sbatch --array=2,5 {dir_str}/{name}.sbatch\n"
                ));
            }
            s.push_str(&format!("#SBATCH --job-name=textclean-{name}\n"));
            let log = if array { "%x-%A_%a.out" } else { "%x-%j.out" };
            s.push_str(&format!("#SBATCH --output={dir_str}/{log}\n"));
            if let (true, Some(c)) = (array, opts.cpus_per_task) {
                s.push_str(&format!("#SBATCH --cpus-per-task={c}\n"));
            }
            if let Some(p) = &opts.partition {
                s.push_str(&format!("#SBATCH --partition={p}\n"));
            }
            if let Some(t) = &opts.time {
                s.push_str(&format!("#SBATCH --time={t}\n"));
            }
            s.push_str(&format!("exec {command}\n"));
            out.push((name, dir.join(format!("{name}.sbatch")), s));
        }
        Ok(out)
    }

    /// The jobs still needed, in order: pass 1 and `merge-profile` unless
    /// `RUN/profile.bin` exists (or no stage needs it), the clean array
    /// over the incomplete shards only, and `merge`.
    pub fn slurm_steps(&self) -> Vec<SlurmStep> {
        let script = |name: &str| self.dir.join("slurm").join(format!("{name}.sbatch"));
        let mut steps = Vec::new();
        if self.needs_profile() && !self.profile_path().exists() {
            let missing = self.incomplete(Pass::Profile);
            if !missing.is_empty() {
                steps.push(SlurmStep {
                    name: "profile",
                    script: script("profile"),
                    array: Some(array_list(&missing)),
                    after_previous: false,
                });
            }
            steps.push(SlurmStep {
                name: "merge-profile",
                script: script("merge-profile"),
                array: None,
                after_previous: !steps.is_empty(),
            });
        }
        let missing = self.incomplete(Pass::Clean);
        if !missing.is_empty() {
            steps.push(SlurmStep {
                name: "clean",
                script: script("clean"),
                array: Some(array_list(&missing)),
                after_previous: !steps.is_empty(),
            });
        }
        steps.push(SlurmStep {
            name: "merge",
            script: script("merge"),
            array: None,
            after_previous: !steps.is_empty(),
        });
        steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(k: u32) -> NonZeroU32 {
        NonZeroU32::new(k).unwrap()
    }

    #[test]
    fn shard_index_precedence_and_range() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(v, _)| *v == k)
                    .map(|(_, x)| x.to_string())
            }
        };
        let both = env(&[("SLURM_ARRAY_TASK_ID", "2"), ("JOB_COMPLETION_INDEX", "3")]);
        assert_eq!(resolve_shard(None, both, n(7)).unwrap(), 2);
        let arg = "1/7".parse().ok();
        assert_eq!(resolve_shard(arg, both, n(7)).unwrap(), 1);
        let k8s = env(&[("JOB_COMPLETION_INDEX", "3")]);
        assert_eq!(resolve_shard(None, k8s, n(7)).unwrap(), 3);
        // SLURM_ARRAY_TASK_COUNT is never read: the count is the manifest's.
        let retry = env(&[
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_COUNT", "1"),
        ]);
        assert_eq!(resolve_shard(None, retry, n(7)).unwrap(), 5);
        let e = resolve_shard(None, env(&[("SLURM_ARRAY_TASK_ID", "7")]), n(7)).unwrap_err();
        assert!(
            e.to_string().contains("shard 7 (from SLURM_ARRAY_TASK_ID)"),
            "{e}"
        );
        assert!(resolve_shard("2/4".parse().ok(), env(&[]), n(7)).is_err());
        assert!(resolve_shard(None, env(&[]), n(7)).is_err());
        assert!(resolve_shard(None, env(&[("SLURM_ARRAY_TASK_ID", "x")]), n(7)).is_err());
        assert!("1/".parse::<ShardArg>().is_err());
    }

    #[test]
    fn array_lists_compress_runs() {
        assert_eq!(array_list(&[2, 5]), "2,5");
        assert_eq!(array_list(&[0, 1, 2, 4, 6, 7]), "0-2,4,6-7");
        assert_eq!(array_list(&[3]), "3");
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(sh_quote("/a/b-c.d"), "/a/b-c.d");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
    }
}
