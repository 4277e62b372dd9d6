//! End-to-end tests of the `textclean` binary.

// Tests and benches may panic on their own fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{bin, files, root, run, run_ok, shared};

/// `textclean clean --quiet --format txt -o OUT INPUT` with the default
/// config, which must succeed.
fn clean_txt(input: &Path, out: &Path) {
    let mut cmd = bin();
    cmd.args(["clean", "--quiet", "--format", "txt", "-o"])
        .arg(out)
        .arg(input);
    run_ok(cmd);
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn seeds_are_reproduced_byte_for_byte_as_txt() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    clean_txt(&shared.join("seeds/raw"), &out);
    let expected = shared.join("seeds/expected");
    assert_eq!(files(&out), files(&expected));
    for name in files(&expected) {
        assert_text_eq!(
            read(&expected.join(&name)),
            read(&out.join(&name)),
            "seed {name}"
        );
    }
}

/// The seeds as one JSONL file (id = file name), as users feed a scrape.
fn seeds_jsonl(shared: &Path, dir: &Path) -> std::path::PathBuf {
    let p = dir.join("seeds.jsonl");
    let mut body = String::new();
    for name in files(&shared.join("seeds/raw")) {
        let text = read(&shared.join("seeds/raw").join(&name));
        body.push_str(&serde_json::json!({"id": name, "text": text, "lang": "en"}).to_string());
        body.push('\n');
    }
    std::fs::write(&p, body).unwrap();
    p
}

#[test]
fn seeds_round_trip_through_jsonl_and_csv() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let input = seeds_jsonl(&shared, tmp.path());
    // JSONL in, JSONL out.
    let jsonl = tmp.path().join("out.jsonl");
    let mut cmd = bin();
    cmd.args(["clean", "--quiet", "-o"]).arg(&jsonl).arg(&input);
    run_ok(cmd);
    let mut n = 0;
    for line in read(&jsonl).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = v["id"].as_str().unwrap();
        let want = read(&shared.join("seeds/expected").join(id));
        assert_text_eq!(
            want,
            format!("{}\n", v["text"].as_str().unwrap()),
            "jsonl {id}"
        );
        assert_eq!(v["lang"], "en", "carried field");
        assert!(!v["sentences"].as_array().unwrap().is_empty());
        n += 1;
    }
    assert_eq!(n, 5);
    // JSONL in, CSV out, then that CSV in again: cleaning is idempotent.
    let csv_out = tmp.path().join("out.csv");
    let mut cmd = bin();
    cmd.args(["clean", "--quiet", "--format", "csv", "-o"])
        .arg(&csv_out)
        .arg(&input);
    run_ok(cmd);
    let mut rd = csv::Reader::from_path(&csv_out).unwrap();
    let headers = rd.headers().unwrap().clone();
    let head: Vec<&str> = headers.iter().take(4).collect();
    assert_eq!(head, ["id", "source", "text", "sentences"]);
    for rec in rd.records() {
        let rec = rec.unwrap();
        let want = read(&shared.join("seeds/expected").join(&rec[0]));
        assert_text_eq!(want, format!("{}\n", &rec[2]), "csv {}", &rec[0]);
    }
    let again = tmp.path().join("again.csv");
    let mut cmd = bin();
    cmd.args(["clean", "--quiet", "--format", "csv", "-o"])
        .arg(&again)
        .arg(&csv_out);
    run_ok(cmd);
    let mut rd = csv::Reader::from_path(&again).unwrap();
    for rec in rd.records() {
        let rec = rec.unwrap();
        let want = read(&shared.join("seeds/expected").join(&rec[0]));
        assert_text_eq!(want, format!("{}\n", &rec[2]), "csv again {}", &rec[0]);
    }
}

fn clean_with_threads(input: &Path, threads: usize, out: &Path, extra: &[&str]) -> Vec<u8> {
    let stats = out.with_extension("stats.json");
    let log = out.with_extension("removed.jsonl");
    let mut cmd = bin();
    cmd.args(["clean", "--quiet", "--threads", &threads.to_string(), "-o"])
        .arg(out)
        .arg("--stats")
        .arg(&stats)
        .arg("--removed-log")
        .arg(&log)
        .args(extra)
        .arg(input);
    run_ok(cmd);
    let mut all = std::fs::read(out).unwrap();
    all.extend(std::fs::read(&log).unwrap());
    all
}

#[test]
fn one_thread_and_eight_threads_give_identical_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs: Vec<std::path::PathBuf> = match shared() {
        Some(s) => vec![
            seeds_jsonl(&s, tmp.path()),
            s.join("webdev/pages"),
            root().join("raw"),
        ],
        None => vec![root().join("raw")],
    };
    for (i, input) in inputs.iter().enumerate() {
        let a = clean_with_threads(input, 1, &tmp.path().join(format!("a{i}.jsonl")), &[]);
        let b = clean_with_threads(input, 8, &tmp.path().join(format!("b{i}.jsonl")), &[]);
        assert!(!a.is_empty());
        assert!(a == b, "{}: 1 and 8 threads differ", input.display());
    }
}

