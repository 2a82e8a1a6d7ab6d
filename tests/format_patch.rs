//! `git format-patch` through pipes and in pieces gives the files git writes itself: the
//! same names, the same bytes, for subjects that git folds, encodes or cuts, commits
//! the pathspec drops, binary changes, renames — with the range cut into any number of
//! pieces. A history the pieces would see differently still gives git's files.

use std::path::{Path, PathBuf};
use std::process::Command;

use srcgit::convert::patches::Generated;
use srcgit::repo::git::{GitCli, GitEnv};

struct Repo {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    home: PathBuf,
    base: String,
}

fn git(dir: &Path, home: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("LC_ALL", "C.UTF-8")
        .env("TZ", "UTC")
        .env("GIT_AUTHOR_NAME", "Zoë Packager")
        .env("GIT_AUTHOR_EMAIL", "zoe@example.org")
        .env("GIT_COMMITTER_NAME", "Zoë Packager")
        .env("GIT_COMMITTER_EMAIL", "zoe@example.org")
        .env("GIT_AUTHOR_DATE", "2026-01-02T03:04:05+01:00")
        .env("GIT_COMMITTER_DATE", "2026-01-02T03:04:05+01:00")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Subjects around git's folding width (78 columns with `Subject: [PATCH nn/mm] `), longer
/// than a file name may be, non-ASCII (RFC 2047), all punctuation (an empty `%f`), with
/// brackets, and one that starts with `[PATCH]` itself.
fn subjects() -> Vec<String> {
    let mut out = vec![
        "Fix the build".to_string(),
        "[PATCH] already prefixed".to_string(),
        "!!!".to_string(),
        "Übersetzung: ñandú, 日本語 and more".to_string(),
        "a subject that is very long and goes on and on well past sixty-four characters of file name".to_string(),
        "   leading blanks and trailing dots...".to_string(),
        "path/with/slashes and a.dot".to_string(),
    ];
    for width in 55..70 {
        out.push(format!("{}{}", "w".repeat(width - 10), " end words"));
    }
    out
}

/// A repository with an upstream base and, on top, `count` commits of every kind.
fn repo(count: usize) -> Repo {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sg");
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    let g = |args: &[&str]| git(&dir, &home, args);
    g(&["init", "-q", "-b", "main"]);
    std::fs::write(dir.join("README"), "upstream\n").unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/a.c"), "int a;\n".repeat(50)).unwrap();
    g(&["add", "-A"]);
    g(&["commit", "-q", "-m", "upstream 1.0"]);
    let base = g(&["rev-parse", "HEAD"]);
    let subjects = subjects();
    let mut readme = "README".to_string();
    for i in 0..count {
        let subject = &subjects[i % subjects.len()];
        match i % 7 {
            // only `.distro/`: the pathspec drops it
            3 => {
                std::fs::create_dir_all(dir.join(".distro")).unwrap();
                std::fs::write(dir.join(".distro/pkg.spec"), format!("Release: {i}\n")).unwrap();
            }
            // binary
            4 => std::fs::write(dir.join(format!("blob{i}.bin")), [0u8, 1, 2, i as u8]).unwrap(),
            // rename
            5 => {
                g(&["mv", &readme, &format!("README-{i}")]);
                readme = format!("README-{i}");
            }
            _ => {
                let text = std::fs::read_to_string(dir.join("src/a.c")).unwrap();
                std::fs::write(dir.join("src/a.c"), format!("{text}int x{i};\n")).unwrap();
            }
        }
        g(&["add", "-A"]);
        let body = format!("Body of change {i}, with ünïcode.\n\nPatch-name: change-{i}.patch");
        g(&["commit", "-q", "-m", subject, "-m", &body]);
    }
    Repo {
        _tmp: tmp,
        dir,
        home,
        base,
    }
}

fn cli(repo: &Repo, jobs: usize) -> GitCli {
    GitCli::new(GitEnv::Isolated {
        home: repo.home.clone(),
    })
    .with_format_patch_jobs(jobs, 1)
}

/// What git itself writes into `out` (a `format.*` setting makes srcgit leave the naming
/// to git; `.patch` is the default suffix, so the bytes are git's defaults).
fn git_files(
    repo: &Repo,
    range: &str,
    out: &Path,
    excludes: &[String],
    no_prefix: bool,
) -> Vec<Generated> {
    git(
        &repo.dir,
        &repo.home,
        &["config", "format.suffix", ".patch"],
    );
    let files = cli(repo, 1)
        .format_patch(&repo.dir, out, range, excludes, no_prefix)
        .unwrap();
    git(
        &repo.dir,
        &repo.home,
        &["config", "--unset", "format.suffix"],
    );
    files
}

/// [`git_files`] of a range with `.distro` excluded, which must give files.
fn written_by_git(repo: &Repo, range: &str, out: &Path) -> Vec<Generated> {
    let files = git_files(repo, range, out, &[".distro".to_string()], false);
    assert!(
        std::fs::read_dir(out).unwrap().count() > 0,
        "git wrote no files"
    );
    files
}

fn streamed(repo: &Repo, jobs: usize, range: &str, out: &Path) -> Vec<Generated> {
    std::fs::create_dir_all(out).unwrap();
    cli(repo, jobs)
        .format_patch(&repo.dir, out, range, &[".distro".to_string()], false)
        .unwrap()
}

fn assert_same(want: &[Generated], got: &[Generated], what: &str) {
    let names = |v: &[Generated]| v.iter().map(|g| g.file_name.clone()).collect::<Vec<_>>();
    assert_eq!(names(got), names(want), "{what}: file names");
    for (w, g) in want.iter().zip(got) {
        assert!(
            w.bytes == g.bytes,
            "{what}: {} differs:\n--- git\n{}\n--- srcgit\n{}",
            w.file_name,
            String::from_utf8_lossy(&w.bytes),
            String::from_utf8_lossy(&g.bytes)
        );
    }
}

#[test]
fn pieces_give_the_files_git_writes() {
    let repo = repo(45);
    let range = format!("{}..HEAD", repo.base);
    let out = repo.dir.parent().unwrap().join("out");
    let want = written_by_git(&repo, &range, &out.join("git"));
    assert_eq!(want.len(), 45 - 45 / 7 - usize::from(45 % 7 > 3));
    assert!(
        want.iter()
            .any(|g| g.bytes.windows(10).any(|w| w == b"=?UTF-8?q?"))
    );
    for jobs in [1, 2, 3, 5, 8] {
        let dir = out.join(format!("stream-{jobs}"));
        let got = streamed(&repo, jobs, &range, &dir);
        assert_same(&want, &got, &format!("{jobs} pieces"));
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "{jobs} pieces: git wrote files, so the stream was not used"
        );
    }
}

