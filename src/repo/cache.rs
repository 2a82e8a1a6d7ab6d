//! A git object cache shared by the jobs of one runner host, and the small per-job
//! repositories that borrow its objects.
//!
//! Layout, under a root the caller picks (the executor uses `work_dir/cache/srcgit.git`,
//! a name no GitLab namespace can have, so it never meets gitlab-runner's own cache
//! archives there):
//!
//! ```text
//! <root>/<key>/lock          exclusive flock while a job fetches or moves refs
//! <root>/<key>/last-used     rewritten by every job; `prune` reads its mtime
//! <root>/<key>/current       the name of the generation in use, e.g. `g3.git`
//! <root>/<key>/g3.git/       a bare repository: the objects and the shared refs
//! <root>/<key>/g3.git/srcgit-in-use   shared flock held by every job that reads it
//! ```
//!
//! One bare repository per key (the caller's key is one per GitLab project), so a fetch
//! negotiates against everything the project's earlier jobs fetched and transfers only
//! new objects. A job never works in the cache: it gets its own small repository whose
//! `objects/info/alternates` points at the generation's object directory and whose refs
//! (HEAD, the tags it needs) are its own — the per-job ref namespace is a repository.
//! Nothing deletes an object from a generation while a job reads it, so a job reading one
//! through its alternates can never lose an object under it: [`Cache::prune`] repacks a
//! generation with more than [`MAX_PACKS`] packs only when it holds both the lock and the
//! `srcgit-in-use` lock exclusively.
//!
//! Damage (a process killed mid-fetch, a full disk, a truncated pack) is looked for under
//! the lock before every use: every pack must end with the checksum its index records and
//! hold as many objects, and every ref must point at an object that exists. Leftovers of a
//! killed fetch (temporary packs, ref locks) are removed. A damaged generation is never
//! repaired in place: a new, empty generation becomes `current` and is filled by the
//! fetch. The old one is deleted by [`Cache::prune`] once no job holds it.
//!
//! Knows nothing of GitLab: keys, URLs and credentials come from the caller.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use git2::{ErrorClass, Oid, Repository};

use crate::convert::config::{self, PackageConfig};
use crate::repo::git::{self, Credentials, GitCli, GitEnv, GitError};

/// The cache's directory name under gitlab-runner's `cache_dir`.
pub const CACHE_DIR: &str = "srcgit.git";

const LOCK: &str = "lock";
const LAST_USED: &str = "last-used";
const CURRENT: &str = "current";
const IN_USE: &str = "srcgit-in-use";
/// Suffix of a directory on its way out (being created, or being deleted).
const TMP: &str = ".tmp";
/// Every fetch adds a pack, and so does every pushed commit kept: past this many, `prune`
/// repacks a generation no job is reading into one, so object lookups stay cheap.
pub const MAX_PACKS: usize = 16;

/// The caches of one host.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

/// What [`Cache::prune`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pruned {
    /// Keys whose whole cache was removed (unused for longer than the age limit).
    pub removed: Vec<String>,
    /// Old generations removed (`key/gN.git`): replaced after damage, no longer read.
    pub removed_generations: Vec<String>,
    /// Keys skipped because a job was using them.
    pub busy: Vec<String>,
    /// Keys kept.
    pub kept: Vec<String>,
    /// Keys whose current generation had more than [`MAX_PACKS`] packs and was repacked
    /// into one (no job was reading it).
    pub repacked: Vec<String>,
}

