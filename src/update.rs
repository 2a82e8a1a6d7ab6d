//! `update-dist-git`: the I/O around the pure conversion. It reads both repositories,
//! runs git for the patch bytes, lets `convert` decide everything, and only then writes
//! dist-git — so a check that fails leaves dist-git exactly as it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use git2::Oid;

use crate::convert::config::{self, ConfigError, PackageConfig};
use crate::convert::patch_id::{self, PatchIdInput};
use crate::convert::patches::{self, Mode, PatchError, PatchPlan, RangeCommit};
use crate::convert::spec::{AddOutcome, Spec, SpecError};
use crate::convert::sync::{self, SyncError, SyncOp};
use crate::convert::trailers;
use crate::git::{self, GitCli, GitError, Identity, Repo};
use crate::sync_status::{self, FROM_SOURCE_GIT, SyncStatusError};

/// What to update and how.
#[derive(Debug, Clone)]
pub struct UpdateOptions {
    /// The source-git work tree.
    pub source_git: PathBuf,
    /// The dist-git work tree.
    pub dist_git: PathBuf,
    /// Overrides `upstream_ref` of the config.
    pub upstream_ref: Option<String>,
    /// Commit with this message (title, blank line, body) when given.
    pub message: Option<String>,
    /// Skip the sync-status guard.
    pub force: bool,
    /// How to run git.
    pub git: GitCli,
    /// Author and committer of the dist-git commit; `None`: from the environment and
    /// git configuration, like `git commit`.
    pub identity: Option<(Identity, Identity)>,
    /// The two path arguments as the user typed them (for packit's status texts).
    pub display_paths: Option<(String, String)>,
}

/// What an update did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// Source-git has nothing new; nothing was touched.
    UpToDate(String),
    /// dist-git was updated.
    Updated(UpdateSummary),
}

/// Counts for the user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateSummary {
    /// Files copied from source-git.
    pub files_synced: usize,
    /// Files removed from dist-git.
    pub files_removed: usize,
    /// Patch files written with new content.
    pub patches_new: Vec<String>,
    /// Patch files kept byte-identical because their diff did not change.
    pub patches_unchanged: Vec<String>,
    /// `PatchN:` tags added to the spec.
    pub tags_added: Vec<String>,
    /// The dist-git commit, when a message was given.
    pub commit: Option<Oid>,
}

/// Why dist-git was not updated.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// `.distro/source-git.yaml` is missing.
    #[error(
        "{0} does not exist: a source-git repository keeps its packaging in .distro/ with source-git.yaml"
    )]
    ConfigMissing(PathBuf),
    /// `.distro/source-git.yaml` is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The sync guard could not run.
    #[error(transparent)]
    Status(#[from] SyncStatusError),
    /// dist-git has commits source-git lacks (packit's behind/diverged text).
    #[error("{0}")]
    NotInSync(String),
    /// dist-git has uncommitted changes or untracked files.
    #[error(
        "Cannot update the dist-git repo '{repo}', since it is not pristine ({}). \
         Commit or stash the changes, or remove untracked files with `git clean -xdn` / `git clean -xdf`.",
        .paths.join(", ")
    )]
    NotPristine {
        /// The dist-git path.
        repo: String,
        /// Some offending paths.
        paths: Vec<String>,
    },
    /// `upstream_ref` names nothing in source-git.
    #[error("upstream_ref {reference:?} does not name a commit in source-git{}; fetch the upstream tags or fix upstream_ref in .distro/source-git.yaml", near_tags(.near))]
    UnknownUpstreamRef {
        /// The ref.
        reference: String,
        /// Tags that look like it.
        near: Vec<String>,
    },
    /// Patch metadata is wrong.
    #[error(transparent)]
    Patches(#[from] PatchError),
    /// A patch name collides with a packaging file.
    #[error(
        "Patch-name {0:?} would overwrite a file synced from .distro/; choose another Patch-name"
    )]
    PatchNameCollision(String),
    /// The dist-git spec is missing after the sync.
    #[error(
        "dist-git has no {0} after syncing .distro/: add the spec to .distro/ (or fix downstream_package_name)"
    )]
    SpecMissing(String),
    /// The spec is not UTF-8.
    #[error("{0} is not UTF-8 text")]
    SpecNotText(String),
    /// A `Patch-id` is not above the existing patch numbers (packit's message).
    #[error(
        "The 'patch_id' requested ({requested}) for patch {name} is less than or equal to the last \
         used patch ID.Re-ordering the patches using 'patch_id' is not allowed - if you want to change \
         the order of those patches, please reorder the commits in your source-git repository."
    )]
    PatchIdTooLow {
        /// The number asked for.
        requested: u32,
        /// The patch.
        name: String,
    },
    /// Any other spec editing problem.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// `files_to_sync` is unusable.
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// `-m`/`-F` given but nothing changed (packit's message).
    #[error("No changes are present in the dist-git repo: nothing to commit.")]
    NothingToCommit,
    /// No identity for the commit.
    #[error("{0}")]
    Identity(String),
    /// git trouble.
    #[error(transparent)]
    Git(#[from] GitError),
}

