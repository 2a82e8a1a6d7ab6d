//! The file-system boundary of both repositories: every read and write of a path inside
//! the source-git or dist-git work tree goes through a [`RepoRoot`].
//!
//! What it owns: resolving a repository-relative path under its root one component at a
//! time with `O_NOFOLLOW` (a symlink anywhere on the way is refused, never followed —
//! the portable form of `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`), refusing
//! anything that is not a regular file where a file is read (FIFO, socket, device,
//! symlink: checked with `lstat` before opening, and the opened descriptor is checked
//! again), capping what it reads, and directory handles ([`Dir`]) so that writers act
//! relative to a directory they have already checked instead of re-resolving a path.
//!
//! What it must not do: decide anything about the conversion, or touch a path given as
//! an absolute path or with `..` components.

use std::ffi::OsStr;
use std::fmt;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

/// How much of a configuration file or spec srcgit reads at most.
pub const TEXT_LIMIT: u64 = 4 << 20;

/// What is at a path, without following a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file of this size and mode.
    File {
        /// Size in bytes.
        len: u64,
        /// Permission bits.
        mode: u32,
    },
    /// A directory with this mode.
    Dir {
        /// Permission bits.
        mode: u32,
    },
    /// A symbolic link.
    Symlink,
    /// A FIFO, socket or device.
    Special(&'static str),
}

impl Kind {
    fn from_stat(st: &rustix::fs::Stat) -> Kind {
        let mode = Mode::from_raw_mode(st.st_mode).bits() & 0o7777;
        match FileType::from_raw_mode(st.st_mode as _) {
            FileType::RegularFile => Kind::File {
                len: st.st_size as u64,
                mode,
            },
            FileType::Directory => Kind::Dir { mode },
            FileType::Symlink => Kind::Symlink,
            FileType::Fifo => Kind::Special("FIFO"),
            FileType::Socket => Kind::Special("socket"),
            FileType::CharacterDevice | FileType::BlockDevice => Kind::Special("device"),
            FileType::Unknown => Kind::Special("special file"),
        }
    }

    /// A short noun for messages.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::File { .. } => "file",
            Kind::Dir { .. } => "directory",
            Kind::Symlink => "symbolic link",
            Kind::Special(noun) => noun,
        }
    }
}

/// Why a repository path could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// A symlink where srcgit reads or on the way to a path.
    #[error(
        "{repo}: {path} is a symbolic link (or goes through one); srcgit reads and writes only \
         real files inside the repository: replace the link with the file it points to"
    )]
    Symlink {
        /// Which repository.
        repo: &'static str,
        /// The path inside it.
        path: String,
    },
    /// A FIFO, socket, device or directory where a file is expected.
    #[error("{repo}: {path} is a {kind}, not a regular file: remove it or replace it with a file")]
    NotRegular {
        /// Which repository.
        repo: &'static str,
        /// The path inside it.
        path: String,
        /// What it is.
        kind: &'static str,
    },
    /// A component of the path is not a directory.
    #[error("{repo}: {path} is not a directory")]
    NotDirectory {
        /// Which repository.
        repo: &'static str,
        /// The path inside it.
        path: String,
    },
    /// A file larger than srcgit reads.
    #[error("{repo}: {path} is larger than {limit} bytes, the most srcgit reads for this file")]
    TooLarge {
        /// Which repository.
        repo: &'static str,
        /// The path inside it.
        path: String,
        /// The limit.
        limit: u64,
    },
    /// A path that is empty, absolute, or has `.`/`..`/empty components or a NUL.
    #[error("{repo}: refusing the unsafe path {path:?}")]
    UnsafePath {
        /// Which repository.
        repo: &'static str,
        /// The path as given.
        path: String,
    },
    /// Any other I/O error.
    #[error("{repo}: cannot {what} {path}")]
    Io {
        /// Which repository.
        repo: &'static str,
        /// What was being done.
        what: &'static str,
        /// The path inside it.
        path: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl FsError {
    /// The underlying I/O error kind, when there is one (for callers that must tell
    /// "missing" from the rest).
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            FsError::Io { source, .. } => Some(source.kind()),
            _ => None,
        }
    }

    /// Whether the problem is in the repository's content (the user can fix it), as
    /// opposed to the machine (I/O errors).
    pub fn is_content(&self) -> bool {
        !matches!(self, FsError::Io { .. })
    }
}

/// A directory handle inside a repository, with its repository-relative path for messages.
pub struct Dir {
    fd: OwnedFd,
    repo: &'static str,
    rel: String,
}

impl fmt::Debug for Dir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dir({}:{})", self.repo, self.rel)
    }
}

fn errno(e: rustix::io::Errno) -> io::Error {
    io::Error::from(e)
}

