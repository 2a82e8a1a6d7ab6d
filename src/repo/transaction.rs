//! Staged writes into a work tree with rollback: every new file is written into a scratch
//! directory (inside the repository's `.git`, so on the same file system and invisible to
//! the work tree) and renamed into place; what it replaces or removes is first moved into
//! the scratch directory, so a failure rolls back to the bytes that were there.
//!
//! Every path goes through [`RepoRoot`]: no link is followed, a link in the way is
//! replaced, and the top-level `.git` is never written. A scratch directory of a killed
//! run is removed by the next run (its name carries the process id).

use std::io;
use std::path::{Path, PathBuf};

use super::boundary::{Dir, FsError, Kind, RepoRoot};

const SCRATCH_PREFIX: &str = "srcgit-";

#[derive(Debug)]
enum Undo {
    /// A file or link was put where nothing was: remove it.
    Created { parent: String, name: String },
    /// Something was moved into the scratch directory as `backup`: move it back.
    Moved {
        parent: String,
        name: String,
        backup: String,
    },
    /// A directory was created: remove it.
    CreatedDir { parent: String, name: String },
    /// An empty directory was removed: create it again.
    RemovedDir {
        parent: String,
        name: String,
        mode: u32,
    },
    /// A directory's mode was changed.
    DirMode { path: String, mode: u32 },
    /// A file's mode was changed.
    FileMode { path: String, mode: u32 },
}

/// The name of a scratch directory: `srcgit-<pid>-<random>`.
pub fn scratch_name() -> String {
    format!(
        "{SCRATCH_PREFIX}{}-{:08x}",
        std::process::id(),
        fastrand::u32(..)
    )
}