impl Cache {
    /// The caches under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    /// The executor's caches: `work_dir/cache/srcgit.git`.
    pub fn in_work_dir(work_dir: &Path) -> Cache {
        Cache::new(work_dir.join("cache").join(CACHE_DIR))
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Takes the cache of `key` (lower-case letters, digits and `-`) for fetching: waits
    /// for the lock, checks the current generation and starts a new one when it is missing
    /// or damaged. `log` receives one line per thing worth telling the job log.
    pub fn lock(&self, key: &str, log: &dyn Fn(&str)) -> Result<Locked, GitError> {
        if !valid_key(key) {
            return Err(GitError::Io {
                what: "invalid cache key",
                path: self.root.join(key),
                source: io::Error::from(io::ErrorKind::InvalidInput),
            });
        }
        let project = self.root.join(key);
        let lock = lock_file(&project, true)?.ok_or_else(|| GitError::Io {
            what: "cannot lock",
            path: project.join(LOCK),
            source: io::Error::from(io::ErrorKind::WouldBlock),
        })?;
        let stamp = project.join(LAST_USED);
        fs::write(&stamp, format!("{}\n", unix_seconds(SystemTime::now())))
            .map_err(GitError::io("cannot write", &stamp))?;
        remove_tmp_dirs(&project)?;
        let current = read_current(&project);
        let opened = match &current {
            Some(name) => open_verified(&project.join(name)).map(|repo| (name.clone(), repo)),
            None => Err(String::new()),
        };
        let (generation, repo) = match opened {
            Ok(ok) => ok,
            Err(why) => {
                if let Some(name) = &current {
                    log(&format!(
                        "srcgit: the git cache {key}/{name} is damaged ({why}); starting a new one"
                    ));
                }
                new_generation(&project)?
            }
        };
        Ok(Locked {
            key: key.to_string(),
            project,
            _lock: lock,
            generation,
            repo,
        })
    }

    /// Drops the caches not used for longer than `max_age` (as of `now`) and the old
    /// generations no job reads any more. A cache a job holds is left alone.
    pub fn prune(&self, max_age: Duration, now: SystemTime) -> Result<Pruned, GitError> {
        let mut pruned = Pruned::default();
        let entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(pruned),
            Err(e) => return Err(GitError::io("cannot read", &self.root)(e)),
        };
        let mut keys = Vec::new();
        for entry in entries {
            let entry = entry.map_err(GitError::io("cannot read", &self.root))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(TMP) {
                // a prune killed half-way through
                remove_dir(&entry.path())?;
            } else if valid_key(&name) {
                keys.push(name);
            }
        }
        keys.sort();
        for key in keys {
            let project = self.root.join(&key);
            let Some(lock) = lock_file(&project, false)? else {
                pruned.busy.push(key);
                continue;
            };
            remove_tmp_dirs(&project)?;
            let last_used = fs::metadata(project.join(LAST_USED))
                .or_else(|_| fs::metadata(&project))
                .and_then(|m| m.modified())
                .unwrap_or(now);
            let stale = now.duration_since(last_used).unwrap_or_default() > max_age;
            let current = read_current(&project);
            let mut in_use = false;
            for generation in generations(&project)? {
                if !stale && current.as_deref() == Some(generation.as_str()) {
                    continue;
                }
                let dir = project.join(&generation);
                match lock_exclusive_now(&dir.join(IN_USE))? {
                    Some(_held) => {
                        let doomed = project.join(format!("{generation}{TMP}"));
                        fs::rename(&dir, &doomed).map_err(GitError::io("cannot rename", &dir))?;
                        remove_dir(&doomed)?;
                        pruned
                            .removed_generations
                            .push(format!("{key}/{generation}"));
                    }
                    None => in_use = true,
                }
            }
            if !stale && let Some(current) = &current {
                let dir = project.join(current);
                if count_packs(&dir) > MAX_PACKS
                    && let Some(_nobody_reads) = lock_exclusive_now(&dir.join(IN_USE))?
                {
                    // the lock keeps fetches out, the in-use lock readers: objects that
                    // no ref reaches any more (an MR head pushed over) go with the old packs
                    repack(&dir)?;
                    pruned.repacked.push(key.clone());
                }
            }
            if stale && !in_use {
                // Renamed first: a job that arrives now starts a fresh directory, and one
                // waiting on our lock sees that its lock file is gone and takes the new one.
                let doomed = self.root.join(format!("{key}.{}{TMP}", std::process::id()));
                fs::rename(&project, &doomed).map_err(GitError::io("cannot rename", &project))?;
                drop(lock);
                remove_dir(&doomed)?;
                pruned.removed.push(key);
            } else if stale {
                pruned.busy.push(key);
            } else {
                pruned.kept.push(key);
            }
        }
        Ok(pruned)
    }
}

