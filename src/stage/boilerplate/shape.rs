//! Line-shape features: word counts, list-item shape and how a line ends.

pub(super) fn count_words(line: &str) -> usize {
    shape(line).words
}

/// Word-level shape of a line.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Shape {
    /// Whitespace-separated words.
    pub(super) words: usize,
    /// Words containing an ASCII digit (table rows have several).
    pub(super) numbers: u32,
    /// Words starting with a letter.
    pub(super) alpha_words: u32,
}

/// ASCII byte classes for [`shape`]: bit 0 whitespace, bit 1 letter, bit 2 digit.
const BYTE_CLASS: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        t[b] = if c == b' ' || (c >= 9 && c <= 13) {
            1
        } else if c.is_ascii_alphabetic() {
            2
        } else if c.is_ascii_digit() {
            4
        } else {
            0
        };
        b += 1;
    }
    t
};

/// Computes a line's [`Shape`] in one pass over its bytes. Eight bytes of
/// plain ASCII (no control, no digit) at a time are counted with bit
/// arithmetic; the rest goes one character at a time, decoding only
/// non-ASCII ones. The counters are updated without branches: a branch
/// at every word boundary was mispredicted often enough to make this most
/// of the stage's time on long paragraphs (measured).
pub(super) fn shape(line: &str) -> Shape {
    let bytes = line.as_bytes();
    let mut st = ShapeState {
        prev_ws: 1,
        ..ShapeState::default()
    };
    let mut i = 0;
    while i < bytes.len() {
        if let Some(block) = bytes
            .get(i..i + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
        {
            if st.block(u64::from_le_bytes(block)) {
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        let (class, len) = if b < 0x80 {
            (u32::from(BYTE_CLASS[usize::from(b)]), 1)
        } else {
            let c = line[i..].chars().next().unwrap_or(' ');
            let class = if c.is_whitespace() {
                1
            } else {
                u32::from(c.is_alphabetic()) << 1
            };
            (class, c.len_utf8())
        };
        st.step(class);
        i += len;
    }
    st.numbers += st.has_digit & (st.prev_ws ^ 1);
    Shape {
        words: st.words as usize,
        numbers: st.numbers,
        alpha_words: st.alpha_words,
    }
}

/// The running counts of [`shape`]; flags are 0 or 1.
#[derive(Default)]
struct ShapeState {
    words: u32,
    alpha_words: u32,
    numbers: u32,
    /// The previous character was whitespace (or there was none).
    prev_ws: u32,
    /// The current word has a digit.
    has_digit: u32,
}

impl ShapeState {
    /// One character of class `class` (see [`BYTE_CLASS`]).
    fn step(&mut self, class: u32) {
        let ws = class & 1;
        let start = self.prev_ws & (ws ^ 1);
        let end = ws & (self.prev_ws ^ 1);
        self.words += start;
        self.alpha_words += start & (class >> 1);
        self.numbers += end & self.has_digit;
        self.has_digit = (self.has_digit & (start ^ 1)) | (class >> 2);
        self.prev_ws = ws;
    }

    /// Eight bytes at once (little-endian in `x`), when they are ASCII
    /// with no control character and no digit; returns false, counting
    /// nothing, otherwise. Each test leaves its answer in the top bit of
    /// every byte; no byte's sum carries into the next, since all are
    /// below 0x80.
    fn block(&mut self, x: u64) -> bool {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
        if x & HIGH != 0 {
            return false;
        }
        let at_least = |v: u64, min: u8| v + u64::from(0x80 - min) * ONES;
        let control = !at_least(x, 0x20) & HIGH;
        let digit = at_least(x, b'0') & !at_least(x, b'9' + 1) & HIGH;
        if control | digit != 0 {
            return false;
        }
        // A space is the only whitespace left: find the zero bytes of x ^ "    ".
        let t = x ^ (u64::from(b' ') * ONES);
        let ws = !((((t & LOW7) + LOW7) | t) & HIGH) & HIGH;
        let folded = x | (0x20 * ONES);
        let alpha = at_least(folded, b'a') & !at_least(folded, b'z' + 1) & HIGH;
        let prev = (ws << 8) | (u64::from(self.prev_ws) << 7);
        let start = !ws & prev & HIGH;
        // Bits sit at the top of each byte: move them to the bottom and
        // add the bytes up with one multiplication (`count_ones` is no
        // single instruction on baseline x86-64).
        let count = |m: u64| ((m >> 7).wrapping_mul(ONES) >> 56) as u32;
        self.words += count(start);
        self.alpha_words += count(start & alpha);
        // The word carried in ends here; later words in the block have no digit.
        if self.prev_ws == 0 && ws != 0 {
            self.numbers += self.has_digit;
        }
        if start | ws != 0 {
            self.has_digit = 0;
        }
        self.prev_ws = (ws >> 63) as u32;
        true
    }
}

/// A line shaped like a list item rather than a link to another page: it starts
/// with a quantity ("175 g butter", "½ tsp salt", "2 x AA batteries") or goes on
/// after a comma in lower case ("3 large eggs, beaten", "Pears, peeled and diced").
/// Menu and link labels are names: they rarely start with a number and almost
/// never carry a lower-case clause after a comma.
pub(super) fn is_item(line: &str) -> bool {
    let starts_with_quantity = line
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit() || is_vulgar_fraction(c))
        && line.split_whitespace().count() >= 2;
    // Built once, as `memmem::find` would build it on every call.
    static COMMA_SPACE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(", "));
    let comma_clause = COMMA_SPACE.find(line.as_bytes()).is_some_and(|at| {
        line[at + 2..]
            .chars()
            .next()
            .is_some_and(char::is_lowercase)
    });
    starts_with_quantity || comma_clause
}

fn is_vulgar_fraction(c: char) -> bool {
    matches!(c, '¼' | '½' | '¾' | '\u{2150}'..='\u{215e}')
}

pub(super) fn is_closing_quote(c: char) -> bool {
    matches!(c, '”' | '’' | '"' | '\'' | '»')
}

/// How a line ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    /// `.`, `!`, `?`, `…`, `;`, or a closing quote (a quoted paragraph).
    Sentence,
    /// `:` (a heading or the introduction of a list).
    Colon,
    /// Anything else: a word, a number, a bracket.
    Open,
}

