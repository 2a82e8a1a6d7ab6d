//! The file-system edge of `sync`: lists work trees into [`Tree`]s ([`read_tree`]),
//! performs planned [`SyncOp`]s ([`apply`]) and chains both with planning ([`run`]).
//!
//! What it owns: reading directories and metadata without following symlinks; writing
//! files and links through the dist-git [`Transaction`] (staged in a scratch directory
//! and renamed into place relative to directory handles of the [`boundary`](crate::repo::boundary):
//! a link at the destination is replaced, never written through, and a failure rolls
//! back); comparing contents to skip identical files; setting directory modes last. The deliberate differences from rsync listed in
//! [`crate::convert::sync`] about content comparison, special permission bits and mtimes are made
//! here.
//!
//! What it must not do: make any sync decision (what to copy, replace, delete or refuse is
//! planned by [`crate::convert::sync`], whose module docs state rsync's semantics); follow a symlink
//! when listing, reading or writing; read or write outside the two work trees; touch the
//! top-level `.git` of either repository. Every path of an op is re-checked before use.

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::convert::sync::{
    EntryKind, MODE_MASK, SyncError, SyncItem, SyncOp, Tree, join, plan_all,
};
use crate::repo::boundary::{Dir, FsError, Kind, RepoRoot};
use crate::repo::transaction::Transaction;

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

fn read_dir_into(dir: &Path, rel: &str, tree: &mut Tree) -> io::Result<()> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        match entry?.file_name().into_string() {
            Ok(name) if rel.is_empty() && name == ".git" => {}
            Ok(name) => names.push(name),
            Err(_) => tree.mark_opaque(rel),
        }
    }
    names.sort();
    read_names(dir, rel, names, tree)
}

fn read_names(dir: &Path, rel: &str, names: Vec<String>, tree: &mut Tree) -> io::Result<()> {
    for name in names {
        let abs = dir.join(&name);
        let path = join(rel, &name);
        let meta = fs::symlink_metadata(&abs)?;
        let ft = meta.file_type();
        let mode = meta.mode() & MODE_MASK;
        if ft.is_symlink() {
            tree.insert(
                &path,
                EntryKind::Symlink {
                    target: fs::read_link(&abs)?,
                },
            );
        } else if ft.is_dir() {
            tree.insert(&path, EntryKind::Dir { mode });
            read_dir_into(&abs, &path, tree)?;
        } else if ft.is_file() {
            tree.insert(&path, EntryKind::File { mode });
        } else {
            tree.mark_opaque(rel);
        }
    }
    Ok(())
}

/// Lists a work tree without following symlinks, leaving out the top-level `.git`.
/// Non-UTF-8 names and special files make their directory opaque (see [`Tree`]).
pub fn read_tree(root: &Path) -> io::Result<Tree> {
    let meta = fs::symlink_metadata(root)?;
    if !meta.is_dir() {
        return Err(invalid(format!("{} is not a directory", root.display())));
    }
    let mut tree = Tree::with_root_mode(meta.mode());
    read_dir_into(root, "", &mut tree)?;
    Ok(tree)
}

/// [`read_tree`] of only the top-level entries `tops` (those that exist): what a sync
/// whose sources all lie under them can see.
pub fn read_tree_only(root: &Path, tops: &[String]) -> io::Result<Tree> {
    let meta = fs::symlink_metadata(root)?;
    if !meta.is_dir() {
        return Err(invalid(format!("{} is not a directory", root.display())));
    }
    let mut tree = Tree::with_root_mode(meta.mode());
    let mut names: Vec<String> = tops
        .iter()
        .filter(|name| {
            !name.is_empty()
                && !name.contains('/')
                && *name != ".git"
                && fs::symlink_metadata(root.join(name)).is_ok()
        })
        .cloned()
        .collect();
    names.sort();
    names.dedup();
    read_names(root, "", names, &mut tree)?;
    Ok(tree)
}

fn fs_err(e: FsError) -> io::Error {
    let kind = match &e {
        FsError::Io { source, .. } => source.kind(),
        _ => io::ErrorKind::InvalidData,
    };
    io::Error::new(kind, e.to_string())
}

/// Whether two open files hold the same bytes.
fn same_content(mut fa: fs::File, mut fb: fs::File) -> io::Result<bool> {
    let (mut ba, mut bb) = ([0u8; 8192], [0u8; 8192]);
    loop {
        let na = read_full(&mut fa, &mut ba)?;
        let nb = read_full(&mut fb, &mut bb)?;
        if na != nb || ba[..na] != bb[..nb] {
            return Ok(false);
        }
        if na == 0 {
            return Ok(true);
        }
    }
}

