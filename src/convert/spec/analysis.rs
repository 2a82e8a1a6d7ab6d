//! The library's view of the current lines ([`Analysis`]: sections, preamble tags, patch
//! tags, `%patchlist` entries) and the `add_patch` planner built on it: the new number, the
//! duplicate check, placement (closest patch number, last source-like tag, `%endif` hoist),
//! the tag line with its comment, the renaming of duplicate numbers, and the re-rendered lines
//! the library's save would change. The result is a [`Plan`] of line edits.
//!
//! It must not edit the lines itself ([`super::Spec::add_patch`] applies the plan), evaluate
//! macros, or do I/O.

use crate::convert::pytext::splitlines;

use super::conditions::check_section_conditions;
use super::numbering::{
    NameKind, PatchTag, collect_patch_tags, implied_numbers, name_kind, number_digits,
    number_suffix, parse_number, tag_format,
};
use super::options::normalize_options;
use super::sections::{Layout, is_list_entry, scan_sections, section_name_len};
use super::tags::{TagLine, parse_preamble};
use super::text::trim_start_py;
use super::{AddOutcome, SpecError};

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
pub(super) struct Plan {
    pub(super) replace: Vec<(usize, String)>,
    pub(super) insert_at: usize,
    pub(super) insert: Vec<String>,
    pub(super) outcome: AddOutcome,
}

/// The library's structure of the current lines.
pub(super) struct Analysis<'a> {
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
    pub(super) fn new(lines: &'a [String]) -> Self {
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
    pub(super) fn numbers(&self) -> impl Iterator<Item = u64> + '_ {
        let tags = self.patch_tags.iter().map(|p| p.number);
        tags.chain(self.list_numbers.iter().copied())
    }

    /// `location in patches`: the duplicate check of `Sources.insert_numbered`.
    pub(super) fn has_location(&self, name: &str) -> bool {
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
    pub(super) fn plan_add(
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

/// `Comments.extend(comment.splitlines())`, rendered.
fn comment_lines(comment: &str) -> Vec<String> {
    splitlines(comment)
        .into_iter()
        .map(|line| format!("# {line}"))
        .collect()
}
