//! Hostile repositories, through the real `srcgit convert`: each case plants what a
//! hostile source-git author (or a broken dist-git) could commit — links to host files,
//! FIFOs, spec syntax in names, names that collide with directories, oversized files, the
//! same repository twice — and checks that srcgit refuses it with exit 2 and one clear
//! sentence, that dist-git is byte-identical afterwards (HEAD, index, status, every file,
//! no scratch directory left in `.git`), that nothing outside the two repositories was
//! written, that no planted secret reaches the output, and that it neither hangs (a time
//! limit per case) nor grows without bound (an address-space limit).

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::executor::example_repos;
use common::git;

/// A secret planted in host files that srcgit must never print.
const HOST_SECRET: &str = "HOST-SECRET-7f3a9c";
/// No case may take longer than this.
const TIME_LIMIT: Duration = Duration::from_secs(60);
/// Address-space limit for srcgit (and the git it runs), in KiB.
const MEMORY_LIMIT_KIB: u64 = 2 * 1024 * 1024;

struct Setup {
    tmp: tempfile::TempDir,
    sg: PathBuf,
    dg: PathBuf,
    /// Files outside both repositories that links point at.
    outside: PathBuf,
}

impl Setup {
    /// The example package; source-git on `fix` (three downstream commits).
    fn new() -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        let (sg, dg) = example_repos(tmp.path());
        git(&sg, &["checkout", "-q", "fix"]);
        let outside = tmp.path().join("host");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(
            outside.join("config.toml"),
            format!("concurrent = 4\n[[runners]]\ntoken = \"{HOST_SECRET}\"\n"),
        )
        .unwrap();
        std::fs::write(
            outside.join("victim.spec"),
            format!("Name: victim\n# {HOST_SECRET}\n"),
        )
        .unwrap();
        Setup {
            tmp,
            sg,
            dg,
            outside,
        }
    }

    /// Commits whatever `change` does in source-git.
    fn source_git_commit(&self, message: &str, change: impl FnOnce(&Path)) {
        change(&self.sg);
        git(&self.sg, &["add", "-A", "-f"]);
        git(&self.sg, &["commit", "-q", "--allow-empty", "-m", message]);
    }

    /// Commits whatever `change` does in dist-git.
    fn dist_git_commit(&self, message: &str, change: impl FnOnce(&Path)) {
        change(&self.dg);
        git(&self.dg, &["add", "-A", "-f"]);
        git(&self.dg, &["commit", "-q", "-m", message]);
    }

    fn convert(&self, args: &[&str]) -> Outcome {
        let sg = self.sg.display().to_string();
        let dg = self.dg.display().to_string();
        let mut all: Vec<&str> = vec!["convert"];
        all.extend_from_slice(args);
        if !args.iter().any(|a| a.starts_with('/')) {
            all.push(&sg);
            all.push(&dg);
        }
        run_srcgit(&all, self.tmp.path())
    }

    /// Everything outside the two repositories that a write could reach.
    fn outside_snapshot(&self) -> BTreeMap<String, (u64, i64, Vec<u8>)> {
        let mut out = BTreeMap::new();
        for entry in std::fs::read_dir(&self.outside).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let bytes = if meta.is_file() {
                std::fs::read(&path).unwrap()
            } else {
                Vec::new()
            };
            out.insert(
                path.display().to_string(),
                (meta.ino(), meta.mtime_nsec(), bytes),
            );
        }
        out
    }
}

#[derive(Debug)]
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// The binary under test; `SRCGIT_HOSTILE_BIN` runs the suite against another build (to
/// show which cases an older srcgit fails).
fn srcgit_bin() -> String {
    std::env::var("SRCGIT_HOSTILE_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_srcgit").to_string())
}

