//! Hard-wrap detection: which line breaks of a document are soft.
//!
//! Plain-text books, mail and newsgroup archives, RFCs and man pages wrap
//! their paragraphs at a fixed width, so an input line is a piece of a
//! paragraph, not a paragraph. Web text puts one paragraph on a line. The
//! document model treats every line as a paragraph unless told otherwise;
//! this module tells it, from the raw lines (before trimming, so that
//! indentation and blank lines still show the structure).
//!
//! The signal is the one a wrapping editor leaves: a line was broken
//! because the next word would not have fitted. For a width `W`, the
//! break after line `a` is *greedy* when `len(a) + 1 + len(first word of
//! the next line) > W` (less a tolerance, since wrappers aim below their
//! limit). A document is wrapped when, for some width, most of its
//! breaks inside blocks are greedy and most of those cut mid-sentence.
//! Verse, lists, addresses, tables and headings fail that test (their
//! lines end well before the next word would stop fitting), and so do
//! one-paragraph-per-line pages (their lines have no common width).
//!
//! A break is never soft before a list item, a quoted (`>`) or table
//! (`|`) line, a menu (`Home | News | Sport`), a line indented deeper than the one before (a new
//! paragraph or a block), or around lines with tabs or runs of spaces
//! (tables, code), whatever the mode.

use serde::{Deserialize, Serialize};

use crate::document::Join;

/// When to join wrapped lines into paragraphs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reflow {
    /// Join the lines of documents detected as hard-wrapped (default).
    #[default]
    Auto,
    /// Every line is a paragraph (the layout of scraped web text).
    Off,
    /// Every run of non-blank lines is a paragraph, except before list
    /// items, quoted and table lines and deeper indentation.
    On,
}

/// Narrowest wrap width considered: below it, lines are menus, verse or
/// columns of words, not a paragraph wrapped at a width.
const MIN_WIDTH: usize = 30;
/// Widest wrap width considered (wider "wrapping" is one paragraph a line).
const MAX_WIDTH: usize = 200;
/// Fewest greedy breaks that make a document wrapped: two lines of a
/// headline and a byline can look greedy by chance, three seldom do.
const MIN_GREEDY: usize = 3;
/// Narrowest wrap width for a short document (see [`wrap_width`]).
const SHORT_MIN_WIDTH: usize = 40;
/// Distinct line lengths tried as the wrap width (the longest ones).
const WIDTHS_TRIED: usize = 8;

/// What the detector needs to know about one raw line.
#[derive(Debug, Clone, Copy)]
struct Shape {
    /// Width in characters, without trailing whitespace, indentation included.
    width: usize,
    /// Leading whitespace in characters.
    indent: usize,
    /// Characters of the first word (up to the first space).
    first_word: usize,
    /// Blank (only whitespace).
    blank: bool,
    /// Can't take part in a join: tabs or runs of spaces inside (tables,
    /// code), quoted or table lines, menus (`Home | News | Sport`), no
    /// letter at all (rules, numbers).
    rigid: bool,
    /// Starts like a list item.
    item: bool,
    /// Ends with a word (a letter, digit or hyphen), not punctuation:
    /// wrapped prose mostly does, verse and lists of phrases mostly don't.
    ends_open: bool,
    /// Ends with a hyphen or dash glued to a word: the join adds no space.
    hyphen: bool,
    /// Starts with a lower-case letter: it continues a sentence.
    lower: bool,
}

