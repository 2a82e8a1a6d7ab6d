//! Macro definitions (`MacroDefinitions._parse`), only to know where no section or condition
//! can start: the line ranges of `%global`/`%define` bodies (multi-line while brackets are
//! open or lines end with `\`), as the library locates them.
//!
//! It must not expand or evaluate macros, and does no I/O.

use std::collections::HashMap;

use super::text::{Brackets, py_isspace, trim_end_py, trim_start_py};

/// Line ranges of the macro definitions of `lines` (one section, or the whole file) whose
/// lines the library excludes from section and condition parsing. `get_position` finds a
/// definition with `list.index`, i.e. the first *equal* one (same lines and same preceding
/// lines), so a repeated definition gets the earlier one's range and its own lines are not
/// excluded.
pub(super) fn excluded_macro_ranges(lines: &[String]) -> Vec<(usize, usize)> {
    // the (preceding lines, definition lines) pairs seen, by definition: hashing only the
    // definition keeps this linear in the file (a spec is analysed once per added patch)
    let mut seen: HashMap<&[String], Vec<(usize, usize)>> = HashMap::new();
    let mut ranges = Vec::new();
    let (mut previous_end, mut i) = (0, 0);
    while i < lines.len() {
        let Some(count) = macro_definition_lines(lines, i) else {
            i += 1;
            continue;
        };
        let preceding = &lines[previous_end..i];
        let earlier = seen.entry(&lines[i..i + count]).or_default();
        if !earlier
            .iter()
            .any(|&(start, end)| &lines[start..end] == preceding)
        {
            earlier.push((previous_end, i));
            ranges.push((i, i + count));
        }
        previous_end = i + count;
        i += count;
    }
    ranges
}

/// If a macro definition starts at line `i`, the number of lines it spans.
fn macro_definition_lines(lines: &[String], i: usize) -> Option<usize> {
    let head = match_macro_definition(&lines[i])?;
    if !head.multiline {
        return Some(1);
    }
    let mut brackets = Brackets::default();
    brackets.feed(head.body);
    let mut ends_with_backslash = head.backslash || head.body.ends_with('\\');
    let mut count = 1;
    while (brackets.open() || ends_with_backslash) && i + count < lines.len() {
        let line = &lines[i + count];
        brackets.feed(line);
        ends_with_backslash = line.ends_with('\\');
        count += 1;
    }
    Some(count)
}

/// The start of a macro definition line.
struct MacroHead<'a> {
    /// Neither `%dnl`, `#`-commented nor `%%`-escaped: the body may continue.
    multiline: bool,
    body: &'a str,
    /// The line ended with a backslash (not part of `body`).
    backslash: bool,
}

/// The regex of `MacroDefinitions._parse`:
/// `^(\s*)(%dnl)?((?(2).*?%|(?:%|\#(?:.*?%)?)))(global|define)(\s+)(\w+(?:\(.*?\))?)(\s+)(.*?)(\s*|\\)$`,
/// with the alternatives tried in the regex's order.
fn match_macro_definition(line: &str) -> Option<MacroHead<'_>> {
    let s = trim_start_py(line);
    if let Some(after) = s.strip_prefix("%dnl") {
        for (q, _) in after.match_indices('%') {
            if let Some((body, backslash)) = macro_tail(&after[q + 1..]) {
                return Some(MacroHead {
                    multiline: false,
                    body,
                    backslash,
                });
            }
        }
    }
    if let Some(after) = s.strip_prefix('%') {
        let (body, backslash) = macro_tail(after)?;
        return Some(MacroHead {
            multiline: true,
            body,
            backslash,
        });
    }
    let after = s.strip_prefix('#')?;
    for (q, _) in after.match_indices('%') {
        if let Some((body, backslash)) = macro_tail(&after[q + 1..]) {
            // `#...%%define` is "escaped", `#...%define` is a live definition.
            let escaped = after[..q].ends_with('%');
            return Some(MacroHead {
                multiline: !escaped,
                body,
                backslash,
            });
        }
    }
    let (body, backslash) = macro_tail(after)?;
    Some(MacroHead {
        multiline: false,
        body,
        backslash,
    })
}

/// `(global|define)(\s+)(\w+(?:\(.*?\))?)(\s+)(.*?)(\s*|\\)$`: the body and whether the line
/// ends with a backslash.
fn macro_tail(s: &str) -> Option<(&str, bool)> {
    let s = s
        .strip_prefix("global")
        .or_else(|| s.strip_prefix("define"))?;
    let name = trim_start_py(s);
    if name.len() == s.len() {
        return None;
    }
    let word = name.trim_start_matches(|c: char| c.is_alphanumeric() || c == '_');
    if word.len() == name.len() {
        return None;
    }
    let after_name = match word.strip_prefix('(') {
        Some(args) => args
            .match_indices(')')
            .map(|(q, _)| &args[q + 1..])
            .find(|rest| rest.starts_with(py_isspace))?,
        None if word.starts_with(py_isspace) => word,
        None => return None,
    };
    let rest = trim_start_py(after_name);
    match rest.strip_suffix('\\') {
        Some(body) => Some((body, true)),
        None => Some((trim_end_py(rest), false)),
    }
}
