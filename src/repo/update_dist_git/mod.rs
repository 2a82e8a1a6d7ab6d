//! `update-dist-git`: the I/O around the pure conversion. It reads both repositories,
//! runs git for the patch bytes, lets `convert` decide everything, and only then writes
//! dist-git — so a check that fails leaves dist-git exactly as it was.
//!
//! `git format-patch` is started first and runs while the sync guard, the pristine check
//! and the file sync are planned; its patches are processed as git writes them.

mod identity;
mod patches;

pub(crate) use identity::identity_from_env;
pub use identity::parse_git_date;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use git2::Oid;

use crate::convert::config::{self, ConfigError, PackageConfig};
use crate::convert::patches::PatchError;
use crate::convert::spec::SpecError;
use crate::convert::sync::{self, SyncError, SyncOp};
use crate::convert::trailers;
use crate::repo::boundary::{self, FsError, Kind, RepoRoot};
use crate::repo::git::{GitCli, GitError, Identity, Repo};
use crate::repo::sync_fs;
use crate::repo::sync_status::{self, FROM_SOURCE_GIT, SyncStatusError};
use crate::repo::transaction::Transaction;
use patches::PatchJob;

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
    /// A path inside one of the repositories is a link, a special file, too large, …
    #[error(transparent)]
    Fs(#[from] FsError),
    /// The two arguments are the same repository, or one is inside the other.
    #[error(
        "the source-git and dist-git repositories must be two different repositories, neither \
         inside the other: {source_git} and {dist_git}"
    )]
    SameRepository {
        /// The source-git work tree.
        source_git: PathBuf,
        /// The dist-git work tree.
        dist_git: PathBuf,
    },
    /// A file srcgit must write is held by a directory or special file in dist-git.
    #[error(
        "dist-git has a {kind} at {name}, where srcgit must write {what}: remove it from \
         dist-git or choose another name"
    )]
    PathOccupied {
        /// The dist-git path.
        name: String,
        /// What is there.
        kind: &'static str,
        /// What srcgit would write there.
        what: &'static str,
    },
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
    /// A broken invariant: a bug in srcgit.
    #[error("internal error (please report it): {0}")]
    Internal(String),
}

