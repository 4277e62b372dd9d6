//! The plan: what a run reads and how it is cut into shards, kept in RUN/manifest.json.

use std::num::NonZeroU32;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{invalid, io_err, ShardError, MAX_SHARDS};
use crate::config::PipelineConfig;
use crate::input::{
    walk_text_files, EncodingChoice, InputOptions, InputSpec, Reader, StreamFormat,
};
use crate::output::{write_file_atomic, FieldKinds, Format, Renderer, Unit};

/// Output formats a run can merge (a directory of `.txt` files cannot be
/// concatenated, so it is not one of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum RunFormat {
    /// One JSON object per line.
    Jsonl,
    /// CSV with one header row (written by `merge`).
    Csv,
    /// Parquet: shards write frames, `merge` encodes them, so row groups
    /// and columns are those of one process.
    Parquet,
}

impl RunFormat {
    pub(super) fn format(self) -> Format {
        match self {
            RunFormat::Jsonl => Format::Jsonl,
            RunFormat::Csv => Format::Csv,
            RunFormat::Parquet => Format::Parquet,
        }
    }

    pub(super) fn extension(self) -> &'static str {
        match self {
            RunFormat::Jsonl => "jsonl",
            RunFormat::Csv => "csv",
            RunFormat::Parquet => "parquet",
        }
    }

    /// The extension of a shard's output part.
    pub(super) fn part_extension(self) -> &'static str {
        match self {
            RunFormat::Parquet => "frames",
            other => other.extension(),
        }
    }
}

/// `Unit` as the manifest spells it.
#[derive(Serialize, Deserialize)]
#[serde(remote = "Unit", rename_all = "snake_case")]
pub(super) enum UnitDef {
    Doc,
    Sentence,
}

/// One input as planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedInput {
    /// Absolute path (shards may run in another directory).
    pub path: String,
    /// Bytes on disk (a directory: the sum of its text files), checked by
    /// every shard so a changed input is refused rather than mis-sharded.
    pub bytes: u64,
    /// Records, failed ones included.
    pub records: u64,
}

/// Input field names, as `clean --text-field …` takes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedFields {
    /// Field holding the text.
    pub text: String,
    /// Field holding the document id.
    pub id: String,
    /// Field holding the source.
    pub source: String,
}

impl PlannedFields {
    pub(super) fn options(&self) -> InputOptions {
        InputOptions {
            text_field: self.text.clone(),
            id_field: self.id.clone(),
            source_field: self.source.clone(),
            ..InputOptions::default()
        }
    }
}

/// How inputs are read, as `clean --follow --delimiter …` takes them: fixed
/// at plan time so that every pass reads the records `plan` counted.
/// Manifests written before these flags existed load with the defaults,
/// which is how those runs read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlannedReading {
    /// Follow symbolic links inside directory inputs.
    pub follow: bool,
    /// CSV field delimiter (one ASCII byte).
    pub delimiter: u8,
    /// Format of inputs whose name does not say (`--input-format`).
    pub input_format: Option<PlannedFormat>,
    /// `--encoding`: `utf-8`, `auto` or an encoding's name.
    pub encoding: String,
    /// The line cap (`--max-line-bytes`).
    pub max_line_bytes: usize,
}

/// [`StreamFormat`], as the manifest spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlannedFormat {
    /// JSONL.
    Jsonl,
    /// CSV.
    Csv,
    /// One text document.
    Txt,
}

impl Default for PlannedReading {
    fn default() -> Self {
        PlannedReading::of(&InputOptions::default())
    }
}

impl PlannedReading {
    pub(super) fn of(o: &InputOptions) -> PlannedReading {
        PlannedReading {
            follow: o.follow,
            delimiter: o.delimiter,
            input_format: o.format.map(|f| match f {
                StreamFormat::Jsonl => PlannedFormat::Jsonl,
                StreamFormat::Csv => PlannedFormat::Csv,
                StreamFormat::Txt => PlannedFormat::Txt,
            }),
            encoding: match o.encoding {
                EncodingChoice::Utf8 => "utf-8".into(),
                EncodingChoice::Auto => "auto".into(),
                EncodingChoice::Named(enc) => enc.name().to_ascii_lowercase(),
            },
            max_line_bytes: o.max_line_bytes,
        }
    }

    /// `o` with these reading settings.
    pub(super) fn apply(&self, o: InputOptions) -> Result<InputOptions, String> {
        Ok(InputOptions {
            follow: self.follow,
            delimiter: self.delimiter,
            format: self.input_format.map(|f| match f {
                PlannedFormat::Jsonl => StreamFormat::Jsonl,
                PlannedFormat::Csv => StreamFormat::Csv,
                PlannedFormat::Txt => StreamFormat::Txt,
            }),
            encoding: self.encoding.parse()?,
            max_line_bytes: self.max_line_bytes,
            ..o
        })
    }
}

