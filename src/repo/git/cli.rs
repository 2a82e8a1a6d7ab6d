//! Running the `git` program for the bytes and semantics git alone defines: `patch-id
//! --stable` values, and for update-source-git the revision-range language (`rev-list`),
//! git's rename detection (`diff-tree -M`) and `git apply`. `format-patch` has its own
//! module, [`super::format_patch`].

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::GitError;

/// Which environment git runs in.
#[derive(Debug, Clone, Default)]
pub enum GitEnv {
    /// The caller's environment and git configuration, like packit (the local CLI): the
    /// patch bytes then match what the packager's own `git format-patch` writes.
    #[default]
    Inherit,
    /// No system or global git configuration and a fixed locale (the executor): the bytes
    /// depend only on the repositories and the git version.
    Isolated {
        /// An empty directory to use as `HOME`.
        home: PathBuf,
    },
}

/// Runs git commands.
#[derive(Debug, Clone)]
pub struct GitCli {
    env: GitEnv,
    /// The git program (`git`, found on `PATH`, unless told otherwise).
    program: PathBuf,
    /// How many `git format-patch` processes one range may be cut into.
    pub(super) jobs: usize,
    /// The fewest commits worth a process of their own.
    pub(super) min_commits_per_job: usize,
}

impl Default for GitCli {
    fn default() -> Self {
        GitCli::new(GitEnv::default())
    }
}

impl GitCli {
    /// A runner with the given environment policy; `git format-patch` uses up to one
    /// process per core for ranges of at least 64 commits a process.
    pub fn new(env: GitEnv) -> Self {
        GitCli {
            env,
            program: PathBuf::from("git"),
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get().min(8)),
            min_commits_per_job: 64,
        }
    }

    /// Cuts `git format-patch` ranges into at most `jobs` processes of at least
    /// `min_commits` commits each (`jobs = 1`: one process, as packit runs it).
    pub fn with_format_patch_jobs(mut self, jobs: usize, min_commits: usize) -> Self {
        self.jobs = jobs.max(1);
        self.min_commits_per_job = min_commits.max(1);
        self
    }

    /// Runs `program` instead of the `git` on `PATH`.
    pub fn with_program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = program.into();
        self
    }

    pub(super) fn command(&self, dir: &Path) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.current_dir(dir);
        if let GitEnv::Isolated { home } = &self.env {
            cmd.env_clear();
            for key in ["PATH", "TMPDIR"] {
                if let Some(value) = std::env::var_os(key) {
                    cmd.env(key, value);
                }
            }
            cmd.env("HOME", home)
                .env("LC_ALL", "C.UTF-8")
                .env("LANG", "C.UTF-8")
                .env("TZ", "UTC")
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_CONFIG_GLOBAL", "/dev/null");
        }
        cmd
    }

    pub(super) fn run(
        &self,
        dir: &Path,
        args: &[OsString],
        stdin: Option<&[u8]>,
    ) -> Result<Vec<u8>, GitError> {
        let mut cmd = self.command(dir);
        cmd.args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(GitError::Spawn)?;
        let writer = match (stdin, child.stdin.take()) {
            (Some(input), Some(mut pipe)) => {
                let input = input.to_vec();
                Some(std::thread::spawn(move || pipe.write_all(&input)))
            }
            _ => None,
        };
        let output = child.wait_with_output().map_err(GitError::Spawn)?;
        if let Some(writer) = writer {
            // A write error means git stopped reading; its exit status tells why.
            let _ = writer.join();
        }
        if !output.status.success() {
            return Err(GitError::Command {
                args: args
                    .iter()
                    .map(|a| a.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(" "),
                dir: dir.to_path_buf(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        Ok(output.stdout)
    }

    /// `git repack -a -d -q` in the bare repository `git_dir`: one pack of everything its
    /// refs reach, the old packs (and what no ref reaches) gone.
    pub fn repack_all(&self, git_dir: &Path) -> Result<(), GitError> {
        let args: Vec<OsString> = ["repack", "-a", "-d", "-q"].map(OsString::from).into();
        self.run(git_dir, &args, None).map(drop)
    }

    /// `git patch-id --stable` over `input` (run in `dir`, as packit runs it in dist-git).
    pub fn patch_id_stable(&self, dir: &Path, input: &[u8]) -> Result<String, GitError> {
        let out = self.run(dir, &["patch-id".into(), "--stable".into()], Some(input))?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

impl GitCli {
    /// `git rev-list --reverse RANGE --` in `dir`: the commits of a revision range (git's
    /// whole range syntax), oldest first, in `rev-list`'s date order reversed.
    pub fn rev_list_reverse(&self, dir: &Path, range: &str) -> Result<Vec<String>, GitError> {
        let out = self.run(
            dir,
            &[
                "rev-list".into(),
                "--reverse".into(),
                range.into(),
                "--".into(),
            ],
            None,
        )?;
        Ok(String::from_utf8_lossy(&out)
            .lines()
            .map(str::to_string)
            .collect())
    }

    /// `git diff-tree -r -M --name-status -z` of a commit against its parent (`--root`
    /// against the empty tree when it has none): the changed files with git's rename
    /// detection, in git's order.
    pub fn diff_tree_name_status(
        &self,
        dir: &Path,
        parent: Option<&str>,
        commit: &str,
    ) -> Result<Vec<u8>, GitError> {
        let mut args: Vec<OsString> = ["diff-tree", "-r", "-M", "--name-status", "-z"]
            .into_iter()
            .map(OsString::from)
            .collect();
        push_revisions(&mut args, parent, commit);
        self.run(dir, &args, None)
    }

    /// `git diff-tree -p --binary --full-index -M` of a commit against its parent (or
    /// `--root`): the same files as [`GitCli::diff_tree_name_status`], in the same order, with
    /// binary changes as `GIT binary patch` data that `git apply` can carry.
    pub fn diff_tree_patch(
        &self,
        dir: &Path,
        parent: Option<&str>,
        commit: &str,
    ) -> Result<Vec<u8>, GitError> {
        let mut args: Vec<OsString> = [
            "diff-tree",
            "-r",
            "-M",
            "-p",
            "--binary",
            "--full-index",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
        ]
        .into_iter()
        .map(OsString::from)
        .collect();
        push_revisions(&mut args, parent, commit);
        self.run(dir, &args, None)
    }

    /// `git apply --directory=DIRECTORY -` in the work tree `dir` (no `--index`, no fuzz):
    /// every path of `patch` — diff headers, `rename from`/`rename to` — is put under
    /// `DIRECTORY`, and the content lines are left alone.
    pub fn apply(&self, dir: &Path, directory: &str, patch: &[u8]) -> Result<(), GitError> {
        self.run(
            dir,
            &[
                "apply".into(),
                format!("--directory={directory}").into(),
                "-".into(),
            ],
            Some(patch),
        )
        .map(|_| ())
    }
}

fn push_revisions(args: &mut Vec<OsString>, parent: Option<&str>, commit: &str) {
    match parent {
        Some(parent) => args.push(parent.into()),
        None => args.push("--root".into()),
    }
    args.push(commit.into());
}
