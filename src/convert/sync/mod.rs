//! File sync of `files_to_sync` items from a source-git work tree into a dist-git work tree:
//! rsync's semantics, as pure planning.
//!
//! packit copies every `files_to_sync` item with
//! `rsync --archive [--delete] [--filter F]... [--mkpath] --ignore-missing-args SRC... DEST`,
//! after making each path absolute with Python's `Path.resolve()` (symlinks followed, a
//! trailing `/` kept) and expanding each `src` with Python's `glob.glob` (format doc §2.2,
//! §2.3). This module re-implements exactly that, without running rsync:
//!
//! * **Planning is pure.** [`plan`] (and [`plan_all`], [`plan_item`]) turn [`SyncItem`]s and
//!   two in-memory listings ([`Tree`]) into a list of [`SyncOp`]s, or a [`SyncError`], before
//!   anything is written. Later items see the dist-git tree as left by earlier ones.
//! * **I/O is at the edge**, in [`crate::repo::sync_fs`]: [`read_tree`](crate::repo::sync_fs::read_tree)
//!   lists a work tree, [`apply`](crate::repo::sync_fs::apply) performs the ops,
//!   [`run`](crate::repo::sync_fs::run) chains the three.
//!
//! This module owns rsync's semantics as pure planning and must not touch the file system:
//! all it knows about a work tree is a [`Tree`] listing, all it decides is a list of
//! [`SyncOp`]s.
//!
//! Layout: `paths` resolves configured paths and checks symlinks inside a [`Tree`], `glob`
//! is Python's `glob.glob`, `filter` parses and matches rsync filter rules, `sender` builds
//! rsync's file list, `planner` applies rsync's receiver-side rules, `tree` holds the
//! methods of [`Tree`]; the public types and entry points live here.
//!
//! What it owns: resolution and escape checks of `src`/`dest`; Python glob semantics for
//! `src`; parsing and matching of rsync filter rules (sender-side hide/show, receiver-side
//! protect/risk, `exclude` = hide + protect, first match wins, rsync's wildmatch); rsync's
//! destination rules (`get_local_name`, `--mkpath`); merging of duplicate names; replacement
//! of an entry by one of another type; the `--delete` pass (directories included, a
//! directory keeping a protected entry survives); `--archive` for what git can see
//! (symlinks copied as links, permission bits, empty directories).
//!
//! What it must not do: touch the file system (listing work trees and performing ops is the
//! job of [`crate::repo::sync_fs`]); run rsync or any other process; follow a symlink when
//! listing, reading or writing (links are copied as links); write outside the dist-git work
//! tree or into its top-level `.git`; read the top-level `.git` of either repository; decide
//! which items to sync (the `files_to_sync` defaults and the `sync_changelog: false` spec
//! handling belong to the caller). The rules on symlinks and `.git` bind [`crate::repo::sync_fs`]
//! too, which re-checks every path it touches.
//!
//! Deliberate differences from packit + rsync, all on inputs that never occur in
//! `init`-created repositories (each is a [`SyncError`] unless said otherwise):
//! * like packit, `src`/`dest` leaving its repository is refused; in addition, paths into a
//!   top-level `.git`, symlinks to be copied whose target leaves the repository (or enters
//!   its `.git`), symlink loops in `src`/`dest`, and a `dest` that an earlier item turned
//!   into a symlink are refused;
//! * the top-level `.git` of either repository is invisible: never copied, never deleted
//!   (even without `protect .git*`);
//! * a `src` naming the source-git root without a trailing `/` is refused (rsync would
//!   create a directory named after the checkout directory);
//! * when rsync would fail part-way (a file must replace a non-empty directory, a source
//!   directory is missing, ...), planning fails and nothing is written;
//! * directories holding entries a [`Tree`] cannot represent (non-UTF-8 names, FIFOs,
//!   devices) are refused when they take part in the sync;
//! * glob matches are taken in sorted order (Python uses directory order; this only matters
//!   when two sources have the same name, where the first one wins);
//! * files are compared by content (no error): rsync's quick check skips a changed file
//!   whose size and mtime happen to be equal;
//! * special permission bits (setuid, setgid, sticky) are not copied (no error), and mtimes
//!   are only copied for files that are (re)written.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io;
use std::path::PathBuf;

