//! rsync's receiver side: where the file list lands (`get_local_name`, `--mkpath`), the
//! transfer itself (including the replacement of an entry by one of another type) and the
//! `--delete` pass, planned against an evolving in-memory dist-git [`Tree`].
//!
//! Must not touch the file system: every change is a [`SyncOp`] applied to the listing.

use super::filter::FilterRules;
use super::paths::{check_symlink, first_comp, join};
use super::sender::{Xfer, XferEntry, build_xfer, resolve_src};
use super::tree::full_children;
use super::{EntryKind, NEW_DIR_MODE, Repo, Side, SyncError, SyncItem, SyncOp, Tree};

/// What `stat(dest)` says.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DestStatus {
    Dir,
    NonDir,
    Missing,
    ParentNotDir,
}

fn dest_status(tree: &Tree, comps: &[String]) -> DestStatus {
    for i in 1..comps.len() {
        match tree.kind(&comps[..i].join("/")) {
            Some(EntryKind::Dir { .. }) => {}
            Some(_) => return DestStatus::ParentNotDir,
            None => return DestStatus::Missing,
        }
    }
    match tree.kind(&comps.join("/")) {
        Some(EntryKind::Dir { .. }) => DestStatus::Dir,
        Some(_) => DestStatus::NonDir,
        None => DestStatus::Missing,
    }
}

/// Where the transfer list lands (rsync `get_local_name`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum DestMode {
    /// Every name lands below this directory.
    Dir(String),
    /// The single entry of the list becomes this path.
    Single(String),
}

/// Plans one item against an evolving dist-git listing.
struct Planner<'a> {
    rules: &'a FilterRules,
    delete: bool,
    cur: Tree,
    ops: Vec<SyncOp>,
}