#[test]
fn accounting_adds_up_per_document_and_in_total() {
    let tmp = tempfile::tempdir().unwrap();
    let input = match shared() {
        Some(s) => s.join("webdev/pages"),
        None => root().join("raw"),
    };
    let out = tmp.path().join("o.jsonl");
    clean_with_threads(&input, 2, &out, &[]);
    let stats: serde_json::Value =
        serde_json::from_str(&read(&out.with_extension("stats.json"))).unwrap();
    let n = |k: &str| stats[k].as_u64().unwrap();
    assert_eq!(n("lines_in"), n("lines_out") + n("lines_removed"));
    let by_reason: u64 = stats["removed"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|r| r.as_object().unwrap().values())
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(by_reason, n("lines_removed"));
    // Per document: input lines = output paragraphs + logged removals.
    let mut removed: std::collections::HashMap<String, u64> = Default::default();
    for line in read(&out.with_extension("removed.jsonl")).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            v["stage"].is_string() && v["reason"].is_string() && v["line"].as_u64().unwrap() > 0
        );
        *removed
            .entry(v["doc_id"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    for line in read(&out).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = v["id"].as_str().unwrap();
        let text = v["text"].as_str().unwrap();
        let kept = if text.is_empty() {
            0
        } else {
            text.split("\n\n").count() as u64
        };
        let raw = read(&input.join(id));
        let lines_in = raw.lines().count() as u64;
        assert_eq!(
            lines_in,
            kept + removed.get(id).copied().unwrap_or(0),
            "{id}"
        );
    }
}

#[test]
fn config_typo_is_rejected_naming_file_stage_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("my.toml");
    std::fs::write(
        &cfg,
        "[[stages]]\ntype = \"normalize\"\n\n[[stages]]\ntype = \"captions\"\nwindw = 3\n",
    )
    .unwrap();
    let out = tmp.path().join("o.jsonl");
    // `clean` with the config: exit code 2, no output; returns stderr.
    let clean_fails = || {
        let mut cmd = bin();
        cmd.args(["clean", "-o"])
            .arg(&out)
            .arg("--config")
            .arg(&cfg)
            .arg(root().join("raw"));
        let res = run(cmd, b"");
        let err = String::from_utf8_lossy(&res.stderr).into_owned();
        assert_eq!(res.status.code(), Some(2), "{err}");
        assert!(!out.exists(), "no output from a config that is not valid");
        err
    };
    let err = clean_fails();
    assert!(
        err.contains("my.toml") && err.contains("stages[1]") && err.contains("windw"),
        "{err}"
    );

    std::fs::write(&cfg, "[[stages]]\ntype = \"quote\"\n").unwrap();
    let mut cmd = bin();
    cmd.args(["check-config"]).arg(&cfg);
    let res = run(cmd, b"");
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(
        err.contains("stages[0]") && err.contains("unknown variant `quote`"),
        "{err}"
    );

    std::fs::write(&cfg, "[[stages]]\ntype = \"boilerplate\"\n[[stages.groups]]\nname = \"x\"\nreason = \"y\"\nregex = [\"(\"]\n").unwrap();
    let mut cmd = bin();
    cmd.args(["check-config"]).arg(&cfg);
    let res = run(cmd, b"");
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(err.contains("stages[0].groups[0].regex[0]"), "{err}");

    // `clean` compiles the rules alongside pass 1 (this stage reads the
    // corpus profile): the error still stops the run before any output.
    let err = clean_fails();
    assert!(
        err.contains("my.toml") && err.contains("stages[0].groups[0].regex[0]"),
        "{err}"
    );
}

#[test]
fn default_config_checks_and_prints_the_pipeline() {
    let out = run_ok({
        let mut c = bin();
        c.arg("check-config");
        c
    });
    let text = String::from_utf8_lossy(&out.stdout);
    for t in [
        "normalize",
        "boilerplate",
        "quotes",
        "captions",
        "sentences",
    ] {
        assert!(text.contains(&format!("type = \"{t}\"")), "{text}");
    }
    let out = run_ok({
        let mut c = bin();
        c.arg("check-config")
            .arg(root().join("config/default.toml"));
        c
    });
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid"));
}

