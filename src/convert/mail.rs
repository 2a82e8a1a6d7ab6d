//! Reads a `git format-patch` file the way packit's `commit_message()` does: Python's
//! `email.message_from_bytes` with the compat32 policy, then the subject and the body up
//! to the `---` line.
//!
//! The spec comment of a patch without `Patch-status` is this text, so its quirks are
//! kept on purpose: the `Subject:` header is taken raw (not RFC 2047-decoded, folded lines
//! kept), and the `[PATCH i/N]` prefix is only stripped from a single-line subject.
//! Pure; no I/O.

use super::pytext;

/// The parts of one mail that packit reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The raw value of the first `Subject:` header (continuation lines kept).
    pub subject: Option<String>,
    /// The body, decoded like compat32 `get_payload()`.
    pub payload: String,
}

/// Splits `text` into lines at `\r\n`, `\r` or `\n`, keeping the line ends.
fn lines_keep_ends(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push(&text[start..=i]);
                start = i + 1;
            }
            b'\r' => {
                let end = if bytes.get(i + 1) == Some(&b'\n') {
                    i + 1
                } else {
                    i
                };
                lines.push(&text[start..=end]);
                i = end;
                start = end + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// Python's `headerRE`: `^(From |[\041-\071\073-\176]*:|[\t ])`.
fn looks_like_header(line: &str) -> bool {
    if line.starts_with("From ") || line.starts_with([' ', '\t']) {
        return true;
    }
    let name_len = line
        .bytes()
        .take_while(|b| (0x21..=0x7e).contains(b) && *b != b':')
        .count();
    line.as_bytes().get(name_len) == Some(&b':')
}

fn is_line_end_only(line: &str) -> bool {
    matches!(line, "\n" | "\r" | "\r\n")
}

/// compat32 `header_source_parse`: the value after the colon, left-stripped, continuation
/// lines appended verbatim, trailing line ends removed.
fn header_value(lines: &[&str]) -> String {
    let first = lines[0];
    let after_colon = &first[first.find(':').map_or(first.len(), |i| i + 1)..];
    let mut value = after_colon.trim_start_matches([' ', '\t']).to_string();
    for line in &lines[1..] {
        value.push_str(line);
    }
    value.trim_end_matches(['\r', '\n']).to_string()
}

/// Collected headers: (name, value) in file order.
fn parse_headers(lines: &[&str]) -> Vec<(String, String)> {
    let mut headers = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for (lineno, line) in lines.iter().enumerate() {
        if line.starts_with([' ', '\t']) {
            if !current.is_empty() {
                current.push(line);
            }
            continue;
        }
        if !current.is_empty() {
            headers.push(header_name_value(&current));
            current.clear();
        }
        if line.starts_with("From ") && lineno == 0 {
            continue; // the mbox "From <sha> <date>" line
        }
        if line.starts_with("From ") || line.starts_with(':') {
            continue; // misplaced envelope line or missing header name: ignored
        }
        current.push(line);
    }
    if !current.is_empty() {
        headers.push(header_name_value(&current));
    }
    headers
}

fn header_name_value(lines: &[&str]) -> (String, String) {
    let name = lines[0].split(':').next().unwrap_or_default().to_string();
    (name, header_value(lines))
}

/// The `charset` parameter of a `Content-Type` header value, lower-cased.
fn charset_of(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        if !key.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        Some(value.trim().trim_matches('"').to_ascii_lowercase())
    })
}

/// Decodes the body bytes like compat32 `get_payload()`: ASCII stays as it is, anything
/// else is decoded with the declared charset (UTF-8 here) or as ASCII, replacing errors.
fn decode_payload(body: &[u8], charset: Option<&str>) -> String {
    if body.is_ascii() {
        return String::from_utf8_lossy(body).into_owned();
    }
    match charset {
        Some("utf-8" | "utf8") => String::from_utf8_lossy(body).into_owned(),
        _ => body
            .iter()
            .map(|&b| if b.is_ascii() { b as char } else { '\u{fffd}' })
            .collect(),
    }
}

