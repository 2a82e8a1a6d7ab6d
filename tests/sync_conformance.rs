//! Rebuilds the dist-git trees of the conformance cases that exercise the file sync with
//! `convert::sync` alone and compares them with `expected-tree.txt`, leaving out what later
//! steps produce: `*.patch` files and the spec (which gets the Patch tags).

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use common::corpus::{self, Case};
use srcgit::convert::sync::{self, SyncItem, SyncOp};
use srcgit::repo::sync_fs;

/// Clones the case's repositories; returns (guard, source-git, dist-git).
fn restore(case: &str) -> (corpus::Restored, PathBuf, PathBuf) {
    let restored = corpus::restore(&Case::load(case));
    let (sg, dg) = (restored.sg.clone(), restored.dg.clone());
    (restored, sg, dg)
}

fn relevant(path: &str, keep_spec: bool) -> bool {
    !path.ends_with(".patch") && (keep_spec || path != "quill.spec")
}

fn check_tree(case: &str, dist: &Path, keep_spec: bool) {
    let mut expected = corpus::expected_tree(&Case::load(case));
    expected.retain(|path, _| relevant(path, keep_spec));
    let mut actual = corpus::tree(dist);
    actual.retain(|path, _| relevant(path, keep_spec));
    assert_eq!(actual, expected, "{case}");
}

/// The `files_to_sync` that `packit source-git init` writes.
fn init_item() -> SyncItem {
    SyncItem {
        src: vec![".distro/".into()],
        dest: ".".into(),
        delete: true,
        filters: vec![
            "protect .git*".into(),
            "protect sources".into(),
            "exclude source-git.yaml".into(),
            "exclude .gitignore".into(),
        ],
        ..SyncItem::default()
    }
}

fn assert_config_has(src: &Path, lines: &[&str]) {
    let yaml = fs::read_to_string(src.join(".distro/source-git.yaml")).unwrap();
    for line in lines {
        assert!(
            yaml.lines().any(|l| l == *line),
            "source-git.yaml lacks {line:?}:\n{yaml}"
        );
    }
}

const INIT_CONFIG: [&str; 8] = [
    "- src: .distro/",
    "  dest: .",
    "  delete: true",
    "  filters:",
    "  - protect .git*",
    "  - protect sources",
    "  - exclude source-git.yaml",
    "  - exclude .gitignore",
];

/// Runs the sync and checks the tree; returns the ops and the second run's ops.
fn sync_twice(case: &str, items: &[SyncItem], keep_spec: bool) -> (Vec<SyncOp>, Vec<SyncOp>) {
    let (_tmp, src, dist) = restore(case);
    let ops = sync_fs::run(items, &src, &dist).expect("sync succeeds");
    check_tree(case, &dist, keep_spec);
    let again = sync_fs::run(items, &src, &dist).expect("second sync succeeds");
    check_tree(case, &dist, keep_spec);
    (ops, again)
}

/// Runs the sync, checks the tree, then checks that a second run changes nothing (same
/// inodes: identical files are not rewritten).
fn sync_and_check(case: &str, items: &[SyncItem], keep_spec: bool) -> Vec<SyncOp> {
    let (_tmp, src, dist) = restore(case);
    let ops = sync_fs::run(items, &src, &dist).expect("sync succeeds");
    check_tree(case, &dist, keep_spec);
    let inodes = |root: &Path| {
        let mut v = Vec::new();
        for (path, _) in sync_fs::read_tree(root).unwrap().iter() {
            v.push((
                path.to_string(),
                fs::symlink_metadata(root.join(path)).unwrap().ino(),
            ));
        }
        v
    };
    let before = inodes(&dist);
    let again = sync_fs::run(items, &src, &dist).expect("second sync succeeds");
    assert!(
        again.iter().all(|op| matches!(op, SyncOp::CopyFile { .. })),
        "{case}: second run plans more than (skipped) copies: {again:#?}"
    );
    assert_eq!(before, inodes(&dist), "{case}: second run rewrote files");
    check_tree(case, &dist, keep_spec);
    ops
}

#[test]
fn case_51_sync_rules() {
    let (_tmp, src, _) = restore("51-sync-rules");
    assert_config_has(&src, &INIT_CONFIG);
    let ops = sync_and_check("51-sync-rules", &[init_item()], false);
    assert!(ops.contains(&SyncOp::Remove {
        path: "README.packit".into()
    }));
    assert!(ops.contains(&SyncOp::Remove {
        path: "tests/old-smoke.sh".into()
    }));
    assert!(ops.contains(&SyncOp::CopySymlink {
        to: "README.fedora".into(),
        target: "plans/smoke.fmf".into()
    }));
}

#[test]
fn case_27_files_to_sync_custom() {
    let (_tmp, src, _) = restore("27-files-to-sync-custom");
    assert_config_has(
        &src,
        &[
            "  - exclude *.local",
            "- src: contrib/*.conf",
            "  dest: conf/",
            "  mkpath: true",
            "- LICENSE",
        ],
    );
    let mut first = init_item();
    first.filters.push("exclude *.local".into());
    let items = [
        first,
        SyncItem {
            src: vec!["contrib/*.conf".into()],
            dest: "conf/".into(),
            mkpath: true,
            ..SyncItem::default()
        },
        SyncItem::from_path("LICENSE"),
    ];
    let (_, again) = sync_twice("27-files-to-sync-custom", &items, false);
    // Like rsync: on a second run the first item's --delete removes what the later items
    // put into dist-git (they are not in .distro/), and the later items copy them again.
    for path in ["conf/quill.conf", "LICENSE"] {
        assert!(
            again.contains(&SyncOp::Remove { path: path.into() }),
            "{again:#?}"
        );
    }
    assert!(again.contains(&SyncOp::RemoveDir {
        path: "conf".into()
    }));
    assert!(again.contains(&SyncOp::CreateDir {
        path: "conf".into(),
        mode: 0o755
    }));
}

#[test]
fn case_25_distro_only_commits() {
    let (_tmp, src, _) = restore("25-distro-only-commits");
    assert_config_has(&src, &INIT_CONFIG);
    sync_and_check("25-distro-only-commits", &[init_item()], false);
}

#[test]
fn case_31_empty_range_force() {
    let (_tmp, src, _) = restore("31-empty-range-force");
    assert_config_has(&src, &INIT_CONFIG);
    // No patches are generated in this case, so the spec is exactly the synced one.
    let ops = sync_and_check("31-empty-range-force", &[init_item()], true);
    assert!(ops.contains(&SyncOp::Remove {
        path: "README.packit".into()
    }));
}

#[test]
fn nothing_written_when_planning_fails() {
    let (_tmp, src, dist) = restore("51-sync-rules");
    let before = corpus::tree(&dist);
    let items = [
        init_item(),
        SyncItem {
            src: vec!["../outside".into()],
            dest: ".".into(),
            ..SyncItem::default()
        },
    ];
    let err = sync_fs::run(&items, &src, &dist).unwrap_err();
    assert!(matches!(err, sync::SyncError::PathEscapes { .. }), "{err}");
    assert_eq!(before, corpus::tree(&dist));
}
