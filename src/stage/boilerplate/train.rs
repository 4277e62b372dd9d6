//! `textclean train-boilerplate`: fits the boilerplate stage's line scorer
//! ([`super::model`]) to hand-labelled pages, and reports what it is worth on
//! sites it has not seen.
//!
//! The pages go through the configured pipeline up to the boilerplate stage,
//! exactly as `clean` would send them (corpus repeats are counted over all
//! pages given), and every labelled line becomes a feature row. A small
//! gradient-boosted tree ensemble (logistic loss, histogram splits, fixed
//! order: no randomness at all) is fitted to them. The decision threshold
//! and the Viterbi switch cost are chosen by site-disjoint k-fold
//! cross-validation: pages of one site (the host of the manifest's `url`)
//! are never split between training and held-out folds, so the printed
//! figures are figures on unseen sites. Lines labelled `caption_dup` are
//! left to the captions stage: they neither train nor count.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::model::{viterbi, ModelFile, Node, Tree};
use super::{BoilerplateStage, DocFeatures};
use crate::config::{PipelineConfig, StageConfig};
use crate::input::{InputSpec, Reader};
use crate::run::RunOptions;
use crate::stage::{AnyStage, Stage};
use crate::stats::StageStats;

/// What `train-boilerplate` needs.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Page files or directories of `.txt` pages (the label's `doc` is the
    /// file name).
    pub pages: Vec<PathBuf>,
    /// Hand labels: JSONL `{"doc", "line_no", "label"}` (`kind` and `text`
    /// are read if present and ignored). They train and calibrate.
    pub labels: Vec<PathBuf>,
    /// Labels that are only scored beside the hand figures (silver labels).
    pub silver: Vec<PathBuf>,
    /// TSV files with a header holding `file` and `url` (the site is the
    /// url's host) and optionally `source` and `mode` (for the breakdowns).
    /// A page without an entry is its own site.
    pub manifests: Vec<PathBuf>,
    /// The pipeline config (its boilerplate stage's rules give the features).
    pub config: PipelineConfig,
    /// Number of cross-validation folds (>= 2).
    pub folds: usize,
    /// The threshold is the one with the best boilerplate recall among those
    /// that keep at least this share of content lines in cross-validation.
    pub target_kept: f64,
    /// Boosting rounds.
    pub rounds: usize,
    /// Depth of each tree.
    pub depth: usize,
    /// Least summed hessian (about a tenth to a quarter of a line each) in a
    /// leaf: larger is smoother, and generalises better to unseen sites.
    pub min_leaf: f32,
    /// Where to write every line's held-out score and decision as JSONL
    /// `{"doc", "line_no", "score", "removed", "rules"}` (for error analysis;
    /// `rules` is the rules' and heuristics' own verdict).
    pub cv_scores: Option<PathBuf>,
}

impl TrainOptions {
    /// Options with the default learner settings.
    pub fn new(pages: Vec<PathBuf>, labels: Vec<PathBuf>, config: PipelineConfig) -> TrainOptions {
        TrainOptions {
            pages,
            labels,
            silver: Vec::new(),
            manifests: Vec::new(),
            config,
            folds: 5,
            target_kept: 0.97,
            rounds: 120,
            depth: 3,
            min_leaf: 20.0,
            cv_scores: None,
        }
    }
}