/// `RUN/manifest.json`: everything a shard needs, fixed at plan time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The textclean version that planned the run; every pass must match
    /// it, since another version may clean differently.
    pub textclean_version: String,
    /// Number of shards.
    pub shards: NonZeroU32,
    /// Inputs in the order they are read (sorted by path).
    pub inputs: Vec<PlannedInput>,
    /// Records over all inputs.
    pub records: u64,
    /// Output format.
    pub format: RunFormat,
    /// Output unit.
    #[serde(with = "UnitDef")]
    pub unit: Unit,
    /// Whether shards write removed-lines log parts.
    pub removed_log: bool,
    /// Input field names.
    pub fields: PlannedFields,
    /// How inputs are read (absent in manifests from before the reading
    /// flags: the defaults).
    #[serde(default)]
    pub reading: PlannedReading,
    /// CSV: the carried fields of the run's first readable document (its
    /// columns), or `None` when no record is readable; JSONL: `None`.
    pub csv_fields: Option<Vec<String>>,
    /// Parquet: the carried fields of every readable record and their
    /// kinds (the columns one process types); otherwise `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parquet_fields: Option<FieldKinds>,
    /// `config_hash_hex` of the resolved config.
    pub config_hash: String,
    /// Directory that relative paths in the config resolve against.
    pub config_base_dir: PathBuf,
    /// The resolved config (`check-config` TOML), so shards never depend
    /// on the original config file.
    pub config: String,
}

impl Manifest {
    /// The positions shard `i` covers.
    pub fn range(&self, i: u32) -> Range<u64> {
        let n = u128::from(self.shards.get());
        let t = u128::from(self.records);
        // i < n and the result is at most t, so both fit in u64.
        let at = |k: u128| u64::try_from(k * t / n).unwrap_or(u64::MAX);
        at(u128::from(i))..at(u128::from(i) + 1)
    }
}

/// What `plan` is asked to do.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// Number of shards.
    pub shards: NonZeroU32,
    /// Output format.
    pub format: RunFormat,
    /// Output unit.
    pub unit: Unit,
    /// Write removed-lines log parts (merged into `RUN/removed.jsonl`).
    pub removed_log: bool,
    /// Input field names.
    pub input: InputOptions,
}

pub(super) fn input_bytes(spec: &InputSpec, follow: bool) -> Result<u64, ShardError> {
    match spec {
        InputSpec::Dir(d) => {
            let mut total = 0;
            // The files the reader reads: an unreadable entry is a failed
            // record there, and adds nothing here.
            for entry in walk_text_files(d, follow) {
                match entry {
                    Ok((_, p)) => total += std::fs::metadata(&p).map_err(io_err(&p))?.len(),
                    Err(e) if Path::new(&e.path) == d.as_path() => return Err(e.into()),
                    Err(_) => {}
                }
            }
            Ok(total)
        }
        other => {
            // Every other kind came from a path (stdin is refused earlier).
            let p = other.path().unwrap_or(Path::new("-"));
            Ok(std::fs::metadata(p).map_err(io_err(p))?.len())
        }
    }
}

