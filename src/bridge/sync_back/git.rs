//! The blocking git half of the way back: fetch the source-git target branch (and the
//! sync branch, if any) and the dist-git branch into a work directory, find the sync
//! point, run `update-source-git` once per candidate commit on top of the target head,
//! and push the result with a lease. The token only reaches libgit2's credentials
//! callback.

use std::path::PathBuf;

use git2::{Oid, Repository};

use super::text::{self, Listed, NotCarried, Plan, RangeCommit};
use crate::bridge::BridgeError;
use crate::repo::git::{self, Credentials, GitCli, GitError, Identity, LeasePush, Repo};
use crate::repo::update_source_git::{
    CommitResult, UsgError, UsgOptions, UsgOutcome, update_source_git,
};

/// Where the source-git target branch is fetched to.
const TARGET_REF: &str = "refs/srcgit/target";
/// Where the existing sync branch is fetched to.
const EXISTING_REF: &str = "refs/srcgit/existing";
/// The local branch the synced commits are made on.
const LOCAL_BRANCH: &str = "refs/heads/srcgit-sync";

/// Everything the blocking part needs, owned.
pub(super) struct GitJob {
    /// The per-run directory (removed first and after).
    pub dir: PathBuf,
    pub credentials: Credentials,
    pub source_url: String,
    pub rpms_url: String,
    /// The dist-git work tree's directory name: update-source-git reads the package name
    /// from it when `source-git.yaml` does not say.
    pub package: String,
    pub branch: String,
    pub sync_branch: String,
    pub sync_branch_exists: bool,
    pub committer: Identity,
}

/// What the run produced locally, before anything is pushed.
pub(super) struct Built {
    pub dist_git_head: Oid,
    pub sync_point: Oid,
    /// The local result (the target head when nothing was synced).
    pub result_head: Oid,
    /// The sync branch as fetched.
    pub existing: Option<Oid>,
    /// The sync branch already holds exactly the commits synced now (by their
    /// `From-dist-git-commit` trailers): nothing to push.
    pub existing_matches: bool,
    pub synced: Vec<Listed>,
    pub not_carried: Vec<(Listed, NotCarried)>,
    pub skipped: usize,
}

fn usg_error(e: UsgError) -> BridgeError {
    if e.is_user_error() {
        BridgeError::Build(e.to_string())
    } else {
        BridgeError::Host(crate::error_chain(&e))
    }
}

impl GitJob {
    fn source_dir(&self) -> PathBuf {
        self.dir.join("source")
    }

    fn dist_dir(&self) -> PathBuf {
        self.dir.join("dist").join(&self.package)
    }

    /// Fetches, finds the range and syncs it locally.
    pub(super) fn build(&self) -> Result<Built, BridgeError> {
        if self.dir.exists() {
            std::fs::remove_dir_all(&self.dir).map_err(GitError::io("cannot clean", &self.dir))?;
        }
        for path in [self.source_dir(), self.dist_dir(), self.dir.join("home")] {
            std::fs::create_dir_all(&path).map_err(GitError::io("cannot create", &path))?;
        }
        let (target_head, existing) = self.fetch_source()?;
        let dist_git_head = self.fetch_dist_git()?;
        let source = Repo::open(&self.source_dir())?;
        let dist = Repo::open(&self.dist_dir())?;
        let sync_point =
            sync_point(&source, target_head, &dist, dist_git_head)?.ok_or_else(|| {
                BridgeError::Build(format!(
                    "dist-git branch {} and source-git branch {} share no sync point: no dist-git \
                 commit carries From-source-git-commit and no source-git commit names a \
                 dist-git commit of the branch in From-dist-git-commit",
                    self.branch, self.branch
                ))
            })?;
        let range = range_commits(&dist, sync_point, dist_git_head)?;
        let mut built = Built {
            dist_git_head,
            sync_point,
            result_head: target_head,
            existing,
            existing_matches: false,
            synced: Vec::new(),
            not_carried: Vec::new(),
            skipped: 0,
        };
        let mut failed: Option<String> = None;
        for (commit, plan) in range.iter().zip(text::plan(&range)) {
            let listed = listed(&dist, commit)?;
            if plan != Plan::Carry {
                built.skipped += 1;
                continue;
            }
            if let Some(first) = &failed {
                built
                    .not_carried
                    .push((listed, NotCarried::After(first.clone())));
                continue;
            }
            match self.carry(commit) {
                Ok(true) => built.synced.push(listed),
                Ok(false) => built.skipped += 1,
                Err(Carry::Refused(reason)) => built
                    .not_carried
                    .push((listed, NotCarried::Refused(reason))),
                Err(Carry::DoesNotApply(why)) => {
                    failed = Some(commit.sha[..8].to_string());
                    built
                        .not_carried
                        .push((listed, NotCarried::DoesNotApply(why)));
                }
                Err(Carry::Failed(e)) => return Err(e),
            }
        }
        built.result_head = source.head()?;
        if let Some(existing) = existing {
            let theirs = synced_on(&source, existing, target_head)?;
            let ours: Vec<&str> = built.synced.iter().map(|c| c.sha.as_str()).collect();
            built.existing_matches = theirs == ours;
        }
        Ok(built)
    }

