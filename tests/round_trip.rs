//! Round trips through both directions with real repositories built from
//! `examples/hello`: source-git → dist-git (`srcgit convert -m`) → a packager's dist-git
//! commit (a creation, an edit, a rename, a deletion) → source-git (`srcgit
//! update-source-git`) → `srcgit convert` again gives back exactly the dist-git tree the
//! packager committed, and the two repositories are in sync.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::git;

struct World {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    sg: PathBuf,
    dg: PathBuf,
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// dist-git and source-git as `examples/run-example.sh` builds them, then converted and
/// committed with `srcgit convert -m`.
fn world() -> World {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello");
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let sg = tmp.path().join("src/hello");
    let dg = tmp.path().join("rpms/hello");
    for dir in [&home, &sg, &dg] {
        std::fs::create_dir_all(dir).unwrap();
    }
    git(&dg, &["init", "-q", "-b", "rawhide"]);
    copy_tree(&example.join("dist-git"), &dg);
    git(&dg, &["add", "-A"]);
    git(&dg, &["commit", "-q", "-m", "Import hello 1.0"]);
    let dg_init = git(&dg, &["rev-parse", "HEAD"]);

    git(&sg, &["init", "-q", "-b", "main"]);
    copy_tree(&example.join("upstream"), &sg);
    git(&sg, &["add", "-A"]);
    git(&sg, &["commit", "-q", "-m", "Release 1.0"]);
    git(&sg, &["tag", "v1.0"]);
    copy_tree(&example.join("distro"), &sg.join(".distro"));
    git(&sg, &["add", "-f", ".distro"]);
    let trailer = format!("From-dist-git-commit: {dg_init}");
    git(
        &sg,
        &[
            "commit",
            "-q",
            "-m",
            "Initialize as a source-git repository",
            "-m",
            &trailer,
        ],
    );
    let mut steps: Vec<PathBuf> = std::fs::read_dir(example.join("downstream"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    steps.sort();
    for step in steps {
        copy_tree(&step.join("tree"), &sg);
        git(&sg, &["add", "-A"]);
        let message = step.join("message").display().to_string();
        git(&sg, &["commit", "-q", "-F", &message]);
    }
    let world = World {
        _tmp: tmp,
        home,
        sg,
        dg,
    };
    let out = world.srcgit(&["convert", "-m", "Update from source-git"], &world.dg);
    assert_success("convert", &out);
    world
}

fn assert_success(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl World {
    /// Runs srcgit with no git configuration and the packager's identity. `dist_git` is
    /// the dist-git repository to pass (the one in the world, or a copy).
    fn srcgit(&self, args: &[&str], dist_git: &Path) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_srcgit"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("LC_ALL", "C.UTF-8")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "Ann Example")
            .env("GIT_AUTHOR_EMAIL", "ann@example.org")
            .env("GIT_COMMITTER_NAME", "Ann Example")
            .env("GIT_COMMITTER_EMAIL", "ann@example.org")
            .args(args);
        match args[0] {
            "update-source-git" => cmd.arg(dist_git).arg(&self.sg),
            _ => cmd.arg(&self.sg).arg(dist_git),
        };
        cmd.output().expect("srcgit runs")
    }

    /// A packager's dist-git commit, authored by someone else than the one who syncs.
    fn dist_git_commit(&self, title: &str, change: impl FnOnce(&Path)) -> String {
        change(&self.dg);
        git(&self.dg, &["add", "-A"]);
        git(
            &self.dg,
            &[
                "commit",
                "-q",
                "--author",
                "Dana Packager <dana@example.org>",
                "-m",
                title,
            ],
        );
        git(&self.dg, &["rev-parse", "HEAD"])
    }

    /// update-source-git, then the round-trip checks; returns the new source-git commits
    /// (oldest first).
    fn sync_back_and_check(&self, before: &str, dist_git_commits: &[String]) -> Vec<String> {
        let sg_before = git(&self.sg, &["rev-parse", "HEAD"]);
        let out = self.srcgit(&["update-source-git"], &self.dg);
        assert_success("update-source-git", &out);
        assert_eq!(git(&self.sg, &["status", "--porcelain", "-uall"]), "");
        assert_eq!(git(&self.dg, &["status", "--porcelain", "-uall"]), "");

        // one source-git commit per dist-git commit, each naming it, by its author
        let range = format!("{sg_before}..HEAD");
        let new: Vec<String> = git(&self.sg, &["rev-list", "--reverse", &range])
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(new.len(), dist_git_commits.len());
        for (sg_commit, dg_commit) in new.iter().zip(dist_git_commits) {
            let message = git(&self.sg, &["log", "-1", "--format=%B", sg_commit]);
            assert!(
                message.ends_with(&format!("From-dist-git-commit: {dg_commit}")),
                "{message}"
            );
            assert_eq!(
                git(
                    &self.sg,
                    &["log", "-1", "--format=%an <%ae>|%cn", sg_commit]
                ),
                "Dana Packager <dana@example.org>|Ann Example"
            );
        }

        // the repositories are in sync
        let out = self.srcgit(&["status"], &self.dg);
        assert_success("status", &out);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("is up to date with"),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );

        // converting source-git onto dist-git as it was before the packager's change gives
        // exactly the packager's tree
        let copy = self.dg.parent().unwrap().join("hello-again");
        let (from, to) = (self.dg.display().to_string(), copy.display().to_string());
        git(self.dg.parent().unwrap(), &["clone", "-q", &from, &to]);
        git(&copy, &["reset", "-q", "--hard", before]);
        let out = self.srcgit(&["convert", "-f", "-m", "Round trip"], &copy);
        assert_success("convert again", &out);
        assert_eq!(
            git(&copy, &["rev-parse", "HEAD^{tree}"]),
            git(&self.dg, &["rev-parse", "HEAD^{tree}"]),
            "dist-git tree after the round trip:\n{}",
            git(&copy, &["diff", "--stat", "HEAD", "origin/rawhide"])
        );
        std::fs::remove_dir_all(&copy).unwrap();
        new
    }
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Bytes git treats as binary (a NUL), as a gzip file would be.
const BINARY: &[u8] = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xcb\x48\xcd\xc9\xc9\x57\x00\x00";

#[test]
fn created_files_come_back() {
    let w = world();
    let before = git(&w.dg, &["rev-parse", "HEAD"]);
    let dg = w.dist_git_commit("Add an rpmlint filter and a test script", |dg| {
        write(
            &dg.join("hello.rpmlintrc"),
            b"addFilter(\"no-manual-page-for-binary hello\")\n",
        );
        write(
            &dg.join("tests/smoke.sh"),
            b"#!/bin/sh\nhello | grep -q Hello\n",
        );
        make_executable(&dg.join("tests/smoke.sh"));
        write(&dg.join("tests/data/input.gz"), BINARY);
    });
    w.sync_back_and_check(&before, &[dg]);
    assert_eq!(
        std::fs::read(w.sg.join(".distro/tests/data/input.gz")).unwrap(),
        BINARY
    );
    assert!(w.sg.join(".distro/hello.rpmlintrc").is_file());
}

#[test]
fn edits_come_back() {
    let w = world();
    let before = git(&w.dg, &["rev-parse", "HEAD"]);
    let dg = w.dist_git_commit("Rebuild and test the greeting", |dg| {
        let old = std::fs::read_to_string(dg.join("hello.spec")).unwrap();
        let spec = old.replace("Release:        2%{?dist}", "Release:        3%{?dist}");
        assert_ne!(spec, old, "the converted spec has Release 2");
        let spec = spec.replace(
            "%changelog\n",
            "%changelog\n* Fri Jan 02 2026 Dana Packager <dana@example.org> - 1.0-3\n- Rebuild\n\n",
        );
        write(&dg.join("hello.spec"), spec.as_bytes());
        let plan = std::fs::read_to_string(dg.join("plans/smoke.fmf")).unwrap();
        write(
            &dg.join("plans/smoke.fmf"),
            format!("{plan}# also run by the nightly compose\n").as_bytes(),
        );
    });
    w.sync_back_and_check(&before, &[dg]);
    let spec = std::fs::read_to_string(w.sg.join(".distro/hello.spec")).unwrap();
    assert!(spec.contains("Release:        3%{?dist}"), "{spec}");
    assert!(
        !spec.contains("Patch0001"),
        "Patch tags stay out of .distro/"
    );
}

#[test]
fn renames_come_back_with_their_edits_and_directory() {
    let w = world();
    let before = git(&w.dg, &["rev-parse", "HEAD"]);
    let dg = w.dist_git_commit("Group the CI plans under plans/ci/", |dg| {
        let plan = std::fs::read_to_string(dg.join("plans/smoke.fmf")).unwrap();
        std::fs::remove_file(dg.join("plans/smoke.fmf")).unwrap();
        write(
            &dg.join("plans/ci/smoke.fmf"),
            format!("{plan}# moved with the other CI plans\n").as_bytes(),
        );
    });
    let diff = git(
        &w.dg,
        &["diff-tree", "-r", "-M", "--name-status", "HEAD~", "HEAD"],
    );
    assert!(diff.starts_with('R'), "git sees a rename: {diff}");
    w.sync_back_and_check(&before, &[dg]);
    assert!(!w.sg.join(".distro/plans/smoke.fmf").exists());
    assert_eq!(
        std::fs::read(w.sg.join(".distro/plans/ci/smoke.fmf")).unwrap(),
        std::fs::read(w.dg.join("plans/ci/smoke.fmf")).unwrap()
    );
}

#[test]
fn deletions_come_back() {
    let w = world();
    let before = git(&w.dg, &["rev-parse", "HEAD"]);
    let dg = w.dist_git_commit("Drop the smoke plan", |dg| {
        std::fs::remove_file(dg.join("plans/smoke.fmf")).unwrap();
    });
    w.sync_back_and_check(&before, &[dg]);
    assert!(!w.sg.join(".distro/plans/smoke.fmf").exists());
    // like packit, the emptied directory stays in the work tree (git does not track it)
    assert!(w.sg.join(".distro/plans").is_dir());
}

#[test]
fn several_changes_come_back_one_commit_each() {
    let w = world();
    let before = git(&w.dg, &["rev-parse", "HEAD"]);
    let created = w.dist_git_commit("Add a test script", |dg| {
        write(&dg.join("tests/smoke.sh"), b"#!/bin/sh\nhello\n");
        make_executable(&dg.join("tests/smoke.sh"));
    });
    let edited = w.dist_git_commit("Check the greeting", |dg| {
        write(
            &dg.join("tests/smoke.sh"),
            b"#!/bin/sh\nhello | grep -q Hello\n",
        );
    });
    let renamed = w.dist_git_commit("Move the test script", |dg| {
        std::fs::create_dir_all(dg.join("tests/ci")).unwrap();
        std::fs::rename(dg.join("tests/smoke.sh"), dg.join("tests/ci/smoke.sh")).unwrap();
    });
    let deleted = w.dist_git_commit("Drop the smoke plan", |dg| {
        std::fs::remove_file(dg.join("plans/smoke.fmf")).unwrap();
    });
    let new = w.sync_back_and_check(&before, &[created, edited, renamed, deleted]);
    assert_eq!(new.len(), 4);
    let titles = git(&w.sg, &["log", "--reverse", "--format=%s", "-4"]);
    assert_eq!(
        titles,
        "Add a test script\nCheck the greeting\nMove the test script\nDrop the smoke plan"
    );
}
