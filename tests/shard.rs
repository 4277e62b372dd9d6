//! Sharded runs without a scheduler: `plan`, `profile`/`merge-profile`,
//! `clean --run --shard I/N` and `merge` give the bytes of one `clean`
//! process, refuse what is incomplete, and survive crashes and re-runs.

// Test helpers, like the tests, panic on any failure; that is the point.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{bin, run};

/// A small corpus over three inputs of three kinds. Site chrome repeats in
/// more than `repeat_min_docs` documents of one source but never in that
/// many of any one shard, so shards agree with one process only if the
/// profile parts are merged; a broken record comes first (CSV columns come
/// from the first readable document), one document lacks an id (its id
/// names the file), and a late document carries a field the first lacks.
fn fixture(dir: &Path) -> Vec<String> {
    let mut a = String::from("{broken json\n");
    for i in 0..12 {
        let mut doc = serde_json::json!({
            "id": format!("a{i}"),
            "source": "daily.example",
            "url": format!("https://daily.example/{i}"),
            "text": format!(
                "Share this story\nHide Ad\n\nStory {i} begins. Dr. Smith said \"it's fine.\" It was {} degrees.\nSubscribe to our newsletter\nThe end of story {i}. Really.",
                20 + i
            ),
        });
        if i == 7 {
            doc.as_object_mut().unwrap().remove("id");
        }
        a.push_str(&doc.to_string());
        a.push('\n');
    }
    std::fs::write(dir.join("a.jsonl"), a).unwrap();
    std::fs::create_dir_all(dir.join("b/site2")).unwrap();
    for (name, text) in [
        (
            "one.txt",
            "A page.\nCaption TextCaption Text\nBody line one. Body two.",
        ),
        (
            "two.txt",
            "Second page, with café and naïve words.\n\n\nEnd.",
        ),
        ("three.txt", "Third page.\nREAD MORE: elsewhere"),
    ] {
        std::fs::write(dir.join("b/site2").join(name), text).unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(dir.join("c.jsonl.gz")).unwrap(),
        flate2::Compression::fast(),
    );
    for i in 0..6 {
        let mut doc = serde_json::json!({
            "id": format!("c{i}"),
            "source": "daily.example",
            "url": format!("https://daily.example/c{i}"),
            "text": format!("Share this story\nLater story {i}. It ends here.\nSubscribe to our newsletter"),
        });
        if i == 4 {
            doc["lang"] = "en".into();
        }
        writeln!(gz, "{doc}").unwrap();
    }
    gz.finish().unwrap();
    // Sorted, absolute: what a run reads (ids without an id field name
    // the file, so one process must be given the same paths).
    ["a.jsonl", "b", "c.jsonl.gz"]
        .iter()
        .map(|n| dir.join(n).display().to_string())
        .collect()
}

/// `textclean` with no shard index inherited from the environment (the
/// tests may themselves run inside a Slurm job).
fn tc() -> Command {
    let mut c = bin();
    for v in [
        "SLURM_ARRAY_TASK_ID",
        "JOB_COMPLETION_INDEX",
        "SLURM_ARRAY_TASK_COUNT",
    ] {
        c.env_remove(v);
    }
    c
}

fn ok(mut cmd: Command) -> Output {
    cmd.arg("--quiet");
    let out = run(cmd, b"");
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Stats JSON without the fields that measure time.
fn counters(p: &Path) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(&read(p)).unwrap();
    let o = v.as_object_mut().unwrap();
    o.remove("elapsed_secs");
    o.remove("mb_per_sec");
    o.remove("read_time");
    o.remove("decode_time");
    o.remove("render_time");
    o.remove("write_time");
    for stage in o["stages"].as_array_mut().unwrap() {
        stage[1].as_object_mut().unwrap().remove("time");
    }
    v
}

struct OneProcess {
    output: Vec<u8>,
    removed: Vec<u8>,
    stats: serde_json::Value,
    code: Option<i32>,
}

