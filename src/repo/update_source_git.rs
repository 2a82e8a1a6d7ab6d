//! `update-source-git`: dist-git commits become source-git commits that change `.distro/`
//! (`packit source-git update-source-git`, §3 of the format doc), with packit's data-loss
//! bugs fixed.
//!
//! Order of work, as packit's: the `-f`/range check, the sync-status guard, the pristine
//! check of source-git, the `Release` comparison (only reported), then every commit of the
//! range is checked (`sources` / `*.patch` refused, paths that cannot live under `.distro/`
//! refused) before anything is written, then the commits are applied one by one, each
//! committed with the `From-dist-git-commit` trailer. dist-git is only read; nothing is
//! pushed.
//!
//! git runs where it defines the semantics: `rev-list` for the range language,
//! `diff-tree -M` for the changed files and their diff (with `--binary`), and `git apply
//! --directory=.distro` for content changes — the `.distro/` prefix is given to git, so the
//! diff text itself is never rewritten. Deletions are plain file removals like packit's (an
//! emptied directory stays); renames go through `git apply`, which keeps the new directory
//! and the content edits. Commits are made with git2, keeping the dist-git author.

use std::path::{Path, PathBuf};

use git2::Oid;

use crate::convert::config::{ConfigError, PackageConfig};
use crate::convert::spec::Spec;
use crate::convert::update_source_git::{
    self as rules, ChangeListError, FileChange, RefusalReason,
};
use crate::repo::boundary::{self, FsError, Kind, RepoRoot};
use crate::repo::git::{GitCli, GitError, Identity, Repo};
use crate::repo::sync_status::{self, SyncStatusError};
use crate::repo::update_dist_git::{identity_from_env, load_config};

/// The directory of source-git that mirrors dist-git.
const DISTRO_DIR: &str = ".distro";

/// What to sync and how.
#[derive(Debug, Clone)]
pub struct UsgOptions {
    /// The dist-git work tree (only read).
    pub dist_git: PathBuf,
    /// The source-git work tree (written and committed to).
    pub source_git: PathBuf,
    /// A revision range of dist-git (`HEAD~2..`, `a..b`); `None`: from the sync status.
    pub range: Option<String>,
    /// Skip the sync-status guard (needs `range`).
    pub force: bool,
    /// How to run git.
    pub git: GitCli,
    /// Committer of the source-git commits; `None`: from the environment and git
    /// configuration, like `git commit`. The author is always the dist-git commit's.
    pub committer: Option<Identity>,
    /// The two path arguments as the user typed them, (source-git, dist-git), for packit's
    /// status texts.
    pub display_paths: Option<(String, String)>,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsgOutcome {
    /// dist-git has nothing source-git lacks (packit's "up to date" text); nothing touched.
    UpToDate(String),
    /// The commits of `range` were synced or skipped.
    Synced(UsgSummary),
}

/// The commits of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsgSummary {
    /// The dist-git revision range that was synced.
    pub range: String,
    /// The `Release` of the dist-git and the source-git spec when they differ (packit
    /// logs it and goes on).
    pub release_differs: Option<ReleaseDiff>,
    /// Every commit of the range, oldest first.
    pub commits: Vec<CommitReport>,
}

/// `Release` values as written in the two specs (macros not expanded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseDiff {
    /// In the dist-git spec.
    pub dist_git: String,
    /// In the `.distro/` spec.
    pub source_git: String,
}

/// What happened to one dist-git commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitReport {
    /// The dist-git commit.
    pub dist_git: Oid,
    /// Its title (first line of the message).
    pub title: String,
    /// Synced or skipped.
    pub result: CommitResult,
    /// A `.gitignore` change of the commit did not apply to `.distro/.gitignore` and was
    /// left out (the rest of the commit was synced).
    pub gitignore_skipped: bool,
}