#[test]
fn one_commit_and_an_empty_range_match_git() {
    let repo = repo(2);
    let out = repo.dir.parent().unwrap().join("out");
    for (i, range) in ["HEAD~1..HEAD", "HEAD..HEAD"].into_iter().enumerate() {
        let got = streamed(&repo, 2, range, &out.join(format!("s{i}")));
        let by_git = git_files(&repo, range, &out.join(format!("g{i}")), &[], false);
        assert_eq!(by_git.len(), 1 - i);
        assert_same(&by_git, &got, range);
    }
}

#[test]
fn no_prefix_matches_git() {
    let repo = repo(20);
    let range = format!("{}..HEAD", repo.base);
    let out = repo.dir.parent().unwrap().join("out");
    let want = git_files(&repo, &range, &out.join("git"), &[], true);
    let stream = out.join("stream");
    std::fs::create_dir_all(&stream).unwrap();
    let got = cli(&repo, 3)
        .format_patch(&repo.dir, &stream, &range, &[], true)
        .unwrap();
    assert_same(&want, &got, "--no-prefix");
    assert_eq!(std::fs::read_dir(&stream).unwrap().count(), 0);
}

#[test]
fn a_merge_in_the_range_still_gives_git_files() {
    let repo = repo(12);
    let g = |args: &[&str]| git(&repo.dir, &repo.home, args);
    g(&["checkout", "-q", "-b", "side", "HEAD~6"]);
    std::fs::write(repo.dir.join("side.txt"), "side\n").unwrap();
    g(&["add", "-A"]);
    g(&["commit", "-q", "-m", "side change"]);
    g(&["checkout", "-q", "main"]);
    g(&["merge", "-q", "--no-ff", "-m", "merge side", "side"]);
    std::fs::write(repo.dir.join("after.txt"), "after\n").unwrap();
    g(&["add", "-A"]);
    g(&["commit", "-q", "-m", "after the merge"]);
    let range = format!("{}..HEAD", repo.base);
    let out = repo.dir.parent().unwrap().join("out");
    let want = written_by_git(&repo, &range, &out.join("git"));
    for jobs in [1, 2, 4] {
        let got = streamed(&repo, jobs, &range, &out.join(format!("s{jobs}")));
        assert_same(&want, &got, &format!("merge, {jobs} pieces"));
    }
}

#[test]
fn a_bad_range_is_git_s_own_error() {
    let repo = repo(1);
    let out = repo.dir.parent().unwrap().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let err = cli(&repo, 2)
        .format_patch(&repo.dir, &out, "no-such-ref..HEAD", &[], false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("format-patch"), "{err}");
}

/// A `git` that passes everything to the real one but cuts `format-patch --stdout` short
/// after `bytes` bytes, as a stream that stops half-way would be.
fn git_cutting_streams(dir: &Path, bytes: usize) -> PathBuf {
    let real = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v git"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    let script = dir.join("git-cutting-streams");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nif [ \"$1\" = format-patch ] && [ \"$2\" = --stdout ]; then\n  {real} \"$@\" | head -c {bytes}\n  exit 0\nfi\nexec {real} \"$@\"\n"
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[test]
fn a_stream_that_stops_half_way_is_finished_from_git_s_files() {
    let repo = repo(30);
    let range = format!("{}..HEAD", repo.base);
    let out = repo.dir.parent().unwrap().join("out");
    let want = written_by_git(&repo, &range, &out.join("git"));
    for jobs in [1, 3] {
        // half of the first piece's share
        let cut: usize = want
            .iter()
            .take(want.len() / (2 * jobs))
            .map(|g| g.bytes.len() + 1)
            .sum();
        let dir = out.join(format!("cut-{jobs}"));
        std::fs::create_dir_all(&dir).unwrap();
        let got = cli(&repo, jobs)
            .with_program(git_cutting_streams(repo.dir.parent().unwrap(), cut))
            .format_patch(&repo.dir, &dir, &range, &[".distro".to_string()], false)
            .unwrap();
        assert_same(&want, &got, &format!("cut short, {jobs} pieces"));
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            want.len(),
            "git wrote the files the stream did not give"
        );
    }
}
