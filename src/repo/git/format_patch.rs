//! `git format-patch`, the program that defines a patch's bytes, run two ways with the same
//! result:
//!
//! - **files**: packit's argv (`--output-directory OUT RANGE -- . :(exclude)…`); git names
//!   and writes every file, and prints each name before writing it.
//! - **stream**: `--stdout` into pipes, cut into the files git would have written. git
//!   separates the patches of `--stdout` with one newline and names a file `%04d-%f`, cut
//!   to 57 bytes, plus `.patch` (`fmt_output_commit`); `git rev-list --format=%f` over the
//!   same range and pathspec gives the commits, in order, with that `%f`. No file is
//!   created (on some file systems creating hundreds of small files costs more than
//!   formatting them), and a long range is cut into pieces, one process per core: piece
//!   `k` runs `--start-number=N <commit before N>..<head>`, so git itself numbers its
//!   patches and counts the whole range's total in `[PATCH n/m]`, and it is stopped once
//!   it has written its share.
//!
//! The stream is used only where no `format.*` setting applies (those can change names,
//! numbering or separators), and it is checked: every file must begin with the `From
//! <sha>` line of the commit expected there and carry `[PATCH n/m]` with its own number
//! and the range's total. Anything else — a history the pieces see differently, an
//! unexpected subject line, a failing git — and the range is formatted again as files,
//! which also reports git's own error.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Stdio};
use std::thread::JoinHandle;

use super::GitError;
use super::cli::GitCli;
use crate::convert::patches::Generated;

/// git's default `format.filenameMaxLength`, and the suffix, of a patch file's name.
const NAME_MAX: usize = 64;
const SUFFIX: &str = ".patch";
/// The date git writes on every patch's mbox `From` line.
const MBOX_DATE: &str = " Mon Sep 17 00:00:00 2001\n";

/// What to format.
struct Request {
    dir: PathBuf,
    out_dir: PathBuf,
    range: String,
    excludes: Vec<String>,
    no_prefix: bool,
}

impl GitCli {
    /// Starts `git format-patch` over `range` (argv as [`GitCli::format_patch`]) and returns
    /// a handle that yields the files in git's order. In files mode each file is yielded as
    /// soon as git has written it, so the caller works while git produces the next ones.
    pub fn spawn_format_patch(
        &self,
        source_git: &Path,
        out_dir: &Path,
        range: &str,
        excludes: &[String],
        no_prefix: bool,
    ) -> Result<FormatPatchRun, GitError> {
        let request = Request {
            dir: source_git.to_path_buf(),
            out_dir: out_dir.to_path_buf(),
            range: range.to_string(),
            excludes: excludes.to_vec(),
            no_prefix,
        };
        if let Some(stream) = StreamRun::start(self, &request) {
            return Ok(FormatPatchRun {
                mode: Mode::Stream(stream),
                git: self.clone(),
                request,
            });
        }
        let files = FilesRun::start(self, &request)?;
        Ok(FormatPatchRun {
            mode: Mode::Files(files),
            git: self.clone(),
            request,
        })
    }

    /// The files of `git format-patch --output-directory OUT [--no-prefix] RANGE -- .
    /// :(exclude)P...`, packit's exact argv, run in the source-git work tree, in the order
    /// git writes them.
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

    /// Whether any `format.*` setting applies in `dir` (then only git names the files).
    fn has_format_settings(&self, dir: &Path) -> bool {
        let mut cmd = self.command(dir);
        cmd.args(["config", "--get-regexp", r"^format\."])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // exit 1: no such setting; anything else (0, or trouble) keeps the files mode
        !matches!(cmd.status().map(|s| s.code()), Ok(Some(1)))
    }

    /// The commits `format-patch` formats, oldest first, each with its `%f`.
    fn commits_to_format(&self, request: &Request) -> Option<Vec<Commit>> {
        // `%H %f`, not `%f` alone: rev-list prints nothing for a format that comes out empty
        let mut args: Vec<OsString> = ["rev-list", "--no-merges", "--reverse", "--format=%H %f"]
            .into_iter()
            .map(OsString::from)
            .collect();
        args.push(request.range.clone().into());
        args.extend(pathspec(&request.excludes));
        let out = self.run(&request.dir, &args, None).ok()?;
        let text = String::from_utf8(out).ok()?;
        let mut lines = text.lines();
        let mut commits = Vec::new();
        while let Some(line) = lines.next() {
            let sha = line.strip_prefix("commit ")?;
            let (again, sanitized) = lines.next()?.split_once(' ')?;
            if again != sha || !sha.bytes().all(|b| b.is_ascii_hexdigit()) || !sanitized.is_ascii()
            {
                return None;
            }
            commits.push(Commit {
                sha: sha.to_string(),
                file_name: file_name(commits.len() + 1, sanitized),
            });
        }
        Some(commits)
    }
}

