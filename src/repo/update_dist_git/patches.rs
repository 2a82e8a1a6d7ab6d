//! The patch half of `update-dist-git`: `git format-patch` over `upstream_ref..HEAD`
//! (started first, because it is the long pole), each file processed as soon as git has
//! written it, then packit's `undo_identical` against the patches dist-git tracks.

use std::collections::BTreeMap;

use git2::Oid;

use super::UpdateError;
use crate::convert::config::PackageConfig;
use crate::convert::patch_id::{self, PatchIdInput};
use crate::convert::patches::{self, Generated, Mode, PatchPlan, RangeCommit};
use crate::convert::spec::{AddOutcome, Spec, SpecError};
use crate::convert::stream::{PatchStream, StreamError, StreamOutcome};
use crate::repo::git::{self, FormatPatchRun, GitCli, GitError, Repo};

/// The patches, files and spec edits that dist-git gets.
#[derive(Debug)]
pub(super) struct Patches {
    /// Patch metadata and final file contents (before `undo_identical`).
    pub plan: PatchPlan,
    /// The new spec text, if packit would rewrite the spec.
    pub spec: Option<String>,
    /// Tags added.
    pub tags: Vec<String>,
}

/// A running patch generation.
pub(super) struct PatchJob {
    run: FormatPatchRun,
    base: Oid,
    head: Oid,
    range: String,
    excludes: Vec<String>,
    scratch: tempfile::TempDir,
}

/// A scratch directory inside dist-git's `.git`, invisible to the work tree and on the
/// same file system.
fn scratch_dir(dist_git: &Repo) -> Result<tempfile::TempDir, UpdateError> {
    crate::repo::transaction::sweep_stale_scratch(dist_git.git_dir());
    Ok(tempfile::Builder::new()
        .prefix(&format!("srcgit-{}-", std::process::id()))
        .tempdir_in(dist_git.git_dir())
        .map_err(GitError::io(
            "cannot create a scratch directory in",
            dist_git.git_dir(),
        ))?)
}

/// Up to five tags that look like `reference`, best first.
fn tags_near(repo: &Repo, reference: &str) -> Vec<String> {
    let mut tags = repo.tag_names();
    let common = |t: &str| {
        t.chars()
            .zip(reference.chars())
            .take_while(|(a, b)| a == b)
            .count()
    };
    tags.sort_by(|a, b| common(b).cmp(&common(a)).then_with(|| b.cmp(a)));
    tags.truncate(5);
    tags
}

/// `upstream_ref` as a commit; like packit, `origin/<ref>` is tried too.
fn resolve_upstream(repo: &Repo, reference: &str) -> Result<Oid, UpdateError> {
    repo.resolve_commit(reference)
        .or_else(|| repo.resolve_commit(&format!("origin/{reference}")))
        .ok_or_else(|| UpdateError::UnknownUpstreamRef {
            reference: reference.to_string(),
            near: tags_near(repo, reference),
        })
}

impl PatchJob {
    /// Resolves the range (linearising the history like packit when a commit has a parent
    /// outside it) and starts `git format-patch` into a scratch directory.
    #[tracing::instrument(level = "debug", skip_all, fields(upstream_ref = reference))]
    pub fn start(
        git: &GitCli,
        config: &PackageConfig,
        source_git: &Repo,
        source_head: Oid,
        dist_git: &Repo,
        reference: &str,
    ) -> Result<PatchJob, UpdateError> {
        let base = resolve_upstream(source_git, reference)?;
        let head =
            git::linearized_head(source_git.git2(), base, source_head)?.unwrap_or(source_head);
        let range = format!("{base}..{head}");
        let excludes = config.patch_excludes();
        let scratch = scratch_dir(dist_git)?;
        let run = git.spawn_format_patch(
            source_git.workdir(),
            scratch.path(),
            &range,
            &excludes,
            false,
        )?;
        Ok(PatchJob {
            run,
            base,
            head,
            range,
            excludes,
            scratch,
        })
    }