#[test]
fn bad_inputs_are_reported_with_file_and_line_and_the_run_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("good.txt"), "A fine paragraph.\n").unwrap();
    std::fs::write(dir.join("latin1.txt"), b"First line\nCaf\xe9 au lait\n").unwrap();
    let jsonl = tmp.path().join("in.jsonl");
    std::fs::write(&jsonl, "{\"id\":\"a\",\"text\":\"Fine.\"}\n{\"id\":\"b\",\"text\":\n{\"id\":\"c\",\"body\":\"x\"}\n{\"id\":\"d\",\"text\":\"Also fine.\"}\n").unwrap();
    let csv = tmp.path().join("in.csv");
    std::fs::write(
        &csv,
        "id,text\nx,\"Good row.\"\ny,too,many\nz,\"Last row.\"\n",
    )
    .unwrap();
    let out = tmp.path().join("out.jsonl");
    let stats = tmp.path().join("s.json");
    let mut cmd = bin();
    cmd.args(["clean", "--quiet", "-o"])
        .arg(&out)
        .arg("--stats")
        .arg(&stats)
        .arg(&dir)
        .arg(&jsonl)
        .arg(&csv);
    let res = run(cmd, b"");
    let err = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(1), "{err}");
    assert!(err.contains("latin1.txt:2: invalid UTF-8"), "{err}");
    assert!(err.contains("in.jsonl:2: invalid JSON"), "{err}");
    assert!(err.contains("in.jsonl:3: no `text` field"), "{err}");
    assert!(err.contains("in.csv:3: bad CSV record"), "{err}");
    let ids: Vec<String> = read(&out)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids, ["good.txt", "a", "d", "x", "z"]);
    let s: serde_json::Value = serde_json::from_str(&read(&stats)).unwrap();
    assert_eq!(s["docs_failed"], 4);

    // --fail-fast stops at the first one and leaves no output file.
    let out2 = tmp.path().join("out2.jsonl");
    let mut cmd = bin();
    cmd.args(["clean", "--quiet", "--fail-fast", "-o"])
        .arg(&out2)
        .arg(&dir);
    let res = run(cmd, b"");
    assert_eq!(res.status.code(), Some(2));
    assert!(!out2.exists());

    // Missing input and unknown extension: clear errors, no panic.
    let mut cmd = bin();
    cmd.args(["clean", "-o"])
        .arg(&out2)
        .arg(tmp.path().join("nope.jsonl"));
    let res = run(cmd, b"");
    assert_eq!(res.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&res.stderr).contains("nope.jsonl"));
}

#[test]
fn stdin_jsonl_and_sentence_unit() {
    let input = "{\"id\":\"n1\",\"text\":\"Mr. Smith arrived at 5 p.m. on Monday. He left.\\n\\nHide Ad\"}\n";
    let mut cmd = bin();
    cmd.args(["clean", "--quiet", "--unit", "sentence", "-o", "-", "-"]);
    let res = run(cmd, input.as_bytes());
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let recs: Vec<serde_json::Value> = String::from_utf8_lossy(&res.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let texts: Vec<&str> = recs.iter().map(|r| r["text"].as_str().unwrap()).collect();
    assert_eq!(
        texts,
        ["Mr. Smith arrived at 5 p.m. on Monday.", "He left."]
    );
    assert_eq!(recs[1]["id"], "n1:1");
    assert_eq!(recs[1]["doc_id"], "n1");
    assert_eq!(recs[1]["index"], 1);
}

#[test]
fn split_sentences_plugs_into_other_tools() {
    let input = "{\"id\":1,\"text\":\"Hello world. My name is Jonas.\"}\nnot json\n{\"id\":\"x\",\"text\":\"é. B.\"}\n";
    let mut cmd = bin();
    cmd.arg("split-sentences");
    let res = run(cmd, input.as_bytes());
    let out = String::from_utf8_lossy(&res.stdout);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "one reply per request: {out}");
    assert_eq!(
        lines[0]["sentences"],
        serde_json::json!(["Hello world.", "My name is Jonas."])
    );
    assert!(lines[1]["error"].is_string());
    assert_eq!(res.status.code(), Some(1));
    let mut cmd = bin();
    cmd.args(["split-sentences", "--spans"]);
    let res = run(cmd, b"{\"id\":\"x\",\"text\":\"\xc3\xa9. B.\"}\n");
    let v: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    assert_eq!(v, serde_json::json!({"id": "x", "spans": [[0, 3], [4, 6]]}));
}

#[test]
fn split_sentences_reads_corpus_counts() {
    // A corpus of our own in which "blk." is an abbreviation: its period is
    // mostly followed by a lower-case word or a number.
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus.jsonl");
    let mut lines = String::new();
    for i in 0..6 {
        lines.push_str(&format!(
            "{{\"text\":\"Unit {i} is in blk. c of the estate; take blk. {i} stairs to the top.\"}}\n"
        ));
    }
    std::fs::write(&corpus, lines).unwrap();
    let config = tmp.path().join("all-lines.toml");
    let default = std::fs::read_to_string(root().join("config/default.toml")).unwrap();
    std::fs::write(
        &config,
        default.replace("word_line_sample = 4", "word_line_sample = 1"),
    )
    .unwrap();
    let request = b"{\"id\":1,\"text\":\"We met at the gate of Blk. 12 by the lift.\"}\n";
    let split = |extra: &[&std::ffi::OsStr]| {
        let mut cmd = bin();
        cmd.arg("split-sentences").args(extra);
        let res = run(cmd, request);
        assert_eq!(
            res.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&res.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
        v["sentences"].as_array().map_or(0, Vec::len)
    };
    assert_eq!(split(&[]), 2, "built-in statistics alone do not know blk.");
    let with = [
        "--config".as_ref(),
        config.as_os_str(),
        "--corpus".as_ref(),
        corpus.as_os_str(),
    ];
    assert_eq!(split(&with), 1, "the corpus's counts hold the period");
}

#[test]
fn cleaned_folder_is_what_the_quick_start_produces() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cleaned");
    clean_txt(&root().join("raw"), &out);
    let committed = root().join("cleaned");
    assert_eq!(
        files(&out),
        files(&committed),
        "cleaned/ lists other files than raw/ gives"
    );
    for name in files(&committed) {
        assert_text_eq!(
            read(&committed.join(&name)),
            read(&out.join(&name)),
            "cleaned/{name} is stale: rerun the README quick start"
        );
    }
}