/// A cache taken for fetching (its lock held).
pub struct Locked {
    key: String,
    project: PathBuf,
    _lock: File,
    generation: String,
    repo: Repository,
}

impl std::fmt::Debug for Locked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Locked")
            .field("key", &self.key)
            .field("generation", &self.generation)
            .finish()
    }
}

impl Locked {
    /// The bare repository of the current generation.
    pub fn repo(&self) -> &Repository {
        &self.repo
    }

    /// `key/gN.git`, for messages.
    pub fn name(&self) -> String {
        format!("{}/{}", self.key, self.generation)
    }

    /// Fetches `refspecs` from `url`; returns the bytes received. A failure that is not the
    /// network's (the local repository broke: a damaged pack, a full disk) starts a new
    /// generation and fetches once more into it.
    pub fn fetch(
        &mut self,
        url: &str,
        refspecs: &[String],
        credentials: &Credentials,
        log: &dyn Fn(&str),
    ) -> Result<u64, GitError> {
        let what = || format!("cannot fetch {} from {url}", refspecs.join(" "));
        match git::fetch_counted(&self.repo, url, refspecs, credentials) {
            Ok(bytes) => Ok(bytes),
            Err(e) if is_local_damage(&e) => {
                log(&format!(
                    "srcgit: fetching into the git cache {} failed ({}); starting a new one",
                    self.name(),
                    e.message()
                ));
                self.rebuild()?;
                git::fetch_counted(&self.repo, url, refspecs, credentials).map_err(|source| {
                    GitError::Git2 {
                        what: what(),
                        source,
                    }
                })
            }
            Err(source) => Err(GitError::Git2 {
                what: what(),
                source,
            }),
        }
    }

    /// Replaces the current generation by a new, empty one (the old one stays until
    /// [`Cache::prune`] finds no job reading it).
    pub fn rebuild(&mut self) -> Result<(), GitError> {
        let (generation, repo) = new_generation(&self.project)?;
        self.generation = generation;
        self.repo = repo;
        Ok(())
    }

    /// The value of `name` in the cache, if it names an object that exists.
    pub fn ref_target(&self, name: &str) -> Option<Oid> {
        let oid = self.repo.refname_to_id(name).ok()?;
        self.repo.odb().ok()?.exists(oid).then_some(oid)
    }

    /// Every ref under `prefix` (e.g. `refs/tags/`) with its value.
    pub fn refs_under(&self, prefix: &str) -> Result<Vec<(String, Oid)>, GitError> {
        let glob = format!("{prefix}*");
        let mut out = Vec::new();
        for reference in self
            .repo
            .references_glob(&glob)
            .map_err(GitError::git2("cannot list the refs of the cache"))?
        {
            let reference = reference.map_err(GitError::git2("cannot read a ref of the cache"))?;
            if let (Some(name), Some(oid)) = (reference.name().ok(), reference.target()) {
                out.push((name.to_string(), oid));
            }
        }
        Ok(out)
    }

    /// Deletes a ref of the cache (nothing when it does not exist).
    pub fn delete_ref(&self, name: &str) -> Result<(), GitError> {
        match self.repo.find_reference(name) {
            Ok(mut reference) => reference
                .delete()
                .map_err(GitError::git2(format!("cannot delete {name} in the cache"))),
            Err(_) => Ok(()),
        }
    }

