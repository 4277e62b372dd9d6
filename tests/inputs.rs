//! End-to-end cases of hostile inputs: trees with links, loops, FIFOs and
//! unreadable parts, streams, encodings and broken records. Each must be
//! read without losing anything silently.

// Tests may panic on their own fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Output;

use common::{bin, run};

/// `textclean clean --quiet -o - ARGS...` with `stdin`.
fn clean(args: &[&str], stdin: &[u8]) -> Output {
    let mut cmd = bin();
    cmd.args(["clean", "--quiet", "-o", "-"]).args(args);
    run(cmd, stdin)
}

/// The string field `key` of each JSONL record on stdout.
fn field(out: &Output, key: &str) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v[key].as_str().unwrap().to_string()
        })
        .collect()
}

fn ids(out: &Output) -> Vec<String> {
    field(out, "id")
}

fn texts(out: &Output) -> Vec<String> {
    field(out, "text")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[cfg(unix)]
#[test]
fn symlink_loops_are_read_once_and_links_are_followed_only_when_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    std::fs::create_dir_all(tree.join("a/b")).unwrap();
    std::fs::write(tree.join("a/b/deep.txt"), "A paragraph deep in the tree.\n").unwrap();
    std::fs::write(tree.join("top.txt"), "A paragraph at the top.\n").unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("linked.txt"), "A paragraph behind a link.\n").unwrap();
    // Two links back up the tree: each used to multiply every file below.
    std::os::unix::fs::symlink("../..", tree.join("a/b/up")).unwrap();
    std::os::unix::fs::symlink("..", tree.join("a/again")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, tree.join("out")).unwrap();
    // The same file twice through two links: read once.
    std::os::unix::fs::symlink(&elsewhere, tree.join("out2")).unwrap();

    let res = clean(&[p(&tree)], b"");
    assert!(res.status.success(), "{}", stderr(&res));
    assert_eq!(ids(&res), ["a/b/deep.txt", "top.txt"]);
    assert!(stderr(&res).contains("not followed"), "{}", stderr(&res));

    let res = clean(&["--follow", p(&tree)], b"");
    assert!(res.status.success(), "{}", stderr(&res));
    assert_eq!(ids(&res), ["a/b/deep.txt", "out/linked.txt", "top.txt"]);
    let err = stderr(&res);
    assert!(
        err.contains("which contains it: not followed again"),
        "{err}"
    );
    // Each message once, though the tree is walked in both passes.
    assert_eq!(err.matches("a/b/up: ").count(), 1, "{err}");
}

#[cfg(unix)]
#[test]
fn an_unreadable_entry_is_reported_and_counted_and_the_rest_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    std::fs::create_dir_all(tree.join("closed")).unwrap();
    std::fs::write(tree.join("closed/hidden.txt"), "Cannot be read.\n").unwrap();
    std::fs::write(tree.join("open.txt"), "A readable paragraph.\n").unwrap();
    // A link to nothing, followed: unreadable for root too.
    std::os::unix::fs::symlink(tmp.path().join("gone"), tree.join("dangling.txt")).unwrap();
    let stats = tmp.path().join("stats.json");
    let res = clean(&["--follow", "--stats", p(&stats), p(&tree)], b"");
    let err = stderr(&res);
    assert_eq!(res.status.code(), Some(1), "{err}");
    assert!(err.contains("dangling.txt: "), "{err}");
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(s["docs_failed"], 1);
    assert_eq!(ids(&res), ["closed/hidden.txt", "open.txt"]);

    // A folder without read permission: root reads it anyway, so the case
    // can only be checked as another user.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(tree.join("closed"), std::fs::Permissions::from_mode(0o000)).unwrap();
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let res = clean(&["--stats", p(&stats), p(&tree)], b"");
    std::fs::set_permissions(tree.join("closed"), std::fs::Permissions::from_mode(0o755)).unwrap();
    if root {
        eprintln!("SKIP: running as root, which reads a folder without permissions; the dangling link above covered the error path");
        return;
    }
    let err = stderr(&res);
    assert_eq!(res.status.code(), Some(1), "{err}");
    assert!(
        err.contains("closed: ") && err.contains("ermission denied"),
        "{err}"
    );
    assert_eq!(ids(&res), ["open.txt"]);
}

