//! The learned line scorer: features of every line computed in one pass over
//! a document, a small boosted-tree ensemble that scores them, and a
//! two-state Viterbi pass that smooths the decisions over neighbours.
//!
//! The rules and context heuristics still run first; their verdicts are
//! features here (which rule group fired, which heuristic), next to the
//! line's shape, its position relative to the document's prose, its
//! neighbours, its block and its corpus repeat count. The model is data
//! ([`ModelFile`], JSON): trained by [`super::train`], shipped as
//! `config/boilerplate_model.json` and compiled into the binary.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::context::LineInfo;
use super::shape::End;
use super::{Boilerplate, RepeatLookup, RuleId};

/// Features that do not depend on the config's rule groups, in vector order.
/// After them come one feature per rule family (`rule:<group>` for a group,
/// `rule:context/<name>` for a heuristic), then the neighbour features.
const BASE: [&str; 49] = [
    "words_ln",
    "chars_ln",
    "alpha_share",
    "digit_share",
    "upper_share",
    "title_share",
    "stop_share",
    "end_sentence",
    "end_colon",
    "question",
    "separators",
    "item",
    "numbers_ln",
    "has_time",
    "has_month",
    "has_at_or_url",
    "starts_lower",
    "sentence",
    "protected",
    "listed",
    "removed",
    "prose_before",
    "prose_after",
    "prose_dist_ln",
    "rel_pos",
    "before_body",
    "after_body",
    "section_before",
    "prose_since_section_ln",
    "block_len_ln",
    "block_removed",
    "short_run_ln",
    "corpus_df_ln",
    "doc_repeat",
    "win_removed",
    "win_sentence",
    "win_short",
    "gap_before",
    "gap_after",
    "quote_start",
    "ends_says",
    "stamp",
    "stamps_before_ln",
    "stamps_win",
    "doc_stamps_ln",
    "segment_share",
    "segment_largest",
    "doc_lines_ln",
    "doc_prose_share",
];

/// Per-neighbour features, for the lines at offsets -2, -1, +1, +2 (blank
/// lines skipped; -1 where there is no such line).
const NEIGHBOUR: [&str; 6] = [
    "words_ln",
    "removed",
    "sentence",
    "end_colon",
    "protected",
    "alpha_share",
];
const OFFSETS: [isize; 4] = [-2, -1, 1, 2];

/// Short English function words: a line of prose has many, a menu few.
pub(super) const STOP_WORDS: [&str; 48] = [
    "a", "about", "after", "all", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can",
    "for", "from", "had", "has", "have", "he", "her", "his", "i", "if", "in", "into", "is", "it",
    "its", "not", "of", "on", "or", "she", "so", "that", "the", "their", "there", "they", "this",
    "to", "was", "we", "were", "which", "with", "would",
];

/// Month names and their abbreviations, sorted (datelines, comment stamps).
const MONTHS: [&str; 22] = [
    "apr",
    "april",
    "aug",
    "august",
    "dec",
    "december",
    "feb",
    "february",
    "jan",
    "january",
    "july",
    "june",
    "mar",
    "march",
    "may",
    "nov",
    "november",
    "oct",
    "october",
    "sep",
    "sept",
    "september",
];

/// A boosted-tree model as stored on disk.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    /// Format version (1).
    pub version: u32,
    /// Feature names, in the order the trees' `feature` indices refer to.
    pub features: Vec<String>,
    /// Score before any tree (log-odds of boilerplate).
    pub base: f32,
    /// Added to every score before decoding: the decision threshold.
    pub bias: f32,
    /// Cost (in log-odds) of switching between keep and remove from one
    /// non-blank line to the next, in the Viterbi pass; 0 = no smoothing.
    pub switch_cost: f32,
    /// The trees.
    pub trees: Vec<Tree>,
    /// How the model was made (for the reader; not used).
    #[serde(default)]
    pub trained: String,
}

/// One regression tree, as a flat node list (node 0 is the root).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Tree {
    /// The nodes.
    pub nodes: Vec<Node>,
}

