//! RPM spec editor: adds `PatchN:` tags to a spec file exactly like python-specfile 0.41.1
//! (`Specfile.add_patch`, as packit's `specfile_add_patches` calls it) and re-serialises the
//! spec the way the library saves it (packit opens the spec with `autosave=True`).
//!
//! What this module owns:
//! - splitting a spec into lines like Python's `str.splitlines()` and joining them back;
//! - the library's view of the text, recomputed from the literal lines on every call:
//!   sections (`Sections.parse`, including the macro-definition bodies in which no section can
//!   start), the tags of the main preamble (`Tags.parse`: comments, multi-line values, tags
//!   wrapped in `%{?cond:...}`) and the `%patchlist` entries (`Sourcelist.parse`);
//! - patch numbering, placement, tag name and separator, the `%endif` hoist and the duplicate
//!   number clean-up of `Sources`/`Patches`;
//! - the normalisations the library applies whenever it saves (CRLF → LF, re-rendered
//!   conditional-macro lines and section headers).
//!
//! What it must not do: evaluate macros, run rpm, read or write files, spawn processes. Where
//! the library asks rpm (the validity of `%if` branches, spotting condition keywords in
//! macro-expanded lines, and a section header whose last word expands to text starting with a
//! newline), the literal text is used instead; see [`Spec::add_patch`].

use std::borrow::Cow;
use std::collections::{HashSet, VecDeque};

// ===========================================================================================
// Public API
// ===========================================================================================

/// A spec file split into lines with just enough structure (sections, preamble tags,
/// `%patchlist` entries, macro-definition bodies, `%endif` lines) to add patch tags exactly
/// like python-specfile 0.41.1.
///
/// The structure is recomputed from the current lines on every call, in O(lines), the same
/// way the library re-parses the spec for every `add_patch`. The original text is kept so that
/// an untouched spec renders byte for byte.
#[derive(Debug, Clone)]
pub struct Spec {
    original: String,
    lines: Vec<String>,
    trailing_newline: bool,
    touched: bool,
}

/// Result of a successful [`Spec::add_patch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddOutcome {
    /// A new tag was inserted; `tag` is its name, e.g. `Patch0003`, `Patch10` or `Patch`.
    Added {
        /// Name of the new tag.
        tag: String,
    },
    /// A `Patch` tag or `%patchlist` entry whose value equals the name already exists (the
    /// library raises `DuplicateSourceException`, which packit ignores). The spec is still
    /// re-serialised, as packit's autosave does.
    AlreadyPresent,
}

/// Why [`Spec::add_patch`] refused to add a patch. The spec is left unchanged.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The requested number is not higher than every existing patch number (the library's
    /// `SourceNumberException`; packit reports it and stops).
    #[error(
        "patch number {requested} requested for {name} is not higher than the highest \
         existing patch number {highest}"
    )]
    PatchNumberTooLow {
        /// Location (file name) of the patch that was being added.
        name: String,
        /// The requested number (`Patch-id`).
        requested: u32,
        /// The highest number among the existing patches.
        highest: u64,
    },
    /// A `%endif`, `%else` or `%elif` without an open `%if` in the main preamble or a
    /// `%patchlist` section: the library's `process_conditions` fails with `IndexError`, so
    /// packit would crash (exit 4). rpm rejects such a spec as well.
    #[error("line {line}: conditional without a matching %if")]
    UnbalancedConditional {
        /// 1-based line number of the conditional.
        line: usize,
    },
    /// python-specfile cannot tokenize the options of a section header (an unterminated macro
    /// or quote, or a trailing backslash), so packit would crash (exit 4) on this spec.
    #[error(
        "line {line}: python-specfile cannot parse the options of this section header: {reason}"
    )]
    SectionHeader {
        /// 1-based line number of the section header.
        line: usize,
        /// What the library's tokenizer chokes on.
        reason: &'static str,
    },
}

impl Spec {
    /// Splits `text` into lines like Python's `str.splitlines()`. Never fails; the original
    /// text is kept for [`Spec::render`].
    pub fn parse(text: &str) -> Spec {
        Spec {
            original: text.to_owned(),
            lines: py_splitlines(text).into_iter().map(str::to_owned).collect(),
            trailing_newline: text.ends_with('\n'),
            touched: false,
        }
    }

    /// Numbers of all existing patches, in the library's order: `Patch` tags of the main
    /// preamble in file order (an un-numbered `Patch:` is the previous number + 1, starting at
    /// 0), then the `%patchlist` entries (numbered from the last tag's number + 1, restarting
    /// for every `%patchlist` section, as the library does). Numbers above `u32::MAX` saturate.
    pub fn patch_numbers(&self) -> Vec<u32> {
        let analysis = Analysis::new(&self.lines);
        analysis
            .numbers()
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
            .collect()
    }

    /// Whether a `Patch` tag of the main preamble or a `%patchlist` entry has exactly the
    /// value `name` (the literal value, as the library's duplicate check compares it).
    pub fn has_patch_named(&self, name: &str) -> bool {
        Analysis::new(&self.lines).has_location(name)
    }

    /// Adds a patch like `Specfile.add_patch(name, number, comment, initial_number=1,
    /// number_digits=digits)`:
    ///
    /// - number: `number` if given (it must be higher than every existing patch number,
    ///   otherwise [`SpecError::PatchNumberTooLow`]; this check comes before the duplicate
    ///   check), else `max(highest + 1, 1)`;
    /// - a patch with the same value already present → [`AddOutcome::AlreadyPresent`];
    /// - placement, name and separator as `Patches.insert_numbered` computes them, including
    ///   the `%endif` hoist of `Tags.insert` and the renaming of duplicate numbers after the
    ///   new tag (`_deduplicate_tag_names`);
    /// - `comment` is split like `str.splitlines()` and every line is written as `"# " + line`
    ///   above the tag; an empty comment writes no line.
    ///
    /// After `Ok`, the spec is "touched": [`Spec::render`] returns the library's
    /// re-serialisation, because packit's autosave rewrites the file after every call, even
    /// when the patch was already present. So call this for every patch packit would pass to
    /// `add_patch` (all but the `present_in_specfile` ones), without pre-checking
    /// [`Spec::has_patch_named`]: a CRLF spec becomes LF even if every patch is already listed.
    /// Tags inside `%if` branches count whatever the condition, since nothing is evaluated
    /// (the library only uses rpm there for validity, which does not influence the result).
    ///
    /// On `Err` the spec is left unchanged (the library would still re-serialise it, but
    /// packit stops with an error and the conversion must not write anything).
    pub fn add_patch(
        &mut self,
        name: &str,
        number: Option<u32>,
        comment: &str,
        digits: u32,
    ) -> Result<AddOutcome, SpecError> {
        let plan = Analysis::new(&self.lines).plan_add(name, number, comment, digits)?;
        for (index, line) in plan.replace {
            self.lines[index] = line;
        }
        self.lines
            .splice(plan.insert_at..plan.insert_at, plan.insert);
        self.touched = true;
        Ok(plan.outcome)
    }

    /// Whether [`Spec::add_patch`] has succeeded at least once, i.e. whether packit would have
    /// rewritten the file. The rendered text can still equal the original.
    pub fn is_modified(&self) -> bool {
        self.touched
    }

    /// The spec text: the original bytes if [`Spec::is_modified`] is false; otherwise the
    /// lines joined with `\n`, plus a final `\n` iff the original ended with `\n` (so CRLF
    /// and the other line breaks of `str.splitlines()` become LF).
    pub fn render(&self) -> String {
        if !self.touched {
            return self.original.clone();
        }
        let mut text = self.lines.join("\n");
        if self.trailing_newline {
            text.push('\n');
        }
        text
    }
}

// ===========================================================================================
// Analysis: the library's view of the current lines
// ===========================================================================================