mod filter;
mod glob;
mod paths;
mod planner;
mod sender;
#[cfg(test)]
pub(crate) mod test_util;
#[cfg(test)]
mod tests;
mod tree;

pub use filter::FilterRules;
pub(crate) use paths::join;

use paths::resolve_config_path;
use planner::{check_created_symlinks, plan_one};

/// Permission bits that are copied and compared (rsync `-p` as far as git can see).
pub(crate) const MODE_MASK: u32 = 0o777;
/// Mode of directories that rsync creates itself (`ACCESSPERMS & ~umask` with umask 022).
const NEW_DIR_MODE: u32 = 0o755;

// ---------------------------------------------------------------------------------------
// Public data types
// ---------------------------------------------------------------------------------------

/// One `files_to_sync` entry, exactly as written in `source-git.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncItem {
    /// Sources relative to the source-git root: Python glob patterns (`*` does not match a
    /// leading `.`, no `**` recursion). A trailing `/` copies the content of a directory
    /// instead of the directory itself.
    pub src: Vec<String>,
    /// Destination relative to the dist-git root. A trailing `/` asks for a directory.
    pub dest: String,
    /// rsync `--mkpath`: create missing parent directories of `dest`.
    pub mkpath: bool,
    /// rsync `--delete`: remove dist-git entries that are not in the transferred directories.
    pub delete: bool,
    /// rsync filter rules (`--filter`), in order.
    pub filters: Vec<String>,
}

impl SyncItem {
    /// The item for a plain string entry `x` of `files_to_sync`: `{src: [x], dest: x}`.
    pub fn from_path(path: &str) -> Self {
        SyncItem {
            src: vec![path.to_string()],
            dest: path.to_string(),
            ..SyncItem::default()
        }
    }
}

/// Which of the two repositories a path or an error refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repo {
    /// The source-git repository (the sync's source).
    SourceGit,
    /// The dist-git repository (the sync's destination).
    DistGit,
}

impl fmt::Display for Repo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Repo::SourceGit => "source-git",
            Repo::DistGit => "dist-git",
        })
    }
}

