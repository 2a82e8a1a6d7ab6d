//! PyYAML's reader: the characters it rejects (outside its printable set; U+2028/U+2029 are
//! unsupported here) and its line break normalisation (`\r\n`, `\r`, NEL → `\n`).
//!
//! It must not tokenise or parse anything, and does no I/O.

use super::YamlError;

/// PyYAML's `Reader.NON_PRINTABLE`, inverted.
fn is_printable(c: char) -> bool {
    matches!(c,
        '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{a0}'..='\u{d7ff}'
        | '\u{e000}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}')
}

/// Normalises line breaks like PyYAML's `scan_line_break` (`\r\n`, `\r`, NEL → `\n`) after
/// checking for characters PyYAML's reader rejects.
pub(super) fn prepare(text: &str) -> Result<String, YamlError> {
    let mut out = String::with_capacity(text.len());
    let (mut line, mut col) = (1, 1);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if !is_printable(c) {
            return Err(YamlError::Syntax {
                line,
                col,
                message: format!(
                    "unacceptable character #x{:04x}: special characters are not allowed",
                    u32::from(c)
                ),
            });
        }
        match c {
            '\u{2028}' | '\u{2029}' => {
                return Err(YamlError::Unsupported {
                    line,
                    what: "a U+2028/U+2029 line separator".to_owned(),
                });
            }
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
            }
            '\u{85}' => out.push('\n'),
            _ => out.push(c),
        }
        if out.ends_with('\n') {
            (line, col) = (line + 1, 1);
        } else {
            col += 1;
        }
    }
    Ok(out)
}
