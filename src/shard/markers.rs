//! Completion markers: a shard counts as done only when its marker, written last, matches its parts.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{array_list, file_size, invalid, read_json, Pass, Run, ShardError};
use crate::output::write_file_atomic;

/// Shards of a pass that are not complete, and why.
#[derive(Debug)]
pub struct Incomplete {
    /// The run directory.
    pub run: PathBuf,
    /// The pass.
    pub pass: Pass,
    /// Shard count.
    pub shards: u32,
    /// Each incomplete shard with the reason.
    pub problems: Vec<(u32, String)>,
}

impl Incomplete {
    /// The incomplete shard indices, ascending.
    pub fn shards(&self) -> Vec<u32> {
        self.problems.iter().map(|(i, _)| *i).collect()
    }
}

impl fmt::Display for Incomplete {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let run = self.run.display();
        let pass = self.pass.name();
        writeln!(
            f,
            "run {run}: the {pass} pass is incomplete: {} of {} shards not done",
            self.problems.len(),
            self.shards
        )?;
        for (i, why) in &self.problems {
            writeln!(f, "  shard {i}: {why}")?;
        }
        let list = array_list(&self.shards());
        writeln!(f, "missing shards: --array={list}")?;
        write!(
            f,
            "re-run them: sbatch --array={list} {run}/slurm/{pass}.sbatch (or textclean {pass} --run {run} --shard I/{} for each)",
            self.shards
        )
    }
}

/// A shard's completion marker: written last, after its parts are renamed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Marker {
    pass: Pass,
    shard: u32,
    shards: u32,
    records: Range<u64>,
    config_hash: String,
    textclean_version: String,
    /// Each part's file name and size, so a part replaced or truncated
    /// after the marker was written is noticed.
    files: BTreeMap<String, u64>,
    pub(super) elapsed_secs: f64,
}

impl Run {
    pub(super) fn write_marker(
        &self,
        pass: Pass,
        i: u32,
        files: &[PathBuf],
        elapsed: Duration,
    ) -> Result<(), ShardError> {
        let mut sizes = BTreeMap::new();
        for f in files {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            sizes.insert(name, file_size(f)?);
        }
        let marker = Marker {
            pass,
            shard: i,
            shards: self.manifest.shards.get(),
            records: self.manifest.range(i),
            config_hash: self.manifest.config_hash.clone(),
            textclean_version: self.manifest.textclean_version.clone(),
            files: sizes,
            elapsed_secs: elapsed.as_secs_f64(),
        };
        let path = self.marker_path(pass, i);
        let json = serde_json::to_vec_pretty(&marker).map_err(|e| invalid(&path, e))?;
        write_file_atomic(&path, &json)?;
        Ok(())
    }

    /// Why shard `i` of `pass` is not complete, or its marker if it is.
    pub(super) fn check_marker(&self, pass: Pass, i: u32) -> Result<Marker, String> {
        let path = self.marker_path(pass, i);
        if !path.exists() {
            return Err("no completion marker".into());
        }
        let m: Marker = read_json(&path).map_err(|e| e.to_string())?;
        if m.pass != pass || m.shard != i || m.shards != self.manifest.shards.get() {
            return Err(format!(
                "marker is for {} shard {}/{}",
                m.pass.name(),
                m.shard,
                m.shards
            ));
        }
        if m.config_hash != self.manifest.config_hash {
            return Err(format!(
                "marker has config hash {}, the run {}",
                m.config_hash, self.manifest.config_hash
            ));
        }
        if m.textclean_version != self.manifest.textclean_version {
            return Err(format!(
                "marker written by textclean {}",
                m.textclean_version
            ));
        }
        for (name, size) in &m.files {
            let p = self.pass_dir(pass).join(name);
            match std::fs::metadata(&p) {
                Ok(meta) if meta.len() == *size => {}
                Ok(meta) => {
                    return Err(format!(
                        "{name} has {} bytes, the marker says {size}",
                        meta.len()
                    ))
                }
                Err(e) => return Err(format!("{name}: {e}")),
            }
        }
        Ok(m)
    }

    /// The complete shards' markers, or every incomplete shard with why.
    pub(super) fn check_pass(&self, pass: Pass) -> Result<Vec<Marker>, Incomplete> {
        let mut markers = Vec::new();
        let mut problems = Vec::new();
        for i in 0..self.manifest.shards.get() {
            match self.check_marker(pass, i) {
                Ok(m) => markers.push(m),
                Err(why) => problems.push((i, why)),
            }
        }
        if problems.is_empty() {
            Ok(markers)
        } else {
            Err(Incomplete {
                run: self.dir.clone(),
                pass,
                shards: self.manifest.shards.get(),
                problems,
            })
        }
    }

    /// Shards of `pass` that are not complete.
    pub fn incomplete(&self, pass: Pass) -> Vec<u32> {
        self.check_pass(pass)
            .err()
            .map(|inc| inc.shards())
            .unwrap_or_default()
    }
}