/// Parses the first message of an mbox file as `email.message_from_bytes` does.
pub fn parse(bytes: &[u8]) -> Mail {
    // message_from_bytes decodes as ASCII with surrogateescape; splitting on ASCII line
    // ends of the lossy text keeps every byte offset of the line ends intact.
    let text = String::from_utf8_lossy(bytes);
    let lines = lines_keep_ends(&text);
    let mut header_end = 0;
    let mut body_start = 0;
    for (i, line) in lines.iter().enumerate() {
        if !looks_like_header(line) {
            header_end = i;
            body_start = i + usize::from(is_line_end_only(line));
            break;
        }
        header_end = i + 1;
        body_start = i + 1;
    }
    let headers = parse_headers(&lines[..header_end]);
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let body_offset: usize = lines[..body_start].iter().map(|l| l.len()).sum();
    let body_bytes = byte_offset_in(bytes, &text, body_offset);
    let charset = get("Content-Type").and_then(|ct| charset_of(&ct));
    Mail {
        subject: get("Subject"),
        payload: decode_payload(&bytes[body_bytes..], charset.as_deref()),
    }
}

/// Maps an offset in the lossy text back to the original bytes (they only differ where
/// invalid UTF-8 was replaced, which can't happen inside ASCII header lines).
fn byte_offset_in(bytes: &[u8], text: &str, text_offset: usize) -> usize {
    if bytes.len() == text.len() {
        return text_offset;
    }
    // Walk both in step: each replaced sequence maps to one U+FFFD in the text.
    let prefix = &text[..text_offset];
    let mut consumed = 0;
    let mut rest = bytes;
    let mut text_pos = 0;
    while text_pos < prefix.len() {
        match std::str::from_utf8(rest) {
            Ok(_) => return consumed + (prefix.len() - text_pos),
            Err(e) => {
                let valid = e.valid_up_to();
                if text_pos + valid >= prefix.len() {
                    return consumed + (prefix.len() - text_pos);
                }
                let bad = e.error_len().unwrap_or(rest.len() - valid);
                consumed += valid + bad;
                text_pos += valid + '\u{fffd}'.len_utf8();
                rest = &rest[valid + bad..];
            }
        }
    }
    consumed
}

/// Strips `[PATCH]` / `[PATCH i/N]` from a single-line subject (packit's
/// `^\[PATCH( \d+/\d+)?\] (.+)$` without DOTALL).
fn strip_patch_prefix(subject: &str) -> &str {
    let Some(rest) = subject.strip_prefix("[PATCH") else {
        return subject;
    };
    let rest = match rest.strip_prefix(' ') {
        Some(numbered) => {
            let Some((counts, after)) = numbered.split_once(']') else {
                return subject;
            };
            let Some((i, n)) = counts.split_once('/') else {
                return subject;
            };
            let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            if !digits(i) || !digits(n) {
                return subject;
            }
            after
        }
        None => match rest.strip_prefix(']') {
            Some(after) => after,
            None => return subject,
        },
    };
    // `(.+)$`: at least one character, no line break (`$` may sit before a final `\n`)
    match rest.strip_prefix(' ') {
        Some(tail) => {
            let core = tail.strip_suffix('\n').unwrap_or(tail);
            if !core.is_empty() && !core.contains('\n') {
                core
            } else {
                subject
            }
        }
        None => subject,
    }
}