/// Valid section names (`constants.SECTION_NAMES`).
const SECTION_NAMES: &[&str] = &[
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

/// Valid tag names (`constants.TAG_NAMES`).
const TAG_NAMES: &[&str] = &[
    "autoprov",
    "autoreq",
    "autoreqprov",
    "bugurl",
    "buildarch",
    "buildarchitectures",
    "buildconflicts",
    "buildoption",
    "buildprereq",
    "buildrequires",
    "buildroot",
    "buildsystem",
    "conflicts",
    "distribution",
    "disttag",
    "disturl",
    "docdir",
    "enhances",
    "epoch",
    "excludearch",
    "excludeos",
    "exclusivearch",
    "exclusiveos",
    "group",
    "icon",
    "license",
    "modularitylabel",
    "name",
    "nopatch",
    "nosource",
    "obsoletes",
    "orderwithrequires",
    "packager",
    "patch",
    "prefix",
    "prefixes",
    "prereq",
    "provides",
    "recommends",
    "release",
    "removepathpostfixes",
    "requires",
    "source",
    "sourcelicense",
    "suggests",
    "summary",
    "supplements",
    "translationurl",
    "upstreamreleases",
    "url",
    "vcs",
    "vendor",
    "version",
];

/// Tags that may carry a `(qualifier)` (`constants.TAGS_WITH_ARG`).
const TAGS_WITH_ARG: &[&str] = &[
    "group",
    "orderwithrequires",
    "prereq",
    "requires",
    "summary",
];

/// One tag of the main preamble, as `Tags.parse` sees it.
#[derive(Debug)]
struct TagLine<'a> {
    /// First line of the tag.
    start: usize,
    /// One past its last line (more than one line when the value has open `%{`/`%(`).
    end: usize,
    /// `%{?cond:` when the whole line is a conditional macro expansion, else empty.
    prefix: &'a str,
    /// Name, separator and value (continuation lines joined with `\n`).
    body: Cow<'a, str>,
    name_end: usize,
    sep_end: usize,
    /// `}` of a conditional line and/or the trailing whitespace.
    suffix: &'a str,
}

impl TagLine<'_> {
    fn name(&self) -> &str {
        &self.body[..self.name_end]
    }

    fn separator(&self) -> &str {
        &self.body[self.name_end..self.sep_end]
    }

    fn value(&self) -> &str {
        &self.body[self.sep_end..]
    }

    /// `Tags.get_raw_section_data` for this tag, with another name and separator.
    fn render_with(&self, name: &str, separator: &str) -> String {
        format!(
            "{}{name}{separator}{}{}",
            self.prefix,
            self.value(),
            self.suffix
        )
    }
}

/// A `Patch` tag (`Sources._get_tags`).
#[derive(Debug, Clone, Copy)]
struct PatchTag {
    /// Index in `Analysis::tags`.
    tag: usize,
    number: u64,
    /// Un-numbered `Patch:` (numbered implicitly).
    implicit: bool,
}

/// How a tag name counts for patches.
enum NameKind<'a> {
    PatchImplicit,
    PatchNumbered(&'a str),
    SourceLike,
    Other,
}

/// Where and how the new tag goes (`Patches.insert_numbered`).
struct Slot {
    /// Index in the list of all preamble tags.
    tag_index: usize,
    /// Index in the list of patch tags.
    patch_pos: usize,
    name: String,
    separator: String,
}

/// Line edits for one `add_patch` call: replacements first, then one insertion.
struct Plan {
    replace: Vec<(usize, String)>,
    insert_at: usize,
    insert: Vec<String>,
    outcome: AddOutcome,
}

/// Sections of the file (`Sections.parse`).
struct Layout {
    preamble_end: usize,
    headers: Vec<usize>,
    /// Content line ranges of the `%patchlist` sections.
    patchlists: Vec<(usize, usize)>,
}

/// The library's structure of the current lines.
struct Analysis<'a> {
    lines: &'a [String],
    layout: Layout,
    tags: Vec<TagLine<'a>>,
    /// Preamble lines whose re-serialisation differs from the text.
    rewrites: Vec<(usize, String)>,
    patch_tags: Vec<PatchTag>,
    list_entries: Vec<&'a str>,
    list_numbers: Vec<u64>,
}

impl<'a> Analysis<'a> {
    /// Parses `lines` the way `Specfile.patches()` does.
    fn new(lines: &'a [String]) -> Self {
        let layout = scan_sections(lines);
        let (tags, rewrites) = parse_preamble(lines, layout.preamble_end);
        let patch_tags = collect_patch_tags(&tags);
        let base = patch_tags.last().map_or(0, |p| p.number.saturating_add(1));
        let mut list_entries = Vec::new();
        let mut list_numbers = Vec::new();
        for &(start, end) in &layout.patchlists {
            let entries = lines[start..end].iter().filter(|l| is_list_entry(l));
            for (i, line) in entries.enumerate() {
                list_entries.push(line.as_str());
                list_numbers.push(base.saturating_add(i as u64));
            }
        }
        Analysis {
            lines,
            layout,
            tags,
            rewrites,
            patch_tags,
            list_entries,
            list_numbers,
        }
    }

    /// Numbers of all patches: tags, then `%patchlist` entries.
    fn numbers(&self) -> impl Iterator<Item = u64> + '_ {
        let tags = self.patch_tags.iter().map(|p| p.number);
        tags.chain(self.list_numbers.iter().copied())
    }

    /// `location in patches`: the duplicate check of `Sources.insert_numbered`.
    fn has_location(&self, name: &str) -> bool {
        self.patch_tags
            .iter()
            .any(|p| self.tags[p.tag].value() == name)
            || self.list_entries.contains(&name)
    }

    /// `_detect_implicit_numbering` over the existing patch tags.
    fn implicit_numbering(&self) -> bool {
        self.patch_tags.len() > 1 && self.patch_tags.iter().all(|p| p.implicit)
    }

    /// The whole `add_patch` call as line edits, or the library's error.
    fn plan_add(
        &self,
        name: &str,
        number: Option<u32>,
        comment: &str,
        digits: u32,
    ) -> Result<Plan, SpecError> {
        let mut replace = self.rewrites.clone();
        replace.extend(self.header_rewrites()?);
        self.check_conditions()?;
        let number = self.new_number(name, number)?;
        if self.has_location(name) {
            let outcome = AddOutcome::AlreadyPresent;
            let (insert_at, insert) = (0, Vec::new());
            return Ok(Plan {
                replace,
                insert_at,
                insert,
                outcome,
            });
        }
        let slot = self.placement(number, digits);
        let insert_at = self.insertion_line(slot.tag_index);
        let mut insert = comment_lines(comment);
        let tag_line = format!("{}{}{name}", slot.name, slot.separator);
        insert.extend(tag_line.split('\n').map(str::to_owned));
        replace.extend(self.dedup_renames(slot.patch_pos, &slot.name));
        let outcome = AddOutcome::Added { tag: slot.name };
        Ok(Plan {
            replace,
            insert_at,
            insert,
            outcome,
        })
    }

    /// `add_patch`'s number: the requested one if it is higher than every existing number,
    /// else an error; without a request, `max(highest + 1, initial_number=1)`.
    fn new_number(&self, name: &str, requested: Option<u32>) -> Result<u64, SpecError> {
        let highest = self.numbers().max();
        match (requested, highest) {
            (Some(requested), Some(highest)) if u64::from(requested) <= highest => {
                let name = name.to_owned();
                Err(SpecError::PatchNumberTooLow {
                    name,
                    requested,
                    highest,
                })
            }
            (Some(requested), _) => Ok(u64::from(requested)),
            (None, highest) => Ok(highest.map_or(1, |h| h.saturating_add(1).max(1))),
        }
    }

    /// `insert_numbered` + `_get_initial_tag_setup`: the tag index, name and separator.
    fn placement(&self, number: u64, digits: u32) -> Slot {
        let implicit = self.implicit_numbering();
        let closest = self
            .patch_tags
            .iter()
            .enumerate()
            .min_by_key(|(_, p)| p.number.abs_diff(number));
        if let Some((k, patch)) = closest {
            let (patch_pos, tag_index) = if patch.number < number {
                (k + 1, patch.tag + 1)
            } else {
                (k, patch.tag)
            };
            let tag = &self.tags[patch.tag];
            let ref_digits = if patch.implicit {
                0
            } else {
                number_digits(tag.name())
            };
            let (name, separator) =
                tag_format(tag.name(), tag.separator(), ref_digits, implicit, number);
            return Slot {
                tag_index,
                patch_pos,
                name,
                separator,
            };
        }
        let source = self
            .tags
            .iter()
            .rposition(|t| matches!(name_kind(t.name()), NameKind::SourceLike));
        if let Some(index) = source {
            let tag = &self.tags[index];
            let (name, separator) =
                tag_format(tag.name(), tag.separator(), digits, implicit, number);
            return Slot {
                tag_index: index + 1,
                patch_pos: 0,
                name,
                separator,
            };
        }
        Slot {
            tag_index: self.tags.len(),
            patch_pos: 0,
            name: format!("Patch{}", number_suffix(number, digits)),
            separator: ": ".to_owned(),
        }
    }

    /// `Tags.insert`: the new tag follows tag `tag_index - 1`, but the lines up to and
    /// including the first `%endif` among the lines that precede the next tag (or end the
    /// preamble) move above it.
    fn insertion_line(&self, tag_index: usize) -> usize {
        let start = match tag_index {
            0 => 0,
            i => self.tags[i - 1].end,
        };
        let end = self
            .tags
            .get(tag_index)
            .map_or(self.layout.preamble_end, |t| t.start);
        let endif = self.lines[start..end]
            .iter()
            .position(|l| l.starts_with("%endif"));
        endif.map_or(start, |p| start + p + 1)
    }

    /// `_deduplicate_tag_names(start)` after the new tag (named `new_name`) is inserted at
    /// `pos` among the patch tags: a numbered tag that repeats its predecessor's number is
    /// renamed to that number + 1.
    fn dedup_renames(&self, pos: usize, new_name: &str) -> Vec<(usize, String)> {
        let mut seq: Vec<Option<usize>> = self.patch_tags.iter().map(|p| Some(p.tag)).collect();
        seq.insert(pos, None);
        let names: Vec<&str> = seq
            .iter()
            .map(|t| t.map_or(new_name, |i| self.tags[i].name()))
            .collect();
        let mut numbers = implied_numbers(&names);
        let implicit = names.len() > 1
            && names
                .iter()
                .all(|n| matches!(name_kind(n), NameKind::PatchImplicit));
        let mut renames = Vec::new();
        for j in pos + 1..seq.len() {
            if numbers[j] != numbers[j - 1] {
                continue;
            }
            let wanted = numbers[j - 1].saturating_add(1);
            let (Some(index), NameKind::PatchNumbered(_)) = (seq[j], name_kind(names[j])) else {
                numbers[j] = wanted;
                continue;
            };
            let tag = &self.tags[index];
            let digits = number_digits(tag.name());
            let (name, separator) =
                tag_format(tag.name(), tag.separator(), digits, implicit, wanted);
            numbers[j] = match name_kind(&name) {
                NameKind::PatchNumbered(d) => parse_number(d),
                _ => 0,
            };
            let rendered = tag.render_with(&name, &separator);
            renames.extend((tag.start..).zip(rendered.split('\n').map(str::to_owned)));
        }
        renames
    }

    /// `process_conditions` over the preamble and every `%patchlist` section must not meet a
    /// `%endif`/`%else`/`%elif` at depth 0.
    fn check_conditions(&self) -> Result<(), SpecError> {
        let sections = std::iter::once((0, self.layout.preamble_end));
        for (start, end) in sections.chain(self.layout.patchlists.iter().copied()) {
            check_section_conditions(&self.lines[start..end]).map_err(|index| {
                SpecError::UnbalancedConditional {
                    line: start + index + 1,
                }
            })?;
        }
        Ok(())
    }

    /// Section headers whose options the library re-renders differently.
    fn header_rewrites(&self) -> Result<Vec<(usize, String)>, SpecError> {
        let mut rewrites = Vec::new();
        for &index in &self.layout.headers {
            let line = self.lines[index].as_str();
            let name_end = 1 + section_name_len(line).unwrap_or(0);
            let rest = &line[name_end..];
            let options = trim_start_py(rest);
            if options.len() == rest.len() || !options.contains(['\\', '\'', '"', '%']) {
                continue;
            }
            let rendered =
                normalize_options(options).map_err(|reason| SpecError::SectionHeader {
                    line: index + 1,
                    reason,
                })?;
            if rendered != options {
                let head = &line[..line.len() - options.len()];
                rewrites.push((index, format!("{head}{rendered}")));
            }
        }
        Ok(rewrites)
    }
}

