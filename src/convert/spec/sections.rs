//! Sections as python-specfile's `Sections.parse` finds them: section headers (not inside
//! macro-definition bodies), where the main preamble ends, the `%patchlist` sections, and
//! which of their lines are entries (`Sourcelist.parse`).
//!
//! It must not parse tags (`tags` does) or evaluate anything, and does no I/O.

use super::macros::excluded_macro_ranges;
use super::text::{py_isspace, trim_start_py};

/// Valid section names (`constants.SECTION_NAMES`).
pub(super) const SECTION_NAMES: &[&str] = &[
    "build",
    "changelog",
    "check",
    "clean",
    "conf",
    "description",
    "end",
    "files",
    "filetrigger",
    "filetriggerin",
    "filetriggerpostun",
    "filetriggerun",
    "generate_buildrequires",
    "install",
    "package",
    "patchlist",
    "post",
    "posttrans",
    "postun",
    "postuntrans",
    "pre",
    "prep",
    "pretrans",
    "preun",
    "preuntrans",
    "sepolicy",
    "sourcelist",
    "transfiletrigger",
    "transfiletriggerin",
    "transfiletriggerpostun",
    "transfiletriggerun",
    "trigger",
    "triggerin",
    "triggerpostun",
    "triggerprein",
    "triggerun",
    "verifyscript",
];

/// Sections of the file (`Sections.parse`).
pub(super) struct Layout {
    pub(super) preamble_end: usize,
    pub(super) headers: Vec<usize>,
    /// Content line ranges of the `%patchlist` sections.
    pub(super) patchlists: Vec<(usize, usize)>,
}

/// `Sections.parse`: section headers, except inside macro-definition bodies.
pub(super) fn scan_sections(lines: &[String]) -> Layout {
    let mut headers = Vec::new();
    let mut macros = excluded_macro_ranges(lines).into_iter().peekable();
    for (i, line) in lines.iter().enumerate() {
        while macros.next_if(|m| m.1 <= i).is_some() {}
        if macros.peek().is_some_and(|m| m.0 <= i) {
            continue;
        }
        if section_name_len(line).is_some() {
            headers.push(i);
        }
    }
    let preamble_end = headers.first().copied().unwrap_or(lines.len());
    let mut patchlists = Vec::new();
    for (k, &start) in headers.iter().enumerate() {
        if lines[start] == "%patchlist" {
            let end = headers.get(k + 1).copied().unwrap_or(lines.len());
            patchlists.push((start + 1, end));
        }
    }
    Layout {
        preamble_end,
        headers,
        patchlists,
    }
}

/// Length of the section name if `line` is a section header: `^%name(\s+.*(?<!\\)$|$)`,
/// name case-insensitive.
pub(super) fn section_name_len(line: &str) -> Option<usize> {
    let rest = line.strip_prefix('%')?;
    let len = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphabetic() || *b == b'_')
        .count();
    let name = &rest[..len];
    if !SECTION_NAMES.iter().any(|s| s.eq_ignore_ascii_case(name)) {
        return None;
    }
    let tail = &rest[len..];
    let ok = tail.is_empty() || (tail.starts_with(py_isspace) && !line.ends_with('\\'));
    ok.then_some(len)
}

/// `Sourcelist.parse`: a non-empty line that does not start (after whitespace) with `#`.
pub(super) fn is_list_entry(line: &str) -> bool {
    !line.is_empty() && !trim_start_py(line).starts_with('#')
}
