//! Git trailers: a byte-exact port of git 2.47.3's trailer parsing and insertion.
//!
//! This module owns the rules git uses to find, read and amend the trailer block of a commit
//! message or a `git format-patch` file (`trailer.c`, `builtin/interpret-trailers.c`,
//! `commit.c:ignored_log_message_bytes`, `wt-status.c:wt_status_locate_end`) and the
//! whitespace cleanup that `git commit -F` applies (`strbuf_stripspace` without comment
//! stripping). Every function returns exactly the bytes the corresponding git command would
//! produce when run without any `trailer.*` configuration and with `core.commentChar` = `#`.
//!
//! It must not do I/O, run git, or know anything about packit metadata: callers decide which
//! trailers matter and how their values are interpreted (see the `yaml` module).
//!
//! Implementation notes:
//! - git works on NUL-terminated C strings, so everything after the first NUL byte is invisible
//!   to the trailer scan (but is still copied verbatim by [`set_trailer`]); this port does the
//!   same by scanning only the part of the input before the first NUL.
//! - git's `isspace()` is locale independent and only knows space, `\t`, `\n` and `\r`;
//!   `isalnum()` is ASCII only. Non-ASCII bytes are never whitespace nor token characters.
//! - All offsets are byte offsets. Every place where git splits or trims is at an ASCII byte,
//!   so the offsets are always on UTF-8 character boundaries.

/// The comment prefix (`core.commentChar`, default `#`).
const COMMENT: &[u8] = b"#";
/// The trailer separators (`trailer.separators`, default `:`).
const SEPARATORS: &[u8] = b":";
/// Separators accepted in `--trailer` arguments: `=` plus the configured ones.
const ARG_SEPARATORS: &[u8] = b"=:";
/// Trailers git itself writes; one of them lets a block be only 25% trailers.
const GIT_GENERATED_PREFIXES: [&[u8]; 2] = [b"Signed-off-by: ", b"(cherry picked from commit "];
/// The scissors line of `git commit -v`/`--cleanup=scissors`, preceded by `"\n# "`.
const CUT_LINE_PATTERN: &[u8] = b"\n# ------------------------ >8 ------------------------\n";

/// Where git finds the trailer block of a message (byte offsets into the input).
///
/// This is git's `struct trailer_info` as filled by `trailer_info_get()` with an empty trailer
/// configuration and the comment character `#`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailerBlock {
    /// Offset of the first line of the trailer block; equals `end` when there is no block.
    pub start: usize,
    /// Offset just past the end of the log message: the start of the `---` divider line, the
    /// scissors line, or of trailing comment/blank/`Conflicts:` lines (whichever applies).
    pub end: usize,
    /// True if the line before `start` is blank (whitespace only). Always false when
    /// `start` is 0.
    pub blank_line_before: bool,
    /// The raw lines of the block, each with its line terminator; a line starting with
    /// whitespace that follows a trailer line is appended to that trailer (so one entry may
    /// span several lines). Non-trailer and comment lines inside the block are kept here.
    pub trailers: Vec<String>,
}

/// One element of git's list of parsed trailers (`struct trailer_item`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Item {
    /// `None` for a non-trailer line kept inside the block.
    token: Option<String>,
    /// The trimmed value, or the whole line (without its newline) for non-trailer lines.
    value: String,
}

/// git's `isspace()`: only space, tab, LF and CR.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Byte at `i`, or 0 (the C string terminator) past the end.
fn byte_at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

/// The part of `input` that C string functions see: everything before the first NUL.
fn c_string(input: &str) -> &[u8] {
    let bytes = input.as_bytes();
    match bytes.iter().position(|&b| b == 0) {
        Some(nul) => &bytes[..nul],
        None => bytes,
    }
}

/// Offset of the line after the one starting at `i` (`next_line()`).
fn next_line(s: &[u8], i: usize) -> usize {
    match s[i..].iter().position(|&b| b == b'\n') {
        Some(k) => i + k + 1,
        None => s.len(),
    }
}

/// Start of the last line of `s[..len]`; a final newline belongs to the last line
/// (`last_line()`). `None` when `len` is 0.
fn last_line(s: &[u8], len: usize) -> Option<usize> {
    match len {
        0 => None,
        1 => Some(0),
        _ => Some(
            s[..len - 1]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |k| k + 1),
        ),
    }
}

