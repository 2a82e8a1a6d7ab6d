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
//! and the range's total, so every file handed over is the one git writes at that place.
//! Anything else — an unexpected commit or subject line, a stream that ends early, a
//! failing git — and the range is formatted again as files, the files already handed over
//! skipped; that run also reports git's own error.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Stdio};
use std::sync::mpsc::{Receiver, Sender};
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
            mode: Mode::Files {
                run: files,
                skip: 0,
            },
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

    /// The commits `format-patch` formats, oldest first, each with its `%f`, and whether
    /// they form a single line (each one's parent, in the history the pathspec leaves,
    /// is the one before it).
    fn commits_to_format(&self, request: &Request) -> Option<(Vec<Commit>, bool)> {
        // `%H %f`, not `%f` alone: rev-list prints nothing for a format that comes out empty
        let mut args: Vec<OsString> = [
            "rev-list",
            "--no-merges",
            "--reverse",
            "--parents",
            "--format=%H %f",
        ]
        .into_iter()
        .map(OsString::from)
        .collect();
        args.push(request.range.clone().into());
        args.extend(pathspec(&request.excludes));
        let out = self.run(&request.dir, &args, None).ok()?;
        let text = String::from_utf8(out).ok()?;
        let mut lines = text.lines();
        let mut commits: Vec<Commit> = Vec::new();
        let mut linear = true;
        while let Some(line) = lines.next() {
            let mut ids = line.strip_prefix("commit ")?.split(' ');
            let sha = ids.next()?;
            let parents: Vec<&str> = ids.collect();
            let (again, sanitized) = lines.next()?.split_once(' ')?;
            if again != sha || !sha.bytes().all(|b| b.is_ascii_hexdigit()) || !sanitized.is_ascii()
            {
                return None;
            }
            linear &= match (parents.as_slice(), commits.last()) {
                ([_], None) => true,
                ([parent], Some(previous)) => *parent == previous.sha,
                _ => false,
            };
            commits.push(Commit {
                sha: sha.to_string(),
                file_name: file_name(commits.len() + 1, sanitized),
            });
        }
        Some((commits, linear))
    }
}

/// `git format-patch OUTPUT… [--no-prefix] RANGE -- . :(exclude)P…`: packit's argv, with
/// where the patches go.
fn format_patch_args(request: &Request, output: Vec<OsString>, range: &str) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["format-patch".into()];
    args.extend(output);
    if request.no_prefix {
        args.push("--no-prefix".into());
    }
    args.push(range.into());
    args.extend(pathspec(&request.excludes));
    args
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
    Stream(StreamRun),
    /// Files mode, the first `skip` files already given by the stream.
    Files {
        run: FilesRun,
        skip: usize,
    },
}

impl FormatPatchRun {
    /// The next complete file, in git's order; `None` once git has finished successfully.
    pub fn next_file(&mut self) -> Result<Option<Generated>, GitError> {
        if let Mode::Stream(stream) = &mut self.mode {
            match stream.next_file() {
                Ok(file) => return Ok(file),
                Err(Diverged) => {
                    // Every file given so far was checked (its commit, number and total),
                    // so it is the file git writes at that place: carry on from there.
                    let skip = stream.given;
                    tracing::debug!(range = %self.request.range, skip, "git format-patch --stdout did not give the expected files; formatting them as files");
                    self.mode = Mode::Files {
                        run: FilesRun::start(&self.git, &self.request)?,
                        skip,
                    };
                }
            }
        }
        let Mode::Files { run, skip } = &mut self.mode else {
            unreachable!("the stream returned above")
        };
        while *skip > 0 {
            if run.next_file()?.is_none() {
                return Err(GitError::Command {
                    args: "format-patch".into(),
                    dir: self.request.dir.clone(),
                    stderr: "git wrote fewer files than it streamed".into(),
                });
            }
            *skip -= 1;
        }
        run.next_file()
    }
}

/// One commit to format: its sha and the name git gives its file.
#[derive(Debug, Clone)]
struct Commit {
    sha: String,
    file_name: String,
}

/// The stream did not give what was expected.
#[derive(Debug)]
struct Diverged;

/// The stream mode: pieces of the range formatted by concurrent `--stdout` processes,
/// each cut into files by a thread as git writes them.
struct StreamRun {
    pieces: Vec<Piece>,
    /// The piece whose files come next.
    current: usize,
    /// Files given so far.
    given: usize,
}

/// One `git format-patch --stdout` process, the thread cutting its output, and the
/// files it sends.
struct Piece {
    child: Child,
    files: Receiver<Result<Generated, Diverged>>,
    reader: Option<JoinHandle<Ending>>,
}

/// How a piece's reader ended.
#[derive(Debug, PartialEq, Eq)]
enum Ending {
    /// Every file of its share sent, git left to finish.
    Done,
    /// Every file of its share sent, git killed (its output went on into the next share).
    Stopped,
    /// Something unexpected (git was killed, if it ran).
    Diverged,
}