/// Checks that `name` is one plain path component.
fn component_ok(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\0'])
}

impl Dir {
    /// The repository-relative path of `name` in this directory.
    pub fn rel(&self, name: &str) -> String {
        if self.rel.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.rel)
        }
    }

    /// The repository-relative path of this directory (`""` for the root).
    pub fn path(&self) -> &str {
        &self.rel
    }

    fn io(&self, what: &'static str, name: &str) -> impl FnOnce(io::Error) -> FsError + '_ {
        let path = if name.is_empty() {
            self.rel.clone()
        } else {
            self.rel(name)
        };
        move |source| FsError::Io {
            repo: self.repo,
            what,
            path,
            source,
        }
    }

    fn check(&self, name: &str) -> Result<(), FsError> {
        if component_ok(name) {
            Ok(())
        } else {
            Err(FsError::UnsafePath {
                repo: self.repo,
                path: self.rel(name),
            })
        }
    }

    /// What is at `name`, without following a link; `None` when nothing is there.
    pub fn kind(&self, name: &str) -> Result<Option<Kind>, FsError> {
        self.check(name)?;
        match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(Kind::from_stat(&st))),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(self.io("inspect", name)(errno(e))),
        }
    }

    /// The subdirectory `name`, refusing a symlink or anything else that is not a
    /// directory.
    pub fn subdir(&self, name: &str) -> Result<Dir, FsError> {
        self.check(name)?;
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match rustix::fs::openat(&self.fd, name, flags, Mode::empty()) {
            Ok(fd) => Ok(Dir {
                fd,
                repo: self.repo,
                rel: self.rel(name),
            }),
            Err(rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR) => {
                Err(match self.kind(name)? {
                    Some(Kind::Symlink) => FsError::Symlink {
                        repo: self.repo,
                        path: self.rel(name),
                    },
                    _ => FsError::NotDirectory {
                        repo: self.repo,
                        path: self.rel(name),
                    },
                })
            }
            Err(e) => Err(self.io("open", name)(errno(e))),
        }
    }

    /// Opens the regular file `name` for reading: a symlink, FIFO, socket, device or
    /// directory is refused without being opened. `None` when nothing is there.
    pub fn open_file(&self, name: &str) -> Result<Option<(std::fs::File, Kind)>, FsError> {
        let kind = match self.kind(name)? {
            None => return Ok(None),
            Some(kind @ Kind::File { .. }) => kind,
            Some(Kind::Symlink) => {
                return Err(FsError::Symlink {
                    repo: self.repo,
                    path: self.rel(name),
                });
            }
            Some(other) => {
                return Err(FsError::NotRegular {
                    repo: self.repo,
                    path: self.rel(name),
                    kind: other.noun(),
                });
            }
        };
        // O_NONBLOCK: if the file was swapped for a FIFO since the lstat, open must not
        // wait for a writer; the type is checked again on the descriptor.
        let flags =
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let fd = match rustix::fs::openat(&self.fd, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::LOOP) => {
                return Err(FsError::Symlink {
                    repo: self.repo,
                    path: self.rel(name),
                });
            }
            Err(rustix::io::Errno::NOENT) => return Ok(None),
            Err(e) => return Err(self.io("open", name)(errno(e))),
        };
        let st = rustix::fs::fstat(&fd).map_err(|e| self.io("inspect", name)(errno(e)))?;
        match Kind::from_stat(&st) {
            kind @ Kind::File { .. } => {
                let _ = kind;
            }
            other => {
                return Err(FsError::NotRegular {
                    repo: self.repo,
                    path: self.rel(name),
                    kind: other.noun(),
                });
            }
        }
        Ok(Some((std::fs::File::from(fd), kind)))
    }

    /// The bytes of the regular file `name`, at most `limit` of them; `None` when nothing
    /// is there.
    pub fn read(&self, name: &str, limit: u64) -> Result<Option<Vec<u8>>, FsError> {
        let Some((file, kind)) = self.open_file(name)? else {
            return Ok(None);
        };
        let too_large = || FsError::TooLarge {
            repo: self.repo,
            path: self.rel(name),
            limit,
        };
        if let Kind::File { len, .. } = kind
            && len > limit
        {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        file.take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(self.io("read", name))?;
        if bytes.len() as u64 > limit {
            return Err(too_large());
        }
        Ok(Some(bytes))
    }

    /// The target of the symlink `name`.
    pub fn read_link(&self, name: &str) -> Result<PathBuf, FsError> {
        self.check(name)?;
        let target = rustix::fs::readlinkat(&self.fd, name, Vec::new())
            .map_err(|e| self.io("read the link", name)(errno(e)))?;
        Ok(PathBuf::from(OsStr::from_bytes(target.as_bytes())))
    }

    /// Creates the new file `name` (never an existing one) with `mode` for writing.
    pub fn create_new(&self, name: &str, mode: u32) -> Result<std::fs::File, FsError> {
        self.check(name)?;
        let flags = OFlags::WRONLY
            | OFlags::CREATE
            | OFlags::EXCL
            | OFlags::NOFOLLOW
            | OFlags::NOCTTY
            | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&self.fd, name, flags, Mode::from_raw_mode(mode as _))
            .map_err(|e| self.io("create", name)(errno(e)))?;
        Ok(std::fs::File::from(fd))
    }

    /// Creates the symlink `name` → `target` (never replacing anything).
    pub fn symlink(&self, target: &Path, name: &str) -> Result<(), FsError> {
        self.check(name)?;
        rustix::fs::symlinkat(target, &self.fd, name)
            .map_err(|e| self.io("create the link", name)(errno(e)))
    }

    /// Creates the directory `name`.
    pub fn mkdir(&self, name: &str, mode: u32) -> Result<(), FsError> {
        self.check(name)?;
        rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(mode as _))
            .map_err(|e| self.io("create the directory", name)(errno(e)))
    }

    /// Removes the file or symlink `name` (never a directory).
    pub fn unlink(&self, name: &str) -> Result<(), FsError> {
        self.check(name)?;
        rustix::fs::unlinkat(&self.fd, name, AtFlags::empty())
            .map_err(|e| self.io("remove", name)(errno(e)))
    }

    /// Removes the empty directory `name`.
    pub fn rmdir(&self, name: &str) -> Result<(), FsError> {
        self.check(name)?;
        rustix::fs::unlinkat(&self.fd, name, AtFlags::REMOVEDIR)
            .map_err(|e| self.io("remove the directory", name)(errno(e)))
    }

    /// Renames `name` here to `to_name` in `to` (replacing a file or link there).
    pub fn rename(&self, name: &str, to: &Dir, to_name: &str) -> Result<(), FsError> {
        self.check(name)?;
        to.check(to_name)?;
        rustix::fs::renameat(&self.fd, name, &to.fd, to_name)
            .map_err(|e| to.io("move a file to", to_name)(errno(e)))
    }

    /// Sets the permission bits of this directory (through its handle: no link is
    /// followed).
    pub fn set_mode(&self, mode: u32) -> Result<(), FsError> {
        rustix::fs::fchmod(&self.fd, Mode::from_raw_mode(mode as _))
            .map_err(|e| self.io("set the mode of", "")(errno(e)))
    }

    /// The permission bits of this directory.
    pub fn mode(&self) -> Result<u32, FsError> {
        let st = rustix::fs::fstat(&self.fd).map_err(|e| self.io("inspect", "")(errno(e)))?;
        Ok(Mode::from_raw_mode(st.st_mode).bits() & 0o7777)
    }

    /// The names in this directory, `.` and `..` left out.
    pub fn names(&self) -> Result<Vec<std::ffi::OsString>, FsError> {
        let fd = rustix::fs::openat(
            &self.fd,
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| self.io("list", "")(errno(e)))?;
        let mut dir = rustix::fs::Dir::read_from(&fd).map_err(|e| self.io("list", "")(errno(e)))?;
        let mut out = Vec::new();
        while let Some(entry) = dir.read() {
            let entry = entry.map_err(|e| self.io("list", "")(errno(e)))?;
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." {
                out.push(OsStr::from_bytes(name).to_os_string());
            }
        }
        Ok(out)
    }
}

