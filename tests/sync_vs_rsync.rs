//! Differential check against the real thing: random source-git/dist-git trees and random
//! `files_to_sync` items are synced once by packit's recipe (Python `Path.resolve()` +
//! `glob.glob`, then `rsync --archive ...`) and once by `sync::plan` + `sync_fs::apply`;
//! the resulting dist-git trees must be identical (types, permission bits, bytes, link
//! targets), and planning must fail exactly when packit's rsync run fails.
//!
//! Ignored by default: it needs `rsync` and `python3`. Run with
//! `cargo test --test differential -- --ignored --nocapture`
//! (`SYNC_DIFF_ITERS`, `SYNC_DIFF_SEED` tune it).

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use srcgit::convert::sync::{self, SyncError, SyncItem};
use srcgit::repo::sync_fs;

/// packit's `SyncFilesItem.resolve()` + `command()` (glob results sorted, see the module
/// docs of `sync`): prints the rsync path arguments separated by NUL, or `ESCAPE`.
const PACKIT_ARGV: &str = r#"
import glob, os, sys
from pathlib import Path
sg, dg, dest, srcs = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4:]
def check(sub, base, slash):
    try:
        sub.resolve().relative_to(base.resolve())
    except ValueError:
        print("ESCAPE"); sys.exit(0)
    return str(sub.resolve()) + (os.sep if slash else "")
rs = [check(sg / s, sg, s.endswith(os.sep)) for s in srcs]
rd = check(dg / dest, dg, dest.endswith(os.sep))
out = []
for s in rs:
    g = sorted(glob.glob(s))
    out += g if g else [s]
sys.stdout.write("\0".join(out + [rd]))
"#;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const NAMES: [&str; 14] = [
    "a",
    "b",
    ".h",
    "x.conf",
    "y.local",
    "sources",
    ".gitignore",
    "source-git.yaml",
    "d",
    "sub",
    "[x]",
    "old",
    ".gitattributes",
    "e",
];

/// Distinct mtimes for every generated file, so that rsync's quick check (size + mtime)
/// never skips a file whose content differs (files written within one clock tick share
/// their mtime; a real packit run can hit that too, srcgit compares bytes instead).
fn next_mtime() -> std::time::SystemTime {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000 + n * 7)
}

fn gen_tree(rng: &mut Rng, root: &Path, rel: &str, depth: usize) {
    let count = rng.below(if depth == 0 { 7 } else { 4 });
    for _ in 0..count {
        let name = rng.pick(&NAMES);
        let path = if rel.is_empty() {
            name.to_string()
        } else {
            format!("{rel}/{name}")
        };
        let abs = root.join(&path);
        if fs::symlink_metadata(&abs).is_ok() {
            continue;
        }
        match rng.below(10) {
            0..=4 => {
                let content = format!("{}\n", rng.pick(&["one", "two", "three"]));
                fs::write(&abs, content).unwrap();
                let mode = *[0o644, 0o755, 0o600].get(rng.below(3)).unwrap();
                fs::set_permissions(&abs, fs::Permissions::from_mode(mode)).unwrap();
                let file = fs::File::options().write(true).open(&abs).unwrap();
                file.set_modified(next_mtime()).unwrap();
            }
            5..=7 if depth < 3 => {
                fs::create_dir(&abs).unwrap();
                gen_tree(rng, root, &path, depth + 1);
                if rng.chance(15) {
                    fs::set_permissions(&abs, fs::Permissions::from_mode(0o700)).unwrap();
                }
            }
            _ => {
                let target = rng.pick(&["a", "d", "sub", "x.conf", "missing", "./b"]);
                std::os::unix::fs::symlink(target, &abs).unwrap();
            }
        }
    }
}

const SRCS: [&str; 22] = [
    ".distro/",
    ".distro/",
    ".distro",
    "d/",
    "d",
    "sub/a",
    "*.conf",
    "d/*",
    "d/.*",
    "*/",
    "nope",
    "x.conf",
    "d/*/",
    "./",
    "[x]",
    "a/",
    "a",
    "sub/",
    "*",
    "d/sub/",
    "../escape",
    "?",
];
const DESTS: [&str; 12] = [
    ".", ".", "", "d", "d/", "new", "new/", "n1/n2/", "n1/n2", "sub/x", "a", "./",
];
const RULES: [&str; 26] = [
    "protect .git*",
    "protect sources",
    "exclude source-git.yaml",
    "exclude .gitignore",
    "exclude *.local",
    "- /d/a",
    "+ d/",
    "- *",
    "P a",
    "R a",
    "H b",
    "S b",
    "-p b",
    "- sub/",
    "- **/a",
    "+ /d/***",
    "- [ab]",
    "- d/*/x.conf",
    "protect /sources",
    "-! */",
    "exclude .h",
    "P,p old",
    "risk sources",
    "hide *.conf",
    "- d/**/b",
    "include_*.conf",
];

