//! Conditions (`conditions.process_conditions`), only to know when the library fails: a
//! `%endif`/`%else`/`%elif` without an open `%if` in a section, outside its macro definitions,
//! with `\`-continued expressions swallowing lines.
//!
//! It must not evaluate conditions (every branch counts) and does no I/O.

use super::macros::excluded_macro_ranges;
use super::text::{py_isspace, trim_end_py, trim_start_py};

/// Walks the lines of one section like `process_conditions` (outside the section's own
/// macro definitions, with `\`-continued expressions swallowing lines); `Err(index)` where
/// it would fail.
pub(super) fn check_section_conditions(lines: &[String]) -> Result<(), usize> {
    let mut depth = 0usize;
    let mut macros = excluded_macro_ranges(lines).into_iter().peekable();
    let (mut i, end) = (0, lines.len());
    while i < end {
        while macros.next_if(|m| m.1 <= i).is_some() {}
        let in_macro = macros.peek().is_some_and(|m| m.0 <= i);
        let condition = if in_macro {
            None
        } else {
            match_condition(&lines[i])
        };
        i += 1;
        let Some((keyword, expression)) = condition else {
            continue;
        };
        if keyword == "endif" || keyword.starts_with("el") {
            depth = depth.checked_sub(1).ok_or(i - 1)?;
            if keyword.starts_with("el") {
                depth += 1;
            }
        }
        if keyword.starts_with("if") {
            depth += 1;
        }
        let continues = keyword.starts_with("if") || keyword.starts_with("elif");
        if let Some(mut expression) = expression.filter(|_| continues) {
            while expression.ends_with('\\') && i < end {
                expression.pop();
                expression.push_str(&lines[i]);
                i += 1;
            }
        }
    }
    Ok(())
}

/// The condition regex of `process_conditions`:
/// `^\s*%((el)?if(n?(arch|os))?|endif|else)\s*(\s+(?P<expr>.*?)(?P<end>\s*|\\))?$`.
/// Returns the keyword (without `%`) and, for a non-empty expression, the expression with a
/// final `\` when the line ends with one.
fn match_condition(line: &str) -> Option<(&str, Option<String>)> {
    let s = trim_start_py(line).strip_prefix('%')?;
    let word_len = s.bytes().take_while(u8::is_ascii_alphabetic).count();
    let keyword = &s[..word_len];
    let base = keyword
        .strip_prefix("el")
        .filter(|k| k.starts_with("if"))
        .unwrap_or(keyword);
    let valid = matches!(base, "if" | "ifarch" | "ifnarch" | "ifos" | "ifnos")
        || keyword == "endif"
        || keyword == "else";
    let rest = &s[word_len..];
    if !valid || !(rest.is_empty() || rest.starts_with(py_isspace)) {
        return None;
    }
    let rest = trim_start_py(rest);
    let expression = match rest.strip_suffix('\\') {
        Some(expr) if !expr.is_empty() => Some(format!("{expr}\\")),
        Some(_) => None,
        None => Some(trim_end_py(rest).to_owned()).filter(|e| !e.is_empty()),
    };
    Some((keyword, expression))
}
