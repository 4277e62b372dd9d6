//! The document model: the only way stages change text.
//!
//! A [`Document`] is a list of live [`Line`]s plus the [`Removal`]s made so
//! far. Stages never touch a raw `String`: they ask the document to remove
//! lines (with a [`Reason`]) or to rewrite lines in place. Because every
//! removal goes through here, "every removed line is counted by stage and
//! reason and can be written out" holds by construction, and so does the
//! accounting identity `lines_in == lines_out + removals`.
//!
//! A line of the document is usually a line of the input. The lines of a
//! hard-wrapped paragraph are joined into one ([`Document::join_lines`]),
//! which then *spans* them: it counts as that many input lines wherever
//! lines are counted (kept or removed), and its number is the first one's.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use serde::Serialize;

/// Fields of an input record that textclean does not interpret (everything
/// but the id and text fields), carried through to the output untouched.
pub type Fields = serde_json::Map<String, serde_json::Value>;

/// One live line of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The line's current text (no line terminator).
    pub text: String,
    /// 1-based number of the line in the input document, counted after
    /// unifying line breaks (CR, CRLF, U+0085, U+2028 and U+2029 all end a
    /// line), so a removal can always be traced back.
    pub origin: u32,
    /// How many input lines it holds: 1, or more for a paragraph joined
    /// from the lines the input wrapped it into (`origin` is the first).
    pub span: u32,
}

/// How a line joins the line before it (see [`Document::join_lines`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Join {
    /// The line starts a paragraph of its own.
    #[default]
    Break,
    /// The line continues the paragraph: joined with one space.
    Space,
    /// The line continues a word the previous line ended with a hyphen
    /// or dash: joined with nothing between.
    Glue,
}

/// Why a line was removed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// The line was empty (or became empty after normalisation). Blank lines
    /// only separate paragraphs; the output re-creates one blank line
    /// between paragraphs.
    Blank,
    /// A named rule matched, e.g. `ads/exact` or `context/leading_menu`.
    Rule(Arc<str>),
    /// The line repeats one of the previous paragraphs (a repeated caption).
    RepeatedLine,
}

