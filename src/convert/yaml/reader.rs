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
    let text = text.replace("\r\n", "\n").replace(['\r', '\u{85}'], "\n");
    for (line, row) in (1..).zip(text.split('\n')) {
        for (col, c) in (1..).zip(row.chars()) {
            if matches!(c, '\u{2028}' | '\u{2029}') {
                let what = "a U+2028/U+2029 line separator".to_owned();
                return Err(YamlError::Unsupported { line, what });
            } else if !is_printable(c) {
                let code = u32::from(c);
                let message = format!(
                    "unacceptable character #x{code:04x}: special characters are not allowed"
                );
                return Err(YamlError::Syntax { line, col, message });
            }
        }
    }
    Ok(text)
}