/// True if the line starting at `i` holds only whitespace (`is_blank_line()`).
fn is_blank_line(s: &[u8], i: usize) -> bool {
    let rest = &s[i.min(s.len())..];
    match rest.iter().position(|&b| b == b'\n' || !is_space(b)) {
        None => true,
        Some(k) => rest[k] == b'\n',
    }
}

/// git's `find_separator()`: if the line at `line` reads `<token><optional whitespace><sep>`
/// or starts with a separator, the offset of the separator relative to the line start.
///
/// Token characters are ASCII alphanumerics and `-`; whitespace (space or tab) may follow the
/// token, but nothing else. `Some(0)` means the line starts with a separator.
fn find_separator(s: &[u8], line: usize, separators: &[u8]) -> Option<usize> {
    let mut whitespace_found = false;
    for (k, &c) in s[line.min(s.len())..].iter().enumerate() {
        if c == 0 {
            break;
        }
        if separators.contains(&c) {
            return Some(k);
        }
        if !whitespace_found && (c.is_ascii_alphanumeric() || c == b'-') {
            continue;
        }
        if k != 0 && (c == b' ' || c == b'\t') {
            whitespace_found = true;
            continue;
        }
        break;
    }
    None
}

/// git's `strbuf_trim()` on a byte slice.
fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_space(b)).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| !is_space(b))
        .map_or(start, |k| k + 1);
    &s[start..end.max(start)]
}

/// Converts a slice cut at ASCII boundaries back to a `String`.
fn to_string(s: &[u8]) -> String {
    String::from_utf8_lossy(s).into_owned()
}

/// `wt_status_locate_end()`: where the scissors line (if any) cuts `s[..len]`.
fn locate_scissors(s: &[u8], len: usize) -> usize {
    if s.starts_with(&CUT_LINE_PATTERN[1..]) {
        return 0;
    }
    match s
        .windows(CUT_LINE_PATTERN.len())
        .position(|w| w == CUT_LINE_PATTERN)
    {
        Some(p) => len.min(p + 1),
        None => len,
    }
}

/// `ignored_log_message_bytes()`: the number of bytes at the end of `s[..len]` that are not
/// part of the log message: a trailing run of comment lines, empty lines and old-style
/// `Conflicts:` blocks, plus everything from the scissors line on.
///
/// Like git, a run that starts at offset 0 is only recognised from its second line on
/// (git uses offset 0 as "no run yet").
fn ignored_log_message_bytes(s: &[u8], len: usize) -> usize {
    let cutoff = locate_scissors(s, len);
    let mut boc = 0;
    let mut bol = 0;
    let mut in_old_conflicts_block = false;
    while bol < cutoff {
        let next = match s[bol..len].iter().position(|&b| b == b'\n') {
            Some(k) => bol + k + 1,
            None => len,
        };
        if s[bol..cutoff].starts_with(COMMENT) || s[bol] == b'\n' {
            if boc == 0 {
                boc = bol;
            }
        } else if s[bol..].starts_with(b"Conflicts:\n") {
            in_old_conflicts_block = true;
            if boc == 0 {
                boc = bol;
            }
        } else if in_old_conflicts_block && s[bol] == b'\t' {
            // a pathname in the conflicts block
        } else if boc != 0 {
            boc = 0;
            in_old_conflicts_block = false;
        }
        bol = next;
    }
    if boc != 0 { len - boc } else { len - cutoff }
}

/// `find_end_of_log_message()`: the end of the message proper, before the `---` patch divider
/// (a line starting with `---` followed by whitespace; only if `divider` is true) and before
/// ignorable trailing bytes.
fn find_end_of_log_message(s: &[u8], divider: bool) -> usize {
    let mut end = s.len();
    if divider {
        let mut i = 0;
        while i < s.len() {
            if s[i..].starts_with(b"---") && is_space(byte_at(s, i + 3)) {
                end = i;
                break;
            }
            i = next_line(s, i);
        }
    }
    end - ignored_log_message_bytes(s, end)
}