fn near_tags(near: &[String]) -> String {
    if near.is_empty() {
        " (the repository has no tags)".to_string()
    } else {
        format!(" (tags near it: {})", near.join(", "))
    }
}

/// Everything the update will write, decided before anything is written.
#[derive(Debug, Default)]
struct DistGitChange {
    sync_ops: Vec<SyncOp>,
    patch_files: BTreeMap<String, Vec<u8>>,
    spec: Option<(String, String)>,
    summary: UpdateSummary,
}

/// Runs `update-dist-git`.
pub fn update_dist_git(opts: &UpdateOptions) -> Result<UpdateOutcome, UpdateError> {
    let source_git = Repo::open(&opts.source_git)?;
    let dist_git = Repo::open(&opts.dist_git)?;
    let source_head = source_git.head()?;
    let dist_head = dist_git.head()?;
    let config = load_config(&source_git, &dist_git)?;
    if !opts.force {
        if let Some(up_to_date) = guard(opts, &source_git, source_head, &dist_git, dist_head)? {
            return Ok(UpdateOutcome::UpToDate(up_to_date));
        }
    }
    let unclean = dist_git.unclean_paths()?;
    if !unclean.is_empty() {
        return Err(UpdateError::NotPristine {
            repo: dist_git.workdir().display().to_string(),
            paths: unclean.into_iter().take(5).collect(),
        });
    }
    let upstream_ref = opts
        .upstream_ref
        .clone()
        .or_else(|| config.upstream_ref.clone());
    let mut change = plan(
        opts,
        &config,
        &source_git,
        source_head,
        &dist_git,
        upstream_ref.as_deref(),
    )?;
    let message = opts
        .message
        .as_deref()
        .filter(|m| !m.is_empty())
        .map(|m| commit_message(m, source_head))
        .transpose()?;
    let identity = match (&message, &opts.identity) {
        (Some(_), Some(ids)) => Some(ids.clone()),
        (Some(_), None) => Some(identity_from_env(&dist_git)?),
        (None, _) => None,
    };
    apply(&change, &source_git, &dist_git)?;
    if let (Some(message), Some((author, committer))) = (message, identity) {
        let oid = dist_git.commit_all(&message, &author, &committer)?;
        change.summary.commit = Some(oid.ok_or(UpdateError::NothingToCommit)?);
    }
    Ok(UpdateOutcome::Updated(change.summary))
}

fn load_config(source_git: &Repo, dist_git: &Repo) -> Result<PackageConfig, UpdateError> {
    let path = source_git.workdir().join(config::CONFIG_PATH);
    let text = match std::fs::read(&path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| {
            UpdateError::Config(ConfigError::Unsupported {
                line: 1,
                reason: "the file is not UTF-8 text".into(),
            })
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(UpdateError::ConfigMissing(path));
        }
        Err(e) => {
            return Err(GitError::Io {
                what: "cannot read",
                path,
                source: e,
            }
            .into());
        }
    };
    let dir_name = dist_git
        .workdir()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(config::parse(&text, &dir_name)?)
}

