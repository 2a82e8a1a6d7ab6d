//! Bare repositories on disk (one per project, `<root>/<project id>.git`) and
//! the few git plumbing calls the fake needs. Everything runs the `git` CLI
//! synchronously with a sanitised environment (no user/system config).

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use crate::model::Id;

/// A git command failed.
#[derive(Debug)]
pub struct GitError(pub String);

impl fmt::Display for GitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "git: {}", self.0)
    }
}

impl std::error::Error for GitError {}

/// Commit metadata used by the branch and job JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitInfo {
    /// Full sha.
    pub id: String,
    /// Parent shas.
    pub parent_ids: Vec<String>,
    /// Author name.
    pub author_name: String,
    /// Author e-mail.
    pub author_email: String,
    /// Author date, GitLab format.
    pub authored_date: String,
    /// Committer name.
    pub committer_name: String,
    /// Committer e-mail.
    pub committer_email: String,
    /// Commit date, GitLab format.
    pub committed_date: String,
    /// Full message.
    pub message: String,
}

impl CommitInfo {
    /// First line of the message.
    pub fn title(&self) -> &str {
        self.message.lines().next().unwrap_or("")
    }
}

/// Handle on the directory holding the bare repositories.
#[derive(Clone, Debug)]
pub(crate) struct Git {
    root: PathBuf,
    /// Commits are immutable: `(project, sha)` → metadata, filled lazily.
    commits: Arc<Mutex<HashMap<(Id, String), CommitInfo>>>,
}