/// `find_trailer_block_start()`: the offset of the first line of the trailer block within
/// `s[..len]`, or `len` if there is none.
///
/// The first paragraph is the title and never holds trailers. Scanning backwards from the end,
/// the block is the last paragraph if all its lines are trailers, or if at least 25% of them
/// are and one starts with a git-generated prefix. Lines starting with whitespace count with
/// the trailer they continue, or as non-trailers otherwise; comment lines are skipped.
fn find_trailer_block_start(s: &[u8], len: usize) -> usize {
    // The first paragraph is the title and cannot be trailers.
    let mut pos = 0;
    while pos < len {
        if !s[pos..len].starts_with(COMMENT) && is_blank_line(s, pos) {
            break;
        }
        pos = next_line(s, pos);
    }
    let end_of_title = pos;

    let mut only_spaces = true;
    let mut recognized_prefix = false;
    let mut trailer_lines = 0usize;
    let mut non_trailer_lines = 0usize;
    let mut possible_continuation_lines = 0usize;

    let mut line = last_line(s, len);
    while let Some(bol) = line {
        if bol < end_of_title {
            break;
        }
        line = last_line(s, bol);

        if s[bol..len].starts_with(COMMENT) {
            non_trailer_lines += possible_continuation_lines;
            possible_continuation_lines = 0;
            continue;
        }
        if is_blank_line(s, bol) {
            if only_spaces {
                continue;
            }
            non_trailer_lines += possible_continuation_lines;
            if (recognized_prefix && trailer_lines * 3 >= non_trailer_lines)
                || (trailer_lines > 0 && non_trailer_lines == 0)
            {
                return next_line(s, bol);
            }
            return len;
        }
        only_spaces = false;

        if GIT_GENERATED_PREFIXES
            .iter()
            .any(|prefix| s[bol..].starts_with(prefix))
        {
            trailer_lines += 1;
            possible_continuation_lines = 0;
            recognized_prefix = true;
            continue;
        }

        let first = byte_at(s, bol);
        if matches!(find_separator(s, bol, SEPARATORS), Some(p) if p >= 1) && !is_space(first) {
            trailer_lines += 1;
            possible_continuation_lines = 0;
        } else if is_space(first) {
            possible_continuation_lines += 1;
        } else {
            non_trailer_lines += 1 + possible_continuation_lines;
            possible_continuation_lines = 0;
        }
    }
    len
}

/// `trailer_info_get()` on the NUL-free view `s`.
fn trailer_info(s: &[u8], divider: bool) -> TrailerBlock {
    let end = find_end_of_log_message(s, divider);
    let start = find_trailer_block_start(s, end);

    let mut trailers: Vec<String> = Vec::new();
    let mut last: Option<usize> = None;
    let mut bol = start;
    while bol < end {
        let eol = match s[bol..end].iter().position(|&b| b == b'\n') {
            Some(k) => bol + k + 1,
            None => end,
        };
        let line = &s[bol..eol];
        bol = eol;
        if let Some(k) = last
            && is_space(line[0])
        {
            trailers[k].push_str(&to_string(line));
            continue;
        }
        last = match find_separator(line, 0, SEPARATORS) {
            Some(p) if p >= 1 => Some(trailers.len()),
            _ => None,
        };
        trailers.push(to_string(line));
    }

    let blank_line_before = last_line(s, start).is_some_and(|ll| is_blank_line(s, ll));
    TrailerBlock {
        start,
        end,
        blank_line_before,
        trailers,
    }
}

/// Finds the trailer block of `input` like git's `trailer_info_get()` (no trailer
/// configuration, comment character `#`).
///
/// `divider` selects whether a line starting with `---` followed by whitespace ends the
/// message (true for `git interpret-trailers` without `--no-divider`). The input is used as
/// is: unlike the `interpret-trailers` entry points, no final newline is added.
pub fn find_block(input: &str, divider: bool) -> TrailerBlock {
    trailer_info(c_string(input), divider)
}

/// Splits `trailer` at the separator `pos` into a trimmed token and value (`parse_trailer()`);
/// with no separator the whole text is the token and the value is empty.
fn parse_trailer(trailer: &[u8], pos: Option<usize>) -> (String, String) {
    match pos {
        Some(p) => (
            to_string(trim(&trailer[..p])),
            to_string(trim(&trailer[p + 1..])),
        ),
        None => (to_string(trim(trailer)), String::new()),
    }
}

/// `parse_trailers()`: turns the raw block lines into items. Comment lines are dropped;
/// non-trailer lines are kept (without their newline) unless `only_trailers`.
fn parse_items(block: &TrailerBlock, only_trailers: bool) -> Vec<Item> {
    let mut items = Vec::new();
    for trailer in &block.trailers {
        let bytes = trailer.as_bytes();
        if bytes.starts_with(COMMENT) {
            continue;
        }
        match find_separator(bytes, 0, SEPARATORS) {
            Some(p) if p >= 1 => {
                let (token, value) = parse_trailer(bytes, Some(p));
                items.push(Item {
                    token: Some(token),
                    value,
                });
            }
            _ if !only_trailers => items.push(Item {
                token: None,
                value: trailer.strip_suffix('\n').unwrap_or(trailer).to_owned(),
            }),
            _ => {}
        }
    }
    items
}

