//! Shared helpers for the end-to-end tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The built `textclean` binary.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_textclean"))
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared`, or `None` (with a message) when it is absent. Under
/// `CI=true` its absence is a failure, not a skip.
pub fn shared() -> Option<PathBuf> {
    let p = root().join("../shared");
    if p.join("seeds").is_dir() {
        return Some(p);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "../shared is missing, and CI=true: the shared test data must be beside the repository"
        );
    }
    eprintln!("SKIP: ../shared is absent; tests that need it are skipped");
    None
}

/// Runs a command to completion, feeding `stdin`.
pub fn run(mut cmd: Command, stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("textclean starts");
    let mut input = child.stdin.take().expect("stdin is piped");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("textclean finishes");
    writer.join().expect("stdin writer");
    out
}

/// Runs and asserts the exit code, returning stdout.
pub fn run_ok(cmd: Command) -> Output {
    let out = run(cmd, b"");
    assert!(
        out.status.success(),
        "textclean failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Files under `dir`, relative, sorted.
pub fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("readable dir") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(
                    p.strip_prefix(dir)
                        .expect("under dir")
                        .to_string_lossy()
                        .to_string(),
                );
            }
        }
    }
    out.sort();
    out
}

/// Asserts two texts are equal, printing a line diff when not.
#[macro_export]
macro_rules! assert_text_eq {
    ($want:expr, $got:expr, $($ctx:tt)+) => {{
        let (want, got): (&str, &str) = (&$want, &$got);
        if want != got {
            let mut diff = String::new();
            for (i, (w, g)) in want.lines().zip(got.lines()).enumerate() {
                if w != g {
                    diff.push_str(&format!("line {}:\n  want: {w:?}\n  got:  {g:?}\n", i + 1));
                }
            }
            diff.push_str(&format!(
                "({} lines wanted, {} got)",
                want.lines().count(),
                got.lines().count()
            ));
            panic!("{}: texts differ\n{diff}", format!($($ctx)+));
        }
    }};
}