impl Reason {
    /// The reason as it appears in stats and the removed-lines log.
    pub fn as_str(&self) -> &str {
        match self {
            Reason::Blank => "blank",
            Reason::Rule(name) => name,
            Reason::RepeatedLine => "repeated_line",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A line taken out of a document, with who took it and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    /// Stable identifier of the stage that removed the line.
    pub stage: &'static str,
    /// Why.
    pub reason: Reason,
    /// 1-based input line number (see [`Line::origin`]).
    pub origin: u32,
    /// The line's text at the moment it was removed.
    pub text: String,
    /// How many input lines it held (see [`Line::span`]).
    pub span: u32,
}

/// One document flowing through the pipeline.
#[derive(Debug, Clone, Default)]
pub struct Document {
    /// Identifier: the path relative to the input directory, or the record's
    /// id field, or `FILE:LINE` when the record has none.
    pub id: String,
    /// Where the document came from (a site, a sub-directory, a `source`
    /// field); corpus statistics are kept per source when there is one.
    pub source: Option<String>,
    /// Input fields carried through untouched.
    pub fields: Fields,
    /// The encoding `--encoding auto` detected for the document's file, on
    /// the file's first document only (the stats count files).
    pub detected_encoding: Option<&'static str>,
    lines: Vec<Line>,
    removals: Vec<Removal>,
    sentences: Option<Vec<Range<usize>>>,
    lines_in: usize,
    bytes_in: usize,
}

/// True for the characters that end a line: LF, CR, NEL, LS and PS.
fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

impl Document {
    /// Builds a document from its raw text, splitting it into lines.
    ///
    /// CRLF counts as one break; a final line break does not start an
    /// extra empty line.
    pub fn new(id: impl Into<String>, text: &str) -> Document {
        Document::new_keeping(id, text, usize::MAX)
    }

    /// Like [`Document::new`], but lines longer than `max_line` bytes are
    /// never copied out of `text`. Only for pass 1, whose documents are
    /// observed and thrown away (the corpus profile does not count long
    /// lines): such a document does not account for the lines it skipped.
    pub(crate) fn new_keeping(id: impl Into<String>, text: &str, max_line: usize) -> Document {
        let mut lines = Vec::new();
        let mut rest = text;
        let mut origin = 0u32;
        // NEL, LS and PS are rare; without them a byte search for CR and
        // LF finds every break (the per-character search was most of the
        // cost of reading a document).
        static UNICODE_BREAKS: std::sync::LazyLock<[memchr::memmem::Finder<'static>; 3]> =
            std::sync::LazyLock::new(|| {
                ["\u{85}", "\u{2028}", "\u{2029}"].map(memchr::memmem::Finder::new)
            });
        let unicode_breaks = UNICODE_BREAKS
            .iter()
            .any(|f| f.find(text.as_bytes()).is_some());
        while !rest.is_empty() {
            origin = origin.saturating_add(1);
            let at = if unicode_breaks {
                rest.find(is_line_break)
            } else {
                memchr::memchr2(b'\n', b'\r', rest.as_bytes())
            };
            match at {
                Some(i) => {
                    if i <= max_line {
                        lines.push(Line {
                            text: rest[..i].to_string(),
                            origin,
                            span: 1,
                        });
                    }
                    let brk = if rest[i..].starts_with("\r\n") {
                        2
                    } else {
                        rest[i..].chars().next().map_or(1, char::len_utf8)
                    };
                    rest = &rest[i + brk..];
                }
                None => {
                    if rest.len() <= max_line {
                        lines.push(Line {
                            text: rest.to_string(),
                            origin,
                            span: 1,
                        });
                    }
                    rest = "";
                }
            }
        }
        Document {
            id: id.into(),
            lines_in: lines.len(),
            bytes_in: text.len(),
            lines,
            ..Document::default()
        }
    }

    /// Like [`Document::new_keeping`], taking the text by value: a text of
    /// one line (the common shape of a huge record) becomes that line
    /// without a copy, so reading a long document costs its size once,
    /// not twice.
    pub(crate) fn from_string_keeping(
        id: impl Into<String>,
        mut text: String,
        max_line: usize,
    ) -> Document {
        let bytes_in = text.len();
        let body_len = text
            .strip_suffix("\r\n")
            .or_else(|| text.strip_suffix('\n'))
            .or_else(|| text.strip_suffix('\r'))
            .map_or(text.len(), str::len);
        let body = &text[..body_len];
        let one_line = !body.is_empty()
            && memchr::memchr2(b'\n', b'\r', body.as_bytes()).is_none()
            && !body.contains(['\u{85}', '\u{2028}', '\u{2029}']);
        if !one_line {
            return Document::new_keeping(id, &text, max_line);
        }
        text.truncate(body_len);
        let lines = if body_len <= max_line {
            vec![Line {
                text,
                origin: 1,
                span: 1,
            }]
        } else {
            Vec::new()
        };
        Document {
            id: id.into(),
            lines_in: lines.len(),
            bytes_in,
            lines,
            ..Document::default()
        }
    }

    /// Sets the source (builder style).
    pub fn with_source(mut self, source: Option<String>) -> Document {
        self.source = source;
        self
    }

    /// The live lines, in order.
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// Number of lines the document had when it was read.
    pub fn lines_in(&self) -> usize {
        self.lines_in
    }

    /// Number of input lines the live lines hold (a joined paragraph
    /// counts the lines it was joined from).
    pub fn lines_out(&self) -> usize {
        self.lines.iter().map(|l| l.span as usize).sum()
    }

    /// Number of input lines removed (a removed joined paragraph counts
    /// the lines it was joined from).
    pub fn lines_removed(&self) -> usize {
        self.removals.iter().map(|r| r.span as usize).sum()
    }

    /// Joins lines into paragraphs: `joins` has one entry per live line,
    /// saying how it joins the one before (the first line's is ignored).
    /// A joined line keeps the first line's number and spans them all.
    /// Returns how many lines were joined to the line before.
    pub fn join_lines(&mut self, joins: &[Join]) -> usize {
        debug_assert_eq!(joins.len(), self.lines.len());
        let mut joined = 0;
        let mut out: Vec<Line> = Vec::with_capacity(self.lines.len());
        for (line, &join) in std::mem::take(&mut self.lines).into_iter().zip(joins) {
            match (out.last_mut(), join) {
                (Some(prev), Join::Space | Join::Glue) => {
                    if join == Join::Space {
                        prev.text.push(' ');
                        prev.text.push_str(&line.text);
                    } else {
                        // Glued across the break: no space may survive
                        // on either side of it.
                        let end = prev.text.trim_end().len();
                        prev.text.truncate(end);
                        prev.text.push_str(line.text.trim_start());
                    }
                    prev.span += line.span;
                    joined += 1;
                }
                _ => out.push(line),
            }
        }
        self.lines = out;
        if joined > 0 {
            self.sentences = None;
        }
        joined
    }

    /// Size in bytes of the raw input text.
    pub fn bytes_in(&self) -> usize {
        self.bytes_in
    }

    /// Every removal made so far, in the order the stages made them.
    pub fn removals(&self) -> &[Removal] {
        &self.removals
    }

    /// Takes the removals out (for the removed-lines log), leaving none.
    pub fn take_removals(&mut self) -> Vec<Removal> {
        std::mem::take(&mut self.removals)
    }

    /// Removes each line for which `verdict` returns a reason, recording it.
    /// Returns how many lines were removed.
    pub fn remove_lines(
        &mut self,
        stage: &'static str,
        mut verdict: impl FnMut(usize, &str) -> Option<Reason>,
    ) -> usize {
        let before = self.lines.len();
        let mut idx = 0;
        let removals = &mut self.removals;
        self.lines.retain_mut(|line| {
            let i = idx;
            idx += 1;
            match verdict(i, &line.text) {
                None => true,
                Some(reason) => {
                    removals.push(Removal {
                        stage,
                        reason,
                        origin: line.origin,
                        text: std::mem::take(&mut line.text),
                        span: line.span,
                    });
                    false
                }
            }
        });
        let removed = before - self.lines.len();
        if removed > 0 {
            self.sentences = None;
        }
        removed
    }

    /// Rewrites lines in place. `f` gets a line and a cleared scratch
    /// buffer; when it returns `true` the buffer becomes the line's new
    /// text. Returns how many lines changed.
    pub fn rewrite_lines(&mut self, mut f: impl FnMut(&str, &mut String) -> bool) -> usize {
        let mut scratch = String::new();
        let mut changed = 0;
        for line in &mut self.lines {
            scratch.clear();
            if f(&line.text, &mut scratch) && scratch != line.text {
                std::mem::swap(&mut line.text, &mut scratch);
                changed += 1;
            }
        }
        if changed > 0 {
            self.sentences = None;
        }
        changed
    }

    /// The cleaned text: live lines as paragraphs separated by one blank
    /// line, without a final newline.
    pub fn text(&self) -> String {
        let len = self.lines.iter().map(|l| l.text.len() + 2).sum::<usize>();
        let mut out = String::with_capacity(len);
        for (i, line) in self.lines.iter().enumerate() {
            if i > 0 {
                out.push_str("\n\n");
            }
            out.push_str(&line.text);
        }
        out
    }

    /// A view of [`Document::text`] that hands out the pieces of any byte
    /// range without building the text: a renderer writes them where they
    /// go, so a document is never held twice.
    pub fn text_view(&self) -> TextView<'_> {
        let mut starts = Vec::with_capacity(self.lines.len());
        let mut at = 0;
        for line in &self.lines {
            starts.push(at);
            at += line.text.len() + 2;
        }
        TextView {
            lines: &self.lines,
            starts,
            len: self.text_len(),
        }
    }

    /// Length in bytes of [`Document::text`], without building it.
    pub fn text_len(&self) -> usize {
        let n = self.lines.len();
        self.lines.iter().map(|l| l.text.len()).sum::<usize>() + 2 * n.saturating_sub(1)
    }

    /// Records the sentence spans (byte ranges of [`Document::text`]).
    /// Any later edit or removal forgets them, since they would be stale.
    pub fn set_sentences(&mut self, spans: Vec<Range<usize>>) {
        self.sentences = Some(spans);
    }

    /// Sentence spans, if a sentence stage ran after the last edit.
    pub fn sentences(&self) -> Option<&[Range<usize>]> {
        self.sentences.as_deref()
    }
}

/// See [`Document::text_view`].
#[derive(Debug, Clone)]
pub struct TextView<'a> {
    lines: &'a [Line],
    /// Where each line starts in the text.
    starts: Vec<usize>,
    len: usize,
}

impl<'a> TextView<'a> {
    /// Length of the text in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a document with no text.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The pieces of the text's byte range `r` (line texts and the
    /// `"\n\n"` between them), in order, none empty.
    ///
    /// # Panics
    /// If `r` is out of the text's bounds or splits a character.
    pub fn pieces(&self, r: Range<usize>) -> TextPieces<'a> {
        assert!(
            r.start <= r.end && r.end <= self.len,
            "range {r:?} is out of the text"
        );
        let line = self
            .starts
            .partition_point(|&s| s <= r.start)
            .saturating_sub(1);
        TextPieces {
            lines: self.lines,
            line,
            at: self.starts.get(line).copied().unwrap_or(0),
            in_sep: false,
            range: r,
        }
    }
}