    /// Runs update-source-git on one commit; `Ok(true)` when it made a source-git commit.
    fn carry(&self, commit: &RangeCommit) -> Result<bool, Carry> {
        let dist = Repo::open(&self.dist_dir()).map_err(|e| Carry::Failed(e.into()))?;
        let oid = Oid::from_str(&commit.sha)
            .map_err(|e| Carry::Failed(GitError::git2("bad sha")(e).into()))?;
        let parent = dist
            .git2()
            .find_commit(oid)
            .and_then(|c| c.parent_id(0))
            .map_err(|e| {
                Carry::Failed(GitError::git2("cannot read a dist-git commit")(e).into())
            })?;
        let opts = UsgOptions {
            dist_git: self.dist_dir(),
            source_git: self.source_dir(),
            range: Some(format!("{parent}..{oid}")),
            force: true,
            git: GitCli::new(crate::bridge::git_env(&self.dir)),
            committer: Some(self.committer.clone()),
            display_paths: None,
        };
        match update_source_git(&opts) {
            Ok(UsgOutcome::Synced(summary)) => Ok(summary
                .commits
                .iter()
                .any(|c| matches!(c.result, CommitResult::Synced(_)))),
            Ok(UsgOutcome::UpToDate(_)) => Ok(false),
            Err(UsgError::Refused(refusals)) => match refusals.into_iter().next() {
                Some(r) => Err(Carry::Refused(r.reason)),
                None => Err(Carry::Failed(BridgeError::Host(
                    "update-source-git refused a commit without a reason".into(),
                ))),
            },
            Err(e @ (UsgError::ApplyFailed { .. } | UsgError::RenameSourceMissing { .. })) => {
                let text = e.to_string();
                Err(Carry::DoesNotApply(
                    text.lines().next().unwrap_or_default().to_string(),
                ))
            }
            Err(e) => Err(Carry::Failed(usg_error(e))),
        }
    }

    /// Fetches the target branch (and the sync branch) and checks out a local branch at
    /// the target head; returns the target head and the sync branch head.
    fn fetch_source(&self) -> Result<(Oid, Option<Oid>), BridgeError> {
        let dir = self.source_dir();
        let repo = Repository::init(&dir)
            .map_err(GitError::git2("cannot create the source-git work tree"))?;
        let mut specs = vec![format!("+refs/heads/{}:{TARGET_REF}", self.branch)];
        if self.sync_branch_exists {
            specs.push(format!("+refs/heads/{}:{EXISTING_REF}", self.sync_branch));
        }
        git::fetch(&repo, &self.source_url, &specs, &self.credentials)?;
        let target = repo
            .refname_to_id(TARGET_REF)
            .map_err(GitError::git2("the source-git branch was not fetched"))?;
        let existing = repo.refname_to_id(EXISTING_REF).ok();
        let commit = repo
            .find_commit(target)
            .map_err(GitError::git2("cannot read the source-git head"))?;
        repo.branch("srcgit-sync", &commit, true)
            .and_then(|_| repo.set_head(LOCAL_BRANCH))
            .and_then(|()| repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force())))
            .map_err(GitError::git2("cannot check out the source-git branch"))?;
        Ok((target, existing))
    }

    /// Fetches the dist-git branch and checks it out; returns its head.
    fn fetch_dist_git(&self) -> Result<Oid, BridgeError> {
        let repo = Repository::init(self.dist_dir())
            .map_err(GitError::git2("cannot create the dist-git work tree"))?;
        let local = format!("refs/heads/{}", self.branch);
        git::fetch(
            &repo,
            &self.rpms_url,
            &[format!("+{local}:{local}")],
            &self.credentials,
        )?;
        repo.set_head(&local)
            .and_then(|()| repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force())))
            .map_err(GitError::git2("cannot check out the dist-git branch"))?;
        Ok(repo
            .refname_to_id(&local)
            .map_err(GitError::git2("the dist-git branch was not fetched"))?)
    }

    /// Pushes the local result to the sync branch, expecting it where it was fetched.
    pub(super) fn push(&self, built: &Built) -> Result<LeasePush, BridgeError> {
        let source = Repo::open(&self.source_dir())?;
        Ok(git::push_with_lease(
            source.git2(),
            &self.source_url,
            LOCAL_BRANCH,
            &format!("refs/heads/{}", self.sync_branch),
            built.existing,
            &self.credentials,
        )?)
    }
}

