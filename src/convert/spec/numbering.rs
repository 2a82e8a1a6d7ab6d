//! Patch numbering and tag naming as python-specfile does it: which tag names are patches
//! (`Patch`, `PatchN`) or source-like (`Source*`), the numbers of the preamble's patch tags
//! (explicit, or implied by the previous one), the digits of a number, and a new tag's name
//! and separator (`_get_tag_format`).
//!
//! It must not decide where a tag goes (`analysis` does), parse lines (`tags`), or do I/O.

use super::tags::TagLine;

/// A `Patch` tag (`Sources._get_tags`).
#[derive(Debug, Clone, Copy)]
pub(super) struct PatchTag {
    /// Index in `Analysis::tags`.
    pub(super) tag: usize,
    pub(super) number: u64,
    /// Un-numbered `Patch:` (numbered implicitly).
    pub(super) implicit: bool,
}

/// How a tag name counts for patches.
pub(super) enum NameKind<'a> {
    PatchImplicit,
    PatchNumbered(&'a str),
    SourceLike,
    Other,
}

/// `Sources._get_tags`: the `Patch` tags of the preamble with their (implied) numbers.
pub(super) fn collect_patch_tags(tags: &[TagLine<'_>]) -> Vec<PatchTag> {
    let mut last: Option<u64> = None;
    let mut patches = Vec::new();
    for (tag, line) in tags.iter().enumerate() {
        let (number, implicit) = match name_kind(line.name()) {
            NameKind::PatchImplicit => (last.map_or(0, |l| l.saturating_add(1)), true),
            NameKind::PatchNumbered(d) => (parse_number(d), false),
            NameKind::SourceLike | NameKind::Other => continue,
        };
        patches.push(PatchTag {
            tag,
            number,
            implicit,
        });
        last = Some(number);
    }
    patches
}

/// The numbers `_get_tags` gives a sequence of patch tag names.
pub(super) fn implied_numbers(names: &[&str]) -> Vec<u64> {
    let mut last: Option<u64> = None;
    let mut numbers = Vec::with_capacity(names.len());
    for name in names {
        let number = match name_kind(name) {
            NameKind::PatchNumbered(d) => parse_number(d),
            _ => last.map_or(0, |l| l.saturating_add(1)),
        };
        numbers.push(number);
        last = Some(number);
    }
    numbers
}

/// `Tag.normalized_name` tests: `== "Patch"`, `Patch\d+`, `Source\d*` (which also matches
/// `SourceLicense`, as in the library).
pub(super) fn name_kind(name: &str) -> NameKind<'_> {
    let starts = |prefix: &str| {
        name.get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
    };
    if starts("patch") {
        let digits = &name[5..];
        if digits.is_empty() {
            return NameKind::PatchImplicit;
        }
        if digits.bytes().all(|b| b.is_ascii_digit()) {
            return NameKind::PatchNumbered(digits);
        }
    }
    if starts("source") {
        return NameKind::SourceLike;
    }
    NameKind::Other
}

/// `TagSource.number_digits` of a numbered tag: the width if the number has a leading zero,
/// else 1.
pub(super) fn number_digits(name: &str) -> u32 {
    let digits = name.trim_start_matches(|c: char| !c.is_ascii_digit());
    match digits.len() {
        0 => 0,
        n if digits.starts_with('0') => u32::try_from(n).unwrap_or(u32::MAX),
        _ => 1,
    }
}

/// `int()` of an ASCII digit string, saturating (Python's ints do not overflow).
pub(super) fn parse_number(digits: &str) -> u64 {
    digits.bytes().fold(0u64, |n, b| {
        n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    })
}

/// `f"{number:0{digits}}"`, or nothing for 0 digits.
pub(super) fn number_suffix(number: u64, digits: u32) -> String {
    match digits {
        0 => String::new(),
        width => format!("{number:0width$}", width = width as usize),
    }
}

/// `Sources._get_tag_format`: name with the requested digits; the separator keeps the value
/// column of the reference tag, shrinking (down to a bare `:`) when the name is longer.
pub(super) fn tag_format(
    ref_name: &str,
    ref_separator: &str,
    digits: u32,
    implicit: bool,
    number: u64,
) -> (String, String) {
    let suffix = if implicit {
        String::new()
    } else {
        number_suffix(number, digits)
    };
    let name = format!("Patch{suffix}");
    let ref_len = ref_name.chars().count();
    let new_len = name.chars().count();
    if ref_len >= new_len {
        let separator = format!("{ref_separator}{}", " ".repeat(ref_len - new_len));
        return (name, separator);
    }
    let keep = ref_separator
        .chars()
        .count()
        .saturating_sub(new_len - ref_len);
    let separator: String = ref_separator.chars().take(keep).collect();
    if separator.is_empty() {
        return (name, ":".to_owned());
    }
    (name, separator)
}