/// Classifies the end of a line, looking through trailing emoji, closing brackets
/// and quotes. A line ending in a closing quote counts as a sentence: a quoted
/// paragraph ("…,” he said.” / “We will.”) is content, not a menu item.
pub(super) fn line_end(line: &str) -> End {
    let mut saw_quote = false;
    for c in line.chars().rev() {
        match c {
            '.' | '!' | '?' | '…' | ';' => return End::Sentence,
            ':' => return if saw_quote { End::Sentence } else { End::Colon },
            c if is_closing_quote(c) => saw_quote = true,
            ')' | ']' => {
                if saw_quote {
                    return End::Sentence;
                }
                return End::Open;
            }
            c if c.is_whitespace() => {}
            c if c.is_alphanumeric() => {
                return if saw_quote { End::Sentence } else { End::Open };
            }
            // Emoji, arrows and other symbols after the last word.
            c if !c.is_ascii() && !is_closing_quote(c) && c != '–' && c != '—' => {}
            _ => return if saw_quote { End::Sentence } else { End::Open },
        }
    }
    End::Open
}

/// The timestamp of a comment signature ("Posted by: Ann at May 3, 2012
/// 7:12 AM", "Ann 07.08.12 at 13:24", "(12/19/2007 16:36)"): a line holding
/// a time of day (`7:12`) and a date (a year, a numeric `d/d/d` or `d.d.d`
/// date, or a month name). Returns the line's *stamp skeleton*, a hash of
/// the digits and separators from its first digit to its last (`0,00:0`
/// for "May 3, 2012 7:12"), nonzero; 0 when the line is no timestamp.
/// The signatures of one comment thread share a skeleton, whatever the
/// names in them, so a thread is found by its repeats, not by its words.
pub(super) fn stamp_skeleton(line: &str) -> u32 {
    let b = line.as_bytes();
    let (Some(first), Some(last)) = (
        (0..b.len())
            .find(|&i| b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric())),
        b.iter().rposition(u8::is_ascii_digit),
    ) else {
        return 0;
    };
    let mut time = false;
    let mut numeric_date = false;
    let mut year = false;
    let mut h: u32 = 0x811c_9dc5;
    let mut mix = |c: u8| {
        h = (h ^ u32::from(c)).wrapping_mul(0x0100_0193);
    };
    let mut i = first;
    // Separators seen since the previous digit run, and that run's length.
    let mut seps: u8 = 0;
    let mut prev_sep = 0u8;
    let mut run_before = 0usize;
    while i <= last {
        if b[i].is_ascii_digit() {
            let start = i;
            while i <= last && b[i].is_ascii_digit() {
                i += 1;
            }
            if start > 0 && b[start - 1].is_ascii_alphabetic() {
                // Digits inside a word ("tom3465", a user name) are no
                // part of the timestamp.
                seps = 2;
                continue;
            }
            let len = i - start;
            if len == 4 && matches!(&b[start..start + 2], b"19" | b"20") {
                year = true;
            }
            if seps == 1 && run_before > 0 {
                match prev_sep {
                    b':' if len == 2 && run_before <= 2 => time = true,
                    b'/' | b'.' | b'-' if run_before <= 4 && len <= 4 => numeric_date = true,
                    _ => {}
                }
            }
            mix(b'0');
            run_before = len;
            seps = 0;
        } else {
            let c = b[i];
            if matches!(c, b':' | b'/' | b'.' | b'-' | b',') {
                mix(c);
                prev_sep = c;
                seps += 1;
            } else {
                // Letters (a month, "at") or a space between the numbers:
                // "3: 12" is no time of day.
                seps = 2;
            }
            i += 1;
        }
    }
    if !time || !(year || numeric_date || has_month(line)) {
        return 0;
    }
    h | 1
}