/// Synced or skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitResult {
    /// Committed in source-git as this commit.
    Synced(Oid),
    /// Nothing to commit: a merge commit (no diff of its own; the merged commits are in the
    /// range), an empty commit, a `.gitignore`-only commit, or deletions of files
    /// `.distro/` lacks.
    NoChanges {
        /// It is a merge commit.
        merge: bool,
    },
}

/// A dist-git commit that cannot be synced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The dist-git commit.
    pub commit: Oid,
    /// Why.
    pub reason: RefusalReason,
}

impl Refusal {
    /// packit's message.
    pub fn message(&self) -> String {
        match &self.reason {
            RefusalReason::Sources => format!(
                "The sources file was modified in commit {} which is part of the provided range. \
                 Such operation is not supported.",
                self.commit
            ),
            RefusalReason::Patch(_) => format!(
                "A patch was modified in commit {} which is not supported by this command.",
                self.commit
            ),
        }
    }
}

fn refusals_message(refusals: &[Refusal]) -> String {
    let mut text = refusals.first().map(Refusal::message).unwrap_or_default();
    if refusals.len() > 1 {
        text.push_str(&format!(
            " ({} more commit(s) of the range are refused too: {})",
            refusals.len() - 1,
            refusals[1..]
                .iter()
                .map(|r| r.commit.to_string()[..8].to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    text
}

/// Why source-git was not (fully) updated.
#[derive(Debug, thiserror::Error)]
pub enum UsgError {
    /// `-f` without a range (packit's message; a usage error).
    #[error("revision-range has to be specified when -f/--force is used")]
    ForceWithoutRange,
    /// A range that git would read as an option.
    #[error(
        "revision range {0:?} starts with '-': give a range of dist-git commits, such as HEAD~2.."
    )]
    BadRange(String),
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
    /// source-git has commits dist-git lacks (packit's ahead/diverged text).
    #[error("{0}")]
    NotInSync(String),
    /// source-git has unstaged changes, untracked or ignored files, or empty directories.
    #[error(
        "Cannot update the source-git repo '{repo}', since it is not pristine. Use 'git reset \
         --hard HEAD' to reset changed files and 'git clean -xdff' to delete untracked files and \
         directories (found: {}).",
        .paths.join(", ")
    )]
    NotPristine {
        /// The source-git path.
        repo: String,
        /// Some offending paths.
        paths: Vec<String>,
    },
    /// Commits of the range touch `sources` or a `*.patch` file; nothing was synced.
    #[error("{}", refusals_message(.0))]
    Refused(Vec<Refusal>),
    /// A dist-git path that cannot be written under `.distro/` (`..`, `.git`, absolute, or
    /// through a symlinked directory); nothing was synced.
    #[error(
        "dist-git commit {commit} changes {path:?}, which cannot be written under .distro/ of source-git"
    )]
    UnsafePath {
        /// The dist-git commit.
        commit: Oid,
        /// The path.
        path: String,
    },
    /// A renamed file is missing from `.distro/` (packit's message). The commits in
    /// `synced` were committed before.
    #[error("File {path} to be renamed does not exist in source-git.")]
    RenameSourceMissing {
        /// The dist-git commit.
        commit: Oid,
        /// The old path.
        path: String,
        /// The commits handled before this one.
        synced: Vec<CommitReport>,
    },
    /// `git apply` refused a change: its context does not match `.distro/` (packit's
    /// message, then git's). The commits in `synced` were committed before; files of this
    /// commit applied before the failing one stay as uncommitted changes, as with packit.
    #[error("Commit {commit} could not be applied to source-git. {path}: {stderr}")]
    ApplyFailed {
        /// The dist-git commit.
        commit: Oid,
        /// The dist-git path whose change did not apply.
        path: String,
        /// What `git apply` said.
        stderr: String,
        /// The commits handled before this one.
        synced: Vec<CommitReport>,
    },
    /// No identity to commit with.
    #[error("{0}")]
    Identity(String),
    /// git printed a change list srcgit does not understand.
    #[error(transparent)]
    Changes(#[from] ChangeListError),
    /// git trouble.
    #[error(transparent)]
    Git(#[from] GitError),
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
    /// A broken invariant: a bug in srcgit.
    #[error("internal error (please report it): {0}")]
    Internal(String),
}

impl UsgError {
    /// Whether the user can fix this (the repositories, the range, the command line) rather
    /// than the machine or srcgit itself.
    pub fn is_user_error(&self) -> bool {
        match self {
            UsgError::Git(GitError::Command { .. } | GitError::NotARepo(_)) => true,
            UsgError::Git(_) | UsgError::Changes(_) | UsgError::Internal(_) => false,
            UsgError::Fs(e) => e.is_content(),
            _ => true,
        }
    }
}

/// One commit of the range, read and checked before anything is written.
struct Planned {
    oid: Oid,
    parent: Option<Oid>,
    /// `None` for a merge commit (no diff of its own).
    changes: Option<Vec<FileChange>>,
}

/// Runs `update-source-git`.
#[tracing::instrument(level = "debug", skip_all)]
pub fn update_source_git(opts: &UsgOptions) -> Result<UsgOutcome, UsgError> {
    if opts.force && opts.range.is_none() {
        return Err(UsgError::ForceWithoutRange);
    }
    let source_git = Repo::open(&opts.source_git)?;
    let dist_git = Repo::open(&opts.dist_git)?;
    if let Some((source_git, dist_git)) =
        crate::repo::update_dist_git::nested_or_same(&source_git, &dist_git)
    {
        return Err(UsgError::SameRepository {
            source_git,
            dist_git,
        });
    }
    let source_root = RepoRoot::open(source_git.workdir(), "source-git")?;
    let config = load_config(&source_root, &dist_git, UsgError::ConfigMissing)?;
    let range = if opts.force {
        opts.range.clone()
    } else {
        match guard(opts, &source_git, &dist_git)? {
            Guard::UpToDate(text) => return Ok(UsgOutcome::UpToDate(text)),
            Guard::Behind(start) => {
                Some(opts.range.clone().unwrap_or_else(|| format!("{start}~..")))
            }
        }
    };
    let range = range.ok_or(UsgError::ForceWithoutRange)?;
    if range.starts_with('-') {
        return Err(UsgError::BadRange(range));
    }
    let unclean = source_git.unclean_paths()?;
    if !unclean.is_empty() {
        return Err(UsgError::NotPristine {
            repo: source_git.workdir().display().to_string(),
            paths: unclean.into_iter().take(5).collect(),
        });
    }
    let release_differs = release_differs(&config, &source_git, &dist_git);
    let planned = plan(opts, &dist_git, &range)?;
    let committer = match (&opts.committer, planned.is_empty()) {
        (_, true) => None,
        (Some(id), false) => Some(id.clone()),
        (None, false) => Some(
            identity_from_env(&source_git, "source-git")
                .map_err(UsgError::Identity)?
                .1,
        ),
    };
    let mut commits = Vec::with_capacity(planned.len());
    for commit in &planned {
        let report = sync_commit(opts, &source_git, &dist_git, commit, committer.as_ref())
            .map_err(|e| with_synced(e, &commits))?;
        commits.push(report);
    }
    Ok(UsgOutcome::Synced(UsgSummary {
        range,
        release_differs,
        commits,
    }))
}

/// Adds the commits handled so far to an error that stops the run halfway.
fn with_synced(err: UsgError, done: &[CommitReport]) -> UsgError {
    match err {
        UsgError::ApplyFailed {
            commit,
            path,
            stderr,
            ..
        } => UsgError::ApplyFailed {
            commit,
            path,
            stderr,
            synced: done.to_vec(),
        },
        UsgError::RenameSourceMissing { commit, path, .. } => UsgError::RenameSourceMissing {
            commit,
            path,
            synced: done.to_vec(),
        },
        other => other,
    }
}

enum Guard {
    UpToDate(String),
    /// dist-git's first unsynced commit.
    Behind(Oid),
}

/// packit's guard: an error when source-git has unsynced commits (ahead or diverged), the
/// "up to date" text when dist-git has nothing new.
fn guard(opts: &UsgOptions, source_git: &Repo, dist_git: &Repo) -> Result<Guard, UsgError> {
    let (source_head, dist_head) = (source_git.head()?, dist_git.head()?);
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
            Some(start) if status.source_git_start.is_none() => {
                sync_status::commits_from(dist_git, start, dist_head)?
            }
            _ => 0,
        },
    };
    let text = sync_status::describe(&status, counts, &sg_arg, &dg_arg);
    if status.source_git_start.is_some() {
        return Err(UsgError::NotInSync(text.trim_end().to_string()));
    }
    Ok(match status.dist_git_start {
        Some(start) => Guard::Behind(start),
        None => Guard::UpToDate(text),
    })
}