fn gen_item(rng: &mut Rng) -> SyncItem {
    let init = rng.chance(40);
    let mut item = if init {
        SyncItem {
            src: vec![".distro/".into()],
            dest: ".".into(),
            delete: true,
            filters: RULES[..4].iter().map(|s| s.to_string()).collect(),
            ..SyncItem::default()
        }
    } else {
        let nsrc = 1 + rng.below(2);
        let mut filters = Vec::new();
        for _ in 0..rng.below(4) {
            filters.push(rng.pick(&RULES).to_string());
        }
        SyncItem {
            src: (0..nsrc).map(|_| rng.pick(&SRCS).to_string()).collect(),
            dest: rng.pick(&DESTS).to_string(),
            mkpath: rng.chance(30),
            delete: rng.chance(50),
            filters,
        }
    };
    if init && rng.chance(30) {
        item.filters.push(rng.pick(&RULES).to_string());
    }
    item
}

/// (kind, mode, bytes or link target) per path, top-level `.git` left out.
type Snapshot = BTreeMap<String, (char, u32, Vec<u8>)>;

fn snapshot(root: &Path) -> Snapshot {
    let mut out = Snapshot::new();
    let root_mode = fs::symlink_metadata(root).unwrap().mode() & 0o7777;
    out.insert(String::new(), ('d', root_mode, Vec::new()));
    for (path, _) in sync_fs::read_tree(root).unwrap().iter() {
        let abs = root.join(path);
        let meta = fs::symlink_metadata(&abs).unwrap();
        let entry = if meta.file_type().is_symlink() {
            (
                'l',
                0,
                fs::read_link(&abs)
                    .unwrap()
                    .into_os_string()
                    .into_encoded_bytes(),
            )
        } else if meta.is_dir() {
            ('d', meta.mode() & 0o7777, Vec::new())
        } else {
            ('f', meta.mode() & 0o7777, fs::read(&abs).unwrap())
        };
        out.insert(path.to_string(), entry);
    }
    out
}

/// packit's rsync argv for every item, resolved before any rsync runs (as packit does).
fn packit_argvs(items: &[SyncItem], sg: &Path, dg: &Path) -> Option<Vec<Vec<String>>> {
    let mut all = Vec::new();
    for item in items {
        let out = Command::new("python3")
            .arg("-c")
            .arg(PACKIT_ARGV)
            .arg(sg)
            .arg(dg)
            .arg(&item.dest)
            .args(&item.src)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        if text.trim_end() == "ESCAPE" {
            return None;
        }
        let paths: Vec<String> = text.split('\0').map(str::to_string).collect();
        let mut argv = vec!["--archive".to_string()];
        if item.delete {
            argv.push("--delete".into());
        }
        for f in &item.filters {
            argv.push("--filter".into());
            argv.push(f.clone());
        }
        if item.mkpath {
            argv.push("--mkpath".into());
        }
        argv.push("--ignore-missing-args".into());
        argv.extend(paths);
        all.push(argv);
    }
    Some(all)
}

/// Runs packit's recipe; `false` when packit would fail (escape or an rsync error).
fn run_packit(items: &[SyncItem], sg: &Path, dg: &Path) -> (bool, String) {
    let Some(argvs) = packit_argvs(items, sg, dg) else {
        return (false, "packit: Illegal path".into());
    };
    for argv in argvs {
        let out = Command::new("rsync").args(&argv).output().unwrap();
        if !out.status.success() {
            return (
                false,
                format!("rsync {argv:?}: {}", String::from_utf8_lossy(&out.stderr)),
            );
        }
    }
    (true, String::new())
}