/// Why training could not run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A label record is malformed.
    #[error("{path}:{line}: {message}")]
    Label {
        /// The label file.
        path: PathBuf,
        /// 1-based line of the record.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The config has no boilerplate stage or does not build.
    #[error("config: {0}")]
    Config(String),
    /// A page could not be read.
    #[error("{0}")]
    Input(String),
    /// Nothing to train on.
    #[error("{0}")]
    NoData(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    Content,
    Boilerplate,
    CaptionDup,
}

type Labels = HashMap<String, HashMap<u32, Label>>;

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn load_labels(paths: &[PathBuf]) -> Result<Labels, TrainError> {
    #[derive(serde::Deserialize)]
    struct Rec {
        doc: String,
        line_no: u32,
        label: String,
    }
    let mut out: Labels = HashMap::new();
    for path in paths {
        let text = std::fs::read_to_string(path).map_err(io_err(path))?;
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let bad = |message: String| TrainError::Label {
                path: path.clone(),
                line: n + 1,
                message,
            };
            let r: Rec = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
            let label = match r.label.as_str() {
                "content" => Label::Content,
                "boilerplate" => Label::Boilerplate,
                "caption_dup" => Label::CaptionDup,
                other => return Err(bad(format!("unknown label {other:?}"))),
            };
            out.entry(r.doc).or_default().insert(r.line_no, label);
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Default)]
struct Meta {
    site: String,
    source: String,
    mode: String,
}

fn load_manifests(paths: &[PathBuf]) -> Result<HashMap<String, Meta>, TrainError> {
    let mut out = HashMap::new();
    for path in paths {
        let text = std::fs::read_to_string(path).map_err(io_err(path))?;
        let mut lines = text.lines();
        let head: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
        let col = |name: &str| head.iter().position(|h| *h == name);
        let (Some(file), url, source, mode) = (col("file"), col("url"), col("source"), col("mode"))
        else {
            return Err(TrainError::Label {
                path: path.clone(),
                line: 1,
                message: "the header has no `file` column".into(),
            });
        };
        for line in lines {
            let v: Vec<&str> = line.split('\t').collect();
            let get = |c: Option<usize>| c.and_then(|c| v.get(c)).copied().unwrap_or("");
            let Some(name) = v.get(file) else { continue };
            let site = host(get(url)).unwrap_or(name).to_string();
            out.insert(
                name.to_string(),
                Meta {
                    site,
                    source: get(source).to_string(),
                    mode: get(mode).to_string(),
                },
            );
        }
    }
    Ok(out)
}

/// The host of a URL without a leading `www.`, lower-cased.
fn host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let host = rest.split(['/', '?', '#', ':']).next()?;
    let host = host.strip_prefix("www.").unwrap_or(host);
    (!host.is_empty()).then_some(host)
}

/// One page's rows, labels and grouping.
struct Page {
    name: String,
    meta: Meta,
    feats: DocFeatures,
    hand: Vec<Option<Label>>,
    silver: Vec<Option<Label>>,
}

/// Quantile cut points of each feature, for histogram splits.
struct Bins {
    /// cuts[f]: sorted thresholds; bin b holds values in (cuts[b-1], cuts[b]].
    cuts: Vec<Vec<f32>>,
}

const MAX_BINS: usize = 32;

impl Bins {
    fn new(rows: &[&[f32]], width: usize) -> Bins {
        let mut cuts = Vec::with_capacity(width);
        let mut col: Vec<f32> = Vec::with_capacity(rows.len());
        for f in 0..width {
            col.clear();
            col.extend(rows.iter().map(|r| r[f]));
            col.sort_by(f32::total_cmp);
            col.dedup();
            let c: Vec<f32> = if col.len() <= MAX_BINS {
                // Between each pair of distinct values.
                col.windows(2).map(|w| (w[0] + w[1]) / 2.0).collect()
            } else {
                let mut c: Vec<f32> = (1..MAX_BINS)
                    .map(|b| {
                        let i = b * col.len() / MAX_BINS;
                        (col[i - 1] + col[i]) / 2.0
                    })
                    .collect();
                c.dedup();
                c
            };
            cuts.push(c);
        }
        Bins { cuts }
    }

    fn bin(&self, f: usize, x: f32) -> u8 {
        self.cuts[f].partition_point(|&c| c < x) as u8
    }
}

struct Learner {
    rounds: usize,
    depth: usize,
    rate: f32,
    lambda: f32,
    min_hess: f32,
}