/// The sync-status guard: an error when dist-git has unsynced commits, the "up to date"
/// text when source-git has nothing new, `None` to go on.
fn guard(
    opts: &UpdateOptions,
    source_git: &Repo,
    source_head: Oid,
    dist_git: &Repo,
    dist_head: Oid,
) -> Result<Option<String>, UpdateError> {
    let status = sync_status::sync_status(source_git, source_head, dist_git, dist_head)?;
    let (sg_arg, dg_arg) = opts.display_paths.clone().unwrap_or_else(|| {
        (
            opts.source_git.display().to_string(),
            opts.dist_git.display().to_string(),
        )
    });
    let counts = sync_status::Counts {
        source_git: match status.source_git_start {
            Some(start) if status.dist_git_start.is_none() => {
                sync_status::commits_from(source_git, start, source_head)?
            }
            _ => 0,
        },
        dist_git: match status.dist_git_start {
            Some(start) => sync_status::commits_from(dist_git, start, dist_head)?,
            None => 0,
        },
    };
    let text = sync_status::describe(&status, counts, &sg_arg, &dg_arg);
    if status.dist_git_start.is_some() {
        return Err(UpdateError::NotInSync(text.trim_end().to_string()));
    }
    Ok(status.source_git_start.is_none().then_some(text))
}

fn plan(
    opts: &UpdateOptions,
    config: &PackageConfig,
    source_git: &Repo,
    source_head: Oid,
    dist_git: &Repo,
    upstream_ref: Option<&str>,
) -> Result<DistGitChange, UpdateError> {
    let source_tree = sync::read_tree(source_git.workdir())
        .map_err(GitError::io("cannot read", source_git.workdir()))?;
    let dest_tree = sync::read_tree(dist_git.workdir())
        .map_err(GitError::io("cannot read", dist_git.workdir()))?;
    let sync_ops = sync::plan_all(&config.files_to_sync, &source_tree, &dest_tree)?;
    let mut change = DistGitChange {
        summary: summarize_sync(&sync_ops),
        sync_ops,
        ..Default::default()
    };
    let Some(reference) = upstream_ref else {
        return Ok(change);
    };
    let patch_plan = generate_patches(opts, config, source_git, source_head, dist_git, reference)?;
    let spec_name = config.dist_git_spec();
    for name in patch_plan.files.keys() {
        if *name == spec_name || synced_paths(&change.sync_ops).any(|p| p == *name) {
            return Err(UpdateError::PatchNameCollision(name.clone()));
        }
    }
    let (files, unchanged) = undo_identical(opts, dist_git, &patch_plan)?;
    change.summary.patches_unchanged = unchanged;
    change.summary.patches_new = files
        .keys()
        .filter(|n| !change.summary.patches_unchanged.contains(n))
        .cloned()
        .collect();
    change.patch_files = files;
    let spec_text = spec_after_sync(&spec_name, &change.sync_ops, source_git, dist_git)?;
    let (spec, tags) = add_patch_tags(&spec_text, &spec_name, &patch_plan, config.patch_id_digits)?;
    change.summary.tags_added = tags;
    change.spec = spec.map(|text| (spec_name, text));
    Ok(change)
}

fn summarize_sync(ops: &[SyncOp]) -> UpdateSummary {
    let mut summary = UpdateSummary::default();
    for op in ops {
        match op {
            SyncOp::CopyFile { .. } | SyncOp::CopySymlink { .. } => summary.files_synced += 1,
            SyncOp::Remove { .. } | SyncOp::RemoveDir { .. } => summary.files_removed += 1,
            _ => {}
        }
    }
    summary
}