impl UpdateError {
    /// Whether the user can fix this (the source-git content, the settings of the
    /// repositories, the command line) rather than the machine or srcgit itself.
    pub fn is_user_error(&self) -> bool {
        match self {
            UpdateError::Git(GitError::Command { .. } | GitError::NotARepo(_)) => true,
            UpdateError::Git(_) | UpdateError::Internal(_) => false,
            UpdateError::Fs(e) => e.is_content(),
            _ => true,
        }
    }
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
#[tracing::instrument(level = "debug", skip_all)]
pub fn update_dist_git(opts: &UpdateOptions) -> Result<UpdateOutcome, UpdateError> {
    let (source_git, dist_git) = tracing::debug_span!("open").in_scope(|| {
        Ok::<_, GitError>((Repo::open(&opts.source_git)?, Repo::open(&opts.dist_git)?))
    })?;
    check_distinct(&source_git, &dist_git)?;
    let source_root = RepoRoot::open(source_git.workdir(), "source-git")?;
    let dist_root = RepoRoot::open(dist_git.workdir(), "dist-git")?;
    let source_head = source_git.head()?;
    let dist_head = dist_git.head()?;
    let config = load_config(&source_root, &dist_git, UpdateError::ConfigMissing)?;
    let upstream_ref = opts
        .upstream_ref
        .clone()
        .or_else(|| config.upstream_ref.clone());
    // Started first; its errors surface below, where packit would meet them.
    let patch_job = upstream_ref.as_deref().map(|reference| {
        PatchJob::start(
            &opts.git,
            &config,
            &source_git,
            source_head,
            &dist_git,
            reference,
        )
    });
    if !opts.force
        && let Some(up_to_date) = guard(opts, &source_git, source_head, &dist_git, dist_head)?
    {
        return Ok(UpdateOutcome::UpToDate(up_to_date));
    }
    let unclean = tracing::debug_span!("pristine").in_scope(|| dist_git.unclean_paths())?;
    if !unclean.is_empty() {
        return Err(UpdateError::NotPristine {
            repo: dist_git.workdir().display().to_string(),
            paths: unclean.into_iter().take(5).collect(),
        });
    }
    let mut change = plan(
        opts,
        &config,
        (&source_git, &source_root),
        (&dist_git, &dist_root),
        patch_job.transpose()?,
    )?;
    let message = opts
        .message
        .as_deref()
        .filter(|m| !m.is_empty())
        .map(|m| commit_message(m, source_head));
    let identity = match (&message, &opts.identity) {
        (Some(_), Some(ids)) => Some(ids.clone()),
        (Some(_), None) => Some(
            identity::identity_from_env(&dist_git, "dist-git").map_err(UpdateError::Identity)?,
        ),
        (None, _) => None,
    };
    apply(&change, &source_root, &dist_git, &dist_root)?;
    if let (Some(message), Some((author, committer))) = (message, identity) {
        let oid = dist_git.commit_all(&message, &author, &committer)?;
        change.summary.commit = Some(oid.ok_or(UpdateError::NothingToCommit)?);
    }
    Ok(UpdateOutcome::Updated(change.summary))
}

/// The two work trees (canonical) when they are the same repository or one is inside the
/// other; `None` when they are two separate repositories.
pub(crate) fn nested_or_same(source_git: &Repo, dist_git: &Repo) -> Option<(PathBuf, PathBuf)> {
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let (sg, dg) = (canon(source_git.workdir()), canon(dist_git.workdir()));
    let (sg_git, dg_git) = (canon(source_git.git_dir()), canon(dist_git.git_dir()));
    (sg.starts_with(&dg) || dg.starts_with(&sg) || sg_git == dg_git).then_some((sg, dg))
}

/// Refuses the same repository twice, or one inside the other: the sync would delete
/// one's files from the other.
fn check_distinct(source_git: &Repo, dist_git: &Repo) -> Result<(), UpdateError> {
    match nested_or_same(source_git, dist_git) {
        Some((source_git, dist_git)) => Err(UpdateError::SameRepository {
            source_git,
            dist_git,
        }),
        None => Ok(()),
    }
}

#[tracing::instrument(level = "debug", skip_all)]
/// `.distro/source-git.yaml` of `source_root`, read through the boundary and parsed for
/// the dist-git directory's name; `missing` makes the caller's error for an absent file.
pub(crate) fn load_config<E: From<FsError> + From<ConfigError>>(
    source_root: &RepoRoot,
    dist_git: &Repo,
    missing: impl FnOnce(PathBuf) -> E,
) -> Result<PackageConfig, E> {
    let Some(bytes) = source_root.read(config::CONFIG_PATH, boundary::TEXT_LIMIT)? else {
        return Err(missing(source_root.path().join(config::CONFIG_PATH)));
    };
    let text = String::from_utf8(bytes).map_err(|_| ConfigError::Unsupported {
        line: 1,
        reason: "the file is not UTF-8 text".into(),
    })?;
    let dir_name = dist_git
        .workdir()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(config::parse(&text, &dir_name)?)
}

/// The sync-status guard: an error when dist-git has unsynced commits, the "up to date"
/// text when source-git has nothing new, `None` to go on.
#[tracing::instrument(level = "debug", skip_all)]
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

/// Decides everything the update writes: the file sync, then the patches and spec tags.
fn plan(
    opts: &UpdateOptions,
    config: &PackageConfig,
    (source_git, source_root): (&Repo, &RepoRoot),
    (dist_git, dist_root): (&Repo, &RepoRoot),
    patch_job: Option<PatchJob>,
) -> Result<DistGitChange, UpdateError> {
    let (source_tree, dest_tree) =
        tracing::debug_span!("read_trees").in_scope(|| -> Result<_, UpdateError> {
            // only what the sync's sources can reach: not the whole upstream tree
            let source = match config.sync_source_tops() {
                Some(tops) => sync_fs::read_tree_only(source_git.workdir(), &tops),
                None => sync_fs::read_tree(source_git.workdir()),
            }
            .map_err(GitError::io("cannot read", source_git.workdir()))?;
            let dest = sync_fs::read_tree(dist_git.workdir())
                .map_err(GitError::io("cannot read", dist_git.workdir()))?;
            Ok((source, dest))
        })?;
    let sync_ops = tracing::debug_span!("sync_plan")
        .in_scope(|| sync::plan_all(&config.files_to_sync, &source_tree, &dest_tree))?;
    let mut change = DistGitChange {
        summary: summarize_sync(&sync_ops),
        sync_ops,
        ..Default::default()
    };
    check_sync_targets(&change.sync_ops, dist_root)?;
    let Some(job) = patch_job else {
        return Ok(change);
    };
    let spec_name = config.dist_git_spec();
    let spec_text = spec_after_sync(&spec_name, &change.sync_ops, source_root, dist_root)?;
    let patches = tracing::debug_span!("collect_patches")
        .in_scope(|| job.collect(&opts.git, source_git, &spec_text, config.patch_id_digits))?;
    for name in patches.plan.files.keys() {
        if *name == spec_name || synced_paths(&change.sync_ops).any(|p| p == *name) {
            return Err(UpdateError::PatchNameCollision(name.clone()));
        }
        check_writable(dist_root, name, "a patch file")?;
    }
    if patches.spec.is_some() {
        check_writable(dist_root, &spec_name, "the spec")?;
    }
    let written = tracing::debug_span!("undo_identical")
        .in_scope(|| patches::undo_identical(&opts.git, dist_git, &patches.plan))?;
    change.summary.patches_new = written
        .files
        .keys()
        .filter(|n| !written.unchanged.contains(n))
        .cloned()
        .collect();
    change.summary.patches_unchanged = written.unchanged;
    change.summary.tags_added = patches.tags;
    change.patch_files = written.files;
    change.spec = patches.spec.map(|text| (spec_name, text));
    Ok(change)
}

fn summarize_sync(ops: &[SyncOp]) -> UpdateSummary {
    let mut summary = UpdateSummary::default();
    for op in ops {
        match op {
            SyncOp::CopyFile { .. } | SyncOp::CopySymlink { .. } => summary.files_synced += 1,
            SyncOp::Remove { .. } | SyncOp::RemoveDir { .. } => summary.files_removed += 1,
            SyncOp::CreateDir { .. } | SyncOp::SetMode { .. } => {}
        }
    }
    summary
}

/// dist-git paths the sync writes (files, links and new directories).
fn synced_paths(ops: &[SyncOp]) -> impl Iterator<Item = String> + '_ {
    ops.iter().filter_map(|op| match op {
        SyncOp::CopyFile { to, .. } | SyncOp::CopySymlink { to, .. } => Some(to.clone()),
        SyncOp::CreateDir { path, .. } => Some(path.clone()),
        _ => None,
    })
}