/// Whether the line names a month (English, full or three-letter).
fn has_month(line: &str) -> bool {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    line.split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 3)
        .any(|w| {
            let lw = w.to_ascii_lowercase();
            MONTHS.iter().any(|m| lw.starts_with(m)) && lw.len() <= 9
        })
}

/// Whether the line opens like a copyright notice: "©", "(c) 2012",
/// "Copyright" followed by a sign or a year.
pub(super) fn is_copyright(line: &str) -> bool {
    let t = line.trim_start_matches(|c: char| !c.is_alphanumeric() && c != '©' && c != '(');
    if t.starts_with('©') {
        return true;
    }
    let lower = t.get(..t.len().min(16)).unwrap_or(t).to_ascii_lowercase();
    let rest = if let Some(r) = lower.strip_prefix("copyright") {
        r
    } else if let Some(r) = lower.strip_prefix("(c)") {
        r
    } else {
        return false;
    };
    let rest = rest.trim_start();
    rest.starts_with('©')
        || rest.starts_with("(c)")
        || rest.starts_with(|c: char| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_counts_words_numbers_and_alpha_words_in_one_pass() {
        fn reference(line: &str) -> Shape {
            Shape {
                words: line.split_whitespace().count(),
                numbers: line
                    .split_whitespace()
                    .filter(|w| w.bytes().any(|b| b.is_ascii_digit()))
                    .count() as u32,
                alpha_words: line
                    .split_whitespace()
                    .filter(|w| w.chars().next().is_some_and(char::is_alphabetic))
                    .count() as u32,
            }
        }
        let cases = [
            ("", (0, 0, 0)),
            ("175 g unsalted butter", (4, 1, 3)),
            ("  Café\u{a0}au  lait 2x ", (4, 1, 3)),
            ("Q3 2024 | £1,000.50", (4, 3, 1)),
            ("“Quoted” words", (2, 0, 1)),
        ];
        for (line, (w, n, a)) in cases {
            let got = shape(line);
            assert_eq!(
                (got.words, got.numbers, got.alpha_words),
                (w, n, a),
                "{line:?}"
            );
            assert_eq!(got.words, line.split_whitespace().count(), "{line:?}");
        }
        // Against the definition, on every string of up to five characters
        // from an alphabet of the classes that matter, and on longer
        // pseudo-random ones that cross eight-byte blocks in every way.
        let alphabet = [
            'a', '1', ' ', '\t', 'é', '\u{a0}', '“', '.', '\u{2003}', '٣',
        ];
        for line in &crate::testutil::all_strings(&alphabet, 5) {
            assert_eq!(shape(line), reference(line), "{line:?}");
        }
        let wide = [
            'a', 'Z', '1', ' ', ' ', ' ', '\t', 'é', '“', '.', '@', '[', '`', '{', '/', ':',
            '\u{7f}',
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let mut line = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 40) as usize;
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                // Mostly letters and spaces, as in prose, so blocks occur.
                let c = if seed % 4 == 0 {
                    wide[(seed >> 8) as usize % wide.len()]
                } else if seed % 5 == 0 {
                    ' '
                } else {
                    'q'
                };
                line.push(c);
            }
            assert_eq!(shape(&line), reference(&line), "{line:?}");
        }
    }

    #[test]
    fn item_shape_table() {
        let cases = [
            ("175 g unsalted butter", true),
            ("½ tsp fine salt", true),
            ("2 ripe pears, peeled and diced", true),
            ("Pears, peeled and diced", true),
            ("4 x AA batteries", true),
            ("News", false),
            ("Find a library", false),
            ("Arts & Culture", false),
            ("2024", false),
            ("London, Paris", false),
            ("Bins and recycling", false),
        ];
        for (line, want) in cases {
            assert_eq!(is_item(line), want, "{line:?}");
        }
    }

    #[test]
    fn line_end_table() {
        let cases = [
            ("He said it was over.", End::Sentence),
            ("“We will,” she said. “It is done.”", End::Sentence),
            ("the most difficult job in Britain”", End::Sentence),
            ("‘It was a shock to the system,’", End::Sentence),
            ("Book your tickets today! 🙂", End::Sentence),
            ("Organisations took part, including:", End::Colon),
            ("Titan in false colour (NASA/JPL)", End::Open),
            ("Latest News", End::Open),
            ("", End::Open),
        ];
        for (line, want) in cases {
            assert_eq!(line_end(line), want, "{line:?}");
        }
    }

    #[test]
    fn copyright_notices() {
        for line in [
            "© 2016 Harbour Gazette",
            "Copyright 2009 Coast Media",
            "Copyright © Tide Press",
            "(c) 2021 Pier Group",
            "| © Harbour Gazette",
        ] {
            assert!(is_copyright(line), "{line:?}");
        }
        for line in [
            "Copyright law changed in 1998.",
            "Copyrights",
            "Cabinet (c)",
        ] {
            assert!(!is_copyright(line), "{line:?}");
        }
    }

    #[test]
    fn stamps_share_a_skeleton_across_names() {
        let a = stamp_skeleton("Posted by: Marta Ilves at March 2, 2011 9:05 PM");
        let b = stamp_skeleton("Posted by: jk at March 12, 2011 11:47 AM");
        assert_ne!(a, 0);
        assert_eq!(a, b);
        assert_eq!(
            a,
            stamp_skeleton("Posted by: ann1984, Leeds at March 2, 2011 9:05 PM")
        );
        let c = stamp_skeleton("Tomasz K. 11.04.13 at 08:19");
        assert_ne!(c, 0);
        assert_ne!(c, a);
        assert_ne!(stamp_skeleton("Rui - Portugal (03/21/2009 17:02)"), 0);
        assert_ne!(stamp_skeleton("June 3 at 4:51 pm"), 0);
    }

    #[test]
    fn plain_dates_and_times_are_no_stamps() {
        for line in [
            "March 2, 2011",
            "Doors open at 7:30",
            "Kick-off 19:45, Anfield",
            "Chapter 3: 12 ways to save",
            "Genesis 1:3",
            "",
        ] {
            assert_eq!(stamp_skeleton(line), 0, "{line:?}");
        }
    }
}