/// Plans a run: counts the records of every input once and writes
/// `RUN/manifest.json`. Planning the same run again is a no-op; planning a
/// different one into a used directory is refused, so parts of two plans
/// never mix.
///
/// # Errors
/// Stdin or an unreadable input, a used run directory, an unwritable one.
pub fn plan(
    run: &Path,
    inputs: &[String],
    config: &PipelineConfig,
    opts: &PlanOptions,
) -> Result<Manifest, ShardError> {
    if opts.shards.get() > MAX_SHARDS {
        return Err(ShardError::Shard(format!(
            "--shards {}: at most {MAX_SHARDS}",
            opts.shards
        )));
    }
    let mut paths = Vec::with_capacity(inputs.len());
    for arg in inputs {
        if arg == "-" {
            return Err(ShardError::Shard(
                "a run cannot read stdin: every shard reads the inputs again; save it to a file"
                    .into(),
            ));
        }
        let abs = std::path::absolute(arg).map_err(io_err(Path::new(arg)))?;
        let Some(s) = abs.to_str() else {
            return Err(invalid(&abs, "input paths must be UTF-8"));
        };
        paths.push(s.to_string());
    }
    // Sorted, so the plan does not depend on how a shell expanded a glob.
    paths.sort();
    let mut planned = Vec::with_capacity(paths.len());
    let mut csv_first: Option<Vec<String>> = None;
    let want_csv_fields = opts.format == RunFormat::Csv;
    // As one process previews them: every record that decodes, the
    // fields as the Parquet renderer frames them.
    let mut parquet_fields = (opts.format == RunFormat::Parquet).then(FieldKinds::default);
    let renderer = Renderer::new(Format::Parquet, opts.unit, config.has_sentences());
    for path in paths {
        let spec = InputSpec::from_arg_with(&path, &opts.input)?;
        let bytes = input_bytes(&spec, opts.input.follow)?;
        let mut records = 0u64;
        for item in Reader::new(vec![spec], opts.input.clone()) {
            records += 1;
            if let Some(kinds) = parquet_fields.as_mut() {
                if let Ok(doc) = item.and_then(|raw| raw.decode(&opts.input)) {
                    renderer.observe_fields(kinds, &doc);
                }
                continue;
            }
            if want_csv_fields && csv_first.is_none() {
                // The columns one process would take: the first record that
                // decodes (stages never change carried fields).
                if let Ok(doc) = item.and_then(|raw| raw.decode(&opts.input)) {
                    csv_first = Some(doc.fields.keys().cloned().collect());
                }
            }
        }
        planned.push(PlannedInput {
            path,
            bytes,
            records,
        });
    }
    let config_text = config
        .to_toml()
        .map_err(|e| invalid(Path::new(&config.origin), e))?;
    let base_dir = std::path::absolute(&config.base_dir).map_err(io_err(&config.base_dir))?;
    let manifest = Manifest {
        textclean_version: env!("CARGO_PKG_VERSION").to_string(),
        shards: opts.shards,
        records: planned.iter().map(|p| p.records).sum(),
        inputs: planned,
        format: opts.format,
        unit: opts.unit,
        removed_log: opts.removed_log,
        fields: PlannedFields {
            text: opts.input.text_field.clone(),
            id: opts.input.id_field.clone(),
            source: opts.input.source_field.clone(),
        },
        reading: PlannedReading::of(&opts.input),
        csv_fields: csv_first,
        parquet_fields,
        config_hash: config.hash_hex(),
        config_base_dir: base_dir,
        config: config_text,
    };
    let path = run.join("manifest.json");
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| invalid(&path, e))?;
    if path.exists() {
        let old = std::fs::read(&path).map_err(io_err(&path))?;
        if old == json {
            return Ok(manifest);
        }
        return Err(invalid(
            &path,
            "the run directory already holds a different plan (inputs, shards, config or format); plan into a new directory",
        ));
    }
    if let Ok(mut entries) = std::fs::read_dir(run) {
        if entries.next().is_some() {
            return Err(invalid(
                run,
                "not empty and not a planned run; plan into a new or empty directory",
            ));
        }
    }
    write_file_atomic(&path, &json)?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(k: u32) -> NonZeroU32 {
        NonZeroU32::new(k).unwrap()
    }

    #[test]
    fn reading_flags_round_trip_through_the_manifest() {
        for encoding in ["utf-8", "auto", "windows-1252", "latin1", "shift_jis"] {
            let o = InputOptions {
                follow: true,
                delimiter: b'\t',
                format: Some(StreamFormat::Csv),
                encoding: encoding.parse().unwrap(),
                max_line_bytes: 4096,
                ..InputOptions::default()
            };
            let json = serde_json::to_string(&PlannedReading::of(&o)).unwrap();
            let back: PlannedReading = serde_json::from_str(&json).unwrap();
            let r = back.apply(InputOptions::default()).unwrap();
            assert_eq!(
                (
                    r.follow,
                    r.delimiter,
                    r.format,
                    r.encoding,
                    r.max_line_bytes
                ),
                (
                    o.follow,
                    o.delimiter,
                    o.format,
                    o.encoding,
                    o.max_line_bytes
                ),
                "{encoding}"
            );
        }
        // An empty object (a field added later) reads as the defaults.
        let r: PlannedReading = serde_json::from_str("{}").unwrap();
        assert_eq!(r, PlannedReading::default());
    }

    #[test]
    fn ranges_cover_every_position_once() {
        for (records, shards) in [(0u64, 3u32), (10, 3), (10, 10), (3, 7), (1584, 7)] {
            let m = Manifest {
                textclean_version: String::new(),
                shards: n(shards),
                inputs: Vec::new(),
                records,
                format: RunFormat::Jsonl,
                unit: Unit::Doc,
                removed_log: false,
                fields: PlannedFields {
                    text: "text".into(),
                    id: "id".into(),
                    source: "source".into(),
                },
                reading: PlannedReading::default(),
                csv_fields: None,
                parquet_fields: None,
                config_hash: String::new(),
                config_base_dir: PathBuf::new(),
                config: String::new(),
            };
            let mut next = 0;
            for i in 0..shards {
                let r = m.range(i);
                assert_eq!(r.start, next);
                next = r.end;
            }
            assert_eq!(next, records);
        }
    }
}