/// `format_trailers()` without any formatting option: `<token>: <value>\n` (no `": "` if the
/// token already ends with a separator), non-trailer lines verbatim unless `only_trailers`.
fn format_items(items: &[Item], only_trailers: bool) -> String {
    let mut out = String::new();
    for item in items {
        match &item.token {
            Some(token) => {
                out.push_str(token);
                let last_non_space = token.bytes().rev().find(|&b| !is_space(b));
                if let Some(c) = last_non_space
                    && !SEPARATORS.contains(&c)
                {
                    out.push(char::from(SEPARATORS[0]));
                    out.push(' ');
                }
                out.push_str(&item.value);
                out.push('\n');
            }
            None if !only_trailers => {
                out.push_str(&item.value);
                out.push('\n');
            }
            None => {}
        }
    }
    out
}

/// `strbuf_complete_line()`: appends a newline to non-empty input that lacks one.
fn complete_line(input: &str) -> String {
    let mut sb = input.to_owned();
    if !sb.is_empty() && !sb.ends_with('\n') {
        sb.push('\n');
    }
    sb
}

/// Byte-exact stdout of `git interpret-trailers --only-input --only-trailers` on `input`
/// (no `trailer.*` configuration).
///
/// One line per trailer of the block: `<token>: <value>`, with token and value trimmed and
/// continuation lines kept inside the value as they are (no unfolding). Non-trailer lines and
/// comment lines of the block are left out. Empty when there is no trailer block.
pub fn only_trailers(input: &str) -> String {
    let sb = complete_line(input);
    let block = trailer_info(c_string(&sb), true);
    format_items(&parse_items(&block, true), true)
}

/// `token_len_without_separator()`: the token length without trailing non-alphanumerics.
fn token_len_without_separator(token: &[u8]) -> usize {
    token
        .iter()
        .rposition(|b| b.is_ascii_alphanumeric())
        .map_or(0, |k| k + 1)
}

/// `same_token()`: case-insensitive comparison over the shorter of the two tokens (each
/// without trailing punctuation), so `Patch` matches `Patch-name`.
fn same_token(existing: &str, wanted: &str) -> bool {
    let (a, b) = (existing.as_bytes(), wanted.as_bytes());
    let min_len = token_len_without_separator(a).min(token_len_without_separator(b));
    a[..min_len].eq_ignore_ascii_case(&b[..min_len])
}

/// Byte-exact result of `git interpret-trailers --if-exists replace --trailer
/// "<token>=<value>"` on `message` (no configuration: `where=end`, `ifMissing=add`).
///
/// - A final newline is added to non-empty input first.
/// - If the message has no trailer block, a new one is started after a blank line (the blank
///   line is added unless the text before the insertion point already ends with one).
/// - The last trailer (scanning from the end) whose token matches per git's `same_token()` is
///   removed, and the new trailer is appended at the end of the block. Comment lines inside
///   the block are dropped, other lines are kept.
/// - The block ends before a `---` divider line; everything from there on is kept as is.
/// - Like git, an argument whose token is empty (`"=value"`) only reports an error in git; here
///   the message is then rewritten without adding anything.
pub fn set_trailer(message: &str, token: &str, value: &str) -> String {
    let sb = complete_line(message);
    let block = trailer_info(c_string(&sb), true);
    let mut items = parse_items(&block, false);

    let mut out = String::with_capacity(sb.len() + token.len() + value.len() + 4);
    out.push_str(&sb[..block.start]);
    if !block.blank_line_before {
        out.push('\n');
    }

    let arg = format!("{token}={value}");
    let pos = find_separator(arg.as_bytes(), 0, ARG_SEPARATORS);
    if pos != Some(0) {
        let (token, value) = parse_trailer(arg.as_bytes(), pos);
        let existing = items
            .iter()
            .rposition(|item| item.token.as_deref().is_some_and(|t| same_token(t, &token)));
        items.push(Item {
            token: Some(token),
            value,
        });
        if let Some(index) = existing {
            items.remove(index);
        }
    }

    out.push_str(&format_items(&items, false));
    out.push_str(&sb[block.end..]);
    out
}