fn one_process(dir: &Path, inputs: &[String], format: &str, unit: &str) -> OneProcess {
    let out = dir.join(format!("one.{format}"));
    let mut cmd = tc();
    cmd.args(["clean", "--quiet", "--format", format, "--unit", unit, "-o"])
        .arg(&out)
        .arg("--stats")
        .arg(dir.join("one.stats.json"))
        .arg("--removed-log")
        .arg(dir.join("one.removed.jsonl"))
        .args(inputs);
    let res = run(cmd, b"");
    OneProcess {
        output: read(&out),
        removed: read(&dir.join("one.removed.jsonl")),
        stats: counters(&dir.join("one.stats.json")),
        code: res.status.code(),
    }
}

fn plan(run_dir: &Path, inputs: &[String], n: u32, format: &str, unit: &str) {
    let mut cmd = tc();
    cmd.args(["plan", "--removed-log", "--format", format, "--unit", unit])
        .arg("--run")
        .arg(run_dir)
        .arg("--shards")
        .arg(n.to_string())
        .args(inputs);
    let out = run(cmd, b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn shard_cmd(pass: &str, run_dir: &Path, i: u32, n: u32) -> Command {
    let mut cmd = tc();
    cmd.arg(pass)
        .arg("--run")
        .arg(run_dir)
        .arg("--shard")
        .arg(format!("{i}/{n}"));
    cmd
}

fn merge_profile(run_dir: &Path) {
    let mut cmd = tc();
    cmd.args(["merge-profile", "--run"]).arg(run_dir);
    let out = run(cmd, b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn merge(run_dir: &Path) -> Output {
    let mut cmd = tc();
    cmd.args(["merge", "--quiet", "--run"]).arg(run_dir);
    run(cmd, b"")
}

/// Plans and runs every shard in reverse order (order must not matter).
fn sharded(run_dir: &Path, inputs: &[String], n: u32, format: &str, unit: &str) {
    plan(run_dir, inputs, n, format, unit);
    for i in (0..n).rev() {
        ok(shard_cmd("profile", run_dir, i, n));
    }
    merge_profile(run_dir);
    for i in (0..n).rev() {
        ok(shard_cmd("clean", run_dir, i, n));
    }
}

fn assert_same_as_one_process(one: &OneProcess, run_dir: &Path, format: &str, what: &str) {
    let merged = merge(run_dir);
    assert_eq!(merged.status.code(), one.code, "{what}: exit code of merge");
    let output = read(&run_dir.join(format!("output.{format}")));
    assert!(
        output == one.output,
        "{what}: output differs\n--- one process\n{}\n--- merged\n{}",
        String::from_utf8_lossy(&one.output),
        String::from_utf8_lossy(&output)
    );
    assert!(
        read(&run_dir.join("removed.jsonl")) == one.removed,
        "{what}: removed log differs"
    );
    assert_eq!(
        counters(&run_dir.join("stats.json")),
        one.stats,
        "{what}: stats differ"
    );
}

#[test]
fn shards_give_the_bytes_of_one_process() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = fixture(tmp.path());
    let one = one_process(tmp.path(), &inputs, "jsonl", "doc");
    // The fixture exercises what it is meant to: a failed record, corpus
    // repeats (which need the merged profile) and a path-named id.
    assert_eq!(one.code, Some(1));
    assert!(one.stats["removed"]["boilerplate"]["repeat/corpus"].as_u64() >= Some(18));
    assert!(String::from_utf8_lossy(&one.output).contains("a.jsonl:9\""));
    // 40 shards: more shards than records, so some are empty.
    for n in [1, 3, 7, 40] {
        let run_dir = tmp.path().join(format!("run{n}"));
        sharded(&run_dir, &inputs, n, "jsonl", "doc");
        assert_same_as_one_process(&one, &run_dir, "jsonl", &format!("{n} shards"));
    }
}

#[test]
fn csv_parquet_and_sentence_records_match_too() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = fixture(tmp.path());
    for (format, unit, n) in [
        ("csv", "doc", 3),
        ("csv", "sentence", 4),
        ("jsonl", "sentence", 5),
        ("parquet", "doc", 3),
        ("parquet", "sentence", 2),
    ] {
        let dir = tmp.path().join(format!("{format}-{unit}"));
        std::fs::create_dir(&dir).unwrap();
        let one = one_process(&dir, &inputs, format, unit);
        let run_dir = dir.join("run");
        sharded(&run_dir, &inputs, n, format, unit);
        assert_same_as_one_process(&one, &run_dir, format, &format!("{format} {unit}"));
        if (format, unit) == ("csv", "doc") {
            let text = String::from_utf8_lossy(&one.output).to_string();
            assert_eq!(text.matches("id,source,text").count(), 1, "one header");
            assert!(text.lines().next().unwrap().ends_with(",url"));
        }
        if format == "parquet" {
            // A real file, with the late field as a column (typed over
            // every record, not the first row group).
            assert_eq!(&one.output[..4], b"PAR1");
            if unit == "doc" {
                let bytes = &one.output;
                assert!(bytes.windows(4).any(|w| w == b"lang"), "lang column");
            }
        }
    }
}

fn planned_and_profiled(tmp: &Path, n: u32) -> PathBuf {
    let inputs = fixture(tmp);
    let run_dir = tmp.join("run");
    plan(&run_dir, &inputs, n, "jsonl", "doc");
    for i in 0..n {
        ok(shard_cmd("profile", &run_dir, i, n));
    }
    merge_profile(&run_dir);
    run_dir
}

#[test]
fn shard_indices_out_of_range_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let run_dir = planned_and_profiled(tmp.path(), 3);
    for (arg, env, want) in [
        (
            Some("3/3"),
            None,
            "shard 3 (from --shard) does not exist: the run has 3 shards",
        ),
        (Some("1/4"), None, "the run was planned with 3 shards"),
        (
            None,
            Some("5"),
            "shard 5 (from SLURM_ARRAY_TASK_ID) does not exist",
        ),
        (None, None, "no shard index"),
    ] {
        let mut cmd = tc();
        cmd.args(["clean", "--run"]).arg(&run_dir);
        if let Some(a) = arg {
            cmd.args(["--shard", a]);
        }
        if let Some(e) = env {
            cmd.env("SLURM_ARRAY_TASK_ID", e);
        }
        let out = run(cmd, b"");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{arg:?} {env:?}: {err}");
        assert!(err.contains(want), "{arg:?} {env:?}: {err}");
    }
    assert_eq!(
        std::fs::read_dir(run_dir.join("clean")).map_or(0, |d| d.count()),
        0,
        "nothing written"
    );
}

#[test]
fn shard_index_comes_from_slurm_then_indexed_jobs() {
    let tmp = tempfile::tempdir().unwrap();
    let run_dir = planned_and_profiled(tmp.path(), 3);
    let marker = |i: u32| run_dir.join(format!("clean/{i:05}.done"));
    // Both set: Slurm's wins. The task count of a retry is ignored.
    let mut cmd = tc();
    cmd.args(["clean", "--quiet", "--run"])
        .arg(&run_dir)
        .env("SLURM_ARRAY_TASK_ID", "1")
        .env("SLURM_ARRAY_TASK_COUNT", "1")
        .env("JOB_COMPLETION_INDEX", "2");
    assert!(run(cmd, b"").status.success());
    assert!(marker(1).exists() && !marker(2).exists());
    // Only the Kubernetes indexed-job variable.
    let mut cmd = tc();
    cmd.args(["clean", "--quiet", "--run"])
        .arg(&run_dir)
        .env("JOB_COMPLETION_INDEX", "2");
    assert!(run(cmd, b"").status.success());
    assert!(marker(2).exists() && !marker(0).exists());
    // --shard beats both.
    let mut cmd = tc();
    cmd.args(["clean", "--quiet", "--shard", "0", "--run"])
        .arg(&run_dir)
        .env("SLURM_ARRAY_TASK_ID", "1");
    assert!(run(cmd, b"").status.success());
    assert!(marker(0).exists());
}

#[test]
fn merge_refuses_an_incomplete_run_and_names_the_missing_shards() {
    let tmp = tempfile::tempdir().unwrap();
    let run_dir = planned_and_profiled(tmp.path(), 7);
    for i in [0, 1, 3, 4, 6] {
        ok(shard_cmd("clean", &run_dir, i, 7));
    }
    let out = merge(&run_dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("2 of 7 shards not done"), "{err}");
    assert!(err.contains("--array=2,5"), "{err}");
    assert!(err.contains("slurm/clean.sbatch"), "{err}");
    assert!(!run_dir.join("output.jsonl").exists());
    // `slurm` would submit only those two shards, and no pass 1.
    let mut cmd = tc();
    cmd.args(["slurm", "--dry-run", "--run"]).arg(&run_dir);
    let chain = String::from_utf8_lossy(&ok_plain(cmd).stdout).to_string();
    assert!(
        chain.contains("CLEAN=$(sbatch --parsable --array=2,5 "),
        "{chain}"
    );
    assert!(
        chain.contains(
            "MERGE=$(sbatch --parsable --dependency=afterok:$CLEAN --kill-on-invalid-dep=yes "
        ),
        "{chain}"
    );
    assert!(!chain.contains("PROFILE=$("), "{chain}");
    // A profile pass that is incomplete is refused the same way.
    let tmp2 = tempfile::tempdir().unwrap();
    let inputs = fixture(tmp2.path());
    let run2 = tmp2.path().join("run");
    plan(&run2, &inputs, 4, "jsonl", "doc");
    ok(shard_cmd("profile", &run2, 1, 4));
    let mut cmd = tc();
    cmd.args(["merge-profile", "--run"]).arg(&run2);
    let out = run(cmd, b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("--array=0,2-3"),
        "{err}"
    );
    // And pass 2 will not start without the merged profile.
    let out = run(shard_cmd("clean", &run2, 1, 4), b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("profile.bin: missing"),
        "{err}"
    );
}

fn ok_plain(cmd: Command) -> Output {
    let out = run(cmd, b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn a_crashed_shard_never_looks_complete_and_a_rerun_completes_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = fixture(tmp.path());
    let one = one_process(tmp.path(), &inputs, "jsonl", "doc");
    let run_dir = tmp.path().join("run");
    sharded(&run_dir, &inputs, 3, "jsonl", "doc");
    assert_same_as_one_process(&one, &run_dir, "jsonl", "before the crash");
    let parts = run_dir.join("clean");
    // What SIGKILL during a re-run of shard 1 leaves: its old marker was
    // deleted first, and the new parts are temporary files.
    std::fs::remove_file(parts.join("00001.done")).unwrap();
    std::fs::write(parts.join(".00001.jsonl.x1Yz.tmp"), b"{\"id\":\"half").unwrap();
    std::fs::write(parts.join(".00001.done.a2Bc.tmp"), b"{").unwrap();
    let out = merge(&run_dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "merge took a crashed shard");
    assert!(
        err.contains("shard 1: no completion marker") && err.contains("--array=1\n"),
        "{err}"
    );
    // A part changed after its marker was written is not complete either.
    let part0 = parts.join("00000.jsonl");
    let full = read(&part0);
    std::fs::write(&part0, &full[..full.len() / 2]).unwrap();
    let err = String::from_utf8_lossy(&merge(&run_dir).stderr).to_string();
    assert!(
        err.contains("shard 0: 00000.jsonl has") && err.contains("--array=0-1"),
        "{err}"
    );
    // Re-running just those shards completes the run, and re-running a
    // complete shard again changes nothing (idempotent).
    for i in [0, 1, 1] {
        ok(shard_cmd("clean", &run_dir, i, 3));
    }
    assert_same_as_one_process(&one, &run_dir, "jsonl", "after the re-run");
}

#[test]
fn a_run_directory_holds_one_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = fixture(tmp.path());
    let run_dir = tmp.path().join("run");
    plan(&run_dir, &inputs, 3, "jsonl", "doc");
    // The same plan again is a no-op; a different one is refused.
    plan(&run_dir, &inputs, 3, "jsonl", "doc");
    let mut cmd = tc();
    cmd.args(["plan", "--shards", "4", "--run"])
        .arg(&run_dir)
        .args(&inputs);
    let out = run(cmd, b"");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already holds a different plan"));
    // A manifest whose config was edited no longer matches its hash.
    let path = run_dir.join("manifest.json");
    let text = String::from_utf8(read(&path)).unwrap();
    std::fs::write(&path, text.replace("min_docs = 5", "min_docs = 2")).unwrap();
    let out = run(shard_cmd("profile", &run_dir, 0, 3), b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("the manifest was edited"),
        "{err}"
    );
    std::fs::write(&path, text).unwrap();
    // An input that changed since the plan is refused, not mis-sharded.
    std::fs::write(tmp.path().join("b/site2/one.txt"), "changed").unwrap();
    let out = run(shard_cmd("profile", &run_dir, 1, 3), b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("changed since the run was planned"),
        "{err}"
    );
    // Stdin cannot be planned: every shard reads the inputs again.
    let mut cmd = tc();
    cmd.args(["plan", "--shards", "2", "--run"])
        .arg(tmp.path().join("run2"))
        .arg("-");
    assert!(!run(cmd, b"").status.success());
}

/// The reading flags given to `plan` are stored in the run and used by
/// every pass: a semicolon-delimited CSV and a Windows-1252 text file,
/// which the default flags cannot read, come out as one `clean` with the
/// same flags writes them. A manifest from before the flags loads with the
/// defaults.
#[test]
fn planned_reading_flags_reach_every_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut csv = String::from("id;source;text\n");
    for i in 0..9 {
        csv.push_str(&format!(
            "r{i};weekly.example;\"Sign up today\nItem {i}, with a comma; and a semicolon. It is {} euros.\nAll rights reserved\"\n",
            10 + i
        ));
    }
    std::fs::write(dir.join("items.csv"), csv).unwrap();
    // "Café", "naïve" and a right single quote in Windows-1252.
    std::fs::write(
        dir.join("page.txt"),
        b"Caf\xe9 notes.\nA na\xefve reader\x92s line. Another one.\n",
    )
    .unwrap();
    let inputs: Vec<String> = ["items.csv", "page.txt"]
        .iter()
        .map(|n| dir.join(n).display().to_string())
        .collect();
    let flags = ["--delimiter", ";", "--encoding", "windows-1252"];

    let out = dir.join("one.jsonl");
    let mut cmd = tc();
    cmd.args(["clean", "--quiet", "--format", "jsonl", "-o"])
        .arg(&out)
        .arg("--stats")
        .arg(dir.join("one.stats.json"))
        .arg("--removed-log")
        .arg(dir.join("one.removed.jsonl"))
        .args(flags)
        .args(&inputs);
    let res = run(cmd, b"");
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let one = OneProcess {
        output: read(&out),
        removed: read(&dir.join("one.removed.jsonl")),
        stats: counters(&dir.join("one.stats.json")),
        code: res.status.code(),
    };
    let text = String::from_utf8_lossy(&one.output).to_string();
    assert!(
        text.contains("Café notes.") && text.contains("naïve reader"),
        "{text}"
    );
    assert!(
        text.contains("Item 3, with a comma; and a semicolon."),
        "{text}"
    );

    for n in [1, 3] {
        let run_dir = dir.join(format!("run{n}"));
        let mut cmd = tc();
        cmd.args(["plan", "--removed-log", "--format", "jsonl", "--run"])
            .arg(&run_dir)
            .arg("--shards")
            .arg(n.to_string())
            .args(flags)
            .args(&inputs);
        ok_plain(cmd);
        for i in (0..n).rev() {
            ok(shard_cmd("profile", &run_dir, i, n));
        }
        merge_profile(&run_dir);
        for i in (0..n).rev() {
            ok(shard_cmd("clean", &run_dir, i, n));
        }
        assert_same_as_one_process(&one, &run_dir, "jsonl", &format!("{n} shards, flags"));
    }

    // An older manifest has no `reading`: it loads, and reads as the
    // defaults do (here a comma-delimited CSV of fewer records, which the
    // shard reports as a changed input).
    let run_dir = dir.join("run3");
    let path = run_dir.join("manifest.json");
    let mut m: serde_json::Value = serde_json::from_slice(&read(&path)).unwrap();
    assert_eq!(m["reading"]["delimiter"], u32::from(b';'));
    assert_eq!(m["reading"]["encoding"], "windows-1252");
    m.as_object_mut().unwrap().remove("reading");
    std::fs::write(&path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    let mut cmd = shard_cmd("clean", &run_dir, 2, 3);
    cmd.arg("--quiet");
    let res = run(cmd, b"");
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(
        !err.contains("missing field") && !err.contains("unknown field"),
        "an old manifest loads: {err}"
    );
    assert!(
        err.contains("an input changed"),
        "read with the defaults: {err}"
    );
}