impl Planner<'_> {
    fn push(&mut self, op: SyncOp) -> Result<(), SyncError> {
        let path = op.dest_path();
        if first_comp(path) == ".git" {
            return Err(SyncError::GitDirPath {
                repo: Repo::DistGit,
                path: path.to_string(),
            });
        }
        self.cur.apply_op(&op);
        self.ops.push(op);
        Ok(())
    }

    /// `mkdir -p` of `comps` (rsync `make_path`).
    fn mkdirs(&mut self, comps: &[String], dest: &str) -> Result<(), SyncError> {
        for i in 1..=comps.len() {
            let path = comps[..i].join("/");
            match self.cur.kind(&path) {
                Some(EntryKind::Dir { .. }) => {}
                None => self.push(SyncOp::CreateDir {
                    path,
                    mode: NEW_DIR_MODE,
                })?,
                Some(_) => {
                    return Err(SyncError::DestParentMissing {
                        dest: dest.to_string(),
                        reason: format!("{path:?} is not a directory"),
                    });
                }
            }
        }
        Ok(())
    }

    /// rsync `get_local_name` with `--mkpath`: decides from `stat(dest)`, the number of
    /// transfer-list entries and a trailing `/` whether the list lands below a directory
    /// (created if needed) or its single entry becomes `dest` itself.
    fn dest_mode(
        &mut self,
        d: &[String],
        trailing: bool,
        mkpath: bool,
        xfer: &Xfer,
        dest: &str,
    ) -> Result<DestMode, SyncError> {
        let total = xfer.len();
        let path = d.join("/");
        let parent_missing = |reason: &str| SyncError::DestParentMissing {
            dest: dest.to_string(),
            reason: reason.to_string(),
        };
        let mut status = dest_status(&self.cur, d);
        if mkpath && matches!(status, DestStatus::Missing | DestStatus::ParentNotDir) {
            let upto = if total > 1 || trailing {
                d.len()
            } else {
                d.len().saturating_sub(1)
            };
            self.mkdirs(&d[..upto], dest)?;
            status = dest_status(&self.cur, d);
        }
        let not_dir = |reason: &str| SyncError::DestNotADirectory {
            dest: dest.to_string(),
            reason: reason.to_string(),
        };
        match status {
            DestStatus::Dir => Ok(DestMode::Dir(path)),
            DestStatus::ParentNotDir => Err(parent_missing("a parent is not a directory")),
            DestStatus::NonDir if total > 1 => Err(not_dir("more than one file is copied")),
            DestStatus::NonDir if xfer.values().any(|e| e.kind.is_dir()) => {
                Err(not_dir("a directory cannot overwrite a non-directory"))
            }
            DestStatus::NonDir if trailing => Err(not_dir("it ends with '/'")),
            DestStatus::NonDir => Ok(DestMode::Single(path)),
            DestStatus::Missing => {
                if dest_status(&self.cur, &d[..d.len().saturating_sub(1)]) != DestStatus::Dir {
                    return Err(parent_missing(
                        "its parent directory does not exist (mkpath is off)",
                    ));
                }
                if total > 1 || trailing {
                    self.push(SyncOp::CreateDir {
                        path: path.clone(),
                        mode: NEW_DIR_MODE,
                    })?;
                    Ok(DestMode::Dir(path))
                } else {
                    Ok(DestMode::Single(path))
                }
            }
        }
    }

    /// Creates or updates one transfer-list entry at `path` (`name`: its transfer name).
    fn transfer(
        &mut self,
        path: &str,
        name: &str,
        entry: &XferEntry,
        xfer: &Xfer,
    ) -> Result<(), SyncError> {
        match &entry.kind {
            EntryKind::Dir { mode } => {
                self.ensure_dir(path, *mode)?;
                if self.delete {
                    self.delete_extraneous(path, name, xfer)?;
                }
                Ok(())
            }
            EntryKind::File { mode } => {
                self.make_room(path, name)?;
                self.push(SyncOp::CopyFile {
                    from: entry.from.clone(),
                    to: path.to_string(),
                    mode: *mode,
                })
            }
            EntryKind::Symlink { target } => {
                if self.cur.get(path) == Some(&entry.kind) {
                    return Ok(());
                }
                self.make_room(path, name)?;
                self.push(SyncOp::CopySymlink {
                    to: path.to_string(),
                    target: target.clone(),
                })
            }
        }
    }

    fn ensure_dir(&mut self, path: &str, mode: u32) -> Result<(), SyncError> {
        match self.cur.kind(path) {
            Some(EntryKind::Dir { mode: old }) if old == mode => Ok(()),
            Some(EntryKind::Dir { .. }) => self.push(SyncOp::SetMode {
                path: path.to_string(),
                mode,
            }),
            Some(_) => {
                self.push(SyncOp::Remove {
                    path: path.to_string(),
                })?;
                self.push(SyncOp::CreateDir {
                    path: path.to_string(),
                    mode,
                })
            }
            None => self.push(SyncOp::CreateDir {
                path: path.to_string(),
                mode,
            }),
        }
    }

    /// Removes a directory in the way of a non-directory (rsync `DEL_MAKE_ROOM`; recursive
    /// only with `--delete`, honouring receiver-side rules except perishable ones).
    fn make_room(&mut self, path: &str, name: &str) -> Result<(), SyncError> {
        if !matches!(self.cur.get(path), Some(EntryKind::Dir { .. })) {
            return Ok(());
        }
        let cannot = |reason: &str| SyncError::CannotReplaceDir {
            path: path.to_string(),
            reason: reason.to_string(),
        };
        if !self.delete && !full_children(&self.cur, Repo::DistGit, path)?.is_empty() {
            return Err(cannot("it is not empty and `delete` is off"));
        }
        if self.delete && self.delete_contents(path, name)? {
            return Err(cannot("it contains entries protected by the filter rules"));
        }
        self.push(SyncOp::RemoveDir {
            path: path.to_string(),
        })
    }

    /// The `--delete` pass for one transferred directory (rsync `delete_in_dir`).
    fn delete_extraneous(&mut self, path: &str, name: &str, xfer: &Xfer) -> Result<(), SyncError> {
        for (child, kind) in full_children(&self.cur, Repo::DistGit, path)? {
            let rel = join(name, &child);
            if xfer.contains_key(&rel)
                || self.rules.is_excluded(Side::Receiver, &rel, kind.is_dir())
            {
                continue;
            }
            self.delete_entry(&join(path, &child), &rel, &kind)?;
        }
        Ok(())
    }

    /// Deletes one entry; a directory only if all its content could go. Returns whether
    /// the entry is gone.
    fn delete_entry(
        &mut self,
        path: &str,
        name: &str,
        kind: &EntryKind,
    ) -> Result<bool, SyncError> {
        if kind.is_dir() {
            if self.delete_contents(path, name)? {
                return Ok(false);
            }
            self.push(SyncOp::RemoveDir {
                path: path.to_string(),
            })?;
        } else {
            self.push(SyncOp::Remove {
                path: path.to_string(),
            })?;
        }
        Ok(true)
    }

    /// Deletes the content of a doomed directory (rsync `delete_dir_contents`: perishable
    /// rules ignored). Returns whether something survived.
    fn delete_contents(&mut self, path: &str, name: &str) -> Result<bool, SyncError> {
        let mut survived = false;
        for (child, kind) in full_children(&self.cur, Repo::DistGit, path)? {
            let rel = join(name, &child);
            if self
                .rules
                .is_excluded_ext(Side::Receiver, &rel, kind.is_dir(), true)
                || !self.delete_entry(&join(path, &child), &rel, &kind)?
            {
                survived = true;
            }
        }
        Ok(survived)
    }
}