/// The `Release` of both specs when they differ; `None` when equal or a spec is missing.
fn release_differs(
    config: &PackageConfig,
    source_git: &Repo,
    dist_git: &Repo,
) -> Option<ReleaseDiff> {
    // only reported: a spec srcgit cannot read (missing, a link, a FIFO, too large) is skipped
    let release = |repo: &Repo, label: &'static str, rel: &str| {
        let root = RepoRoot::open(repo.workdir(), label).ok()?;
        let bytes = root.read(rel, boundary::TEXT_LIMIT).ok()??;
        Spec::parse(&String::from_utf8(bytes).ok()?).tag_value("Release")
    };
    let dg = release(dist_git, "dist-git", &config.dist_git_spec())?;
    let sg = release(source_git, "source-git", &config.specfile_path)?;
    (dg != sg).then_some(ReleaseDiff {
        dist_git: dg,
        source_git: sg,
    })
}

/// Reads the range and checks every commit before anything is written.
#[tracing::instrument(level = "debug", skip_all)]
fn plan(opts: &UsgOptions, dist_git: &Repo, range: &str) -> Result<Vec<Planned>, UsgError> {
    let shas = opts.git.rev_list_reverse(dist_git.workdir(), range)?;
    let mut planned = Vec::with_capacity(shas.len());
    let mut refusals = Vec::new();
    for sha in shas {
        let oid = Oid::from_str(&sha)
            .map_err(|_| UsgError::Internal(format!("git rev-list printed {sha:?}")))?;
        let commit = dist_git
            .git2()
            .find_commit(oid)
            .map_err(GitError::git2(format!("cannot read dist-git commit {oid}")))?;
        let parents: Vec<Oid> = commit.parent_ids().collect();
        if parents.len() > 1 {
            planned.push(Planned {
                oid,
                parent: None,
                changes: None,
            });
            continue;
        }
        let parent = parents.first().copied();
        let raw = opts.git.diff_tree_name_status(
            dist_git.workdir(),
            parent.map(|p| p.to_string()).as_deref(),
            &sha,
        )?;
        let changes = rules::parse_name_status(&raw)?;
        if let Some(reason) = rules::refusal(&changes) {
            refusals.push(Refusal {
                commit: oid,
                reason,
            });
        }
        if let Some(path) = changes
            .iter()
            .flat_map(|c| c.old_path().into_iter().chain(c.new_path()))
            .find(|p| !rules::is_safe_path(p))
        {
            return Err(UsgError::UnsafePath {
                commit: oid,
                path: path.to_string(),
            });
        }
        planned.push(Planned {
            oid,
            parent,
            changes: Some(changes),
        });
    }
    if !refusals.is_empty() {
        return Err(UsgError::Refused(refusals));
    }
    Ok(planned)
}