#[cfg(unix)]
#[test]
fn a_fifo_in_a_tree_is_skipped_and_named_explicitly_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join("plain.txt"), "A plain paragraph.\n").unwrap();
    let fifo = tree.join("pipe.txt");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // In a tree, a FIFO would hang the run: skipped with a message.
    let res = clean(&[p(&tree)], b"");
    assert!(res.status.success(), "{}", stderr(&res));
    assert_eq!(ids(&res), ["plain.txt"]);
    assert!(
        stderr(&res).contains("pipe.txt: not a regular file"),
        "{}",
        stderr(&res)
    );
    // Named as an input, it is read as a stream (spooled for pass 1).
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, "Text through a pipe.\n").unwrap())
    };
    let res = clean(&[p(&fifo)], b"");
    writer.join().unwrap();
    assert!(res.status.success(), "{}", stderr(&res));
    assert_eq!(texts(&res), ["Text through a pipe."]);
}

#[test]
fn a_bom_does_not_cost_the_first_record() {
    let tmp = tempfile::tempdir().unwrap();
    let jsonl = tmp.path().join("bom.jsonl");
    std::fs::write(
        &jsonl,
        b"\xef\xbb\xbf{\"id\":\"a\",\"text\":\"First.\"}\n{\"id\":\"b\",\"text\":\"Second.\"}\n",
    )
    .unwrap();
    let csv = tmp.path().join("bom.csv");
    std::fs::write(&csv, b"\xef\xbb\xbfid,text\nc,Third.\n").unwrap();
    let res = clean(&[p(&jsonl), p(&csv)], b"");
    assert!(res.status.success(), "{}", stderr(&res));
    assert_eq!(ids(&res), ["a", "b", "c"]);
}

#[test]
fn an_open_quote_is_an_error_at_its_line_not_swallowed_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("q.csv");
    std::fs::write(
        &csv,
        "id,text\na,Fine.\nb,\"Opens and never closes\nc,Swallowed before.\nd,Also swallowed.\n",
    )
    .unwrap();
    let res = clean(&[p(&csv)], b"");
    let err = stderr(&res);
    assert_eq!(res.status.code(), Some(1), "{err}");
    assert!(err.contains("q.csv:3: unterminated quote"), "{err}");
    assert_eq!(ids(&res), ["a"]);

    // Another delimiter gets a hint, and --delimiter reads it.
    let tsv = tmp.path().join("t.csv");
    std::fs::write(&tsv, "id\ttext\nx\tA tab row.\n").unwrap();
    let res = clean(&[p(&tsv)], b"");
    assert!(
        stderr(&res).contains("--delimiter '\\t'"),
        "{}",
        stderr(&res)
    );
    let res = clean(&["--delimiter", "\\t", p(&tsv)], b"");
    assert_eq!(ids(&res), ["x"], "{}", stderr(&res));
}

#[test]
fn gzip_and_zstd_on_stdin_are_recognised_and_ids_are_deterministic() {
    use std::io::Write;
    let body = b"{\"text\":\"From a compressed pipe.\"}\n\n{\"text\":\"Second record.\"}\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(body).unwrap();
    let gz = gz.finish().unwrap();
    let zst = zstd::encode_all(&body[..], 1).unwrap();
    let a = clean(&["-"], &gz);
    assert!(a.status.success(), "{}", stderr(&a));
    assert_eq!(ids(&a), ["stdin:1", "stdin:3"]);
    let b = clean(&["-"], &zst);
    assert_eq!(a.stdout, b.stdout, "same records, same bytes");
    // Another format on stdin.
    let c = clean(
        &["--input-format", "csv", "-"],
        b"id,text\nr1,A CSV row on stdin.\n",
    );
    assert_eq!(ids(&c), ["r1"], "{}", stderr(&c));
    let t = clean(&["--input-format", "txt", "-"], b"One text document.\n");
    assert_eq!(ids(&t), ["stdin"], "{}", stderr(&t));
}

