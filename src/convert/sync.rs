//! File sync of `files_to_sync` items from a source-git work tree into a dist-git work tree.
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
//! * **I/O is at the edge.** [`read_tree`] lists a work tree, [`apply`] performs the ops,
//!   [`run`] chains the three.
//!
//! What it owns: resolution and escape checks of `src`/`dest`; Python glob semantics for
//! `src`; parsing and matching of rsync filter rules (sender-side hide/show, receiver-side
//! protect/risk, `exclude` = hide + protect, first match wins, rsync's wildmatch); rsync's
//! destination rules (`get_local_name`, `--mkpath`); merging of duplicate names; replacement
//! of an entry by one of another type; the `--delete` pass (directories included, a
//! directory keeping a protected entry survives); `--archive` for what git can see
//! (symlinks copied as links, permission bits, empty directories).
//!
//! What it must not do: run rsync or any other process; follow a symlink when listing,
//! reading or writing (links are copied as links); write outside the dist-git work tree or
//! into its top-level `.git`; read the top-level `.git` of either repository; decide which
//! items to sync (the `files_to_sync` defaults and the `sync_changelog: false` spec handling
//! belong to the caller).
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

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Permission bits that are copied and compared (rsync `-p` as far as git can see).
const MODE_MASK: u32 = 0o777;
/// Mode of directories that rsync creates itself (`ACCESSPERMS & ~umask` with umask 022).
const NEW_DIR_MODE: u32 = 0o755;
/// Symlink hops allowed while resolving one path (Linux `MAXSYMLINKS`).
const MAX_SYMLINK_HOPS: usize = 40;

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
    /// Reading a work tree or applying the plan failed ([`run`] only).
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
/// [`Tree::root_mode`]). [`read_tree`] leaves out the top-level `.git`.
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
    /// Copy a regular file, replacing a file or symlink at `to`. [`apply`] skips the write
    /// when `to` already has the same bytes and mode.
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
    /// The ops, in the order [`apply`] must perform them.
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
// Tree
// ---------------------------------------------------------------------------------------

fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}/{b}"),
    }
}

fn parent_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(p, _)| p)
}

fn split_comps(path: &str) -> Vec<String> {
    path.split('/').map(str::to_string).collect()
}

