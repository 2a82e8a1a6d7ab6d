//! The conformance corpus (`../shared/conformance`, or `$SRCGIT_CONFORMANCE_DIR`): finding
//! it, restoring a case into a temporary directory, running srcgit on it in the corpus's
//! clean environment, and describing the resulting dist-git tree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The corpus directory. Missing corpus is a test failure, never a skip.
pub fn dir() -> PathBuf {
    let dir = std::env::var_os("SRCGIT_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance"));
    assert!(
        dir.join("compare.py").is_file() && dir.join("cases").is_dir(),
        "the conformance corpus is missing at {} (set SRCGIT_CONFORMANCE_DIR)",
        dir.display()
    );
    dir
}

/// A case's `case.toml`.
#[derive(Debug, Clone)]
pub struct Case {
    pub dir: PathBuf,
    pub name: String,
    pub meta: toml::Table,
}

impl Case {
    pub fn load(name: &str) -> Case {
        let dir = self::dir().join("cases").join(name);
        let text = std::fs::read_to_string(dir.join("case.toml")).expect("case.toml");
        Case {
            name: name.to_string(),
            meta: text.parse().expect("valid case.toml"),
            dir,
        }
    }

    pub fn all() -> Vec<Case> {
        let mut names: Vec<String> = std::fs::read_dir(dir().join("cases"))
            .expect("cases/")
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("case.toml").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names.iter().map(|n| Case::load(n)).collect()
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.meta.get(key).and_then(|v| v.as_str())
    }

    pub fn is_packit_bug(&self) -> bool {
        self.meta.contains_key("packit_bug")
    }

    pub fn package(&self) -> &str {
        self.str("package").expect("package")
    }

    fn side(&self, key: &str) -> &toml::Table {
        self.meta
            .get(key)
            .and_then(|v| v.as_table())
            .expect("[source_git]/[dist_git]")
    }

    /// The case's command with placeholders replaced and packit's sub-command mapped to
    /// srcgit's.
    pub fn args(&self, sg: &Path, dg: &Path) -> Vec<String> {
        let command: Vec<&str> = self.meta["command"]
            .as_array()
            .expect("command")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        let rest = match command.as_slice() {
            ["source-git", "update-dist-git", rest @ ..] => std::iter::once("convert")
                .chain(rest.iter().copied())
                .collect::<Vec<_>>(),
            ["source-git", "status", rest @ ..] => std::iter::once("status")
                .chain(rest.iter().copied())
                .collect(),
            ["source-git", "update-source-git", rest @ ..] => std::iter::once("update-source-git")
                .chain(rest.iter().copied())
                .collect(),
            other => panic!("unexpected command {other:?}"),
        };
        rest.iter()
            .map(|a| {
                a.replace("{source_git}", &sg.display().to_string())
                    .replace("{dist_git}", &dg.display().to_string())
                    .replace("{upstream_tag}", self.str("upstream_tag").unwrap_or(""))
            })
            .collect()
    }
}