    /// Puts the objects a job repository wrote (its dist-git commit, pushed) into the
    /// cache and points `name` at `commit`, so the next job's fetch of that branch
    /// transfers nothing. The job's packs are linked in (the commit writes one), its loose
    /// objects packed: one pack rather than hundreds of loose files, because a job writes
    /// a blob per patch and creating that many files costs more than the pack. A pack
    /// appears before its index, and libgit2 writes under temporary names and renames, so
    /// a kill leaves nothing a reader takes for a pack (the next lock removes the rest).
    ///
    /// Only into the generation the job read (`used`): the job's new objects lean on the
    /// others of that generation. Returns whether it adopted them.
    pub fn adopt(
        &self,
        used: &InUse,
        job_git_dir: &Path,
        name: &str,
        commit: Oid,
    ) -> Result<bool, GitError> {
        let to = self.repo.path().join("objects");
        if fs::canonicalize(&to).ok() != fs::canonicalize(used.objects_dir()).ok() {
            return Ok(false);
        }
        link_packs(&job_git_dir.join("objects/pack"), &to.join("pack"))?;
        let job = Repository::open(job_git_dir).map_err(GitError::git2(format!(
            "cannot open the job repository {}",
            job_git_dir.display()
        )))?;
        let mut pack = job
            .packbuilder()
            .map_err(GitError::git2("cannot start a pack"))?;
        for oid in loose_objects(&job_git_dir.join("objects"))? {
            pack.insert_object(oid, None)
                .map_err(GitError::git2("cannot add an object to the pack"))?;
        }
        if pack.object_count() > 0 {
            pack.write(&to.join("pack"), 0o444)
                .map_err(GitError::git2("cannot write a pack into the git cache"))?;
        }
        self.repo
            .find_commit(commit)
            .map_err(GitError::git2("the pushed commit is not in the cache"))?;
        self.repo
            .reference(name, commit, true, "srcgit: pushed")
            .map_err(GitError::git2(format!("cannot set {name} in the cache")))?;
        Ok(true)
    }

    /// Ends the fetching: the lock is released, and the returned handle keeps this
    /// generation from being deleted while the job reads it.
    pub fn into_use(self) -> Result<InUse, GitError> {
        let dir = self.project.join(&self.generation);
        let path = dir.join(IN_USE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(GitError::io("cannot open", &path))?;
        file.lock_shared()
            .map_err(GitError::io("cannot lock", &path))?;
        Ok(InUse {
            objects: dir.join("objects"),
            _lock: file,
        })
    }
}

/// A generation a job reads through its alternates; it is not deleted while this lives.
#[derive(Debug)]
pub struct InUse {
    objects: PathBuf,
    _lock: File,
}

impl InUse {
    /// The object directory the job's repositories borrow from.
    pub fn objects_dir(&self) -> &Path {
        &self.objects
    }
}

/// Where a job repository's HEAD points.
#[derive(Debug, Clone)]
pub enum Head {
    /// Detached at a commit.
    Detached(Oid),
    /// At a branch (one of the refs given).
    Branch(String),
}

/// What a job repository materialises in its work tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checkout {
    /// The whole tree of HEAD.
    Full,
    /// Only these top-level paths of HEAD's tree (the index holds only them too).
    Paths(Vec<String>),
}