/// Fits boosted trees (logistic loss) to rows `x` with targets `y` (0/1).
fn fit(l: &Learner, x: &[&[f32]], y: &[f32], width: usize) -> (f32, Vec<Tree>) {
    let n = x.len();
    let bins = Bins::new(x, width);
    let binned: Vec<u8> = x
        .iter()
        .flat_map(|r| (0..width).map(|f| bins.bin(f, r[f])).collect::<Vec<_>>())
        .collect();
    let pos = y.iter().sum::<f32>().clamp(1.0, n as f32 - 1.0);
    let base = (pos / (n as f32 - pos)).ln();
    let mut score = vec![base; n];
    let mut grad = vec![0f32; n];
    let mut hess = vec![0f32; n];
    let mut trees = Vec::with_capacity(l.rounds);
    let mut node_of = vec![0u32; n];
    for _ in 0..l.rounds {
        for i in 0..n {
            let p = 1.0 / (1.0 + (-score[i]).exp());
            grad[i] = p - y[i];
            hess[i] = (p * (1.0 - p)).max(1e-6);
        }
        // Level-wise growth; `frontier` are the nodes of the current level.
        let mut nodes: Vec<Node> = vec![leaf(0.0)];
        node_of.iter_mut().for_each(|v| *v = 0);
        let mut frontier: Vec<u32> = vec![0];
        for _ in 0..l.depth {
            // Histograms per frontier node: [node][feature][bin] of (g, h).
            let slot: HashMap<u32, usize> =
                frontier.iter().enumerate().map(|(k, &v)| (v, k)).collect();
            let stride = width * MAX_BINS;
            let mut hist = vec![(0f32, 0f32); frontier.len() * stride];
            let mut tot = vec![(0f32, 0f32); frontier.len()];
            for i in 0..n {
                let Some(&k) = slot.get(&node_of[i]) else {
                    continue;
                };
                tot[k].0 += grad[i];
                tot[k].1 += hess[i];
                let h = &mut hist[k * stride..(k + 1) * stride];
                for (f, &b) in binned[i * width..(i + 1) * width].iter().enumerate() {
                    let e = &mut h[f * MAX_BINS + b as usize];
                    e.0 += grad[i];
                    e.1 += hess[i];
                }
            }
            let mut next = Vec::new();
            let mut split_of: HashMap<u32, (usize, u8, u32, u32)> = HashMap::new();
            for (k, &v) in frontier.iter().enumerate() {
                let (g, h) = tot[k];
                let parent = g * g / (h + l.lambda);
                let mut best: Option<(f32, usize, u8)> = None;
                for f in 0..width {
                    let nb = bins.cuts[f].len();
                    let (mut gl, mut hl) = (0f32, 0f32);
                    for b in 0..nb {
                        let e = hist[k * stride + f * MAX_BINS + b];
                        gl += e.0;
                        hl += e.1;
                        let (gr, hr) = (g - gl, h - hl);
                        if hl < l.min_hess || hr < l.min_hess {
                            continue;
                        }
                        let gain = gl * gl / (hl + l.lambda) + gr * gr / (hr + l.lambda) - parent;
                        if gain > 1e-6 && best.is_none_or(|(bg, _, _)| gain > bg) {
                            best = Some((gain, f, b as u8));
                        }
                    }
                }
                if let Some((_, f, b)) = best {
                    let left = nodes.len() as u32;
                    nodes.push(leaf(0.0));
                    nodes.push(leaf(0.0));
                    nodes[v as usize] = Node {
                        feature: f as i32,
                        threshold: bins.cuts[f][b as usize],
                        left,
                        right: left + 1,
                        value: 0.0,
                    };
                    split_of.insert(v, (f, b, left, left + 1));
                    next.push(left);
                    next.push(left + 1);
                }
            }
            if split_of.is_empty() {
                break;
            }
            for i in 0..n {
                if let Some(&(f, b, lft, rgt)) = split_of.get(&node_of[i]) {
                    node_of[i] = if binned[i * width + f] <= b { lft } else { rgt };
                }
            }
            frontier = next;
        }
        // Leaf values: Newton step, shrunk.
        let mut sums = vec![(0f32, 0f32); nodes.len()];
        for i in 0..n {
            let s = &mut sums[node_of[i] as usize];
            s.0 += grad[i];
            s.1 += hess[i];
        }
        for (v, node) in nodes.iter_mut().enumerate() {
            if node.feature < 0 {
                let (g, h) = sums[v];
                node.value = -g / (h + l.lambda) * l.rate;
            }
        }
        for i in 0..n {
            score[i] += nodes[node_of[i] as usize].value;
        }
        trees.push(Tree { nodes });
    }
    (base, trees)
}

fn leaf(value: f32) -> Node {
    Node {
        feature: -1,
        threshold: 0.0,
        left: 0,
        right: 0,
        value,
    }
}

/// Selects the pages of one report row.
type GroupFn = Box<dyn Fn(&Page) -> bool>;

/// Counts for one group of lines.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    content: u32,
    content_kept: u32,
    boiler: u32,
    boiler_removed: u32,
}

