//! Trailer-mode patch processing one patch at a time, in the order `git format-patch`
//! writes them, so the work overlaps with git producing the next files.
//!
//! Each patch goes through packit's steps as soon as it arrives: metadata from its
//! trailers, `Ignore-patch`, squashing into the previous patch of the same name, and the
//! `PatchN:` tag in the spec. Trailer mode applies when *any* patch of the range has a
//! packit trailer, which is only known at the end: when none had one, [`PatchStream::finish`]
//! hands everything back for legacy processing. Errors keep packit's precedence (metadata
//! errors, then squashing, then the spec), whatever patch they come from.
//!
//! Pure; the caller feeds the files.

use std::collections::{BTreeMap, HashSet};

use super::patches::{self, Generated, PatchError, PatchMeta, PatchPlan};
use super::spec::{AddOutcome, Spec, SpecError};

/// What the stream produced.
#[derive(Debug)]
pub enum StreamOutcome {
    /// Trailer mode: the patches, their files and the spec edits.
    Trailers(TrailerResult),
    /// No patch had a packit trailer: legacy metadata decides; every generated file, in order.
    Legacy(Vec<Generated>),
}

/// The result of trailer mode.
#[derive(Debug)]
pub struct TrailerResult {
    /// Patches and file contents (ignored patches have no file).
    pub plan: PatchPlan,
    /// The new spec text, when packit would have rewritten it.
    pub spec: Option<String>,
    /// Tags added, e.g. `Patch0003`.
    pub tags: Vec<String>,
    /// git file names of the patches marked `No-prefix` (their files must come from
    /// `git format-patch --no-prefix`).
    pub no_prefix: Vec<String>,
    /// Every file the stream was fed, in order.
    pub generated: Vec<Generated>,
}

/// A failure while processing, classified by when packit would have noticed it.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// Reading a patch's metadata, or an unusable `Patch-name`.
    #[error(transparent)]
    Metadata(PatchError),
    /// Squashing (non-adjacent duplicate names).
    #[error(transparent)]
    Squash(PatchError),
    /// Adding a tag to the spec.
    #[error("{error}")]
    Spec {
        /// The patch being added.
        name: String,
        /// What the spec editor said.
        #[source]
        error: SpecError,
    },
}

/// Trailer-mode processing, one patch at a time.
#[derive(Debug)]
pub struct PatchStream {
    spec: Spec,
    digits: u32,
    generated: Vec<Generated>,
    kept: Vec<PatchMeta>,
    files: BTreeMap<String, Vec<u8>>,
    seen_names: HashSet<String>,
    tags: Vec<String>,
    no_prefix: Vec<String>,
    any_metadata: bool,
    metadata_error: Option<PatchError>,
    squash_error: Option<PatchError>,
    spec_error: Option<(String, SpecError)>,
}

impl PatchStream {
    /// A stream that adds tags to `spec_text` (the dist-git spec after the file sync).
    pub fn new(spec_text: &str, digits: u32) -> PatchStream {
        PatchStream {
            spec: Spec::parse(spec_text),
            digits,
            generated: Vec::new(),
            kept: Vec::new(),
            files: BTreeMap::new(),
            seen_names: HashSet::new(),
            tags: Vec::new(),
            no_prefix: Vec::new(),
            any_metadata: false,
            metadata_error: None,
            squash_error: None,
            spec_error: None,
        }
    }

    fn failed(&self) -> bool {
        self.metadata_error.is_some() || self.squash_error.is_some()
    }

    /// Processes the next file `git format-patch` wrote.
    pub fn push(&mut self, file: Generated) {
        let meta = patches::from_trailers(&file).and_then(|meta| {
            patches::check_name(&meta)?;
            Ok(meta)
        });
        self.generated.push(file);
        let meta = match meta {
            Ok(meta) => meta,
            Err(e) => {
                self.metadata_error.get_or_insert(e);
                return;
            }
        };
        self.any_metadata |= meta.metadata_defined;
        if meta.ignore || self.failed() {
            return;
        }
        if meta.no_prefix {
            self.no_prefix.push(meta.file.clone());
        }
        let Some(file) = self.generated.last() else {
            return;
        };
        if let Some(last) = self.kept.last().filter(|last| last.name == meta.name) {
            // adjacent same name: append to the previous patch's file
            self.files
                .entry(last.file.clone())
                .or_default()
                .extend_from_slice(&file.bytes);
            return;
        }
        if !self.seen_names.insert(meta.name.clone()) {
            self.squash_error = Some(PatchError::NonAdjacentDuplicate(meta.name));
            return;
        }
        self.files.insert(meta.file.clone(), file.bytes.clone());
        self.add_tag(&meta);
        self.kept.push(meta);
    }

    /// packit's `specfile_add_patches` for one patch; stops at the first error.
    fn add_tag(&mut self, meta: &PatchMeta) {
        if meta.present_in_specfile || self.spec_error.is_some() {
            return;
        }
        match self
            .spec
            .add_patch(&meta.name, meta.patch_id, &meta.spec_comment(), self.digits)
        {
            Ok(AddOutcome::Added { tag }) => self.tags.push(tag),
            Ok(AddOutcome::AlreadyPresent) => {}
            Err(error) => self.spec_error = Some((meta.name.clone(), error)),
        }
    }

