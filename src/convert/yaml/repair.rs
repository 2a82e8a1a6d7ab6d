//! Repairs: documents yaml-rust2 rejects (or tokenises differently) but PyYAML reads the same
//! way after a harmless edit — a space where PyYAML ends an anchor name or a flow indicator
//! glued to a plain scalar, a space before a glued `#`, a final line break, quotes around a
//! `-` glued to a flow indicator, re-indented quoted scalar continuation lines and block
//! scalar headers. Each repair returns the edited text and its [`LineEdit`]s so positions can
//! be mapped back (`shifts`).
//!
//! It must not change what PyYAML would read (only edits that keep the value are allowed),
//! check PyYAML's rules (`lexical`) or do I/O.

use yaml_rust2::scanner::{ScanError, TScalarStyle, TokenType};

use super::scan::{Scan, quoted_end};
use super::shifts::{Edited, LineEdit};

impl Scan {
    /// Where PyYAML ends a token that yaml-rust2 continues: an anchor or alias name at one of
    /// `?:%@` or a backquote, or a `?`/`:` indicator glued to a plain scalar in a flow
    /// collection. Returns the char index to insert a space at so that yaml-rust2 reads the
    /// same tokens as PyYAML.
    pub(super) fn split_point(&self) -> Option<(usize, Retry)> {
        self.tokens.iter().enumerate().find_map(|(j, token)| {
            let at = token.0.index();
            match &token.1 {
                TokenType::Anchor(name) | TokenType::Alias(name) => name
                    .chars()
                    .position(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                    .filter(|&k| name.chars().nth(k).is_some_and(|c| "?:%@`".contains(c)))
                    .map(|k| (at + 1 + k, Retry::Edit(at + 1 + k, 0, " "))),
                // A lone `?` before a flow indicator: PyYAML's empty key with an empty value.
                TokenType::Scalar(TScalarStyle::Plain, value)
                    if value == "?"
                        && self.in_flow(j)
                        && self.chars.get(at) == Some(&'?')
                        && self.chars.get(at + 1).is_some_and(|c| ",]}".contains(*c)) =>
                {
                    Some((at, Retry::Edit(at, 1, "? ~ : ~")))
                }
                TokenType::Scalar(TScalarStyle::Plain, value)
                    if value.starts_with(['?', ':'])
                        && self.chars.get(at).is_some_and(|c| "?:".contains(*c))
                        && self.in_flow(j) =>
                {
                    Some((at + 1, Retry::Edit(at + 1, 0, " ")))
                }
                _ => None,
            }
        })
    }

    /// True if token `j` is inside a flow collection.
    fn in_flow(&self, j: usize) -> bool {
        let mut open: Vec<bool> = Vec::new();
        for token in &self.tokens[..j] {
            match token.1 {
                TokenType::BlockMappingStart | TokenType::BlockSequenceStart => open.push(false),
                TokenType::FlowSequenceStart | TokenType::FlowMappingStart => open.push(true),
                TokenType::BlockEnd | TokenType::FlowSequenceEnd | TokenType::FlowMappingEnd => {
                    open.pop();
                }
                _ => {}
            }
        }
        open.last().copied().unwrap_or(false)
    }
}

/// How many under-indented quoted scalars and block scalar headers [`load`](super::load)
/// re-indents before giving up.
pub(super) const MAX_REINDENTS: usize = 64;

/// What [`load`](super::load) may retry after yaml-rust2 rejected a document that PyYAML may
/// accept.
pub(super) enum Retry {
    /// Nothing to retry.
    No,
    /// yaml-rust2 rejected the indentation of the quoted scalar opening at this char index.
    Quoted(usize),
    /// yaml-rust2 rejected something PyYAML reads the same way once this text is inserted at
    /// this char index (a space before a `#` glued to a token, a final line break after an
    /// indicator at the end, quotes around a `-` glued to a flow indicator).
    Edit(usize, usize, &'static str),
    /// yaml-rust2's parser failed (perhaps on a block scalar header at the parent's
    /// indentation).
    Parser,
}

/// Like [`Scan::split_point`] for anchor and alias names yaml-rust2 could not tokenise (its scanner failed
/// first): `&name:`/`*name?`… where the `&`/`*` starts a line's content or follows `- `,
/// `: `, `? ` or a flow indicator.
pub(super) fn source_name_split(chars: &[char]) -> Option<usize> {
    (0..chars.len()).find_map(|i| {
        if !matches!(chars[i], '&' | '*') {
            return None;
        }
        let before = chars[..i]
            .iter()
            .rposition(|c| *c != ' ')
            .map(|k| (k, chars[k]));
        let at_token_start = match before {
            None | Some((_, '\n' | '[' | '{' | ',')) => true,
            Some((k, '-' | ':' | '?')) => {
                k + 1 < i && (k == 0 || matches!(chars[k - 1], ' ' | '\n'))
            }
            _ => false,
        };
        if !at_token_start {
            return None;
        }
        let name_len = chars[i + 1..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
            .count();
        let end = i + 1 + name_len;
        (name_len > 0 && chars.get(end).is_some_and(|c| "?:%@`".contains(*c))).then_some(end)
    })
}

/// The retry for a yaml-rust2 error on `chars`.
pub(super) fn retry_for(chars: &[char], err: &ScanError) -> Retry {
    let at = err.marker().index();
    match err.info() {
        // PyYAML starts a comment at `#` wherever a token may start: after a quoted scalar,
        // a flow indicator (not after a block scalar header).
        "comments must be separated from other tokens by whitespace"
            if at > 0
                && matches!(
                    chars.get(at - 1),
                    Some('\'' | '"' | ']' | '}' | ',' | '[' | '{')
                ) =>
        {
            Retry::Edit(at, 0, " ")
        }
        "expected whitespace" if at >= chars.len() => Retry::Edit(chars.len(), 0, "\n"),
        "plain scalar cannot start with '-' followed by ,[]{}" if chars.get(at) == Some(&'-') => {
            Retry::Edit(at, 1, "'-'")
        }
        _ => quoted_indentation_error(chars, err).map_or(Retry::Parser, Retry::Quoted),
    }
}

/// Replaces `remove` chars at char index `at` by `insert`; returns the text and the column
/// shift of the edited line.
pub(super) fn replace_at(text: &str, at: usize, remove: usize, insert: &str) -> Edited {
    let chars: Vec<char> = text.chars().collect();
    let at = at.min(chars.len());
    let line = 1 + chars[..at].iter().filter(|&&c| c == '\n').count();
    let mut out: String = chars[..at].iter().collect();
    out.push_str(insert);
    out.extend(&chars[(at + remove).min(chars.len())..]);
    let col = at
        - chars[..at]
            .iter()
            .rposition(|&c| c == '\n')
            .map_or(0, |k| k + 1);
    let edit = LineEdit {
        line,
        col: col + 1,
        removed: remove,
        inserted: insert.chars().filter(|&c| c != '\n').count(),
    };
    (out, vec![edit])
}

/// If yaml-rust2 failed on the indentation of a quoted scalar's continuation line, the index
/// of the scalar's opening quote.
fn quoted_indentation_error(chars: &[char], err: &ScanError) -> Option<usize> {
    let at = err.marker().index();
    match err.info() {
        "invalid indentation in quoted scalar" => {
            matches!(chars.get(at), Some('\'' | '"')).then_some(at)
        }
        "tab cannot be used as indentation" => (0..at.min(chars.len())).rev().find(|&p| {
            matches!(chars[p], '\'' | '"')
                && (p == 0 || matches!(chars[p - 1], ' ' | '\t' | '\n' | '[' | '{' | ','))
                && quoted_end(chars, p) > at
        }),
        _ => None,
    }
}

/// PyYAML accepts a block scalar header (`|`, `>`) on its own line at the indentation of the
/// key or entry it belongs to (`b:\n|\n  text`); yaml-rust2 wants it indented. Indents the
/// first such header by one space (the value does not change: only content lines' indentation
/// matters). Returns the new text and the moved line (1-based) with its column shift; `None` if
/// there is no such line.
pub(super) fn reindent_block_header(text: &str) -> Option<Edited> {
    fn indentation(line: &str) -> usize {
        line.len() - line.trim_start_matches(' ').len()
    }
    fn significant(line: &str) -> Option<&str> {
        let code = match line.find(" #") {
            Some(k) => &line[..k],
            None => line,
        };
        let code = code.trim_end();
        (!code.trim_start().is_empty() && !code.trim_start().starts_with('#')).then_some(code)
    }
    let lines: Vec<&str> = text.split('\n').collect();
    for (i, line) in lines.iter().enumerate().skip(1) {
        let indent = indentation(line);
        let rest = &line[indent..];
        let header_ok = rest.starts_with(['|', '>'])
            && rest[1..]
                .trim_start_matches(|c: char| c == '+' || c == '-' || c.is_ascii_digit())
                .chars()
                .next()
                .is_none_or(|c| c == ' ' || c == '#');
        if !header_ok {
            continue;
        }
        let Some(prev) = lines[..i].iter().rev().find_map(|l| significant(l)) else {
            continue;
        };
        if indentation(prev) != indent {
            continue;
        }
        // Drop trailing properties (`&anchor`, `!tag`) of the previous line.
        let mut words: Vec<&str> = prev.split(' ').filter(|w| !w.is_empty()).collect();
        while words.last().is_some_and(|w| w.starts_with(['&', '!'])) {
            words.pop();
        }
        let opens_node = words
            .last()
            .is_some_and(|w| w.ends_with(':') || *w == "-" || *w == "?");
        if opens_node {
            let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
            out[i].insert(0, ' ');
            let edit = LineEdit {
                line: i + 1,
                col: 1,
                removed: 0,
                inserted: 1,
            };
            return Some((out.join("\n"), vec![edit]));
        }
    }
    None
}

/// Re-indents the continuation lines of the quoted scalar opening at `quote` so yaml-rust2
/// accepts them. PyYAML drops leading whitespace of continuation lines, so the value is
/// unchanged; `None` if a line is a document marker (an error for PyYAML too).
pub(super) fn reindent_quoted(text: &str, quote: usize) -> Option<Edited> {
    let chars: Vec<char> = text.chars().collect();
    let end = quoted_end(&chars, quote);
    let col = quote
        - chars[..quote]
            .iter()
            .rposition(|&c| c == '\n')
            .map_or(0, |k| k + 1);
    let indent = " ".repeat(col + 1);
    let mut moved = Vec::new();
    let mut line = 1 + chars[..quote].iter().filter(|&&c| c == '\n').count();
    let mut out = String::with_capacity(text.len() + 64);
    out.extend(&chars[..quote]);
    let mut i = quote;
    while i < chars.len() {
        out.push(chars[i]);
        if chars[i] == '\n' && i < end {
            line += 1;
            let rest = &chars[i + 1..];
            let is_marker = (rest.starts_with(&['-', '-', '-'])
                || rest.starts_with(&['.', '.', '.']))
                && rest.get(3).is_none_or(|c| matches!(c, ' ' | '\t' | '\n'));
            if is_marker {
                return None;
            }
            let mut k = i + 1;
            while k < chars.len() && matches!(chars[k], ' ' | '\t') {
                k += 1;
            }
            let removed = k - i - 1;
            let inserted = if k < chars.len() && chars[k] != '\n' {
                out.push_str(&indent);
                indent.len()
            } else {
                0
            };
            moved.push(LineEdit {
                line,
                col: 1,
                removed,
                inserted,
            });
            i = k;
            continue;
        }
        i += 1;
    }
    Some((out, moved))
}