/// `-- . :(exclude)P…`: packit's pathspec.
fn pathspec(excludes: &[String]) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["--".into(), ".".into()];
    args.extend(
        excludes
            .iter()
            .map(|p| OsString::from(format!(":(exclude){p}"))),
    );
    args
}

/// git's name for the `number`th file: `%04d-%f`, cut to leave room for the suffix.
fn file_name(number: usize, sanitized: &str) -> String {
    let mut name = format!("{number:04}-{sanitized}");
    name.truncate(NAME_MAX - (SUFFIX.len() + 1));
    name.push_str(SUFFIX);
    name
}

/// A running `git format-patch`. Dropping the handle kills git.
pub struct FormatPatchRun {
    mode: Mode,
    git: GitCli,
    request: Request,
}

enum Mode {
    Files(FilesRun),
    Stream(StreamRun),
    Done(std::vec::IntoIter<Generated>),
}

impl FormatPatchRun {
    /// The next complete file, in git's order; `None` once git has finished successfully.
    pub fn next_file(&mut self) -> Result<Option<Generated>, GitError> {
        if let Mode::Stream(stream) = &mut self.mode {
            self.mode = match stream.finish() {
                Some(files) => Mode::Done(files.into_iter()),
                None => {
                    tracing::debug!(range = %self.request.range, "git format-patch --stdout did not give the expected files; formatting them as files");
                    Mode::Files(FilesRun::start(&self.git, &self.request)?)
                }
            };
        }
        match &mut self.mode {
            Mode::Files(files) => files.next_file(),
            Mode::Done(files) => Ok(files.next()),
            Mode::Stream(_) => unreachable!("the stream was finished above"),
        }
    }
}

/// One commit to format: its sha and the name git gives its file.
#[derive(Debug, Clone)]
struct Commit {
    sha: String,
    file_name: String,
}

/// The stream mode: pieces of the range formatted by concurrent `--stdout` processes.
struct StreamRun {
    commits: Vec<Commit>,
    pieces: Vec<Piece>,
}

/// One `git format-patch --stdout` process and the commits it is there for.
struct Piece {
    /// Index of its first and last commit in [`StreamRun::commits`].
    first: usize,
    last: usize,
    child: Child,
    reader: Option<JoinHandle<Option<PieceOutput>>>,
}

/// What a piece's reader saw: the bytes up to the end of its share, and whether it
/// stopped git early.
struct PieceOutput {
    bytes: Vec<u8>,
    stopped: bool,
}

impl StreamRun {
    /// Starts the pieces; `None` when the stream cannot be used here.
    fn start(git: &GitCli, request: &Request) -> Option<StreamRun> {
        if git.has_format_settings(&request.dir) {
            return None;
        }
        let commits = git.commits_to_format(request)?;
        let head = match request.range.split_once("..") {
            Some((_, head)) if !head.is_empty() && !head.starts_with('.') => Some(head),
            _ => None,
        };
        // At least two commits a piece: git numbers (`[PATCH n/m]`) only when its own
        // list holds more than one, and the last piece's list is its own share.
        let count = match head {
            Some(_) => (commits.len() / git.min_commits_per_job.max(2)).clamp(1, git.jobs),
            None => 1,
        };
        let mut run = StreamRun {
            commits,
            pieces: Vec::new(),
        };
        let total = run.commits.len();
        if total == 0 {
            return Some(run);
        }
        for k in 0..count {
            let first = total * k / count;
            let last = (total * (k + 1) / count).max(1) - 1;
            let range = match (first, head) {
                (0, _) | (_, None) => request.range.clone(),
                (_, Some(head)) => format!("{}..{head}", run.commits[first - 1].sha),
            };
            let stop = run
                .commits
                .get(last + 1)
                .map(|next| format!("\nFrom {}{MBOX_DATE}", next.sha).into_bytes());
            let piece = Piece::start(git, request, &range, first + 1, stop)?;
            run.pieces.push(Piece {
                first,
                last,
                ..piece
            });
        }
        Some(run)
    }

