//! rsync's sender side: each `src` resolved and globbed like packit (`Path.resolve()`,
//! `glob.glob`, `--ignore-missing-args`), then turned into rsync's file list with the
//! sender-side filter rules applied and duplicate names merged.
//!
//! Must not touch the file system nor look at dist-git (that is the planner's side).

use std::collections::BTreeMap;

use super::filter::FilterRules;
use super::glob::{has_magic, py_glob};
use super::paths::{check_symlink, join, resolve_config_path, walk, walk_error};
use super::tree::full_children;
use super::{EntryKind, Repo, Side, SyncError, Tree};

/// One rsync source argument after packit's resolve + glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SrcArg {
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
pub(super) fn resolve_src(tree: &Tree, src: &str) -> Result<Vec<SrcArg>, SyncError> {
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
pub(super) struct XferEntry {
    pub(super) kind: EntryKind,
    pub(super) from: String,
}

/// rsync's file list, keyed by the name relative to the transfer root (`""` = `.`).
pub(super) type Xfer = BTreeMap<String, XferEntry>;

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
pub(super) fn build_xfer(
    tree: &Tree,
    args: &[SrcArg],
    rules: &FilterRules,
) -> Result<Xfer, SyncError> {
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
