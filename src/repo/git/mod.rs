//! The git boundary. `git` itself runs only where git defines the bytes
//! (`format-patch` and the names of its files, `patch-id`) or the semantics (`rev-list`
//! ranges, `diff-tree -M` renames, `apply`, for update-source-git), and for `repack` of the
//! runner host's cache (git reuses the deltas its packs have); everything else — reading
//! commits, walking history, the index, committing, fetching and pushing — goes through
//! git2 in-process. `format_patch` runs `git format-patch` into files or, cut into pieces,
//! into pipes.
//!
//! Nothing here decides anything about packit semantics; that lives in `convert`.

mod cli;
mod format_patch;
mod history;
mod remote;
mod repo;

pub use cli::{GitCli, GitEnv};
pub use format_patch::FormatPatchRun;
pub use history::{ancestry_path, date_order_walk, first_matching_commit, linearized_head};
pub use remote::{
    Credentials, LeasePush, fetch, fetch_counted, force_push, push_with_lease, remote_ref,
};
pub use repo::{Identity, Repo};

use std::path::PathBuf;

/// What went wrong talking to git.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// git2 failed.
    #[error("{what}")]
    Git2 {
        /// What was being done.
        what: String,
        /// The libgit2 error.
        #[source]
        source: git2::Error,
    },
    /// The `git` program could not be started.
    #[error("cannot run git (is it installed and on PATH?)")]
    Spawn(#[source] std::io::Error),
    /// A `git` command failed.
    #[error("`git {args}` failed in {dir}: {stderr}")]
    Command {
        /// The arguments.
        args: String,
        /// Where it ran.
        dir: PathBuf,
        /// What git said.
        stderr: String,
    },
    /// File system trouble around a repository.
    #[error("{what}: {path}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A path is not a git work tree.
    #[error("{0} is not a git repository with a work tree")]
    NotARepo(PathBuf),
}

impl GitError {
    /// Wraps a git2 error with what was being done.
    pub fn git2(what: impl Into<String>) -> impl FnOnce(git2::Error) -> GitError {
        let what = what.into();
        move |source| GitError::Git2 { what, source }
    }

    /// Wraps an I/O error with the path.
    pub fn io(
        what: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> GitError {
        let path = path.into();
        move |source| GitError::Io { what, path, source }
    }
}

/// `git` in `dir` for unit tests: no user configuration, a fixed identity and date;
/// panics when git fails, returns its output trimmed.
#[cfg(test)]
pub(crate) fn run_for_test(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "A U Thor")
        .env("GIT_AUTHOR_EMAIL", "author@example.org")
        .env("GIT_COMMITTER_NAME", "A U Thor")
        .env("GIT_COMMITTER_EMAIL", "author@example.org")
        .env("GIT_AUTHOR_DATE", "1700000000 +0000")
        .env("GIT_COMMITTER_DATE", "1700000000 +0000")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
