//! Running the `git` program for the bytes and semantics git alone defines: `format-patch`
//! output, `patch-id --stable` values, and for update-source-git the revision-range
//! language (`rev-list`), git's rename detection (`diff-tree -M`) and `git apply`.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use super::GitError;
use crate::convert::patches::Generated;

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
#[derive(Debug, Clone, Default)]
pub struct GitCli {
    env: GitEnv,
}

impl GitCli {
    /// A runner with the given environment policy.
    pub fn new(env: GitEnv) -> Self {
        GitCli { env }
    }

    fn command(&self, dir: &Path) -> Command {
        let mut cmd = Command::new("git");
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

    fn run(
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

    /// Starts `git format-patch` (argv as [`GitCli::format_patch`]) and returns a handle that
    /// yields each file as soon as git has finished writing it, so the caller can process
    /// patches while git produces the next ones.
    pub fn spawn_format_patch(
        &self,
        source_git: &Path,
        out_dir: &Path,
        range: &str,
        excludes: &[String],
        no_prefix: bool,
    ) -> Result<FormatPatchRun, GitError> {
        let args = format_patch_args(out_dir, range, excludes, no_prefix);
        let mut cmd = self.command(source_git);
        cmd.args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(GitError::Spawn)?;
        let stdout = child.stdout.take().map(BufReader::new);
        let stderr = child.stderr.take().map(|mut pipe| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = pipe.read_to_string(&mut text);
                text
            })
        });
        Ok(FormatPatchRun {
            child: Some(child),
            stdout,
            stderr,
            pending: None,
            dir: source_git.to_path_buf(),
            args: args
                .iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" "),
        })
    }

    /// `git format-patch --output-directory OUT [--no-prefix] RANGE -- . :(exclude)P...`,
    /// packit's exact argv, run in the source-git work tree. Returns the files in the order
    /// git wrote them.
    pub fn format_patch(
        &self,
        source_git: &Path,
        out_dir: &Path,
        range: &str,
        excludes: &[String],
        no_prefix: bool,
    ) -> Result<Vec<Generated>, GitError> {
        let mut run = self.spawn_format_patch(source_git, out_dir, range, excludes, no_prefix)?;
        let mut files = Vec::new();
        while let Some(file) = run.next_file()? {
            files.push(file);
        }
        Ok(files)
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

/// packit's argv for `git format-patch`.
fn format_patch_args(
    out_dir: &Path,
    range: &str,
    excludes: &[String],
    no_prefix: bool,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["format-patch".into(), "--output-directory".into()];
    args.push(out_dir.as_os_str().to_owned());
    if no_prefix {
        args.push("--no-prefix".into());
    }
    args.push(range.into());
    args.push("--".into());
    args.push(".".into());
    args.extend(
        excludes
            .iter()
            .map(|p| OsString::from(format!(":(exclude){p}"))),
    );
    args
}

/// Reads a file `git format-patch` listed (a path relative to where it ran, or absolute).
fn read_generated(dir: &Path, listed: &str) -> Result<Generated, GitError> {
    let path = PathBuf::from(listed);
    let full = if path.is_absolute() {
        path
    } else {
        dir.join(path)
    };
    let bytes = std::fs::read(&full).map_err(GitError::io("cannot read patch", &full))?;
    let file_name = full
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Generated { file_name, bytes })
}

/// A running `git format-patch`. git prints each file name before writing the file, so a
/// file is complete once the next name (or the end of the output) arrives. Dropping the
/// handle kills git.
pub struct FormatPatchRun {
    child: Option<Child>,
    stdout: Option<BufReader<ChildStdout>>,
    stderr: Option<std::thread::JoinHandle<String>>,
    pending: Option<String>,
    dir: PathBuf,
    args: String,
}

impl FormatPatchRun {
    /// The next complete file, in git's order; `None` once git has finished successfully.
    pub fn next_file(&mut self) -> Result<Option<Generated>, GitError> {
        loop {
            let mut line = String::new();
            let read = match self.stdout.as_mut() {
                Some(out) => out.read_line(&mut line).map_err(GitError::io(
                    "cannot read the output of git format-patch",
                    &self.dir,
                ))?,
                None => 0,
            };
            if read == 0 {
                self.stdout = None;
                self.wait()?;
                return self
                    .pending
                    .take()
                    .map(|p| read_generated(&self.dir, &p))
                    .transpose();
            }
            let name = line.trim_end_matches('\n').to_string();
            if name.is_empty() {
                continue;
            }
            if let Some(done) = self.pending.replace(name) {
                return read_generated(&self.dir, &done).map(Some);
            }
        }
    }

    fn wait(&mut self) -> Result<(), GitError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let status = child.wait().map_err(GitError::Spawn)?;
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        if status.success() {
            return Ok(());
        }
        Err(GitError::Command {
            args: self.args.clone(),
            dir: self.dir.clone(),
            stderr: stderr.trim().to_string(),
        })
    }
}

impl Drop for FormatPatchRun {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
