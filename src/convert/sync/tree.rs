//! The methods of [`Tree`], the in-memory listing of a work tree that all planning works on:
//! inserting, removing and querying entries, opacity, and the effect of one [`SyncOp`].
//!
//! Must not touch the file system (a [`Tree`] is filled by
//! [`read_tree`](crate::repo::sync_fs::read_tree) or by hand) nor know about rsync's rules.

use super::paths::parent_of;
use super::{EntryKind, MODE_MASK, NEW_DIR_MODE, Repo, SyncError, SyncOp, Tree};

impl Tree {
    /// An empty tree whose root has mode `0o755`.
    pub fn new() -> Self {
        Tree::default()
    }

    /// An empty tree whose root has the given permission bits.
    pub fn with_root_mode(mode: u32) -> Self {
        Tree {
            root_mode: mode & MODE_MASK,
            ..Tree::default()
        }
    }

    /// Permission bits of the root directory.
    pub fn root_mode(&self) -> u32 {
        self.root_mode
    }

    /// Adds or replaces the entry at `path` (normalized, see [`Tree`]). Missing parent
    /// directories are added with mode `0o755`; replacing a directory by a non-directory
    /// drops its content.
    pub fn insert(&mut self, path: &str, kind: EntryKind) {
        let mut parent = parent_of(path);
        let mut missing = Vec::new();
        while !parent.is_empty() && !self.entries.contains_key(parent) {
            missing.push(parent.to_string());
            parent = parent_of(parent);
        }
        for dir in missing {
            self.entries
                .insert(dir, EntryKind::Dir { mode: NEW_DIR_MODE });
        }
        if !kind.is_dir() {
            self.remove_descendants(path);
        }
        self.entries.insert(path.to_string(), kind);
    }

    /// Removes the entry at `path` and everything below it; returns the removed entry.
    pub fn remove(&mut self, path: &str) -> Option<EntryKind> {
        self.remove_descendants(path);
        self.entries.remove(path)
    }

    /// Marks the directory `dir` (`""` = root) as holding entries the listing lacks.
    pub fn mark_opaque(&mut self, dir: &str) {
        self.opaque.insert(dir.to_string());
    }

    /// Whether `dir` was marked with [`Tree::mark_opaque`].
    pub fn is_opaque(&self, dir: &str) -> bool {
        self.opaque.contains(dir)
    }

    fn remove_descendants(&mut self, path: &str) {
        let prefix = format!("{path}/");
        self.opaque.retain(|d| d != path && !d.starts_with(&prefix));
        let doomed: Vec<String> = self
            .entries
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for k in doomed {
            self.entries.remove(&k);
        }
    }

    /// The entry at `path` (`None` for the root and for missing paths).
    pub fn get(&self, path: &str) -> Option<&EntryKind> {
        self.entries.get(path)
    }

    /// All entries, sorted by path.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &EntryKind)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of entries (the root not counted).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the tree has no entries besides its root.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Updates the listing with the effect of one op (file contents are not modelled).
    pub fn apply_op(&mut self, op: &SyncOp) {
        match op {
            SyncOp::SetMode { path, mode } if path.is_empty() => self.root_mode = *mode,
            SyncOp::CreateDir { path, mode } | SyncOp::SetMode { path, mode } => {
                self.insert(path, EntryKind::Dir { mode: *mode })
            }
            SyncOp::CopyFile { to, mode, .. } => self.insert(to, EntryKind::File { mode: *mode }),
            SyncOp::CopySymlink { to, target } => self.insert(
                to,
                EntryKind::Symlink {
                    target: target.clone(),
                },
            ),
            SyncOp::Remove { path } | SyncOp::RemoveDir { path } => {
                self.remove(path);
            }
        }
    }

    /// Kind at `path`, the root included.
    pub(super) fn kind(&self, path: &str) -> Option<EntryKind> {
        if path.is_empty() {
            Some(EntryKind::Dir {
                mode: self.root_mode,
            })
        } else {
            self.entries.get(path).cloned()
        }
    }

    /// Direct children of the directory `dir` (`""` = root), sorted by name.
    fn children(&self, dir: &str) -> Vec<(String, EntryKind)> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        self.entries
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(k, _)| !k[prefix.len()..].contains('/'))
            .map(|(k, v)| (k[prefix.len()..].to_string(), v.clone()))
            .collect()
    }
}

/// The children of `dir`, refusing an opaque directory (see [`Tree`]).
pub(super) fn full_children(
    tree: &Tree,
    repo: Repo,
    dir: &str,
) -> Result<Vec<(String, EntryKind)>, SyncError> {
    if tree.is_opaque(dir) {
        return Err(SyncError::Unrepresentable {
            repo,
            dir: dir.to_string(),
        });
    }
    Ok(tree.children(dir))
}