impl Tally {
    fn add(&mut self, label: Label, removed: bool) {
        match label {
            Label::Content => {
                self.content += 1;
                self.content_kept += !removed as u32;
            }
            Label::Boilerplate => {
                self.boiler += 1;
                self.boiler_removed += removed as u32;
            }
            Label::CaptionDup => {}
        }
    }
    fn kept(&self) -> f64 {
        self.content_kept as f64 / self.content.max(1) as f64
    }
    fn recall(&self) -> f64 {
        self.boiler_removed as f64 / self.boiler.max(1) as f64
    }
    fn f1(&self) -> f64 {
        let tp = self.boiler_removed as f64;
        let fp = (self.content - self.content_kept) as f64;
        let fn_ = (self.boiler - self.boiler_removed) as f64;
        if tp == 0.0 {
            0.0
        } else {
            2.0 * tp / (2.0 * tp + fp + fn_)
        }
    }
}

/// What training produced.
#[derive(Debug)]
pub struct TrainOutcome {
    /// The fitted model (threshold and switch cost included).
    pub model: ModelFile,
    /// Cross-validated content kept (hand labels, all held-out pages).
    pub cv_kept: f64,
    /// Cross-validated boilerplate recall (hand labels).
    pub cv_recall: f64,
}

/// Fits the scorer and writes the cross-validation report to `report`.
///
/// # Errors
/// Unreadable pages, labels or manifests; a config without a boilerplate
/// stage; no labelled line.
pub fn train_boilerplate(
    opts: &TrainOptions,
    report: &mut dyn Write,
) -> Result<TrainOutcome, TrainError> {
    let started = Instant::now();
    let hand = load_labels(&opts.labels)?;
    let silver = load_labels(&opts.silver)?;
    let manifest = load_manifests(&opts.manifests)?;
    let mut config = opts.config.clone();
    let mut found = false;
    for s in &mut config.stages {
        if let StageConfig::Boilerplate(b) = s {
            // The features are the rules' and heuristics' view, never a
            // model's.
            b.model.enabled = false;
            found = true;
        }
    }
    if !found {
        return Err(TrainError::Config(
            "the config has no boilerplate stage".into(),
        ));
    }
    // Pages are read and counted exactly as `clean` reads them (ids,
    // sources, pass 1 over every page given), on one thread.
    let mut inputs = Vec::with_capacity(opts.pages.len());
    for p in &opts.pages {
        inputs.push(
            InputSpec::from_arg(&p.to_string_lossy())
                .map_err(|e| TrainError::Input(e.to_string()))?,
        );
    }
    let run_opts = RunOptions {
        threads: Some(1),
        ..RunOptions::default()
    };
    let profile = crate::run::build_profile(&inputs, &config, &run_opts)
        .map_err(|e| TrainError::Input(e.to_string()))?;
    let mut docs = Vec::new();
    for raw in Reader::new(inputs, run_opts.input.clone()) {
        let doc = raw
            .and_then(|r| r.decode(&run_opts.input))
            .map_err(|e| TrainError::Input(e.to_string()))?;
        docs.push(doc);
    }
    let pipeline = config
        .build(&profile)
        .map_err(|e| TrainError::Config(e.to_string()))?;
    let Some(stage) = pipeline.stages().iter().find_map(|s| match s {
        AnyStage::Boilerplate(b) => Some(b),
        _ => None,
    }) else {
        return Err(TrainError::Config(
            "the config has no boilerplate stage".into(),
        ));
    };
    let names = stage.classifier().feature_names();
    let mut pages = Vec::new();
    for mut doc in docs {
        // Labels name a page by its file name (or its id).
        let name = doc.id.rsplit('/').next().unwrap_or(&doc.id).to_string();
        let find = |l: &'_ Labels| l.get(&doc.id).or_else(|| l.get(&name)).cloned();
        let (h, s) = (find(&hand), find(&silver));
        if h.is_none() && s.is_none() {
            continue;
        }
        for st in pipeline.stages() {
            if matches!(st, AnyStage::Boilerplate(_)) {
                break;
            }
            st.apply(&mut doc, &mut StageStats::default());
        }
        let feats = BoilerplateStage::doc_features(stage, &doc);
        let pick = |l: Option<HashMap<u32, Label>>| -> Vec<Option<Label>> {
            feats
                .origins
                .iter()
                .map(|o| l.as_ref().and_then(|m| m.get(o).copied()))
                .collect()
        };
        let (hand, silver) = (pick(h), pick(s));
        let meta = manifest.get(&name).cloned().unwrap_or_else(|| Meta {
            site: doc.id.clone(),
            ..Meta::default()
        });
        pages.push(Page {
            name: doc.id.clone(),
            meta,
            feats,
            hand,
            silver,
        });
    }
    let width = pages.first().map_or(names.len() + 1, |p| p.feats.width);
    let hand_rows: usize = pages
        .iter()
        .map(|p| p.hand.iter().filter(|l| l.is_some()).count())
        .sum();
    if hand_rows == 0 {
        return Err(TrainError::NoData(
            "no hand-labelled line matched a page (is `doc` the page's file name?)".into(),
        ));
    }
    let prep = started.elapsed();

    // Folds by site: sites in a fixed pseudo-random order (a hash of the
    // name), each to the fold with the fewest labelled lines so far.
    let mut site_lines: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &pages {
        *site_lines.entry(p.meta.site.as_str()).or_default() += p.feats.origins.len();
    }
    let mut sites: Vec<(&str, usize)> = site_lines.into_iter().collect();
    sites.sort_by_key(|(s, _)| xxhash_rust::xxh3::xxh3_64(s.as_bytes()));
    let k = opts.folds.max(2);
    let mut fold_size = vec![0usize; k];
    let mut fold_of_site: HashMap<&str, usize> = HashMap::new();
    for (s, n) in sites {
        let f = (0..k).min_by_key(|&f| fold_size[f]).unwrap_or(0);
        fold_size[f] += n;
        fold_of_site.insert(s, f);
    }
    let fold_of: Vec<usize> = pages
        .iter()
        .map(|p| fold_of_site.get(p.meta.site.as_str()).copied().unwrap_or(0))
        .collect();

    let learner = Learner {
        rounds: opts.rounds,
        depth: opts.depth,
        rate: 0.1,
        lambda: 1.0,
        min_hess: opts.min_leaf,
    };
    let train_on = |keep: &dyn Fn(usize) -> bool| -> ModelFile {
        let mut x: Vec<&[f32]> = Vec::new();
        let mut y: Vec<f32> = Vec::new();
        for (_, p) in pages.iter().enumerate().filter(|&(d, _)| keep(d)) {
            for (r, l) in p.hand.iter().enumerate() {
                let t = match l {
                    Some(Label::Content) => 0.0,
                    Some(Label::Boilerplate) => 1.0,
                    _ => continue,
                };
                x.push(&p.feats.rows[r * width..(r + 1) * width]);
                y.push(t);
            }
        }
        let (base, trees) = fit(&learner, &x, &y, width);
        ModelFile {
            version: 1,
            features: names.iter().cloned().chain(["zero".to_string()]).collect(),
            base,
            bias: 0.0,
            switch_cost: 0.0,
            trees,
            trained: String::new(),
        }
    };
    // Held-out scores of every page.
    let mut scores: Vec<Vec<f32>> = vec![Vec::new(); pages.len()];
    for f in 0..k {
        let m = train_on(&|d| fold_of[d] != f);
        for (d, p) in pages.iter().enumerate().filter(|&(d, _)| fold_of[d] == f) {
            scores[d] = p
                .feats
                .rows
                .chunks_exact(width)
                .map(|r| m.score_row(r))
                .collect();
        }
    }
    let cv_time = started.elapsed() - prep;

    // Threshold and smoothing from the held-out scores.
    let decode = |bias: f32, switch: f32| -> Vec<Vec<bool>> {
        scores
            .iter()
            .map(|s| {
                let s: Vec<f32> = s.iter().map(|v| v + bias).collect();
                viterbi(&s, switch)
            })
            .collect()
    };
    let tally = |removed: &[Vec<bool>], silver: bool, group: &dyn Fn(&Page) -> bool| {
        let mut t = Tally::default();
        for (p, rm) in pages.iter().zip(removed) {
            if !group(p) {
                continue;
            }
            let labels = if silver { &p.silver } else { &p.hand };
            for (l, &r) in labels.iter().zip(rm) {
                if let Some(l) = l {
                    t.add(*l, r);
                }
            }
        }
        t
    };
    let mut best: Option<(f64, f64, f32, f32)> = None; // (recall, kept, bias, switch)
    let mut fallback: Option<(f64, f32, f32)> = None;
    for switch in [0.0f32, 0.5, 1.0, 1.5, 2.0, 3.0] {
        for step in -16..=16 {
            let bias = step as f32 * 0.25;
            let t = tally(&decode(bias, switch), false, &|_| true);
            let (kept, recall) = (t.kept(), t.recall());
            if kept >= opts.target_kept {
                if best.is_none_or(|b| (recall, kept) > (b.0, b.1)) {
                    best = Some((recall, kept, bias, switch));
                }
            } else if fallback.is_none_or(|b| kept > b.0) {
                fallback = Some((kept, bias, switch));
            }
        }
    }
    let (bias, switch) = match (best, fallback) {
        (Some(b), _) => (b.2, b.3),
        (None, Some(f)) => (f.1, f.2),
        (None, None) => (0.0, 0.0),
    };
    let removed = decode(bias, switch);
    if let Some(path) = &opts.cv_scores {
        let mut text = String::new();
        for ((p, sc), rm) in pages.iter().zip(&scores).zip(&removed) {
            for (((o, s), r), rule) in p
                .feats
                .origins
                .iter()
                .zip(sc)
                .zip(rm)
                .zip(&p.feats.rule_removed)
            {
                text.push_str(&format!(
                    "{{\"doc\":{:?},\"line_no\":{o},\"score\":{:.3},\"removed\":{r},\"rules\":{rule}}}\n",
                    p.name,
                    s + bias
                ));
            }
        }
        std::fs::write(path, text).map_err(io_err(path))?;
    }
    let rules: Vec<Vec<bool>> = pages.iter().map(|p| p.feats.rule_removed.clone()).collect();

    // The report.
    let w = report;
    let io = |e: std::io::Error| TrainError::Io {
        path: PathBuf::from("<report>"),
        source: e,
    };
    let n_sites = fold_of_site.len();
    let hand_pages = pages
        .iter()
        .filter(|p| p.hand.iter().any(Option::is_some))
        .count();
    writeln!(
        w,
        "{} pages ({} hand-labelled, {} hand-labelled lines), {} sites in {} site-disjoint folds; {} features",
        pages.len(),
        hand_pages,
        hand_rows,
        n_sites,
        k,
        width - 1
    )
    .map_err(io)?;
    writeln!(
        w,
        "chosen by CV: bias {bias:+.2}, switch cost {switch:.1} (target content kept >= {:.3})",
        opts.target_kept
    )
    .map_err(io)?;
    writeln!(
        w,
        "\ncross-validated (held-out sites), boilerplate stage alone, caption_dup lines left to the captions stage:"
    )
    .map_err(io)?;
    writeln!(
        w,
        "{:<18} {:>6} | {:>6} {:>6} {:>6} | {:>6} {:>6} {:>6} | {:>6} {:>6} {:>6}",
        "group",
        "lines",
        "kept",
        "recall",
        "F1",
        "rules",
        "rules",
        "rules",
        "silver",
        "silver",
        "silver"
    )
    .map_err(io)?;
    writeln!(
        w,
        "{:<18} {:>6} | {:>6} {:>6} {:>6} | {:>6} {:>6} {:>6} | {:>6} {:>6} {:>6}",
        "", "", "model", "model", "model", "kept", "recall", "F1", "kept", "recall", "F1"
    )
    .map_err(io)?;
    let mut groups: Vec<(String, GroupFn)> = vec![("all".to_string(), Box::new(|_| true))];
    let mut seen: Vec<String> = Vec::new();
    for p in &pages {
        for g in [
            format!("source={}", p.meta.source),
            format!("mode={}", p.meta.mode),
        ] {
            if !g.ends_with('=') && !seen.contains(&g) {
                seen.push(g);
            }
        }
    }
    seen.sort();
    for g in seen {
        let (key, val) = g
            .split_once('=')
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .unwrap_or_default();
        groups.push((
            g,
            Box::new(move |p: &Page| {
                if key == "source" {
                    p.meta.source == val
                } else {
                    p.meta.mode == val
                }
            }),
        ));
    }
    for (name, g) in &groups {
        let t = tally(&removed, false, g.as_ref());
        let r = tally(&rules, false, g.as_ref());
        let s = tally(&removed, true, g.as_ref());
        writeln!(
            w,
            "{:<18} {:>6} | {:>6.3} {:>6.3} {:>6.3} | {:>6.3} {:>6.3} {:>6.3} | {:>6.3} {:>6.3} {:>6.3}",
            name,
            t.content + t.boiler,
            t.kept(),
            t.recall(),
            t.f1(),
            r.kept(),
            r.recall(),
            r.f1(),
            s.kept(),
            s.recall(),
            s.f1()
        )
        .map_err(io)?;
    }
    let all = tally(&removed, false, &|_| true);

    // The shipped model: every hand-labelled page.
    let t0 = Instant::now();
    let mut model = train_on(&|_| true);
    let fit_time = t0.elapsed();
    model.bias = bias;
    model.switch_cost = switch;
    model.trained = format!(
        "{} trees of depth <= {} on {} hand-labelled lines of {} pages ({} sites); CV ({} site-disjoint folds): content kept {:.3}, boilerplate recall {:.3}",
        model.trees.len(),
        opts.depth,
        hand_rows,
        hand_pages,
        n_sites,
        k,
        all.kept(),
        all.recall()
    );
    let nodes: usize = model.trees.iter().map(|t| t.nodes.len()).sum();
    writeln!(
        w,
        "\nmodel: {} trees, {} nodes; reading and features {:.1}s, CV {:.1}s, final fit {:.1}s (one thread)",
        model.trees.len(),
        nodes,
        prep.as_secs_f64(),
        cv_time.as_secs_f64(),
        fit_time.as_secs_f64()
    )
    .map_err(io)?;
    Ok(TrainOutcome {
        model,
        cv_kept: all.kept(),
        cv_recall: all.recall(),
    })
}