/// dist-git paths the sync writes.
fn synced_paths(ops: &[SyncOp]) -> impl Iterator<Item = String> + '_ {
    ops.iter().filter_map(|op| match op {
        SyncOp::CopyFile { to, .. } | SyncOp::CopySymlink { to, .. } => Some(to.clone()),
        _ => None,
    })
}

/// The dist-git spec text once the sync has run.
fn spec_after_sync(
    spec_name: &str,
    ops: &[SyncOp],
    source_git: &Repo,
    dist_git: &Repo,
) -> Result<String, UpdateError> {
    let last = ops.iter().rev().find_map(|op| match op {
        SyncOp::CopyFile { from, to, .. } if to == spec_name => {
            Some(Some(source_git.workdir().join(from)))
        }
        SyncOp::Remove { path } if path == spec_name => Some(None),
        _ => None,
    });
    let path = match last {
        Some(Some(source)) => source,
        Some(None) => return Err(UpdateError::SpecMissing(spec_name.to_string())),
        None => dist_git.workdir().join(spec_name),
    };
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(UpdateError::SpecMissing(spec_name.to_string()));
        }
        Err(e) => {
            return Err(GitError::Io {
                what: "cannot read",
                path,
                source: e,
            }
            .into());
        }
    };
    String::from_utf8(bytes).map_err(|_| UpdateError::SpecNotText(spec_name.to_string()))
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

fn resolve_upstream(repo: &Repo, reference: &str) -> Result<Oid, UpdateError> {
    repo.resolve_commit(reference)
        .or_else(|| repo.resolve_commit(&format!("origin/{reference}")))
        .ok_or_else(|| UpdateError::UnknownUpstreamRef {
            reference: reference.to_string(),
            near: tags_near(repo, reference),
        })
}

/// A scratch directory inside dist-git's `.git`, invisible to the work tree.
fn scratch_dir(dist_git: &Repo) -> Result<tempfile::TempDir, UpdateError> {
    Ok(tempfile::Builder::new()
        .prefix("srcgit-")
        .tempdir_in(dist_git.git_dir())
        .map_err(GitError::io(
            "cannot create a scratch directory in",
            dist_git.git_dir(),
        ))?)
}