impl StreamRun {
    /// Starts the pieces; `None` when the stream cannot be used here.
    fn start(git: &GitCli, request: &Request) -> Option<StreamRun> {
        if git.has_format_settings(&request.dir) {
            return None;
        }
        let (commits, linear) = git.commits_to_format(request)?;
        let head = match request.range.split_once("..") {
            Some((_, head)) if !head.is_empty() && !head.starts_with('.') => Some(head),
            _ => None,
        };
        // Pieces only on a single line of commits, where `<commit>..<head>` is exactly the
        // rest of the range; at least two commits a piece, because git numbers (`[PATCH
        // n/m]`) only when its own list holds more than one.
        let count = match head {
            Some(_) if linear => {
                (commits.len() / git.min_commits_per_job.max(2)).clamp(1, git.jobs)
            }
            _ => 1,
        };
        let commits = std::sync::Arc::new(commits);
        let total = commits.len();
        let mut run = StreamRun {
            pieces: Vec::new(),
            current: 0,
            given: 0,
        };
        if total == 0 {
            return Some(run);
        }
        for k in 0..count {
            let first = total * k / count;
            let last = total * (k + 1) / count - 1;
            let range = match (first, head) {
                (0, _) | (_, None) => request.range.clone(),
                (_, Some(head)) => format!("{}..{head}", commits[first - 1].sha),
            };
            let share = Share {
                commits: std::sync::Arc::clone(&commits),
                first,
                last,
            };
            run.pieces.push(Piece::start(git, request, &range, share)?);
        }
        Some(run)
    }

    /// The next file of the current piece, waiting for its reader to cut it.
    fn next_file(&mut self) -> Result<Option<Generated>, Diverged> {
        while let Some(piece) = self.pieces.get_mut(self.current) {
            match piece.files.recv() {
                Ok(Ok(file)) => {
                    self.given += 1;
                    return Ok(Some(file));
                }
                Ok(Err(Diverged)) => return Err(Diverged),
                // the reader is done: so is this piece, once git has exited well
                Err(_) => {
                    let ending = piece.reader.take().and_then(|r| r.join().ok());
                    if ending != Some(Ending::Done) {
                        let _ = piece.child.kill();
                    }
                    let status = piece.child.wait().ok();
                    match ending {
                        Some(Ending::Stopped) => {}
                        Some(Ending::Done) if status.is_some_and(|s| s.success()) => {}
                        _ => return Err(Diverged),
                    }
                    self.current += 1;
                }
            }
        }
        Ok(None)
    }
}

impl Drop for StreamRun {
    fn drop(&mut self) {
        for piece in &mut self.pieces {
            if let Some(reader) = piece.reader.take() {
                let _ = piece.child.kill();
                let _ = piece.child.wait();
                let _ = reader.join();
            }
        }
    }
}

/// The commits a piece is there for: `commits[first..=last]` of the whole range.
struct Share {
    commits: std::sync::Arc<Vec<Commit>>,
    first: usize,
    last: usize,
}

impl Piece {
    /// `git format-patch --stdout [--start-number=N] [--no-prefix] RANGE -- PATHSPEC`, and
    /// the thread that cuts its output into the files of `share`.
    fn start(git: &GitCli, request: &Request, range: &str, share: Share) -> Option<Piece> {
        let mut output: Vec<OsString> = vec!["--stdout".into()];
        if share.first > 0 {
            output.push(format!("--start-number={}", share.first + 1).into());
        }
        let args = format_patch_args(request, output, range);
        let mut child = git
            .command(&request.dir)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        // The reader kills git before the child is reaped (it is waited for only after the
        // reader is joined), so the pid is still the child's.
        let Some(pid) = i32::try_from(child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        else {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        };
        let kill = move || {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        };
        let stdout = child.stdout.take()?;
        let (send, files) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || cut_piece(stdout, &share, &send, kill));
        Some(Piece {
            child,
            files,
            reader: Some(reader),
        })
    }
}

