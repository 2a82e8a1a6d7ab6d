//! In-process repository access with git2: resolving refs, the index, the pristine check,
//! and committing like `git add -A && git commit -F`.

use std::path::{Path, PathBuf};

use git2::{ErrorCode, IndexAddOption, Oid, Repository, Status, StatusOptions};

use super::GitError;

/// A repository with a work tree.
pub struct Repo {
    repo: Repository,
    workdir: PathBuf,
}

impl std::fmt::Debug for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repo")
            .field("workdir", &self.workdir)
            .finish()
    }
}

/// A commit identity: name, e-mail and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// Seconds since the epoch.
    pub time: i64,
    /// Offset from UTC in minutes.
    pub offset_minutes: i32,
}

impl Identity {
    fn signature(&self) -> Result<git2::Signature<'static>, GitError> {
        let when = git2::Time::new(self.time, self.offset_minutes);
        git2::Signature::new(&self.name, &self.email, &when).map_err(GitError::git2(format!(
            "invalid identity {} <{}>",
            self.name, self.email
        )))
    }
}

impl Repo {
    /// Opens the repository whose work tree is exactly `path`.
    pub fn open(path: &Path) -> Result<Repo, GitError> {
        let repo = Repository::open(path).map_err(|e| match e.code() {
            ErrorCode::NotFound => GitError::NotARepo(path.to_path_buf()),
            _ => GitError::Git2 {
                what: format!("cannot open {}", path.display()),
                source: e,
            },
        })?;
        let workdir = repo
            .workdir()
            .map(Path::to_path_buf)
            .ok_or_else(|| GitError::NotARepo(path.to_path_buf()))?;
        Ok(Repo { repo, workdir })
    }

    /// The underlying git2 repository.
    pub fn git2(&self) -> &Repository {
        &self.repo
    }

    /// The work tree root.
    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// The `.git` directory.
    pub fn git_dir(&self) -> &Path {
        self.repo.path()
    }

    /// The commit HEAD points to.
    pub fn head(&self) -> Result<Oid, GitError> {
        self.repo
            .head()
            .and_then(|h| h.peel_to_commit())
            .map(|c| c.id())
            .map_err(GitError::git2(format!(
                "{} has no HEAD commit",
                self.workdir.display()
            )))
    }

    /// Resolves a revision (`v1.0`, `origin/main`, a sha) to a commit, if it names one.
    pub fn resolve_commit(&self, spec: &str) -> Option<Oid> {
        let object = self.repo.revparse_single(spec).ok()?;
        object.peel_to_commit().ok().map(|c| c.id())
    }