/// Why a sync cannot be planned or performed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// `src`/`dest` is absolute, climbs above the repository root with `..`, or goes through
    /// a symlink that leads outside the repository (packit: "Illegal path!").
    #[error(
        "sync files: illegal path {path:?}: it leads outside the {repo} repository \
         (absolute, '..' above the root, or through a symlink pointing outside)"
    )]
    PathEscapes {
        /// Repository the path is relative to.
        repo: Repo,
        /// The path as written in the configuration.
        path: String,
    },
    /// A path refers to the top-level `.git` of a repository.
    #[error("sync files: path {path:?} refers to the .git directory of the {repo} repository")]
    GitDirPath {
        /// Repository the path is relative to.
        repo: Repo,
        /// The offending path.
        path: String,
    },
    /// A symlink to be copied points outside the repository (absolute target, or relative
    /// target climbing out) or into its `.git`. packit would copy it as a link; srcgit
    /// refuses, because dist-git would then carry a link that leaves the repository.
    #[error(
        "sync files: refusing to copy symlink {link:?} -> {target:?}: its target is outside \
         the {repo} repository (or inside its .git)"
    )]
    SymlinkEscapes {
        /// Repository where the link lives (source-git) or would live (dist-git).
        repo: Repo,
        /// Path of the link, relative to that repository.
        link: String,
        /// The link's target, as stored in the link.
        target: PathBuf,
    },
    /// Symlink resolution did not terminate.
    #[error(
        "sync files: too many levels of symbolic links resolving {path:?} in the {repo} repository"
    )]
    SymlinkLoop {
        /// Repository the path is relative to.
        repo: Repo,
        /// The path being resolved.
        path: String,
    },
    /// A filter rule is invalid for rsync, or uses syntax this module does not implement.
    #[error("sync files: bad filter rule {rule:?}: {reason}")]
    BadFilter {
        /// The rule as written.
        rule: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `src` this module refuses to handle.
    #[error("sync files: unsupported src {src:?}: {reason}")]
    UnsupportedSrc {
        /// The `src` as written.
        src: String,
        /// Why it is refused.
        reason: String,
    },
    /// rsync cannot enter the directory of a `src` (its parent, or the `src` itself when it
    /// ends with `/`): `--ignore-missing-args` only forgives a missing last component, so
    /// rsync fails ("change_dir ... failed").
    #[error(
        "sync files: src {src:?}: the directory {dir:?} does not exist in source-git \
         (only a missing last path component is ignored)"
    )]
    SrcDirMissing {
        /// The `src` as written.
        src: String,
        /// The missing directory, relative to the source-git root.
        dir: String,
    },
    /// A `src` with a trailing `/` exists but is not a directory (rsync fails with
    /// "change_dir failed: Not a directory").
    #[error("sync files: src {src:?} ends with '/' but is not a directory")]
    SrcNotADirectory {
        /// The `src` as written.
        src: String,
    },
    /// `dest` (or the directory rsync must create for it) has a missing or non-directory
    /// parent and `mkpath` does not apply.
    #[error("sync files: cannot create dest {dest:?}: {reason}")]
    DestParentMissing {
        /// The `dest` as written.
        dest: String,
        /// Details.
        reason: String,
    },
    /// `dest` exists as a non-directory where rsync needs a directory.
    #[error("sync files: dest {dest:?} exists and is not a directory: {reason}")]
    DestNotADirectory {
        /// The `dest` as written.
        dest: String,
        /// Details.
        reason: String,
    },
    /// An earlier item created a symlink on the path of this item's `dest` (which packit
    /// resolved before syncing anything); rsync would follow it or fail on it.
    #[error(
        "sync files: dest {dest:?} goes through the symlink {link:?} that an earlier \
         files_to_sync item created"
    )]
    DestBecameSymlink {
        /// The `dest` as written.
        dest: String,
        /// The symlink, relative to the dist-git root.
        link: String,
    },
    /// A non-directory must replace a dist-git directory that cannot be emptied (rsync:
    /// "cannot delete non-empty directory", "could not make way for new ...").
    #[error(
        "sync files: cannot replace the directory {path:?} in dist-git by a non-directory: {reason}"
    )]
    CannotReplaceDir {
        /// Path of the directory in dist-git.
        path: String,
        /// Details.
        reason: String,
    },
    /// A directory that must be transferred, globbed or swept holds entries the listing
    /// could not represent (see [`Tree`]).
    #[error(
        "sync files: directory {dir:?} in the {repo} repository holds entries srcgit cannot \
         handle (non-UTF-8 names or special files such as FIFOs)"
    )]
    Unrepresentable {
        /// Repository of the directory.
        repo: Repo,
        /// The directory (`""` = root).
        dir: String,
    },
    /// Reading a work tree or applying the plan failed ([`run`](crate::repo::sync_fs::run) only).
    #[error("sync files: I/O error on {path}: {source}")]
    Io {
        /// File or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

/// The kind of one entry of a work tree, as rsync `--archive` sees it (never following links).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// Regular file with its permission bits (`mode & 0o777`).
    File {
        /// Permission bits.
        mode: u32,
    },
    /// Symbolic link with its target exactly as stored.
    Symlink {
        /// The link target.
        target: PathBuf,
    },
    /// Directory with its permission bits.
    Dir {
        /// Permission bits.
        mode: u32,
    },
}

impl EntryKind {
    /// Whether this is a directory (a symlink to a directory is not).
    pub fn is_dir(&self) -> bool {
        matches!(self, EntryKind::Dir { .. })
    }
}

/// Listing of one work tree: relative path → kind.
///
/// Paths are `/`-separated, relative to the root, without `.`/`..`/empty components and
/// without leading or trailing `/`. The root itself is implicit (a directory with
/// [`Tree::root_mode`]). [`read_tree`](crate::repo::sync_fs::read_tree) leaves out the top-level `.git`.
///
/// Entries that cannot be represented (non-UTF-8 names, FIFOs, sockets, devices) are left
/// out and their directory is marked *opaque*: planning refuses to transfer, glob or sweep
/// an opaque directory, since rsync would copy or delete what the listing lacks. Opaque
/// directories elsewhere (say in the upstream part of source-git) do not matter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    root_mode: u32,
    entries: BTreeMap<String, EntryKind>,
    opaque: BTreeSet<String>,
}