fn shape(line: &str) -> Shape {
    let body = line.trim_end();
    let text = body.trim_start();
    let indent = body.chars().count() - text.chars().count();
    let width = body.chars().count();
    let first_word = text.split(' ').next().map_or(0, |w| w.chars().count());
    let rigid = text.contains('\t')
        || text.contains("   ")
        || text.starts_with('>')
        || text.starts_with('|')
        || (memchr::memchr(b'|', text.as_bytes()).is_some()
            && text.matches(" | ").nth(1).is_some())
        || !text.chars().any(char::is_alphabetic);
    let ends_open = text
        .chars()
        .next_back()
        .is_some_and(|c| c.is_alphanumeric() || c == '-');
    // "well-" or "word--" (a dash as typewritten text has it), not " --".
    let hyphen = text.ends_with('-')
        && text
            .trim_end_matches('-')
            .chars()
            .next_back()
            .is_some_and(char::is_alphabetic);
    Shape {
        width,
        indent,
        first_word,
        blank: text.is_empty(),
        rigid,
        item: is_item(text),
        ends_open,
        hyphen,
        lower: text.chars().next().is_some_and(char::is_lowercase),
    }
}

/// True when a line starts like a list item: a bullet, or a number or a
/// letter closed by `.` or `)` (or in parentheses), then a space.
fn is_item(text: &str) -> bool {
    let b = text.as_bytes();
    let spaced = |i: usize| b.get(i) == Some(&b' ');
    if let Some(c) = text.chars().next() {
        if matches!(
            c,
            '-' | '*' | '+' | '\u{2022}' | '\u{b7}' | '\u{2013}' | '\u{2014}' | '#'
        ) && spaced(c.len_utf8())
        {
            return true;
        }
    }
    let open = usize::from(b.first() == Some(&b'('));
    let digits = b[open..].iter().take_while(|c| c.is_ascii_digit()).count();
    let label = if (1..=3).contains(&digits) {
        digits
    } else if b.get(open).is_some_and(u8::is_ascii_alphabetic)
        && !b.get(open + 1).is_some_and(u8::is_ascii_alphabetic)
    {
        1
    } else {
        return false;
    };
    let close = open + label;
    match b.get(close) {
        Some(b')') => spaced(close + 1),
        Some(b'.') if open == 0 && digits > 0 => spaced(close + 1),
        _ => false,
    }
}

/// True when the break between `a` and the next line `b` may be soft at
/// all (both non-blank, neither rigid, `b` not an item nor indented
/// deeper than `a`).
fn joinable(a: &Shape, b: &Shape) -> bool {
    !a.blank && !b.blank && !a.rigid && !b.rigid && !b.item && b.indent <= a.indent
}

/// True when the break after `a`, before a line whose first word has
/// `next_word` characters, looks like a wrap at `width`.
fn greedy(a: &Shape, next_word: usize, width: usize) -> bool {
    a.width <= width && a.width + 1 + next_word > width - width / 10
}

/// The join of each line to the one before it (`Join::Break` for the
/// first line and every paragraph start), or `None` when every break is
/// hard.
pub fn joins<'a>(lines: impl Iterator<Item = &'a str> + Clone, mode: Reflow) -> Option<Vec<Join>> {
    if mode == Reflow::Off {
        return None;
    }
    let shapes: Vec<Shape> = lines.map(shape).collect();
    // The breaks that may be soft, by the index of the line before.
    let pairs: Vec<usize> = (1..shapes.len())
        .filter(|&i| joinable(&shapes[i - 1], &shapes[i]))
        .map(|i| i - 1)
        .collect();
    if pairs.is_empty() {
        return None;
    }
    let soft: Vec<usize> = match mode {
        Reflow::Off => return None,
        Reflow::On => pairs,
        Reflow::Auto => {
            let width = wrap_width(&shapes, &pairs)?;
            pairs
                .into_iter()
                .filter(|&i| greedy(&shapes[i], shapes[i + 1].first_word, width))
                .collect()
        }
    };
    let mut out = vec![Join::Break; shapes.len()];
    for i in soft {
        out[i + 1] = if shapes[i].hyphen {
            Join::Glue
        } else {
            Join::Space
        };
    }
    Some(out)
}