#[test]
fn readme_documents_every_default_config_key() {
    let readme = read(&root().join("README.md"));
    let cfg: toml::Value = toml::from_str(&read(&root().join("config/default.toml"))).unwrap();
    fn keys(v: &toml::Value, out: &mut Vec<String>) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    out.push(k.clone());
                    keys(v, out);
                }
            }
            toml::Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    keys(&cfg, &mut all);
    all.sort();
    all.dedup();
    let missing: Vec<&String> = all
        .iter()
        .filter(|k| !readme.contains(&format!("`{k}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "README's config reference lacks: {missing:?}"
    );
}

/// The web development pages, cleaned by the default config and scored by
/// the set's own scorer: content lines kept and boilerplate removed must
/// stay at the levels the project promises (measured here on the pages we
/// develop on; unseen pages are judged elsewhere with the same scorer).
#[test]
fn webdev_pages_keep_content_and_drop_boilerplate() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("web");
    clean_txt(&shared.join("webdev/pages"), &out);
    let score = std::process::Command::new("python3")
        .arg(shared.join("webdev/score.py"))
        .arg(&out)
        .arg("--json")
        .output()
        .expect("python3 runs the scorer");
    assert!(
        score.status.success(),
        "{}",
        String::from_utf8_lossy(&score.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&score.stdout).unwrap();
    let kept = v["overall"]["content_retention"].as_f64().unwrap();
    let recall = v["overall"]["boilerplate_recall"].as_f64().unwrap();
    assert!(kept >= 0.97, "content lines kept {kept}");
    assert!(recall >= 0.85, "boilerplate recall {recall}");
}

/// `textclean clean --quiet ARGS…`, returning the output.
fn clean_args(args: &[&std::ffi::OsStr]) -> std::process::Output {
    let mut cmd = bin();
    cmd.args(["clean", "--quiet"]).args(args);
    run(cmd, b"")
}

fn os<S: AsRef<std::ffi::OsStr> + ?Sized>(s: &S) -> &std::ffi::OsStr {
    s.as_ref()
}

fn decompress(path: &Path) -> Vec<u8> {
    use std::io::Read;
    let raw = std::fs::read(path).unwrap();
    let name = path.to_string_lossy();
    let mut out = Vec::new();
    if name.ends_with(".gz") {
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap();
    } else if name.ends_with(".zst") {
        out = zstd::decode_all(&raw[..]).unwrap();
    } else {
        out = raw;
    }
    out
}

#[test]
fn outputs_are_what_their_names_say() {
    let tmp = tempfile::tempdir().unwrap();
    let input = root().join("raw");
    let plain = tmp.path().join("plain.jsonl");
    let csv = tmp.path().join("plain.csv");
    for out in [&plain, &csv] {
        let res = clean_args(&[os("-o"), os(out), os(&input)]);
        assert!(res.status.success());
    }
    assert!(read(&csv).starts_with("id,source,text,sentences\n"));
    for (name, want) in [
        ("a.jsonl.gz", &plain),
        ("a.jsonl.zst", &plain),
        ("a.csv.gz", &csv),
        ("a.csv.zst", &csv),
    ] {
        let out = tmp.path().join(name);
        let res = clean_args(&[os("-o"), os(&out), os(&input)]);
        assert!(res.status.success(), "{name}");
        assert_ne!(std::fs::read(&out).unwrap(), std::fs::read(want).unwrap());
        assert_eq!(decompress(&out), std::fs::read(want).unwrap(), "{name}");
    }
    // Stdout takes the flags.
    let mut cmd = bin();
    cmd.args(["clean", "--quiet", "--compression", "zstd", "-o", "-"])
        .arg(&input);
    let res = run_ok(cmd);
    assert_eq!(
        zstd::decode_all(&res.stdout[..]).unwrap(),
        std::fs::read(&plain).unwrap()
    );
    // Contradictions and names that say nothing: exit 2, nothing written.
    for (out, flags) in [
        ("b.csv", &["--format", "jsonl"][..]),
        ("b.jsonl", &["--compression", "gzip"]),
        ("b.jsonl.zst", &["--compression", "gzip"]),
        ("b.gz", &[]),
        ("b", &[]),
        ("b.parquet.gz", &[]),
        ("b.parquet", &["--compression", "zstd"]),
        ("b.jsonl", &["--format", "txt"]),
    ] {
        let out = tmp.path().join(out);
        let mut cmd = bin();
        cmd.args(["clean", "--quiet", "-o"])
            .arg(&out)
            .args(flags)
            .arg(&input);
        let res = run(cmd, b"");
        assert_eq!(res.status.code(), Some(2), "{} {flags:?}", out.display());
        assert!(String::from_utf8_lossy(&res.stderr).contains("-o "));
        assert!(!out.exists());
    }
    assert_eq!(files(tmp.path()).len(), 6);
}

#[test]
fn outputs_honour_the_umask() {
    let tmp = tempfile::tempdir().unwrap();
    let script = format!(
        "umask 027; exec {} clean --quiet -o {d}/o.jsonl --stats {d}/s.json --removed-log {d}/r.jsonl {raw} && exec {} clean --quiet -o {d}/t --format txt {raw}",
        env!("CARGO_BIN_EXE_textclean"),
        env!("CARGO_BIN_EXE_textclean"),
        d = tmp.path().display(),
        raw = root().join("raw").display()
    );
    // `exec` replaces the shell, so run the two commands apart.
    let (first, second) = script.split_once(" && exec ").unwrap();
    for s in [first.to_string(), format!("umask 027; exec {second}")] {
        let out = std::process::Command::new("sh")
            .args(["-c", &s])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    use std::os::unix::fs::PermissionsExt;
    for name in files(tmp.path()) {
        let mode = std::fs::metadata(tmp.path().join(&name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640, "{name}: {:o}", mode & 0o777);
    }
}

#[test]
fn outputs_that_would_overwrite_each_other_or_an_input_are_refused_first() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.jsonl");
    std::fs::write(&input, "{\"id\":\"a\",\"text\":\"Some words here.\"}\n").unwrap();
    let out = tmp.path().join("o.jsonl");
    let stats = tmp.path().join("s.json");
    let dir = tmp.path().join("dir");
    std::fs::create_dir(&dir).unwrap();
    let txt_in = tmp.path().join("txt");
    std::fs::create_dir(&txt_in).unwrap();
    std::fs::write(txt_in.join("a.txt"), "Words of a page.\n").unwrap();
    let spelled = tmp.path().join("dir/../o.jsonl");
    let plain_file = tmp.path().join("plain");
    std::fs::write(&plain_file, "").unwrap();
    let cases: Vec<(Vec<&std::ffi::OsStr>, &str)> = vec![
        (
            vec![os("-o"), os(&out), os("--stats"), os(&spelled), os(&input)],
            "name the same file",
        ),
        (
            vec![
                os("-o"),
                os(&out),
                os("--removed-log"),
                os(&input),
                os(&input),
            ],
            "the input",
        ),
        (vec![os("-o"), os(&input), os(&input)], "the input"),
        (
            vec![os("-o"), os(&dir), os("--format"), os("jsonl"), os(&input)],
            "is a directory",
        ),
        (
            vec![os("-o"), os(&out), os("--stats"), os(&dir), os(&input)],
            "is a directory",
        ),
        (
            vec![
                os("-o"),
                os(&txt_in),
                os("--format"),
                os("txt"),
                os(&txt_in),
            ],
            "the input",
        ),
        (
            vec![
                os("-o"),
                os(&plain_file),
                os("--format"),
                os("txt"),
                os(&txt_in),
            ],
            "is a file",
        ),
    ];
    for (args, want) in cases {
        let res = clean_args(&args);
        let err = String::from_utf8_lossy(&res.stderr);
        assert_eq!(res.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!out.exists() && !stats.exists(), "{args:?}");
    }
    assert_eq!(
        read(&input),
        "{\"id\":\"a\",\"text\":\"Some words here.\"}\n"
    );
    assert_eq!(files(&txt_in), ["a.txt"]);
    assert!(files(&dir).is_empty());
}

#[test]
fn txt_names_that_collide_or_nest_are_renamed_by_rule() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.jsonl");
    std::fs::write(
        &input,
        concat!(
            "{\"id\":\"x\",\"text\":\"First words.\"}\n",
            "{\"id\":\"x.txt/inner\",\"text\":\"Second words.\"}\n",
            "{\"id\":\"x\",\"text\":\"Third words.\"}\n",
        ),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let mut cmd = bin();
    cmd.args(["clean", "--quiet", "--format", "txt", "-o"])
        .arg(&out)
        .arg(&input);
    let res = run_ok(cmd);
    assert_eq!(files(&out), ["x.txt", "x.txt~2/inner.txt", "x~2.txt"]);
    assert_eq!(read(&out.join("x.txt")), "First words.\n");
    assert_eq!(read(&out.join("x.txt~2/inner.txt")), "Second words.\n");
    assert_eq!(read(&out.join("x~2.txt")), "Third words.\n");
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(err.contains("document x: written as x~2.txt"), "{err}");
}

fn host_name() -> String {
    let mut buf = [0u8; 256];
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    assert_eq!(rc, 0);
    let end = buf.iter().position(|&b| b == 0).unwrap();
    String::from_utf8(buf[..end].to_vec()).unwrap()
}

#[test]
fn temp_files_go_on_sigterm_and_stale_ones_on_the_next_run() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("c.toml");
    // No stage reads the corpus profile, so stdin is not spooled and the
    // output's temporary file exists while the run waits for input.
    std::fs::write(&cfg, "[[stages]]\ntype = \"normalize\"\n").unwrap();
    let out_dir = tmp.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("o.jsonl");
    let mut child = bin()
        .args(["clean", "--quiet", "--threads", "1", "--config"])
        .arg(&cfg)
        .arg("-o")
        .arg(&out)
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    use std::io::Write;
    stdin
        .write_all(b"{\"id\":\"a\",\"text\":\"Words.\"}\n")
        .unwrap();
    let started = std::time::Instant::now();
    while std::fs::read_dir(&out_dir).unwrap().count() == 0 {
        assert!(started.elapsed().as_secs() < 30, "no temporary file");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pid = i32::try_from(child.id()).unwrap();
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = child.wait().unwrap();
    drop(stdin);
    assert_eq!(status.code(), Some(128 + libc::SIGTERM));
    assert!(files(&out_dir).is_empty(), "{:?}", files(&out_dir));

    // A crashed run of this host (a pid that cannot exist) left one: the
    // next run removes it; another host's is named, not touched.
    let host = host_name();
    let stale = out_dir.join(format!(".o.jsonl.{host}.999999999.AbC123.tmp"));
    let foreign = out_dir.join(".o.jsonl.elsewhere.example.12.AbC123.tmp");
    std::fs::write(&stale, "half").unwrap();
    std::fs::write(&foreign, "half").unwrap();
    let input = tmp.path().join("in.jsonl");
    std::fs::write(&input, "{\"id\":\"a\",\"text\":\"Words.\"}\n").unwrap();
    let res = clean_args(&[os("--config"), os(&cfg), os("-o"), os(&out), os(&input)]);
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(!stale.exists(), "{err}");
    assert!(foreign.exists());
    assert!(
        err.contains("removed") && err.contains("host elsewhere.example"),
        "{err}"
    );
}

#[test]
fn a_closed_stdout_ends_the_run_quietly() {
    // Enough output to fill a pipe many times over.
    let raw = root().join("raw");
    let mut cmd = bin();
    cmd.args(["clean", "--quiet", "-o", "-"]);
    for _ in 0..40 {
        cmd.arg(&raw);
    }
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    use std::io::BufRead;
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with("{\"id\""));
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn records_round_trip_empty_dropped_values_exact_names_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.jsonl");
    std::fs::write(
        &input,
        concat!(
            "{\"id\":\"a\",\"text\":\"The river rose two metres overnight.\",\"n\":123456789012345678901234567890,\"f\":1.50,\"e\":1e400}\n",
            "{\"id\":\"empty\",\"text\":\"\\n\\n\\n\"}\n",
            "{\"id\":\"b\",\"body\":\"The council met again.\",\"text\":\"t\",\"input_text\":\"it\"}\n",
        ),
    )
    .unwrap();
    let out = tmp.path().join("o.jsonl");
    let stats = tmp.path().join("s.json");
    let res = clean_args(&[os("-o"), os(&out), os("--stats"), os(&stats), os(&input)]);
    assert!(res.status.success());
    let text = read(&out);
    // Numbers come out with the digits they went in with (an exponent
    // gets its sign).
    assert!(
        text.contains("\"n\":123456789012345678901234567890,\"f\":1.50,\"e\":1e+400"),
        "{text}"
    );
    // The empty document is dropped and counted.
    assert!(!text.contains("\"empty\""));
    let s: serde_json::Value = serde_json::from_str(&read(&stats)).unwrap();
    assert_eq!(
        (s["docs_empty"].as_u64(), s["docs_out"].as_u64()),
        (Some(1), Some(2))
    );
    let kept = tmp.path().join("k.jsonl");
    let res = clean_args(&[os("--keep-empty"), os("-o"), os(&kept), os(&input)]);
    assert!(res.status.success());
    assert!(read(&kept).contains("{\"id\":\"empty\",\"source\":null,\"text\":\"\""));

    // A carried field named like a column is renamed, never overwriting
    // one the record has: `text` becomes input_input_text.
    let renamed = tmp.path().join("r.jsonl");
    let b = tmp.path().join("b.jsonl");
    std::fs::write(
        &b,
        "{\"id\":\"b\",\"body\":\"The council met again.\",\"text\":\"t\",\"input_text\":\"it\"}\n",
    )
    .unwrap();
    let res = clean_args(&[
        os("--text-field"),
        os("body"),
        os("-o"),
        os(&renamed),
        os(&b),
    ]);
    assert!(res.status.success());
    let v: serde_json::Value = serde_json::from_str(read(&renamed).trim()).unwrap();
    assert_eq!(v["text"], "The council met again.");
    assert_eq!(v["input_text"], "it");
    assert_eq!(v["input_input_text"], "t");

    // Cleaning an output again changes nothing, columns included, in
    // JSONL and CSV.
    let same = tmp.path().join("same.jsonl");
    let text_in = read(&input);
    let lines: Vec<&str> = text_in.lines().take(2).collect();
    std::fs::write(
        &same,
        format!(
            "{}\n{}\n{{\"id\":\"c\",\"source\":\"site\",\"text\":\"Menu\\nA story of the town.\",\"n\":\"x\",\"f\":2,\"e\":null}}\n",
            lines[0], lines[1]
        ),
    )
    .unwrap();
    for name in ["o.jsonl", "o.csv"] {
        let first = tmp.path().join(format!("first.{name}"));
        let again = tmp.path().join(format!("again.{name}"));
        assert!(clean_args(&[os("-o"), os(&first), os(&same)])
            .status
            .success());
        assert!(clean_args(&[os("-o"), os(&again), os(&first)])
            .status
            .success());
        assert_eq!(read(&first), read(&again), "{name}");
    }
}

#[test]
fn sentence_spans_point_into_the_text() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("o.jsonl");
    let input = root().join("raw");
    let res = clean_args(&[
        os("--sentences"),
        os("spans"),
        os("-o"),
        os(&out),
        os(&input),
    ]);
    assert!(res.status.success());
    let strings = tmp.path().join("s.jsonl");
    assert!(clean_args(&[os("-o"), os(&strings), os(&input)])
        .status
        .success());
    for (a, b) in read(&out).lines().zip(read(&strings).lines()) {
        let (a, b): (serde_json::Value, serde_json::Value) = (
            serde_json::from_str(a).unwrap(),
            serde_json::from_str(b).unwrap(),
        );
        let text = a["text"].as_str().unwrap();
        let from_spans: Vec<&str> = a["sentences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| &text[p[0].as_u64().unwrap() as usize..p[1].as_u64().unwrap() as usize])
            .collect();
        assert_eq!(serde_json::json!(from_spans), b["sentences"]);
    }
    let res = clean_args(&[
        os("--sentences"),
        os("spans"),
        os("--unit"),
        os("sentence"),
        os("-o"),
        os(&out),
        os(&input),
    ]);
    assert_eq!(res.status.code(), Some(2));
}

/// Rows of a Parquet file as JSON objects, as pyarrow's `to_pylist` gives
/// them (the column types textclean writes only).
fn parquet_rows(path: &Path) -> Vec<serde_json::Value> {
    use arrow_array::cast::AsArray;
    use arrow_array::Array;
    use arrow_schema::DataType;
    fn cell(a: &dyn Array, i: usize) -> serde_json::Value {
        if a.is_null(i) {
            return serde_json::Value::Null;
        }
        match a.data_type() {
            DataType::Utf8 => a.as_string::<i32>().value(i).into(),
            DataType::Int64 => a
                .as_primitive::<arrow_array::types::Int64Type>()
                .value(i)
                .into(),
            DataType::Float64 => a
                .as_primitive::<arrow_array::types::Float64Type>()
                .value(i)
                .into(),
            DataType::Boolean => a.as_boolean().value(i).into(),
            DataType::List(_) => {
                let l = a.as_list::<i32>().value(i);
                (0..l.len()).map(|j| cell(&l, j)).collect()
            }
            other => panic!("unexpected column type {other}"),
        }
    }
    let file = std::fs::File::open(path).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let schema = batch.schema();
        for i in 0..batch.num_rows() {
            let row: serde_json::Map<String, serde_json::Value> = schema
                .fields()
                .iter()
                .zip(batch.columns())
                .map(|(f, c)| (f.name().clone(), cell(c, i)))
                .collect();
            rows.push(row.into());
        }
    }
    rows
}

