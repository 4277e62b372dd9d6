//! Cleaning cleaned output changes nothing, on every real page we have:
//! the webdev and webtrain pages of `../shared` are cleaned, and the output
//! is cleaned again with the same config.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{bin, files, run_ok, shared};

/// Cleans `pages` twice and returns the pages whose second output differs.
fn changed_on_second_run(pages: &Path) -> BTreeSet<String> {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (once, twice) = (tmp.path().join("once"), tmp.path().join("twice"));
    for (from, to) in [(pages, &once), (once.as_path(), &twice)] {
        let mut cmd = bin();
        cmd.arg("clean")
            .arg(from)
            .arg("-o")
            .arg(to)
            .args(["--format", "txt", "--quiet"]);
        run_ok(cmd);
    }
    let names = files(&once);
    assert!(!names.is_empty(), "no output under {}", once.display());
    names
        .into_iter()
        .filter(|n| {
            let a = std::fs::read(once.join(n)).expect("first output");
            let b = std::fs::read(twice.join(n)).unwrap_or_default();
            a != b
        })
        .collect()
}

#[test]
fn webdev_pages_are_idempotent() {
    let Some(shared) = shared() else { return };
    let changed = changed_on_second_run(&shared.join("webdev/pages"));
    assert!(changed.is_empty(), "changed on a second run: {changed:?}");
}

#[test]
fn webtrain_pages_are_idempotent() {
    let Some(shared) = shared() else { return };
    let changed = changed_on_second_run(&shared.join("webtrain/pages"));
    assert!(changed.is_empty(), "changed on a second run: {changed:?}");
}