/// Builds a `git` command with a clean environment.
pub(crate) fn git_command() -> Command {
    let mut cmd = Command::new("git");
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("GIT_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .stdin(Stdio::null());
    cmd
}

fn run(mut cmd: Command) -> Result<Output, GitError> {
    let out = cmd
        .output()
        .map_err(|e| GitError(format!("cannot run git: {e}")))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(GitError(format!(
            "{:?} failed: {}",
            cmd.get_args().collect::<Vec<_>>(),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

fn stdout_string(out: Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

/// `2020-04-08T17:28:40+02:00` → `2020-04-08T17:28:40.000+02:00`.
fn gitlab_date(iso_strict: &str) -> String {
    match iso_strict.len() {
        n if n >= 25 => format!("{}.000{}", &iso_strict[..19], &iso_strict[19..]),
        _ => iso_strict.to_string(),
    }
}

impl Git {
    pub(crate) fn new(root: PathBuf) -> Self {
        Git {
            root,
            commits: Arc::default(),
        }
    }

    /// The `GIT_PROJECT_ROOT` for `git http-backend`.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Directory name of a project's repository below [`Git::root`].
    pub(crate) fn repo_dir_name(id: Id) -> String {
        format!("{id}.git")
    }

    pub(crate) fn repo_path(&self, id: Id) -> PathBuf {
        self.root.join(Self::repo_dir_name(id))
    }

    fn cmd(&self, id: Id) -> Command {
        let mut cmd = git_command();
        cmd.arg("--git-dir").arg(self.repo_path(id));
        cmd
    }

    fn run_in<I, S>(&self, id: Id, args: I) -> Result<String, GitError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.cmd(id);
        cmd.args(args);
        run(cmd).map(stdout_string)
    }

    /// Creates an empty bare repository configured like a GitLab one
    /// (push allowed over HTTP, fetch by sha allowed).
    pub(crate) fn init(&self, id: Id, default_branch: &str) -> Result<(), GitError> {
        let mut cmd = git_command();
        cmd.args(["init", "--quiet", "--bare"])
            .arg(format!("--initial-branch={default_branch}"))
            .arg(self.repo_path(id));
        run(cmd)?;
        for (k, v) in [
            ("http.receivepack", "true"),
            ("uploadpack.allowAnySHA1InWant", "true"),
            ("receive.denyDeleteCurrent", "false"),
            ("core.logAllRefUpdates", "false"),
            ("gc.auto", "0"),
        ] {
            self.run_in(id, ["config", k, v])?;
        }
        Ok(())
    }

    /// Fetches all branches and tags of a local repository (a path) into the
    /// project's repository, overwriting same-named refs.
    pub(crate) fn fetch_all_from_path(&self, id: Id, local: &Path) -> Result<(), GitError> {
        let mut cmd = self.cmd(id);
        cmd.args(["fetch", "--quiet", "--no-tags"])
            .arg(local)
            .args(["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]);
        run(cmd).map(|_| ())
    }

    /// Copies branches and tags of project `src` into project `dst` (fork import).
    pub(crate) fn mirror_from(&self, dst: Id, src: Id) -> Result<(), GitError> {
        self.fetch_all_from_path(dst, &self.repo_path(src))
    }

    /// Makes `sha` (an object of project `src`) available in `dst` as `dst_ref`.
    pub(crate) fn copy_commit(
        &self,
        dst: Id,
        src: Id,
        sha: &str,
        dst_ref: &str,
    ) -> Result<(), GitError> {
        if dst == src {
            return self.set_ref(dst, dst_ref, sha);
        }
        let mut cmd = self.cmd(dst);
        cmd.args(["fetch", "--quiet", "--no-tags"])
            .arg(self.repo_path(src))
            .arg(format!("+{sha}:{dst_ref}"));
        run(cmd).map(|_| ())
    }

    /// Points `HEAD` at `branch`.
    pub(crate) fn set_head(&self, id: Id, branch: &str) -> Result<(), GitError> {
        self.run_in(
            id,
            ["symbolic-ref", "HEAD", &format!("refs/heads/{branch}")],
        )
        .map(|_| ())
    }

    /// Creates or moves a ref.
    pub(crate) fn set_ref(&self, id: Id, refname: &str, sha: &str) -> Result<(), GitError> {
        self.run_in(id, ["update-ref", refname, sha]).map(|_| ())
    }

    /// Resolves a revision to a commit sha, if it exists in the repository.
    pub(crate) fn resolve_commit(&self, id: Id, rev: &str) -> Option<String> {
        if rev.is_empty() || rev.starts_with('-') {
            return None;
        }
        self.run_in(
            id,
            [
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{rev}^{{commit}}"),
            ],
        )
        .ok()
        .filter(|s| s.len() == 40)
    }

    /// Branch name → head sha.
    pub(crate) fn heads(&self, id: Id) -> BTreeMap<String, String> {
        let out = self
            .run_in(
                id,
                [
                    "for-each-ref",
                    "--format=%(objectname) %(refname:lstrip=2)",
                    "refs/heads/",
                ],
            )
            .unwrap_or_default();
        out.lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(sha, name)| (name.to_string(), sha.to_string()))
            .collect()
    }

    /// Branches containing `sha`, sorted by name.
    pub(crate) fn branches_containing(&self, id: Id, sha: &str) -> Vec<String> {
        let out = self
            .run_in(
                id,
                [
                    "for-each-ref",
                    "--format=%(refname:lstrip=2)",
                    "--contains",
                    sha,
                    "refs/heads/",
                ],
            )
            .unwrap_or_default();
        out.lines().map(str::to_string).collect()
    }

    /// Merge base of two commits.
    pub(crate) fn merge_base(&self, id: Id, a: &str, b: &str) -> Option<String> {
        self.run_in(id, ["merge-base", a, b])
            .ok()
            .filter(|s| s.len() == 40)
    }

    /// Whether `a` is an ancestor of (or equal to) `b`.
    pub(crate) fn is_ancestor(&self, id: Id, a: &str, b: &str) -> bool {
        self.run_in(id, ["merge-base", "--is-ancestor", a, b])
            .is_ok()
    }

    /// Number of files changed between two commits.
    pub(crate) fn changed_files(&self, id: Id, a: &str, b: &str) -> usize {
        self.run_in(id, ["diff", "--name-only", a, b])
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }

    /// Commits in `from..to`, newest first, as `(sha, subject)`.
    pub(crate) fn commits_between(
        &self,
        id: Id,
        from: Option<&str>,
        to: &str,
    ) -> Vec<(String, String)> {
        let range = match from {
            Some(f) => format!("{f}..{to}"),
            None => to.to_string(),
        };
        self.run_in(id, ["log", "--format=%H %s", "--max-count=100", &range])
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    /// Metadata of a commit (cached).
    pub(crate) fn commit_info(&self, id: Id, sha: &str) -> Option<CommitInfo> {
        let key = (id, sha.to_string());
        if let Some(c) = self.commits.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Some(c);
        }
        let info = self.read_commit_info(id, sha)?;
        if info.id == sha
            && let Ok(mut m) = self.commits.lock()
        {
            m.insert(key, info.clone());
        }
        Some(info)
    }

    fn read_commit_info(&self, id: Id, sha: &str) -> Option<CommitInfo> {
        let out = self
            .run_in(
                id,
                [
                    "show",
                    "-s",
                    "--format=%H%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B",
                    sha,
                ],
            )
            .ok()?;
        let f: Vec<&str> = out.splitn(9, '\0').collect();
        if f.len() != 9 {
            return None;
        }
        Some(CommitInfo {
            id: f[0].to_string(),
            parent_ids: f[1].split_whitespace().map(str::to_string).collect(),
            author_name: f[2].to_string(),
            author_email: f[3].to_string(),
            authored_date: gitlab_date(f[4]),
            committer_name: f[5].to_string(),
            committer_email: f[6].to_string(),
            committed_date: gitlab_date(f[7]),
            message: format!("{}\n", f[8].trim_end()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::gitlab_date;

    #[test]
    fn dates_get_milliseconds() {
        assert_eq!(
            gitlab_date("2020-04-08T13:28:52-04:00"),
            "2020-04-08T13:28:52.000-04:00"
        );
    }
}