/// Refuses a dist-git path where srcgit must write a file but finds a directory, FIFO,
/// socket or device (a link is fine: it is replaced, never followed).
fn check_writable(dist_root: &RepoRoot, name: &str, what: &'static str) -> Result<(), UpdateError> {
    match dist_root.kind(name)? {
        Some(kind @ (Kind::Dir { .. } | Kind::Special(_))) => Err(UpdateError::PathOccupied {
            name: name.to_string(),
            kind: kind.noun(),
            what,
        }),
        _ => Ok(()),
    }
}

/// Checks, before anything is written, that every file the sync writes or removes in
/// dist-git is a file or link and every directory it fills is a real directory.
fn check_sync_targets(ops: &[SyncOp], dist_root: &RepoRoot) -> Result<(), UpdateError> {
    for op in ops {
        match op {
            SyncOp::CopyFile { to, .. } | SyncOp::CopySymlink { to, .. } => {
                check_writable(dist_root, to, "a file synced from source-git")?;
                if let Some((parent, _)) = to.rsplit_once('/')
                    && !synced_paths(ops).any(|p| p == parent)
                {
                    dist_root.dir(parent)?;
                }
            }
            SyncOp::Remove { path } => check_writable(dist_root, path, "nothing (it is deleted)")?,
            SyncOp::CreateDir { path, .. } => {
                if let Some(kind) = dist_root.kind(path)? {
                    return Err(UpdateError::PathOccupied {
                        name: path.clone(),
                        kind: kind.noun(),
                        what: "a directory synced from source-git",
                    });
                }
            }
            SyncOp::SetMode { path, .. } | SyncOp::RemoveDir { path } => {
                if !path.is_empty() {
                    dist_root.dir(path)?;
                }
            }
        }
    }
    Ok(())
}