/// The clean environment the corpus was recorded in.
pub fn clean_env(cmd: &mut Command, home: &Path) {
    cmd.env_clear()
        .env(
            "PATH",
            std::env::var("CORPUS_PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into()),
        )
        .env("HOME", home)
        .env("LC_ALL", "C.UTF-8")
        .env("LANG", "C.UTF-8")
        .env("TZ", "UTC")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Packit Bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.org")
        .env("GIT_AUTHOR_DATE", "1767225600 +0000")
        .env("GIT_COMMITTER_NAME", "Packit Bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.org")
        .env("GIT_COMMITTER_DATE", "1767225600 +0000");
}

/// Runs git in `dir` in the clean environment and returns stdout.
pub fn git(dir: &Path, home: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new("git");
    clean_env(&mut cmd, home);
    let out = cmd.current_dir(dir).args(args).output().expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A restored case: source-git and dist-git clones in a temporary directory.
pub struct Restored {
    pub tmp: tempfile::TempDir,
    pub sg: PathBuf,
    pub dg: PathBuf,
    pub home: PathBuf,
}

/// Clones the bundles like compare.py does and adds the extra files and directories.
pub fn restore(case: &Case) -> Restored {
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let sg = tmp.path().join("src").join(case.package());
    let dg = tmp.path().join("rpms").join(case.package());
    for (path, side) in [(&sg, case.side("source_git")), (&dg, case.side("dist_git"))] {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let bundle = case.dir.join(side["bundle"].as_str().unwrap());
        let branch = side["branch"].as_str().unwrap();
        git(
            tmp.path(),
            &home,
            &[
                "clone",
                "-q",
                "-b",
                branch,
                &bundle.display().to_string(),
                &path.display().to_string(),
            ],
        );
        assert_eq!(
            git(path, &home, &["rev-parse", "HEAD"]).trim(),
            side["head"].as_str().unwrap()
        );
    }
    let extra = case.dir.join("dist-git-extra");
    if extra.is_dir() {
        copy_tree(&extra, &dg);
    }
    let extra = case.dir.join("source-git-extra");
    if extra.is_dir() {
        copy_tree(&extra, &sg);
    }
    if let Some(dirs) = case
        .side("dist_git")
        .get("extra_dirs")
        .and_then(|v| v.as_array())
    {
        for d in dirs {
            std::fs::create_dir_all(dg.join(d.as_str().unwrap())).unwrap();
        }
    }
    Restored { tmp, sg, dg, home }
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Runs the srcgit binary on a restored case.
pub fn run_srcgit(case: &Case, restored: &Restored) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_srcgit"));
    clean_env(&mut cmd, &restored.home);
    cmd.args(case.args(&restored.sg, &restored.dg))
        .output()
        .expect("srcgit runs")
}

/// `expected-tree.txt` of a case: path → (kind, sha256).
pub fn expected_tree(case: &Case) -> BTreeMap<String, (String, String)> {
    std::fs::read_to_string(case.dir.join("expected-tree.txt"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut parts = l.splitn(3, ' ');
            let (kind, digest, path) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
            );
            (path.to_string(), (kind.to_string(), digest.to_string()))
        })
        .collect()
}

/// The same description of a work tree (everything but the top-level `.git`).
pub fn tree(root: &Path) -> BTreeMap<String, (String, String)> {
    use sha2::Digest;
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            if rel == ".git" {
                continue;
            }
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                let digest = hex(&sha2::Sha256::digest(target.as_os_str().as_encoded_bytes()));
                out.insert(rel, ("symlink".into(), digest));
            } else if meta.is_dir() {
                out.insert(format!("{rel}/"), ("dir".into(), "-".into()));
                stack.push(path);
            } else {
                let kind = if meta.permissions().mode() & 0o111 != 0 {
                    "exec"
                } else {
                    "file"
                };
                let digest = hex(&sha2::Sha256::digest(std::fs::read(&path).unwrap()));
                out.insert(rel, (kind.into(), digest));
            }
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `git status --porcelain=v1 -uall` of the dist-git clone.
pub fn status(restored: &Restored) -> String {
    git(
        &restored.dg,
        &restored.home,
        &["status", "--porcelain=v1", "-uall"],
    )
}

/// `git status --porcelain=v1 -uall` of the source-git clone.
pub fn source_git_status(restored: &Restored) -> String {
    git(
        &restored.sg,
        &restored.home,
        &["status", "--porcelain=v1", "-uall"],
    )
}

/// The `[source_git]` / `[dist_git]` head of a case.
pub fn head_of(case: &Case, side: &str) -> String {
    case.side(side)["head"].as_str().unwrap().to_string()
}

/// compare.py's description of the commits after `base` in `repo` (the format of
/// `expected-commits.txt`): author, committer, changed paths and message, oldest first.
pub fn describe_commits(repo: &Path, home: &Path, base: &str) -> String {
    let range = format!("{base}..HEAD");
    let shas = git(
        repo,
        home,
        &["rev-list", "--reverse", "--topo-order", &range],
    );
    let shas: Vec<&str> = shas.split_whitespace().collect();
    let mut out = String::new();
    for (i, sha) in shas.iter().enumerate() {
        let who = git(
            repo,
            home,
            &["log", "-1", "--format=%an <%ae>%n%cn <%ce>", sha],
        );
        let (author, committer) = who.trim_end().split_once('\n').unwrap();
        let paths = git(
            repo,
            home,
            &[
                "diff-tree",
                "-r",
                "--no-commit-id",
                "--name-status",
                "--no-renames",
                "--root",
                sha,
            ],
        );
        let message = git(repo, home, &["log", "-1", "--format=%B", sha]);
        out.push_str(&format!(
            "=== commit {} of {}\nAuthor: {author}\nCommitter: {committer}\nChanged paths:\n{paths}Message:\n{message}",
            i + 1,
            shas.len()
        ));
    }
    out
}

/// The case's `expected-commits.txt`.
pub fn expected_commits(case: &Case) -> String {
    std::fs::read_to_string(case.dir.join("expected-commits.txt")).unwrap()
}

/// The case's `expected-status.txt`.
pub fn expected_status(case: &Case) -> String {
    std::fs::read_to_string(case.dir.join("expected-status.txt")).unwrap()
}