    /// Feeds every file to the trailer-mode stream while git writes them, then finishes in
    /// trailer or legacy mode.
    pub fn collect(
        mut self,
        git: &GitCli,
        source_git: &Repo,
        spec_text: &str,
        digits: u32,
    ) -> Result<Patches, UpdateError> {
        let mut stream = PatchStream::new(spec_text, digits);
        while let Some(file) = self.run.next_file()? {
            stream.push(file);
        }
        match stream.finish().map_err(stream_error)? {
            StreamOutcome::Trailers(result) if result.no_prefix.is_empty() => Ok(Patches {
                plan: result.plan,
                spec: result.spec,
                tags: result.tags,
            }),
            StreamOutcome::Trailers(result) => self.with_no_prefix(
                git,
                source_git,
                result.generated,
                &result.no_prefix,
                spec_text,
                digits,
            ),
            StreamOutcome::Legacy(generated) => {
                self.legacy(git, source_git, generated, spec_text, digits)
            }
        }
    }

    /// `No-prefix: true` in trailer mode (packit ignores it): the flagged files come from a
    /// second `git format-patch --no-prefix` over the same range, and the stream runs again.
    fn with_no_prefix(
        &self,
        git: &GitCli,
        source_git: &Repo,
        generated: Vec<Generated>,
        flagged: &[String],
        spec_text: &str,
        digits: u32,
    ) -> Result<Patches, UpdateError> {
        let dir = self.scratch.path().join("no-prefix");
        std::fs::create_dir_all(&dir).map_err(GitError::io("cannot create", &dir))?;
        let plain = git.format_patch(
            source_git.workdir(),
            &dir,
            &self.range,
            &self.excludes,
            true,
        )?;
        let mut stream = PatchStream::new(spec_text, digits);
        for file in generated {
            let replacement = flagged
                .contains(&file.file_name)
                .then(|| {
                    plain
                        .iter()
                        .find(|p| p.file_name == file.file_name)
                        .cloned()
                })
                .flatten();
            stream.push(replacement.unwrap_or(file));
        }
        match stream.finish().map_err(stream_error)? {
            StreamOutcome::Trailers(result) => Ok(Patches {
                plan: result.plan,
                spec: result.spec,
                tags: result.tags,
            }),
            // the same messages gave trailer mode a moment ago
            StreamOutcome::Legacy(_) => Err(UpdateError::Internal(
                "the --no-prefix patches lost their trailers".into(),
            )),
        }
    }

    /// packit's legacy metadata (YAML in commit messages), for ranges without trailers.
    fn legacy(
        &self,
        git: &GitCli,
        source_git: &Repo,
        generated: Vec<Generated>,
        spec_text: &str,
        digits: u32,
    ) -> Result<Patches, UpdateError> {
        let commits = range_commits(source_git, self.base, self.head)?;
        let legacy = patches::legacy_metadata(&generated, &commits)?;
        let mut files: BTreeMap<String, Vec<u8>> = generated
            .into_iter()
            .filter(|g| legacy.patches.iter().any(|m| m.file == g.file_name))
            .map(|g| (g.file_name, g.bytes))
            .collect();
        for name in &legacy.empty_files {
            files.insert(name.clone(), Vec::new());
        }
        let mut list = legacy.patches;
        for (i, meta) in list.iter_mut().enumerate().filter(|(_, m)| m.no_prefix) {
            let Some(sha) = meta.sha.clone() else {
                continue;
            };
            // packit regenerates such a commit alone, with --no-prefix
            let dir = self.scratch.path().join(format!("legacy-{i}"));
            std::fs::create_dir_all(&dir).map_err(GitError::io("cannot create", &dir))?;
            let single = git.format_patch(
                source_git.workdir(),
                &dir,
                &format!("{sha}^..{sha}"),
                &self.excludes,
                true,
            )?;
            if let Some(g) = single.into_iter().next() {
                files.remove(&meta.file);
                if meta.name == meta.file {
                    meta.name = g.file_name.clone();
                }
                meta.file = g.file_name.clone();
                files.insert(g.file_name, g.bytes);
            }
        }
        let plan = patches::assemble(list, Mode::Legacy, files)?;
        let (spec, tags) = add_patch_tags(spec_text, &plan, digits)?;
        Ok(Patches { plan, spec, tags })
    }
}

fn stream_error(e: StreamError) -> UpdateError {
    match e {
        StreamError::Metadata(e) | StreamError::Squash(e) => e.into(),
        StreamError::Spec {
            name,
            error: SpecError::PatchNumberTooLow { requested, .. },
        } => UpdateError::PatchIdTooLow { requested, name },
        StreamError::Spec { error, .. } => error.into(),
    }
}