#[test]
fn stdin_is_spooled_beside_the_output_and_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out.jsonl");
    let mut cmd = bin();
    cmd.args(["clean", "--quiet", "-o"]).arg(&out).arg("-");
    let res = run(cmd, b"{\"text\":\"Spooled for pass one.\"}\n");
    assert!(res.status.success(), "{}", stderr(&res));
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["out.jsonl"], "the run's temporary directory is gone");
}

#[test]
fn windows_1252_is_read_with_a_name_or_detected_and_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("cp1252.txt"),
        b"Le caf\xe9 \xe9tait ferm\xe9, et l\x92h\xf4tel aussi.\n",
    )
    .unwrap();
    std::fs::write(dir.join("utf8.txt"), "Déjà lu, en UTF-8.\n").unwrap();
    // Strict by default: the error names file and line and the way out.
    let res = clean(&[p(&dir)], b"");
    let err = stderr(&res);
    assert_eq!(res.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cp1252.txt:1: invalid UTF-8") && err.contains("--encoding"),
        "{err}"
    );
    let stats = tmp.path().join("s.json");
    let res = clean(&["--encoding", "auto", "--stats", p(&stats), p(&dir)], b"");
    assert!(res.status.success(), "{}", stderr(&res));
    assert_eq!(
        texts(&res),
        [
            "Le café était fermé, et l'hôtel aussi.",
            "Déjà lu, en UTF-8."
        ]
    );
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(s["encodings"]["windows-1252"], 1, "{s}");
    assert_eq!(s["encodings"]["UTF-8"], 1, "{s}");
    let res = clean(&["--encoding", "latin1", p(&dir.join("cp1252.txt"))], b"");
    assert_eq!(texts(&res), ["Le café était fermé, et l'hôtel aussi."]);
}

#[test]
fn a_line_over_the_cap_is_an_error_naming_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let jsonl = tmp.path().join("long.jsonl");
    let long = "word ".repeat(400);
    std::fs::write(
        &jsonl,
        format!("{{\"id\":\"a\",\"text\":\"Short.\"}}\n{{\"id\":\"b\",\"text\":\"{long}\"}}\n{{\"id\":\"c\",\"text\":\"After.\"}}\n"),
    )
    .unwrap();
    let res = clean(&["--max-line-bytes", "1000", p(&jsonl)], b"");
    let err = stderr(&res);
    assert_eq!(res.status.code(), Some(1), "{err}");
    assert!(
        err.contains("long.jsonl:2: record of") && err.contains("line cap"),
        "{err}"
    );
    assert_eq!(ids(&res), ["a", "c"]);
    let txt = tmp.path().join("long.txt");
    std::fs::write(&txt, format!("Short line.\n{long}\n")).unwrap();
    let res = clean(&["--max-line-bytes", "1000", p(&txt)], b"");
    assert!(
        stderr(&res).contains("long.txt:2: line longer than 1000 bytes"),
        "{}",
        stderr(&res)
    );
}

#[cfg(unix)]
#[test]
fn process_substitution_is_a_stream_read_twice_through_its_copy() {
    // What `<(zcat x.gz)` hands over: a /dev/fd/N path to a pipe.
    let script = format!(
        "{} clean --quiet -o - <(printf '{{\"text\":\"Through a process substitution.\"}}\\n' | gzip)",
        env!("CARGO_BIN_EXE_textclean")
    );
    let mut cmd = std::process::Command::new("bash");
    cmd.args(["-c", &script]);
    let res = run(cmd, b"");
    assert!(res.status.success(), "{}", stderr(&res));
    assert_eq!(texts(&res), ["Through a process substitution."]);
}

#[test]
fn rayon_num_threads_is_honoured_without_threads() {
    let mut cmd = bin();
    cmd.args(["bench", "--repeat", "1", "--json"])
        .arg(common::root().join("raw"))
        .env("RAYON_NUM_THREADS", "3")
        .env_remove("SLURM_CPUS_PER_TASK")
        .env_remove("SLURM_CPUS_ON_NODE");
    let res = run(cmd, b"");
    assert!(res.status.success(), "{}", stderr(&res));
    let report: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    assert_eq!(report["threads"], 3, "{report}");
}