/// Creates a repository with a work tree at `dir` that reads the objects of `objects`
/// (through `objects/info/alternates`), has exactly `refs`, HEAD as given, and the work
/// tree of `checkout`. Objects it writes (a commit) stay in its own `.git`.
pub fn job_repository(
    dir: &Path,
    objects: &Path,
    refs: &[(String, Oid)],
    head: &Head,
    checkout: &Checkout,
) -> Result<Repository, GitError> {
    let repo = Repository::init(dir).map_err(GitError::git2(format!(
        "cannot create a repository in {}",
        dir.display()
    )))?;
    let git_dir = repo.path().to_path_buf();
    drop(repo);
    let alternates = git_dir.join("objects/info/alternates");
    let objects = fs::canonicalize(objects).map_err(GitError::io("cannot resolve", objects))?;
    fs::write(&alternates, format!("{}\n", objects.display()))
        .map_err(GitError::io("cannot write", &alternates))?;
    // one packed-refs file rather than a file per tag: a few KiB even for thousands of tags
    let mut sorted: Vec<&(String, Oid)> = refs.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    sorted.dedup_by(|a, b| a.0 == b.0);
    let mut packed = String::from("# pack-refs with: sorted \n");
    for (name, oid) in sorted {
        if git2::Reference::is_valid_name(name) {
            packed.push_str(&format!("{oid} {name}\n"));
        }
    }
    let packed_path = git_dir.join("packed-refs");
    fs::write(&packed_path, packed).map_err(GitError::io("cannot write", &packed_path))?;
    let head_text = match head {
        Head::Detached(oid) => format!("{oid}\n"),
        Head::Branch(name) => format!("ref: {name}\n"),
    };
    let head_path = git_dir.join("HEAD");
    fs::write(&head_path, head_text).map_err(GitError::io("cannot write", &head_path))?;
    let repo = Repository::open(dir).map_err(GitError::git2(format!(
        "cannot open the repository in {}",
        dir.display()
    )))?;
    let mut builder = git2::build::CheckoutBuilder::new();
    builder.force();
    if let Checkout::Paths(paths) = checkout {
        for path in paths {
            builder.path(path);
        }
    }
    repo.checkout_head(Some(&mut builder))
        .map_err(GitError::git2(format!(
            "cannot check out the work tree in {}",
            dir.display()
        )))?;
    Ok(repo)
}

/// `.distro/source-git.yaml` as committed in `commit` (parsed as the conversion will, for
/// a dist-git directory named `dist_git_dir_name`); `None` when it is absent or invalid
/// (the conversion then reports it).
pub fn committed_config(
    repo: &Repository,
    commit: Oid,
    dist_git_dir_name: &str,
) -> Option<PackageConfig> {
    let tree = repo.find_commit(commit).ok()?.tree().ok()?;
    let entry = tree.get_path(Path::new(config::CONFIG_PATH)).ok()?;
    let blob = repo.find_blob(entry.id()).ok()?;
    let text = std::str::from_utf8(blob.content()).ok()?;
    config::parse(text, dist_git_dir_name).ok()
}

/// The part of a source-git tree the conversion reads from the work tree: `.distro/` and
/// the top-level entries `files_to_sync` copies from. Everything else — the upstream
/// tree — is only read as objects, by `git format-patch`. A source that is not a plain
/// path (a glob at the top level, `.`) asks for the whole tree.
pub fn sync_checkout(config: Option<&PackageConfig>) -> Checkout {
    let tops = match config {
        Some(config) => config.sync_source_tops(),
        None => Some(Vec::new()),
    };
    match tops {
        None => Checkout::Full,
        Some(tops) => {
            let mut paths = vec![".distro".to_string()];
            paths.extend(tops.into_iter().filter(|t| t != ".distro"));
            Checkout::Paths(paths)
        }
    }
}

/// How many packs a generation holds.
fn count_packs(dir: &Path) -> usize {
    fs::read_dir(dir.join("objects/pack")).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".idx"))
            .count()
    })
}

/// `git repack -a -d` in a generation, git's configuration left out (it reuses the deltas
/// the packs have, which libgit2's pack builder would compute again).
fn repack(dir: &Path) -> Result<(), GitError> {
    GitCli::new(GitEnv::Isolated {
        home: dir.to_path_buf(),
    })
    .repack_all(dir)
}

/// Hard-links (or, across file systems, copies) every pack of `from` into `to`: the pack,
/// then its index, each under a temporary name first. Packs `to` has are skipped.
fn link_packs(from: &Path, to: &Path) -> Result<(), GitError> {
    let Ok(entries) = fs::read_dir(from) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry.map_err(GitError::io("cannot read", from))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".idx") else {
            continue;
        };
        for suffix in [".pack", ".idx"] {
            let file = format!("{stem}{suffix}");
            let (source, target) = (from.join(&file), to.join(&file));
            if target.exists() {
                continue;
            }
            let tmp = to.join(format!("tmp_srcgit_{file}.tmp"));
            let _ = fs::remove_file(&tmp);
            fs::hard_link(&source, &tmp)
                .or_else(|_| fs::copy(&source, &tmp).map(drop))
                .and_then(|()| fs::rename(&tmp, &target))
                .map_err(GitError::io("cannot put a pack into", to))?;
        }
    }
    Ok(())
}