/// packit's `commit_message(patch, strip_subject_prefix="PATCH", strip_trailers=trailers)`:
/// subject (without `[PATCH i/N]` when it is one line) and body up to the first `\n---\n`,
/// cut where the trailer text starts, then stripped.
pub fn commit_message(bytes: &[u8], trailers: &str) -> String {
    let mail = parse(bytes);
    let (subject, mut body) = match mail.subject.as_deref().filter(|s| !s.is_empty()) {
        None => {
            let (subject, body) = mail
                .payload
                .split_once("\n\n")
                .unwrap_or((&mail.payload, ""));
            (subject.to_string(), body.to_string())
        }
        Some(subject) => {
            let body = mail
                .payload
                .split_once("\n---\n")
                .map_or(String::new(), |(body, _)| body.to_string());
            (strip_patch_prefix(subject).to_string(), body)
        }
    };
    if !trailers.is_empty()
        && let Some(at) = body.find(trailers)
    {
        body.truncate(at);
    }
    let joined = if body.is_empty() {
        subject
    } else {
        format!("{subject}\n\n{body}")
    };
    pytext::strip(&joined).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATCH: &str = "From 84eb482301415abcada086c38a46bb12b411e6c6 Mon Sep 17 00:00:00 2001
From: Tomas Berg <tberg@example.org>
Date: Fri, 3 Jan 2025 10:00:00 +0100
Subject: [PATCH 1/4] Include stdio.h for snprintf

layout.c calls snprintf() but relied on other headers pulling in
stdio.h, which newer glibc no longer does.

Patch-name: quill-stdio.patch
---
 src/layout.c | 1 +
 1 file changed, 1 insertion(+)
";

    #[test]
    fn subject_prefix_and_trailers_are_removed() {
        assert_eq!(
            commit_message(PATCH.as_bytes(), "Patch-name: quill-stdio.patch"),
            "Include stdio.h for snprintf\n\nlayout.c calls snprintf() but relied on other \
             headers pulling in\nstdio.h, which newer glibc no longer does."
        );
    }

    #[test]
    fn folded_and_encoded_subjects_stay_raw() {
        let patch = "From abc Mon Sep 17 00:00:00 2001\nFrom: A <a@b>\nSubject: [PATCH 11/11] \
                     =?UTF-8?q?=C3=9Cn?=\n =?UTF-8?q?or?=\nMIME-Version: 1.0\n\nBody with \
                     \u{fc}.\n---\n x | 1 +\n";
        let mail = parse(patch.as_bytes());
        assert_eq!(
            mail.subject.as_deref(),
            Some("[PATCH 11/11] =?UTF-8?q?=C3=9Cn?=\n =?UTF-8?q?or?=")
        );
        assert_eq!(
            commit_message(patch.as_bytes(), ""),
            "[PATCH 11/11] =?UTF-8?q?=C3=9Cn?=\n =?UTF-8?q?or?=\n\nBody with \u{fffd}\u{fffd}."
        );
    }

    #[test]
    fn declared_utf8_body_is_decoded() {
        let patch = "From abc Mon Sep 17 00:00:00 2001\nSubject: [PATCH] X\nContent-Type: \
                     text/plain; charset=UTF-8\n\n\u{160}\u{ed}\u{159}ka.\n---\n";
        assert_eq!(
            commit_message(patch.as_bytes(), ""),
            "X\n\n\u{160}\u{ed}\u{159}ka."
        );
    }

    #[test]
    fn subject_prefix_rules() {
        assert_eq!(strip_patch_prefix("[PATCH] a"), "a");
        assert_eq!(strip_patch_prefix("[PATCH 01/12] a b"), "a b");
        assert_eq!(strip_patch_prefix("[PATCH v2] a"), "[PATCH v2] a");
        assert_eq!(strip_patch_prefix("[PATCH 1/2] a\n b"), "[PATCH 1/2] a\n b");
        assert_eq!(strip_patch_prefix("[PATCH] "), "[PATCH] ");
        assert_eq!(strip_patch_prefix("Plain"), "Plain");
    }

    #[test]
    fn body_stops_at_the_first_divider_and_without_one_is_empty() {
        let patch = "From x Mon Sep 17 00:00:00 2001\nSubject: [PATCH] S\n\nA\n---\nB\n---\n";
        assert_eq!(commit_message(patch.as_bytes(), ""), "S\n\nA");
        let no_divider = "From x Mon Sep 17 00:00:00 2001\nSubject: [PATCH] S\n\nA\n";
        assert_eq!(commit_message(no_divider.as_bytes(), ""), "S");
    }

    #[test]
    fn trailers_not_found_verbatim_are_kept() {
        let patch =
            "From x Mon Sep 17 00:00:00 2001\nSubject: [PATCH] S\n\nA\n\nPatch-name:x\n---\n";
        assert_eq!(
            commit_message(patch.as_bytes(), "Patch-name: x"),
            "S\n\nA\n\nPatch-name:x"
        );
    }
}
