//! Literals a rule regex cannot match without: the regex prefilter.
//!
//! Every line of up to the largest `max_words` used to go through a
//! [`RegexSet`](regex::RegexSet) per `max_words` bound. The sets' own prefilters are the
//! union of dozens of case-insensitive prefixes, which fire on almost any
//! English line, so each set ran its lazy DFA over most of the text (most
//! of the stage's time, measured). Here each regex gets a set of literals
//! one of which every match contains ("cookie"; one of "about", "privacy",
//! …), one aho-corasick pass over a line finds which are present, and only
//! the regexes whose set has a hit are run.
//!
//! Extraction reads the pattern with a small, deliberately partial parser:
//! anything it does not understand (inline flags, unknown escapes, nested
//! classes) gives no requirement, so the regex is always run. Literals are
//! compared ASCII case-insensitively; the rules are case-insensitive, and
//! the two non-ASCII characters whose case folding reaches an ASCII letter
//! (KELVIN SIGN for `k`, LONG S for `s`) are [`FOLD_HAZARDS`]: a line with
//! one of them runs every regex.

/// Characters that `(?i)` matches against an ASCII letter.
pub(super) const FOLD_HAZARDS: [&str; 2] = ["\u{212A}", "\u{17F}"];

/// Strings of which a match contains at least one (lower case).
pub(super) type Clause = Vec<String>;

enum Node {
    Lit(char),
    /// A zero-width assertion: `^`, `$`, `\b`.
    Assert,
    /// Anything else that consumes text: a class, `.`, `\d`.
    Other,
    /// A group's alternatives.
    Group(Vec<Vec<Item>>),
}

struct Item {
    node: Node,
    /// Fewest repetitions (1 without a quantifier).
    min: u32,
    /// No quantifier: the item occurs exactly once, so it can extend a literal.
    once: bool,
}

/// The most selective clause every match of `pattern` satisfies; none
/// when unknown. One is enough: scanning for every clause's literals
/// (short words like "to" and "day" included) cost more than the
/// regexes it saved (measured).
pub(super) fn clauses(pattern: &str) -> Vec<Clause> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut p = Parser {
        chars: &chars,
        i: 0,
    };
    let Some(alts) = p.alternatives() else {
        return Vec::new();
    };
    if p.i != chars.len() {
        return Vec::new();
    }
    let mut out = Vec::new();
    match alts.as_slice() {
        [seq] => seq_clauses(seq, &mut out),
        _ => out.extend(group_clause(&alts)),
    }
    // Short words ("s" of "cookies?", "to", "in") filter little and
    // make the scan stop at almost every word.
    out.retain(|c| c.iter().all(|s| score(s) >= 3));
    out.into_iter()
        .max_by_key(selectivity)
        .into_iter()
        .collect()
}

/// Every clause a sequence requires: its runs of plain literal characters
/// and the clause of each group that must occur.
fn seq_clauses(seq: &[Item], out: &mut Vec<Clause>) {
    let mut run = String::new();
    for item in seq {
        match &item.node {
            Node::Lit(c) if item.once && is_plain(*c) => {
                run.push(c.to_ascii_lowercase());
                continue;
            }
            Node::Lit(c) if item.min >= 1 && is_plain(*c) => {
                out.push(vec![c.to_ascii_lowercase().to_string()]);
            }
            Node::Group(alts) if item.min >= 1 => match alts.as_slice() {
                [seq] => seq_clauses(seq, out),
                _ => out.extend(group_clause(alts)),
            },
            _ => {}
        }
        if !run.is_empty() {
            out.push(vec![std::mem::take(&mut run)]);
        }
    }
    if !run.is_empty() {
        out.push(vec![run]);
    }
}

/// One clause for a group: the best clause of each alternative, joined;
/// none when some alternative requires nothing.
fn group_clause(alts: &[Vec<Item>]) -> Option<Clause> {
    let mut joined = Vec::new();
    for seq in alts {
        let mut cl = Vec::new();
        seq_clauses(seq, &mut cl);
        let best = cl.into_iter().max_by_key(selectivity)?;
        joined.extend(best);
    }
    joined.sort();
    joined.dedup();
    Some(joined)
}

/// How selective a clause is: by its weakest literal, then fewer literals.
fn selectivity(c: &Clause) -> (usize, std::cmp::Reverse<usize>) {
    let weakest = c.iter().map(|s| score(s)).min().unwrap_or(0);
    (weakest, std::cmp::Reverse(c.len()))
}

/// How selective a literal is: letters are common, punctuation is rare.
fn score(s: &str) -> usize {
    s.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == ' ' {
                1
            } else {
                3
            }
        })
        .sum()
}

/// A character that `(?i)` matches only as itself or its ASCII case
/// pair: ASCII, or a non-ASCII symbol without case.
fn is_plain(c: char) -> bool {
    c.is_ascii()
        || !(c.is_alphabetic()
            || c.is_lowercase()
            || c.is_uppercase()
            || c.to_lowercase().ne([c])
            || c.to_uppercase().ne([c]))
}