/// What [`TextView::pieces`] returns.
#[derive(Debug, Clone)]
pub struct TextPieces<'a> {
    lines: &'a [Line],
    /// The line (or the separator after it, when `in_sep`) that starts at
    /// byte `at` of the text.
    line: usize,
    at: usize,
    in_sep: bool,
    range: Range<usize>,
}

impl<'a> Iterator for TextPieces<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        const SEP: &str = "\n\n";
        while self.range.start < self.range.end {
            let piece = if self.in_sep {
                SEP
            } else {
                self.lines.get(self.line)?.text.as_str()
            };
            let end = self.at + piece.len();
            let from = self.range.start;
            let (at, in_sep) = (self.at, self.in_sep);
            self.at = end;
            self.in_sep = !in_sep;
            if in_sep {
                self.line += 1;
            }
            if from >= end {
                continue;
            }
            let to = self.range.end.min(end);
            self.range.start = to;
            return Some(&piece[from - at..to - at]);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(doc: &Document) -> Vec<&str> {
        doc.lines().iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn text_pieces_are_the_text_of_any_range() {
        // With an empty line (before the normalize stage drops it) too.
        for raw in ["Überschrift\nA second paragraph.\n\nLast, é.", "", "x"] {
            let doc = Document::new("d", raw);
            let view = doc.text_view();
            let text = doc.text();
            let ends: Vec<usize> = (0..=text.len())
                .filter(|&i| text.is_char_boundary(i))
                .collect();
            for &a in &ends {
                for &b in ends.iter().filter(|&&b| b >= a) {
                    let joined: String = view.pieces(a..b).collect();
                    assert_eq!(joined, &text[a..b], "range {a}..{b} of {raw:?}");
                    assert!(view.pieces(a..b).all(|p| !p.is_empty()));
                }
            }
        }
        let doc = Document::new("d", "One.\nTwo.\nThree.");
        let all: Vec<&str> = doc.text_view().pieces(0..doc.text_len()).collect();
        assert_eq!(all, ["One.", "\n\n", "Two.", "\n\n", "Three."]);
    }

    #[test]
    fn pass_one_documents_leave_long_lines_out_and_keep_line_numbers() {
        let text = "Menu\nA paragraph far longer than the limit.\r\nShare\nlast line, long too";
        let doc = Document::new_keeping("d", text, 5);
        assert_eq!(texts(&doc), ["Menu", "Share"]);
        let origins: Vec<u32> = doc.lines().iter().map(|l| l.origin).collect();
        assert_eq!(origins, [1, 3]);
        let all = Document::new_keeping("d", text, usize::MAX);
        assert_eq!(texts(&all), texts(&Document::new("d", text)));
    }

    #[test]
    fn splits_every_kind_of_line_break() {
        let doc = Document::new("d", "a\r\nb\rc\u{2028}d\u{2029}e\u{85}f\n");
        assert_eq!(texts(&doc), ["a", "b", "c", "d", "e", "f"]);
        assert_eq!(doc.lines_in(), 6);
        let origins: Vec<u32> = doc.lines().iter().map(|l| l.origin).collect();
        assert_eq!(origins, [1, 2, 3, 4, 5, 6]);
        // Without NEL, LS or PS the byte search splits the same way.
        let doc = Document::new("d", "“a”\r\nb\rc\n\r\nd\u{2027}e\r");
        assert_eq!(texts(&doc), ["“a”", "b", "c", "", "d\u{2027}e"]);
    }

    #[test]
    fn blank_lines_are_lines_and_no_final_empty_line() {
        let doc = Document::new("d", "Title\n\nBody.\n");
        assert_eq!(texts(&doc), ["Title", "", "Body."]);
        assert!(Document::new("d", "").lines().is_empty());
    }

    #[test]
    fn removals_are_recorded_and_add_up() {
        let mut doc = Document::new("d", "Hide Ad\nStory.\n\nHide Ad");
        let n = doc.remove_lines("boilerplate", |_, t| {
            (t == "Hide Ad").then(|| Reason::Rule("ads/exact".into()))
        });
        assert_eq!(n, 2);
        doc.remove_lines("normalize", |_, t| t.is_empty().then_some(Reason::Blank));
        assert_eq!(texts(&doc), ["Story."]);
        assert_eq!(doc.lines_out() + doc.lines_removed(), doc.lines_in());
        let r = &doc.removals()[1];
        assert_eq!(
            (r.origin, r.text.as_str(), r.reason.as_str()),
            (4, "Hide Ad", "ads/exact")
        );
    }

    #[test]
    fn joined_lines_span_their_input_lines() {
        let mut doc = Document::new(
            "d",
            "Title\nThe first half of a\nwrapped line and a well-\nknown end.\n\nNext.",
        );
        let joins = [
            Join::Break,
            Join::Break,
            Join::Space,
            Join::Glue,
            Join::Break,
            Join::Break,
        ];
        assert_eq!(doc.join_lines(&joins), 2);
        assert_eq!(
            texts(&doc),
            [
                "Title",
                "The first half of a wrapped line and a well-known end.",
                "",
                "Next."
            ]
        );
        let spans: Vec<(u32, u32)> = doc.lines().iter().map(|l| (l.origin, l.span)).collect();
        assert_eq!(spans, [(1, 1), (2, 3), (5, 1), (6, 1)]);
        doc.remove_lines("test", |i, _| (i == 1).then(|| Reason::Rule("r".into())));
        assert_eq!((doc.lines_out(), doc.lines_removed()), (3, 3));
        assert_eq!(doc.lines_out() + doc.lines_removed(), doc.lines_in());
        assert_eq!((doc.removals()[0].origin, doc.removals()[0].span), (2, 3));
    }

    #[test]
    fn text_joins_paragraphs_with_one_blank_line() {
        let doc = Document::new("d", "One.\nTwo.");
        assert_eq!(doc.text(), "One.\n\nTwo.");
    }

    #[test]
    fn edits_forget_stale_sentences() {
        let mut doc = Document::new("d", "A b.");
        doc.set_sentences(std::iter::once(0..4).collect());
        doc.rewrite_lines(|l, out| {
            out.push_str(&l.replace('b', "c"));
            true
        });
        assert!(doc.sentences().is_none());
        assert_eq!(doc.text(), "A c.");
    }

    proptest::proptest! {
        /// Taking the text by value splits it exactly as borrowing it does.
        #[test]
        fn owned_text_splits_like_borrowed(text in "(a|é| |\r|\n|\u{85}|\u{2028}){0,12}", cap in 0usize..8) {
            let cap = if cap == 7 { usize::MAX } else { cap };
            let borrowed = Document::new_keeping("d", &text, cap);
            let owned = Document::from_string_keeping("d", text.clone(), cap);
            proptest::prop_assert_eq!(texts(&borrowed), texts(&owned));
            let origins = |d: &Document| d.lines().iter().map(|l| l.origin).collect::<Vec<_>>();
            proptest::prop_assert_eq!(origins(&borrowed), origins(&owned));
            proptest::prop_assert_eq!((borrowed.lines_in(), borrowed.bytes_in()), (owned.lines_in(), owned.bytes_in()));
        }
    }
}