/// Runs srcgit with a time limit and an address-space limit, in a clean environment.
fn run_srcgit(args: &[&str], home: &Path) -> Outcome {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!(
            "ulimit -v {MEMORY_LIMIT_KIB} && exec \"$0\" \"$@\""
        ))
        .arg(srcgit_bin())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("LC_ALL", "C.UTF-8")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Ann Example")
        .env("GIT_AUTHOR_EMAIL", "ann@example.org")
        .env("GIT_COMMITTER_NAME", "Ann Example")
        .env("GIT_COMMITTER_EMAIL", "ann@example.org")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("srcgit starts");
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("srcgit {args:?} hangs (still running after {TIME_LIMIT:?})");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// HEAD, the index bytes, `git status` with ignored files, every work-tree entry (type,
/// mode, bytes or link target) and srcgit's leftovers in `.git`.
fn dist_git_state(dg: &Path) -> String {
    let mut out = String::new();
    out += &format!("HEAD {}\n", git(dg, &["rev-parse", "HEAD"]));
    let index = std::fs::read(dg.join(".git/index")).unwrap();
    out += &format!("index {:x?}\n", sha(&index));
    out += &format!(
        "status\n{}\n",
        git(dg, &["status", "--porcelain=v1", "-uall", "--ignored"])
    );
    let mut stack = vec![dg.to_path_buf()];
    let mut entries = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(dg).unwrap().display().to_string();
            if rel == ".git" {
                continue;
            }
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let what = if meta.file_type().is_symlink() {
                format!("link {}", std::fs::read_link(&path).unwrap().display())
            } else if meta.is_dir() {
                stack.push(path.clone());
                format!("dir {:o}", meta.mode())
            } else if meta.is_file() {
                format!(
                    "file {:o} {:x?}",
                    meta.mode(),
                    sha(&std::fs::read(&path).unwrap())
                )
            } else {
                format!("special {:o}", meta.mode())
            };
            entries.push(format!("{rel} {what}"));
        }
    }
    entries.sort();
    out += &entries.join("\n");
    let scratch: Vec<String> = std::fs::read_dir(dg.join(".git"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("srcgit"))
        .collect();
    out += &format!("\nscratch {scratch:?}\n");
    out
}

fn sha(bytes: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).to_vec()
}