    /// Waits for every piece and cuts the files; `None` when anything is not as expected.
    fn finish(&mut self) -> Option<Vec<Generated>> {
        let total = self.commits.len();
        let mut files = Vec::with_capacity(total);
        let mut ok = true;
        for piece in &mut self.pieces {
            let read = piece.reader.take().and_then(|r| r.join().ok()).flatten();
            if read.as_ref().is_none_or(|r| r.stopped) {
                // stopped on purpose, or its output could not be read: git must not block
                let _ = piece.child.kill();
            }
            let status = piece.child.wait().ok();
            let Some(read) = read else {
                ok = false;
                continue;
            };
            if !read.stopped && !status.is_some_and(|s| s.success()) {
                ok = false;
                continue;
            }
            if ok {
                ok = cut(
                    &read.bytes,
                    &self.commits[piece.first..=piece.last],
                    piece.first,
                    total,
                    &mut files,
                );
            }
        }
        self.pieces.clear();
        (ok && files.len() == total).then_some(files)
    }
}

impl Drop for StreamRun {
    fn drop(&mut self) {
        for piece in &mut self.pieces {
            let _ = piece.child.kill();
            let _ = piece.child.wait();
            if let Some(reader) = piece.reader.take() {
                let _ = reader.join();
            }
        }
    }
}

impl Piece {
    /// `git format-patch --stdout [--start-number=N] [--no-prefix] RANGE -- PATHSPEC`, read
    /// by a thread that stops git once `stop` (the next piece's first `From` line) appears.
    fn start(
        git: &GitCli,
        request: &Request,
        range: &str,
        start_number: usize,
        stop: Option<Vec<u8>>,
    ) -> Option<Piece> {
        let mut args: Vec<OsString> = vec!["format-patch".into(), "--stdout".into()];
        if start_number > 1 {
            args.push(format!("--start-number={start_number}").into());
        }
        if request.no_prefix {
            args.push("--no-prefix".into());
        }
        args.push(range.into());
        args.extend(pathspec(&request.excludes));
        let mut child = git
            .command(&request.dir)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let stdout = child.stdout.take()?;
        let pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).ok()?)?;
        let reader = std::thread::spawn(move || read_piece(stdout, stop.as_deref(), pid));
        Some(Piece {
            first: 0,
            last: 0,
            child,
            reader: Some(reader),
        })
    }
}

/// Reads git's output until the end, or until `stop` appears (then git, which has written
/// the file before it, is killed and the bytes are cut where `stop` begins).
fn read_piece(
    mut stdout: ChildStdout,
    stop: Option<&[u8]>,
    pid: rustix::process::Pid,
) -> Option<PieceOutput> {
    let mut bytes = Vec::with_capacity(1 << 20);
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        let n = match stdout.read(&mut chunk) {
            Ok(0) => {
                return Some(PieceOutput {
                    bytes,
                    stopped: false,
                });
            }
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        };
        let searched_from = bytes.len().saturating_sub(stop.map_or(0, <[u8]>::len));
        bytes.extend_from_slice(&chunk[..n]);
        if let Some(stop) = stop
            && let Some(at) = find(&bytes[searched_from..], stop)
        {
            // The child is not reaped before its reader is joined, so the pid is its own.
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            bytes.truncate(searched_from + at);
            return Some(PieceOutput {
                bytes,
                stopped: true,
            });
        }
    }
}

/// Cuts one piece's output into files, checking each against the commit expected there;
/// `first` is the index of the piece's first commit, `total` the range's commit count.
fn cut(
    bytes: &[u8],
    commits: &[Commit],
    first: usize,
    total: usize,
    files: &mut Vec<Generated>,
) -> bool {
    let mut at = 0;
    for (i, commit) in commits.iter().enumerate() {
        let head = format!("From {}{MBOX_DATE}", commit.sha);
        if !bytes[at..].starts_with(head.as_bytes()) {
            return false;
        }
        let end = match commits.get(i + 1) {
            Some(next) => {
                let separator = format!("\nFrom {}{MBOX_DATE}", next.sha);
                match find(&bytes[at..], separator.as_bytes()) {
                    Some(offset) => at + offset,
                    None => return false,
                }
            }
            None => bytes.len(),
        };
        let file = &bytes[at..end];
        if !numbered_as(file, first + i + 1, total) {
            return false;
        }
        files.push(Generated {
            file_name: commit.file_name.clone(),
            bytes: file.to_vec(),
        });
        // the newline git puts between two patches of `--stdout`
        at = (end + 1).min(bytes.len());
    }
    at >= bytes.len()
}