/// `dest` was resolved against the initial dist-git, so a symlink on that path now was
/// created by an earlier item; rsync would follow it (or fail on a dangling one). Refused.
fn refuse_new_dest_symlink(cur: &Tree, comps: &[String], dest: &str) -> Result<(), SyncError> {
    for i in 1..=comps.len() {
        let path = comps[..i].join("/");
        if let Some(EntryKind::Symlink { .. }) = cur.get(&path) {
            return Err(SyncError::DestBecameSymlink {
                dest: dest.to_string(),
                link: path,
            });
        }
    }
    Ok(())
}

/// Plans one item whose `dest` was resolved (against the initial dist-git) to `dest_comps`.
pub(super) fn plan_one(
    item: &SyncItem,
    dest_comps: &[String],
    trailing: bool,
    source: &Tree,
    cur: Tree,
) -> Result<(Vec<SyncOp>, Tree), SyncError> {
    let rules = FilterRules::parse(&item.filters)?;
    let mut args = Vec::new();
    for src in &item.src {
        args.extend(resolve_src(source, src)?);
    }
    let xfer = build_xfer(source, &args, &rules)?;
    refuse_new_dest_symlink(&cur, dest_comps, &item.dest)?;
    let d = dest_comps;
    let mut planner = Planner {
        rules: &rules,
        delete: item.delete,
        cur,
        ops: Vec::new(),
    };
    match planner.dest_mode(d, trailing, item.mkpath, &xfer, &item.dest)? {
        DestMode::Dir(base) => {
            for (name, entry) in &xfer {
                planner.transfer(&join(&base, name), name, entry, &xfer)?;
            }
        }
        DestMode::Single(path) => {
            if let Some((name, entry)) = xfer.iter().next() {
                planner.transfer(&path, name, entry, &xfer)?;
            }
        }
    }
    Ok((planner.ops, planner.cur))
}

/// Refuses created symlinks that leave dist-git in the final tree.
pub(super) fn check_created_symlinks(ops: &[SyncOp], result: &Tree) -> Result<(), SyncError> {
    for op in ops {
        if let SyncOp::CopySymlink { to, target } = op
            && matches!(result.get(to), Some(EntryKind::Symlink { target: t }) if t == target)
        {
            check_symlink(result, Repo::DistGit, to, target)?;
        }
    }
    Ok(())
}