#[test]
fn parquet_output_holds_the_jsonl_records() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.jsonl");
    std::fs::write(
        &input,
        concat!(
            "{\"id\":\"a\",\"text\":\"The river rose two metres overnight. Roads closed.\",\"n\":1,\"f\":1.5,\"ok\":true,\"tag\":\"x\",\"meta\":{\"k\":[1,2]}}\n",
            "{\"id\":\"b\",\"source\":\"news\",\"text\":\"The council met again.\\n\\nIt voted.\",\"n\":2,\"f\":3,\"ok\":null,\"tag\":\"y\",\"meta\":[]}\n",
        ),
    )
    .unwrap();
    for (unit, spans) in [("doc", false), ("doc", true), ("sentence", false)] {
        let mut flags = vec![os("--unit"), os(unit)];
        if spans {
            flags.extend([os("--sentences"), os("spans")]);
        }
        let jsonl = tmp.path().join("o.jsonl");
        let pq = tmp.path().join("o.parquet");
        for out in [&jsonl, &pq] {
            let mut args = flags.clone();
            args.extend([os("-o"), os(out), os(&input)]);
            let res = clean_args(&args);
            assert!(
                res.status.success(),
                "{unit} {spans}: {}",
                String::from_utf8_lossy(&res.stderr)
            );
        }
        let want: Vec<serde_json::Value> = read(&jsonl)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let mut got = parquet_rows(&pq);
        // JSON text columns hold the carried value as JSON.
        for row in &mut got {
            if let Some(m) = row.get_mut("meta") {
                *m = serde_json::from_str(m.as_str().unwrap()).unwrap();
            }
        }
        // `3` in a float64 column reads back as 3.0.
        let want: Vec<serde_json::Value> = want
            .into_iter()
            .map(|mut r| {
                if let Some(f) = r.get_mut("f") {
                    *f = f.as_f64().unwrap().into();
                }
                r
            })
            .collect();
        assert_eq!(got, want, "{unit} spans={spans}");
        assert!(!want.is_empty());
    }
    // From stdin the columns are typed the same way (stdin is spooled for
    // the look at every record), so the file is the same.
    let piped = tmp.path().join("piped.parquet");
    let from_file = tmp.path().join("file.parquet");
    let mut cmd = bin();
    cmd.args(["clean", "--quiet", "-o"]).arg(&piped).arg("-");
    let res = run(cmd, &std::fs::read(&input).unwrap());
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let mut cmd = bin();
    cmd.args(["clean", "--quiet", "-o"])
        .arg(&from_file)
        .arg(&input);
    assert!(run(cmd, b"").status.success());
    assert_eq!(
        std::fs::read(&piped).unwrap(),
        std::fs::read(&from_file).unwrap()
    );
}