fn read_full(f: &mut fs::File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn copy_file(
    txn: &mut Transaction<'_>,
    source: &RepoRoot,
    from: &str,
    to: &str,
    mode: u32,
) -> Result<(), FsError> {
    let (src_dir, src_name) = source
        .parent(from)?
        .ok_or_else(|| missing(source.label(), from))?;
    let (mut input, src_kind) = src_dir
        .open_file(src_name)?
        .ok_or_else(|| missing(source.label(), from))?;
    let Kind::File { len, .. } = src_kind else {
        return Err(missing(source.label(), from));
    };
    let mode = mode & MODE_MASK;
    let mtime = input.metadata().and_then(|m| m.modified()).ok();
    if let Some(Kind::File { len: old_len, .. }) = txn.kind(to)?
        && old_len == len
    {
        let (dst_dir, dst_name) = txn_parent(txn, to)?;
        if let Some((old, _)) = dst_dir.open_file(dst_name)? {
            let same = same_content(input, old).map_err(|source| FsError::Io {
                repo: source_label(txn),
                what: "compare",
                path: to.to_string(),
                source,
            })?;
            if same {
                return txn.set_file_mode(to, mode);
            }
            input = src_dir
                .open_file(src_name)?
                .ok_or_else(|| missing(source.label(), from))?
                .0;
        }
    }
    txn.put_file(to, 0o600, Some(mode), |out| {
        io::copy(&mut input, out)?;
        if let Some(t) = mtime {
            out.set_modified(t)?;
        }
        Ok(())
    })
}

fn txn_parent<'a>(txn: &Transaction<'_>, rel: &'a str) -> Result<(Dir, &'a str), FsError> {
    let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
    Ok((txn.root().dir(parent)?, name))
}