/// The loose objects under `objects` (`xx/yyyy…` files).
fn loose_objects(objects: &Path) -> Result<Vec<Oid>, GitError> {
    let mut out = Vec::new();
    for fan in fs::read_dir(objects).map_err(GitError::io("cannot read", objects))? {
        let fan = fan.map_err(GitError::io("cannot read", objects))?;
        let prefix = fan.file_name().to_string_lossy().into_owned();
        if prefix.len() != 2 || !prefix.chars().all(|c| c.is_ascii_hexdigit()) {
            continue;
        }
        for object in fs::read_dir(fan.path()).map_err(GitError::io("cannot read", fan.path()))? {
            let object = object.map_err(GitError::io("cannot read", fan.path()))?;
            let rest = object.file_name().to_string_lossy().into_owned();
            if let Ok(oid) = Oid::from_str(&format!("{prefix}{rest}"))
                && rest.len() >= 38
            {
                out.push(oid);
            }
        }
    }
    Ok(out)
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 100
        && !key.starts_with('-')
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Opens (creating `dir` as needed) and flocks `dir/lock`. The lock file can be removed
/// while we wait for it (a prune of the whole directory); the lock then protects nothing,
/// so it is taken again on the file now at that path. `None` when not blocking and busy.
fn lock_file(dir: &Path, blocking: bool) -> Result<Option<File>, GitError> {
    let path = dir.join(LOCK);
    loop {
        fs::create_dir_all(dir).map_err(GitError::io("cannot create", dir))?;
        let file = match OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
        {
            Ok(file) => file,
            // removed between create_dir_all and open: try again
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(GitError::io("cannot open", &path)(e)),
        };
        if blocking {
            file.lock().map_err(GitError::io("cannot lock", &path))?;
        } else {
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => return Ok(None),
                Err(TryLockError::Error(e)) => return Err(GitError::io("cannot lock", &path)(e)),
            }
        }
        let held = file
            .metadata()
            .map_err(GitError::io("cannot stat", &path))?;
        match fs::metadata(&path) {
            Ok(now) if now.ino() == held.ino() && now.dev() == held.dev() => return Ok(Some(file)),
            _ => continue,
        }
    }
}

/// An exclusive flock on `path` if nobody holds it now (never waits).
fn lock_exclusive_now(path: &Path) -> Result<Option<File>, GitError> {
    let file = match OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
    {
        Ok(file) => file,
        Err(e) => return Err(GitError::io("cannot open", path)(e)),
    };
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(GitError::io("cannot lock", path)(e)),
    }
}

fn remove_dir(path: &Path) -> Result<(), GitError> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(GitError::io("cannot remove", path)(e)),
    }
}

/// Removes generations half-created or half-deleted by a killed process (only ever
/// called with the lock held, so nobody is creating one now).
fn remove_tmp_dirs(project: &Path) -> Result<(), GitError> {
    for entry in fs::read_dir(project).map_err(GitError::io("cannot read", project))? {
        let entry = entry.map_err(GitError::io("cannot read", project))?;
        if entry.file_name().to_string_lossy().ends_with(TMP) {
            remove_dir(&entry.path())?;
        }
    }
    Ok(())
}

/// `gN.git` directories, oldest first.
fn generations(project: &Path) -> Result<Vec<String>, GitError> {
    let mut out: Vec<(u64, String)> = Vec::new();
    for entry in fs::read_dir(project).map_err(GitError::io("cannot read", project))? {
        let entry = entry.map_err(GitError::io("cannot read", project))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(n) = generation_number(&name) {
            out.push((n, name));
        }
    }
    out.sort();
    Ok(out.into_iter().map(|(_, name)| name).collect())
}