#[test]
fn jsonl_to_parquet_to_jsonl_gives_the_same_records() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.jsonl");
    std::fs::write(
        &input,
        concat!(
            "{\"id\":\"a\",\"text\":\"The river rose two metres overnight. Roads closed.\",\"n\":1,\"ok\":true,\"tag\":\"x\"}\n",
            "{\"id\":\"b\",\"source\":\"news\",\"text\":\"The council met again.\\n\\nIt voted.\",\"n\":2,\"ok\":null,\"tag\":\"y\"}\n",
            "{\"text\":\"No id here. Two sentences.\",\"n\":3,\"ok\":false,\"tag\":\"z\"}\n",
        ),
    )
    .unwrap();
    for spans in [false, true] {
        let flags: &[&str] = if spans {
            &["--sentences", "spans"]
        } else {
            &[]
        };
        let direct = tmp.path().join("direct.jsonl");
        let pq = tmp.path().join("mid.parquet");
        let back = tmp.path().join("back.jsonl");
        for (from, to) in [(&input, &direct), (&input, &pq), (&pq, &back)] {
            let mut args: Vec<&std::ffi::OsStr> = flags.iter().map(os).collect();
            args.extend([os("-o"), os(to), os(from)]);
            let res = clean_args(&args);
            assert!(
                res.status.success(),
                "{}",
                String::from_utf8_lossy(&res.stderr)
            );
        }
        assert_eq!(read(&back), read(&direct), "spans={spans}");
    }
    // A file without the text column names it and the columns it has.
    let res = clean_args(&[
        os("--text-field"),
        os("body"),
        os("-o"),
        os(&tmp.path().join("x.jsonl")),
        os(&tmp.path().join("mid.parquet")),
    ]);
    assert!(!res.status.success());
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(
        err.contains("mid.parquet") && err.contains("no `body` column"),
        "{err}"
    );
}