impl AsFd for Dir {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The root of one repository's work tree.
#[derive(Debug)]
pub struct RepoRoot {
    root: Dir,
    path: PathBuf,
}

/// Splits a repository-relative path into its components, refusing anything but plain
/// names.
fn components<'a>(repo: &'static str, rel: &'a str) -> Result<Vec<&'a str>, FsError> {
    let comps: Vec<&str> = rel.split('/').collect();
    if rel.is_empty() || !comps.iter().all(|c| component_ok(c)) {
        return Err(FsError::UnsafePath {
            repo,
            path: rel.to_string(),
        });
    }
    Ok(comps)
}

impl RepoRoot {
    /// Opens the work tree at `path` (the path itself is the user's argument and may be
    /// reached through links; nothing below it is). `repo` names it in messages.
    pub fn open(path: &Path, repo: &'static str) -> Result<RepoRoot, FsError> {
        let fd = rustix::fs::openat(
            rustix::fs::CWD,
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| FsError::Io {
            repo,
            what: "open",
            path: path.display().to_string(),
            source: errno(e),
        })?;
        Ok(RepoRoot {
            root: Dir {
                fd,
                repo,
                rel: String::new(),
            },
            path: path.to_path_buf(),
        })
    }

    /// The work tree path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The root directory handle.
    pub fn root(&self) -> &Dir {
        &self.root
    }