/// A split (`x[feature] <= threshold` goes left) or a leaf (`feature` = -1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Feature index, or -1 for a leaf.
    pub feature: i32,
    /// Split threshold.
    #[serde(default)]
    pub threshold: f32,
    /// Left child (`<= threshold`).
    #[serde(default)]
    pub left: u32,
    /// Right child.
    #[serde(default)]
    pub right: u32,
    /// Leaf value (log-odds contribution).
    #[serde(default)]
    pub value: f32,
}

/// The model shipped with the binary.
pub const BUILTIN_MODEL: &str = include_str!("../../../config/boilerplate_model.json");

impl ModelFile {
    /// Parses a model from JSON.
    ///
    /// # Errors
    /// Malformed JSON or a node that points outside its tree.
    pub fn from_json(text: &str) -> Result<ModelFile, String> {
        let m: ModelFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
        for (t, tree) in m.trees.iter().enumerate() {
            for (i, n) in tree.nodes.iter().enumerate() {
                if n.feature >= 0
                    && ((n.feature as usize) >= m.features.len()
                        || n.left as usize >= tree.nodes.len()
                        || n.right as usize >= tree.nodes.len()
                        || n.left as usize <= i
                        || n.right as usize <= i)
                {
                    return Err(format!("trees[{t}].nodes[{i}]: bad feature or child index"));
                }
            }
            if tree.nodes.is_empty() {
                return Err(format!("trees[{t}]: no nodes"));
            }
        }
        Ok(m)
    }

    /// Reads a model file.
    ///
    /// # Errors
    /// The file cannot be read or parsed.
    pub fn load(path: &Path) -> Result<ModelFile, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        ModelFile::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Raw score (log-odds, before `bias`) of one feature row laid out in
    /// this model's own feature order.
    pub(super) fn score_row(&self, row: &[f32]) -> f32 {
        let mut s = self.base;
        for t in &self.trees {
            s += eval_tree(&t.nodes, row);
        }
        s
    }
}

fn eval_tree(nodes: &[Node], row: &[f32]) -> f32 {
    let mut i = 0;
    loop {
        let n = &nodes[i];
        if n.feature < 0 {
            return n.value;
        }
        i = if row[n.feature as usize] <= n.threshold {
            n.left as usize
        } else {
            n.right as usize
        };
    }
}

/// A model bound to one [`Boilerplate`]'s feature layout: the trees' feature
/// indices are rewritten to positions of the classifier's feature vector, so
/// a model trained with other rule groups still loads (a feature the config
/// lacks reads as 0).
#[derive(Debug)]
pub(super) struct BoundModel {
    model: ModelFile,
}

/// The names of the features a classifier computes, in vector order.
pub(super) fn feature_names(bp: &Boilerplate) -> Vec<String> {
    let mut names: Vec<String> = BASE.iter().map(|s| s.to_string()).collect();
    names.extend(rule_families(bp).1.iter().map(|f| format!("rule:{f}")));
    for off in OFFSETS {
        for f in NEIGHBOUR {
            names.push(format!("n{off:+}:{f}"));
        }
    }
    names
}

/// For every rule id, the index of its family; and the family names.
/// Families: one per group ("ads"), one per heuristic ("context/kicker").
pub(super) fn rule_families(bp: &Boilerplate) -> (Vec<usize>, Vec<String>) {
    let mut fams: Vec<String> = Vec::new();
    let mut of = Vec::with_capacity(bp.rule_count());
    for (id, name) in bp.rules() {
        let fam = if id.index() < bp.groups.len() * 3 {
            name.split('/').next().unwrap_or(name).to_string()
        } else {
            name.to_string()
        };
        let k = match fams.iter().position(|f| *f == fam) {
            Some(k) => k,
            None => {
                fams.push(fam);
                fams.len() - 1
            }
        };
        of.push(k);
    }
    (of, fams)
}