/// Whether the patch's subject carries `[PATCH number/total]` (`[PATCH]` for a range of one).
fn numbered_as(file: &[u8], number: usize, total: usize) -> bool {
    let Some(at) = find(file, b"\nSubject: [PATCH") else {
        return false;
    };
    let rest = &file[at + b"\nSubject: [PATCH".len()..];
    if total == 1 {
        return rest.starts_with(b"] ");
    }
    let Some(close) = rest.iter().position(|&b| b == b']') else {
        return false;
    };
    let Ok(label) = std::str::from_utf8(&rest[..close]) else {
        return false;
    };
    let parsed = label
        .strip_prefix(' ')
        .and_then(|l| l.split_once('/'))
        .and_then(|(n, m)| Some((n.parse::<usize>().ok()?, m.parse::<usize>().ok()?)));
    parsed == Some((number, total))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

/// The files mode. git prints each file name before writing the file, so a file is
/// complete once the next name (or the end of the output) arrives.
struct FilesRun {
    child: Option<Child>,
    stdout: Option<BufReader<ChildStdout>>,
    stderr: Option<JoinHandle<String>>,
    pending: Option<String>,
    dir: PathBuf,
    args: String,
}

impl FilesRun {
    fn start(git: &GitCli, request: &Request) -> Result<FilesRun, GitError> {
        let mut args: Vec<OsString> = vec!["format-patch".into(), "--output-directory".into()];
        args.push(request.out_dir.as_os_str().to_owned());
        if request.no_prefix {
            args.push("--no-prefix".into());
        }
        args.push(request.range.clone().into());
        args.extend(pathspec(&request.excludes));
        let mut child = git
            .command(&request.dir)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(GitError::Spawn)?;
        let stdout = child.stdout.take().map(BufReader::new);
        let stderr = child.stderr.take().map(|mut pipe| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = pipe.read_to_string(&mut text);
                text
            })
        });
        Ok(FilesRun {
            child: Some(child),
            stdout,
            stderr,
            pending: None,
            dir: request.dir.clone(),
            args: args
                .iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" "),
        })
    }

    fn next_file(&mut self) -> Result<Option<Generated>, GitError> {
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

impl Drop for FilesRun {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cut_like_git() {
        assert_eq!(file_name(1, "fix"), "0001-fix.patch");
        let long = "a".repeat(100);
        let name = file_name(12, &long);
        assert_eq!(name.len(), 63);
        assert!(name.starts_with("0012-aaaa") && name.ends_with("a.patch"));
        assert_eq!(file_name(12345, ""), "12345-.patch");
    }

    #[test]
    fn the_numbering_is_checked() {
        let file = b"From abc Mon Sep 17 00:00:00 2001\nFrom: A <a@b>\nSubject: [PATCH 07/12] x\n";
        assert!(numbered_as(file, 7, 12));
        assert!(!numbered_as(file, 7, 13));
        assert!(!numbered_as(file, 8, 12));
        assert!(numbered_as(b"x\nSubject: [PATCH] y\n", 1, 1));
        assert!(!numbered_as(b"x\nSubject: [PATCH 1/1] y\n", 1, 1));
        assert!(!numbered_as(b"x\nSubject: y\n", 1, 2));
    }

    #[test]
    fn a_piece_is_cut_at_the_expected_commits_only() {
        let commits = |shas: &[&str]| -> Vec<Commit> {
            shas.iter()
                .enumerate()
                .map(|(i, s)| Commit {
                    sha: s.to_string(),
                    file_name: file_name(i + 1, "x"),
                })
                .collect()
        };
        let patch = |sha: &str, n: usize| {
            format!(
                "From {sha}{MBOX_DATE}From: A <a@b>\nSubject: [PATCH {n}/2] x\n\nbody\n-- \n2.47.3\n\n"
            )
        };
        let stream = format!("{}\n{}", patch("aa", 1), patch("bb", 2));
        let mut files = Vec::new();
        assert!(cut(
            stream.as_bytes(),
            &commits(&["aa", "bb"]),
            0,
            2,
            &mut files
        ));
        assert_eq!(files[0].bytes, patch("aa", 1).into_bytes());
        assert_eq!(files[1].bytes, patch("bb", 2).into_bytes());
        // a commit git did not format, or one more than expected
        assert!(!cut(
            stream.as_bytes(),
            &commits(&["aa", "cc"]),
            0,
            2,
            &mut Vec::new()
        ));
        assert!(!cut(
            stream.as_bytes(),
            &commits(&["aa"]),
            0,
            1,
            &mut Vec::new()
        ));
    }
}