/// Applies one dist-git commit to `.distro/` and commits it.
#[tracing::instrument(level = "debug", skip_all, fields(commit = %planned.oid))]
fn sync_commit(
    opts: &UsgOptions,
    source_git: &Repo,
    dist_git: &Repo,
    planned: &Planned,
    committer: Option<&Identity>,
) -> Result<CommitReport, UsgError> {
    let commit = dist_git
        .git2()
        .find_commit(planned.oid)
        .map_err(GitError::git2(format!(
            "cannot read dist-git commit {}",
            planned.oid
        )))?;
    let message = String::from_utf8_lossy(commit.message_bytes()).into_owned();
    let mut report = CommitReport {
        dist_git: planned.oid,
        title: rules::title(&message).to_string(),
        result: CommitResult::NoChanges { merge: false },
        gitignore_skipped: false,
    };
    let Some(changes) = &planned.changes else {
        report.result = CommitResult::NoChanges { merge: true };
        return Ok(report);
    };
    if !changes.is_empty() {
        report.gitignore_skipped = apply_changes(opts, source_git, dist_git, planned, changes)?;
    }
    let committer = committer.ok_or_else(|| UsgError::Internal("no committer".into()))?;
    let author = identity_of(&commit.author());
    let text = rules::commit_message(&message, &planned.oid.to_string());
    if let Some(oid) = source_git.commit_all(&text, &author, committer)? {
        report.result = CommitResult::Synced(oid);
    }
    Ok(report)
}