fn generate_patches(
    opts: &UpdateOptions,
    config: &PackageConfig,
    source_git: &Repo,
    source_head: Oid,
    dist_git: &Repo,
    reference: &str,
) -> Result<PatchPlan, UpdateError> {
    let base = resolve_upstream(source_git, reference)?;
    let head = git::linearized_head(source_git.git2(), base, source_head)?.unwrap_or(source_head);
    let range = format!("{base}..{head}");
    let excludes = config.patch_excludes();
    let scratch = scratch_dir(dist_git)?;
    let format_patch = |dir: &Path, range: &str, no_prefix: bool| {
        std::fs::create_dir_all(dir).map_err(GitError::io("cannot create", dir))?;
        opts.git
            .format_patch(source_git.workdir(), dir, range, &excludes, no_prefix)
    };
    let generated = format_patch(&scratch.path().join("a"), &range, false)?;
    let metas = patches::trailer_metadata(&generated)?;
    let mut files: BTreeMap<String, Vec<u8>> = generated
        .iter()
        .map(|g| (g.file_name.clone(), g.bytes.clone()))
        .collect();
    let mode = patches::mode_of(&metas);
    let list = match mode {
        Mode::Trailers => {
            let (kept, ignored): (Vec<_>, Vec<_>) = metas.into_iter().partition(|m| !m.ignore);
            for meta in ignored {
                files.remove(&meta.file);
            }
            if kept.iter().any(|m| m.no_prefix) {
                let plain = format_patch(&scratch.path().join("b"), &range, true)?;
                for meta in kept.iter().filter(|m| m.no_prefix) {
                    if let Some(g) = plain.iter().find(|g| g.file_name == meta.file) {
                        files.insert(g.file_name.clone(), g.bytes.clone());
                    }
                }
            }
            kept
        }
        Mode::Legacy => {
            let commits = range_commits(source_git, base, head)?;
            let legacy = patches::legacy_metadata(&generated, &commits)?;
            files.retain(|name, _| legacy.patches.iter().any(|m| &m.file == name));
            for name in &legacy.empty_files {
                files.insert(name.clone(), Vec::new());
            }
            let mut list = legacy.patches;
            for (i, meta) in list.iter_mut().enumerate().filter(|(_, m)| m.no_prefix) {
                let Some(sha) = meta.sha.clone() else {
                    continue;
                };
                let dir = scratch.path().join(format!("c{i}"));
                if let Some(g) = format_patch(&dir, &format!("{sha}^..{sha}"), true)?
                    .into_iter()
                    .next()
                {
                    files.remove(&meta.file);
                    if meta.name == meta.file {
                        meta.name = g.file_name.clone();
                    }
                    meta.file = g.file_name.clone();
                    files.insert(g.file_name, g.bytes);
                }
            }
            list
        }
    };
    Ok(patches::assemble(list, mode, files)?)
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

/// packit's `undo_identical`: a tracked patch whose diff did not change keeps its old
/// bytes. Compared over every part of a squashed file (packit looked at the first only).
/// Returns the bytes to write per file and the names kept unchanged.
fn undo_identical(
    opts: &UpdateOptions,
    dist_git: &Repo,
    plan: &PatchPlan,
) -> Result<(BTreeMap<String, Vec<u8>>, Vec<String>), UpdateError> {
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
        } else if new.is_empty() || old.is_empty() {
            // nothing for patch-id to compare: different bytes are a different patch
        } else {
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
        let output = opts
            .git
            .patch_id_stable(dist_git.workdir(), &patch_id::batch_input(&inputs))?;
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
    Ok((files, unchanged))
}

/// Adds the `PatchN:` tags (packit's `specfile_add_patches`). Returns the new spec text
/// when it changed, and the tags added.
fn add_patch_tags(
    spec_text: &str,
    spec_name: &str,
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
    let _ = spec_name;
    Ok((spec.is_modified().then(|| spec.render()), tags))
}

/// Writes the planned change. Files whose bytes do not change are left alone.
fn apply(change: &DistGitChange, source_git: &Repo, dist_git: &Repo) -> Result<(), UpdateError> {
    let root = dist_git.workdir();
    sync::apply(&change.sync_ops, source_git.workdir(), root)
        .map_err(GitError::io("cannot sync files into", root))?;
    for (name, bytes) in &change.patch_files {
        write_if_changed(&root.join(name), bytes.as_slice())?;
    }
    if let Some((name, text)) = &change.spec {
        write_if_changed(&root.join(name), text.as_bytes())?;
    }
    Ok(())
}

fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<(), UpdateError> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    std::fs::write(path, bytes).map_err(GitError::io("cannot write", path))?;
    Ok(())
}

/// packit's dist-git commit message: title and body split at the first blank line, the
/// `From-source-git-commit` trailer added by git's rules, then `git commit` cleanup.
fn commit_message(message: &str, source_head: Oid) -> Result<String, UpdateError> {
    let (title, body) = message.split_once("\n\n").unwrap_or((message, ""));
    let mut text = format!("{title}\n");
    if !body.is_empty() {
        text.push('\n');
        text.push_str(body);
        text.push('\n');
    }
    let with_trailer = trailers::set_trailer(&text, FROM_SOURCE_GIT, &source_head.to_string());
    Ok(trailers::stripspace(&with_trailer))
}

