//! Helpers shared by unit tests.

/// Every string of at most `max_len` characters from `alphabet` (the
/// empty one included), sorted: exhaustive inputs for checking a fast
/// path against the plain definition it shortcuts.
pub(crate) fn all_strings(alphabet: &[char], max_len: usize) -> Vec<String> {
    let mut all = vec![String::new()];
    let mut last = vec![String::new()];
    for _ in 0..max_len {
        last = last
            .iter()
            .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
            .collect();
        all.extend(last.iter().cloned());
    }
    all.sort();
    all.dedup();
    all
}