/// The numbers `_get_tags` gives a sequence of patch tag names.
fn implied_numbers(names: &[&str]) -> Vec<u64> {
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

/// `Sources._get_tags`: the `Patch` tags of the preamble with their (implied) numbers.
fn collect_patch_tags(tags: &[TagLine<'_>]) -> Vec<PatchTag> {
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

/// `Tag.normalized_name` tests: `== "Patch"`, `Patch\d+`, `Source\d*` (which also matches
/// `SourceLicense`, as in the library).
fn name_kind(name: &str) -> NameKind<'_> {
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
fn number_digits(name: &str) -> u32 {
    let digits = name.trim_start_matches(|c: char| !c.is_ascii_digit());
    match digits.len() {
        0 => 0,
        n if digits.starts_with('0') => u32::try_from(n).unwrap_or(u32::MAX),
        _ => 1,
    }
}

/// `int()` of an ASCII digit string, saturating (Python's ints do not overflow).
fn parse_number(digits: &str) -> u64 {
    digits.bytes().fold(0u64, |n, b| {
        n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    })
}

/// `f"{number:0{digits}}"`, or nothing for 0 digits.
fn number_suffix(number: u64, digits: u32) -> String {
    match digits {
        0 => String::new(),
        width => format!("{number:0width$}", width = width as usize),
    }
}

/// `Sources._get_tag_format`: name with the requested digits; the separator keeps the value
/// column of the reference tag, shrinking (down to a bare `:`) when the name is longer.
fn tag_format(
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

/// `Comments.extend(comment.splitlines())`, rendered.
fn comment_lines(comment: &str) -> Vec<String> {
    py_splitlines(comment)
        .into_iter()
        .map(|line| format!("# {line}"))
        .collect()
}

/// `Sourcelist.parse`: a non-empty line that does not start (after whitespace) with `#`.
fn is_list_entry(line: &str) -> bool {
    !line.is_empty() && !trim_start_py(line).starts_with('#')
}

// ===========================================================================================
// Sections and the preamble
// ===========================================================================================

/// `Sections.parse`: section headers, except inside macro-definition bodies.
fn scan_sections(lines: &[String]) -> Layout {
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
fn section_name_len(line: &str) -> Option<usize> {
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

/// `Tags.parse` over the preamble lines `0..end`: the tags, plus the lines the library
/// re-renders differently (conditional-macro lines and some multi-line values).
fn parse_preamble(lines: &[String], end: usize) -> (Vec<TagLine<'_>>, Vec<(usize, String)>) {
    let mut tags = Vec::new();
    let mut rewrites = Vec::new();
    let mut i = 0;
    while i < end {
        let raw = lines[i].as_str();
        let (stripped, ws) = split_trailing_ws(raw);
        let conditional = split_conditional(stripped);
        let (prefix, body, suffix) = match conditional {
            Some((prefix_len, body)) => {
                let (prefix, suffix) = (&stripped[..prefix_len], &raw[stripped.len() - 1..]);
                let rendered = format!("{prefix}{body}{suffix}");
                if rendered != raw {
                    rewrites.push((i, rendered));
                }
                (prefix, Cow::Owned(body), suffix)
            }
            None => ("", Cow::Borrowed(stripped), ws),
        };
        let Some((name_end, sep_end)) = match_tag(&body) else {
            i += 1;
            continue;
        };
        let is_plain = prefix.is_empty();
        let mut tag = TagLine {
            start: i,
            end: i + 1,
            prefix,
            body,
            name_end,
            sep_end,
            suffix,
        };
        if is_plain {
            extend_value(&mut tag, lines, end, &mut rewrites);
        }
        i = tag.end;
        tags.push(tag);
    }
    (tags, rewrites)
}

/// Multi-line tag values: while `%{`/`%(` are open, the next line joins the value. Like the
/// library, the trailing whitespace of a continuation line without any is the previous
/// line's (so re-rendering may add whitespace; those lines are recorded as rewrites).
fn extend_value<'a>(
    tag: &mut TagLine<'a>,
    lines: &'a [String],
    end: usize,
    rewrites: &mut Vec<(usize, String)>,
) {
    let mut brackets = Brackets::default();
    brackets.feed(tag.value());
    let mut ws = tag.suffix;
    while brackets.open() && tag.end < end {
        let (next, next_ws) = split_trailing_ws(&lines[tag.end]);
        let body = tag.body.to_mut();
        body.push_str(ws);
        body.push('\n');
        body.push_str(next);
        brackets.feed(next);
        if !next_ws.is_empty() {
            ws = next_ws;
        }
        tag.end += 1;
    }
    tag.suffix = ws;
    if tag.end - tag.start > 1 {
        let rendered = tag.render_with(tag.name(), tag.separator());
        for (index, line) in (tag.start..).zip(rendered.split('\n')) {
            if lines[index] != line {
                rewrites.push((index, line.to_owned()));
            }
        }
    }
}

/// The tag regexes of `Tags.parse`: `^(name)(\s*:\s*)(.+)` case-insensitively, where `source`
/// and `patch` take `\d*` and the tags of `TAGS_WITH_ARG` an optional `(qualifier)`.
/// Returns the byte offsets where the name and the separator end.
fn match_tag(line: &str) -> Option<(usize, usize)> {
    let letters = line.bytes().take_while(u8::is_ascii_alphabetic).count();
    let word = &line[..letters];
    let tag = TAG_NAMES.iter().find(|t| t.eq_ignore_ascii_case(word))?;
    let mut name_end = letters;
    if *tag == "source" || *tag == "patch" {
        name_end += line[letters..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
    } else if TAGS_WITH_ARG.contains(tag) {
        name_end += qualifier_len(&line[letters..]);
    }
    let after = trim_start_py(&line[name_end..]).strip_prefix(':')?;
    let value = trim_start_py(after);
    let mut sep_end = line.len() - value.len();
    if value.is_empty() {
        // `.+` needs a character: the greedy `\s*` gives one back, if it has any.
        let last = after.chars().next_back()?;
        sep_end -= last.len_utf8();
    }
    Some((name_end, sep_end))
}

/// `(?:\s*\(\s*[^\s)]*\s*\))?` at the start of `s`: its length, 0 if it does not match.
fn qualifier_len(s: &str) -> usize {
    let Some(inner) = trim_start_py(s).strip_prefix('(') else {
        return 0;
    };
    let inner = trim_start_py(inner);
    let word = inner.trim_start_matches(|c: char| !py_isspace(c) && c != ')');
    match trim_start_py(word).strip_prefix(')') {
        Some(rest) => s.len() - rest.len(),
        None => 0,
    }
}

// ===========================================================================================
// Conditions (`conditions.process_conditions`), only to know when the library fails
// ===========================================================================================

/// Walks the lines of one section like `process_conditions` (outside the section's own
/// macro definitions, with `\`-continued expressions swallowing lines); `Err(index)` where
/// it would fail.
fn check_section_conditions(lines: &[String]) -> Result<(), usize> {
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

// ===========================================================================================
// Macro definitions (`MacroDefinitions._parse`), only to know where no section can start
// ===========================================================================================

/// Line ranges of the macro definitions of `lines` (one section, or the whole file) whose
/// lines the library excludes from section and condition parsing. `get_position` finds a
/// definition with `list.index`, i.e. the first *equal* one (same lines and same preceding
/// lines), so a repeated definition gets the earlier one's range and its own lines are not
/// excluded.
fn excluded_macro_ranges(lines: &[String]) -> Vec<(usize, usize)> {
    let mut seen: HashSet<(&[String], &[String])> = HashSet::new();
    let mut ranges = Vec::new();
    let (mut previous_end, mut i) = (0, 0);
    while i < lines.len() {
        let Some(count) = macro_definition_lines(lines, i) else {
            i += 1;
            continue;
        };
        if seen.insert((&lines[previous_end..i], &lines[i..i + count])) {
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

// ===========================================================================================
// Text helpers (Python semantics)
// ===========================================================================================

/// Python's `str.isspace()` for one character (also what `\s` matches in `re`).
fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

fn trim_start_py(s: &str) -> &str {
    s.trim_start_matches(py_isspace)
}

fn trim_end_py(s: &str) -> &str {
    s.trim_end_matches(py_isspace)
}

/// `re.split(r"([^\S\n]+)$", line)`: the line without its trailing whitespace, and that
/// whitespace.
fn split_trailing_ws(line: &str) -> (&str, &str) {
    let stripped = line.trim_end_matches(|c: char| c != '\n' && py_isspace(c));
    (stripped, &line[stripped.len()..])
}

/// Python's `str.splitlines()`.
fn py_splitlines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if !matches!(
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
        ) {
            continue;
        }
        lines.push(&text[start..i]);
        start = i + c.len_utf8();
        if c == '\r' && chars.next_if(|&(_, n)| n == '\n').is_some() {
            start += 1;
        }
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// `utils.count_brackets`, resumable line by line (the joining `\n` never counts).
#[derive(Debug, Default)]
struct Brackets {
    braces: u64,
    parens: u64,
}

impl Brackets {
    fn open(&self) -> bool {
        self.braces > 0 || self.parens > 0
    }

    fn feed(&mut self, s: &str) {
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

// ===========================================================================================
// `value_parser.ValueParser` (only what re-rendering needs)
// ===========================================================================================

/// A parsed node. Only enclosed macro substitutions (`%{name args}`) re-render differently
/// (arguments re-joined with single spaces); they are stored already rendered in `Other`.
#[derive(Debug, Clone)]
enum Node {
    Literal(String),
    Other(String),
    Conditional { condition: String, body: Vec<Node> },
}

/// `UnterminatedMacroException`.
#[derive(Debug)]
struct Unterminated;

fn render_nodes(nodes: &[Node], out: &mut String) {
    for node in nodes {
        match node {
            Node::Literal(s) | Node::Other(s) => out.push_str(s),
            Node::Conditional { condition, body } => {
                out.push_str("%{");
                out.push_str(condition);
                out.push(':');
                render_nodes(body, out);
                out.push('}');
            }
        }
    }
}

/// `split_conditional_macro_expansion`: if the whole line is one `%{?cond:body}` (or
/// `%{!?cond:...}`), the byte length of `%{?cond:` and the re-rendered body.
fn split_conditional(line: &str) -> Option<(usize, String)> {
    if !line.starts_with("%{") {
        return None;
    }
    let chars: Vec<char> = line.chars().collect();
    let nodes = parse_value(&chars).ok()?;
    let [Node::Conditional { condition, body }] = nodes.as_slice() else {
        return None;
    };
    let mut rendered = String::new();
    render_nodes(body, &mut rendered);
    Some((condition.len() + 3, rendered))
}

/// `ValueParser.parse`, quirks included (the `%%` skip offset is added to `start`).
fn parse_value(v: &[char]) -> Result<Vec<Node>, Unterminated> {
    let n = v.len();
    let mut result = Vec::new();
    let (mut start, mut start0, mut offset) = (0, 0, 0);
    while start < n {
        let Some(end) = (start + offset..n).find(|&k| v[k] == '%') else {
            break;
        };
        if end + 1 >= n {
            return Err(Unterminated);
        }
        if v[end + 1] == '%' {
            offset = end + 2;
            continue;
        }
        start = end;
        let close = find_macro_end(v, start + 1).ok_or(Unterminated)?;
        let node = match v[start + 1] {
            '{' => match brace_node(v, start, close)? {
                Some(node) => node,
                None => {
                    start += 2;
                    continue;
                }
            },
            _ => Node::Other(v[start..close].iter().collect()),
        };
        if start > start0 {
            result.push(Node::Literal(v[start0..start].iter().collect()));
        }
        result.push(node);
        (start, start0, offset) = (close, close, 0);
    }
    if start0 < n {
        result.push(Node::Literal(v[start0..].iter().collect()));
    }
    Ok(result)
}

/// `%{...}` from `start` to `close`: conditional, single-argument or enclosed substitution;
/// `None` when the library skips it as literal text (invalid macro name).
fn brace_node(v: &[char], start: usize, close: usize) -> Result<Option<Node>, Unterminated> {
    let inner = &v[start + 2..close - 1];
    let delimiter = inner.iter().position(|c| matches!(c, ' ' | ':' | '}'));
    if let Some(idx) = delimiter.filter(|&i| inner[i] == ':') {
        let condition: String = inner[..idx].iter().collect();
        let name = condition.trim_start_matches(['?', '!']);
        if condition[..condition.len() - name.len()].contains('?') {
            let body = parse_value(&inner[idx + 1..])?;
            return Ok(Some(Node::Conditional { condition, body }));
        }
        return Ok(Some(Node::Other(v[start..close].iter().collect())));
    }
    let name: String = inner[..delimiter.unwrap_or(inner.len())].iter().collect();
    let name = name.trim_start_matches(['?', '!']);
    let mut name_chars = name.chars();
    let valid = name_chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name_chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Ok(None);
    }
    let body: String = inner.iter().collect();
    let rest = body.trim_start_matches(['?', '!']);
    let prefix = &body[..body.len() - rest.len()];
    let words: Vec<&str> = rest.split(py_isspace).filter(|w| !w.is_empty()).collect();
    Ok(Some(Node::Other(format!(
        "%{{{prefix}{}}}",
        words.join(" ")
    ))))
}

/// `find_macro_end`: index after the macro whose name starts at `i`.
fn find_macro_end(v: &[char], mut i: usize) -> Option<usize> {
    let n = v.len();
    if matches!(v[i], '(' | '{' | '[') {
        return matching_bracket(v, i);
    }
    while i < n && matches!(v[i], '?' | '!') {
        i += 1;
    }
    if i < n && v[i] == '-' {
        i += 1;
    }
    while i < n && (v[i].is_alphanumeric() || v[i] == '_') {
        i += 1;
    }
    if i < n && matches!(v[i], '*' | '#') {
        i += 1;
    }
    Some(i)
}

/// `find_matching_parenthesis`: backslashes are skipped but do not escape anything.
fn matching_bracket(v: &[char], index: usize) -> Option<usize> {
    let open = v[index];
    let close = match open {
        '(' => ')',
        '{' => '}',
        _ => ']',
    };
    let mut level = 0i64;
    for (k, &c) in v.iter().enumerate().skip(index) {
        if c == '\\' {
            continue;
        }
        if c == close {
            level -= 1;
            if level <= 0 {
                return Some(k + 1);
            }
        } else if c == open {
            level += 1;
        }
    }
    None
}

// ===========================================================================================
// Section-header options (`Options.tokenize` and `Token.__str__`)
// ===========================================================================================

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenKind {
    Default,
    Whitespace,
    Quoted,
    DoubleQuoted,
}

/// One input element of the tokenizer: a literal character or a whole macro node.
#[derive(Debug)]
enum Elem {
    Char(char),
    Macro(String),
}

impl Elem {
    fn is(&self, c: char) -> bool {
        matches!(self, Elem::Char(x) if *x == c)
    }

    fn push_to(&self, s: &mut String) {
        match self {
            Elem::Char(c) => s.push(*c),
            Elem::Macro(m) => s.push_str(m),
        }
    }
}

/// Re-renders an option string the way `str(Options(Options.tokenize(s)))` does.
fn normalize_options(s: &str) -> Result<String, &'static str> {
    let mut out = String::new();
    for (kind, value) in tokenize_options(s)? {
        match kind {
            TokenKind::Whitespace => out.push_str(&value),
            TokenKind::Quoted => out.push_str(&format!("'{}'", value.replace('\'', "\\'"))),
            TokenKind::DoubleQuoted => out.push_str(&format!("\"{}\"", value.replace('"', "\\\""))),
            TokenKind::Default => render_default_token(&value, &mut out)?,
        }
    }
    Ok(out)
}

/// `Token.__str__` for a plain token: quotes and whitespace of literal text are escaped.
fn render_default_token(value: &str, out: &mut String) -> Result<(), &'static str> {
    let chars: Vec<char> = value.chars().collect();
    let nodes = parse_value(&chars).map_err(|_| "unterminated macro")?;
    for node in &nodes {
        let Node::Literal(text) = node else {
            render_nodes(std::slice::from_ref(node), out);
            continue;
        };
        for c in text.chars() {
            if matches!(c, '\'' | '"') || py_isspace(c) {
                out.push('\\');
            }
            out.push(c);
        }
    }
    Ok(())
}

/// `Options.tokenize` (poptParseArgvString rules).
fn tokenize_options(s: &str) -> Result<Vec<(TokenKind, String)>, &'static str> {
    let chars: Vec<char> = s.chars().collect();
    let nodes = parse_value(&chars).map_err(|_| "unterminated macro")?;
    let mut input: VecDeque<Elem> = VecDeque::new();
    for node in &nodes {
        match node {
            Node::Literal(text) => input.extend(text.chars().map(Elem::Char)),
            other => {
                let mut rendered = String::new();
                render_nodes(std::slice::from_ref(other), &mut rendered);
                input.push_back(Elem::Macro(rendered));
            }
        }
    }
    let mut tokens = Vec::new();
    let mut token = String::new();
    let mut quote: Option<char> = None;
    while let Some(elem) = input.pop_front() {
        if let Some(q) = quote {
            quoted_elem(elem, q, &mut input, &mut token, &mut tokens, &mut quote)?;
            continue;
        }
        match elem {
            Elem::Char(c) if py_isspace(c) => {
                flush(&mut token, TokenKind::Default, &mut tokens);
                let ws = take_whitespace(c, &mut input);
                tokens.push((TokenKind::Whitespace, ws));
            }
            Elem::Char(c @ ('"' | '\'')) => {
                flush(&mut token, TokenKind::Default, &mut tokens);
                quote = Some(c);
            }
            Elem::Char('\\') => input
                .pop_front()
                .ok_or("no escaped character")?
                .push_to(&mut token),
            other => other.push_to(&mut token),
        }
    }
    if quote.is_some() {
        return Err("no closing quotation");
    }
    flush(&mut token, TokenKind::Default, &mut tokens);
    Ok(tokens)
}

/// One element inside quotes.
fn quoted_elem(
    elem: Elem,
    q: char,
    input: &mut VecDeque<Elem>,
    token: &mut String,
    tokens: &mut Vec<(TokenKind, String)>,
    quote: &mut Option<char>,
) -> Result<(), &'static str> {
    if elem.is(q) {
        let kind = if q == '\'' {
            TokenKind::Quoted
        } else {
            TokenKind::DoubleQuoted
        };
        flush(token, kind, tokens);
        *quote = None;
        return Ok(());
    }
    if elem.is('\\') {
        let next = input.pop_front().ok_or("no escaped character")?;
        if !next.is(q) {
            token.push('\\');
        }
        next.push_to(token);
        return Ok(());
    }
    elem.push_to(token);
    Ok(())
}

fn flush(token: &mut String, kind: TokenKind, tokens: &mut Vec<(TokenKind, String)>) {
    if !token.is_empty() {
        tokens.push((kind, std::mem::take(token)));
    }
}

/// A whitespace run starting with `first`.
fn take_whitespace(first: char, input: &mut VecDeque<Elem>) -> String {
    let mut ws = String::from(first);
    while let Some(Elem::Char(c)) = input.front() {
        if !py_isspace(*c) {
            break;
        }
        ws.push(*c);
        input.pop_front();
    }
    ws
}

// ===========================================================================================
// Tests
// ===========================================================================================

#[cfg(test)]
mod tests {
    use super::*;

    type Call<'a> = (&'a str, Option<u32>, &'a str, u32);

    /// Applies `calls` (each must add a tag) and returns the rendered spec.
    fn run(text: &str, calls: &[Call<'_>]) -> String {
        let mut spec = Spec::parse(text);
        for &(name, number, comment, digits) in calls {
            let outcome = spec.add_patch(name, number, comment, digits).unwrap();
            assert!(
                matches!(outcome, AddOutcome::Added { .. }),
                "{name}: {outcome:?}"
            );
        }
        spec.render()
    }

    fn added(spec: &mut Spec, name: &str, number: Option<u32>, digits: u32) -> String {
        match spec.add_patch(name, number, "", digits).unwrap() {
            AddOutcome::Added { tag } => tag,
            AddOutcome::AlreadyPresent => panic!("{name} already present"),
        }
    }

    // --- §2.9 confirmed examples ----------------------------------------------------------

    #[test]
    fn confirmed_source0_wide_separator_four_digits() {
        let out = run("Source0:        x\n", &[("a.patch", None, "", 4)]);
        assert_eq!(out, "Source0:        x\nPatch0001:      a.patch\n");
    }

    #[test]
    fn confirmed_source0_single_space_four_digits_has_no_space() {
        let out = run("Source0: x\n", &[("a.patch", None, "", 4)]);
        assert_eq!(out, "Source0: x\nPatch0001:a.patch\n");
    }

    #[test]
    fn confirmed_unnumbered_source_one_digit() {
        let out = run("Source:         x\n", &[("a.patch", None, "", 1)]);
        assert_eq!(out, "Source:         x\nPatch1:         a.patch\n");
    }

    #[test]
    fn confirmed_digits_zero_gives_bare_patch() {
        let out = run("Source0: x\n", &[("a.patch", None, "", 0)]);
        assert_eq!(out, "Source0: x\nPatch:   a.patch\n");
    }

    #[test]
    fn confirmed_patch10_after_patch3_shrinks_to_bare_colon() {
        let out = run(
            "Source0: x\nPatch3: b.patch\n",
            &[("c.patch", Some(10), "", 4)],
        );
        assert_eq!(out, "Source0: x\nPatch3: b.patch\nPatch10:c.patch\n");
    }

    // --- §2.10 worked example ---------------------------------------------------------------

    #[test]
    fn worked_example_of_the_format_doc() {
        let input = "Name: hello\n\
            Source0:        https://example.com/hello/%{name}-%{version}.tar.gz\n\
            \n\
            BuildArch:      noarch\n\
            \n\
            %description\nHello.\n";
        let out = run(
            input,
            &[
                (
                    "0001-fix-greeting.patch",
                    Some(1),
                    "# Fix the greeting\n# upstream: not yet\n",
                    4,
                ),
                ("readme.patch", Some(2), "Apply patch readme.patch", 4),
                (
                    "0003-Document-things.patch",
                    None,
                    "Document things\n\nLonger explanation\nspanning two lines.\n",
                    4,
                ),
                ("excited.patch", Some(10), "Touch code and distro", 4),
            ],
        );
        let expected = "Name: hello\n\
            Source0:        https://example.com/hello/%{name}-%{version}.tar.gz\n\
            # # Fix the greeting\n\
            # # upstream: not yet\n\
            Patch0001:      0001-fix-greeting.patch\n\
            # Apply patch readme.patch\n\
            Patch0002:      readme.patch\n\
            # Document things\n\
            # \n\
            # Longer explanation\n\
            # spanning two lines.\n\
            Patch0003:      0003-Document-things.patch\n\
            # Touch code and distro\n\
            Patch0010:      excited.patch\n\
            \n\
            BuildArch:      noarch\n\
            \n\
            %description\nHello.\n";
        assert_eq!(out, expected);
    }

    #[test]
    fn worked_example_later_run_with_folded_subject() {
        let input = "Source0:        x\nPatch0012:      old.patch\n\nBuildArch: noarch\n";
        let comment = "[PATCH 10/11] This is a very long subject line that will certainly be\n \
                       folded by git format-patch because it is long\n\nBody of long.\n";
        let out = run(input, &[("0010-long.patch", None, comment, 4)]);
        let expected = "Source0:        x\nPatch0012:      old.patch\n\
            # [PATCH 10/11] This is a very long subject line that will certainly be\n\
            #  folded by git format-patch because it is long\n\
            # \n\
            # Body of long.\n\
            Patch0013:      0010-long.patch\n\nBuildArch: noarch\n";
        assert_eq!(out, expected);
    }

    // --- placement ----------------------------------------------------------------------------

    #[test]
    fn goes_after_the_last_source_tag_before_blank_lines() {
        let input = "Name: x\nSource0: a\nSource1: b\n\n# deps\nBuildRequires: gcc\n";
        let out = run(input, &[("p.patch", None, "c", 1)]);
        let expected = "Name: x\nSource0: a\nSource1: b\n# c\nPatch1:  p.patch\n\n# deps\nBuildRequires: gcc\n";
        assert_eq!(out, expected);
    }

    #[test]
    fn last_source_in_file_order_even_in_false_branch() {
        let input = "Source1: b\n%if 0\nSource0: a\n%endif\nBuildRequires: gcc\n";
        let out = run(input, &[("p.patch", None, "", 1)]);
        let expected =
            "Source1: b\n%if 0\nSource0: a\n%endif\nPatch1:  p.patch\nBuildRequires: gcc\n";
        assert_eq!(out, expected);
    }

    #[test]
    fn endif_after_source_in_if_else_is_hoisted_above_the_new_tags() {
        let input = "URL: u\n%if 0%{?fedora}\nSource0:        a.tgz\n%else\nSource0:        b.tgz\n%endif\n\nBuildRequires:  gcc\n";
        let out = run(
            input,
            &[("1.patch", None, "one", 4), ("2.patch", None, "two", 4)],
        );
        let expected = "URL: u\n%if 0%{?fedora}\nSource0:        a.tgz\n%else\nSource0:        b.tgz\n%endif\n\
            # one\nPatch0001:      1.patch\n# two\nPatch0002:      2.patch\n\nBuildRequires:  gcc\n";
        assert_eq!(out, expected);
    }

    #[test]
    fn endif_hoist_stops_at_the_first_endif_and_keeps_following_comments() {
        let input = "%if a\n%if b\nSource0: x\n%endif\n%endif\n# about gcc\nBuildRequires: gcc\n";
        let out = run(input, &[("p.patch", None, "", 1)]);
        let expected = "%if a\n%if b\nSource0: x\n%endif\nPatch1:  p.patch\n%endif\n# about gcc\nBuildRequires: gcc\n";
        assert_eq!(out, expected);
    }

    #[test]
    fn indented_endif_is_not_hoisted() {
        let input = "%if a\nSource0: x\n  %endif\nBuildRequires: gcc\n";
        let out = run(input, &[("p.patch", None, "", 1)]);
        assert_eq!(
            out,
            "%if a\nSource0: x\nPatch1:  p.patch\n  %endif\nBuildRequires: gcc\n"
        );
    }

    #[test]
    fn endif_hoist_from_the_end_of_the_preamble() {
        let input = "Name: x\n%if 1\nSource0: x\n%endif\n\n%description\nd\n";
        let out = run(input, &[("p.patch", None, "", 1)]);
        assert_eq!(
            out,
            "Name: x\n%if 1\nSource0: x\n%endif\nPatch1:  p.patch\n\n%description\nd\n"
        );
    }

    #[test]
    fn without_source_tag_goes_after_the_last_tag_with_default_separator() {
        let input = "Name: x\n%global a 1\n\n%if 1\n%global b 2\n%endif\n\n%description\nd\n";
        let out = run(input, &[("a.patch", None, "c", 4)]);
        let expected = "Name: x\n%global a 1\n\n%if 1\n%global b 2\n%endif\n# c\nPatch0001: a.patch\n\n%description\nd\n";
        assert_eq!(out, expected);
    }

    #[test]
    fn without_any_tag_goes_to_the_top_of_the_preamble() {
        let out = run(
            "%global a 1\n\n%description\nd\n",
            &[("a.patch", None, "", 1)],
        );
        assert_eq!(out, "Patch1: a.patch\n%global a 1\n\n%description\nd\n");
        let out = run(
            "%global a 1\n%if 1\n%endif\n%prep\n",
            &[("a.patch", None, "", 0)],
        );
        assert_eq!(out, "%global a 1\n%if 1\n%endif\nPatch: a.patch\n%prep\n");
    }

    #[test]
    fn empty_spec_gets_just_the_tag() {
        assert_eq!(
            run("", &[("a.patch", None, "c", 4)]),
            "# c\nPatch0001: a.patch"
        );
    }

    #[test]
    fn sourcelicense_counts_as_a_source_tag_for_placement() {
        let out = run(
            "Name: x\nSourceLicense: MIT\nLicense: MIT\n",
            &[("n.patch", None, "", 4)],
        );
        assert_eq!(
            out,
            "Name: x\nSourceLicense: MIT\nPatch0001:     n.patch\nLicense: MIT\n"
        );
    }

    #[test]
    fn tags_of_subpackages_and_other_sections_are_ignored() {
        let input = "Source0: x\n%package doc\nPatch7: doc.patch\nSource9: y\n%description doc\nPatch8: z\n";
        let mut spec = Spec::parse(input);
        assert!(spec.patch_numbers().is_empty());
        assert!(!spec.has_patch_named("doc.patch"));
        assert_eq!(added(&mut spec, "a.patch", None, 1), "Patch1");
        assert!(
            spec.render()
                .starts_with("Source0: x\nPatch1:  a.patch\n%package doc\n")
        );
    }

    #[test]
    fn macro_definition_body_does_not_start_a_section() {
        let input = "%global desc %{expand:\nSome text.\n%description\n}\nSource0: x\n\n%description\n%desc\n";
        let out = run(input, &[("a.patch", None, "", 1)]);
        let expected = "%global desc %{expand:\nSome text.\n%description\n}\nSource0: x\nPatch1:  a.patch\n\n%description\n%desc\n";
        assert_eq!(out, expected);
    }

    #[test]
    fn multi_line_tag_value_is_kept_whole() {
        let input = "Source0: %(echo a \\\n  b)\nBuildArch: noarch\n";
        let out = run(input, &[("p.patch", None, "", 1)]);
        assert_eq!(
            out,
            "Source0: %(echo a \\\n  b)\nPatch1:  p.patch\nBuildArch: noarch\n"
        );
    }

    // --- existing patch tags ------------------------------------------------------------------

    #[test]
    fn goes_after_the_highest_numbered_patch_not_the_last_one() {
        let input = "Source0: x\nPatch9: nine.patch\nPatch2: two.patch\n\nBuildArch: noarch\n";
        let out = run(input, &[("n.patch", None, "", 4)]);
        let expected = "Source0: x\nPatch9: nine.patch\nPatch10:n.patch\nPatch2: two.patch\n\nBuildArch: noarch\n";
        assert_eq!(out, expected);
    }

    #[test]
    fn tie_on_the_closest_number_takes_the_first_tag() {
        let input = "Source0: x\nPatch5: a.patch\nPatch5:  b.patch\n";
        let out = run(input, &[("n.patch", None, "", 4)]);
        assert_eq!(
            out,
            "Source0: x\nPatch5: a.patch\nPatch6: n.patch\nPatch5:  b.patch\n"
        );
    }

    #[test]
    fn duplicate_numbers_after_the_new_tag_are_renamed() {
        let input = "Source0: x\nPatch9:\t x.patch\nPatch2: b.patch\nPatch2: c.patch\nPatch: d.patch\nPatch3: e.patch\n";
        let mut spec = Spec::parse(input);
        assert_eq!(spec.patch_numbers(), [9, 2, 2, 3, 3]);
        assert_eq!(added(&mut spec, "n.patch", None, 4), "Patch10");
        let expected = "Source0: x\nPatch9:\t x.patch\nPatch10:\tn.patch\nPatch2: b.patch\nPatch3: c.patch\nPatch: d.patch\nPatch3: e.patch\n";
        assert_eq!(spec.render(), expected);
        assert_eq!(spec.patch_numbers(), [9, 10, 2, 3, 4, 3]);
    }

    #[test]
    fn existing_width_wins_over_digits_and_grows_for_big_ids() {
        let input =
            "Source0:        x\n\n# old\nPatch0009:      old.patch\n\nBuildRequires:  gcc\n";
        let out = run(
            input,
            &[
                ("a.patch", None, "", 1),
                ("b.patch", Some(100), "", 1),
                ("c.patch", Some(12345), "", 1),
            ],
        );
        let expected = "Source0:        x\n\n# old\nPatch0009:      old.patch\nPatch0010:      a.patch\n\
            Patch0100:      b.patch\nPatch12345:     c.patch\n\nBuildRequires:  gcc\n";
        assert_eq!(out, expected);
    }

    #[test]
    fn tab_separator_shrinks_to_bare_colon() {
        let input = "Source0: x\n\nPatch8:\ta.patch\nPatch9:\tb.patch\n\nBuildRequires: gcc\n";
        let out = run(input, &[("c.patch", None, "", 4), ("d.patch", None, "", 4)]);
        let expected = "Source0: x\n\nPatch8:\ta.patch\nPatch9:\tb.patch\nPatch10:c.patch\nPatch11:d.patch\n\nBuildRequires: gcc\n";
        assert_eq!(out, expected);
    }

    #[test]
    fn separator_ending_in_colon_loses_the_colon_like_the_library() {
        // ` :`[:-1] is ` `: the new line is no tag any more, so the next patch gets 10 again.
        let out = run(
            "Source0: x\nPatch9 :x.patch\n",
            &[("c.patch", None, "", 4), ("d.patch", None, "", 4)],
        );
        assert_eq!(
            out,
            "Source0: x\nPatch9 :x.patch\nPatch10 d.patch\nPatch10 c.patch\n"
        );
    }

    #[test]
    fn implicit_numbering_with_two_unnumbered_tags() {
        let input = "Source0: x\n\nPatch:          first.patch\nPatch:          second.patch\n\nBuildRequires: gcc\n";
        let mut spec = Spec::parse(input);
        assert_eq!(spec.patch_numbers(), [0, 1]);
        assert_eq!(added(&mut spec, "third.patch", None, 4), "Patch");
        assert_eq!(added(&mut spec, "fourth.patch", Some(7), 4), "Patch");
        let expected = "Source0: x\n\nPatch:          first.patch\nPatch:          second.patch\n\
            Patch:          third.patch\nPatch:          fourth.patch\n\nBuildRequires: gcc\n";
        assert_eq!(spec.render(), expected);
        assert_eq!(spec.patch_numbers(), [0, 1, 2, 3]);
    }

    #[test]
    fn single_unnumbered_tag_also_gives_unnumbered_tags() {
        let out = run("Source0: x\nPatch: a.patch\n", &[("b.patch", None, "", 4)]);
        assert_eq!(out, "Source0: x\nPatch: a.patch\nPatch: b.patch\n");
    }

    #[test]
    fn numbered_and_unnumbered_mix() {
        let mut spec = Spec::parse("Source0: x\nPatch5: a.patch\nPatch: b.patch\n");
        assert_eq!(spec.patch_numbers(), [5, 6]);
        assert_eq!(added(&mut spec, "c.patch", None, 4), "Patch");
        assert_eq!(spec.patch_numbers(), [5, 6, 7]);
    }

    #[test]
    fn conditional_patch_tags_count_and_match_by_value() {
        let mut spec =
            Spec::parse("Source0: x\n%{?fedora:Patch3: cond.patch}\nBuildArch: noarch\n");
        assert_eq!(spec.patch_numbers(), [3]);
        assert!(spec.has_patch_named("cond.patch"));
        assert_eq!(added(&mut spec, "n.patch", None, 4), "Patch4");
        assert_eq!(
            spec.render(),
            "Source0: x\n%{?fedora:Patch3: cond.patch}\nPatch4: n.patch\nBuildArch: noarch\n"
        );
    }

    // --- numbering ------------------------------------------------------------------------------

    #[test]
    fn patch_ids_set_numbers_and_later_patches_continue() {
        let out = run(
            "Source0: x\n",
            &[
                ("a.patch", Some(3), "", 1),
                ("b.patch", None, "", 1),
                ("c.patch", Some(10), "", 1),
            ],
        );
        assert_eq!(
            out,
            "Source0: x\nPatch3:  a.patch\nPatch4:  b.patch\nPatch10: c.patch\n"
        );
    }

    #[test]
    fn patch_id_zero_is_allowed_when_there_are_no_patches() {
        assert_eq!(
            run("Source0:  x\n", &[("a.patch", Some(0), "", 2)]),
            "Source0:  x\nPatch00:  a.patch\n"
        );
    }

    #[test]
    fn patchlist_entries_are_numbered_after_the_last_tag() {
        let input = "Source0: x\n\n%patchlist\na.patch\n# c\n\n%if 1\nb.patch\n%endif\n%patchlist\nc.patch\n%patchlist \nd.patch\n";
        let mut spec = Spec::parse(input);
        assert_eq!(spec.patch_numbers(), [0, 1, 2, 3, 0]);
        assert!(spec.has_patch_named("b.patch"));
        assert!(!spec.has_patch_named("d.patch"));
        assert_eq!(added(&mut spec, "n.patch", None, 4), "Patch0004");
        assert!(
            spec.render()
                .starts_with("Source0: x\nPatch0004:n.patch\n\n%patchlist\n")
        );
        assert_eq!(spec.patch_numbers(), [4, 5, 6, 7, 8, 5]);
    }

    #[test]
    fn patchlist_entry_is_already_present() {
        let mut spec = Spec::parse("Source0: x\n%patchlist\n  x.patch\ny.patch\n");
        assert_eq!(
            spec.add_patch("y.patch", None, "", 1).unwrap(),
            AddOutcome::AlreadyPresent
        );
        assert!(!spec.has_patch_named("x.patch"));
        assert!(spec.has_patch_named("  x.patch"));
    }

    #[test]
    fn number_too_low_is_an_error_and_leaves_the_spec_alone() {
        let input = "Source0: x\r\nPatch5: a.patch\r\n";
        let mut spec = Spec::parse(input);
        for requested in [1, 5] {
            let err = spec
                .add_patch("b.patch", Some(requested), "", 1)
                .unwrap_err();
            let SpecError::PatchNumberTooLow { highest, .. } = err else {
                panic!("{err}")
            };
            assert_eq!(highest, 5);
        }
        // The number check comes first, even for a patch that is already there.
        assert!(spec.add_patch("a.patch", Some(2), "", 1).is_err());
        assert!(!spec.is_modified());
        assert_eq!(spec.render(), input);
        assert_eq!(added(&mut spec, "b.patch", Some(6), 1), "Patch6");
    }

    #[test]
    fn number_too_low_counts_patchlist_entries() {
        let mut spec = Spec::parse("Source0: x\n%patchlist\na.patch\nb.patch\n");
        assert!(spec.add_patch("c.patch", Some(1), "", 1).is_err());
        assert_eq!(added(&mut spec, "c.patch", Some(2), 1), "Patch2");
    }

    // --- AlreadyPresent -----------------------------------------------------------------------

    #[test]
    fn already_present_tag_value() {
        let input = "Source0: x\nPatch1: https://e.org/%{name}/1.patch\n";
        let mut spec = Spec::parse(input);
        assert!(spec.has_patch_named("https://e.org/%{name}/1.patch"));
        assert!(!spec.has_patch_named("1.patch"));
        let outcome = spec
            .add_patch("https://e.org/%{name}/1.patch", None, "c", 4)
            .unwrap();
        assert_eq!(outcome, AddOutcome::AlreadyPresent);
        assert!(spec.is_modified());
        assert_eq!(spec.render(), input);
    }

    #[test]
    fn already_present_still_reserialises_like_autosave() {
        let mut spec = Spec::parse("Source0: x\r\nPatch1: a.patch\r\n");
        assert_eq!(
            spec.add_patch("a.patch", None, "", 1).unwrap(),
            AddOutcome::AlreadyPresent
        );
        assert_eq!(spec.render(), "Source0: x\nPatch1: a.patch\n");
    }

    // --- comments -------------------------------------------------------------------------------

    #[test]
    fn comment_lines_are_prefixed_and_hashes_doubled() {
        let comment = "Subject\n\n# already a comment\n#tight\n  indented";
        let out = run("Source0: x\n", &[("p.patch", None, comment, 1)]);
        let expected = "Source0: x\n# Subject\n# \n# # already a comment\n# #tight\n#   indented\nPatch1:  p.patch\n";
        assert_eq!(out, expected);
    }

    #[test]
    fn comment_is_split_like_python_splitlines() {
        let comment = "a\r\nb\rc\x0bd\x0ce\x1cf\x1dg\x1eh\u{85}i\u{2028}j\u{2029}k\x1fl\n";
        let out = run("Source0: x\n", &[("p.patch", None, comment, 1)]);
        let lines: Vec<&str> = out.lines().collect();
        let expected = [
            "# a", "# b", "# c", "# d", "# e", "# f", "# g", "# h", "# i", "# j", "# k\x1fl",
        ];
        assert_eq!(&lines[1..12], expected);
        assert_eq!(lines[12], "Patch1:  p.patch");
    }

    #[test]
    fn empty_and_blank_comments() {
        assert_eq!(
            run("Source0: x\n", &[("p.patch", None, "", 1)]),
            "Source0: x\nPatch1:  p.patch\n"
        );
        assert_eq!(
            run("Source0: x\n", &[("p.patch", None, "\n", 1)]),
            "Source0: x\n# \nPatch1:  p.patch\n"
        );
        assert_eq!(
            run("Source0: x\n", &[("p.patch", None, "\n\n", 1)]),
            "Source0: x\n# \n# \nPatch1:  p.patch\n"
        );
    }

    // --- rendering ------------------------------------------------------------------------------

    #[test]
    fn untouched_spec_renders_byte_for_byte() {
        let inputs = [
            "",
            "\n",
            "Name: x\r\nSource0:\tx  \r\n%if 0%{?fedora}\r\n  %global a \\\r\n  b\r\n%endif\r\n",
            "Source0: %(echo a  \nb)\n%{?x:%global y %{z  a}}\n%files -n \\x\nno final newline",
            "Source0: x\rold mac\x0cform feed\x0b\u{2028}\u{85}\n\n\n",
            "%global body %{expand:\n%description\n}\n\t\n  \n%changelog\n* x\n",
        ];
        for input in inputs {
            let spec = Spec::parse(input);
            assert!(!spec.is_modified());
            assert_eq!(spec.render(), input);
        }
    }

    #[test]
    fn touched_spec_uses_lf_and_keeps_missing_final_newline() {
        let out = run(
            "Source0: x\r\nBuildArch: noarch",
            &[("p.patch", None, "", 1)],
        );
        assert_eq!(out, "Source0: x\nPatch1:  p.patch\nBuildArch: noarch");
        let out = run("Source0: x\rA: b\x0cc\r", &[("p.patch", None, "", 1)]);
        assert_eq!(out, "Source0: x\nPatch1:  p.patch\nA: b\nc");
    }

    #[test]
    fn library_rerenders_conditional_lines_and_section_headers() {
        let input = "Source0: x\n%{?x:%global y %{z  a}}\n%{?y:BuildRequires: %{b }}\n%files -n \\x\n%files -n \"q r\"\n";
        let out = run(input, &[("n.patch", None, "", 4)]);
        let expected = "Source0: x\nPatch0001:n.patch\n%{?x:%global y %{z a}}\n%{?y:BuildRequires: %{b}}\n%files -n x\n%files -n \"q r\"\n";
        assert_eq!(out, expected);
    }

    #[test]
    fn continuation_lines_get_the_previous_trailing_whitespace() {
        let out = run(
            "Source0: %(echo a  \nb)\nBuildArch: noarch\n",
            &[("n.patch", None, "", 4)],
        );
        assert_eq!(
            out,
            "Source0: %(echo a  \nb)  \nPatch0001:n.patch\nBuildArch: noarch\n"
        );
    }

    // --- library failures ---------------------------------------------------------------------

    #[test]
    fn unbalanced_conditionals_in_the_preamble_are_errors() {
        for input in [
            "Source0: x\n%endif\n",
            "Source0: x\n%else\n",
            "%elif 1\nSource0: x\n",
        ] {
            let mut spec = Spec::parse(input);
            let err = spec.add_patch("p.patch", None, "", 1).unwrap_err();
            assert!(
                matches!(err, SpecError::UnbalancedConditional { .. }),
                "{input:?}: {err}"
            );
            assert_eq!(spec.render(), input);
        }
        // Continued %if expressions, macro bodies and other sections are not checked.
        let fine = "%if a || \\\n%endif\nSource0: x\n%endif\n%global m %{expand:\n%endif\n}\n%prep\n%endif\n";
        assert!(Spec::parse(fine).add_patch("p.patch", None, "", 1).is_ok());
    }

    #[test]
    fn untokenizable_section_header_is_an_error() {
        let mut spec = Spec::parse("Source0: x\n%files -n \"foo\n/x\n");
        let err = spec.add_patch("p.patch", None, "", 1).unwrap_err();
        assert!(
            matches!(err, SpecError::SectionHeader { line: 2, .. }),
            "{err}"
        );
        assert!(!spec.is_modified());
    }

    // --- scale ----------------------------------------------------------------------------------

    #[test]
    fn hundreds_of_patches_on_a_long_spec() {
        let mut text = String::from("Name: big\nSource0:        big.tgz\n\n");
        for i in 0..300 {
            text.push_str(&format!("BuildRequires:  lib{i}-devel\n"));
        }
        text.push_str("\n%description\nBig.\n\n%changelog\n");
        for i in 0..580 {
            text.push_str(&format!("- entry {i}\n"));
        }
        let mut spec = Spec::parse(&text);
        for i in 1..=430u32 {
            let name = format!("{i:04}-fix.patch");
            assert_eq!(added(&mut spec, &name, None, 4), format!("Patch{i:04}"));
        }
        assert_eq!(spec.patch_numbers(), (1..=430).collect::<Vec<u32>>());
        let out = spec.render();
        assert!(out.contains("Source0:        big.tgz\nPatch0001:      0001-fix.patch\n"));
        assert!(out.contains("Patch0430:      0430-fix.patch\n\nBuildRequires:  lib0-devel\n"));
    }

    // --- helpers --------------------------------------------------------------------------------

    #[test]
    fn splitlines_matches_python() {
        assert!(py_splitlines("").is_empty());
        assert_eq!(py_splitlines("\n"), [""]);
        assert_eq!(py_splitlines("a\r\n\rb\n\nc"), ["a", "", "b", "", "c"]);
        assert_eq!(py_splitlines("a\u{2028}b\u{85}"), ["a", "b"]);
    }

    #[test]
    fn tag_matching() {
        assert_eq!(match_tag("Patch0001:      a"), Some((9, 16)));
        assert_eq!(match_tag("patch12 :\tx"), Some((7, 10)));
        assert_eq!(match_tag("Requires(post): x"), Some((14, 16)));
        assert_eq!(match_tag("Patch1: "), Some((6, 7)));
        for line in [
            "Patch1:",
            "Patch1a: x",
            "Sources: x",
            "  Patch1: x",
            "Foo: x",
            "%patch1: x",
        ] {
            assert_eq!(match_tag(line), None, "{line}");
        }
    }

    #[test]
    fn value_parser_rendering() {
        let render = |s: &str| {
            let chars: Vec<char> = s.chars().collect();
            let mut out = String::new();
            render_nodes(&parse_value(&chars).unwrap(), &mut out);
            out
        };
        assert_eq!(
            render("a %{b  c } %(d  e) %{?f:%{g  h}} %%{i  j}"),
            "a %{b c} %(d  e) %{?f:%{g h}} %%{i  j}"
        );
        assert!(parse_value(&['a', '%']).is_err());
        assert_eq!(
            split_conditional("%{!?x:Patch1: %{a  b}}"),
            Some((6, "Patch1: %{a b}".to_owned()))
        );
        assert_eq!(split_conditional("%{x:y}"), None);
        assert_eq!(split_conditional("%{?x:y} z"), None);
    }

    #[test]
    fn options_normalisation() {
        assert_eq!(
            normalize_options("-n %{name}-devel -f x.lang").unwrap(),
            "-n %{name}-devel -f x.lang"
        );
        assert_eq!(
            normalize_options("-n \"a b\" 'c' d\\ e \\q \"\"").unwrap(),
            "-n \"a b\" 'c' d\\ e q "
        );
        assert!(normalize_options("-n 'x").is_err());
        assert!(normalize_options("x\\").is_err());
    }
}