/// Author and committer like `git commit`: `GIT_{AUTHOR,COMMITTER}_{NAME,EMAIL,DATE}`,
/// else `user.name` / `user.email` and the current time.
fn identity_from_env(repo: &Repo) -> Result<(Identity, Identity), UpdateError> {
    let config = repo.git2().config().ok();
    let from_config = |key: &str| config.as_ref().and_then(|c| c.get_string(key).ok());
    let one = |kind: &str| -> Result<Identity, UpdateError> {
        let var = |field: &str| {
            std::env::var(format!("GIT_{kind}_{field}"))
                .ok()
                .filter(|v| !v.is_empty())
        };
        let name = var("NAME").or_else(|| from_config("user.name"));
        let email = var("EMAIL")
            .or_else(|| from_config("user.email"))
            .or_else(|| std::env::var("EMAIL").ok());
        let (Some(name), Some(email)) = (name, email) else {
            return Err(UpdateError::Identity(
                "cannot commit in dist-git: tell git who you are (git config user.name / user.email)".into(),
            ));
        };
        let (time, offset_minutes) = match var("DATE") {
            Some(date) => parse_git_date(&date).ok_or_else(|| {
                UpdateError::Identity(format!(
                    "GIT_{kind}_DATE={date:?} is not a date git understands"
                ))
            })?,
            None => (now_seconds(), 0),
        };
        Ok(Identity {
            name,
            email,
            time,
            offset_minutes,
        })
    };
    Ok((one("AUTHOR")?, one("COMMITTER")?))
}

fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// git's raw date forms: `<epoch> <+hhmm>`, `@<epoch> <+hhmm>`, `@<epoch>`, and ISO 8601
/// `YYYY-MM-DD[T ]HH:MM:SS[Z|±HH:MM|±HHMM]`.
pub fn parse_git_date(date: &str) -> Option<(i64, i32)> {
    let date = date.trim();
    let offset = |tz: &str| -> Option<i32> {
        let (sign, digits) = match tz.as_bytes().first()? {
            b'+' => (1, &tz[1..]),
            b'-' => (-1, &tz[1..]),
            _ => return None,
        };
        let digits: String = digits.chars().filter(|c| *c != ':').collect();
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let hours: i32 = digits[..2].parse().ok()?;
        let minutes: i32 = digits[2..].parse().ok()?;
        Some(sign * (hours * 60 + minutes))
    };
    let raw = date.strip_prefix('@').unwrap_or(date);
    let mut parts = raw.split_whitespace();
    if let Some(Ok(epoch)) = parts.next().map(str::parse::<i64>) {
        return match parts.next() {
            Some(tz) => Some((epoch, offset(tz)?)),
            None => Some((epoch, 0)),
        };
    }
    parse_iso8601(date, offset)
}

fn parse_iso8601(date: &str, offset: impl Fn(&str) -> Option<i32>) -> Option<(i64, i32)> {
    if date.len() < 19 {
        return None;
    }
    let num = |s: &str| s.parse::<i64>().ok();
    let (y, mo, d) = (num(&date[0..4])?, num(&date[5..7])?, num(&date[8..10])?);
    let (h, mi, s) = (
        num(&date[11..13])?,
        num(&date[14..16])?,
        num(&date[17..19])?,
    );
    let tz = date[19..].trim();
    let off = match tz {
        "" | "Z" => 0,
        _ => offset(tz)?,
    };
    // days since the epoch (civil calendar, Howard Hinnant's algorithm)
    let (y2, m2) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((
        days * 86_400 + h * 3600 + mi * 60 + s - i64::from(off) * 60,
        off,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_dates() {
        assert_eq!(parse_git_date("1767225600 +0000"), Some((1_767_225_600, 0)));
        assert_eq!(
            parse_git_date("@1767225600 -0130"),
            Some((1_767_225_600, -90))
        );
        assert_eq!(
            parse_git_date("2026-01-01T00:00:00Z"),
            Some((1_767_225_600, 0))
        );
        assert_eq!(
            parse_git_date("2026-01-01 01:00:00 +01:00"),
            Some((1_767_225_600, 60))
        );
        assert_eq!(parse_git_date("yesterday"), None);
    }

    #[test]
    fn commit_message_gets_the_trailer() {
        let sha = Oid::from_str("1971dad92d7de641ef737f6e1b275e5c6d056d65").unwrap();
        assert_eq!(
            commit_message("Update\n\nBody text.", sha).unwrap(),
            format!("Update\n\nBody text.\n\nFrom-source-git-commit: {sha}\n")
        );
    }
}