/// The dist-git spec text once the sync has run.
fn spec_after_sync(
    spec_name: &str,
    ops: &[SyncOp],
    source_root: &RepoRoot,
    dist_root: &RepoRoot,
) -> Result<String, UpdateError> {
    let last = ops.iter().rev().find_map(|op| match op {
        SyncOp::CopyFile { from, to, .. } if to == spec_name => Some(Some(from.as_str())),
        SyncOp::Remove { path } if path == spec_name => Some(None),
        _ => None,
    });
    let (root, path) = match last {
        Some(Some(from)) => (source_root, from),
        Some(None) => return Err(UpdateError::SpecMissing(spec_name.to_string())),
        None => (dist_root, spec_name),
    };
    let bytes = root
        .read(path, boundary::TEXT_LIMIT)?
        .ok_or_else(|| UpdateError::SpecMissing(spec_name.to_string()))?;
    String::from_utf8(bytes).map_err(|_| UpdateError::SpecNotText(spec_name.to_string()))
}

/// Writes the planned change into a [`Transaction`]: staged in a scratch directory in
/// dist-git's `.git`, moved into place, rolled back on any failure. Files whose bytes do
/// not change are left alone.
#[tracing::instrument(level = "debug", skip_all)]
fn apply(
    change: &DistGitChange,
    source_root: &RepoRoot,
    dist_git: &Repo,
    dist_root: &RepoRoot,
) -> Result<(), UpdateError> {
    let mut txn = Transaction::begin(dist_root, dist_git.git_dir())?;
    let written = (|| -> Result<(), FsError> {
        sync_fs::apply_in(&mut txn, &change.sync_ops, source_root)?;
        for (name, bytes) in &change.patch_files {
            txn.write_if_changed(name, bytes)?;
        }
        if let Some((name, text)) = &change.spec {
            txn.write_if_changed(name, text.as_bytes())?;
        }
        Ok(())
    })();
    match written {
        Ok(()) => {
            txn.commit();
            Ok(())
        }
        Err(e) => {
            txn.rollback();
            Err(e.into())
        }
    }
}

/// packit's dist-git commit message: title and body split at the first blank line, the
/// `From-source-git-commit` trailer added by git's rules, then `git commit` cleanup.
fn commit_message(message: &str, source_head: Oid) -> String {
    let (title, body) = message.split_once("\n\n").unwrap_or((message, ""));
    let mut text = format!("{title}\n");
    if !body.is_empty() {
        text.push('\n');
        text.push_str(body);
        text.push('\n');
    }
    let with_trailer = trailers::set_trailer(&text, FROM_SOURCE_GIT, &source_head.to_string());
    trailers::stripspace(&with_trailer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_classified() {
        assert!(UpdateError::NothingToCommit.is_user_error());
        assert!(UpdateError::NotInSync("x".into()).is_user_error());
        let command = GitError::Command {
            args: "format-patch".into(),
            dir: PathBuf::new(),
            stderr: "bad".into(),
        };
        assert!(UpdateError::Git(command).is_user_error());
        let spawn = GitError::Spawn(std::io::Error::from(std::io::ErrorKind::NotFound));
        assert!(!UpdateError::Git(spawn).is_user_error());
        assert!(!UpdateError::Internal("x".into()).is_user_error());
    }

    #[test]
    fn commit_message_gets_the_trailer() {
        let sha = Oid::from_str("1971dad92d7de641ef737f6e1b275e5c6d056d65").unwrap();
        assert_eq!(
            commit_message("Update\n\nBody text.", sha),
            format!("Update\n\nBody text.\n\nFrom-source-git-commit: {sha}\n")
        );
        assert_eq!(
            commit_message("Title only", sha),
            format!("Title only\n\nFrom-source-git-commit: {sha}\n")
        );
    }
}
