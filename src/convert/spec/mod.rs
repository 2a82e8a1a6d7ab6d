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

//!
//! Layout (all submodules are private and pure):
//! - this file: the public API and the line model ([`Spec`]: lines in, text out);
//! - `analysis`: the library's view of the current lines and the `add_patch` planner;
//! - `numbering`: patch numbers, tag names and separators;
//! - `sections`: section headers and `%patchlist` entries;
//! - `tags`: the tags of the main preamble;
//! - `conditions`: `%if`/`%endif` balance, only to know when the library fails;
//! - `macros`: macro-definition bodies, where no section or condition starts;
//! - `value`: the library's value parser (macro nodes), for re-rendering;
//! - `options`: section-header options, as the library re-renders them;
//! - `text`: Python-semantics text helpers (`\s`, trailing whitespace, bracket counting).

mod analysis;
mod conditions;
mod macros;
mod numbering;
mod options;
mod sections;
mod tags;
mod text;
mod value;

use crate::convert::pytext::splitlines;

use analysis::Analysis;

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
            lines: splitlines(text).into_iter().map(str::to_owned).collect(),
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

    /// The literal value of the first tag of the main preamble named `name` (compared
    /// case-insensitively, like rpm), trimmed; macros are not expanded.
    pub fn tag_value(&self, name: &str) -> Option<String> {
        let layout = sections::scan_sections(&self.lines);
        let (tags, _) = tags::parse_preamble(&self.lines, layout.preamble_end);
        tags.iter()
            .find(|t| t.name().eq_ignore_ascii_case(name))
            .map(|t| t.value().trim().to_string())
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

#[cfg(test)]
mod tests;