/// Applies the changes of one commit in git's order; returns whether a `.gitignore`
/// change was skipped.
fn apply_changes(
    opts: &UsgOptions,
    source_git: &Repo,
    dist_git: &Repo,
    planned: &Planned,
    changes: &[FileChange],
) -> Result<bool, UsgError> {
    let sha = planned.oid.to_string();
    let parent = planned.parent.map(|p| p.to_string());
    let patch = opts
        .git
        .diff_tree_patch(dist_git.workdir(), parent.as_deref(), &sha)?;
    let sections = rules::split_sections(&patch);
    let wanted: usize = changes.iter().map(FileChange::sections).sum();
    if sections.len() != wanted {
        return Err(UsgError::Internal(format!(
            "git diff-tree printed {} diff sections for the {} changed files of {sha}",
            sections.len(),
            changes.len()
        )));
    }
    let root = source_git.workdir();
    let mut gitignore_skipped = false;
    let mut next = 0;
    for change in changes {
        let own = &sections[next..next + change.sections()];
        next += change.sections();
        match change {
            FileChange::Deleted(path) => remove_distro_file(root, planned.oid, path)?,
            FileChange::Renamed { from, .. } => {
                let old = root.join(DISTRO_DIR).join(from);
                check_no_symlinked_dir(root, planned.oid, from)?;
                if std::fs::symlink_metadata(&old).is_err() {
                    return Err(UsgError::RenameSourceMissing {
                        commit: planned.oid,
                        path: from.clone(),
                        synced: Vec::new(),
                    });
                }
                gitignore_skipped |= apply_sections(opts, root, planned.oid, change, own)?;
            }
            FileChange::Added(_) | FileChange::Modified(_) | FileChange::TypeChanged(_) => {
                gitignore_skipped |= apply_sections(opts, root, planned.oid, change, own)?;
            }
        }
    }
    Ok(gitignore_skipped)
}

/// `git apply --directory=.distro` of a change's sections. A failure on the top-level
/// `.gitignore` is skipped (packit: source-git's `.distro/.gitignore` is a reset file that
/// never matches dist-git's); returns whether that happened.
fn apply_sections(
    opts: &UsgOptions,
    root: &Path,
    commit: Oid,
    change: &FileChange,
    sections: &[&[u8]],
) -> Result<bool, UsgError> {
    let path = change.new_path().or(change.old_path()).unwrap_or_default();
    check_no_symlinked_dir(root, commit, path)?;
    let patch: Vec<u8> = sections.concat();
    match opts.git.apply(root, DISTRO_DIR, &patch) {
        Ok(()) => Ok(false),
        Err(GitError::Command { .. }) if change.new_path() == Some(".gitignore") => Ok(true),
        Err(GitError::Command { stderr, .. }) => Err(UsgError::ApplyFailed {
            commit,
            path: path.to_string(),
            stderr,
            synced: Vec::new(),
        }),
        Err(other) => Err(other.into()),
    }
}

