//! The tags of the main preamble as python-specfile's `Tags.parse` sees them: the tag regexes
//! (names, `Patch`/`Source` numbers, `(qualifier)`s, separators), tags wrapped in a
//! `%{?cond:...}` line, multi-line values (open `%{`/`%(`), and the preamble lines the
//! library re-renders differently.
//!
//! It must not number patches (`numbering`) or plan edits (`analysis`), and does no I/O.

use std::borrow::Cow;

use super::text::{Brackets, py_isspace, split_trailing_ws, trim_start_py};
use super::value::split_conditional;

/// Valid tag names (`constants.TAG_NAMES`).
const TAG_NAMES: &[&str] = &[
    "autoprov",
    "autoreq",
    "autoreqprov",
    "bugurl",
    "buildarch",
    "buildarchitectures",
    "buildconflicts",
    "buildoption",
    "buildprereq",
    "buildrequires",
    "buildroot",
    "buildsystem",
    "conflicts",
    "distribution",
    "disttag",
    "disturl",
    "docdir",
    "enhances",
    "epoch",
    "excludearch",
    "excludeos",
    "exclusivearch",
    "exclusiveos",
    "group",
    "icon",
    "license",
    "modularitylabel",
    "name",
    "nopatch",
    "nosource",
    "obsoletes",
    "orderwithrequires",
    "packager",
    "patch",
    "prefix",
    "prefixes",
    "prereq",
    "provides",
    "recommends",
    "release",
    "removepathpostfixes",
    "requires",
    "source",
    "sourcelicense",
    "suggests",
    "summary",
    "supplements",
    "translationurl",
    "upstreamreleases",
    "url",
    "vcs",
    "vendor",
    "version",
];

/// Tags that may carry a `(qualifier)` (`constants.TAGS_WITH_ARG`).
const TAGS_WITH_ARG: &[&str] = &[
    "group",
    "orderwithrequires",
    "prereq",
    "requires",
    "summary",
];

/// One tag of the main preamble, as `Tags.parse` sees it.
#[derive(Debug)]
pub(super) struct TagLine<'a> {
    /// First line of the tag.
    pub(super) start: usize,
    /// One past its last line (more than one line when the value has open `%{`/`%(`).
    pub(super) end: usize,
    /// `%{?cond:` when the whole line is a conditional macro expansion, else empty.
    prefix: &'a str,
    /// Name, separator and value (continuation lines joined with `\n`).
    body: Cow<'a, str>,
    name_end: usize,
    sep_end: usize,
    /// `}` of a conditional line and/or the trailing whitespace.
    suffix: &'a str,
}

impl TagLine<'_> {
    pub(super) fn name(&self) -> &str {
        &self.body[..self.name_end]
    }

    pub(super) fn separator(&self) -> &str {
        &self.body[self.name_end..self.sep_end]
    }

    pub(super) fn value(&self) -> &str {
        &self.body[self.sep_end..]
    }

    /// `Tags.get_raw_section_data` for this tag, with another name and separator.
    pub(super) fn render_with(&self, name: &str, separator: &str) -> String {
        format!(
            "{}{name}{separator}{}{}",
            self.prefix,
            self.value(),
            self.suffix
        )
    }
}

/// `Tags.parse` over the preamble lines `0..end`: the tags, plus the lines the library
/// re-renders differently (conditional-macro lines and some multi-line values).
pub(super) fn parse_preamble(
    lines: &[String],
    end: usize,
) -> (Vec<TagLine<'_>>, Vec<(usize, String)>) {
    let mut tags = Vec::new();
    let mut rewrites = Vec::new();
    let mut i = 0;
    while i < end {
        let raw = lines[i].as_str();
        let (stripped, ws) = split_trailing_ws(raw);
        let conditional = split_conditional(stripped);
        let (prefix, body, suffix) = match conditional {
            Some((prefix_len, body)) => {
                let (prefix, suffix) = (&stripped[..prefix_len], &raw[stripped.len() - 1..]);
                let rendered = format!("{prefix}{body}{suffix}");
                if rendered != raw {
                    rewrites.push((i, rendered));
                }
                (prefix, Cow::Owned(body), suffix)
            }
            None => ("", Cow::Borrowed(stripped), ws),
        };
        let Some((name_end, sep_end)) = match_tag(&body) else {
            i += 1;
            continue;
        };
        let is_plain = prefix.is_empty();
        let mut tag = TagLine {
            start: i,
            end: i + 1,
            prefix,
            body,
            name_end,
            sep_end,
            suffix,
        };
        if is_plain {
            extend_value(&mut tag, lines, end, &mut rewrites);
        }
        i = tag.end;
        tags.push(tag);
    }
    (tags, rewrites)
}

/// Multi-line tag values: while `%{`/`%(` are open, the next line joins the value. Like the
/// library, the trailing whitespace of a continuation line without any is the previous
/// line's (so re-rendering may add whitespace; those lines are recorded as rewrites).
fn extend_value<'a>(
    tag: &mut TagLine<'a>,
    lines: &'a [String],
    end: usize,
    rewrites: &mut Vec<(usize, String)>,
) {
    let mut brackets = Brackets::default();
    brackets.feed(tag.value());
    let mut ws = tag.suffix;
    while brackets.open() && tag.end < end {
        let (next, next_ws) = split_trailing_ws(&lines[tag.end]);
        let body = tag.body.to_mut();
        body.push_str(ws);
        body.push('\n');
        body.push_str(next);
        brackets.feed(next);
        if !next_ws.is_empty() {
            ws = next_ws;
        }
        tag.end += 1;
    }
    tag.suffix = ws;
    if tag.end - tag.start > 1 {
        let rendered = tag.render_with(tag.name(), tag.separator());
        for (index, line) in (tag.start..).zip(rendered.split('\n')) {
            if lines[index] != line {
                rewrites.push((index, line.to_owned()));
            }
        }
    }
}

/// The tag regexes of `Tags.parse`: `^(name)(\s*:\s*)(.+)` case-insensitively, where `source`
/// and `patch` take `\d*` and the tags of `TAGS_WITH_ARG` an optional `(qualifier)`.
/// Returns the byte offsets where the name and the separator end.
pub(super) fn match_tag(line: &str) -> Option<(usize, usize)> {
    let letters = line.bytes().take_while(u8::is_ascii_alphabetic).count();
    let word = &line[..letters];
    let tag = TAG_NAMES.iter().find(|t| t.eq_ignore_ascii_case(word))?;
    let mut name_end = letters;
    if *tag == "source" || *tag == "patch" {
        name_end += line[letters..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
    } else if TAGS_WITH_ARG.contains(tag) {
        name_end += qualifier_len(&line[letters..]);
    }
    let after = trim_start_py(&line[name_end..]).strip_prefix(':')?;
    let value = trim_start_py(after);
    let mut sep_end = line.len() - value.len();
    if value.is_empty() {
        // `.+` needs a character: the greedy `\s*` gives one back, if it has any.
        let last = after.chars().next_back()?;
        sep_end -= last.len_utf8();
    }
    Some((name_end, sep_end))
}

/// `(?:\s*\(\s*[^\s)]*\s*\))?` at the start of `s`: its length, 0 if it does not match.
fn qualifier_len(s: &str) -> usize {
    let Some(inner) = trim_start_py(s).strip_prefix('(') else {
        return 0;
    };
    let inner = trim_start_py(inner);
    let word = inner.trim_start_matches(|c: char| !py_isspace(c) && c != ')');
    match trim_start_py(word).strip_prefix(')') {
        Some(rest) => s.len() - rest.len(),
        None => 0,
    }
}