fn copy_tree(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

fn tool_exists(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn variant(err: &SyncError) -> String {
    format!("{err:?}")
        .split([' ', '{'])
        .next()
        .unwrap_or("")
        .to_string()
}

/// A deliberate difference: srcgit refuses these while packit proceeds.
fn deliberate(err: &SyncError) -> bool {
    matches!(
        err,
        SyncError::SymlinkEscapes { .. }
            | SyncError::UnsupportedSrc { .. }
            | SyncError::SymlinkLoop { .. }
            | SyncError::DestBecameSymlink { .. }
    )
}

fn one_case(rng: &mut Rng, dir: &Path) -> Result<String, String> {
    let sg = dir.join("sg");
    let dg_rsync = dir.join("dg");
    let dg_ours = dir.join("dg-ours");
    fs::create_dir_all(sg.join(".distro")).unwrap();
    fs::create_dir_all(&dg_rsync).unwrap();
    for d in ["d", "sub", "d/sub"] {
        if rng.chance(60) && fs::create_dir(sg.join(d)).is_ok() {
            gen_tree(rng, &sg, d, 2);
        }
    }
    gen_tree(rng, &sg, "", 0);
    gen_tree(rng, &sg, ".distro", 1);
    gen_tree(rng, &dg_rsync, "", 0);
    copy_tree(&dg_rsync, &dg_ours);
    let items: Vec<SyncItem> = (0..1 + rng.below(2)).map(|_| gen_item(rng)).collect();

    let before = snapshot(&dg_rsync);
    let (packit_ok, packit_msg) = run_packit(&items, &sg, &dg_rsync);
    let source = sync_fs::read_tree(&sg).unwrap();
    let dest = sync_fs::read_tree(&dg_ours).unwrap();
    match (sync::plan(&items, &source, &dest), packit_ok) {
        (Err(e), _) if deliberate(&e) => Ok(format!("deliberate refusal {}", variant(&e))),
        (Err(e), false) => {
            assert_eq!(
                before,
                snapshot(&dg_ours),
                "planning failed but something was written"
            );
            Ok(format!("both fail: {}", variant(&e)))
        }
        (Err(e), true) => Err(format!("{items:#?}\nours failed: {e}\npackit succeeded")),
        (Ok(p), false) => Err(format!(
            "{items:#?}\nours succeeded with {:#?}\npackit failed: {packit_msg}",
            p.ops
        )),
        (Ok(p), true) => {
            sync_fs::apply(&p.ops, &sg, &dg_ours).map_err(|e| format!("apply failed: {e}"))?;
            let (theirs, ours) = (snapshot(&dg_rsync), snapshot(&dg_ours));
            if theirs != ours {
                let diff: Vec<_> = theirs
                    .keys()
                    .chain(ours.keys())
                    .filter(|k| theirs.get(*k) != ours.get(*k))
                    .map(|k| format!("{k}: rsync {:?} ours {:?}", theirs.get(k), ours.get(k)))
                    .collect();
                return Err(format!(
                    "{items:#?}\ntrees differ:\n{}\nops: {:#?}",
                    diff.join("\n"),
                    p.ops
                ));
            }
            if p.result != sync_fs::read_tree(&dg_ours).unwrap() {
                return Err(format!(
                    "{items:#?}\nplanned result differs from the applied tree"
                ));
            }
            Ok(format!(
                "same tree ({} ops)",
                if p.ops.len() > 5 { "6+" } else { "0-5" }
            ))
        }
    }
}

#[test]
#[ignore = "needs rsync and python3; run with --ignored"]
fn differential_against_rsync() {
    if !tool_exists("rsync") || !tool_exists("python3") {
        eprintln!("rsync or python3 missing, skipping");
        return;
    }
    let iters: usize = std::env::var("SYNC_DIFF_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let seed: u64 = std::env::var("SYNC_DIFF_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed);
    let mut stats: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for i in 0..iters {
        let mut rng = Rng(seed
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .wrapping_add(i as u64 * 7919 + 1));
        let tmp = tempfile::tempdir().unwrap();
        let dir: PathBuf = tmp.path().to_path_buf();
        match one_case(&mut rng, &dir) {
            Ok(kind) => *stats.entry(kind).or_default() += 1,
            Err(msg) => failures.push(format!("--- iteration {i}\n{msg}")),
        }
        // Make everything removable again (generated 0o700 dirs are fine, but be safe).
        let _ = Command::new("chmod")
            .arg("-R")
            .arg("u+rwx")
            .arg(&dir)
            .status();
    }
    eprintln!("differential: {stats:#?}, {} mismatches", failures.len());
    assert!(
        failures.is_empty(),
        "{}",
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