/// Reads git's output and sends each file of `share` as soon as it is complete — when the
/// next commit's `From` line arrives, or the output ends — after checking it.
fn cut_piece(
    mut stdout: impl Read,
    share: &Share,
    send: &Sender<Result<Generated, Diverged>>,
    kill: impl Fn(),
) -> Ending {
    let total = share.commits.len();
    let mut bytes: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut chunk = vec![0u8; 1 << 16];
    let mut next = share.first;
    // where the current file starts, and how far its end has been looked for
    let (mut at, mut searched): (usize, usize) = (0, 0);
    let mut ended = false;
    let diverged = |send: &Sender<Result<Generated, Diverged>>| {
        kill();
        let _ = send.send(Err(Diverged));
        Ending::Diverged
    };
    loop {
        if at >= 1 << 20 {
            // what was sent is not kept: a piece holds about one file, not its whole output
            bytes.drain(..at);
            searched = searched.saturating_sub(at);
            at = 0;
        }
        if !ended {
            match stdout.read(&mut chunk) {
                Ok(0) => ended = true,
                Ok(n) => bytes.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return diverged(send),
            }
        }
        // send every file that is complete now
        loop {
            let commit = &share.commits[next];
            let head = format!("From {}{MBOX_DATE}", commit.sha);
            if bytes.len() - at < head.len() && !ended {
                break;
            }
            if !bytes[at..].starts_with(head.as_bytes()) {
                return diverged(send);
            }
            let end = match share.commits.get(next + 1) {
                Some(following) => {
                    let separator = format!("\nFrom {}{MBOX_DATE}", following.sha);
                    let from = searched.max(at);
                    match find(&bytes[from..], separator.as_bytes()) {
                        Some(offset) => from + offset,
                        None if ended => return diverged(send),
                        None => {
                            searched = bytes.len().saturating_sub(separator.len());
                            break;
                        }
                    }
                }
                None if ended => bytes.len(),
                None => break,
            };
            let file = &bytes[at..end];
            if !numbered_as(file, next + 1, total) {
                return diverged(send);
            }
            let generated = Generated {
                file_name: commit.file_name.clone(),
                bytes: file.to_vec(),
            };
            if send.send(Ok(generated)).is_err() {
                kill();
                return Ending::Diverged;
            }
            if next == share.last {
                if next + 1 < total {
                    kill();
                    return Ending::Stopped;
                }
                // the last file runs to the end of the output: nothing may follow it
                return Ending::Done;
            }
            // the newline git puts between two patches of `--stdout`
            (at, searched, next) = (end + 1, end + 1, next + 1);
        }
        if ended {
            return diverged(send);
        }
    }
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
        let output = vec!["--output-directory".into(), request.out_dir.clone().into()];
        let args = format_patch_args(request, output, &request.range);
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

    /// What `cut_piece` sends and how it ends, for `output` and a share of `shas`.
    fn cut(output: &str, shas: &[&str], first: usize, last: usize) -> (Vec<Generated>, Ending) {
        let commits = shas
            .iter()
            .enumerate()
            .map(|(i, s)| Commit {
                sha: s.to_string(),
                file_name: file_name(i + 1, "x"),
            })
            .collect();
        let share = Share {
            commits: std::sync::Arc::new(commits),
            first,
            last,
        };
        let (send, receive) = std::sync::mpsc::channel();
        let ending = cut_piece(output.as_bytes(), &share, &send, || {});
        drop(send);
        let files = receive.iter().map_while(Result::ok).collect();
        (files, ending)
    }

    #[test]
    fn a_piece_is_cut_at_the_expected_commits_only() {
        let patch = |sha: &str, n: usize, m: usize| {
            format!(
                "From {sha}{MBOX_DATE}From: A <a@b>\nSubject: [PATCH {n}/{m}] x\n\nbody\n-- \n2.47.3\n\n"
            )
        };
        let two = format!("{}\n{}", patch("aa", 1, 2), patch("bb", 2, 2));
        let (files, ending) = cut(&two, &["aa", "bb"], 0, 1);
        assert_eq!(ending, Ending::Done);
        assert_eq!(files[0].bytes, patch("aa", 1, 2).into_bytes());
        assert_eq!(files[1].bytes, patch("bb", 2, 2).into_bytes());
        // a piece that stops where the next one's share begins
        let (files, ending) = cut(&two, &["aa", "bb"], 0, 0);
        assert_eq!((files.len(), ending), (1, Ending::Stopped));
        // a commit git did not format, or one more than expected
        let (files, ending) = cut(&two, &["aa", "cc"], 0, 1);
        assert_eq!((files.len(), ending), (0, Ending::Diverged));
        let (files, ending) = cut(&two, &["aa"], 0, 0);
        assert_eq!((files.len(), ending), (0, Ending::Diverged));
        // large files: what was sent is dropped from the buffer on the way
        let big = |sha: &str, n: usize| {
            let body = format!("{sha} line\n").repeat(70_000);
            format!(
                "From {sha}{MBOX_DATE}From: A <a@b>\nSubject: [PATCH {n}/3] x\n\n{body}-- \n2.47.3\n\n"
            )
        };
        let three = format!("{}\n{}\n{}", big("aa", 1), big("bb", 2), big("cc", 3));
        let (files, ending) = cut(&three, &["aa", "bb", "cc"], 0, 2);
        assert_eq!(ending, Ending::Done);
        let want: Vec<Vec<u8>> = ["aa", "bb", "cc"]
            .iter()
            .enumerate()
            .map(|(i, sha)| big(sha, i + 1).into_bytes())
            .collect();
        assert!(files.iter().map(|f| &f.bytes).eq(want.iter()));
        // output that ends early
        let (files, ending) = cut(&patch("aa", 1, 2), &["aa", "bb"], 0, 1);
        assert_eq!((files.len(), ending), (0, Ending::Diverged));
    }
}
