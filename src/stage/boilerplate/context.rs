//! Pass 2 of the classifier: the context heuristics (menus, the article
//! body, the leading and trailing regions, teaser lists, blocks).

use std::num::NonZeroUsize;

use super::shape::End;
use super::{
    Boilerplate, ContextConfig, RuleId, CTX_COMMENTS, CTX_INSIDE_MENU, CTX_KICKER, CTX_LEADING,
    CTX_MENU, CTX_NEIGHBOUR, CTX_SECTION, CTX_TEASER, CTX_TRAILING,
};

#[derive(Debug, Clone, Copy)]
pub(super) struct LineInfo {
    pub(super) blank: bool,
    pub(super) words: u32,
    pub(super) end: End,
    /// Number of tokens containing a digit (table rows have several).
    pub(super) numbers: u32,
    /// A body paragraph by shape (long, or sentence-like and long enough).
    pub(super) sentence: bool,
    /// Matches a `protect` pattern.
    pub(super) protected: bool,
    /// Removed by a rule or the repeat rule.
    pub(super) chrome: bool,
    /// Removed by a rule of a `starts_section` group.
    pub(super) section: bool,
    /// Removed by a rule of a `spreads_to_block` group.
    pub(super) spreads: bool,
    /// Removed by a rule of a `navigation` group.
    pub(super) nav: bool,
    /// Shaped like a list item rather than a link: see [`is_item`](super::shape::is_item).
    pub(super) item: bool,
    /// Protected as an item of a list introduced by a line ending in `:`.
    pub(super) listed: bool,
    /// Ends with a question mark.
    pub(super) question: bool,
    /// Number of words that start with a letter.
    pub(super) alpha_words: u32,
    /// Skeleton of the comment-signature timestamp the line holds (see
    /// [`stamp_skeleton`](super::shape::stamp_skeleton)); 0 = none.
    pub(super) stamp: u32,
    /// A rule-matched copyright notice ("© 2012 …", "Copyright 2009 …"):
    /// the page's footer, so the article body ends above it.
    pub(super) copyright: bool,
    /// No letter or digit ("---", "* * *"): a typographic divider, which
    /// a rule may remove but which says nothing of where chrome starts
    /// (an article's own divider sets off its notes or a track list).
    pub(super) divider: bool,
}

impl LineInfo {
    pub(super) const BLANK: LineInfo = LineInfo {
        blank: true,
        words: 0,
        end: End::Open,
        numbers: 0,
        sentence: false,
        protected: false,
        chrome: false,
        section: false,
        spreads: false,
        nav: false,
        item: false,
        listed: false,
        question: false,
        alpha_words: 0,
        stamp: 0,
        copyright: false,
        divider: false,
    };
}

/// Kept link texts between the navigation and the headline that make the
/// whole stretch navigation (see `headline_anchor`).
const ANCHOR_ZONE_LINES: usize = 6;

/// The content words of a line, for comparing a headline with the lead:
/// lower case, three letters or more, no stop words, a plural `s` dropped.
fn content_words(line: &str, buf: &mut String, mut f: impl FnMut(u64)) {
    for w in line.split_whitespace() {
        let w = w.trim_matches(|c: char| !c.is_alphanumeric());
        let w = w.strip_suffix("'s").unwrap_or(w);
        if w.chars().count() < 3 || !w.chars().all(char::is_alphanumeric) {
            continue;
        }
        buf.clear();
        buf.extend(w.chars().flat_map(char::to_lowercase));
        if super::model::STOP_WORDS
            .binary_search(&buf.as_str())
            .is_ok()
        {
            continue;
        }
        // "Clemens" and "Clemens'", "team" and "teams" are one word.
        if buf.len() > 3 && buf.ends_with('s') {
            buf.pop();
        }
        // Hashed, not kept: the lead is read for every document, and a
        // sorted list of hashes costs no allocation per word.
        f(xxhash_rust::xxh3::xxh3_64(buf.as_bytes()));
    }
}

/// Pass 2: the context heuristics over one document.
pub(super) struct Context<'a> {
    pub(super) bp: &'a Boilerplate,
    pub(super) cx: &'a ContextConfig,
    pub(super) lines: &'a [&'a str],
    pub(super) info: Vec<LineInfo>,
    pub(super) out: &'a mut [Option<RuleId>],
    /// For a line that introduces a list, the end (exclusive) of its
    /// items; 0 otherwise (filled by `mark_lists`).
    pub(super) list_end: Vec<usize>,
}