fn first_comp(path: &str) -> &str {
    path.split('/').next().unwrap_or("")
}

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
    fn kind(&self, path: &str) -> Option<EntryKind> {
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

// ---------------------------------------------------------------------------------------
// Path resolution inside a Tree (Python `os.path.realpath`, confined to the repository)
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WalkError {
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
fn walk(
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

fn walk_error(err: WalkError, repo: Repo, path: &str) -> SyncError {
    let path = path.to_string();
    match err {
        WalkError::Escapes => SyncError::PathEscapes { repo, path },
        WalkError::GitDir => SyncError::GitDirPath { repo, path },
        WalkError::Loop => SyncError::SymlinkLoop { repo, path },
    }
}

/// Resolves a configured path (`src` or `dest`) like packit's `check_subpath`.
fn resolve_config_path(
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
fn check_symlink(tree: &Tree, repo: Repo, link: &str, target: &Path) -> Result<(), SyncError> {
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

// ---------------------------------------------------------------------------------------
// rsync filter rules
// ---------------------------------------------------------------------------------------

/// One parsed filter rule (rsync `filter_rule` after `parse_rule_tok` + `add_rule`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Rule {
    include: bool,
    sender: bool,
    receiver: bool,
    negate: bool,
    perishable: bool,
    xattr: bool,
    dir_only: bool,
    /// Pattern without the dir-only trailing `/`, with a possible anchoring leading `/`.
    pattern: String,
    slash_cnt: usize,
    wild: bool,
    wild2: bool,
    wild2_prefix: bool,
    wild3_suffix: bool,
}

/// Parsed rsync filter rules of one item.
///
/// Supported: `exclude`/`-`, `include`/`+`, `hide`/`H`, `show`/`S`, `protect`/`P`,
/// `risk`/`R` with the modifiers `!`, `s`, `r`, `p` and `x`; patterns with `*`, `**`, `***`,
/// `?`, `[...]` (incl. `[:class:]`), `\` escapes, a leading `/` (anchored at the transfer
/// root) and a trailing `/` (directories only). Refused with [`SyncError::BadFilter`]:
/// what rsync itself rejects, and `merge`/`.`, `dir-merge`/`:`, `clear`/`!`, the `/`
/// (absolute path) and `C` (CVS) modifiers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterRules {
    rules: Vec<Rule>,
}

const LONG_RULE_NAMES: [(&str, u8); 9] = [
    ("clear", b'!'),
    ("dir-merge", b':'),
    ("exclude", b'-'),
    ("hide", b'H'),
    ("include", b'+'),
    ("merge", b'.'),
    ("protect", b'P'),
    ("risk", b'R'),
    ("show", b'S'),
];

/// C `isspace` (ASCII: space, \t, \n, \v, \f, \r).
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The rule kind and the index of the last byte of its prefix (rsync `parse_rule_tok`).
fn parse_rule_prefix(b: &[u8]) -> Option<(u8, usize)> {
    let first = *b.first()?;
    if let Some((name, ch)) = LONG_RULE_NAMES
        .iter()
        .find(|(n, _)| n.as_bytes()[0] == first)
    {
        let n = name.len();
        if !b.starts_with(name.as_bytes()) {
            return None;
        }
        return match b.get(n) {
            None | Some(b'_') => Some((*ch, n - 1)),
            Some(c) if is_c_space(*c) => Some((*ch, n - 1)),
            Some(b',') => Some((*ch, n)),
            Some(_) => None,
        };
    }
    Some((first, usize::from(b.get(1) == Some(&b','))))
}

fn apply_modifier(rule: &mut Rule, modifier: u8, side_fixed: bool) -> Result<(), String> {
    match modifier {
        b'!' => rule.negate = true,
        b'p' => rule.perishable = true,
        b'x' => rule.xattr = true,
        b's' if !side_fixed => rule.sender = true,
        b'r' if !side_fixed => rule.receiver = true,
        b'/' => return Err("the '/' (absolute path) modifier is not supported".to_string()),
        b'C' if !side_fixed => {
            return Err("the 'C' (CVS exclude) modifier is not supported".to_string());
        }
        other => return Err(format!("invalid modifier {:?}", char::from(other))),
    }
    Ok(())
}

impl Rule {
    fn set_pattern(&mut self, pat: &str) {
        let mut pat = pat;
        if pat.len() > 1 && pat.ends_with('/') {
            pat = &pat[..pat.len() - 1];
            self.dir_only = true;
        }
        self.slash_cnt = pat.bytes().filter(|b| *b == b'/').count();
        self.wild = pat.contains(['*', '[', '?']);
        self.wild2 = self.wild && pat.contains("**");
        self.wild2_prefix = self.wild2 && pat.starts_with("**");
        self.wild3_suffix = self.wild2 && pat.ends_with("***");
        self.pattern = pat.to_string();
    }

    fn parse(text: &str) -> Result<Rule, SyncError> {
        let bad = |reason: &str| SyncError::BadFilter {
            rule: text.to_string(),
            reason: reason.to_string(),
        };
        let b = text.as_bytes();
        let (kind, last) = parse_rule_prefix(b).ok_or_else(|| bad("unknown filter rule"))?;
        let mut rule = Rule::default();
        let side_fixed = match kind {
            b'-' => false,
            b'+' => {
                rule.include = true;
                false
            }
            b'H' | b'S' => {
                (rule.include, rule.sender) = (kind == b'S', true);
                true
            }
            b'P' | b'R' => {
                (rule.include, rule.receiver) = (kind == b'R', true);
                true
            }
            b'.' | b':' => return Err(bad("merge and dir-merge rules are not supported")),
            b'!' => return Err(bad("the clear rule ('!') is not supported")),
            _ => return Err(bad("unknown filter rule")),
        };
        let mut i = last + 1;
        while i < b.len() && b[i] != b' ' && b[i] != b'_' {
            apply_modifier(&mut rule, b[i], side_fixed).map_err(|r| bad(&r))?;
            i += 1;
        }
        let pattern = text.get((i + 1).min(b.len())..).unwrap_or("");
        if pattern.is_empty() {
            return Err(bad("unexpected end of filter rule (no pattern)"));
        }
        if !rule.sender && !rule.receiver {
            (rule.sender, rule.receiver) = (true, true);
        }
        rule.set_pattern(pattern);
        Ok(rule)
    }

    /// rsync `rule_matches` for a path relative to the transfer root.
    fn matches(&self, name: &str, is_dir: bool) -> bool {
        if name.is_empty() || self.xattr {
            return false;
        }
        let mut text = String::new();
        if self.slash_cnt == 0 && !self.wild2 {
            text.push_str(name.rsplit('/').next().unwrap_or(name));
        } else {
            if self.wild2_prefix {
                text.push('/');
            }
            text.push_str(name);
        }
        if is_dir {
            if self.wild3_suffix {
                text.push('/');
            }
        } else if self.dir_only {
            return self.negate;
        }
        let (anchored, pat) = match self.pattern.strip_prefix('/') {
            Some(rest) => (true, rest),
            None => (false, self.pattern.as_str()),
        };
        let hit = if self.wild {
            let place = if !anchored && self.slash_cnt > 0 && !self.wild2 {
                Place::TrailingElements(self.slash_cnt + 1)
            } else if !anchored && !self.wild2_prefix && self.wild2 {
                Place::AfterAnySlash
            } else {
                Place::Start
            };
            wildmatch_at(pat.as_bytes(), text.as_bytes(), place)
        } else if anchored {
            text == pat
        } else {
            text == pat || text.ends_with(&format!("/{pat}"))
        };
        hit != self.negate
    }
}

impl FilterRules {
    /// Parses rules as given to rsync's `--filter`, one rule per string.
    pub fn parse(rules: &[String]) -> Result<Self, SyncError> {
        let rules = rules
            .iter()
            .map(|r| Rule::parse(r))
            .collect::<Result<_, _>>()?;
        Ok(FilterRules { rules })
    }

    /// Whether `path` (relative to the transfer root) is excluded on `side`: the first
    /// matching rule of that side decides; no match means included (sender) or at risk
    /// (receiver).
    pub fn is_excluded(&self, side: Side, path: &str, is_dir: bool) -> bool {
        self.is_excluded_ext(side, path, is_dir, false)
    }

    /// Like [`FilterRules::is_excluded`]; `ignore_perishable` skips `p` rules, as rsync does
    /// inside a directory that is being deleted.
    fn is_excluded_ext(
        &self,
        side: Side,
        path: &str,
        is_dir: bool,
        ignore_perishable: bool,
    ) -> bool {
        self.rules
            .iter()
            .filter(|r| match side {
                Side::Sender => r.sender,
                Side::Receiver => r.receiver,
            })
            .filter(|r| !(ignore_perishable && r.perishable))
            .find(|r| r.matches(path, is_dir))
            .is_some_and(|r| !r.include)
    }
}

// ---------------------------------------------------------------------------------------
// rsync wildmatch (lib/wildmatch.c), on one joined text
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wm {
    NoMatch,
    Match,
    AbortAll,
    AbortToStarStar,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Start,
    TrailingElements(usize),
    AfterAnySlash,
}

fn byte_at(p: &[u8], i: usize) -> u8 {
    p.get(i).copied().unwrap_or(0)
}

fn dowild(p: &[u8], t: &[u8]) -> Wm {
    let (mut pi, mut ti) = (0, 0);
    while pi < p.len() {
        let p_ch = p[pi];
        let t_ch = byte_at(t, ti);
        if ti >= t.len() && p_ch != b'*' {
            return Wm::AbortAll;
        }
        match p_ch {
            b'\\' => {
                pi += 1;
                if t_ch != byte_at(p, pi) {
                    return Wm::NoMatch;
                }
            }
            b'?' if t_ch == b'/' => return Wm::NoMatch,
            b'?' => {}
            b'*' => return dowild_star(p, pi, t, ti),
            b'[' => match match_class(p, &mut pi, t_ch) {
                Some(true) => {}
                Some(false) => return Wm::NoMatch,
                None => return Wm::AbortAll,
            },
            _ if t_ch != p_ch => return Wm::NoMatch,
            _ => {}
        }
        pi += 1;
        ti += 1;
    }
    if ti < t.len() { Wm::NoMatch } else { Wm::Match }
}

fn dowild_star(p: &[u8], star: usize, t: &[u8], mut ti: usize) -> Wm {
    let mut pi = star + 1;
    let special = byte_at(p, pi) == b'*';
    while byte_at(p, pi) == b'*' {
        pi += 1;
    }
    if pi >= p.len() {
        return if !special && t[ti.min(t.len())..].contains(&b'/') {
            Wm::NoMatch
        } else {
            Wm::Match
        };
    }
    while ti < t.len() {
        let matched = dowild(&p[pi..], &t[ti..]);
        if matched != Wm::NoMatch {
            if !special || matched != Wm::AbortToStarStar {
                return matched;
            }
        } else if !special && t[ti] == b'/' {
            return Wm::AbortToStarStar;
        }
        ti += 1;
    }
    Wm::AbortAll
}

fn class_matches(name: &[u8], c: u8) -> Option<bool> {
    Some(match name {
        b"alnum" => c.is_ascii_alphanumeric(),
        b"alpha" => c.is_ascii_alphabetic(),
        b"blank" => c == b' ' || c == b'\t',
        b"cntrl" => c.is_ascii_control(),
        b"digit" => c.is_ascii_digit(),
        b"graph" => c.is_ascii_graphic(),
        b"lower" => c.is_ascii_lowercase(),
        b"print" => c.is_ascii_graphic() || c == b' ',
        b"punct" => c.is_ascii_punctuation(),
        b"space" => is_c_space(c),
        b"upper" => c.is_ascii_uppercase(),
        b"xdigit" => c.is_ascii_hexdigit(),
        _ => return None,
    })
}

/// `[...]` at `p[*pi]`; leaves `*pi` on the closing `]`. `None` = abort the whole match.
fn match_class(p: &[u8], pi: &mut usize, t_ch: u8) -> Option<bool> {
    *pi += 1;
    let mut p_ch = byte_at(p, *pi);
    let negated = p_ch == b'!' || p_ch == b'^';
    if negated {
        *pi += 1;
        p_ch = byte_at(p, *pi);
    }
    let (mut prev, mut matched) = (0u8, false);
    loop {
        if p_ch == 0 {
            return None;
        }
        if p_ch == b'\\' {
            *pi += 1;
            p_ch = byte_at(p, *pi);
            if p_ch == 0 {
                return None;
            }
            matched |= t_ch == p_ch;
        } else if p_ch == b'-'
            && prev != 0
            && byte_at(p, *pi + 1) != 0
            && byte_at(p, *pi + 1) != b']'
        {
            *pi += 1;
            p_ch = byte_at(p, *pi);
            if p_ch == b'\\' {
                *pi += 1;
                p_ch = byte_at(p, *pi);
                if p_ch == 0 {
                    return None;
                }
            }
            matched |= prev <= t_ch && t_ch <= p_ch;
            p_ch = 0;
        } else if p_ch == b'[' && byte_at(p, *pi + 1) == b':' {
            p_ch = match_named_class(p, pi, t_ch, &mut matched)?;
        } else {
            matched |= t_ch == p_ch;
        }
        prev = p_ch;
        *pi += 1;
        p_ch = byte_at(p, *pi);
        if p_ch == b']' {
            break;
        }
    }
    Some(matched != negated && t_ch != b'/')
}

/// `[:name:]` inside a class, `p[*pi]` being its `[`. Returns the new "previous char".
fn match_named_class(p: &[u8], pi: &mut usize, t_ch: u8, matched: &mut bool) -> Option<u8> {
    let start = *pi + 2;
    let mut end = start;
    while byte_at(p, end) != 0 && byte_at(p, end) != b']' {
        end += 1;
    }
    if byte_at(p, end) == 0 {
        return None;
    }
    if end == start || p[end - 1] != b':' {
        // No ":]": the '[' is an ordinary member.
        *matched |= t_ch == b'[';
        return Some(b'[');
    }
    *matched |= class_matches(&p[start..end - 1], t_ch)?;
    *pi = end;
    Some(0)
}

/// Last `count` `/`-separated elements of `t` (rsync `trailing_N_elements`).
fn trailing_elements(t: &[u8], mut count: usize) -> Option<&[u8]> {
    for i in (0..t.len()).rev() {
        if t[i] == b'/' {
            count -= 1;
            if count == 0 {
                return Some(&t[i + 1..]);
            }
        }
    }
    (count == 1).then_some(t)
}

/// rsync `wildmatch_array` with a single joined text.
fn wildmatch_at(p: &[u8], t: &[u8], place: Place) -> bool {
    let t = match place {
        Place::TrailingElements(n) => match trailing_elements(t, n) {
            Some(t) => t,
            None => return false,
        },
        _ => t,
    };
    let mut matched = dowild(p, t);
    if matched != Wm::Match && place == Place::AfterAnySlash && matched != Wm::AbortAll {
        let mut i = 0;
        loop {
            if i >= t.len() {
                return false;
            }
            i += 1;
            if t[i - 1] == b'/' {
                matched = dowild(p, &t[i..]);
                if matched != Wm::NoMatch && matched != Wm::AbortToStarStar {
                    break;
                }
            }
        }
    }
    matched == Wm::Match
}

// ---------------------------------------------------------------------------------------
// Python glob.glob / fnmatch (non-recursive, hidden names need a leading '.')
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum FnTok {
    Star,
    Any,
    Never,
    Lit(char),
    Set {
        negated: bool,
        items: Vec<(char, char)>,
    },
}

fn has_magic(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Python `fnmatch.translate`'s splitting of a bracket body into range chunks.
fn fn_set_chunks(stuff: &[char]) -> Vec<Vec<char>> {
    let mut chunks: Vec<Vec<char>> = Vec::new();
    let mut i = 0;
    let mut k = if stuff.first() == Some(&'!') { 2 } else { 1 };
    while let Some(off) = stuff
        .get(k..)
        .and_then(|s| s.iter().position(|c| *c == '-'))
    {
        let at = k + off;
        chunks.push(stuff[i..at].to_vec());
        i = at + 1;
        k = at + 3;
    }
    let tail = stuff.get(i..).unwrap_or_default().to_vec();
    match chunks.last_mut() {
        Some(last) if tail.is_empty() => last.push('-'),
        _ => chunks.push(tail),
    }
    for k in (1..chunks.len()).rev() {
        if let (Some(&a), Some(&b)) = (chunks[k - 1].last(), chunks[k].first())
            && a > b
        {
            let next: Vec<char> = chunks[k][1..].to_vec();
            chunks[k - 1].pop();
            chunks[k - 1].extend(next);
            chunks.remove(k);
        }
    }
    chunks
}

fn fn_set(stuff: &[char]) -> FnTok {
    let has_dash = stuff.contains(&'-');
    let mut chunks = if has_dash {
        fn_set_chunks(stuff)
    } else {
        vec![stuff.to_vec()]
    };
    let negated = chunks.first().and_then(|c| c.first()) == Some(&'!');
    if negated {
        chunks[0].remove(0);
    }
    let mut items = Vec::new();
    let n = chunks.len();
    for (idx, chunk) in chunks.iter().enumerate() {
        let start = usize::from(idx > 0);
        let end = if idx + 1 < n {
            chunk.len().saturating_sub(1)
        } else {
            chunk.len()
        };
        items.extend(
            chunk
                .get(start..end)
                .unwrap_or_default()
                .iter()
                .map(|c| (*c, *c)),
        );
        if idx + 1 < n
            && let (Some(&lo), Some(&hi)) = (chunk.last(), chunks[idx + 1].first())
        {
            items.push((lo, hi));
        }
    }
    match (negated, items.is_empty()) {
        (false, true) => FnTok::Never,
        (true, true) => FnTok::Any,
        _ => FnTok::Set { negated, items },
    }
}

fn fn_compile(pat: &str) -> Vec<FnTok> {
    let p: Vec<char> = pat.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < p.len() {
        let c = p[i];
        i += 1;
        match c {
            '*' if toks.last() == Some(&FnTok::Star) => {}
            '*' => toks.push(FnTok::Star),
            '?' => toks.push(FnTok::Any),
            '[' => {
                let mut j = i;
                if p.get(j) == Some(&'!') {
                    j += 1;
                }
                if p.get(j) == Some(&']') {
                    j += 1;
                }
                while j < p.len() && p[j] != ']' {
                    j += 1;
                }
                if j >= p.len() {
                    toks.push(FnTok::Lit('['));
                } else {
                    toks.push(fn_set(&p[i..j]));
                    i = j + 1;
                }
            }
            _ => toks.push(FnTok::Lit(c)),
        }
    }
    toks
}

fn fn_tok_matches(tok: &FnTok, c: char) -> bool {
    match tok {
        FnTok::Any => true,
        FnTok::Never | FnTok::Star => false,
        FnTok::Lit(l) => *l == c,
        FnTok::Set { negated, items } => {
            items.iter().any(|(lo, hi)| *lo <= c && c <= *hi) != *negated
        }
    }
}

/// Python `fnmatch.fnmatchcase` (POSIX: case-sensitive).
fn fnmatch(pat: &str, name: &str) -> bool {
    let toks = fn_compile(pat);
    let s: Vec<char> = name.chars().collect();
    let (mut pi, mut si) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < toks.len() && toks[pi] == FnTok::Star {
            backtrack = Some((pi, si));
            pi += 1;
        } else if pi < toks.len() && fn_tok_matches(&toks[pi], s[si]) {
            pi += 1;
            si += 1;
        } else if let Some((star, from)) = backtrack {
            pi = star + 1;
            si = from + 1;
            backtrack = Some((star, from + 1));
        } else {
            return false;
        }
    }
    toks[pi..].iter().all(|t| *t == FnTok::Star)
}

/// Physical path of `comps` for glob's internal checks: `None` on a symlink loop (Python's
/// `is_dir()`/`lexists()`/`scandir()` just say "no"), an error if it leaves the repository.
fn glob_walk(
    tree: &Tree,
    comps: &[String],
    follow_last: bool,
    src: &str,
) -> Result<Option<String>, SyncError> {
    match walk(tree, &[], comps.to_vec(), follow_last) {
        Ok(real) => Ok(Some(real.join("/"))),
        Err(WalkError::Loop) => Ok(None),
        Err(e) => Err(walk_error(e, Repo::SourceGit, src)),
    }
}

/// Whether `comps` is a directory, following symlinks (`os.path.isdir`).
fn glob_is_dir(tree: &Tree, comps: &[String], src: &str) -> Result<bool, SyncError> {
    let real = glob_walk(tree, comps, true, src)?;
    Ok(matches!(
        real.and_then(|r| tree.kind(&r)),
        Some(EntryKind::Dir { .. })
    ))
}

/// Whether `comps` exists, not following the last component (`os.path.lexists`).
fn glob_lexists(tree: &Tree, comps: &[String], src: &str) -> Result<bool, SyncError> {
    let real = glob_walk(tree, comps, false, src)?;
    Ok(real.and_then(|r| tree.kind(&r)).is_some())
}

/// The children of `dir`, refusing an opaque directory (see [`Tree`]).
fn full_children(
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

/// Entries of the directory at `dir` (following symlinks), or nothing.
fn list_dir(tree: &Tree, dir: &[String], src: &str) -> Result<Vec<(String, EntryKind)>, SyncError> {
    Ok(match glob_walk(tree, dir, true, src)? {
        Some(real) if matches!(tree.kind(&real), Some(EntryKind::Dir { .. })) => {
            full_children(tree, Repo::SourceGit, &real)?
        }
        _ => Vec::new(),
    })
}

/// Python `glob.glob` of a pattern with magic, as component lists (sorted).
fn py_glob(
    tree: &Tree,
    comps: &[String],
    trailing: bool,
    src: &str,
) -> Result<Vec<Vec<String>>, SyncError> {
    let mut cands: Vec<Vec<String>> = vec![Vec::new()];
    for (idx, comp) in comps.iter().enumerate() {
        let dir_only = idx + 1 < comps.len() || trailing;
        let mut next = Vec::new();
        for dir in &cands {
            let extend = |name: &str| {
                let mut c = dir.clone();
                c.push(name.to_string());
                c
            };
            if !has_magic(comp) {
                next.push(extend(comp));
                continue;
            }
            for (name, _) in list_dir(tree, dir, src)? {
                let hidden_ok = !name.starts_with('.') || comp.starts_with('.');
                if !hidden_ok || !fnmatch(comp, &name) {
                    continue;
                }
                let cand = extend(&name);
                if !dir_only || glob_is_dir(tree, &cand, src)? {
                    next.push(cand);
                }
            }
        }
        cands = next;
    }
    let mut out = Vec::new();
    for cand in cands {
        let keep = if trailing {
            glob_is_dir(tree, &cand, src)?
        } else {
            glob_lexists(tree, &cand, src)?
        };
        if keep {
            out.push(cand);
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Sender side: resolved sources and the transfer list
// ---------------------------------------------------------------------------------------

/// One rsync source argument after packit's resolve + glob.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SrcArg {
    /// `dir/`: the content of `dir` (the transfer list's `.` entry).
    Contents(String),
    /// A path without trailing `/`: transferred under its last component.
    Named { path: String, name: String },
}

/// The rsync argument for the physical path `comps` (its parents free of symlinks; the
/// last component too if `trailing`). rsync enters the argument's directory (its parent,
/// or itself with a trailing `/`); `--ignore-missing-args` only forgives a missing last
/// component, so a missing directory is an error.
fn src_arg(
    tree: &Tree,
    comps: Vec<String>,
    trailing: bool,
    src: &str,
) -> Result<Option<SrcArg>, SyncError> {
    let path = comps.join("/");
    let dir_missing = |dir: &str| SyncError::SrcDirMissing {
        src: src.to_string(),
        dir: dir.to_string(),
    };
    if trailing {
        return match tree.kind(&path) {
            Some(EntryKind::Dir { .. }) => Ok(Some(SrcArg::Contents(path))),
            Some(_) => Err(SyncError::SrcNotADirectory {
                src: src.to_string(),
            }),
            None => Err(dir_missing(&path)),
        };
    }
    let Some((name, parents)) = comps.split_last() else {
        return Err(SyncError::UnsupportedSrc {
            src: src.to_string(),
            reason: "the source-git root without a trailing '/' would copy the checkout \
                     directory itself; use './' to copy its content"
                .to_string(),
        });
    };
    let parent = parents.join("/");
    if !matches!(tree.kind(&parent), Some(EntryKind::Dir { .. })) {
        return Err(dir_missing(&parent));
    }
    Ok(tree.get(&path).map(|_| SrcArg::Named {
        name: name.clone(),
        path: path.clone(),
    }))
}

/// Resolves one `src` string to rsync arguments: `Path.resolve()`, then `glob.glob`, then
/// the literal path if nothing matched (ignored when missing, `--ignore-missing-args`).
fn resolve_src(tree: &Tree, src: &str) -> Result<Vec<SrcArg>, SyncError> {
    let (comps, trailing) = resolve_config_path(tree, Repo::SourceGit, src)?;
    let matches = if comps.iter().any(|c| has_magic(c)) {
        py_glob(tree, &comps, trailing, src)?
    } else {
        Vec::new()
    };
    if matches.is_empty() {
        return Ok(src_arg(tree, comps, trailing, src)?.into_iter().collect());
    }
    let mut args = Vec::new();
    for m in matches {
        // The OS follows symlinks in the parents of an rsync argument, and in the argument
        // itself when it ends with '/'.
        let (last, parents) = m
            .split_last()
            .map(|(l, p)| (l.clone(), p.to_vec()))
            .unwrap_or_default();
        let mut real =
            walk(tree, &[], parents, true).map_err(|e| walk_error(e, Repo::SourceGit, src))?;
        real.push(last);
        if trailing {
            real = walk(tree, &[], real, true).map_err(|e| walk_error(e, Repo::SourceGit, src))?;
        }
        args.extend(src_arg(tree, real, trailing, src)?);
    }
    Ok(args)
}

/// One entry of rsync's file list: its kind and its path in source-git.
#[derive(Debug, Clone, PartialEq, Eq)]
struct XferEntry {
    kind: EntryKind,
    from: String,
}

/// rsync's file list, keyed by the name relative to the transfer root (`""` = `.`).
type Xfer = BTreeMap<String, XferEntry>;

/// Adds an entry, resolving duplicate names like rsync's `clean_flist` (a directory wins
/// over a non-directory, otherwise the first one wins; directories merge). Returns whether
/// the entry's children must be added.
fn xfer_add(xfer: &mut Xfer, name: &str, kind: &EntryKind, from: &str) -> bool {
    if let Some(existing) = xfer.get(name)
        && (existing.kind.is_dir() || !kind.is_dir())
    {
        return existing.kind.is_dir() && kind.is_dir();
    }
    let entry = XferEntry {
        kind: kind.clone(),
        from: from.to_string(),
    };
    xfer.insert(name.to_string(), entry);
    kind.is_dir()
}

fn check_source_entry(tree: &Tree, from: &str, kind: &EntryKind) -> Result<(), SyncError> {
    match kind {
        EntryKind::Symlink { target } => check_symlink(tree, Repo::SourceGit, from, target),
        _ => Ok(()),
    }
}

fn xfer_add_children(
    tree: &Tree,
    rules: &FilterRules,
    xfer: &mut Xfer,
    dir: &str,
    prefix: &str,
) -> Result<(), SyncError> {
    for (name, kind) in full_children(tree, Repo::SourceGit, dir)? {
        let rel = join(prefix, &name);
        if rules.is_excluded(Side::Sender, &rel, kind.is_dir()) {
            continue;
        }
        let from = join(dir, &name);
        check_source_entry(tree, &from, &kind)?;
        if xfer_add(xfer, &rel, &kind, &from) {
            xfer_add_children(tree, rules, xfer, &from, &rel)?;
        }
    }
    Ok(())
}

/// The sender's file list for all arguments of one item (sender-side filters applied).
fn build_xfer(tree: &Tree, args: &[SrcArg], rules: &FilterRules) -> Result<Xfer, SyncError> {
    let mut xfer = Xfer::new();
    for arg in args {
        match arg {
            SrcArg::Contents(dir) => {
                let Some(kind) = tree.kind(dir) else { continue };
                if xfer_add(&mut xfer, "", &kind, dir) {
                    xfer_add_children(tree, rules, &mut xfer, dir, "")?;
                }
            }
            SrcArg::Named { path, name } => {
                let Some(kind) = tree.kind(path) else {
                    continue;
                };
                if rules.is_excluded(Side::Sender, name, kind.is_dir()) {
                    continue;
                }
                check_source_entry(tree, path, &kind)?;
                if xfer_add(&mut xfer, name, &kind, path) {
                    xfer_add_children(tree, rules, &mut xfer, path, name)?;
                }
            }
        }
    }
    Ok(xfer)
}

// ---------------------------------------------------------------------------------------
// Receiver side: destination rules, transfer, deletion
// ---------------------------------------------------------------------------------------

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
fn plan_one(
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
fn check_created_symlinks(ops: &[SyncOp], result: &Tree) -> Result<(), SyncError> {
    for op in ops {
        if let SyncOp::CopySymlink { to, target } = op
            && matches!(result.get(to), Some(EntryKind::Symlink { target: t }) if t == target)
        {
            check_symlink(result, Repo::DistGit, to, target)?;
        }
    }
    Ok(())
}

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

// ---------------------------------------------------------------------------------------
// I/O edge
// ---------------------------------------------------------------------------------------

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

/// `root/rel` after checking that `rel` is a plain relative path (not into a top-level
/// `.git` unless `allow_git`) and that every parent is a real directory, so the final
/// path cannot lead outside `root` through a symlink.
fn confined(root: &Path, rel: &str, allow_root: bool) -> io::Result<PathBuf> {
    if rel.is_empty() {
        return if allow_root {
            Ok(root.to_path_buf())
        } else {
            Err(invalid("empty path in sync op".to_string()))
        };
    }
    let comps: Vec<&str> = rel.split('/').collect();
    if comps
        .iter()
        .any(|c| c.is_empty() || *c == "." || *c == ".." || c.contains('\0'))
        || comps[0] == ".git"
    {
        return Err(invalid(format!("refusing unsafe path {rel:?} in sync op")));
    }
    let mut cur = root.to_path_buf();
    for comp in &comps[..comps.len() - 1] {
        cur.push(comp);
        if !fs::symlink_metadata(&cur)?.is_dir() {
            return Err(invalid(format!(
                "{} is not a real directory",
                cur.display()
            )));
        }
    }
    Ok(root.join(rel))
}

fn same_content(a: &Path, b: &Path) -> io::Result<bool> {
    let (mut fa, mut fb) = (fs::File::open(a)?, fs::File::open(b)?);
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

fn temp_sibling(path: &Path, attempt: u32) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(
        ".{name}.srcgit-sync.{}.{attempt}",
        std::process::id()
    ))
}

/// Writes a new sibling with `write` (which must fail with `AlreadyExists` rather than
/// overwrite) and renames it over `dst`; a link at `dst` is replaced, never followed.
fn replace_with<F: FnMut(&Path) -> io::Result<()>>(dst: &Path, mut write: F) -> io::Result<()> {
    for attempt in 0..100 {
        let tmp = temp_sibling(dst, attempt);
        match write(&tmp).and_then(|()| fs::rename(&tmp, dst)) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
            Ok(()) => return Ok(()),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("no free temporary name next to {}", dst.display()),
    ))
}

fn copy_file(
    source_root: &Path,
    dest_root: &Path,
    from: &str,
    to: &str,
    mode: u32,
) -> io::Result<()> {
    let src = confined(source_root, from, false)?;
    let meta = fs::symlink_metadata(&src)?;
    if !meta.is_file() {
        return Err(invalid(format!("{} is not a regular file", src.display())));
    }
    let dst = confined(dest_root, to, false)?;
    let mode = mode & MODE_MASK;
    if let Ok(old) = fs::symlink_metadata(&dst)
        && old.is_file()
        && old.len() == meta.len()
        && same_content(&src, &dst)?
    {
        if old.mode() & MODE_MASK != mode {
            fs::set_permissions(&dst, fs::Permissions::from_mode(mode))?;
        }
        return Ok(());
    }
    replace_with(&dst, |tmp| {
        let mut input = fs::File::open(&src)?;
        let opened = input.metadata()?;
        if (opened.dev(), opened.ino()) != (meta.dev(), meta.ino()) {
            return Err(invalid(format!("{} changed while copying", src.display())));
        }
        let mut out = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(tmp)?;
        io::copy(&mut input, &mut out)?;
        out.set_permissions(fs::Permissions::from_mode(mode))?;
        out.set_modified(meta.modified()?)?;
        Ok(())
    })
}

fn copy_symlink(dest_root: &Path, to: &str, target: &Path) -> io::Result<()> {
    let dst = confined(dest_root, to, false)?;
    if let Ok(old) = fs::symlink_metadata(&dst)
        && old.file_type().is_symlink()
        && fs::read_link(&dst)? == target
    {
        return Ok(());
    }
    replace_with(&dst, |tmp| std::os::unix::fs::symlink(target, tmp))
}

fn apply_one(
    op: &SyncOp,
    source_root: &Path,
    dest_root: &Path,
    dir_modes: &mut Vec<(PathBuf, u32)>,
) -> io::Result<()> {
    match op {
        SyncOp::CreateDir { path, mode } => {
            let dst = confined(dest_root, path, false)?;
            fs::DirBuilder::new().mode(0o700).create(&dst)?;
            dir_modes.push((dst, *mode));
        }
        SyncOp::SetMode { path, mode } => {
            let dst = confined(dest_root, path, true)?;
            if !fs::symlink_metadata(&dst)?.is_dir() {
                return Err(invalid(format!("{} is not a directory", dst.display())));
            }
            dir_modes.push((dst, *mode));
        }
        SyncOp::CopyFile { from, to, mode } => copy_file(source_root, dest_root, from, to, *mode)?,
        SyncOp::CopySymlink { to, target } => copy_symlink(dest_root, to, target)?,
        SyncOp::Remove { path } => {
            let dst = confined(dest_root, path, false)?;
            if fs::symlink_metadata(&dst)?.is_dir() {
                return Err(invalid(format!("{} is a directory", dst.display())));
            }
            fs::remove_file(&dst)?;
        }
        SyncOp::RemoveDir { path } => {
            let dst = confined(dest_root, path, false)?;
            if !fs::symlink_metadata(&dst)?.is_dir() {
                return Err(invalid(format!("{} is not a directory", dst.display())));
            }
            fs::remove_dir(&dst)?;
        }
    }
    Ok(())
}

/// Performs the ops of a plan: `from` paths are read below `source_root`, everything else
/// is written below `dest_root`. Paths are re-checked: nothing is read or written through
/// a symlink, outside the roots, or in `dest_root/.git`. Directory modes are set last, so
/// read-only directories can still be filled.
pub fn apply(ops: &[SyncOp], source_root: &Path, dest_root: &Path) -> io::Result<()> {
    let mut dir_modes = Vec::new();
    for op in ops {
        apply_one(op, source_root, dest_root, &mut dir_modes)?;
    }
    // Deepest first; the last mode recorded for a directory wins.
    let mut seen = std::collections::HashSet::new();
    for (dir, mode) in dir_modes.iter().rev() {
        if !seen.insert(dir.clone()) {
            continue;
        }
        match fs::symlink_metadata(dir) {
            Ok(meta) if meta.is_dir() => {
                fs::set_permissions(dir, fs::Permissions::from_mode(*mode & MODE_MASK))?
            }
            _ => {}
        }
    }
    Ok(())
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

    // ----- helpers ------------------------------------------------------------------

    /// Compact tree spec: `p` file 0o644, `p*` file 0o755, `p/` directory 0o755,
    /// `p -> t` symlink.
    fn t(spec: &[&str]) -> Tree {
        let mut tree = Tree::new();
        for s in spec {
            if let Some((p, target)) = s.split_once(" -> ") {
                let target = PathBuf::from(target);
                tree.insert(p, EntryKind::Symlink { target });
            } else if let Some(p) = s.strip_suffix('/') {
                tree.insert(p, EntryKind::Dir { mode: 0o755 });
            } else if let Some(p) = s.strip_suffix('*') {
                tree.insert(p, EntryKind::File { mode: 0o755 });
            } else {
                tree.insert(s, EntryKind::File { mode: 0o644 });
            }
        }
        tree
    }

    fn render(tree: &Tree) -> Vec<String> {
        tree.iter()
            .map(|(p, k)| match k {
                EntryKind::File { mode: 0o644 } => p.to_string(),
                EntryKind::File { mode: 0o755 } => format!("{p}*"),
                EntryKind::File { mode } => format!("{p} ({mode:o})"),
                EntryKind::Dir { mode: 0o755 } => format!("{p}/"),
                EntryKind::Dir { mode } => format!("{p}/ ({mode:o})"),
                EntryKind::Symlink { target } => format!("{p} -> {}", target.display()),
            })
            .collect()
    }

    fn item(src: &[&str], dest: &str) -> SyncItem {
        SyncItem {
            src: src.iter().map(|s| s.to_string()).collect(),
            dest: dest.to_string(),
            ..SyncItem::default()
        }
    }

    fn filtered(mut it: SyncItem, filters: &[&str]) -> SyncItem {
        it.filters = filters.iter().map(|s| s.to_string()).collect();
        it
    }

    fn deleting(mut it: SyncItem) -> SyncItem {
        it.delete = true;
        it
    }

    fn mkpath(mut it: SyncItem) -> SyncItem {
        it.mkpath = true;
        it
    }

    fn init_item() -> SyncItem {
        let it = item(&[".distro/"], ".");
        let rules = [
            "protect .git*",
            "protect sources",
            "exclude source-git.yaml",
            "exclude .gitignore",
        ];
        deleting(filtered(it, &rules))
    }

    /// The dist-git listing after planning `items`.
    fn result(items: &[SyncItem], source: &Tree, dest: &Tree) -> Vec<String> {
        match plan(items, source, dest) {
            Ok(p) => render(&p.result),
            Err(e) => panic!("planning failed: {e}"),
        }
    }

    fn plan_err(items: &[SyncItem], source: &Tree, dest: &Tree) -> SyncError {
        match plan(items, source, dest) {
            Ok(p) => panic!("planning succeeded: {:#?}", p.ops),
            Err(e) => e,
        }
    }

    /// `(from, to)` of the file copies of a plan.
    fn copies(items: &[SyncItem], source: &Tree, dest: &Tree) -> Vec<(String, String)> {
        let ops = plan_all(items, source, dest).unwrap_or_else(|e| panic!("{e}"));
        ops.into_iter()
            .filter_map(|op| match op {
                SyncOp::CopyFile { from, to, .. } => Some((from, to)),
                _ => None,
            })
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    fn excluded(rules: &[&str], side: Side, path: &str, is_dir: bool) -> bool {
        let rules: Vec<String> = rules.iter().map(|s| s.to_string()).collect();
        match FilterRules::parse(&rules) {
            Ok(r) => r.is_excluded(side, path, is_dir),
            Err(e) => panic!("{e}"),
        }
    }

    // ----- filter rules: parsing ----------------------------------------------------

    #[test]
    fn filter_parse_accepts_rsync_spellings() {
        let cases: [(&str, bool, bool, bool, &str); 18] = [
            // rule, include, sender, receiver, pattern
            ("exclude foo", false, true, true, "foo"),
            ("- foo", false, true, true, "foo"),
            ("-_foo", false, true, true, "foo"),
            ("include foo", true, true, true, "foo"),
            ("+ foo", true, true, true, "foo"),
            ("protect foo", false, false, true, "foo"),
            ("P foo", false, false, true, "foo"),
            ("protect_foo", false, false, true, "foo"),
            ("risk foo", true, false, true, "foo"),
            ("R foo", true, false, true, "foo"),
            ("hide foo", false, true, false, "foo"),
            ("H foo", false, true, false, "foo"),
            ("show foo", true, true, false, "foo"),
            ("S foo", true, true, false, "foo"),
            ("exclude,s foo", false, true, false, "foo"),
            ("-r foo", false, false, true, "foo"),
            ("-sr foo", false, true, true, "foo"),
            ("-  foo", false, true, true, " foo"),
        ];
        for (text, include, sender, receiver, pattern) in cases {
            let rule = Rule::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            let got = (
                rule.include,
                rule.sender,
                rule.receiver,
                rule.pattern.as_str(),
            );
            assert_eq!(got, (include, sender, receiver, pattern), "{text}");
        }
        let rule = Rule::parse("P,p foo/").unwrap_or_else(|e| panic!("{e}"));
        assert!(rule.perishable && rule.dir_only && rule.pattern == "foo");
        let rule = Rule::parse("Pp foo").unwrap_or_else(|e| panic!("{e}"));
        assert!(rule.perishable);
        let rule = Rule::parse("-! */").unwrap_or_else(|e| panic!("{e}"));
        assert!(rule.negate && rule.dir_only && rule.pattern == "*");
    }

    #[test]
    fn filter_parse_rejects_bad_and_unsupported_rules() {
        let cases = [
            ("exclude\tfoo", "invalid modifier"),
            ("-foo", "invalid modifier"),
            ("- ", "unexpected end"),
            ("-", "unexpected end"),
            ("exclude", "unexpected end"),
            ("Ps foo", "invalid modifier"),
            ("hide,r foo", "invalid modifier"),
            ("-e foo", "invalid modifier"),
            ("exclude,foo", "invalid modifier"),
            ("e foo", "unknown filter rule"),
            ("excludes foo", "unknown filter rule"),
            (" - foo", "unknown filter rule"),
            ("", "unknown filter rule"),
            ("merge rules.txt", "not supported"),
            (". rules.txt", "not supported"),
            ("dir-merge .rsync-filter", "not supported"),
            (": .rsync-filter", "not supported"),
            ("clear", "not supported"),
            ("!", "not supported"),
            ("-/ /etc/passwd", "not supported"),
            ("-C", "not supported"),
        ];
        for (text, reason) in cases {
            match FilterRules::parse(&[text.to_string()]) {
                Err(SyncError::BadFilter { rule, reason: why }) => {
                    assert_eq!(rule, text);
                    assert!(why.contains(reason), "{text:?}: {why}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    // ----- filter rules: matching ---------------------------------------------------

    /// `(pattern, path, is_dir, matches)`, each row checked with rsync 3.5.0 through
    /// `rsync -a --debug=FILTER1 --filter '- PATTERN'` on a tree holding just that path.
    const MATCH_TABLE: [(&str, &str, bool, bool); 101] = [
        ("foo", "foo", false, true),
        ("foo", "bar/foo", false, true),
        ("foo", "bar/foo", true, true),
        ("foo", "foo.c", false, false),
        ("foo", "xfoo", false, false),
        ("/foo", "foo", false, true),
        ("/foo", "bar/foo", false, false),
        ("/foo", "foo", true, true),
        ("foo/", "foo", false, false),
        ("foo/", "foo", true, true),
        ("foo/", "bar/foo", true, true),
        ("bar/foo", "bar/foo", false, true),
        ("bar/foo", "x/bar/foo", false, true),
        ("bar/foo", "foo", false, false),
        ("bar/foo", "xbar/foo", false, false),
        ("/bar/foo", "bar/foo", false, true),
        ("/bar/foo", "x/bar/foo", false, false),
        ("*.c", "foo.c", false, true),
        ("*.c", "bar/x.c", false, true),
        ("*.c", ".c", false, true),
        ("bar/*.c", "bar/x.c", false, true),
        ("bar/*.c", "q/bar/x.c", false, true),
        ("bar/*.c", "bar/baz/x.c", false, false),
        ("bar/*.c", "x.c", false, false),
        ("bar/**/x.c", "bar/baz/x.c", false, true),
        ("bar/**/x.c", "bar/x.c", false, false),
        ("bar/**/x.c", "q/bar/baz/x.c", false, true),
        ("bar/**/x.c", "bar/a/b/x.c", false, true),
        ("**/x.c", "x.c", false, true),
        ("**/x.c", "bar/x.c", false, true),
        ("**/x.c", "a/b/x.c", false, true),
        ("/bar/**", "bar/x.c", false, true),
        ("/bar/**", "bar", true, false),
        ("/bar/**", "q/bar/x", false, false),
        ("bar/***", "bar", true, true),
        ("bar/***", "bar", false, false),
        ("bar/***", "q/bar", true, true),
        ("b?r", "bar", false, true),
        ("b?r", "bxr", false, true),
        ("b?r", "b/r", false, false),
        ("b?r", "baar", false, false),
        ("[ab]x", "ax", false, true),
        ("[ab]x", "bx", false, true),
        ("[ab]x", "cx", false, false),
        ("[!ab]x", "cx", false, true),
        ("[!ab]x", "ax", false, false),
        ("[^ab]x", "cx", false, true),
        ("[^ab]x", "ax", false, false),
        ("[a-c]*", "b1", false, true),
        ("[a-c]*", "d1", false, false),
        ("[[:digit:]]*", "1a", false, true),
        ("[[:digit:]]*", "a1", false, false),
        ("[]]x", "]x", false, true),
        ("[]]x", "ax", false, false),
        ("\\*star", "*star", false, true),
        ("\\*star", "xstar", false, false),
        ("foo\\bar", "foo\\bar", false, true),
        ("foo\\bar", "foobar", false, false),
        ("foo*", "foo", false, true),
        ("foo*", "foobar", false, true),
        ("foo*", "bar/foo1", false, true),
        ("*", "foo", false, true),
        ("*", ".hidden", false, true),
        ("d1/*/f", "d1/d2/f", false, true),
        ("d1/*/f", "d1/f", false, false),
        ("d1/*/f", "x/d1/d2/f", false, true),
        ("d1/*/f", "d1/d2/d3/f", false, false),
        ("d1/**/f", "d1/d2/f", false, true),
        ("d1/**/f", "d1/d2/d3/f", false, true),
        ("d1/**/f", "d1/f", false, false),
        ("d1/**/f", "x/d1/d2/f", false, true),
        ("/d1/**/f", "d1/d2/f", false, true),
        ("/d1/**/f", "x/d1/d2/f", false, false),
        ("d1/**", "d1/f", false, true),
        ("d1/**", "x/d1/f", false, true),
        ("a/b/", "a/b", true, true),
        ("a/b/", "a/b", false, false),
        ("a/b/", "x/a/b", true, true),
        ("*/", "dir", true, true),
        ("*/", "file", false, false),
        (".git*", ".git", true, true),
        (".git*", ".gitignore", false, true),
        (".git*", ".github", true, true),
        (".git*", "sub/.gitattributes", false, true),
        (".git*", "x.git", false, false),
        ("sources", "sources", false, true),
        ("sources", "tests/sources", false, true),
        ("sources", "sources2", false, false),
        ("x*y", "xay", false, true),
        ("x*y", "x/y", false, false),
        ("x*y", "xa/y", false, false),
        ("*/y", "x/y", false, true),
        ("*/y", "a/b/y", false, true),
        ("*/y", "y", false, false),
        ("**y", "xy", false, true),
        ("**y", "a/xy", false, true),
        ("**y", "a/b/y", false, true),
        ("**y", "y", false, true),
        ("a/**y", "a/y", false, true),
        ("a/**y", "a/b/y", false, true),
        ("a/**y", "q/a/b/y", false, true),
    ];

    #[test]
    fn filter_matching_table_matches_rsync() {
        for (pattern, path, is_dir, want) in MATCH_TABLE {
            let rule = Rule::parse(&format!("- {pattern}")).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                rule.matches(path, is_dir),
                want,
                "{pattern:?} vs {path:?} (dir: {is_dir})"
            );
        }
    }

    #[test]
    fn filter_negation_and_xattr_rules() {
        // '-! */' excludes everything that is not a directory.
        assert!(excluded(&["-! */"], Side::Sender, "file", false));
        assert!(!excluded(&["-! */"], Side::Sender, "dir", true));
        // xattr rules never match file names.
        assert!(!excluded(&["-x foo"], Side::Sender, "foo", false));
        // Unclosed class and unknown [:class:] abort the match (no match).
        assert!(!excluded(&["- [ab"], Side::Sender, "a", false));
        assert!(!excluded(&["- [[:nope:]]"], Side::Sender, "a", false));
    }

    #[test]
    fn filter_first_match_wins_per_side() {
        let rules = ["+ keep.c", "- *.c"];
        assert!(!excluded(&rules, Side::Sender, "keep.c", false));
        assert!(excluded(&rules, Side::Sender, "other.c", false));
        // exclude = hide + protect; hide/show are sender-only; protect/risk receiver-only.
        assert!(excluded(&["- x"], Side::Sender, "x", false));
        assert!(excluded(&["- x"], Side::Receiver, "x", false));
        assert!(excluded(&["H x"], Side::Sender, "x", false));
        assert!(!excluded(&["H x"], Side::Receiver, "x", false));
        assert!(!excluded(&["P x"], Side::Sender, "x", false));
        assert!(excluded(&["P x"], Side::Receiver, "x", false));
        // show before exclude: sent, but still protected on the receiver.
        assert!(!excluded(&["S x", "- x"], Side::Sender, "x", false));
        assert!(excluded(&["S x", "- x"], Side::Receiver, "x", false));
        // risk before exclude: hidden, but at risk of deletion.
        assert!(excluded(&["R x", "- x"], Side::Sender, "x", false));
        assert!(!excluded(&["R x", "- x"], Side::Receiver, "x", false));
        // Perishable rules are skipped inside directories being deleted.
        let rules = FilterRules::parse(&["P,p x".to_string()]).unwrap_or_else(|e| panic!("{e}"));
        assert!(rules.is_excluded_ext(Side::Receiver, "d/x", false, false));
        assert!(!rules.is_excluded_ext(Side::Receiver, "d/x", false, true));
    }

    // ----- Python glob --------------------------------------------------------------

    /// `(pattern, matches)`: Python 3 `sorted(glob.glob(pattern))` on the tree of
    /// [`fnmatch_and_glob_match_python`].
    const GLOB_TABLE: [(&str, &[&str]); 29] = [
        ("a/*.conf", &["a/[x].conf", "a/x.conf"]),
        ("a/.*", &["a/.h", "a/.y.conf"]),
        (
            "a/*",
            &[
                "a/[x].conf",
                "a/d1",
                "a/dangling",
                "a/flink",
                "a/link",
                "a/x.conf",
            ],
        ),
        ("a/*/", &["a/d1/", "a/link/"]),
        (
            "a/**",
            &[
                "a/[x].conf",
                "a/d1",
                "a/dangling",
                "a/flink",
                "a/link",
                "a/x.conf",
            ],
        ),
        ("a/**/*.conf", &["a/d1/z.conf", "a/link/z.conf"]),
        ("a/[x].conf", &["a/x.conf"]),
        (
            "a/[!x]*",
            &["a/[x].conf", "a/d1", "a/dangling", "a/flink", "a/link"],
        ),
        ("a/*/z.conf", &["a/d1/z.conf", "a/link/z.conf"]),
        ("a/.h/*", &["a/.h/w.conf"]),
        ("nope*", &[]),
        ("a/*.conf/", &[]),
        ("a/[]x].conf", &["a/x.conf"]),
        ("*.conf", &["b.conf"]),
        (".*", &[".c.conf"]),
        ("a/l*/", &["a/link/"]),
        ("a/*/*.conf", &["a/d1/z.conf", "a/link/z.conf"]),
        ("a/?.conf", &["a/x.conf"]),
        (
            "a/[a-z]*",
            &["a/d1", "a/dangling", "a/flink", "a/link", "a/x.conf"],
        ),
        ("a/da*", &["a/dangling"]),
        ("a/[.]*", &[]),
        ("*/", &["a/"]),
        ("a/l*", &["a/link"]),
        ("a/[z-a]*", &[]),
        ("a/[!]*", &[]),
        ("a/*[", &[]),
        ("a/d[!0-9]*", &["a/dangling"]),
        ("a/x.con[!]", &[]),
        ("a/[x-]*", &["a/x.conf"]),
    ];

    #[test]
    fn fnmatch_and_glob_match_python() {
        let tree = t(&[
            "a/x.conf",
            "a/.y.conf",
            "a/d1/z.conf",
            "a/[x].conf",
            "a/.h/w.conf",
            "b.conf",
            ".c.conf",
            "a/link -> d1",
            "a/flink -> x.conf",
            "a/dangling -> nope",
        ]);
        for (pattern, want) in GLOB_TABLE {
            let trailing = pattern.ends_with('/');
            let comps = split_comps(pattern.trim_end_matches('/'));
            let got = py_glob(&tree, &comps, trailing, pattern).unwrap_or_else(|e| panic!("{e}"));
            let got: Vec<String> = got
                .iter()
                .map(|c| format!("{}{}", c.join("/"), if trailing { "/" } else { "" }))
                .collect();
            assert_eq!(got, want, "{pattern}");
        }
    }

    // ----- planning: the init item (case 51) ------------------------------------------

    #[test]
    fn init_item_reproduces_case_51() {
        let source = t(&[
            ".distro/.gitignore",
            ".distro/README.fedora -> plans/smoke.fmf",
            ".distro/gating.yaml",
            ".distro/plans/smoke.fmf",
            ".distro/quill.spec",
            ".distro/source-git.yaml",
            ".distro/tests/.gitignore",
            ".distro/tests/run-smoke.sh*",
            ".distro/tests/source-git.yaml",
            "src/main.c",
        ]);
        let dest = t(&[
            ".gitignore",
            ".gitlab-ci.yml",
            "README.packit",
            "gating.yaml",
            "plans/smoke.fmf",
            "quill.spec",
            "sources",
            "tests/.gitignore",
            "tests/old-smoke.sh",
        ]);
        let want = [
            ".gitignore",
            ".gitlab-ci.yml",
            "README.fedora -> plans/smoke.fmf",
            "gating.yaml",
            "plans/",
            "plans/smoke.fmf",
            "quill.spec",
            "sources",
            "tests/",
            "tests/.gitignore",
            "tests/run-smoke.sh*",
        ];
        assert_eq!(result(&[init_item()], &source, &dest), want);
    }

    #[test]
    fn exclude_also_protects_and_is_not_copied() {
        let source = t(&[
            "d/a",
            "d/source-git.yaml",
            "d/sub/source-git.yaml",
            "d/sub/b",
        ]);
        let dest = t(&["source-git.yaml", "sub/source-git.yaml", "sub/old", "old"]);
        let it = deleting(filtered(item(&["d/"], "."), &["exclude source-git.yaml"]));
        let want = [
            "a",
            "source-git.yaml",
            "sub/",
            "sub/b",
            "sub/source-git.yaml",
        ];
        assert_eq!(result(&[it], &source, &dest), want);
        let copied = copies(&[deleting(item(&["d/"], "."))], &source, &dest);
        assert!(copied.iter().any(|(f, _)| f == "d/sub/source-git.yaml"));
    }

    #[test]
    fn protect_risk_hide_show_order() {
        let source = t(&["d/a", "d/h"]);
        let dest = t(&["h", "k"]);
        let run = |rules: &[&str]| {
            result(
                &[deleting(filtered(item(&["d/"], "."), rules))],
                &source,
                &dest,
            )
        };
        // risk first: the receiver may delete h even though the sender hides it.
        assert_eq!(run(&["risk h", "exclude h"]), ["a"]);
        assert_eq!(run(&["exclude h", "risk h"]), ["a", "h"]);
        // hide: not sent, and deleted on the receiver; protect keeps it.
        assert_eq!(run(&["hide h"]), ["a"]);
        assert_eq!(run(&["hide h", "protect h"]), ["a", "h"]);
        let hidden = copies(
            &[filtered(item(&["d/"], "."), &["hide h", "protect h"])],
            &source,
            &dest,
        );
        assert_eq!(hidden, pairs(&[("d/a", "a")]));
        // show before exclude: sent (and it is in the file list, so not deleted).
        let shown = copies(
            &[filtered(item(&["d/"], "."), &["show h", "exclude h"])],
            &source,
            &dest,
        );
        assert_eq!(shown, pairs(&[("d/a", "a"), ("d/h", "h")]));
    }

    #[test]
    fn delete_removes_files_and_directories_but_keeps_protected() {
        let source = t(&["s/a"]);
        let dest = t(&[
            "x",
            "gone/y/z",
            "keep/sources",
            "keep/q",
            "keep/sub/r",
            "empty/",
        ]);
        let it = deleting(filtered(item(&["s/"], "."), &["protect sources"]));
        assert_eq!(
            result(&[it], &source, &dest),
            ["a", "keep/", "keep/sources"]
        );
        // Without delete nothing goes.
        let kept = result(&[item(&["s/"], ".")], &source, &dest);
        assert_eq!(kept.len(), dest.len() + 1);
    }

    #[test]
    fn perishable_protect_does_not_save_deleted_directories() {
        let source = t(&["s/a", "s/k/x"]);
        let dest = t(&["gone/p", "gone/q", "k/p", "k/q"]);
        let it = deleting(filtered(item(&["s/"], "."), &["P,p p"]));
        assert_eq!(result(&[it], &source, &dest), ["a", "k/", "k/p", "k/x"]);
        let it = deleting(filtered(item(&["s/"], "."), &["P p"]));
        assert_eq!(
            result(&[it], &source, &dest),
            ["a", "gone/", "gone/p", "k/", "k/p", "k/x"]
        );
    }

    #[test]
    fn delete_only_inside_transferred_directories() {
        let source = t(&["d/a", "f"]);
        let dest = t(&["extra", "d/old"]);
        // Named directory: only dest/d is swept.
        assert_eq!(
            result(&[deleting(item(&["d"], "."))], &source, &dest),
            ["d/", "d/a", "extra"]
        );
        // A file argument sweeps nothing.
        assert_eq!(
            result(&[deleting(item(&["f"], "."))], &source, &dest),
            ["d/", "d/old", "extra", "f"]
        );
        // Anchored receiver patterns are relative to the transfer root.
        let dest = t(&["d/sources", "d/x/sources", "sources"]);
        let it = deleting(filtered(item(&["d"], "."), &["protect /d/sources"]));
        assert_eq!(
            result(&[it], &source, &dest),
            ["d/", "d/a", "d/sources", "sources"]
        );
    }

    // ----- planning: sources and destinations -----------------------------------------

    #[test]
    fn trailing_slash_copies_content_not_directory() {
        let source = t(&["d/a", "d/e/"]);
        let dest = Tree::new();
        assert_eq!(result(&[item(&["d/"], ".")], &source, &dest), ["a", "e/"]);
        assert_eq!(
            result(&[item(&["d"], ".")], &source, &dest),
            ["d/", "d/a", "d/e/"]
        );
        // `d/.` is resolved like packit's Path.resolve(): the directory itself.
        assert_eq!(
            result(&[item(&["d/."], ".")], &source, &dest),
            ["d/", "d/a", "d/e/"]
        );
        assert_eq!(
            result(&[item(&["x/../d/"], "")], &source, &dest),
            ["a", "e/"]
        );
        // An empty directory is created, also as a renamed copy.
        assert_eq!(result(&[item(&["d/e"], "new")], &source, &dest), ["new/"]);
    }

    #[test]
    fn single_file_src_to_file_or_directory_dest() {
        let source = t(&["x.conf*"]);
        let run = |dest: &Tree, d: &str| result(&[item(&["x.conf"], d)], &source, dest);
        assert_eq!(run(&Tree::new(), "y.conf"), ["y.conf*"]);
        assert_eq!(run(&t(&["y.conf"]), "y.conf"), ["y.conf*"]);
        assert_eq!(run(&t(&["y/"]), "y"), ["y/", "y/x.conf*"]);
        assert_eq!(run(&Tree::new(), "new/"), ["new/", "new/x.conf*"]);
        let err = plan_err(&[item(&["x.conf"], "y/")], &source, &t(&["y"]));
        assert!(matches!(err, SyncError::DestNotADirectory { .. }), "{err}");
    }

    #[test]
    fn multiple_srcs_need_a_directory() {
        let source = t(&["a", "b", "d/c"]);
        let items = [item(&["a", "b"], "new")];
        assert_eq!(
            result(&items, &source, &Tree::new()),
            ["new/", "new/a", "new/b"]
        );
        let err = plan_err(&items, &source, &t(&["new"]));
        assert!(matches!(err, SyncError::DestNotADirectory { .. }), "{err}");
        let err = plan_err(&[item(&["a", "b"], "n1/n2")], &source, &Tree::new());
        assert!(matches!(err, SyncError::DestParentMissing { .. }), "{err}");
        // A non-empty directory counts as more than one file.
        let err = plan_err(&[item(&["d"], "x")], &source, &t(&["x"]));
        assert!(matches!(err, SyncError::DestNotADirectory { .. }), "{err}");
        // An empty one cannot overwrite a file either.
        let err = plan_err(&[item(&["e"], "x")], &t(&["e/"]), &t(&["x"]));
        assert!(matches!(err, SyncError::DestNotADirectory { .. }), "{err}");
    }

    #[test]
    fn mkpath_creates_missing_parents() {
        let source = t(&["a", "b"]);
        let empty = Tree::new();
        let run = |srcs: &[&str], d: &str| result(&[mkpath(item(srcs, d))], &source, &empty);
        assert_eq!(run(&["a"], "x/new"), ["x/", "x/new"]);
        assert_eq!(run(&["a"], "x/new/"), ["x/", "x/new/", "x/new/a"]);
        assert_eq!(
            run(&["a", "b"], "x/new"),
            ["x/", "x/new/", "x/new/a", "x/new/b"]
        );
        // Nothing to copy: only the parents (or the directory for a trailing '/').
        assert_eq!(run(&["nope"], "x/new"), ["x/"]);
        assert_eq!(run(&["nope"], "x/new/"), ["x/", "x/new/"]);
        let err = plan_err(&[item(&["a"], "x/new/")], &source, &empty);
        assert!(matches!(err, SyncError::DestParentMissing { .. }), "{err}");
        let err = plan_err(&[mkpath(item(&["a"], "f/new/"))], &source, &t(&["f"]));
        assert!(matches!(err, SyncError::DestParentMissing { .. }), "{err}");
    }

    #[test]
    fn glob_src_skips_hidden_names_and_ignores_no_match() {
        let source = t(&[
            "contrib/q.conf",
            "contrib/.h.conf",
            "contrib/r.txt",
            "d/a/x",
            "d/b/y",
            "[x]",
        ]);
        let dest = Tree::new();
        let it = mkpath(item(&["contrib/*.conf"], "conf/"));
        assert_eq!(result(&[it], &source, &dest), ["conf/", "conf/q.conf"]);
        assert_eq!(
            result(&[item(&["contrib/.*"], ".")], &source, &dest),
            [".h.conf"]
        );
        assert_eq!(result(&[item(&["d/*/"], ".")], &source, &dest), ["x", "y"]);
        assert_eq!(
            result(&[item(&["d/*"], ".")], &source, &dest),
            ["a/", "a/x", "b/", "b/y"]
        );
        assert!(plan_all(&[item(&["*.nomatch"], ".")], &source, &dest).is_ok_and(|o| o.is_empty()));
        // No match: the literal name is tried (a file really named "[x]").
        assert_eq!(result(&[item(&["[x]"], ".")], &source, &dest), ["[x]"]);
    }

    #[test]
    fn missing_src_ignored_unless_its_directory_is_missing() {
        let source = t(&["f", "d/"]);
        let dest = t(&["keep"]);
        assert!(
            plan_all(&[item(&["nope", "d/nope"], ".")], &source, &dest).is_ok_and(|o| o.is_empty())
        );
        for src in ["nope/", "nope/x", "d/nope/", "no*/"] {
            let err = plan_err(&[item(&[src], ".")], &source, &dest);
            assert!(
                matches!(err, SyncError::SrcDirMissing { .. }),
                "{src}: {err}"
            );
        }
        let err = plan_err(&[item(&["f/"], ".")], &source, &dest);
        assert!(matches!(err, SyncError::SrcNotADirectory { .. }), "{err}");
        let err = plan_err(&[item(&["f/x"], ".")], &source, &dest);
        assert!(matches!(err, SyncError::SrcDirMissing { .. }), "{err}");
    }

    #[test]
    fn exec_bit_symlinks_and_modes_are_kept() {
        let mut source = t(&["d/run.sh*", "d/link -> run.sh", "d/plain"]);
        source.insert("d/priv", EntryKind::Dir { mode: 0o700 });
        let dest = t(&["link -> run.sh"]);
        let plan = plan(&[item(&["d/"], ".")], &source, &dest).unwrap_or_else(|e| panic!("{e}"));
        let want = ["link -> run.sh", "plain", "priv/ (700)", "run.sh*"];
        assert_eq!(render(&plan.result), want);
        // The identical link is left alone.
        assert!(
            !plan
                .ops
                .iter()
                .any(|op| matches!(op, SyncOp::CopySymlink { .. }))
        );
        // The content source sets the mode of the destination directory.
        let mut source = t(&["d/a"]);
        source.insert("d", EntryKind::Dir { mode: 0o750 });
        let ops =
            plan_item(&item(&["d/"], "."), &source, &Tree::new()).unwrap_or_else(|e| panic!("{e}"));
        assert!(ops.contains(&SyncOp::SetMode {
            path: String::new(),
            mode: 0o750
        }));
    }

    #[test]
    fn src_symlink_is_resolved_like_packit() {
        // packit resolves src with Path.resolve(): the link's target is copied, under the
        // target's name, as a regular file.
        let source = t(&["d/f", "link -> d/f", "dlink -> d"]);
        assert_eq!(
            copies(&[item(&["link"], ".")], &source, &Tree::new()),
            pairs(&[("d/f", "f")])
        );
        assert_eq!(
            copies(&[item(&["dlink/"], ".")], &source, &Tree::new()),
            pairs(&[("d/f", "f")])
        );
        // A glob match keeps a symlink as a symlink.
        assert_eq!(
            result(&[item(&["l*"], ".")], &source, &Tree::new()),
            ["link -> d/f"]
        );
    }

    #[test]
    fn duplicate_names_first_wins_directory_beats_file() {
        let source = t(&["x/f", "y/f", "y/g/inner", "x/g", "p/m/a", "q/m/b", "q/m/a"]);
        let dest = Tree::new();
        assert_eq!(
            copies(&[item(&["x/f", "y/f"], ".")], &source, &dest),
            pairs(&[("x/f", "f")])
        );
        assert_eq!(
            copies(&[item(&["y/f", "x/f"], ".")], &source, &dest),
            pairs(&[("y/f", "f")])
        );
        assert_eq!(
            result(&[item(&["x/g", "y/g"], ".")], &source, &dest),
            ["g/", "g/inner"]
        );
        let merged = copies(&[item(&["p/m", "q/m"], ".")], &source, &dest);
        assert_eq!(merged, pairs(&[("p/m/a", "m/a"), ("q/m/b", "m/b")]));
    }

    #[test]
    fn entries_of_another_type_are_replaced() {
        let source = t(&["s/x", "s/y/z", "s/l -> x"]);
        let it = item(&["s/"], ".");
        // A file replaces an empty directory; a directory replaces a file or a symlink.
        let dest = t(&["x/", "y -> x", "l"]);
        assert_eq!(
            result(std::slice::from_ref(&it), &source, &dest),
            ["l -> x", "x", "y/", "y/z"]
        );
        // A non-empty directory only goes with --delete, and only if nothing is protected.
        let dest = t(&["x/a/b"]);
        let err = plan_err(std::slice::from_ref(&it), &source, &dest);
        assert!(matches!(err, SyncError::CannotReplaceDir { .. }), "{err}");
        assert_eq!(
            result(&[deleting(it.clone())], &source, &dest),
            ["l -> x", "x", "y/", "y/z"]
        );
        let err = plan_err(&[deleting(filtered(it, &["protect b"]))], &source, &dest);
        assert!(matches!(err, SyncError::CannotReplaceDir { .. }), "{err}");
    }

    #[test]
    fn dest_made_a_symlink_by_an_earlier_item_is_refused() {
        let source = t(&["s/conf -> d", "f"]);
        let items = [item(&["s/"], "."), item(&["f"], "conf/")];
        let err = plan_err(&items, &source, &t(&["d/"]));
        assert!(
            matches!(&err, SyncError::DestBecameSymlink { link, .. } if link == "conf"),
            "{err}"
        );
    }

    #[test]
    fn later_items_see_earlier_results() {
        let source = t(&["a", "b/c"]);
        let items = [item(&["a"], "x"), deleting(item(&["b/"], "."))];
        let ops = plan_all(&items, &source, &Tree::new()).unwrap_or_else(|e| panic!("{e}"));
        // The --delete sweep of a directory comes before its new content (rsync
        // --delete-during).
        let copy = |from: &str, to: &str| SyncOp::CopyFile {
            from: from.into(),
            to: to.into(),
            mode: 0o644,
        };
        let want = [
            copy("a", "x"),
            SyncOp::Remove { path: "x".into() },
            copy("b/c", "c"),
        ];
        assert_eq!(ops, want);
    }

    // ----- planning: security ---------------------------------------------------------

    #[test]
    fn paths_escaping_a_repository_are_refused() {
        let source = t(&["d/f", "up -> ..", "abs -> /etc", "deep/link -> ../../x"]);
        let dest = t(&["out -> ../elsewhere", "in/"]);
        for src in [
            "../x",
            "/etc/passwd",
            "d/../../x",
            "up/x",
            "abs/",
            "deep/link/",
        ] {
            let err = plan_err(&[item(&[src], ".")], &source, &dest);
            assert!(
                matches!(&err, SyncError::PathEscapes { repo: Repo::SourceGit, path } if path == src),
                "{src}: {err}"
            );
        }
        for d in ["..", "/tmp", "in/../../x", "out/"] {
            let err = plan_err(&[item(&["d/f"], d)], &source, &dest);
            assert!(
                matches!(&err, SyncError::PathEscapes { repo: Repo::DistGit, path } if path == d),
                "{d}: {err}"
            );
        }
        // `..` that stays inside is fine.
        assert!(plan(&[item(&["d/../d/f"], "in/../in/")], &source, &dest).is_ok());
    }

    #[test]
    fn git_directories_are_off_limits() {
        let source = t(&["d/f", "hooks/pre-commit*"]);
        let err = plan_err(&[item(&[".git/config"], ".")], &source, &Tree::new());
        assert!(
            matches!(
                err,
                SyncError::GitDirPath {
                    repo: Repo::SourceGit,
                    ..
                }
            ),
            "{err}"
        );
        let err = plan_err(&[item(&["hooks/"], ".git/hooks/")], &source, &Tree::new());
        assert!(
            matches!(
                err,
                SyncError::GitDirPath {
                    repo: Repo::DistGit,
                    ..
                }
            ),
            "{err}"
        );
        // Even a hand-made source listing cannot write the dist-git .git.
        let sneaky = t(&["s/.git/config"]);
        let err = plan_err(&[item(&["s/"], ".")], &sneaky, &Tree::new());
        assert!(
            matches!(
                err,
                SyncError::GitDirPath {
                    repo: Repo::DistGit,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn symlinks_leaving_the_repository_are_refused() {
        let refused = [
            (".distro/evil -> /etc/passwd", Repo::SourceGit),
            (".distro/up -> ../../x", Repo::SourceGit),
            (".distro/git -> ../.git/config", Repo::SourceGit),
            (".distro/sub/ok -> ../../LICENSE", Repo::DistGit),
            (".distro/hop -> l/../../x", Repo::SourceGit),
        ];
        for (link, repo) in refused {
            let source = t(&[".distro/l -> .", "LICENSE", link]);
            match plan(&[init_item()], &source, &Tree::new()) {
                Err(SyncError::SymlinkEscapes { repo: r, .. }) => assert_eq!(r, repo, "{link}"),
                other => panic!("{link}: {other:?}"),
            }
        }
        // Excluded links are not looked at; links inside both repositories are fine.
        let source = t(&[
            ".distro/source-git.yaml -> /etc/passwd",
            ".distro/a -> b/../c",
            ".distro/b/",
        ]);
        assert!(plan(&[init_item()], &source, &Tree::new()).is_ok());
        // A link that only escapes through a link dist-git already has.
        let source = t(&[".distro/x -> up/f"]);
        let err = plan_err(&[item(&[".distro/"], ".")], &source, &t(&["up -> .."]));
        assert!(
            matches!(
                err,
                SyncError::SymlinkEscapes {
                    repo: Repo::DistGit,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn opaque_directories_are_refused_only_when_used() {
        let mut source = t(&[".distro/spec", "upstream/data/x"]);
        source.mark_opaque("upstream/data");
        let mut dest = t(&["old/y"]);
        assert!(plan(&[init_item()], &source, &dest).is_ok());
        let err = plan_err(&[item(&["upstream/"], ".")], &source, &dest);
        assert!(
            matches!(
                err,
                SyncError::Unrepresentable {
                    repo: Repo::SourceGit,
                    ..
                }
            ),
            "{err}"
        );
        let err = plan_err(&[item(&["upstream/data/*"], ".")], &source, &dest);
        assert!(
            matches!(
                err,
                SyncError::Unrepresentable {
                    repo: Repo::SourceGit,
                    ..
                }
            ),
            "{err}"
        );
        dest.mark_opaque("old");
        assert!(plan(&[item(&[".distro/"], ".")], &source, &dest).is_ok());
        let err = plan_err(&[init_item()], &source, &dest);
        assert!(
            matches!(
                err,
                SyncError::Unrepresentable {
                    repo: Repo::DistGit,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn unsupported_srcs_and_loops() {
        let source = t(&["a", "loop -> loop"]);
        let err = plan_err(&[item(&["."], ".")], &source, &Tree::new());
        assert!(matches!(err, SyncError::UnsupportedSrc { .. }), "{err}");
        let all = result(&[item(&["./"], "x/")], &source, &Tree::new());
        assert_eq!(all, ["x/", "x/a", "x/loop -> loop"]);
        let err = plan_err(&[item(&["loop"], ".")], &source, &Tree::new());
        assert!(matches!(err, SyncError::SymlinkLoop { .. }), "{err}");
    }

    // ----- I/O ------------------------------------------------------------------------

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