fn source_label(txn: &Transaction<'_>) -> &'static str {
    txn.root().label()
}

fn missing(repo: &'static str, rel: &str) -> FsError {
    FsError::Io {
        repo,
        what: "read",
        path: rel.to_string(),
        source: io::ErrorKind::NotFound.into(),
    }
}

fn copy_symlink(txn: &mut Transaction<'_>, to: &str, target: &Path) -> Result<(), FsError> {
    if let Some(Kind::Symlink) = txn.kind(to)? {
        let (dir, name) = txn_parent(txn, to)?;
        if dir.read_link(name)? == target {
            return Ok(());
        }
    }
    txn.put_symlink(to, target)
}

/// Performs the ops of a plan inside a [`Transaction`] on dist-git: `from` paths are read
/// from `source` (regular files only, no link followed), everything else is staged in
/// `txn`, which refuses the top-level `.git` and replaces links instead of following
/// them. Directory modes are set last, so read-only directories can still be filled.
pub fn apply_in(
    txn: &mut Transaction<'_>,
    ops: &[SyncOp],
    source: &RepoRoot,
) -> Result<(), FsError> {
    let mut dir_modes: Vec<(&str, u32)> = Vec::new();
    for op in ops {
        match op {
            SyncOp::CreateDir { path, mode } => {
                txn.mkdir(path)?;
                dir_modes.push((path, *mode));
            }
            SyncOp::SetMode { path, mode } => {
                txn.root().dir(path)?;
                dir_modes.push((path, *mode));
            }
            SyncOp::CopyFile { from, to, mode } => copy_file(txn, source, from, to, *mode)?,
            SyncOp::CopySymlink { to, target } => copy_symlink(txn, to, target)?,
            SyncOp::Remove { path } => txn.remove(path)?,
            SyncOp::RemoveDir { path } => txn.rmdir(path)?,
        }
    }
    // Deepest first; the last mode recorded for a directory wins.
    let mut seen = std::collections::HashSet::new();
    for (dir, mode) in dir_modes.iter().rev() {
        if !seen.insert(*dir) {
            continue;
        }
        if dir.is_empty() || matches!(txn.kind(dir)?, Some(Kind::Dir { .. })) {
            txn.set_dir_mode(dir, *mode & MODE_MASK)?;
        }
    }
    Ok(())
}

/// Performs the ops of a plan: `from` paths are read below `source_root`, everything else
/// is written below `dest_root`, staged in `dest_root/.git` (or next to `dest_root` when it
/// has none) and rolled back on failure. Nothing is read or written through a symlink,
/// outside the roots, or in `dest_root/.git`.
pub fn apply(ops: &[SyncOp], source_root: &Path, dest_root: &Path) -> io::Result<()> {
    let source = RepoRoot::open(source_root, "source-git").map_err(fs_err)?;
    let dest = RepoRoot::open(dest_root, "dist-git").map_err(fs_err)?;
    let git = dest_root.join(".git");
    let scratch_parent = if fs::symlink_metadata(&git).is_ok_and(|m| m.is_dir()) {
        git
    } else {
        dest_root
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(std::env::temp_dir)
    };
    let mut txn = Transaction::begin(&dest, &scratch_parent).map_err(fs_err)?;
    match apply_in(&mut txn, ops, &source) {
        Ok(()) => {
            txn.commit();
            Ok(())
        }
        Err(e) => {
            txn.rollback();
            Err(fs_err(e))
        }
    }
}

/// Reads both work trees, plans all items and applies the plan. Nothing is written when
/// planning fails. Returns the ops performed.
pub fn run(
    items: &[SyncItem],
    source_root: &Path,
    dest_root: &Path,
) -> Result<Vec<SyncOp>, SyncError> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SyncError::Io { path, source }
    };
    let source = read_tree(source_root).map_err(io_err(source_root))?;
    let dest = read_tree(dest_root).map_err(io_err(dest_root))?;
    let ops = plan_all(items, &source, &dest)?;
    apply(&ops, source_root, dest_root).map_err(io_err(dest_root))?;
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::sync::test_util::{init_item, item, render};
    use std::os::unix::fs::PermissionsExt;

    fn write(path: &Path, content: &str, mode: u32) {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        fs::write(path, content).unwrap_or_else(|e| panic!("{e}"));
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("{e}"));
    }

    fn tmp() -> tempfile::TempDir {
        tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn read_tree_lists_without_following_links_or_top_level_git() {
        let dir = tmp();
        let root = dir.path();
        write(&root.join(".git/config"), "x", 0o644);
        write(&root.join("sub/.git"), "gitdir: x", 0o644);
        write(&root.join("run.sh"), "#!/bin/sh", 0o755);
        fs::create_dir(root.join("empty")).unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::symlink("/etc", root.join("etc")).unwrap_or_else(|e| panic!("{e}"));
        let tree = read_tree(root).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            render(&tree),
            ["empty/", "etc -> /etc", "run.sh*", "sub/", "sub/.git"]
        );
    }

    #[test]
    fn read_tree_marks_directories_with_non_utf8_names() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tmp();
        let name = std::ffi::OsStr::from_bytes(b"caf\xe9");
        write(&dir.path().join("up/data").join(name), "x", 0o644);
        write(&dir.path().join("up/data/ok"), "x", 0o644);
        let tree = read_tree(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(render(&tree), ["up/", "up/data/", "up/data/ok"]);
        assert!(tree.is_opaque("up/data") && !tree.is_opaque("up"));
    }

    #[test]
    fn run_syncs_a_work_tree() {
        let (s, d) = (tmp(), tmp());
        write(&s.path().join(".distro/spec"), "spec\n", 0o644);
        write(&s.path().join(".distro/tests/run.sh"), "#!/bin/sh\n", 0o755);
        write(&s.path().join(".distro/source-git.yaml"), "cfg\n", 0o644);
        fs::create_dir_all(s.path().join(".distro/empty")).unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::symlink("spec", s.path().join(".distro/alias"))
            .unwrap_or_else(|e| panic!("{e}"));
        write(&d.path().join("sources"), "SHA512 (x) = y\n", 0o644);
        write(&d.path().join("old.patch"), "patch\n", 0o644);
        write(&d.path().join(".git/HEAD"), "ref\n", 0o644);
        run(&[init_item()], s.path(), d.path()).unwrap_or_else(|e| panic!("{e}"));
        let tree = read_tree(d.path()).unwrap_or_else(|e| panic!("{e}"));
        let want = [
            "alias -> spec",
            "empty/",
            "sources",
            "spec",
            "tests/",
            "tests/run.sh*",
        ];
        assert_eq!(render(&tree), want);
        let spec = fs::read_to_string(d.path().join("spec")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(spec, "spec\n");
        assert!(d.path().join(".git/HEAD").exists());
    }

    #[test]
    fn apply_skips_identical_files_and_fixes_modes() {
        let (s, d) = (tmp(), tmp());
        write(&s.path().join("same"), "same\n", 0o644);
        write(&s.path().join("mode"), "mode\n", 0o755);
        write(&s.path().join("diff"), "new\n", 0o644);
        for (name, content) in [("same", "same\n"), ("mode", "mode\n"), ("diff", "old\n")] {
            write(&d.path().join(name), content, 0o644);
        }
        let ino = |name: &str| {
            fs::metadata(d.path().join(name))
                .map(|m| m.ino())
                .unwrap_or(0)
        };
        let before: Vec<u64> = ["same", "mode", "diff"].iter().map(|n| ino(n)).collect();
        run(&[item(&["./"], ".")], s.path(), d.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ino("same"), before[0]);
        assert_eq!(ino("mode"), before[1]);
        assert_ne!(ino("diff"), before[2]);
        let tree = read_tree(d.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(render(&tree), ["diff", "mode*", "same"]);
        let diff = fs::read_to_string(d.path().join("diff")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(diff, "new\n");
    }

    #[test]
    fn apply_replaces_a_link_instead_of_writing_through_it() {
        let (s, d, outside) = (tmp(), tmp(), tmp());
        let victim = outside.path().join("victim");
        write(&victim, "precious\n", 0o644);
        write(&s.path().join("x"), "payload\n", 0o644);
        std::os::unix::fs::symlink(&victim, d.path().join("x")).unwrap_or_else(|e| panic!("{e}"));
        let ops = [SyncOp::CopyFile {
            from: "x".into(),
            to: "x".into(),
            mode: 0o644,
        }];
        apply(&ops, s.path(), d.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            fs::read_to_string(&victim).unwrap_or_default(),
            "precious\n"
        );
        assert_eq!(
            fs::read_to_string(d.path().join("x")).unwrap_or_default(),
            "payload\n"
        );
        assert!(fs::symlink_metadata(d.path().join("x")).is_ok_and(|m| m.is_file()));
    }

    #[test]
    fn apply_refuses_unsafe_paths() {
        let (s, d, outside) = (tmp(), tmp(), tmp());
        write(&s.path().join("x"), "payload\n", 0o644);
        std::os::unix::fs::symlink(outside.path(), d.path().join("lnk"))
            .unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::symlink(s.path().join("x"), s.path().join("slink"))
            .unwrap_or_else(|e| panic!("{e}"));
        let bad = [
            SyncOp::CreateDir {
                path: "lnk/sub".into(),
                mode: 0o755,
            },
            SyncOp::CopyFile {
                from: "x".into(),
                to: "lnk/x".into(),
                mode: 0o644,
            },
            SyncOp::CopyFile {
                from: "x".into(),
                to: "../x".into(),
                mode: 0o644,
            },
            SyncOp::CopyFile {
                from: "x".into(),
                to: ".git/hooks/pre-commit".into(),
                mode: 0o755,
            },
            SyncOp::CopyFile {
                from: "slink".into(),
                to: "y".into(),
                mode: 0o644,
            },
            SyncOp::CopyFile {
                from: "../x".into(),
                to: "y".into(),
                mode: 0o644,
            },
            SyncOp::Remove {
                path: "/etc/passwd".into(),
            },
            SyncOp::RemoveDir { path: "lnk".into() },
            SyncOp::CreateDir {
                path: "".into(),
                mode: 0o755,
            },
        ];
        for op in bad {
            assert!(
                apply(std::slice::from_ref(&op), s.path(), d.path()).is_err(),
                "{op:?}"
            );
        }
        let left = fs::read_dir(outside.path())
            .map(|r| r.count())
            .unwrap_or(usize::MAX);
        assert_eq!(left, 0);
        assert!(!d.path().join(".git").exists() && !d.path().join("y").exists());
    }

    #[test]
    fn apply_sets_directory_modes_last() {
        let (s, d) = (tmp(), tmp());
        write(&s.path().join("ro/f"), "f\n", 0o644);
        fs::set_permissions(s.path().join("ro"), fs::Permissions::from_mode(0o555))
            .unwrap_or_else(|e| panic!("{e}"));
        run(&[item(&["ro"], ".")], s.path(), d.path()).unwrap_or_else(|e| panic!("{e}"));
        let mode = fs::metadata(d.path().join("ro"))
            .map(|m| m.mode() & 0o777)
            .unwrap_or(0);
        assert_eq!(mode, 0o555);
        assert!(d.path().join("ro/f").exists());
        for dir in [s.path(), d.path()] {
            let _ = fs::set_permissions(dir.join("ro"), fs::Permissions::from_mode(0o755));
        }
    }
}
