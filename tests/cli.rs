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