/// The message cleanup of `git commit -F <file>` (cleanup mode `whitespace`, the default when
/// no editor is used): `strbuf_stripspace()` without comment stripping.
///
/// Trailing whitespace (space, tab, CR) is removed from every line, runs of empty lines are
/// collapsed into one, leading and trailing empty lines are removed, and a non-empty result
/// always ends with a newline.
pub fn stripspace(message: &str) -> String {
    let mut out = String::with_capacity(message.len() + 1);
    let mut empties = 0usize;
    for line in message.split_inclusive('\n') {
        let content = &line[..line
            .bytes()
            .rposition(|b| !is_space(b))
            .map_or(0, |k| k + 1)];
        if content.is_empty() {
            empties += 1;
            continue;
        }
        if empties > 0 && !out.is_empty() {
            out.push('\n');
        }
        empties = 0;
        out.push_str(content);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separator_rules() {
        assert_eq!(find_separator(b"Signed-off-by: x", 0, SEPARATORS), Some(13));
        assert_eq!(find_separator(b"Bug #42", 0, b":#"), Some(4));
        assert_eq!(find_separator(b"Bug #42", 0, SEPARATORS), None);
        assert_eq!(find_separator(b"Token :x", 0, SEPARATORS), Some(6));
        assert_eq!(find_separator(b" Token: x", 0, SEPARATORS), None);
        assert_eq!(find_separator(b":x", 0, SEPARATORS), Some(0));
        assert_eq!(find_separator(b"Two words: x", 0, SEPARATORS), None);
        assert_eq!(
            find_separator(b"Patch-name=a:b", 0, ARG_SEPARATORS),
            Some(10)
        );
    }

    #[test]
    fn same_token_is_a_prefix_match() {
        assert!(same_token("Patch", "Patch-name"));
        assert!(same_token("patch-NAME", "Patch-name"));
        assert!(!same_token("Patch-id", "Patch-name"));
        assert!(same_token("Acked-by:", "acked-by"));
    }

    #[test]
    fn block_of_a_simple_message() {
        let msg = "Title\n\nBody text.\n\nPatch-name: a.patch\nSigned-off-by: Me <me@x>\n";
        let block = find_block(msg, true);
        assert_eq!(block.start, msg.find("Patch-name").unwrap_or(0));
        assert_eq!(block.end, msg.len());
        assert!(block.blank_line_before);
        assert_eq!(
            block.trailers,
            ["Patch-name: a.patch\n", "Signed-off-by: Me <me@x>\n"]
        );
    }

    #[test]
    fn title_never_holds_trailers() {
        assert_eq!(only_trailers("Patch-name: a.patch\n"), "");
        assert_eq!(only_trailers("Title\nPatch-name: a.patch\n"), "");
        assert_eq!(
            only_trailers("Title\n\nPatch-name: a.patch"),
            "Patch-name: a.patch\n"
        );
    }

    #[test]
    fn continuation_lines_are_kept_in_the_value() {
        let msg = "T\n\nPatch-status: |\n    one\n\ttwo\nPatch-id:1\n";
        assert_eq!(
            only_trailers(msg),
            "Patch-status: |\n    one\n\ttwo\nPatch-id: 1\n"
        );
    }

    #[test]
    fn replace_appends_at_the_end() {
        let msg = "T\n\nPatch-name: old\nSigned-off-by: me\n";
        assert_eq!(
            set_trailer(msg, "patch-name", "new"),
            "T\n\nSigned-off-by: me\npatch-name: new\n"
        );
        assert_eq!(set_trailer("T", "A", "b"), "T\n\nA: b\n");
        assert_eq!(
            set_trailer("T\n---\nrest\n", "A", "b"),
            "T\n\nA: b\n---\nrest\n"
        );
    }

    #[test]
    fn stripspace_collapses_blank_lines() {
        assert_eq!(stripspace("\n\n a \t\n\n\n\nb\r\n\n"), " a\n\nb\n");
        assert_eq!(stripspace(" \n\t\n"), "");
        assert_eq!(stripspace("x"), "x\n");
    }

    #[test]
    fn scissors_and_comments_end_the_message() {
        let msg =
            "T\n\nA: b\n# comment\n# ------------------------ >8 ------------------------\nC: d\n";
        assert_eq!(only_trailers(msg), "A: b\n");
        let block = find_block(msg, true);
        assert_eq!(&msg[block.start..block.end], "A: b\n");
    }
}