    /// Ends the stream.
    pub fn finish(self) -> Result<StreamOutcome, StreamError> {
        if let Some(e) = self.metadata_error {
            return Err(StreamError::Metadata(e));
        }
        if !self.any_metadata {
            return Ok(StreamOutcome::Legacy(self.generated));
        }
        if let Some(e) = self.squash_error {
            return Err(StreamError::Squash(e));
        }
        if let Some((name, error)) = self.spec_error {
            return Err(StreamError::Spec { name, error });
        }
        let mut files = self.files;
        let mut patches = Vec::with_capacity(self.kept.len());
        let mut final_files = BTreeMap::new();
        for mut meta in self.kept {
            // packit renames each file to its Patch-name (overwriting a file of that name)
            let bytes = files.remove(&meta.file).unwrap_or_default();
            meta.file = meta.name.clone();
            final_files.insert(meta.name.clone(), bytes);
            patches.push(meta);
        }
        let spec = self.spec.is_modified().then(|| self.spec.render());
        Ok(StreamOutcome::Trailers(TrailerResult {
            plan: PatchPlan {
                patches,
                files: final_files,
            },
            spec,
            tags: self.tags,
            no_prefix: self.no_prefix,
            generated: self.generated,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str =
        "Name: x\nVersion: 1\nRelease: 1\nSource0:        x.tar.gz\n\n%description\nx\n";

    fn patch(file: &str, subject: &str, trailers: &str) -> Generated {
        let text = format!(
            "From 84eb482301415abcada086c38a46bb12b411e6c6 Mon Sep 17 00:00:00 2001\nFrom: A <a@b>\n\
             Subject: [PATCH] {subject}\n\nBody.\n\n{trailers}---\n x | 1 +\n\ndiff --git a/x b/x\n"
        );
        Generated {
            file_name: file.into(),
            bytes: text.into_bytes(),
        }
    }

    fn run(files: Vec<Generated>) -> Result<StreamOutcome, StreamError> {
        let mut stream = PatchStream::new(SPEC, 4);
        for f in files {
            stream.push(f);
        }
        stream.finish()
    }

    #[test]
    fn trailer_mode_squashes_ignores_and_tags() {
        let out = run(vec![
            patch("0001-A.patch", "A", "Patch-name: ab.patch\n"),
            patch("0002-I.patch", "I", "Ignore-patch: true\n"),
            patch("0003-B.patch", "B", "Patch-name: ab.patch\n"),
            patch("0004-C.patch", "C", ""),
        ])
        .unwrap();
        let StreamOutcome::Trailers(result) = out else {
            panic!("trailer mode")
        };
        let names: Vec<&str> = result
            .plan
            .patches
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(names, ["ab.patch", "0004-C.patch"]);
        assert_eq!(result.tags, ["Patch0001", "Patch0002"]);
        assert!(
            !result.plan.files.contains_key("0002-I.patch"),
            "an ignored patch leaves no file"
        );
        let ab = String::from_utf8(result.plan.files["ab.patch"].clone()).unwrap();
        assert_eq!(ab.matches("Subject: ").count(), 2);
        let spec = result.spec.unwrap();
        assert!(
            spec.contains("Patch0001:      ab.patch\n")
                && spec.contains("Patch0002:      0004-C.patch\n"),
            "{spec}"
        );
    }

    #[test]
    fn without_trailers_everything_goes_to_legacy_mode() {
        let out = run(vec![
            patch("0001-A.patch", "A", ""),
            patch("0002-B.patch", "B", ""),
        ])
        .unwrap();
        let StreamOutcome::Legacy(files) = out else {
            panic!("legacy mode")
        };
        assert_eq!(files.len(), 2);
    }

    #[test]
    fn squash_errors_win_over_spec_errors_that_came_first() {
        let err = run(vec![
            patch("0001-A.patch", "A", "Patch-name: a.patch\nPatch-id: 5\n"),
            patch("0002-B.patch", "B", "Patch-name: b.patch\nPatch-id: 3\n"),
            patch("0003-C.patch", "C", "Patch-name: a.patch\n"),
        ])
        .unwrap_err();
        assert!(
            matches!(err, StreamError::Squash(PatchError::NonAdjacentDuplicate(ref n)) if n == "a.patch"),
            "{err}"
        );
    }

    #[test]
    fn metadata_errors_win_over_everything() {
        let err = run(vec![
            patch("0001-A.patch", "A", "Patch-name: a.patch\n"),
            patch("0002-B.patch", "B", "Patch-name: a.patch\n"),
            patch("0003-C.patch", "C", "Patch-id: nope\n"),
        ])
        .unwrap_err();
        assert!(matches!(err, StreamError::Metadata(_)), "{err}");
    }

    #[test]
    fn a_low_patch_id_is_a_spec_error() {
        let err = run(vec![
            patch("0001-A.patch", "A", "Patch-id: 5\n"),
            patch("0002-B.patch", "B", "Patch-id: 3\n"),
        ])
        .unwrap_err();
        assert!(
            matches!(
                err,
                StreamError::Spec {
                    error: SpecError::PatchNumberTooLow { .. },
                    ..
                }
            ),
            "{err}"
        );
    }
}
