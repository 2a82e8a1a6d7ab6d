//! Test helpers shared by the unit tests of `sync` and `sync_fs`: compact tree specs,
//! their rendering, and `files_to_sync` items.

use std::path::PathBuf;

use super::{EntryKind, SyncItem, Tree};

/// Compact tree spec: `p` file 0o644, `p*` file 0o755, `p/` directory 0o755,
/// `p -> t` symlink.
pub(crate) fn t(spec: &[&str]) -> Tree {
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

pub(crate) fn render(tree: &Tree) -> Vec<String> {
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

pub(crate) fn item(src: &[&str], dest: &str) -> SyncItem {
    SyncItem {
        src: src.iter().map(|s| s.to_string()).collect(),
        dest: dest.to_string(),
        ..SyncItem::default()
    }
}

pub(crate) fn filtered(mut it: SyncItem, filters: &[&str]) -> SyncItem {
    it.filters = filters.iter().map(|s| s.to_string()).collect();
    it
}

pub(crate) fn deleting(mut it: SyncItem) -> SyncItem {
    it.delete = true;
    it
}

pub(crate) fn mkpath(mut it: SyncItem) -> SyncItem {
    it.mkpath = true;
    it
}

pub(crate) fn init_item() -> SyncItem {
    let it = item(&[".distro/"], ".");
    let rules = [
        "protect .git*",
        "protect sources",
        "exclude source-git.yaml",
        "exclude .gitignore",
    ];
    deleting(filtered(it, &rules))
}