/// A document over 16 MiB is rendered by the writer straight into the
/// output instead of on a worker: the JSONL text, its sentences (as strings
/// and as spans) and the txt file must all say the same.
#[test]
fn a_document_too_large_to_buffer_is_written_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let mut text = String::new();
    let mut n = 0;
    while text.len() < 17 << 20 {
        n += 1;
        text.push_str(&format!(
            "The crew of boat {n} went out at dawn, and the sea was calm. Nobody on the pier said a word about it, and the tide turned at noon.\n"
        ));
    }
    let input = tmp.path().join("big.jsonl");
    let record = serde_json::json!({"id": "big", "text": text, "lang": "en"});
    std::fs::write(&input, format!("{record}\n")).unwrap();
    let clean = |args: &[&str], out: &Path| {
        let mut cmd = bin();
        cmd.args(["clean", "--quiet", "--max-line-bytes", "100000000"])
            .args(args)
            .arg("-o")
            .arg(out)
            .arg(&input);
        run_ok(cmd);
    };
    let (strings, spans, dir) = (
        tmp.path().join("s.jsonl"),
        tmp.path().join("p.jsonl"),
        tmp.path().join("txt"),
    );
    clean(&[], &strings);
    clean(&["--sentences", "spans"], &spans);
    clean(&["--format", "txt"], &dir);
    let one = |p: &Path| -> serde_json::Value {
        let body = read(p);
        assert_eq!(body.lines().count(), 1, "{}", p.display());
        serde_json::from_str(&body).unwrap()
    };
    let (s, p) = (one(&strings), one(&spans));
    let cleaned = s["text"].as_str().unwrap();
    assert!(cleaned.len() > 16 << 20);
    assert_eq!(s["lang"], "en");
    assert_eq!(p["text"].as_str().unwrap(), cleaned);
    let sentences: Vec<&str> = s["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(sentences.len(), 2 * n, "two sentences a paragraph");
    let from_spans: Vec<&str> = p["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &cleaned[r[0].as_u64().unwrap() as usize..r[1].as_u64().unwrap() as usize])
        .collect();
    assert!(
        sentences == from_spans,
        "sentence strings are the spans' text"
    );
    assert_eq!(read(&dir.join("big.txt")), format!("{cleaned}\n"));
}