fn generation_number(name: &str) -> Option<u64> {
    name.strip_prefix('g')?.strip_suffix(".git")?.parse().ok()
}

fn read_current(project: &Path) -> Option<String> {
    let text = fs::read_to_string(project.join(CURRENT)).ok()?;
    let name = text.trim();
    (generation_number(name).is_some() && project.join(name).is_dir()).then(|| name.to_string())
}

/// Creates `gN+1.git` (empty, bare) and makes it current.
fn new_generation(project: &Path) -> Result<(String, Repository), GitError> {
    let next = generations(project)?
        .iter()
        .filter_map(|g| generation_number(g))
        .max()
        .map_or(1, |n| n + 1);
    let name = format!("g{next}.git");
    let building = project.join(format!("{name}{TMP}"));
    remove_dir(&building)?;
    Repository::init_bare(&building).map_err(GitError::git2(format!(
        "cannot create a git cache in {}",
        building.display()
    )))?;
    let dir = project.join(&name);
    fs::rename(&building, &dir).map_err(GitError::io("cannot rename", &building))?;
    let current = project.join(CURRENT);
    let tmp = project.join(format!("{CURRENT}.new"));
    let mut file = File::create(&tmp).map_err(GitError::io("cannot write", &tmp))?;
    file.write_all(format!("{name}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(GitError::io("cannot write", &tmp))?;
    fs::rename(&tmp, &current).map_err(GitError::io("cannot rename", &tmp))?;
    let repo = Repository::open_bare(&dir).map_err(GitError::git2(format!(
        "cannot open the git cache {}",
        dir.display()
    )))?;
    Ok((name, repo))
}

/// Opens a generation after removing what a killed fetch left behind and checking that
/// nothing is damaged; `Err` says what is wrong.
fn open_verified(dir: &Path) -> Result<Repository, String> {
    remove_leftovers(dir).map_err(|e| format!("cannot clean it: {e}"))?;
    check_packs(&dir.join("objects/pack"))?;
    let repo = Repository::open_bare(dir).map_err(|e| e.message().to_string())?;
    let odb = repo.odb().map_err(|e| e.message().to_string())?;
    let references = repo.references().map_err(|e| e.message().to_string())?;
    for reference in references {
        let reference = reference.map_err(|e| format!("a ref is unreadable: {}", e.message()))?;
        let name = reference.name().unwrap_or("?").to_string();
        let target = reference
            .resolve()
            .ok()
            .and_then(|r| r.target())
            .ok_or_else(|| format!("{name} points nowhere"))?;
        if !odb.exists(target) {
            return Err(format!("{name} points at the missing object {target}"));
        }
    }
    drop(odb);
    Ok(repo)
}

/// Temporary packs and ref locks of a fetch that was killed; only the lock holder fetches,
/// so with the lock held every such file is a leftover.
fn remove_leftovers(dir: &Path) -> io::Result<()> {
    let pack_dir = dir.join("objects/pack");
    if let Ok(entries) = fs::read_dir(&pack_dir) {
        let names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        for name in &names {
            let keep = match name.rsplit_once('.') {
                Some((stem, "pack")) => names.contains(&format!("{stem}.idx")),
                Some((_, "idx" | "keep" | "rev" | "bitmap" | "mtimes" | "promisor")) => true,
                _ => false,
            };
            if !keep {
                fs::remove_file(pack_dir.join(name))?;
            }
        }
    }
    for lock in [
        "packed-refs.lock",
        "HEAD.lock",
        "config.lock",
        "shallow.lock",
    ] {
        match fs::remove_file(dir.join(lock)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    fn ref_locks(dir: &Path) -> io::Result<()> {
        let Ok(entries) = fs::read_dir(dir) else {
            return Ok(());
        };
        for entry in entries {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                ref_locks(&entry.path())?;
            } else if entry.file_name().to_string_lossy().ends_with(".lock") {
                fs::remove_file(entry.path())?;
            }
        }
        Ok(())
    }
    ref_locks(&dir.join("refs"))?;
    if let Ok(fans) = fs::read_dir(dir.join("objects")) {
        for fan in fans.filter_map(Result::ok) {
            if fan.file_name().len() != 2 {
                continue;
            }
            for object in fs::read_dir(fan.path())?.filter_map(Result::ok) {
                if object.file_name().to_string_lossy().starts_with("tmp_") {
                    fs::remove_file(object.path())?;
                }
            }
        }
    }
    Ok(())
}

/// Every `.idx` has its `.pack`, and each pack is whole: its header counts the objects the
/// index lists, and it ends with the checksum the index records for it. Reads a few
/// bytes per pack, not the packs.
fn check_packs(pack_dir: &Path) -> Result<(), String> {
    let Ok(entries) = fs::read_dir(pack_dir) else {
        return Ok(());
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".idx") else {
            continue;
        };
        let pack = pack_dir.join(format!("{stem}.pack"));
        check_pack(&entry.path(), &pack).map_err(|why| format!("{stem}.pack: {why}"))?;
    }
    Ok(())
}

fn check_pack(idx_path: &Path, pack_path: &Path) -> Result<(), String> {
    let io_err = |e: io::Error| e.to_string();
    let mut idx = File::open(idx_path).map_err(io_err)?;
    let idx_len = idx.metadata().map_err(io_err)?.len();
    let mut head = [0u8; 8 + 1024];
    idx.read_exact(&mut head)
        .map_err(|_| "its index is truncated".to_string())?;
    if head[..8] != [0xff, b't', b'O', b'c', 0, 0, 0, 2] {
        return Err("its index is not a version 2 pack index".into());
    }
    let count = u64::from(u32::from_be_bytes(head[1028..1032].try_into().unwrap()));
    let minimum = 8 + 1024 + count * 28 + 40;
    if idx_len < minimum || (idx_len - minimum) % 8 != 0 {
        return Err("its index is truncated".into());
    }
    let mut idx_trailer = [0u8; 40];
    idx.seek(SeekFrom::Start(idx_len - 40)).map_err(io_err)?;
    idx.read_exact(&mut idx_trailer).map_err(io_err)?;
    let mut pack = File::open(pack_path).map_err(|_| "the pack is missing".to_string())?;
    let pack_len = pack.metadata().map_err(io_err)?.len();
    if pack_len < 12 + 20 {
        return Err("the pack is truncated".into());
    }
    let mut pack_head = [0u8; 12];
    pack.read_exact(&mut pack_head).map_err(io_err)?;
    if &pack_head[..4] != b"PACK"
        || u64::from(u32::from_be_bytes(pack_head[8..12].try_into().unwrap())) != count
    {
        return Err("the pack does not match its index".into());
    }
    let mut pack_trailer = [0u8; 20];
    pack.seek(SeekFrom::Start(pack_len - 20)).map_err(io_err)?;
    pack.read_exact(&mut pack_trailer).map_err(io_err)?;
    if pack_trailer != idx_trailer[..20] {
        return Err(
            "the pack is truncated or damaged (its checksum is not the one its index records)"
                .into(),
        );
    }
    Ok(())
}

/// Errors that say the local repository is broken, not the network or the remote.
fn is_local_damage(e: &git2::Error) -> bool {
    matches!(
        e.class(),
        ErrorClass::Odb
            | ErrorClass::Zlib
            | ErrorClass::Indexer
            | ErrorClass::Reference
            | ErrorClass::Os
            | ErrorClass::Filesystem
            | ErrorClass::Object
            | ErrorClass::Repository
            | ErrorClass::Index
            | ErrorClass::Tree
    )
}

#[cfg(test)]
mod tests;