    /// All tag names.
    pub fn tag_names(&self) -> Vec<String> {
        self.repo
            .tag_names(None)
            .map(|names| {
                names
                    .iter()
                    .filter_map(|n| n.ok().flatten().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `git merge-base --is-ancestor a b`.
    pub fn is_ancestor(&self, a: Oid, b: Oid) -> Result<bool, GitError> {
        if a == b {
            return Ok(true);
        }
        self.repo
            .graph_descendant_of(b, a)
            .map_err(GitError::git2("cannot compare commits"))
    }

    /// The raw message of a commit.
    pub fn message(&self, oid: Oid) -> Result<String, GitError> {
        let commit = self
            .repo
            .find_commit(oid)
            .map_err(GitError::git2(format!("no commit {oid}")))?;
        Ok(String::from_utf8_lossy(commit.message_bytes()).into_owned())
    }

    /// The blob staged for `path` in the index, if the path is tracked.
    pub fn index_blob(&self, index: &git2::Index, path: &str) -> Result<Option<Vec<u8>>, GitError> {
        let Some(entry) = index.get_path(Path::new(path), 0) else {
            return Ok(None);
        };
        let blob = self
            .repo
            .find_blob(entry.id)
            .map_err(GitError::git2(format!("cannot read {path} from the index")))?;
        Ok(Some(blob.content().to_vec()))
    }

    /// The current index.
    pub fn index(&self) -> Result<git2::Index, GitError> {
        self.repo
            .index()
            .map_err(GitError::git2("cannot read the index"))
    }

    /// packit's pristine check: `git diff` (unstaged changes) is empty and
    /// `git clean -xdn` lists nothing, including ignored files and empty directories.
    /// Returns the offending paths (at most a few), empty when pristine.
    pub fn unclean_paths(&self) -> Result<Vec<String>, GitError> {
        let mut opts = StatusOptions::new();
        opts.include_untracked(true)
            .recurse_untracked_dirs(true)
            .include_ignored(true)
            .recurse_ignored_dirs(true)
            .exclude_submodules(true);
        let statuses = self
            .repo
            .statuses(Some(&mut opts))
            .map_err(GitError::git2("cannot read git status"))?;
        let dirty = Status::WT_MODIFIED
            | Status::WT_DELETED
            | Status::WT_TYPECHANGE
            | Status::WT_RENAMED
            | Status::WT_NEW
            | Status::IGNORED;
        let mut paths: Vec<String> = statuses
            .iter()
            .filter(|s| s.status().intersects(dirty))
            .filter_map(|s| s.path().ok().map(str::to_string))
            .collect();
        paths
            .extend(empty_dirs(&self.workdir).map_err(GitError::io("cannot scan", &self.workdir))?);
        paths.sort();
        Ok(paths)
    }

    /// `git add -A` then `git commit -F` with `message` (already cleaned up). Returns
    /// `None` when the index would equal HEAD (nothing to commit).
    ///
    /// The new objects — a blob per changed file, the trees, the commit — are written as
    /// one pack, not as hundreds of loose files, and HEAD moves only once the pack is in
    /// place, so a kill leaves HEAD where it was.
    pub fn commit_all(
        &self,
        message: &str,
        author: &Identity,
        committer: &Identity,
    ) -> Result<Option<Oid>, GitError> {
        // A handle of its own: the in-memory store stays attached to it, and it is dropped
        // after the pack is written, so no later write of `self` can land there.
        let repo = Repository::open(self.repo.path())
            .map_err(GitError::git2("cannot open the repository"))?;
        let odb = repo
            .odb()
            .map_err(GitError::git2("cannot open the object database"))?;
        let memory = odb
            .add_new_mempack_backend(1000)
            .map_err(GitError::git2("cannot keep new objects in memory"))?;
        let mut index = repo
            .index()
            .map_err(GitError::git2("cannot read the index"))?;
        index
            .add_all(["*"], IndexAddOption::DEFAULT, None)
            .and_then(|()| index.update_all(["*"], None))
            .map_err(GitError::git2("cannot stage the changes"))?;
        let tree_id = index
            .write_tree()
            .map_err(GitError::git2("cannot write the tree"))?;
        let head = repo.head().and_then(|h| h.peel_to_commit()).ok();
        if head.as_ref().is_some_and(|h| h.tree_id() == tree_id) {
            return Ok(None);
        }
        let tree = repo
            .find_tree(tree_id)
            .map_err(GitError::git2("cannot read the tree"))?;
        let parents: Vec<&git2::Commit<'_>> = head.iter().collect();
        let oid = repo
            .commit(
                None,
                &author.signature()?,
                &committer.signature()?,
                message,
                &tree,
                &parents,
            )
            .map_err(GitError::git2("cannot commit"))?;
        let mut pack = git2::Buf::new();
        memory
            .dump(&repo, &mut pack)
            .map_err(GitError::git2("cannot pack the new objects"))?;
        let mut writer = odb
            .packwriter()
            .map_err(GitError::git2("cannot write a pack"))?;
        std::io::Write::write_all(&mut writer, &pack)
            .map_err(GitError::io("cannot write a pack into", repo.path()))?;
        writer
            .commit()
            .map_err(GitError::git2("cannot write a pack"))?;
        index
            .write()
            .map_err(GitError::git2("cannot write the index"))?;
        let summary = message.lines().next().unwrap_or_default();
        let reflog = match head {
            Some(_) => format!("commit: {summary}"),
            None => format!("commit (initial): {summary}"),
        };
        let head_ref = repo
            .find_reference("HEAD")
            .map_err(GitError::git2("cannot read HEAD"))?;
        let branch = head_ref
            .symbolic_target()
            .map_err(GitError::git2("cannot read HEAD"))?;
        match branch {
            Some(branch) => repo.reference(branch, oid, true, &reflog).map(drop),
            None => repo.set_head_detached(oid),
        }
        .map_err(GitError::git2("cannot move HEAD to the new commit"))?;
        Ok(Some(oid))
    }
}

/// Directories under `root` (the top-level `.git` skipped) that contain no file at any
/// depth: `git clean -d` would remove them.
fn empty_dirs(root: &Path) -> std::io::Result<Vec<String>> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) -> std::io::Result<bool> {
        let mut has_file = false;
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            if dir == root && entry.file_name() == ".git" {
                has_file = true;
                continue;
            }
            if entry.file_type()?.is_dir() {
                if walk(&path, root, out)? {
                    has_file = true;
                } else {
                    let rel = path.strip_prefix(root).unwrap_or(&path);
                    out.push(format!("{}/", rel.display()));
                }
            } else {
                has_file = true;
            }
        }
        Ok(has_file)
    }
    let mut out = Vec::new();
    walk(root, root, &mut out)?;
    // report only the outermost empty directory of a nest
    out.sort();
    let mut outer: Vec<String> = Vec::new();
    for dir in out {
        if !outer.iter().any(|o| dir.starts_with(o.as_str())) {
            outer.push(dir);
        }
    }
    Ok(outer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::git::run_for_test as git;

    fn loose_objects(dir: &Path) -> usize {
        std::fs::read_dir(dir.join(".git/objects"))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().len() == 2)
            .map(|e| std::fs::read_dir(e.path()).unwrap().count())
            .sum()
    }

    #[test]
    fn a_commit_writes_one_pack_and_moves_the_branch() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        git(dir, &["init", "-q", "-b", "main"]);
        let who = Identity {
            name: "Packager".into(),
            email: "p@example.org".into(),
            time: 1_767_225_600,
            offset_minutes: 60,
        };
        let repo = Repo::open(dir).unwrap();
        for round in 0..2 {
            for i in 0..50 {
                std::fs::write(dir.join(format!("{i}.patch")), format!("{round} {i}\n")).unwrap();
            }
            let oid = repo
                .commit_all(&format!("Round {round}\n\nBody.\n"), &who, &who)
                .unwrap()
                .unwrap();
            assert_eq!(git(dir, &["rev-parse", "refs/heads/main"]), oid.to_string());
            assert_eq!(
                git(dir, &["log", "-1", "--format=%s"]),
                format!("Round {round}")
            );
        }
        assert_eq!(loose_objects(dir), 0, "the objects went into packs");
        assert_eq!(git(dir, &["rev-list", "--count", "HEAD"]), "2");
        git(dir, &["fsck", "--strict", "--no-dangling"]);
        assert_eq!(git(dir, &["status", "--porcelain"]), "");
        assert_eq!(repo.commit_all("Nothing\n", &who, &who).unwrap(), None);
    }
}
