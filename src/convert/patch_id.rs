//! Inputs and outputs of `git patch-id --stable`, which decides whether a regenerated
//! patch is "the same" as the one dist-git already has (packit's `undo_identical`).
//!
//! * [`git_patch_ish`] is packit's massage of an old dist-git patch (`diff -up` headers,
//!   timestamps, missing `diff --git` lines), with packit's crash on a patch that starts
//!   with `--- ` fixed.
//! * [`batch_input`] / [`parse_batch_output`] let one `git patch-id` process hash many
//!   files: every line git treats as the start of a patch gets a marker object id naming
//!   the file and the part, so the output maps back without running git once per file.
//!
//! Pure; the caller runs git.

use std::sync::LazyLock;

use regex::bytes::Regex;

static DIFF_DASH_OPTIONS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^diff -\w+ ").expect("valid regex"));
static HEADER_TIMESTAMP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m-u)^((?:---|\+\+\+) .+)\t\d{4}.+$").expect("valid regex"));
static BARE_FILE_HEADER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u)(\n--- (.+)\n\+\+\+ (.+)\n)").expect("valid regex"));

/// packit's `git_patch_ish()`: make an old patch look like git output for `git patch-id`.
///
/// packit only adds the missing `diff --git` line when `--- ` follows a newline, so a
/// bare diff starting on line 1 got no header, `git patch-id` printed nothing and packit
/// crashed. Here such a first header gets its `diff --git` line too.
pub fn git_patch_ish(patch: &[u8]) -> Vec<u8> {
    let patch = DIFF_DASH_OPTIONS.replace_all(patch, &b"diff --git "[..]);
    let patch = HEADER_TIMESTAMP
        .replace_all(&patch, &b"$1"[..])
        .into_owned();
    if contains(&patch, b"diff --git ") {
        return patch;
    }
    let starts_bare = patch.starts_with(b"--- ");
    let mut text = Vec::with_capacity(patch.len() + 1);
    if starts_bare {
        text.push(b'\n');
    }
    text.extend_from_slice(&patch);
    let replaced = BARE_FILE_HEADER
        .replace_all(&text, &b"\ndiff --git $2 $3$1"[..])
        .into_owned();
    if starts_bare {
        replaced[1..].to_vec()
    } else {
        replaced
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// One file to hash, as git would read it on stdin.
#[derive(Debug, Clone)]
pub struct PatchIdInput<'a> {
    /// Caller's key for the file (an index into its own list).
    pub key: usize,
    /// The bytes `git patch-id` would read for this file alone.
    pub text: &'a [u8],
}

fn is_hex40(bytes: &[u8]) -> bool {
    bytes.len() >= 40 && bytes[..40].iter().all(u8::is_ascii_hexdigit)
}

/// Where on `line` `git patch-id` looks for an object id that starts a new patch
/// (`get_one_patchid`: after an optional `commit ` / `From ` prefix), if it finds one.
fn boundary_oid_offset(line: &[u8]) -> Option<usize> {
    let offset = if line.starts_with(b"commit ") {
        7
    } else if line.starts_with(b"From ") {
        5
    } else {
        // "\ No newline at end of file" and the like are skipped before the check
        if line.starts_with(b"\\ ") && line.len() > 12 {
            return None;
        }
        0
    };
    is_hex40(&line[offset..]).then_some(offset)
}

fn marker(key: usize, part: usize) -> String {
    format!("{key:020x}{part:020x}")
}

fn parse_marker(hex: &str) -> Option<(usize, usize)> {
    if hex.len() != 40 {
        return None;
    }
    let key = usize::from_str_radix(&hex[..20], 16).ok()?;
    let part = usize::from_str_radix(&hex[20..], 16).ok()?;
    Some((key, part))
}

/// Concatenates `files` into one stdin for `git patch-id --stable`.
///
/// Each file starts with a marker line (part 0) and every patch boundary inside it gets
/// the next part number. Only the hex of boundary lines changes, and git never hashes
/// those lines, so every patch id equals what git prints for the file on its own.
pub fn batch_input(files: &[PatchIdInput<'_>]) -> Vec<u8> {
    let total: usize = files.iter().map(|f| f.text.len() + 64).sum();
    let mut out = Vec::with_capacity(total);
    for file in files {
        out.extend_from_slice(
            format!("From {} Mon Sep 17 00:00:00 2001\n", marker(file.key, 0)).as_bytes(),
        );
        let mut part = 0;
        for line in file.text.split_inclusive(|&b| b == b'\n') {
            match boundary_oid_offset(line) {
                Some(offset) => {
                    part += 1;
                    out.extend_from_slice(&line[..offset]);
                    out.extend_from_slice(marker(file.key, part).as_bytes());
                    out.extend_from_slice(&line[offset + 40..]);
                }
                None => out.extend_from_slice(line),
            }
        }
        if !out.ends_with(b"\n") {
            out.push(b'\n');
        }
    }
    out
}

/// Patch ids per file key, in the order of the file's parts (one id per part that has a
/// diff), from the output of `git patch-id --stable` run on [`batch_input`].
pub fn parse_batch_output(output: &str) -> std::collections::HashMap<usize, Vec<String>> {
    let mut ids: std::collections::HashMap<usize, Vec<(usize, String)>> = Default::default();
    for line in output.lines() {
        let Some((patch_id, oid)) = line.split_once(' ') else {
            continue;
        };
        if let Some((key, part)) = parse_marker(oid.trim()) {
            ids.entry(key)
                .or_default()
                .push((part, patch_id.to_string()));
        }
    }
    ids.into_iter()
        .map(|(key, mut parts)| {
            parts.sort_by_key(|(part, _)| *part);
            (key, parts.into_iter().map(|(_, id)| id).collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_up_headers_and_timestamps_are_normalised() {
        let old = b"Fix\n\ndiff -up a/x.c b/x.c\n--- a/x.c\t2020-01-01 10:00:00.000 +0100\n+++ b/x.c\t2020-01-02 10:00:00.000 +0100\n@@ -1 +1 @@\n-a\n+b";
        let got = git_patch_ish(old);
        assert_eq!(
            String::from_utf8(got).unwrap(),
            "Fix\n\ndiff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n+b"
        );
    }

    #[test]
    fn bare_diffs_get_diff_git_lines_even_on_line_one() {
        let old =
            b"--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n+b\n--- a/y.c\n+++ b/y.c\n@@ -1 +1 @@\n-c\n+d";
        assert_eq!(
            String::from_utf8(git_patch_ish(old)).unwrap(),
            "diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n+b\n\
             diff --git a/y.c b/y.c\n--- a/y.c\n+++ b/y.c\n@@ -1 +1 @@\n-c\n+d"
        );
        let with_preamble = b"Note\n--- x.orig\n+++ x\n@@ -1 +1 @@\n-a\n+b";
        assert_eq!(
            String::from_utf8(git_patch_ish(with_preamble)).unwrap(),
            "Note\ndiff --git x.orig x\n--- x.orig\n+++ x\n@@ -1 +1 @@\n-a\n+b"
        );
    }

    #[test]
    fn boundaries_are_the_lines_git_treats_as_object_ids() {
        let sha = "84eb482301415abcada086c38a46bb12b411e6c6";
        assert_eq!(
            boundary_oid_offset(format!("From {sha} Mon Sep 17").as_bytes()),
            Some(5)
        );
        assert_eq!(
            boundary_oid_offset(format!("commit {sha}\n").as_bytes()),
            Some(7)
        );
        assert_eq!(boundary_oid_offset(format!("{sha}\n").as_bytes()), Some(0));
        assert_eq!(boundary_oid_offset(b"From: A <a@b>\n"), None);
        assert_eq!(
            boundary_oid_offset(b"+84eb482301415abcada086c38a46bb12b411e6c6\n"),
            None
        );
    }

    #[test]
    fn batch_markers_round_trip() {
        let a = b"From 84eb482301415abcada086c38a46bb12b411e6c6 Mon Sep 17 00:00:00 2001\nx\n";
        let b = b"diff --git a/x b/x\n";
        let input = batch_input(&[
            PatchIdInput { key: 3, text: a },
            PatchIdInput { key: 7, text: b },
        ]);
        let text = String::from_utf8(input).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            format!("From {} Mon Sep 17 00:00:00 2001", marker(3, 0))
        );
        assert_eq!(
            lines[1],
            format!("From {} Mon Sep 17 00:00:00 2001", marker(3, 1))
        );
        assert_eq!(
            lines[3],
            format!("From {} Mon Sep 17 00:00:00 2001", marker(7, 0))
        );
        let out = format!(
            "aaaa {}\nbbbb {}\ncccc {}\n",
            marker(3, 2),
            marker(7, 0),
            marker(3, 1)
        );
        let ids = parse_batch_output(&out);
        assert_eq!(ids[&3], vec!["cccc".to_string(), "aaaa".to_string()]);
        assert_eq!(ids[&7], vec!["bbbb".to_string()]);
    }
}