/// The width the document is wrapped at, or `None` when it is not
/// wrapped: the candidate width with the most greedy breaks, kept when
/// those are at least [`MIN_GREEDY`], at least 60% of the breaks that
/// may be soft, and at least half of them cut after a word, not after
/// punctuation (verse of even lines ends its lines with punctuation).
/// A short document (a message of two wrapped lines) has too few breaks
/// for that; it is wrapped when nearly all its breaks are greedy and
/// at least half of them cut a sentence in two: after a word, before a
/// lower-case one.
fn wrap_width(shapes: &[Shape], pairs: &[usize]) -> Option<usize> {
    let mut widths: Vec<usize> = pairs
        .iter()
        .map(|&i| shapes[i].width)
        .filter(|w| (MIN_WIDTH..=MAX_WIDTH).contains(w))
        .collect();
    widths.sort_unstable_by(|a, b| b.cmp(a));
    widths.dedup();
    widths.truncate(WIDTHS_TRIED);
    let mut best: Option<(usize, usize, usize, usize)> = None;
    for w in widths {
        let (mut n, mut mid, mut cut) = (0, 0, 0);
        for &i in pairs {
            if greedy(&shapes[i], shapes[i + 1].first_word, w) {
                n += 1;
                mid += usize::from(shapes[i].ends_open);
                cut += usize::from(shapes[i].ends_open && shapes[i + 1].lower);
            }
        }
        if best.is_none_or(|(_, bn, _, _)| n > bn) {
            best = Some((w, n, mid, cut));
        }
    }
    let (w, n, mid, cut) = best?;
    let long = n >= MIN_GREEDY && 10 * n >= 6 * pairs.len() && 2 * mid >= n;
    let short = n >= 1 && 10 * n >= 8 * pairs.len() && 2 * cut >= n && w >= SHORT_MIN_WIDTH;
    (long || short).then_some(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Greedy wrap at `width`, the way editors and `fold -s` do it.
    fn wrap(text: &str, width: usize) -> String {
        let mut out = String::new();
        let mut line = 0;
        for word in text.split(' ') {
            let n = word.chars().count();
            if line > 0 && line + 1 + n > width {
                out.push('\n');
                line = 0;
            } else if line > 0 {
                out.push(' ');
                line += 1;
            }
            out.push_str(word);
            line += n;
        }
        out
    }

    fn soft(text: &str, mode: Reflow) -> Vec<Join> {
        joins(text.lines(), mode).unwrap_or_else(|| vec![Join::Break; text.lines().count()])
    }

    const PROSE: &str = "The ferry left the harbour an hour late, because the pilot had \
        waited for the fog to lift over the outer sandbanks. Nobody on deck complained: the \
        cook had opened the galley early, and the smell of coffee and fried bread drifted \
        along the rails while the gulls followed the wake out past the breakwater, calling \
        to each other in the grey light.";

    #[test]
    fn a_wrapped_paragraph_joins_at_every_width() {
        for width in [40, 60, 72, 79, 100] {
            let wrapped = wrap(PROSE, width);
            let j = soft(&wrapped, Reflow::Auto);
            assert_eq!(j[0], Join::Break, "{width}");
            assert!(j[1..].iter().all(|&j| j == Join::Space), "{width}: {j:?}");
        }
    }

    #[test]
    fn paragraphs_stay_apart_and_indented_starts_break() {
        let text = format!("{}\n\n{}", wrap(PROSE, 72), wrap(PROSE, 72));
        let j = soft(&text, Reflow::Auto);
        let starts = j.iter().filter(|&&j| j == Join::Break).count();
        // Two paragraph starts and the blank line between them.
        assert_eq!(starts, 3);
        let indented = format!("{}\n    {}", wrap(PROSE, 72), wrap(PROSE, 68));
        let j = soft(&indented, Reflow::Auto);
        let n = wrap(PROSE, 72).lines().count();
        assert_eq!(j[n], Join::Break);
        assert_eq!(j[n + 1], Join::Space);
    }

    #[test]
    fn lines_that_are_lines_keep_their_breaks() {
        let cases = [
            // One paragraph a line, as scraped pages have them.
            "The council met on Tuesday to discuss the new budget for the coming year, which includes cuts to several services that residents rely on.\nResidents said they were worried.\nThe mayor said the cuts were necessary and that the town would recover within two years if the plan was followed closely.",
            // Verse.
            "The tide comes in across the sand,\nand slowly takes the castles down;\nthe children watch it, hand in hand,\nthen walk back, singing, into town.",
            // An address.
            "Harbour Office\n12 Quay Street\nPortwell PW1 2AB\nTel. 01234 567890",
            // A list.
            "You will need the following for the walk:\n- stout boots that keep water out for hours\n- a map of the moor and a compass to go with it\n- enough food and water for the whole day out",
            // A numbered list wrapped at a width keeps its items apart.
            "1. Fill the kettle with fresh water and put it on to boil while you wait\n2. Warm the pot with a little of the hot water, then pour it away again\n3. Add one spoon of tea for each cup and one more for the pot itself",
            // A table.
            "Name        Age   Town\nAlice       34    Portwell\nBob         29    Eastby\nCarol       41    Westhaven",
            // Quoted mail.
            "> I think we should meet on Thursday at the usual place, if that suits\n> everyone who said they wanted to come along to talk about the plans for\n> the summer fair and who will run which stall on the day itself.",
        ];
        for text in cases {
            let j = soft(text, Reflow::Auto);
            assert!(j.iter().all(|&j| j == Join::Break), "{text}: {j:?}");
        }
    }

    #[test]
    fn a_menu_is_never_joined_to_its_neighbours() {
        let text = "Parish Newsletter March 2004\nHome | Events | Newsletters | Contact\nThe spring fair raised more money this year than in any of the last\nten, and the committee thanks everyone who baked, sold or simply came\nalong on the day to spend an afternoon on the green with us.";
        for mode in [Reflow::On, Reflow::Auto] {
            let j = soft(text, mode);
            assert_eq!(j[1], Join::Break, "{mode:?}: {j:?}");
            assert_eq!(j[2], Join::Break, "{mode:?}: {j:?}");
        }
        assert_eq!(soft(text, Reflow::On)[3], Join::Space);
    }

    #[test]
    fn headings_break_and_hyphens_glue() {
        let text = format!("CHAPTER ONE\n\n{}", wrap(PROSE, 60));
        let j = soft(&text, Reflow::Auto);
        assert_eq!(j[..3], [Join::Break; 3]);
        let text = "It was a long, slow climb up the hill past the old mill, and the\n\
                    well-known view of the valley opened up only at the very last bend of\n\
                    the road, where the farm track turns off to the left towards the mill-\n\
                    pond and the wood beyond it, dark under the evening sky.";
        let j = soft(text, Reflow::Auto);
        assert_eq!(j, [Join::Break, Join::Space, Join::Space, Join::Glue]);
    }

    #[test]
    fn modes_on_and_off() {
        let text = "Short line one\nshort line two\n- an item\n\nAnother";
        assert!(joins(text.lines(), Reflow::Off).is_none());
        assert!(joins(text.lines(), Reflow::Auto).is_none());
        assert_eq!(
            soft(text, Reflow::On),
            [
                Join::Break,
                Join::Space,
                Join::Break,
                Join::Break,
                Join::Break
            ]
        );
    }

    #[test]
    fn items_are_recognised() {
        for s in [
            "- a",
            "* a",
            "1. a",
            "12) a",
            "(3) a",
            "a) a",
            "(b) a",
            "\u{2022} a",
        ] {
            assert!(is_item(s), "{s}");
        }
        for s in ["-a", "1.5 kg", "A. Smith said", "Ab) x", "1999. It", "word"] {
            assert!(!is_item(s), "{s}");
        }
    }
}