/// Arguments of `textclean train-boilerplate`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Page files or directories of `.txt` pages.
    #[arg(required = true)]
    pub pages: Vec<PathBuf>,
    /// Hand labels, `{"doc", "line_no", "label"}` JSONL (train and calibrate).
    #[arg(long, required = true, num_args = 1..)]
    pub labels: Vec<PathBuf>,
    /// Labels scored beside the hand figures only (e.g. silver labels).
    #[arg(long, num_args = 1..)]
    pub silver: Vec<PathBuf>,
    /// Manifest TSV files (`file`, `url`, `source`, `mode`): the site of a
    /// page is its url's host; folds never split a site.
    #[arg(long, num_args = 1..)]
    pub manifest: Vec<PathBuf>,
    /// Pipeline config whose rules give the features (default: built-in).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Cross-validation folds.
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Least share of content lines the chosen threshold keeps in CV.
    #[arg(long, default_value_t = 0.97)]
    pub target_kept: f64,
    /// Boosting rounds.
    #[arg(long, default_value_t = 120)]
    pub rounds: usize,
    /// Tree depth.
    #[arg(long, default_value_t = 3)]
    pub depth: usize,
    /// Least summed hessian in a leaf (larger = smoother).
    #[arg(long, default_value_t = 20.0)]
    pub min_leaf: f32,
    /// Write every line's held-out score and decision here (JSONL).
    #[arg(long)]
    pub cv_scores: Option<PathBuf>,
    /// Where to write the model (JSON).
    #[arg(short, long)]
    pub output: PathBuf,
}

