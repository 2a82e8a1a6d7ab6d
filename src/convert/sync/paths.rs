//! Paths inside a [`Tree`]: `/`-separated path strings, their resolution like Python's
//! `os.path.realpath` (confined to the repository), and the escape checks of configured
//! paths and of symlinks to be copied.
//!
//! Must not touch the file system: symlinks are resolved through the [`Tree`] listing only.

use std::collections::VecDeque;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::{EntryKind, Repo, SyncError, Tree};

/// Symlink hops allowed while resolving one path (Linux `MAXSYMLINKS`).
const MAX_SYMLINK_HOPS: usize = 40;

pub(crate) fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}/{b}"),
    }
}

pub(super) fn parent_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(p, _)| p)
}

pub(super) fn split_comps(path: &str) -> Vec<String> {
    path.split('/').map(str::to_string).collect()
}

pub(super) fn first_comp(path: &str) -> &str {
    path.split('/').next().unwrap_or("")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WalkError {
    Escapes,
    GitDir,
    Loop,
}

fn target_comps(target: &Path) -> Vec<String> {
    target
        .as_os_str()
        .as_bytes()
        .split(|b| *b == b'/')
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect()
}

/// Resolves `rel` against the directory `base` like `realpath`: `.` skipped, `..` pops,
/// symlinks replaced by their targets (the last component only if `follow_last`). Parts
/// below a missing entry are appended as they are. Fails when the walk would leave the
/// root, meets an absolute link target, or enters the top-level `.git`.
pub(super) fn walk(
    tree: &Tree,
    base: &[String],
    rel: Vec<String>,
    follow_last: bool,
) -> Result<Vec<String>, WalkError> {
    let mut out: Vec<String> = base.to_vec();
    let mut pending: VecDeque<String> = rel.into();
    let mut hops = 0;
    while let Some(comp) = pending.pop_front() {
        match comp.as_str() {
            "" | "." => continue,
            ".." => {
                out.pop().ok_or(WalkError::Escapes)?;
                continue;
            }
            _ => out.push(comp),
        }
        if out.len() == 1 && out[0] == ".git" {
            return Err(WalkError::GitDir);
        }
        if pending.is_empty() && !follow_last {
            break;
        }
        if let Some(EntryKind::Symlink { target }) = tree.get(&out.join("/")) {
            hops += 1;
            if hops > MAX_SYMLINK_HOPS {
                return Err(WalkError::Loop);
            }
            if target.is_absolute() {
                return Err(WalkError::Escapes);
            }
            out.pop();
            for comp in target_comps(target).into_iter().rev() {
                pending.push_front(comp);
            }
        }
    }
    Ok(out)
}

pub(super) fn walk_error(err: WalkError, repo: Repo, path: &str) -> SyncError {
    let path = path.to_string();
    match err {
        WalkError::Escapes => SyncError::PathEscapes { repo, path },
        WalkError::GitDir => SyncError::GitDirPath { repo, path },
        WalkError::Loop => SyncError::SymlinkLoop { repo, path },
    }
}

/// Resolves a configured path (`src` or `dest`) like packit's `check_subpath`.
pub(super) fn resolve_config_path(
    tree: &Tree,
    repo: Repo,
    path: &str,
) -> Result<(Vec<String>, bool), SyncError> {
    if path.starts_with('/') {
        return Err(SyncError::PathEscapes {
            repo,
            path: path.to_string(),
        });
    }
    let comps = walk(tree, &[], split_comps(path), true).map_err(|e| walk_error(e, repo, path))?;
    Ok((comps, path.ends_with('/')))
}

/// Whether the link target, taken lexically from `link_dir`, stays inside the root and out
/// of the top-level `.git`.
fn lexically_inside(link_dir: &str, target: &Path) -> bool {
    if target.is_absolute() {
        return false;
    }
    let mut stack: Vec<String> = if link_dir.is_empty() {
        Vec::new()
    } else {
        split_comps(link_dir)
    };
    for comp in target_comps(target) {
        match comp.as_str() {
            "" | "." => {}
            ".." => {
                if stack.pop().is_none() {
                    return false;
                }
            }
            _ => stack.push(comp),
        }
    }
    stack.first().is_none_or(|c| c != ".git")
}

/// Refuses a symlink at `link` whose target leaves the repository, lexically or physically.
pub(super) fn check_symlink(
    tree: &Tree,
    repo: Repo,
    link: &str,
    target: &Path,
) -> Result<(), SyncError> {
    let dir = parent_of(link);
    let base: Vec<String> = if dir.is_empty() {
        Vec::new()
    } else {
        split_comps(dir)
    };
    let physical = walk(tree, &base, target_comps(target), true);
    let escapes = matches!(physical, Err(WalkError::Escapes | WalkError::GitDir));
    if escapes || !lexically_inside(dir, target) {
        return Err(SyncError::SymlinkEscapes {
            repo,
            link: link.to_string(),
            target: target.to_path_buf(),
        });
    }
    Ok(())
}