impl BoundModel {
    pub(super) fn bind(mut model: ModelFile, names: &[String]) -> BoundModel {
        // Model feature k reads classifier feature map[k]; unknown ones read
        // the constant-zero slot at the end of the row.
        let map: Vec<usize> = model
            .features
            .iter()
            .map(|f| names.iter().position(|n| n == f).unwrap_or(names.len()))
            .collect();
        for t in &mut model.trees {
            for n in &mut t.nodes {
                if n.feature >= 0 {
                    n.feature = map[n.feature as usize] as i32;
                }
            }
        }
        model.features = names.to_vec();
        BoundModel { model }
    }

    /// Scores the rows (width = feature count + 1 zero slot) and decodes
    /// keep/remove for each with the Viterbi pass. Returns (scores, remove).
    pub(super) fn decide(&self, rows: &[f32], width: usize) -> (Vec<f32>, Vec<bool>) {
        let scores: Vec<f32> = rows
            .chunks_exact(width)
            .map(|r| self.model.score_row(r) + self.model.bias)
            .collect();
        let remove = viterbi(&scores, self.model.switch_cost);
        (scores, remove)
    }
}

/// Two-state Viterbi over scores (log-odds of remove): the emission cost of
/// a state is -ln of its probability, each switch costs `switch`.
pub(super) fn viterbi(scores: &[f32], switch: f32) -> Vec<bool> {
    let n = scores.len();
    if n == 0 {
        return Vec::new();
    }
    // cost[s] of the best path ending in state s (0 keep, 1 remove).
    let emit = |m: f32| -> [f32; 2] {
        // -ln(1 - σ(m)) = softplus(m); -ln σ(m) = softplus(-m).
        [softplus(m), softplus(-m)]
    };
    let mut back: Vec<[u8; 2]> = Vec::with_capacity(n);
    let mut cost = emit(scores[0]);
    back.push([0, 1]);
    for &m in &scores[1..] {
        let e = emit(m);
        let mut next = [0f32; 2];
        let mut from = [0u8; 2];
        for s in 0..2 {
            let stay = cost[s];
            let switch_in = cost[1 - s] + switch;
            if stay <= switch_in {
                next[s] = stay + e[s];
                from[s] = s as u8;
            } else {
                next[s] = switch_in + e[s];
                from[s] = (1 - s) as u8;
            }
        }
        cost = next;
        back.push(from);
    }
    let mut s = if cost[1] < cost[0] { 1 } else { 0 };
    let mut out = vec![false; n];
    for i in (0..n).rev() {
        out[i] = s == 1;
        s = back[i][s] as usize;
    }
    out
}

fn softplus(x: f32) -> f32 {
    if x > 20.0 {
        x
    } else if x < -20.0 {
        x.exp()
    } else {
        x.exp().ln_1p()
    }
}

/// Per-line shape measures the context pass does not keep.
#[derive(Debug, Default, Clone, Copy)]
struct Extra {
    chars: u32,
    letters: u32,
    digits: u32,
    upper: u32,
    title_words: u32,
    stop_words: u32,
    separators: u32,
    has_time: bool,
    has_month: bool,
    has_at_or_url: bool,
    starts_lower: bool,
    quote_start: bool,
    /// Ends with "says:", "said:", "wrote:" (a comment's header).
    says: bool,
}

fn extra(line: &str) -> Extra {
    let mut e = Extra::default();
    let mut prev: Option<char> = None;
    for c in line.chars() {
        e.chars += 1;
        if c.is_alphabetic() {
            e.letters += 1;
            e.upper += c.is_uppercase() as u32;
        } else if c.is_ascii_digit() {
            e.digits += 1;
        } else if c == ':' && prev.is_some_and(|p| p.is_ascii_digit()) {
            e.has_time = true;
        } else if c == '@' {
            e.has_at_or_url = true;
        }
        prev = Some(c);
    }
    let mut first = true;
    for w in line.split_whitespace() {
        if matches!(w, "|" | "»" | "›" | "·" | "•" | ">" | "/" | "–" | "—" | "-") {
            e.separators += 1;
        }
        let word = w.trim_matches(|c: char| !c.is_alphanumeric());
        if first {
            e.starts_lower = word.chars().next().is_some_and(char::is_lowercase);
            e.quote_start = w.starts_with('"') || w.starts_with('\'');
            first = false;
        }
        if word.chars().next().is_some_and(char::is_uppercase) {
            e.title_words += 1;
        }
        if word.len() <= 9 {
            let lower = word.to_ascii_lowercase();
            if STOP_WORDS.binary_search(&lower.as_str()).is_ok() {
                e.stop_words += 1;
            }
            if MONTHS.binary_search(&lower.as_str()).is_ok() {
                e.has_month = true;
            }
        }
        if w.starts_with("http") || w.starts_with("www.") {
            e.has_at_or_url = true;
        }
    }
    let tail = line
        .trim_end_matches(|c: char| c == ':' || c.is_whitespace())
        .rsplit(char::is_whitespace)
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    e.says = matches!(
        tail.as_str(),
        "says" | "said" | "wrote" | "writes" | "commented" | "replied"
    );
    e
}