/// Non-merge commits of `base..head`, oldest first (legacy metadata).
fn range_commits(repo: &Repo, base: Oid, head: Oid) -> Result<Vec<RangeCommit>, UpdateError> {
    let mut oids = git::date_order_walk(repo.git2(), head, Some(base))?;
    oids.reverse();
    let mut out = Vec::new();
    for oid in oids {
        let commit = repo
            .git2()
            .find_commit(oid)
            .map_err(GitError::git2("cannot read commit"))?;
        if commit.parent_count() > 1 {
            continue;
        }
        let is_empty = match commit.parent(0) {
            Ok(parent) => parent.tree_id() == commit.tree_id(),
            Err(_) => commit.tree().map(|t| t.is_empty()).unwrap_or(false),
        };
        let author = commit.author();
        out.push(RangeCommit {
            sha: oid.to_string(),
            message: String::from_utf8_lossy(commit.message_bytes()).into_owned(),
            author_name: String::from_utf8_lossy(author.name_bytes()).into_owned(),
            author_email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
            is_empty,
        });
    }
    Ok(out)
}

/// Adds the `PatchN:` tags in one go (packit's `specfile_add_patches`; legacy mode).
fn add_patch_tags(
    spec_text: &str,
    plan: &PatchPlan,
    digits: u32,
) -> Result<(Option<String>, Vec<String>), UpdateError> {
    if plan.patches.iter().all(|p| p.present_in_specfile) {
        return Ok((None, Vec::new()));
    }
    let mut spec = Spec::parse(spec_text);
    let mut tags = Vec::new();
    for patch in plan.patches.iter().filter(|p| !p.present_in_specfile) {
        match spec.add_patch(&patch.name, patch.patch_id, &patch.spec_comment(), digits) {
            Ok(AddOutcome::Added { tag }) => tags.push(tag),
            Ok(AddOutcome::AlreadyPresent) => {}
            Err(SpecError::PatchNumberTooLow { requested, .. }) => {
                return Err(UpdateError::PatchIdTooLow {
                    requested,
                    name: patch.name.clone(),
                });
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok((spec.is_modified().then(|| spec.render()), tags))
}

/// The patch files to write after `undo_identical`.
#[derive(Debug)]
pub(super) struct PatchFiles {
    /// File name → bytes (the old bytes for unchanged patches).
    pub files: BTreeMap<String, Vec<u8>>,
    /// Names whose old bytes were kept, sorted.
    pub unchanged: Vec<String>,
}

/// packit's `undo_identical`: a tracked patch whose diff did not change keeps its old
/// bytes. Compared over every part of a squashed file (packit looked at the first only).
pub(super) fn undo_identical(
    git: &GitCli,
    dist_git: &Repo,
    plan: &PatchPlan,
) -> Result<PatchFiles, UpdateError> {
    let index = dist_git.index()?;
    let mut files = plan.files.clone();
    let mut unchanged = Vec::new();
    let mut massaged: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, new) in &plan.files {
        let Some(old) = dist_git.index_blob(&index, name)? else {
            continue;
        };
        if old == *new {
            unchanged.push(name.clone());
        } else if !new.is_empty() && !old.is_empty() {
            // GitPython strips one final newline of `git show HEAD:<path>`.
            let old_text = old.strip_suffix(b"\n").unwrap_or(&old);
            massaged.push((name.clone(), patch_id::git_patch_ish(old_text)));
        }
    }
    if !massaged.is_empty() {
        let mut inputs = Vec::with_capacity(massaged.len() * 2);
        for (i, (name, old)) in massaged.iter().enumerate() {
            inputs.push(PatchIdInput {
                key: 2 * i,
                text: old,
            });
            inputs.push(PatchIdInput {
                key: 2 * i + 1,
                text: &plan.files[name],
            });
        }
        let output = git.patch_id_stable(dist_git.workdir(), &patch_id::batch_input(&inputs))?;
        let ids = patch_id::parse_batch_output(&output);
        for (i, (name, _)) in massaged.iter().enumerate() {
            let (old, new) = (ids.get(&(2 * i)), ids.get(&(2 * i + 1)));
            if old.is_some_and(|o| !o.is_empty()) && old == new {
                unchanged.push(name.clone());
            }
        }
    }
    for name in &unchanged {
        if let Some(old) = dist_git.index_blob(&index, name)? {
            files.insert(name.clone(), old);
        }
    }
    unchanged.sort();
    Ok(PatchFiles { files, unchanged })
}
