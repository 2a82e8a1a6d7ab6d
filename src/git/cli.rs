//! Running the `git` program for the bytes git alone defines: `format-patch` output and
//! `patch-id --stable` values.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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
        let stdout = self.run(source_git, &args, None)?;
        let listing = String::from_utf8_lossy(&stdout);
        listing
            .lines()
            .filter(|line| !line.is_empty())
            .map(|line| {
                let path = PathBuf::from(line);
                let full = if path.is_absolute() {
                    path
                } else {
                    source_git.join(path)
                };
                let bytes =
                    std::fs::read(&full).map_err(GitError::io("cannot read patch", &full))?;
                let file_name = full
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                Ok(Generated { file_name, bytes })
            })
            .collect()
    }

    /// `git patch-id --stable` over `input` (run in `dir`, as packit runs it in dist-git).
    pub fn patch_id_stable(&self, dir: &Path, input: &[u8]) -> Result<String, GitError> {
        let out = self.run(dir, &["patch-id".into(), "--stable".into()], Some(input))?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}