/// packit's deletion: remove `.distro/<path>` if it is there; its directory stays.
fn remove_distro_file(root: &Path, commit: Oid, path: &str) -> Result<(), UsgError> {
    check_no_symlinked_dir(root, commit, path)?;
    let unsafe_path = || UsgError::UnsafePath {
        commit,
        path: path.to_string(),
    };
    let work_tree = RepoRoot::open(root, "source-git")?;
    // resolved without following links, then removed relative to the directory handle
    let rel = format!("{DISTRO_DIR}/{path}");
    let (dir, name) = match work_tree.parent(&rel) {
        Ok(Some(found)) => found,
        Ok(None) => return Ok(()),
        Err(FsError::Symlink { .. } | FsError::UnsafePath { .. }) => return Err(unsafe_path()),
        Err(e) => return Err(e.into()),
    };
    match dir.kind(name)? {
        None => Ok(()),
        // a directory where dist-git had a file: not packit's to remove either
        Some(Kind::Dir { .. }) => Ok(()),
        Some(_) => Ok(dir.unlink(name)?),
    }
}

/// Refuses a path whose parent directories under `.distro/` include a symlink (writing
/// through it would change files outside `.distro/`).
fn check_no_symlinked_dir(root: &Path, commit: Oid, path: &str) -> Result<(), UsgError> {
    let mut dir = root.join(DISTRO_DIR);
    let components: Vec<&str> = path.split('/').collect();
    for component in &components[..components.len().saturating_sub(1)] {
        dir.push(component);
        match std::fs::symlink_metadata(&dir) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(UsgError::UnsafePath {
                    commit,
                    path: path.to_string(),
                });
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Ok(())
}

fn identity_of(sig: &git2::Signature<'_>) -> Identity {
    Identity {
        name: String::from_utf8_lossy(sig.name_bytes()).into_owned(),
        email: String::from_utf8_lossy(sig.email_bytes()).into_owned(),
        time: sig.when().seconds(),
        offset_minutes: sig.when().offset_minutes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_classified() {
        assert!(UsgError::ForceWithoutRange.is_user_error());
        assert!(UsgError::Refused(vec![]).is_user_error());
        assert!(!UsgError::Internal("x".into()).is_user_error());
        assert!(!UsgError::Changes(ChangeListError::Truncated).is_user_error());
        let command = GitError::Command {
            args: "rev-list".into(),
            dir: PathBuf::new(),
            stderr: "bad revision".into(),
        };
        assert!(UsgError::Git(command).is_user_error());
    }

    #[test]
    fn refusals_name_the_first_commit_like_packit() {
        let a = Oid::from_str("af024cde7ac7216367aa9e84bc77ef084159ce7a").unwrap();
        let b = Oid::from_str("5f1ab854a4bd02029e90e72c757ae8342de2eb33").unwrap();
        let one = UsgError::Refused(vec![Refusal {
            commit: a,
            reason: RefusalReason::Sources,
        }]);
        assert_eq!(
            one.to_string(),
            "The sources file was modified in commit af024cde7ac7216367aa9e84bc77ef084159ce7a \
             which is part of the provided range. Such operation is not supported."
        );
        let two = UsgError::Refused(vec![
            Refusal {
                commit: b,
                reason: RefusalReason::Patch("x.patch".into()),
            },
            Refusal {
                commit: a,
                reason: RefusalReason::Sources,
            },
        ]);
        assert_eq!(
            two.to_string(),
            "A patch was modified in commit 5f1ab854a4bd02029e90e72c757ae8342de2eb33 which is not \
             supported by this command. (1 more commit(s) of the range are refused too: af024cde)"
        );
    }
}