/// Runs `train-boilerplate`: fits, prints the CV report on stdout, writes
/// the model.
///
/// # Errors
/// As [`train_boilerplate`], and an unwritable output.
pub fn run(args: TrainArgs, config: PipelineConfig) -> Result<(), TrainError> {
    let opts = TrainOptions {
        pages: args.pages,
        labels: args.labels,
        silver: args.silver,
        manifests: args.manifest,
        config,
        folds: args.folds,
        target_kept: args.target_kept,
        rounds: args.rounds,
        depth: args.depth,
        min_leaf: args.min_leaf,
        cv_scores: args.cv_scores,
    };
    let mut out = std::io::stdout().lock();
    let outcome = train_boilerplate(&opts, &mut out)?;
    let text = model_json(&outcome.model);
    std::fs::write(&args.output, text).map_err(io_err(&args.output))?;
    Ok(())
}

/// The model as JSON, one tree per line (diffs stay readable).
pub fn model_json(m: &ModelFile) -> String {
    let head = ModelFile {
        trees: Vec::new(),
        ..m.clone()
    };
    let mut head = serde_json::to_string_pretty(&head).unwrap_or_default();
    // Replace the empty tree list with one tree per line.
    let trees: Vec<String> = m
        .trees
        .iter()
        .map(|t| serde_json::to_string(t).unwrap_or_default())
        .collect();
    let list = format!("[\n    {}\n  ]", trees.join(",\n    "));
    head = head.replacen("\"trees\": []", &format!("\"trees\": {list}"), 1);
    head.push('\n');
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(
            host("https://www.cnbc.com/2019/11/a.html"),
            Some("cnbc.com")
        );
        assert_eq!(
            host("http://news.example.org:8080/x"),
            Some("news.example.org")
        );
        assert_eq!(host(""), None);
    }

    /// End to end on a small labelled crawl of three sites: the report has
    /// the CV table, the model round-trips through JSON, and two runs write
    /// the same bytes.
    #[test]
    fn trains_from_labelled_pages() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pages = dir.path().join("pages");
        std::fs::create_dir(&pages).expect("mkdir");
        let mut labels = String::new();
        let mut manifest = String::from("file\tsource\tmode\turl\n");
        let para = [
            "The harbour board said on Monday that repairs to the north wall would take most of the winter.",
            "Fishermen have been asked to use the south slipway until the work is finished in March.",
            "A public meeting about the plans will be held in the village hall next Thursday evening.",
        ];
        for d in 0..9 {
            let site = ["harbour.example", "valley.example", "moor.example"][d % 3];
            let name = format!("p{d}.txt");
            let lines: Vec<(String, &str)> = vec![
                ("Skip to content".into(), "boilerplate"),
                ("Home".into(), "boilerplate"),
                (format!("Harbour wall repairs, part {d}"), "content"),
                (para[d % 3].into(), "content"),
                (para[(d + 1) % 3].into(), "content"),
                ("Share this story".into(), "boilerplate"),
                (format!("Copyright 20{d:02} {site}"), "boilerplate"),
            ];
            let text: Vec<&str> = lines.iter().map(|(t, _)| t.as_str()).collect();
            std::fs::write(pages.join(&name), text.join("\n")).expect("write page");
            for (i, (_, label)) in lines.iter().enumerate() {
                labels.push_str(&format!(
                    "{{\"doc\": \"{name}\", \"line_no\": {}, \"label\": \"{label}\"}}\n",
                    i + 1
                ));
            }
            manifest.push_str(&format!("{name}\ttest\tfull\thttps://{site}/{d}\n"));
        }
        let labels_path = dir.path().join("labels.jsonl");
        std::fs::write(&labels_path, labels).expect("write labels");
        let manifest_path = dir.path().join("manifest.tsv");
        std::fs::write(&manifest_path, manifest).expect("write manifest");
        let mut opts = TrainOptions::new(
            vec![pages],
            vec![labels_path],
            PipelineConfig::default_config(),
        );
        opts.manifests = vec![manifest_path];
        opts.folds = 3;
        opts.rounds = 10;
        opts.min_leaf = 1.0;
        let mut report = Vec::new();
        let a = train_boilerplate(&opts, &mut report).expect("trains");
        let report = String::from_utf8(report).expect("utf-8");
        assert!(
            report.contains("3 sites in 3 site-disjoint folds"),
            "{report}"
        );
        assert!(report.contains("source=test"), "{report}");
        assert!(!a.model.trees.is_empty());
        let json = model_json(&a.model);
        assert_eq!(ModelFile::from_json(&json).expect("parses"), a.model);
        let b = train_boilerplate(&opts, &mut Vec::new()).expect("trains");
        assert_eq!(json, model_json(&b.model), "training is deterministic");
        assert!(a.cv_kept > 0.5, "{report}");
    }

    /// The learner separates a rule it can see and is deterministic.
    #[test]
    fn fit_is_deterministic_and_learns() {
        let rows: Vec<Vec<f32>> = (0..200)
            .map(|i| vec![(i % 7) as f32, (i % 2) as f32, (i * 13 % 5) as f32])
            .collect();
        let y: Vec<f32> = rows.iter().map(|r| r[1]).collect();
        let x: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
        let l = Learner {
            rounds: 30,
            depth: 2,
            rate: 0.3,
            lambda: 1.0,
            min_hess: 1.0,
        };
        let (b1, t1) = fit(&l, &x, &y, 3);
        let (b2, t2) = fit(&l, &x, &y, 3);
        assert_eq!(t1, t2);
        assert_eq!(b1, b2);
        let m = ModelFile {
            version: 1,
            features: vec!["a".into(), "b".into(), "c".into()],
            base: b1,
            bias: 0.0,
            switch_cost: 0.0,
            trees: t1,
            trained: String::new(),
        };
        for (r, &t) in x.iter().zip(&y) {
            assert_eq!(m.score_row(r) > 0.0, t > 0.5);
        }
    }
}