/// Runs `srcgit convert` and checks the refusal: exit 2, one sentence naming `fragment`,
/// dist-git and the files outside untouched, no planted secret printed.
fn assert_refused(setup: &Setup, args: &[&str], fragment: &str) -> Outcome {
    let before = dist_git_state(&setup.dg);
    let outside = setup.outside_snapshot();
    let out = setup.convert(args);
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(
        out.stderr.contains(fragment),
        "wanted {fragment:?}: {out:#?}"
    );
    assert_eq!(
        out.stderr.trim_end().lines().count(),
        1,
        "one sentence: {out:#?}"
    );
    assert!(
        !out.stderr.contains(HOST_SECRET) && !out.stdout.contains(HOST_SECRET),
        "a host secret was printed: {out:#?}"
    );
    assert_eq!(dist_git_state(&setup.dg), before, "dist-git changed");
    assert_eq!(setup.outside_snapshot(), outside, "a file outside changed");
    out
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

fn set_patch_name(setup: &Setup, name_line: &str) {
    setup.source_git_commit(
        &format!("Hostile name\n\nSome text.\n\n{name_line}\n"),
        |sg| std::fs::write(sg.join("hostile.txt"), "x\n").unwrap(),
    );
}

// ---- reading: links, FIFOs, devices, size -------------------------------------------------

#[test]
fn config_linked_to_a_host_file_is_refused_without_printing_it() {
    let s = Setup::new();
    let target = s.outside.join("config.toml");
    s.source_git_commit("Link the config", |sg| {
        let yaml = sg.join(".distro/source-git.yaml");
        std::fs::remove_file(&yaml).unwrap();
        symlink(&target, &yaml).unwrap();
    });
    assert_refused(&s, &[], ".distro/source-git.yaml is a symbolic link");
}

#[test]
fn config_linked_to_dev_zero_is_refused_at_once() {
    let s = Setup::new();
    s.source_git_commit("Link the config to /dev/zero", |sg| {
        let yaml = sg.join(".distro/source-git.yaml");
        std::fs::remove_file(&yaml).unwrap();
        symlink("/dev/zero", &yaml).unwrap();
    });
    assert_refused(&s, &[], "symbolic link");
}

#[test]
fn config_behind_a_linked_directory_is_refused() {
    let s = Setup::new();
    let outside_distro = s.outside.join("distro");
    std::fs::create_dir_all(&outside_distro).unwrap();
    std::fs::copy(
        s.outside.join("config.toml"),
        outside_distro.join("source-git.yaml"),
    )
    .unwrap();
    s.source_git_commit("Link .distro", |sg| {
        std::fs::remove_dir_all(sg.join(".distro")).unwrap();
        symlink(&outside_distro, sg.join(".distro")).unwrap();
    });
    assert_refused(&s, &[], "symbolic link");
}

#[test]
fn config_that_is_a_fifo_does_not_hang() {
    let s = Setup::new();
    // git cannot commit a FIFO; a local work tree can hold one (and git ignores it)
    let yaml = s.sg.join(".distro/source-git.yaml");
    std::fs::remove_file(&yaml).unwrap();
    mkfifo(&yaml);
    assert_refused(&s, &[], "is a FIFO");
}

#[test]
fn an_oversized_config_is_refused_with_the_limit() {
    let s = Setup::new();
    s.source_git_commit("Huge config", |sg| {
        let yaml = sg.join(".distro/source-git.yaml");
        let mut text = std::fs::read_to_string(&yaml).unwrap();
        text.push_str(&"# padding padding padding padding padding padding\n".repeat(120_000));
        std::fs::write(&yaml, text).unwrap();
    });
    assert_refused(&s, &[], "is larger than 4194304 bytes");
}

#[test]
fn a_dist_git_spec_that_is_a_link_is_neither_read_nor_written_through() {
    let s = Setup::new();
    // The spec is not synced from .distro/ here, so srcgit reads and edits dist-git's.
    s.source_git_commit("Do not sync the spec", |sg| {
        let yaml = sg.join(".distro/source-git.yaml");
        let text = std::fs::read_to_string(&yaml).unwrap().replace(
            "  - exclude .gitignore",
            "  - exclude .gitignore\n  - protect hello.spec\n  - exclude hello.spec",
        );
        std::fs::write(&yaml, text).unwrap();
    });
    std::fs::copy(s.dg.join("hello.spec"), s.outside.join("victim.spec")).unwrap();
    let victim = s.outside.join("victim.spec");
    s.dist_git_commit("Spec as a link", |dg| {
        std::fs::remove_file(dg.join("hello.spec")).unwrap();
        symlink(&victim, dg.join("hello.spec")).unwrap();
    });
    assert_refused(&s, &["-f"], "hello.spec is a symbolic link");
}

#[test]
fn a_fifo_where_a_patch_goes_does_not_hang_and_writes_nothing() {
    // with `delete: true` the sync refuses the dist-git root that holds a FIFO
    let s = Setup::new();
    mkfifo(&s.dg.join("hello-comma.patch"));
    assert_refused(&s, &[], "FIFO");
    // without it, the patch writer meets the FIFO
    let s = Setup::new();
    s.source_git_commit("Sync without delete", |sg| {
        let yaml = sg.join(".distro/source-git.yaml");
        let text = std::fs::read_to_string(&yaml)
            .unwrap()
            .replace("delete: true", "delete: false");
        std::fs::write(&yaml, text).unwrap();
    });
    mkfifo(&s.dg.join("hello-comma.patch"));
    let out = assert_refused(&s, &[], "hello-comma.patch");
    assert!(out.stderr.contains("FIFO"), "{out:#?}");
}

// ---- writing: links are replaced, never followed ----------------------------------------

#[test]
fn a_tracked_patch_link_is_replaced_not_written_through() {
    let s = Setup::new();
    let victim = s.outside.join("victim.patch");
    std::fs::write(&victim, format!("{HOST_SECRET}\n")).unwrap();
    // without `delete: true` the sync leaves the link for the patch writer
    s.source_git_commit("Sync without delete", |sg| {
        let yaml = sg.join(".distro/source-git.yaml");
        let text = std::fs::read_to_string(&yaml)
            .unwrap()
            .replace("delete: true", "delete: false");
        std::fs::write(&yaml, text).unwrap();
    });
    s.dist_git_commit("Patch as a link", |dg| {
        symlink(&victim, dg.join("hello-comma.patch")).unwrap();
    });
    let outside = s.outside_snapshot();
    let out = s.convert(&["-f"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(s.outside_snapshot(), outside, "the link target was written");
    let meta = std::fs::symlink_metadata(s.dg.join("hello-comma.patch")).unwrap();
    assert!(meta.is_file(), "the link is replaced by the patch");
    let patch = std::fs::read_to_string(s.dg.join("hello-comma.patch")).unwrap();
    assert!(patch.contains("Hello, world"), "{patch}");
    assert!(!out.stderr.contains(HOST_SECRET) && !out.stdout.contains(HOST_SECRET));
}

#[test]
fn a_synced_file_that_is_a_link_in_dist_git_is_replaced_not_followed() {
    let s = Setup::new();
    let victim = s.outside.join("victim.spec");
    s.dist_git_commit("Spec as a link", |dg| {
        std::fs::remove_file(dg.join("hello.spec")).unwrap();
        symlink(&victim, dg.join("hello.spec")).unwrap();
    });
    let outside = s.outside_snapshot();
    let out = s.convert(&["-f"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(s.outside_snapshot(), outside);
    assert!(
        std::fs::symlink_metadata(s.dg.join("hello.spec"))
            .unwrap()
            .is_file()
    );
}

// ---- names ------------------------------------------------------------------------------

#[test]
fn a_patch_name_with_a_newline_cannot_inject_spec_lines() {
    let s = Setup::new();
    set_patch_name(&s, "Patch-name: \"x.patch\\nRequires: evil\"");
    assert_refused(&s, &[], "is refused: it may hold only");
}

#[test]
fn patch_names_with_spec_or_shell_syntax_are_refused() {
    for name in [
        "Patch-name: \"with space.patch\"",
        "Patch-name: \"%{lua: os.execute('id')}.patch\"",
        "Patch-name: \"%(id).patch\"",
        "Patch-name: \"$(id).patch\"",
        "Patch-name: \"a;b.patch\"",
        "Patch-name: \"quote'd.patch\"",
        "Patch-name: \"tab\\tname.patch\"",
        "Patch-name: \"-rf.patch\"",
    ] {
        let s = Setup::new();
        set_patch_name(&s, name);
        assert_refused(&s, &[], "Patch-name");
    }
}

#[test]
fn legacy_patch_names_follow_the_same_rule() {
    let s = Setup::new();
    // legacy metadata is read only when no commit of the range has a trailer
    git(&s.sg, &["checkout", "-q", "c10s"]);
    s.source_git_commit(
        "Legacy metadata\n\npatch_name: \"%{lua: print(1)}.patch\"\n",
        |sg| std::fs::write(sg.join("legacy.txt"), "x\n").unwrap(),
    );
    assert_refused(&s, &[], "is refused");
}

#[test]
fn a_patch_name_longer_than_the_file_system_allows_is_refused_before_writing() {
    let s = Setup::new();
    let long = format!("Patch-name: {}.patch", "a".repeat(300));
    set_patch_name(&s, &long);
    assert_refused(&s, &[], "longer than 255 bytes");
}

#[test]
fn a_patch_name_that_is_a_dist_git_directory_is_refused_before_writing() {
    let s = Setup::new();
    set_patch_name(&s, "Patch-name: plans");
    assert_refused(&s, &[], "dist-git has a directory at plans");
}

#[test]
fn a_package_name_with_spec_syntax_is_refused() {
    for value in [
        "\"hello%{lua: x}\"",
        "\"hello world\"",
        "\"hello\\nRequires: evil\"",
    ] {
        let s = Setup::new();
        s.source_git_commit("Package name", |sg| {
            let yaml = sg.join(".distro/source-git.yaml");
            let text = std::fs::read_to_string(&yaml).unwrap().replace(
                "downstream_package_name: hello",
                &format!("downstream_package_name: {value}"),
            );
            std::fs::write(&yaml, text).unwrap();
        });
        assert_refused(&s, &[], "downstream_package_name");
    }
}

// ---- the two repositories --------------------------------------------------------------

#[test]
fn the_same_repository_twice_is_refused() {
    let s = Setup::new();
    let sg = s.sg.display().to_string();
    let before_sg = dist_git_state(&s.sg);
    let out = s.convert(&["-f", &sg, &sg]);
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(
        out.stderr.contains("two different repositories"),
        "{out:#?}"
    );
    assert_eq!(dist_git_state(&s.sg), before_sg);
    // the same repository under another spelling
    let other = format!("{sg}/./");
    let out = s.convert(&["-f", &sg, &other]);
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert_eq!(dist_git_state(&s.sg), before_sg);
}

#[test]
fn a_repository_inside_the_other_is_refused() {
    let s = Setup::new();
    let nested = s.sg.join("nested-dist-git");
    std::fs::create_dir(&nested).unwrap();
    git(&nested, &["init", "-q", "-b", "c10s"]);
    git(&nested, &["commit", "-q", "--allow-empty", "-m", "empty"]);
    let before = dist_git_state(&nested);
    let sg = s.sg.display().to_string();
    let dg = nested.display().to_string();
    let out = s.convert(&["-f", &sg, &dg]);
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(out.stderr.contains("neither inside the other"), "{out:#?}");
    assert_eq!(dist_git_state(&nested), before);
}

// ---- staging ----------------------------------------------------------------------------

#[test]
fn a_scratch_directory_of_a_killed_run_is_swept_and_does_not_disturb() {
    let s = Setup::new();
    // a run killed with SIGKILL leaves its scratch directory; its pid no longer runs
    let stale = s.dg.join(".git/srcgit-2147483632-0badc0de");
    std::fs::create_dir_all(stale.join("no-prefix")).unwrap();
    std::fs::write(stale.join("b1"), "half-written").unwrap();
    let out = s.convert(&[]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(!stale.exists(), "the stale scratch directory is removed");
    let left: Vec<_> = std::fs::read_dir(s.dg.join(".git"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with("srcgit"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_successful_conversion_leaves_no_scratch_and_writes_regular_files() {
    let s = Setup::new();
    let out = s.convert(&[]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    let state = dist_git_state(&s.dg);
    assert!(state.contains("scratch []"), "{state}");
    assert!(state.contains("hello-comma.patch file 100644"), "{state}");
}

// ---- update-source-git reads through the same boundary --------------------------------

#[test]
fn update_source_git_refuses_a_linked_config_and_the_same_repository_twice() {
    let s = Setup::new();
    let target = s.outside.join("config.toml");
    s.source_git_commit("Link the config", |sg| {
        let yaml = sg.join(".distro/source-git.yaml");
        std::fs::remove_file(&yaml).unwrap();
        symlink(&target, &yaml).unwrap();
    });
    let (sg, dg) = (s.sg.display().to_string(), s.dg.display().to_string());
    let before = dist_git_state(&s.sg);
    let out = run_srcgit(&["update-source-git", &dg, &sg], s.tmp.path());
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(out.stderr.contains("symbolic link"), "{out:#?}");
    assert!(!out.stderr.contains(HOST_SECRET), "{out:#?}");
    assert_eq!(dist_git_state(&s.sg), before);
    let out = run_srcgit(
        &["update-source-git", "-f", &sg, &sg, "HEAD~1.."],
        s.tmp.path(),
    );
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(
        out.stderr.contains("two different repositories"),
        "{out:#?}"
    );
    assert_eq!(dist_git_state(&s.sg), before);
}