fn ln1(x: f32) -> f32 {
    x.max(0.0).ln_1p()
}

/// Computes the feature rows of a document's non-blank lines.
///
/// `info` and `out` are the context pass's view (after it ran); returns the
/// indices of the non-blank lines and a row-major matrix of
/// `names.len() + 1` columns (the last one always 0).
pub(super) fn line_features(
    bp: &Boilerplate,
    families: &[usize],
    n_families: usize,
    lines: &[&str],
    info: &[LineInfo],
    out: &[Option<RuleId>],
    repeats: &dyn RepeatLookup,
) -> (Vec<usize>, Vec<f32>, usize) {
    let nb: Vec<usize> = (0..lines.len()).filter(|&i| !info[i].blank).collect();
    let n = nb.len();
    let base = BASE.len();
    let fam0 = base;
    let nbr0 = fam0 + n_families;
    let width = nbr0 + OFFSETS.len() * NEIGHBOUR.len() + 1;
    let mut rows = vec![0f32; n * width];
    if n == 0 {
        return (nb, rows, width);
    }
    let short_max = bp.context.short_max_words.get() as u32;
    let is_short = |l: &LineInfo| l.words <= short_max && l.end == End::Open;
    let prose = |i: usize| info[i].sentence && out[i].is_none();
    // Prefix sums of prose words over non-blank lines.
    let mut prose_cum = Vec::with_capacity(n + 1);
    prose_cum.push(0f32);
    for &i in &nb {
        let last = *prose_cum.last().unwrap_or(&0.0);
        prose_cum.push(last + if prose(i) { info[i].words as f32 } else { 0.0 });
    }
    let total_prose = prose_cum[n].max(1.0);
    let first_prose = nb.iter().position(|&i| prose(i));
    let last_prose = nb.iter().rposition(|&i| prose(i));
    // Distance (in non-blank lines) to the nearest prose line.
    let mut dist = vec![u32::MAX; n];
    let mut d = u32::MAX;
    for k in 0..n {
        d = if prose(nb[k]) { 0 } else { d.saturating_add(1) };
        dist[k] = d;
    }
    d = u32::MAX;
    for k in (0..n).rev() {
        d = if prose(nb[k]) { 0 } else { d.saturating_add(1) };
        dist[k] = dist[k].min(d);
    }
    // Blocks: runs of non-blank lines with no blank between.
    let mut block_id = vec![0usize; n];
    let mut blocks: Vec<(u32, u32)> = Vec::new(); // (len, removed)
    for k in 0..n {
        let gap = k == 0 || nb[k] != nb[k - 1] + 1;
        if gap {
            blocks.push((0, 0));
        }
        let b = blocks.len() - 1;
        block_id[k] = b;
        blocks[b].0 += 1;
        blocks[b].1 += out[nb[k]].is_some() as u32;
    }
    // Runs of consecutive short lines.
    let mut short_run = vec![0u32; n];
    let mut k = 0;
    while k < n {
        if is_short(&info[nb[k]]) {
            let start = k;
            while k < n && is_short(&info[nb[k]]) {
                k += 1;
            }
            for r in &mut short_run[start..k] {
                *r = (k - start) as u32;
            }
        } else {
            k += 1;
        }
    }
    // Repeats inside the document.
    let mut counts: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
    for &i in &nb {
        *counts.entry(lines[i].trim()).or_insert(0) += 1;
    }
    let mut section_seen = false;
    let mut prose_at_section = 0f32;
    let extras: Vec<Extra> = nb.iter().map(|&i| extra(lines[i].trim())).collect();
    // Comment threads by their structure: a stamp (a short line with a
    // time or a date) or a "… says:" header opens each comment, and each
    // comment is a small segment of prose, where the article is one big one.
    let stamp: Vec<bool> = (0..n)
        .map(|k| {
            let (l, e) = (&info[nb[k]], &extras[k]);
            l.words <= 14 && (e.has_time || e.has_month && l.numbers >= 1) || e.says
        })
        .collect();
    let mut stamps_before = vec![0u32; n];
    let mut c = 0;
    for k in 0..n {
        stamps_before[k] = c;
        c += stamp[k] as u32;
    }
    let doc_stamps = c;
    let mut segment = vec![0usize; n];
    let mut seg_words: Vec<f32> = vec![0.0];
    for k in 0..n {
        let i = nb[k];
        if stamp[k] || info[i].section {
            seg_words.push(0.0);
        }
        segment[k] = seg_words.len() - 1;
        if let Some(w) = seg_words.last_mut().filter(|_| prose(i)) {
            *w += info[i].words as f32;
        }
    }
    let largest = seg_words.iter().copied().fold(0f32, f32::max);
    let all_words: f32 = nb
        .iter()
        .map(|&i| info[i].words as f32)
        .sum::<f32>()
        .max(1.0);
    let alpha_share = |k: usize| {
        let l = &info[nb[k]];
        l.alpha_words as f32 / l.words.max(1) as f32
    };
    for k in 0..n {
        let i = nb[k];
        let l = &info[i];
        let e = &extras[k];
        let row = &mut rows[k * width..(k + 1) * width];
        let words = l.words.max(1) as f32;
        let letters = e.letters.max(1) as f32;
        row[0] = ln1(l.words as f32);
        row[1] = ln1(e.chars as f32);
        row[2] = l.alpha_words as f32 / words;
        row[3] = e.digits as f32 / e.chars.max(1) as f32;
        row[4] = e.upper as f32 / letters;
        row[5] = e.title_words as f32 / words;
        row[6] = e.stop_words as f32 / words;
        row[7] = (l.end == End::Sentence) as u8 as f32;
        row[8] = (l.end == End::Colon) as u8 as f32;
        row[9] = l.question as u8 as f32;
        row[10] = e.separators as f32;
        row[11] = l.item as u8 as f32;
        row[12] = ln1(l.numbers as f32);
        row[13] = e.has_time as u8 as f32;
        row[14] = e.has_month as u8 as f32;
        row[15] = e.has_at_or_url as u8 as f32;
        row[16] = e.starts_lower as u8 as f32;
        row[17] = l.sentence as u8 as f32;
        row[18] = l.protected as u8 as f32;
        row[19] = l.listed as u8 as f32;
        row[20] = out[i].is_some() as u8 as f32;
        row[21] = prose_cum[k] / total_prose;
        row[22] = (prose_cum[n] - prose_cum[k + 1]) / total_prose;
        row[23] = if dist[k] == u32::MAX {
            10.0
        } else {
            ln1(dist[k] as f32)
        };
        row[24] = k as f32 / n as f32;
        row[25] = first_prose.is_none_or(|f| k < f) as u8 as f32;
        row[26] = last_prose.is_none_or(|f| k > f) as u8 as f32;
        if l.section && !section_seen {
            section_seen = true;
            prose_at_section = prose_cum[k];
        }
        row[27] = section_seen as u8 as f32;
        row[28] = if section_seen {
            ln1(prose_cum[k] - prose_at_section)
        } else {
            10.0
        };
        let (blen, brem) = blocks[block_id[k]];
        row[29] = ln1(blen as f32);
        row[30] = brem as f32 / blen.max(1) as f32;
        row[31] = ln1(short_run[k] as f32);
        row[32] = ln1(repeats.doc_frequency(lines[i].trim()) as f32);
        row[33] = (counts.get(lines[i].trim()).copied().unwrap_or(1) - 1).min(10) as f32;
        let (mut wr, mut ws, mut wsh, mut wn) = (0f32, 0f32, 0f32, 0f32);
        for j in k.saturating_sub(3)..(k + 4).min(n) {
            if j == k {
                continue;
            }
            wn += 1.0;
            wr += out[nb[j]].is_some() as u8 as f32;
            ws += info[nb[j]].sentence as u8 as f32;
            wsh += is_short(&info[nb[j]]) as u8 as f32;
        }
        let wn = wn.max(1.0);
        row[34] = wr / wn;
        row[35] = ws / wn;
        row[36] = wsh / wn;
        row[37] = (k == 0 || nb[k - 1] + 1 != i) as u8 as f32;
        row[38] = (k + 1 == n || nb[k + 1] != i + 1) as u8 as f32;
        row[39] = e.quote_start as u8 as f32;
        row[40] = e.says as u8 as f32;
        row[41] = stamp[k] as u8 as f32;
        row[42] = ln1(stamps_before[k] as f32);
        row[43] = stamp[k.saturating_sub(6)..(k + 7).min(n)]
            .iter()
            .filter(|&&s| s)
            .count() as f32;
        row[44] = ln1(doc_stamps as f32);
        row[45] = seg_words[segment[k]] / total_prose;
        row[46] = (seg_words[segment[k]] >= largest && largest > 0.0) as u8 as f32;
        row[47] = ln1(n as f32);
        row[48] = prose_cum[n] / all_words;
        if let Some(id) = out[i] {
            if let Some(&f) = families.get(id.index()) {
                row[fam0 + f] = 1.0;
            }
        }
        for (o, &off) in OFFSETS.iter().enumerate() {
            let at = nbr0 + o * NEIGHBOUR.len();
            let j = k as isize + off;
            if j < 0 || j >= n as isize {
                for v in &mut row[at..at + NEIGHBOUR.len()] {
                    *v = -1.0;
                }
                continue;
            }
            let j = j as usize;
            let m = &info[nb[j]];
            row[at] = ln1(m.words as f32);
            row[at + 1] = out[nb[j]].is_some() as u8 as f32;
            row[at + 2] = m.sentence as u8 as f32;
            row[at + 3] = (m.end == End::Colon) as u8 as f32;
            row[at + 4] = m.protected as u8 as f32;
            row[at + 5] = alpha_share(j);
        }
    }
    (nb, rows, width)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_lists_are_sorted() {
        let mut s = STOP_WORDS;
        s.sort_unstable();
        assert_eq!(s, STOP_WORDS, "binary search needs a sorted list");
        let mut m = MONTHS;
        m.sort_unstable();
        assert_eq!(m, MONTHS, "binary search needs a sorted list");
    }

    #[test]
    fn viterbi_smooths_a_lone_flip() {
        // One weakly positive line among confident content lines stays kept
        // with a switch cost, and goes without one.
        let scores = [-4.0, -4.0, 0.5, -4.0, -4.0];
        assert_eq!(viterbi(&scores, 2.0), vec![false; 5]);
        assert_eq!(
            viterbi(&scores, 0.0),
            vec![false, false, true, false, false]
        );
        // A confident run of chrome survives smoothing.
        let scores = [-4.0, 3.0, 3.0, 3.0, -4.0];
        assert_eq!(viterbi(&scores, 2.0), vec![false, true, true, true, false]);
    }

    #[test]
    fn extra_shape() {
        let e = extra("Posted by Ann on March 3, 2012 at 5:40 pm | Reply");
        assert!(e.has_time && e.has_month);
        assert_eq!(e.separators, 1);
        let e = extra("the rest of the story, as told by her");
        assert!(e.starts_lower);
        assert!(e.stop_words >= 4);
    }
}