/// Removes scratch directories in `dir` left by srcgit processes that no longer run.
pub fn sweep_stale_scratch(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(SCRATCH_PREFIX)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        let alive = match rustix::process::Pid::from_raw(pid) {
            Some(pid) => !matches!(
                rustix::process::test_kill_process(pid),
                Err(rustix::io::Errno::SRCH)
            ),
            None => true,
        };
        if !alive && entry.file_type().is_ok_and(|t| t.is_dir()) {
            // std's remove_dir_all does not follow links
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A set of staged writes into one work tree.
#[derive(Debug)]
pub struct Transaction<'r> {
    root: &'r RepoRoot,
    scratch_path: PathBuf,
    scratch: Dir,
    journal: Vec<Undo>,
    seq: u64,
    finished: bool,
}

fn split(rel: &str) -> (&str, &str) {
    rel.rsplit_once('/').unwrap_or(("", rel))
}

impl<'r> Transaction<'r> {
    /// Starts a transaction on `root`, with its scratch directory in `scratch_parent`
    /// (dist-git's `.git`), after removing scratch directories of dead runs there.
    pub fn begin(root: &'r RepoRoot, scratch_parent: &Path) -> Result<Transaction<'r>, FsError> {
        sweep_stale_scratch(scratch_parent);
        let parent = RepoRoot::open(scratch_parent, root.label())?;
        let name = scratch_name();
        parent.root().mkdir(&name, 0o700)?;
        let scratch = parent.root().subdir(&name)?;
        Ok(Transaction {
            root,
            scratch_path: scratch_parent.join(name),
            scratch,
            journal: Vec::new(),
            seq: 0,
            finished: false,
        })
    }

    fn next(&mut self, prefix: char) -> String {
        self.seq += 1;
        format!("{prefix}{}", self.seq)
    }

    /// The parent directory of `rel` (which must exist) and its last component; the
    /// top-level `.git` is refused.
    fn parent<'a>(&self, rel: &'a str) -> Result<(Dir, &'a str), FsError> {
        if rel == ".git" || rel.starts_with(".git/") {
            return Err(FsError::UnsafePath {
                repo: self.root.label(),
                path: rel.to_string(),
            });
        }
        let (parent, name) = split(rel);
        Ok((self.root.dir(parent)?, name))
    }

    /// The work tree written.
    pub fn root(&self) -> &RepoRoot {
        self.root
    }

    /// What is at `rel`, without following links.
    pub fn kind(&self, rel: &str) -> Result<Option<Kind>, FsError> {
        self.root.kind(rel)
    }

    /// Moves what is at `dir/name` (not a directory) into the scratch directory.
    fn move_aside(&mut self, dir: &Dir, name: &str) -> Result<(), FsError> {
        let backup = self.next('b');
        dir.rename(name, &self.scratch, &backup)?;
        self.journal.push(Undo::Moved {
            parent: dir.path().to_string(),
            name: name.to_string(),
            backup,
        });
        Ok(())
    }

    /// Puts the scratch entry `staged` at `rel`, replacing a file or link there.
    fn swap_in(&mut self, staged: &str, rel: &str) -> Result<(), FsError> {
        let (dir, name) = self.parent(rel)?;
        match dir.kind(name)? {
            None => {}
            Some(kind @ (Kind::Dir { .. } | Kind::Special(_))) => {
                return Err(FsError::NotRegular {
                    repo: self.root.label(),
                    path: rel.to_string(),
                    kind: kind.noun(),
                });
            }
            Some(Kind::File { .. } | Kind::Symlink) => self.move_aside(&dir, name)?,
        }
        self.scratch.rename(staged, &dir, name)?;
        self.journal.push(Undo::Created {
            parent: dir.path().to_string(),
            name: name.to_string(),
        });
        Ok(())
    }

    /// Writes a new file at `rel` with the bytes `fill` writes, created with `create_mode`
    /// (the umask applies) and set to `final_mode` when given, replacing a file or link.
    pub fn put_file<F>(
        &mut self,
        rel: &str,
        create_mode: u32,
        final_mode: Option<u32>,
        fill: F,
    ) -> Result<(), FsError>
    where
        F: FnOnce(&mut std::fs::File) -> io::Result<()>,
    {
        self.parent(rel)?;
        let staged = self.next('n');
        let mut file = self.scratch.create_new(&staged, create_mode)?;
        let io_err = |source| FsError::Io {
            repo: self.root.label(),
            what: "write",
            path: rel.to_string(),
            source,
        };
        fill(&mut file).map_err(io_err)?;
        if let Some(mode) = final_mode {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(mode))
                .map_err(io_err)?;
        }
        drop(file);
        self.swap_in(&staged, rel)
    }

    /// Writes `bytes` at `rel` unless a regular file there already holds them. A file
    /// that is replaced keeps its mode; a new one gets 0666 minus the umask.
    pub fn write_if_changed(&mut self, rel: &str, bytes: &[u8]) -> Result<(), FsError> {
        let (dir, name) = self.parent(rel)?;
        let mut keep_mode = None;
        if let Some(Kind::File { len, mode }) = dir.kind(name)? {
            if len == bytes.len() as u64 && dir.read(name, len)?.is_some_and(|old| old == bytes) {
                return Ok(());
            }
            keep_mode = Some(mode);
        }
        self.put_file(rel, 0o666, keep_mode, |f| {
            use std::io::Write;
            f.write_all(bytes)
        })
    }

    /// Creates the symlink `rel` → `target`, replacing a file or link there.
    pub fn put_symlink(&mut self, rel: &str, target: &Path) -> Result<(), FsError> {
        self.parent(rel)?;
        let staged = self.next('n');
        self.scratch.symlink(target, &staged)?;
        self.swap_in(&staged, rel)
    }

    /// Removes the file or link at `rel` (moved aside until the transaction ends).
    pub fn remove(&mut self, rel: &str) -> Result<(), FsError> {
        let (dir, name) = self.parent(rel)?;
        match dir.kind(name)? {
            Some(Kind::File { .. } | Kind::Symlink) => self.move_aside(&dir, name),
            Some(kind) => Err(FsError::NotRegular {
                repo: self.root.label(),
                path: rel.to_string(),
                kind: kind.noun(),
            }),
            None => Err(FsError::Io {
                repo: self.root.label(),
                what: "remove",
                path: rel.to_string(),
                source: io::ErrorKind::NotFound.into(),
            }),
        }
    }

    /// Creates the directory `rel` (mode 0700 until [`Transaction::set_dir_mode`]).
    pub fn mkdir(&mut self, rel: &str) -> Result<(), FsError> {
        let (dir, name) = self.parent(rel)?;
        dir.mkdir(name, 0o700)?;
        self.journal.push(Undo::CreatedDir {
            parent: dir.path().to_string(),
            name: name.to_string(),
        });
        Ok(())
    }

    /// Removes the empty directory `rel`.
    pub fn rmdir(&mut self, rel: &str) -> Result<(), FsError> {
        let (dir, name) = self.parent(rel)?;
        let mode = dir.subdir(name)?.mode()?;
        dir.rmdir(name)?;
        self.journal.push(Undo::RemovedDir {
            parent: dir.path().to_string(),
            name: name.to_string(),
            mode,
        });
        Ok(())
    }

    /// Sets the mode of the directory `rel` (`""`: the root) through its handle.
    pub fn set_dir_mode(&mut self, rel: &str, mode: u32) -> Result<(), FsError> {
        if !rel.is_empty() {
            self.parent(rel)?;
        }
        let dir = self.root.dir(rel)?;
        let old = dir.mode()?;
        if old != mode {
            dir.set_mode(mode)?;
            self.journal.push(Undo::DirMode {
                path: rel.to_string(),
                mode: old,
            });
        }
        Ok(())
    }

    /// Sets the mode of the regular file `rel` through a descriptor (no link followed).
    pub fn set_file_mode(&mut self, rel: &str, mode: u32) -> Result<(), FsError> {
        use std::os::unix::fs::PermissionsExt;
        let (dir, name) = self.parent(rel)?;
        let Some((file, Kind::File { mode: old, .. })) = dir.open_file(name)? else {
            return Ok(());
        };
        if old != mode {
            file.set_permissions(std::fs::Permissions::from_mode(mode))
                .map_err(|source| FsError::Io {
                    repo: self.root.label(),
                    what: "set the mode of",
                    path: rel.to_string(),
                    source,
                })?;
            self.journal.push(Undo::FileMode {
                path: rel.to_string(),
                mode: old,
            });
        }
        Ok(())
    }

    /// Keeps everything written and removes the scratch directory.
    pub fn commit(mut self) {
        self.finished = true;
        let _ = std::fs::remove_dir_all(&self.scratch_path);
    }

    /// Undoes everything, newest first (best effort), and removes the scratch directory.
    pub fn rollback(mut self) {
        self.undo_all();
    }

    fn undo_all(&mut self) {
        self.finished = true;
        while let Some(step) = self.journal.pop() {
            if let Err(e) = self.undo(&step) {
                tracing::warn!(error = %e, ?step, "rollback step failed");
            }
        }
        let _ = std::fs::remove_dir_all(&self.scratch_path);
    }

    fn undo(&self, step: &Undo) -> Result<(), FsError> {
        use std::os::unix::fs::PermissionsExt;
        match step {
            Undo::Created { parent, name } => self.root.dir(parent)?.unlink(name),
            Undo::Moved {
                parent,
                name,
                backup,
            } => self.scratch.rename(backup, &self.root.dir(parent)?, name),
            Undo::CreatedDir { parent, name } => self.root.dir(parent)?.rmdir(name),
            Undo::RemovedDir { parent, name, mode } => {
                let dir = self.root.dir(parent)?;
                dir.mkdir(name, 0o700)?;
                dir.subdir(name)?.set_mode(*mode)
            }
            Undo::DirMode { path, mode } => self.root.dir(path)?.set_mode(*mode),
            Undo::FileMode { path, mode } => {
                let (dir, name) = split(path);
                if let Some((file, _)) = self.root.dir(dir)?.open_file(name)? {
                    let _ = file.set_permissions(std::fs::Permissions::from_mode(*mode));
                }
                Ok(())
            }
        }
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.undo_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp() -> tempfile::TempDir {
        tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
    }

    fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                let meta = std::fs::symlink_metadata(&p).unwrap();
                if meta.is_dir() {
                    out.push((rel + "/", Vec::new()));
                    stack.push(p);
                } else if meta.file_type().is_symlink() {
                    out.push((
                        rel,
                        std::fs::read_link(&p).unwrap().display().to_string().into(),
                    ));
                } else {
                    out.push((rel, std::fs::read(&p).unwrap()));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn rollback_restores_every_byte_and_leaves_no_scratch() {
        let (work, git) = (tmp(), tmp());
        std::fs::write(work.path().join("a"), "old a").unwrap();
        std::fs::write(work.path().join("gone"), "gone").unwrap();
        std::fs::create_dir(work.path().join("empty")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", work.path().join("link")).unwrap();
        let before = snapshot(work.path());
        let root = RepoRoot::open(work.path(), "dist-git").unwrap();
        let mut txn = Transaction::begin(&root, git.path()).unwrap();
        txn.write_if_changed("a", b"new a").unwrap();
        txn.write_if_changed("link", b"through?").unwrap();
        txn.remove("gone").unwrap();
        txn.rmdir("empty").unwrap();
        txn.mkdir("new").unwrap();
        txn.write_if_changed("new/f", b"f").unwrap();
        txn.set_dir_mode("new", 0o555).unwrap();
        assert!(txn.write_if_changed(".git/config", b"x").is_err());
        assert_ne!(snapshot(work.path()), before);
        txn.rollback();
        assert_eq!(snapshot(work.path()), before);
        assert_eq!(std::fs::read_dir(git.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_link_is_replaced_never_written_through() {
        let (work, git, outside) = (tmp(), tmp(), tmp());
        let victim = outside.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        std::os::unix::fs::symlink(&victim, work.path().join("x.patch")).unwrap();
        let root = RepoRoot::open(work.path(), "dist-git").unwrap();
        let mut txn = Transaction::begin(&root, git.path()).unwrap();
        txn.write_if_changed("x.patch", b"patch").unwrap();
        txn.commit();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert_eq!(
            std::fs::read(work.path().join("x.patch")).unwrap(),
            b"patch"
        );
        assert_eq!(std::fs::read_dir(git.path()).unwrap().count(), 0);
    }

    #[test]
    fn stale_scratch_of_a_dead_process_is_swept() {
        let git = tmp();
        // pid 0x7fff_fff0 does not exist
        let stale = git.path().join("srcgit-2147483632-deadbeef");
        std::fs::create_dir(&stale).unwrap();
        std::fs::write(stale.join("n1"), "x").unwrap();
        let live = git.path().join(format!("srcgit-{}-0", std::process::id()));
        std::fs::create_dir(&live).unwrap();
        sweep_stale_scratch(git.path());
        assert!(!stale.exists());
        assert!(live.exists());
    }
}