impl Default for Tree {
    fn default() -> Self {
        Tree {
            root_mode: NEW_DIR_MODE,
            entries: BTreeMap::new(),
            opaque: BTreeSet::new(),
        }
    }
}

/// One step of a sync plan. Paths are relative: `from` to the source-git root, every other
/// path to the dist-git root (`""` is the dist-git root itself, used only by `SetMode`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOp {
    /// Create a directory (nothing exists at `path`).
    CreateDir {
        /// Directory to create.
        path: String,
        /// Its final permission bits.
        mode: u32,
    },
    /// Change the permission bits of an existing directory.
    SetMode {
        /// The directory (`""` = dist-git root).
        path: String,
        /// New permission bits.
        mode: u32,
    },
    /// Copy a regular file, replacing a file or symlink at `to`. [`apply`](crate::repo::sync_fs::apply)
    /// skips the write when `to` already has the same bytes and mode.
    CopyFile {
        /// Source file, relative to the source-git root.
        from: String,
        /// Destination, relative to the dist-git root.
        to: String,
        /// Permission bits of the copy.
        mode: u32,
    },
    /// Create a symlink, replacing a file or symlink at `to`.
    CopySymlink {
        /// Link path, relative to the dist-git root.
        to: String,
        /// Link target, copied verbatim.
        target: PathBuf,
    },
    /// Remove a file or symlink.
    Remove {
        /// Path to remove.
        path: String,
    },
    /// Remove a directory that the preceding ops left empty.
    RemoveDir {
        /// Directory to remove.
        path: String,
    },
}

impl SyncOp {
    /// The dist-git path this op changes.
    pub fn dest_path(&self) -> &str {
        match self {
            SyncOp::CreateDir { path, .. }
            | SyncOp::SetMode { path, .. }
            | SyncOp::Remove { path }
            | SyncOp::RemoveDir { path } => path,
            SyncOp::CopyFile { to, .. } | SyncOp::CopySymlink { to, .. } => to,
        }
    }
}

/// A validated plan: the ops and the dist-git listing they produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncPlan {
    /// The ops, in the order [`apply`](crate::repo::sync_fs::apply) must perform them.
    pub ops: Vec<SyncOp>,
    /// The dist-git listing after the ops (file contents not modelled).
    pub result: Tree,
}

/// The side of an rsync transfer a filter rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The sender builds the file list: `exclude`/`include`/`hide`/`show` apply.
    Sender,
    /// The receiver decides what `--delete` may remove: `exclude`/`include`/`protect`/`risk`.
    Receiver,
}

// ---------------------------------------------------------------------------------------
// Planning entry points
// ---------------------------------------------------------------------------------------

/// Plans all items, in order, against an evolving in-memory copy of `dest`; nothing is
/// written. Like packit, every `dest` is resolved against the initial dist-git first.
pub fn plan(items: &[SyncItem], source: &Tree, dest: &Tree) -> Result<SyncPlan, SyncError> {
    let dests = items
        .iter()
        .map(|item| resolve_config_path(dest, Repo::DistGit, &item.dest))
        .collect::<Result<Vec<_>, _>>()?;
    let mut cur = dest.clone();
    let mut ops = Vec::new();
    for (item, (comps, trailing)) in items.iter().zip(dests) {
        let (item_ops, next) = plan_one(item, &comps, trailing, source, cur)?;
        ops.extend(item_ops);
        cur = next;
    }
    check_created_symlinks(&ops, &cur)?;
    Ok(SyncPlan { ops, result: cur })
}

/// [`plan`], returning only the ops.
pub fn plan_all(items: &[SyncItem], source: &Tree, dest: &Tree) -> Result<Vec<SyncOp>, SyncError> {
    plan(items, source, dest).map(|p| p.ops)
}

/// Pure: what rsync would do for one item, given listings of the source-git and dist-git
/// work trees.
pub fn plan_item(item: &SyncItem, source: &Tree, dest: &Tree) -> Result<Vec<SyncOp>, SyncError> {
    plan_all(std::slice::from_ref(item), source, dest)
}
