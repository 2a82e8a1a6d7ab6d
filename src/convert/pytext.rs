//! Python `str` semantics that packit's output depends on: `str.splitlines()` and
//! `str.strip()`.
//!
//! packit builds spec comments and descriptions with these two methods, and both treat more
//! characters as line breaks / whitespace than Rust's `lines()` / `trim()` do. Keeping them
//! in one place keeps every caller byte-compatible. Pure; no I/O.

/// Characters Python's `str.splitlines()` breaks on (besides `\r\n`, which counts as one).
fn is_python_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r'
            | '\x0b'
            | '\x0c'
            | '\x1c'
            | '\x1d'
            | '\x1e'
            | '\u{85}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// Python's `str.isspace()` for one character.
pub fn is_python_space(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\x1c'..='\x1f')
}

/// Python's `str.splitlines()` (without `keepends`): `"a\n\nb\n"` → `["a", "", "b"]`.
pub fn splitlines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if !is_python_line_break(c) {
            continue;
        }
        lines.push(&text[start..i]);
        let mut end = i + c.len_utf8();
        if c == '\r'
            && let Some(&(j, '\n')) = chars.peek()
        {
            chars.next();
            end = j + 1;
        }
        start = end;
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// Python's `str.strip()` (no argument).
pub fn strip(text: &str) -> &str {
    text.trim_matches(is_python_space)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitlines_matches_python() {
        assert_eq!(splitlines(""), Vec::<&str>::new());
        assert_eq!(splitlines("a"), vec!["a"]);
        assert_eq!(splitlines("a\n"), vec!["a"]);
        assert_eq!(splitlines("a\n\nb\n"), vec!["a", "", "b"]);
        assert_eq!(splitlines("a\r\nb\rc"), vec!["a", "b", "c"]);
        assert_eq!(splitlines("a\r\r\nb"), vec!["a", "", "b"]);
        assert_eq!(splitlines("a\x0bb\x0cc\x1cd"), vec!["a", "b", "c", "d"]);
        assert_eq!(splitlines("a\u{85}b\u{2028}c\u{2029}"), vec!["a", "b", "c"]);
        assert_eq!(splitlines("\n"), vec![""]);
    }

    #[test]
    fn strip_matches_python() {
        assert_eq!(strip("  a b \n\t"), "a b");
        assert_eq!(strip("\x1c\x1fa\u{a0}"), "a");
        assert_eq!(strip("\u{3000}"), "");
    }
}