    /// Which repository this is, for messages.
    pub fn label(&self) -> &'static str {
        self.root.repo
    }

    /// The directory at `rel` (`""`: the root), every component a real directory.
    pub fn dir(&self, rel: &str) -> Result<Dir, FsError> {
        let mut cur = self.root.subdir_of_self()?;
        if !rel.is_empty() {
            for comp in components(self.root.repo, rel)? {
                cur = cur.subdir(comp)?;
            }
        }
        Ok(cur)
    }

    /// The parent directory of `rel` and its last component. `None` when a parent does
    /// not exist.
    pub fn parent<'a>(&self, rel: &'a str) -> Result<Option<(Dir, &'a str)>, FsError> {
        let comps = components(self.root.repo, rel)?;
        let (name, parents) = comps.split_last().ok_or_else(|| FsError::UnsafePath {
            repo: self.root.repo,
            path: rel.to_string(),
        })?;
        let mut cur = self.root.subdir_of_self()?;
        for comp in parents {
            match cur.subdir(comp) {
                Ok(next) => cur = next,
                Err(e) if e.io_kind() == Some(io::ErrorKind::NotFound) => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        Ok(Some((cur, name)))
    }

    /// What is at `rel` without following links; `None` when nothing is there.
    pub fn kind(&self, rel: &str) -> Result<Option<Kind>, FsError> {
        match self.parent(rel)? {
            Some((dir, name)) => dir.kind(name),
            None => Ok(None),
        }
    }

    /// The bytes of the regular file at `rel`, at most `limit`; `None` when it does not
    /// exist. A symlink anywhere on the path, a FIFO, socket, device or directory is
    /// refused.
    pub fn read(&self, rel: &str, limit: u64) -> Result<Option<Vec<u8>>, FsError> {
        match self.parent(rel)? {
            Some((dir, name)) => dir.read(name, limit),
            None => Ok(None),
        }
    }
}

impl Dir {
    /// A second handle to this directory.
    fn subdir_of_self(&self) -> Result<Dir, FsError> {
        let fd = rustix::io::fcntl_dupfd_cloexec(&self.fd, 0)
            .map_err(|e| self.io("open", "")(errno(e)))?;
        Ok(Dir {
            fd,
            repo: self.repo,
            rel: self.rel.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tmp() -> tempfile::TempDir {
        tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
    }

    fn root(dir: &Path) -> RepoRoot {
        RepoRoot::open(dir, "dist-git").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn reads_regular_files_only() {
        let d = tmp();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("sub/f"), "text").unwrap();
        let r = root(d.path());
        assert_eq!(r.read("sub/f", 10).unwrap(), Some(b"text".to_vec()));
        assert_eq!(r.read("sub/missing", 10).unwrap(), None);
        assert_eq!(r.read("nodir/missing", 10).unwrap(), None);
        assert!(matches!(
            r.read("sub", 10),
            Err(FsError::NotRegular {
                kind: "directory",
                ..
            })
        ));
        assert!(matches!(r.read("sub/f", 3), Err(FsError::TooLarge { .. })));
    }

    #[test]
    fn never_follows_a_link() {
        let (d, outside) = (tmp(), tmp());
        std::fs::write(outside.path().join("secret"), "secret").unwrap();
        symlink(outside.path().join("secret"), d.path().join("f")).unwrap();
        symlink(outside.path(), d.path().join("dir")).unwrap();
        symlink("/dev/zero", d.path().join("zero")).unwrap();
        let r = root(d.path());
        assert!(matches!(r.read("f", 100), Err(FsError::Symlink { .. })));
        assert!(matches!(
            r.read("dir/secret", 100),
            Err(FsError::Symlink { .. })
        ));
        assert!(matches!(r.read("zero", 100), Err(FsError::Symlink { .. })));
        assert!(matches!(r.dir("dir"), Err(FsError::Symlink { .. })));
        assert_eq!(r.kind("f").unwrap(), Some(Kind::Symlink));
    }

    #[test]
    fn refuses_a_fifo_without_waiting() {
        let d = tmp();
        let fifo = d.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            FileType::Fifo,
            Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        let r = root(d.path());
        assert!(matches!(
            r.read("fifo", 100),
            Err(FsError::NotRegular { kind: "FIFO", .. })
        ));
    }

    #[test]
    fn refuses_unsafe_paths() {
        let d = tmp();
        let r = root(d.path());
        for bad in ["", "/etc/passwd", "../x", "a/../b", "a//b", "./a", "a/"] {
            assert!(
                matches!(r.read(bad, 10), Err(FsError::UnsafePath { .. })),
                "{bad:?}"
            );
        }
    }
}