struct Parser<'a> {
    chars: &'a [char],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    /// `a|b|…` up to a `)` or the end (neither consumed).
    fn alternatives(&mut self) -> Option<Vec<Vec<Item>>> {
        let mut alts = vec![self.sequence()?];
        while self.peek() == Some('|') {
            self.i += 1;
            alts.push(self.sequence()?);
        }
        Some(alts)
    }

    fn sequence(&mut self) -> Option<Vec<Item>> {
        let mut seq = Vec::new();
        while let Some(c) = self.next() {
            let node = match c {
                '|' | ')' => {
                    self.i -= 1;
                    break;
                }
                '(' => {
                    if self.peek() == Some('?') {
                        // Only `(?:…)`: flags such as `x` change what a literal is.
                        self.i += 1;
                        if self.next()? != ':' {
                            return None;
                        }
                    }
                    let alts = self.alternatives()?;
                    if self.next()? != ')' {
                        return None;
                    }
                    Node::Group(alts)
                }
                '[' => {
                    self.skip_class()?;
                    Node::Other
                }
                '\\' => match self.next()? {
                    // `\<` and `\>` are word boundaries, not literals.
                    'b' | 'B' | 'A' | 'z' | '<' | '>' => Node::Assert,
                    'd' | 'D' | 's' | 'S' | 'w' | 'W' => Node::Other,
                    e if e.is_ascii_punctuation() => Node::Lit(e),
                    _ => return None,
                },
                '.' => Node::Other,
                '^' | '$' => Node::Assert,
                '*' | '+' | '?' | '{' => return None,
                c => Node::Lit(c),
            };
            let (min, once) = self.quantifier()?;
            seq.push(Item { node, min, once });
        }
        Some(seq)
    }

    /// The quantifier after an item, if any: (fewest repetitions, none given).
    fn quantifier(&mut self) -> Option<(u32, bool)> {
        let min = match self.peek() {
            Some('?' | '*') => 0,
            Some('+') => 1,
            Some('{') => {
                self.i += 1;
                let mut min = 0u32;
                while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
                    min = min.checked_mul(10)?.checked_add(d)?;
                    self.i += 1;
                }
                while self.peek().is_some_and(|c| c == ',' || c.is_ascii_digit()) {
                    self.i += 1;
                }
                if self.peek() != Some('}') {
                    return None;
                }
                min
            }
            _ => return Some((1, true)),
        };
        self.i += 1;
        // A lazy `?`; anything else stacked on a quantifier is not understood.
        if self.peek() == Some('?') {
            self.i += 1;
        }
        if matches!(self.peek(), Some('?' | '*' | '+' | '{')) {
            return None;
        }
        Some((min, false))
    }

    /// Skips a bracket class after its `[`; a nested class gives up.
    fn skip_class(&mut self) -> Option<()> {
        if self.peek() == Some('^') {
            self.i += 1;
        }
        if self.peek() == Some(']') {
            self.i += 1;
        }
        loop {
            match self.next()? {
                ']' => return Some(()),
                '[' => return None,
                // `\]` is no end, and `\p{…}` holds no `]`.
                '\\' => {
                    let escaped = self.next()?;
                    let named = matches!(escaped, 'p' | 'P') && self.peek() == Some('{');
                    while named && self.next()? != '}' {}
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::clauses;

    fn cl(p: &str) -> Vec<Vec<&'static str>> {
        clauses(p)
            .into_iter()
            .map(|c| {
                c.into_iter()
                    .map(|s| &*Box::leak(s.into_boxed_str()))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn the_most_selective_required_literals() {
        assert_eq!(cl(r"\bcookies?\b.*\b(website|site)\b"), [vec!["cookie"]]);
        assert_eq!(cl(r"^@\w{2,30}$"), [vec!["@"]]);
        assert_eq!(cl(r"a(bc|d)?ef"), Vec::<Vec<&str>>::new());
        assert_eq!(cl(r"xa(bcd|e)?efg"), [vec!["efg"]]);
        assert_eq!(cl(r"(abc|cde)|fgh"), [vec!["abc", "cde", "fgh"]]);
        assert_eq!(cl(r"(abc|cd)x+"), Vec::<Vec<&str>>::new());
        assert_eq!(cl(r"(?:Page)\s+\d+ of"), [vec!["page"]]);
        assert_eq!(cl(r"e-?mails?"), [vec!["mail"]]);
        assert_eq!(cl(r"[\]|]x{2}\|"), [vec!["|"]]);
        assert_eq!(
            cl(r"\b(privacy|terms)\b[^|]{0,40}\|[^|]*\|"),
            [vec!["privacy", "terms"]]
        );
    }

    #[test]
    fn what_the_parser_does_not_know_requires_nothing() {
        for p in [
            r"(?x) cookie",
            r"(?i)cookie",
            r"\x41bc",
            r"[[:alpha:]]abc",
            r"abc**",
            r"abc)",
            r"(abc",
            r"[abc",
            "",
        ] {
            assert!(clauses(p).is_empty(), "{p}");
        }
        // Letters with case outside ASCII never enter a literal.
        assert_eq!(cl("caf\u{e9}s"), [vec!["caf"]]);
        // `\<` is a word boundary, not a literal `<`.
        assert_eq!(cl(r"\<abc\>"), [vec!["abc"]]);
        // Symbols without case do.
        assert_eq!(cl("\u{bb}\u{2192}."), [vec!["\u{bb}\u{2192}"]]);
    }

    #[test]
    fn only_the_fold_hazards_reach_ascii_letters() {
        for letter in ('a'..='z').chain('A'..='Z') {
            let re = regex::Regex::new(&format!("(?i)^{letter}$")).expect("valid");
            let mut buf = [0u8; 4];
            for c in (0x80..=0x10FFFFu32).filter_map(char::from_u32) {
                if re.is_match(c.encode_utf8(&mut buf)) {
                    assert!(super::FOLD_HAZARDS.contains(&&*c.to_string()), "{c:?}");
                }
            }
        }
    }
}