impl Context<'_> {
    /// A short line: few words, no sentence or colon ending.
    fn is_short(&self, i: usize) -> bool {
        let l = &self.info[i];
        !l.blank && l.words as usize <= self.cx.short_max_words.get() && l.end == End::Open
    }

    /// Can be part of a menu run: short and unprotected, or already chrome and not long.
    fn menu_candidate(&self, i: usize) -> bool {
        let l = &self.info[i];
        if l.blank {
            return false;
        }
        if l.chrome {
            return !l.sentence;
        }
        self.is_short(i) && !l.protected && !l.listed
    }

    fn remove(&mut self, i: usize, which: usize) {
        if self.out[i].is_none() && !self.info[i].blank {
            self.out[i] = Some(self.bp.context_id(which));
            // A list is protected by its introduction only while that stays:
            // once "Other sites:" goes as trailing chrome, its items are
            // judged as the lines they are, as they will be when the
            // cleaned text (without the introduction) is cleaned again.
            if let Some(&end) = self.list_end.get(i) {
                for k in i + 1..end {
                    self.info[k].listed = false;
                }
            }
        }
    }

    /// Runs the heuristics and hands back the line infos (with the list
    /// marks they set) for the learned scorer.
    pub(super) fn run(mut self) -> Vec<LineInfo> {
        self.run_inner();
        self.info
    }

    fn run_inner(&mut self) {
        let n = self.info.len();
        if n == 0 {
            return;
        }
        self.comment_threads();
        self.demote_section_headings();
        self.mark_lists();
        self.teaser_pairs();
        let runs = self.menu_runs();
        let Some((first, last)) = self.body_span(&runs) else {
            // No paragraph at all: only unambiguous menus go.
            for r in &runs {
                if r.is_menu(self.cx.barrier_run_min, false) {
                    for i in r.start..r.end {
                        self.remove(i, CTX_MENU);
                    }
                }
            }
            self.spread_blocks();
            return;
        };

        // Menus: short runs at the edges, long ones inside.
        for r in &runs {
            let inside = r.start > first && r.end <= last;
            let min = if inside {
                self.cx.inside_run_min
            } else {
                self.cx.edge_run_min
            };
            if r.is_menu(min, inside) {
                let which = if inside { CTX_INSIDE_MENU } else { CTX_MENU };
                for i in r.start..r.end {
                    self.remove(i, which);
                }
            }
        }

        // Leading region: everything short before the end of the last menu that is
        // not mostly rule-matched (a share bar right above the body does not count)
        // is navigation; lines after it are the header zone (kicker, title, dek,
        // byline) and are kept.
        let header_start = runs
            .iter()
            .filter(|r| r.end <= first && r.is_menu(self.cx.edge_run_min, false))
            .map(|r| r.end)
            .max()
            .unwrap_or(0)
            .max(self.leading_navigation(&runs, first));
        // A widget between the header and the body (a font chooser, a
        // share bar) ends a menu run too; the headline shows where the
        // header really starts.
        let header_start = self
            .headline(header_start, first)
            .map_or(header_start, |h| h.min(header_start));
        self.remove_leading(0..header_start);

        self.above_headline(header_start, first);

        if header_start > 0 {
            self.kicker(header_start, first);
        }

        // Teaser lists: in the navigation part of the leading region and after the body.
        self.teaser_lists(0, header_start);
        self.teaser_lists(last + 1, n);

        // Trailing region: from the first chrome line after the body, short and
        // unprotected lines go; from the first section header, everything goes.
        let mut chrome_seen = false;
        let mut section = false;
        for i in last + 1..n {
            let l = self.info[i];
            if l.blank {
                continue;
            }
            // After the body, a copyright notice is the footer: what
            // follows it (legal and agency lines, however sentence-shaped)
            // goes with it.
            if l.section || l.copyright {
                section = true;
            }
            if self.out[i].is_some() {
                chrome_seen |= !l.divider;
                continue;
            }
            if section {
                self.remove(i, CTX_SECTION);
            } else if chrome_seen
                && !l.protected
                && !l.listed
                && self.list_end[i] <= i + 1
                && (l.end != End::Sentence
                    || (l.alpha_words as usize) < self.cx.trailing_keep_words.get())
            {
                self.remove(i, CTX_TRAILING);
            }
        }

        self.spread_blocks();
    }

    /// End of the last run of short lines before the body that holds a
    /// `navigation` match ("Sign in", a breadcrumb, a "Home | News | Contact"
    /// row) and a line no rule knows: a site name or section label sitting in
    /// the navigation bar, like "The Fenwick Herald" between "Sign in" and
    /// "Home > News". Such a run is judged by its navigation lines, where a menu
    /// of unknown lines needs `edge_run_min` of them, because a share bar under
    /// the headline has the same shape and must not take the headline.
    ///
    /// The headline is the first heading-like line after the navigation, so a
    /// run counts only when such a line (unremoved, unprotected, not a body
    /// paragraph) follows it before the body; otherwise the run's own short line
    /// is the headline ("Skip to content / Brown Butter Loaf / By …").
    fn leading_navigation(&self, runs: &[Run], first: usize) -> usize {
        let last_heading = (0..first).rev().find(|&i| {
            let l = self.info[i];
            !l.blank && !l.chrome && !l.protected && !l.sentence && !l.listed
        });
        let Some(last_heading) = last_heading else {
            return 0;
        };
        runs.iter()
            .filter(|r| {
                r.end <= last_heading
                    && r.nav > 0
                    && r.unknown() > 0
                    && r.numbers * 2 < r.len()
                    && r.items * 2 < r.len()
            })
            .map(|r| r.end)
            .max()
            .unwrap_or(0)
    }

    /// When nothing heading-like sits between `before` (the end of the
    /// navigation) and the body (which starts at `first`), the last line
    /// before `before` that reads as the article's headline: three or more words,
    /// no sentence ending, and most of its content words (not function
    /// words, three letters or more) recur in the body's opening
    /// paragraphs, as a headline's do ("Dates are set for Clemens" over
    /// "Roger Clemens will give Congress …"). A menu's labels or a site
    /// name share little with one article's lead.
    fn headline(&self, before: usize, first: usize) -> Option<usize> {
        let upto = before.min(first);
        // A header below the navigation has its own headline.
        let heading = |i: usize| {
            let l = &self.info[i];
            !l.blank && self.out[i].is_none() && !l.protected && !l.sentence && !l.listed
        };
        if (upto..first).any(heading) || !(0..upto).any(|i| self.headline_candidate(i)) {
            return None;
        }
        let lead = self.lead_words(first);
        (0..upto)
            .rev()
            .find(|&i| self.headline_candidate(i) && self.names_lead(i, &lead))
    }

    /// A line that could be a headline: kept, three words or more, no
    /// sentence or colon ending.
    fn headline_candidate(&self, i: usize) -> bool {
        let l = &self.info[i];
        !l.blank
            && self.out[i].is_none()
            && !l.sentence
            && !l.listed
            && l.words >= 3
            && matches!(l.end, End::Open)
    }

    /// The content words of the body's opening paragraphs, from `first`,
    /// as sorted hashes.
    fn lead_words(&self, first: usize) -> Vec<u64> {
        /// Words of the body's opening that a headline is checked against.
        const LEAD_WORDS: usize = 300;
        let mut lead = Vec::new();
        let mut buf = String::new();
        let mut words = 0;
        for i in first..self.info.len() {
            if words >= LEAD_WORDS {
                break;
            }
            let l = &self.info[i];
            if l.sentence && !l.chrome && self.out[i].is_none() {
                words += l.words as usize;
                content_words(self.lines[i], &mut buf, |h| lead.push(h));
            }
        }
        lead.sort_unstable();
        lead.dedup();
        lead
    }

    /// Line `i` names the story the lead tells: two or more of its content
    /// words, and at least half of them, recur in the lead.
    fn names_lead(&self, i: usize, lead: &[u64]) -> bool {
        let (mut total, mut hits) = (0, 0);
        content_words(self.lines[i], &mut String::new(), |h| {
            total += 1;
            hits += lead.binary_search(&h).is_ok() as usize;
        });
        hits >= 2 && hits * 2 >= total
    }

    /// The headline inside the header zone, when chrome the menu runs did
    /// not reach sits above it (a theme switcher, "My Stories: 0", a list
    /// of disciplines, a sidebar of other articles set off by blank
    /// lines): the first heading-sized line after `from` whose words the
    /// lead tells. Short link texts (no end punctuation) between `from`
    /// and it are navigation, as the leading region's lines are; a book's
    /// title page ("VICTOR HUGO.", "BOSTON:") is not. The first line of the document is never
    /// removed for it: scraped text often opens with the page's title.
    /// When that title names the lead it is the anchor, and nothing goes;
    /// so a headline left first by the removal anchors the second cleaning
    /// at itself, and cleaning again removes nothing more. Taking the first
    /// match, not the last, keeps a dek without a full stop from being read
    /// as the headline, which would take the headline above it. A line of
    /// keywords ("Timber, Earthquake Engineering, Seismic Isolation") names
    /// the lead too, but is no headline: at most one comma, and no longer
    /// than a teaser headline.
    fn headline_anchor(&self, from: usize, first: usize) -> Option<usize> {
        let top = (0..first).find(|&i| !self.info[i].blank)?;
        let from = from.max(top);
        if from >= first {
            return None;
        }
        let shaped = |i: usize| {
            self.headline_candidate(i)
                && self.info[i].words as usize <= self.cx.teaser_max_words.get()
                && self.lines[i].matches(',').count() <= 1
        };
        // The lead is read only when some line could be the headline.
        let mut candidates = (from..first).filter(|&i| shaped(i)).peekable();
        candidates.peek()?;
        let lead = self.lead_words(first);
        candidates.find(|&i| self.names_lead(i, &lead))
    }

    /// Removes the short lines of a stretch of the leading region:
    /// protected lines (bylines, datelines) and paragraphs stay.
    fn remove_leading(&mut self, range: std::ops::Range<usize>) {
        for i in range {
            let l = self.info[i];
            if !l.blank
                && !l.protected
                && !l.sentence
                && l.words as usize <= self.cx.short_max_words.get()
            {
                self.remove(i, CTX_LEADING);
            }
        }
    }

    /// Chrome between the navigation and the headline (see
    /// `headline_anchor`).
    fn above_headline(&mut self, header_start: usize, first: usize) {
        let Some(h) = self.headline_anchor(header_start, first) else {
            return;
        };
        let top = (0..first).find(|&i| !self.info[i].blank).unwrap_or(0);
        let start = header_start.max(top + 1);
        let left = (start..h)
            .filter(|&i| self.out[i].is_none() && self.is_short(i))
            .count();
        // Six kept lines above the headline are more than any header holds
        // (a kicker, a supertitle, a dateline): the whole stretch is
        // navigation. Fewer go only up to the last line already found to
        // be chrome, so a chapter line over a section title stays.
        let end = if left >= ANCHOR_ZONE_LINES {
            h
        } else {
            (start..h)
                .rev()
                .find(|&i| self.out[i].is_some())
                .unwrap_or(start)
        };
        for i in start..end {
            if self.is_short(i) && !self.info[i].protected {
                self.remove(i, CTX_LEADING);
            }
        }
    }

    /// A section label above the headline ("World", "Science") right after the
    /// navigation: the first line of the header zone, one or two words alone in
    /// its block, followed by a headline-shaped line (four or more words, no
    /// sentence ending).
    fn kicker(&mut self, from: usize, first: usize) {
        let mut kept = (from..first).filter(|&i| !self.info[i].blank && self.out[i].is_none());
        let (Some(k), Some(next)) = (kept.next(), kept.next()) else {
            return;
        };
        let l = self.info[k];
        let t = self.info[next];
        let alone =
            (k == 0 || self.info[k - 1].blank) && self.info.get(k + 1).is_none_or(|m| m.blank);
        if alone
            && l.words <= 2
            && l.end == End::Open
            && !l.protected
            && !l.listed
            && t.end == End::Open
            && t.words >= 4
            && !t.sentence
        {
            self.remove(k, CTX_KICKER);
        }
    }

    /// Reader comment threads, found by their structure rather than their
    /// wording: three or more signature lines whose timestamps share one
    /// skeleton ("Posted by: Ann at May 3, 2012 7:12 AM", "Bo 07.08.12 at
    /// 13:24"), each within `COMMENT_GAP` lines of the next, with comment
    /// text (a line ending like a sentence) between at least half of them.
    /// A list of dated headlines has the stamps but not the sentences.
    ///
    /// Such a run of stamps finds the thread; the thread itself is every
    /// stamp of the skeleton from there on (and its first posts above, see
    /// below). It runs from its header (a rule-matched line, or a
    /// non-sentence line with a count, such as "13 Responses to …") or its
    /// first comment to the end of its last one. Its lines are chrome, so
    /// a long thread never outweighs the article as the body, and its
    /// timestamps are not datelines.
    ///
    /// Distances are counted in non-blank lines: cleaned output puts a
    /// blank line between all lines, and cleaning it again must find the
    /// same threads.
    fn comment_threads(&mut self) {
        const COMMENT_GAP: usize = 30;
        let n = self.info.len();
        let stamps: Vec<usize> = (0..n).filter(|&i| self.info[i].stamp != 0).collect();
        if stamps.len() < 3 {
            return;
        }
        // rank[i]: non-blank lines before line i.
        let mut rank = Vec::with_capacity(n + 1);
        let mut seen = 0;
        for l in &self.info {
            rank.push(seen);
            seen += usize::from(!l.blank);
        }
        rank.push(seen);
        let mut done = vec![false; stamps.len()];
        for a in 0..stamps.len() {
            if done[a] {
                continue;
            }
            let skel = self.info[stamps[a]].stamp;
            let mut chain = vec![stamps[a]];
            for (b, &j) in stamps.iter().enumerate().skip(a + 1) {
                // Checked first, so that the scan stays linear.
                if rank[j] - rank[chain[chain.len() - 1]] > COMMENT_GAP {
                    break;
                }
                if self.info[j].stamp != skel {
                    continue;
                }
                chain.push(j);
                done[b] = true;
            }
            if chain.len() < 3 {
                continue;
            }
            let units = chain
                .windows(2)
                .filter(|w| self.prose(w[0] + 1, w[1]))
                .count();
            if units * 2 < chain.len() - 1 {
                continue;
            }
            // A thread does not stop for an article and resume: it runs on
            // to its skeleton's last stamp, across a long comment or a
            // stretch whose signatures read differently ("… Homepage").
            // Gaps are counted in lines, and the lines later stages remove
            // (repeated quotes) would otherwise bring stamps left apart on
            // the first run within reach of each other on the second.
            for (b, &j) in stamps.iter().enumerate().skip(a + 1) {
                if self.info[j].stamp == skel && j > chain[chain.len() - 1] {
                    chain.push(j);
                    done[b] = true;
                }
            }
            // Nor does it start after a long post: two or more earlier
            // stamps of its skeleton, each followed by text, are its first
            // posts, so a forum topic is judged as a whole. One earlier
            // stamp alone is the article's own dateline.
            let earlier: Vec<usize> = stamps[..a]
                .iter()
                .copied()
                .filter(|&j| self.info[j].stamp == skel)
                .collect();
            if earlier.len() >= 2 {
                let posts = earlier
                    .iter()
                    .zip(earlier[1..].iter().chain([&chain[0]]))
                    .all(|(&x, &y)| self.prose(x + 1, y));
                if posts {
                    chain.splice(0..0, earlier);
                }
            }
            self.mark_thread(&chain, &rank);
        }
    }

    /// Whether a body paragraph no rule removed stands above line `i`.
    fn body_above(&self, i: usize) -> bool {
        self.info[..i].iter().any(|l| l.sentence && !l.chrome)
    }

    /// The first line of the signature whose stamp is on line `i`: the
    /// name line right above it goes with it.
    fn name_line(&self, i: usize) -> usize {
        let mut s = i;
        while s > 0 && s + 2 > i && {
            let l = &self.info[s - 1];
            !l.blank && !l.sentence && l.end == End::Open
        } {
            s -= 1;
        }
        s
    }

    /// Whether a section header lies strictly between `a` and `b` (a
    /// "Reply" under every comment is no thread header).
    fn has_section(&self, a: usize, b: usize) -> bool {
        self.info[a + 1..b].iter().any(|l| l.section)
    }

    /// Whether `from..to` holds comment text: a line ending like a sentence
    /// that is no signature and no known chrome.
    fn prose(&self, from: usize, to: usize) -> bool {
        self.info[from..to]
            .iter()
            .any(|l| !l.blank && !l.chrome && l.stamp == 0 && l.end == End::Sentence)
    }

    /// Marks the lines of one comment thread (see [`Self::comment_threads`]);
    /// `rank` counts non-blank lines.
    fn mark_thread(&mut self, chain: &[usize], rank: &[usize]) {
        let n = self.info.len();
        let last = chain[chain.len() - 1];
        let mut gaps: Vec<usize> = chain.windows(2).map(|w| rank[w[1]] - rank[w[0]]).collect();
        gaps.sort_unstable();
        let unit = gaps[gaps.len() / 2];
        // Does a signature open its comment or close it? After the last
        // signature of a thread whose signatures open comments comes the
        // last comment's text: `unit` non-blank lines after it.
        let tail_end = (last + 1..n)
            .find(|&k| rank[k] - rank[last] >= unit)
            .unwrap_or(n);
        let opens = self.prose(last + 1, tail_end);
        // The article's own signature ("Posted by Kim at May 3, 2012 9:15
        // AM", a dateline under the last paragraph) can share the
        // comments' skeleton: it is the first stamp, and a thread header
        // ("Comments") follows it, or no comment text does before the
        // next signature.
        let mut chain = chain;
        while chain.len() > 3
            && ((self.has_section(chain[0], chain[1]) && !self.has_section(chain[1], chain[2]))
                || !self.prose(chain[0] + 1, chain[1]))
        {
            chain = &chain[1..];
        }
        let first = chain[0];
        let (mut start, end) = if opens {
            (self.name_line(first), tail_end)
        } else {
            // The first comment's text is above its signature, up to the
            // thread's header.
            let mut s = first;
            while s > 0 && rank[first] - rank[s - 1] < unit {
                let l = &self.info[s - 1];
                if l.chrome || l.stamp != 0 {
                    break;
                }
                s -= 1;
            }
            (s, last + 1)
        };
        // A header with a count ("13 Responses to …") right above.
        if let Some(h) = (0..start).rev().find(|&k| !self.info[k].blank) {
            let l = self.info[h];
            if !l.sentence && l.end == End::Open && l.numbers > 0 && !l.protected && l.stamp == 0 {
                start = h;
            }
        }
        // Comments answer an article above them; a thread with no body
        // paragraph before it is the page's content (a forum topic).
        if !self.body_above(start) {
            return;
        }
        for k in start..end {
            if self.info[k].blank {
                continue;
            }
            self.info[k].chrome = true;
            self.remove(k, CTX_COMMENTS);
        }
    }

    /// A section header directly followed by a body paragraph is a heading of the
    /// article ("Related", "Comments" as a section title): its rule still removes
    /// it, but it does not start a chrome section.
    fn demote_section_headings(&mut self) {
        let mut next_sentence = false;
        for l in self.info.iter_mut().rev() {
            if l.blank {
                continue;
            }
            if l.section && next_sentence {
                l.section = false;
            }
            next_sentence = l.sentence && !l.chrome;
        }
    }

    /// Protects the items of lists introduced by a line ending in ':'.
    fn mark_lists(&mut self) {
        let n = self.info.len();
        self.list_end.clear();
        self.list_end.resize(n, 0);
        let mut i = 0;
        while i < n {
            if self.introduces_list(i) {
                let mut items = 0;
                let mut j = i + 1;
                while j < n && items < self.cx.intro_max_items.get() {
                    let m = self.info[j];
                    if m.blank {
                        j += 1;
                        continue;
                    }
                    if m.chrome || m.sentence && m.end == End::Sentence || m.end == End::Colon {
                        break;
                    }
                    self.info[j].listed = true;
                    items += 1;
                    j += 1;
                }
                self.list_end[i] = j;
                i = j;
            } else {
                i += 1;
            }
        }
    }

    /// A line ending in ':', or a question standing alone in its block (a heading
    /// like "What's new in 2.26?"), with enough words, introduces a list.
    fn introduces_list(&self, i: usize) -> bool {
        let l = self.info[i];
        if l.blank || l.chrome || (l.words as usize) < self.cx.intro_min_words.get() {
            return false;
        }
        match l.end {
            End::Colon => true,
            End::Sentence => {
                let alone = (i == 0 || self.info[i - 1].blank)
                    && self.info.get(i + 1).is_none_or(|m| m.blank);
                alone && !l.sentence && l.question
            }
            End::Open => false,
        }
    }

    /// Maximal runs of consecutive menu-candidate lines (no blank line between).
    fn menu_runs(&self) -> Vec<Run> {
        let mut runs = Vec::new();
        let mut cur: Option<Run> = None;
        for i in 0..self.info.len() {
            if self.menu_candidate(i) {
                let l = self.info[i];
                let r = cur.get_or_insert(Run {
                    start: i,
                    end: i,
                    chrome: 0,
                    numbers: 0,
                    tabular: 0,
                    items: 0,
                    nav: 0,
                });
                r.end = i + 1;
                r.chrome += l.chrome as usize;
                r.numbers += (l.numbers > 0) as usize;
                r.tabular += (l.numbers >= 2) as usize;
                r.items += (l.item && !l.chrome) as usize;
                r.nav += l.nav as usize;
            } else if let Some(r) = cur.take() {
                runs.push(r);
            }
        }
        runs.extend(cur);
        runs
    }

    /// The article body: body paragraphs grouped into candidate bodies separated by
    /// section headers or long menus; the candidate with the most text wins,
    /// where one that a section header announced counts half.
    /// Returns the first and last line index of its paragraphs.
    fn body_span(&self, runs: &[Run]) -> Option<(usize, usize)> {
        // barrier[i]: a long menu or section header starts at i.
        let mut barrier = vec![false; self.info.len()];
        for r in runs {
            if r.is_menu(self.cx.barrier_run_min, false) {
                barrier[r.start] = true;
            }
        }
        /// A candidate body: first and last paragraph, its words, and
        /// whether a section header ("Related stories:", "Comments")
        /// announced it.
        #[derive(Clone, Copy)]
        struct Candidate {
            first: usize,
            last: usize,
            words: usize,
            announced: bool,
        }
        // What a section header announces is other pages' summaries or
        // readers' posts, which can outweigh a short article: such a
        // candidate needs twice the text of one no header announced.
        let weight = |c: &Candidate| if c.announced { c.words } else { 2 * c.words };
        let mut best: Option<Candidate> = None;
        let mut cur: Option<Candidate> = None;
        let (mut split, mut announced) = (false, false);
        for (i, l) in self.info.iter().enumerate() {
            if l.section || barrier[i] || l.copyright {
                split = true;
                announced |= l.section;
            }
            if l.blank || l.chrome || !l.sentence {
                continue;
            }
            if split {
                if let Some(c) = cur.take() {
                    if best.is_none_or(|b| weight(&c) > weight(&b)) {
                        best = Some(c);
                    }
                }
                split = false;
            }
            let words = l.words as usize;
            match &mut cur {
                Some(c) => {
                    c.last = i;
                    c.words += words;
                }
                None => {
                    cur = Some(Candidate {
                        first: i,
                        last: i,
                        words,
                        announced,
                    });
                    announced = false;
                }
            }
        }
        if let Some(c) = cur {
            if best.is_none_or(|b| weight(&c) > weight(&b)) {
                best = Some(c);
            }
        }
        best.map(|c| (c.first, c.last))
    }

    /// Headlines each followed at once by a one-paragraph summary, three or
    /// more pairs in a row with no blank line among them, on a page that
    /// sets its own paragraphs apart with blank lines: a list of other
    /// stories ("Canada Headlines" under an article), not a part of it. The
    /// headings and paragraphs of a listicle are laid out as the rest of its
    /// article is, and a page without blank lines has no layout to depart
    /// from, so neither qualifies. Runs before the body is chosen, since the
    /// summaries would otherwise count as body text and such a list is
    /// often longer than the article it follows.
    fn teaser_pairs(&mut self) {
        let n = self.info.len();
        let max = self.cx.teaser_max_words.get();
        let head = |l: &LineInfo| {
            !l.blank
                && !l.chrome
                && !l.protected
                && !l.listed
                && l.end == End::Open
                && l.alpha_words >= 3
                && l.words as usize <= max
        };
        // Sentence-shaped by its own words: a summary printed twice on the
        // page (a story under two section headers) is no body paragraph
        // for `sentence`, yet it is still a summary.
        let min_words = self.cx.body_min_words.get();
        let summary = |l: &LineInfo| {
            !l.chrome && !l.protected && l.end == End::Sentence && l.words as usize >= min_words
        };
        let mut runs = Vec::new();
        let mut i = 0;
        while i + 1 < n {
            let mut j = i;
            while j + 1 < n && head(&self.info[j]) && summary(&self.info[j + 1]) {
                j += 2;
            }
            if (j - i) / 2 >= self.cx.teaser_run_min.get() {
                runs.push(i..j);
                i = j;
            } else {
                i += 1;
            }
        }
        if runs.is_empty() {
            return;
        }
        let mut inside = vec![false; n];
        for r in &runs {
            inside[r.clone()].fill(true);
        }
        // The page's own layout: its other body paragraphs, and how many of
        // them a blank line sets apart from a neighbour.
        // The page's edges are no blank lines: they say nothing of layout.
        let blank = |k: Option<usize>| k.and_then(|k| self.info.get(k)).is_some_and(|l| l.blank);
        let (mut paragraphs, mut apart) = (0usize, 0usize);
        for (k, l) in self.info.iter().enumerate() {
            if inside[k] || !l.sentence || l.chrome {
                continue;
            }
            paragraphs += 1;
            if blank(k.checked_sub(1)) || blank(Some(k + 1)) {
                apart += 1;
            }
        }
        if paragraphs < 2 || 3 * apart < 2 * paragraphs {
            return;
        }
        for r in runs {
            for k in r {
                self.info[k].chrome = true;
                self.remove(k, CTX_TEASER);
            }
        }
    }

    /// Three or more headline-like lines in a row (blank lines allowed) in
    /// `from..to` are a list of links to other pages.
    fn teaser_lists(&mut self, from: usize, to: usize) {
        let to = to.min(self.info.len());
        let max = self.cx.teaser_max_words.get();
        let is_teaser = |l: &LineInfo| {
            !l.blank
                && !l.protected
                && !l.listed
                && l.end == End::Open
                && l.alpha_words >= 3
                && l.words as usize <= max
        };
        let mut items: Vec<usize> = Vec::new();
        for i in from..=to {
            let more = i < to && {
                let l = &self.info[i];
                l.blank || (self.out[i].is_none() && is_teaser(l))
            };
            if more {
                if !self.info[i].blank {
                    items.push(i);
                }
                continue;
            }
            if items.len() >= self.cx.teaser_run_min.get() {
                for &k in &items {
                    self.remove(k, CTX_TEASER);
                }
            }
            items.clear();
        }
    }

    /// Short unprotected lines that share a block with a `spreads_to_block` match go with it.
    ///
    /// A block ends at a blank line and also at a body paragraph that no rule
    /// removed: many pages come without blank lines, so "the block" would be the
    /// whole page, and a comment count under a recipe would take its title and
    /// headings with it. A banner's own sentences are rule-matched and do not end it.
    fn spread_blocks(&mut self) {
        let n = self.info.len();
        let ends_block = |l: &LineInfo| l.blank || (l.sentence && !l.chrome);
        let mut start = 0;
        while start < n {
            if ends_block(&self.info[start]) {
                start += 1;
                continue;
            }
            let mut end = start;
            let mut spreads = false;
            while end < n && !ends_block(&self.info[end]) {
                spreads |= self.info[end].spreads;
                end += 1;
            }
            if spreads {
                for i in start..end {
                    let l = self.info[i];
                    // Only short lines: a headline or dek right above a
                    // "New, 6 comments" counter is not one of its buttons, and
                    // neither is a line right above a byline or dateline (the
                    // headline under a cookie banner on a page without blank lines).
                    let above_byline = self
                        .info
                        .get(i + 1)
                        .is_some_and(|m| m.protected && !m.chrome);
                    if !l.protected
                        && !l.listed
                        && !l.sentence
                        && l.end != End::Colon
                        && l.words as usize <= self.cx.short_max_words.get()
                        && !above_byline
                    {
                        self.remove(i, CTX_NEIGHBOUR);
                    }
                }
            }
            start = end;
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Run {
    start: usize,
    end: usize,
    /// Lines already removed by rules.
    chrome: usize,
    /// Lines with a number.
    numbers: usize,
    /// Lines with two or more numbers (table rows).
    tabular: usize,
    /// Lines shaped like list items (quantities, comma continuations).
    items: usize,
    /// Lines removed by a `navigation` rule.
    nav: usize,
}

impl Run {
    fn len(&self) -> usize {
        self.end - self.start
    }

    /// Lines not already removed by a rule: a menu is judged by these, so that two
    /// names above a "Share" button are not a menu.
    fn unknown(&self) -> usize {
        self.len() - self.chrome
    }

    /// Whether the run is a menu: at least `min` lines not already removed by a
    /// rule, not a table (inside the body, rows with two or more numbers;
    /// elsewhere, any number, so prices and dates in an info box survive), and
    /// not a list (half its lines shaped like items: an ingredient list under
    /// "Ingredients", a kit list; menu links are names, not quantities).
    fn is_menu(&self, min: NonZeroUsize, inside: bool) -> bool {
        let numeric = if inside { self.tabular } else { self.numbers };
        self.unknown() >= min.get() && numeric * 2 < self.len() && self.items * 2 < self.len()
    }
}