/// Why one commit was not carried.
enum Carry {
    Refused(crate::convert::update_source_git::RefusalReason),
    DoesNotApply(String),
    Failed(BridgeError),
}

/// The newest dist-git commit that is a sync point: one carrying
/// `From-source-git-commit`, or the one the newest `From-dist-git-commit` trailer of
/// source-git names — whichever is newer.
fn sync_point(
    source: &Repo,
    source_head: Oid,
    dist: &Repo,
    dist_head: Oid,
) -> Result<Option<Oid>, GitError> {
    let from_sg = git::first_matching_commit(dist.git2(), dist_head, |m| {
        text::came_from_source_git(&String::from_utf8_lossy(m))
    })?;
    let named = git::first_matching_commit(source.git2(), source_head, |m| {
        !text::synced_from(&String::from_utf8_lossy(m)).is_empty()
    })?;
    let named = match named {
        Some(oid) => {
            let message = source.message(oid)?;
            text::synced_from(&message)
                .first()
                .and_then(|sha| dist.resolve_commit(sha))
                .filter(|dg| dist.is_ancestor(*dg, dist_head).unwrap_or(false))
        }
        None => None,
    };
    Ok(match (named, from_sg) {
        (Some(n), Some(f)) => Some(if dist.is_ancestor(f, n)? { n } else { f }),
        (one, other) => one.or(other),
    })
}

/// `point..head`, oldest first (`git rev-list --reverse`).
fn range_commits(dist: &Repo, point: Oid, head: Oid) -> Result<Vec<RangeCommit>, GitError> {
    let mut oids = git::date_order_walk(dist.git2(), head, Some(point))?;
    oids.reverse();
    oids.into_iter()
        .map(|oid| {
            let commit = dist
                .git2()
                .find_commit(oid)
                .map_err(GitError::git2(format!("cannot read dist-git commit {oid}")))?;
            Ok(RangeCommit {
                sha: oid.to_string(),
                parents: commit.parent_count(),
                message: String::from_utf8_lossy(commit.message_bytes()).into_owned(),
            })
        })
        .collect()
}

fn listed(dist: &Repo, commit: &RangeCommit) -> Result<Listed, GitError> {
    let oid = Oid::from_str(&commit.sha).map_err(GitError::git2("bad sha"))?;
    let c = dist
        .git2()
        .find_commit(oid)
        .map_err(GitError::git2(format!("cannot read dist-git commit {oid}")))?;
    Ok(Listed {
        sha: commit.sha.clone(),
        subject: commit
            .message
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
        author: c.author().name().unwrap_or("unknown").to_string(),
    })
}

/// The dist-git commits the sync branch carries on top of the target, oldest first.
fn synced_on(source: &Repo, branch: Oid, target: Oid) -> Result<Vec<String>, GitError> {
    let mut oids = git::date_order_walk(source.git2(), branch, Some(target))?;
    oids.reverse();
    let mut out = Vec::new();
    for oid in oids {
        let message = source.message(oid)?;
        out.extend(text::synced_from(&message).into_iter().map(str::to_string));
    }
    Ok(out)
}
