//! Text helpers with Python semantics that the spec parsers share: `str.isspace()` (what
//! `\s` matches in `re`), trimming with it, `re.split(r"([^\S\n]+)$", line)`, and
//! `utils.count_brackets`. (`str.splitlines()` is `crate::convert::pytext::splitlines`.)
//!
//! It must not know about spec structure, and does no I/O.

/// Python's `str.isspace()` for one character (also what `\s` matches in `re`).
pub(super) use crate::convert::pytext::is_python_space as py_isspace;

pub(super) fn trim_start_py(s: &str) -> &str {
    s.trim_start_matches(py_isspace)
}

pub(super) fn trim_end_py(s: &str) -> &str {
    s.trim_end_matches(py_isspace)
}

/// `re.split(r"([^\S\n]+)$", line)`: the line without its trailing whitespace, and that
/// whitespace.
pub(super) fn split_trailing_ws(line: &str) -> (&str, &str) {
    let stripped = line.trim_end_matches(|c: char| c != '\n' && py_isspace(c));
    (stripped, &line[stripped.len()..])
}

/// `utils.count_brackets`, resumable line by line (the joining `\n` never counts).
#[derive(Debug, Default)]
pub(super) struct Brackets {
    braces: u64,
    parens: u64,
}

impl Brackets {
    pub(super) fn open(&self) -> bool {
        self.braces > 0 || self.parens > 0
    }

    pub(super) fn feed(&mut self, s: &str) {
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek().is_some() => {
                    chars.next();
                }
                '%' if chars.peek().is_some() => match chars.next() {
                    Some('{') => self.braces += 1,
                    Some('(') => self.parens += 1,
                    _ => {}
                },
                '{' if self.braces > 0 => self.braces += 1,
                '}' if self.braces > 0 => self.braces -= 1,
                '(' if self.parens > 0 => self.parens += 1,
                ')' if self.parens > 0 => self.parens -= 1,
                _ => {}
            }
        }
    }
}
