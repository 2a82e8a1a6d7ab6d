//! The git half of `build_script`: fetch the MR head (and the `upstream_ref` tag) and the
//! rpms target branch, convert with the same code as `srcgit convert`, and push the result
//! to the bot fork. git work runs on blocking threads.
//!
//! Fetches go into the host's shared cache ([`crate::repo::cache`]; one per GitLab
//! project, under its lock), so a job transfers only what earlier jobs did not. The job
//! then works in two small repositories of its own that borrow the cache's objects: the
//! source-git one has only `.distro/` (and what `files_to_sync` copies) checked out —
//! `git format-patch` reads the upstream history as objects — and the dist-git one has the
//! rpms branch checked out. The dist-git commit is written into the job's repository.
//!
//! The push is safe against twins on other hosts, which share nothing but GitLab: it
//! expects the fork branch to still hold what was fetched (git's `--force-with-lease`).
//! When another job moved it first, the branch is read again: a conversion of the same
//! source-git commit is used as is; anything else is overwritten only if this job's
//! commit is still the MR head, re-read from GitLab just before each push. A job whose
//! commit is no longer the head ends as "superseded" without pushing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use git2::Oid;

use super::naming;
use super::{BridgeError, Context, Output, Pushed, VerifiedMr, git_env};
use crate::forge::{Forge, Project};
use crate::ids::CommitSha;
use crate::repo::cache::{self, Cache, Checkout, Head, InUse};
use crate::repo::git::{self, Credentials, GitCli, GitError, Identity, LeasePush, Repo};
use crate::repo::sync_status::FROM_SOURCE_GIT;
use crate::repo::update_dist_git::{self, UpdateError, UpdateOptions};

/// How often a push is tried again over a fork branch that other jobs keep moving.
const MAX_PUSH_ROUNDS: usize = 4;

/// The fork ref of the dist-git work tree that mirrors the fork branch.
const FORK_REF: &str = "refs/srcgit/fork";

/// Everything the blocking part needs, owned.
struct RepoJob {
    job_dir: PathBuf,
    cache: Cache,
    /// Cache keys: the source-git project (MR refs live in the target project) and the
    /// rpms project (its fork's objects are fetched there too).
    source_key: String,
    rpms_key: String,
    fork_key: String,
    /// The cache generations the job's repositories read, held until the job is done.
    in_use: Vec<InUse>,
    credentials: Credentials,
    target_url: String,
    pipeline_url: String,
    rpms_url: String,
    fork_url: String,
    fork_has_branch: bool,
    mr_iid: u64,
    pipeline_ref: String,
    pipeline_sha: String,
    target_branch: String,
    fork_branch: String,
    message: String,
    identity: Identity,
    cancel: tokio::sync::watch::Receiver<bool>,
}

/// What the conversion found or made, before anything is pushed.
struct Prepared {
    /// The source-git commit converted.
    source_head: Oid,
    /// The fork branch as fetched (`None`: absent).
    fork_head: Option<Oid>,
    outcome: Outcome,
}

enum Outcome {
    /// The change is empty for dist-git.
    Empty,
    /// The fork branch already holds a conversion of `source_head`.
    AlreadyConverted(Oid),
    /// A new dist-git commit, to push.
    Converted(Oid),
}

/// What one push round did.
enum Round {
    /// Our commit is on the fork branch.
    Pushed,
    /// Another job pushed a conversion of the same source-git commit: use its commit.
    Twin(Oid),
    /// The branch moved to `now` (`None`: deleted), holding a conversion of `holds`.
    Moved {
        now: Option<Oid>,
        holds: Option<Oid>,
    },
}

/// Converts the MR head and pushes it; `None` when the change is empty for dist-git.
pub(super) async fn convert_and_push<F: Forge>(
    ctx: &Context<'_, F>,
    mr: &VerifiedMr,
    fork: &Project,
    fork_branch: &str,
    job_dir: &Path,
) -> Result<Option<Pushed>, BridgeError> {
    let user = ctx.forge.current_user().await?;
    let source = mr.source_mr();
    let pipeline_url = match &mr.source {
        Some(source) if ctx.job.project_id == source.id => &source.http_url_to_repo,
        _ => &mr.target.http_url_to_repo,
    };
    let work = RepoJob {
        job_dir: job_dir.to_path_buf(),
        cache: Cache::in_work_dir(&ctx.settings.work_dir),
        source_key: format!("project-{}", mr.target.id),
        rpms_key: format!("project-{}", mr.rpms.id),
        fork_key: format!("project-{}", fork.id),
        in_use: Vec::new(),
        credentials: Credentials::token(ctx.settings.token.expose()),
        target_url: mr.target.http_url_to_repo.clone(),
        pipeline_url: pipeline_url.clone(),
        rpms_url: mr.rpms.http_url_to_repo.clone(),
        fork_url: fork.http_url_to_repo.clone(),
        fork_has_branch: ctx.forge.branch_head(fork.id, fork_branch).await?.is_some(),
        mr_iid: mr.mr.iid.0,
        pipeline_ref: ctx.job.git_ref.clone(),
        pipeline_sha: ctx.job.sha.0.clone(),
        target_branch: mr.mr.target_branch.clone(),
        fork_branch: fork_branch.to_string(),
        message: naming::dist_git_commit_message(&source),
        cancel: ctx.cancel.clone(),
        identity: naming::bot_identity(
            &ctx.settings.gitlab_url,
            &user.username,
            crate::store::unix_now(),
        ),
    };
    let out = Arc::clone(&ctx.out);
    let (mut work, prepared) = blocking(move || {
        let mut work = work;
        let prepared = work.prepare(out.as_ref())?;
        Ok((work, prepared))
    })
    .await?;
    let source_sha = CommitSha(prepared.source_head.to_string());
    ensure_still_head(ctx, mr, &source_sha).await?;
    let (mut expected, commit) = match prepared.outcome {
        Outcome::Empty => return Ok(None),
        Outcome::AlreadyConverted(existing) => {
            ctx.out.line(&format!(
                "srcgit: the dist-git branch {fork_branch} already holds source-git commit {source_sha}; no new commit"
            ));
            return Ok(Some(Pushed {
                source_sha,
                dist_git_sha: CommitSha(existing.to_string()),
                new_commit: false,
            }));
        }
        Outcome::Converted(commit) => (prepared.fork_head, commit),
    };
    for _round in 0..MAX_PUSH_ROUNDS {
        ctx.check_canceled()?;
        let out = Arc::clone(&ctx.out);
        let source_head = prepared.source_head;
        let (back, round) = blocking(move || {
            let round = work.push(commit, expected, source_head, out.as_ref())?;
            Ok((work, round))
        })
        .await?;
        work = back;
        match round {
            Round::Pushed => {
                work.remember_pushed(commit, ctx.out.as_ref());
                return Ok(Some(Pushed {
                    source_sha,
                    dist_git_sha: CommitSha(commit.to_string()),
                    new_commit: true,
                }));
            }
            Round::Twin(theirs) => {
                ctx.out.line(&format!(
                    "srcgit: another job pushed a conversion of the same source-git commit to {fork_branch} first; using its commit {theirs}"
                ));
                return Ok(Some(Pushed {
                    source_sha,
                    dist_git_sha: CommitSha(theirs.to_string()),
                    new_commit: true,
                }));
            }
            Round::Moved { now, holds } => {
                // Overwrite only while this job's commit is still the MR head.
                ensure_still_head(ctx, mr, &source_sha).await?;
                ctx.out.line(&format!(
                    "srcgit: the dist-git branch {fork_branch} moved to {} (a conversion of {}); {source_sha} is still the merge request head, pushing again",
                    now.map_or_else(|| "nothing".to_string(), |o| o.to_string()),
                    holds.map_or_else(|| "no source-git commit".to_string(), |o| o.to_string()),
                ));
                expected = now;
            }
        }
    }
    Err(BridgeError::Host(format!(
        "the dist-git branch {fork_branch} of the bot fork kept moving; gave up after {MAX_PUSH_ROUNDS} pushes"
    )))
}

/// Runs git work on a blocking thread.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BridgeError> + Send + 'static,
) -> Result<T, BridgeError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BridgeError::Host(format!("the conversion thread failed: {e}")))?
}

/// `Err(Build("superseded by <sha>"))` unless `source_sha` is still the MR's head: a
/// job for an older commit must not push over, or touch the rpms MR of, a newer one.
async fn ensure_still_head<F: Forge>(
    ctx: &Context<'_, F>,
    mr: &VerifiedMr,
    source_sha: &CommitSha,
) -> Result<(), BridgeError> {
    let now = ctx.forge.merge_request(mr.target.id, mr.mr.iid).await?;
    match now.sha {
        Some(head) if head != *source_sha => Err(BridgeError::Build(superseded(&head, source_sha))),
        _ => Ok(()),
    }
}

/// The one line a superseded job ends with.
fn superseded(head: &CommitSha, ours: &CommitSha) -> String {
    format!(
        "superseded by {head}: the merge request head moved on from {ours}; the pipeline of {} converts it, so this job pushes nothing and leaves the dist-git merge request alone",
        head.short()
    )
}

impl RepoJob {
    /// Fetches, and converts unless the fork branch already holds the conversion.
    fn prepare(&mut self, log: &dyn Output) -> Result<Prepared, BridgeError> {
        if self.job_dir.exists() {
            std::fs::remove_dir_all(&self.job_dir)
                .map_err(GitError::io("cannot clean", &self.job_dir))?;
        }
        let home = self.job_dir.join("home");
        std::fs::create_dir_all(&home).map_err(GitError::io("cannot create", &home))?;
        let source_head = self.fetch_source(log)?;
        log.line(&format!("srcgit: source-git head {source_head}"));
        let dist = self.fetch_dist_git(log)?;
        let fork_head = dist.resolve_commit(FORK_REF);
        let prepared = |outcome| {
            Ok(Prepared {
                source_head,
                fork_head,
                outcome,
            })
        };
        if let Some(head) = fork_head
            && converted_from(&dist, head)? == Some(source_head)
        {
            return prepared(Outcome::AlreadyConverted(head));
        }
        let opts = UpdateOptions {
            source_git: self.job_dir.join("source"),
            dist_git: self.job_dir.join("dist"),
            upstream_ref: None,
            message: Some(self.message.clone()),
            force: true,
            git: GitCli::new(git_env(&self.job_dir)),
            identity: Some((self.identity.clone(), self.identity.clone())),
            display_paths: None,
        };
        let commit = match update_dist_git::update_dist_git(&opts) {
            Ok(update_dist_git::UpdateOutcome::Updated(summary)) => summary.commit,
            Ok(update_dist_git::UpdateOutcome::UpToDate(_)) => None,
            Err(UpdateError::NothingToCommit) => return prepared(Outcome::Empty),
            Err(e) => return Err(e.into()),
        };
        match commit {
            Some(commit) => prepared(Outcome::Converted(commit)),
            None => prepared(Outcome::Empty),
        }
    }

    /// One push of `commit`, expecting the fork branch at `expected`; on refusal, reads
    /// the branch again and says what it holds now.
    fn push(
        &self,
        commit: Oid,
        expected: Option<Oid>,
        source_head: Oid,
        log: &dyn Output,
    ) -> Result<Round, BridgeError> {
        if *self.cancel.borrow() {
            return Err(BridgeError::Canceled);
        }
        let dist = Repo::open(&self.job_dir.join("dist"))?;
        log.line(&format!(
            "srcgit: pushing dist-git commit {commit} to branch {} of the bot fork",
            self.fork_branch
        ));
        let local = format!("refs/srcgit/push-{commit}");
        dist.git2()
            .reference(&local, commit, true, "srcgit: to push")
            .map_err(GitError::git2("cannot name the commit to push"))?;
        let remote_ref = format!("refs/heads/{}", self.fork_branch);
        let refused = match git::push_with_lease(
            dist.git2(),
            &self.fork_url,
            &local,
            &remote_ref,
            expected,
            &self.credentials,
        )? {
            LeasePush::Pushed => return Ok(Round::Pushed),
            LeasePush::Stale(message) => message,
        };
        let now = self.refetch_fork(&dist)?;
        if now == expected {
            // Not a race: the server refused the update itself.
            return Err(BridgeError::Host(format!(
                "the bot fork refused the push to {}: {}",
                self.fork_branch,
                refused.unwrap_or_else(|| "no reason given".to_string())
            )));
        }
        let holds = match now {
            Some(head) => converted_from(&dist, head)?,
            None => None,
        };
        Ok(match (now, holds) {
            (Some(head), Some(from)) if from == source_head => Round::Twin(head),
            _ => Round::Moved { now, holds },
        })
    }

    /// Puts the pushed commit's objects into the rpms cache and records it as the fork
    /// branch there, so the next job on this MR fetches nothing from the fork. Best effort:
    /// without it the next job fetches the commit back.
    fn remember_pushed(&self, commit: Oid, log: &dyn Output) {
        let say = |text: &str| log.line(text);
        let result = self.cache.lock(&self.rpms_key, &say).and_then(|cache| {
            let fork_cached = format!("refs/srcgit/{}/{}", self.fork_key, self.fork_branch);
            match self.in_use.last() {
                Some(used) => {
                    cache.adopt(used, &self.job_dir.join("dist/.git"), &fork_cached, commit)
                }
                None => Ok(false),
            }
        });
        if let Err(e) = result {
            tracing::warn!(error = %crate::error_chain(&e), "cannot keep the pushed commit in the git cache");
        }
    }

    /// The fork branch as it is now (`None` when it does not exist), fetched.
    fn refetch_fork(&self, dist: &Repo) -> Result<Option<Oid>, BridgeError> {
        let remote_ref = format!("refs/heads/{}", self.fork_branch);
        if git::remote_ref(dist.git2(), &self.fork_url, &remote_ref, &self.credentials)?.is_none() {
            return Ok(None);
        }
        let spec = format!("+{remote_ref}:{FORK_REF}");
        git::fetch(dist.git2(), &self.fork_url, &[spec], &self.credentials)?;
        Ok(dist.resolve_commit(FORK_REF))
    }

    /// Fetches the MR head (and, for merged-results pipelines, the pipeline's ref) and the
    /// `upstream_ref` tag into the source-git cache, and makes the job's source-git
    /// repository with only `.distro/` checked out; returns the commit to convert.
    fn fetch_source(&mut self, log: &dyn Output) -> Result<Oid, BridgeError> {
        let say = |text: &str| log.line(text);
        let mut cache = self.cache.lock(&self.source_key, &say)?;
        let merged_result =
            self.pipeline_ref.ends_with("/merge") || self.pipeline_ref.ends_with("/train");
        let mr_head = format!("refs/merge-requests/{}/head", self.mr_iid);
        let mut refspecs = vec![format!("+{mr_head}:{mr_head}")];
        if merged_result && self.pipeline_ref.starts_with("refs/") {
            refspecs.push(format!("+{0}:{0}", self.pipeline_ref));
        }
        let mut bytes = cache.fetch(&self.target_url, &refspecs, &self.credentials, &say)?;
        let pipeline_sha =
            Oid::from_str(&self.pipeline_sha).map_err(GitError::git2("invalid pipeline sha"))?;
        if cache.repo().find_commit(pipeline_sha).is_err() {
            // The MR moved on since the pipeline started; the pipeline's commit may still be
            // reachable from the project it runs in.
            let wanted = vec![format!("+{0}:refs/srcgit/sha/{0}", self.pipeline_sha)];
            if let Ok(more) = cache.fetch(&self.pipeline_url, &wanted, &self.credentials, &say) {
                bytes += more;
            }
        }
        let pipeline_commit = cache.repo().find_commit(pipeline_sha).map_err(|_| {
            BridgeError::Build(format!(
                "commit {} of this pipeline is no longer in the merge request; a newer pipeline tests its current head",
                self.pipeline_sha
            ))
        })?;
        // Merged-results pipelines run on a merge commit: convert the MR head (its second parent).
        let head = if merged_result && pipeline_commit.parent_count() == 2 {
            pipeline_commit
                .parent_id(1)
                .map_err(GitError::git2("cannot read the merge commit"))?
        } else {
            pipeline_sha
        };
        drop(pipeline_commit);
        cache
            .repo()
            .find_commit(head)
            .map_err(GitError::git2("cannot read the MR head"))?;
        let config = cache::committed_config(cache.repo(), head, "dist");
        let (tag_bytes, tags) = self.fetch_upstream_tag(
            &mut cache,
            config.as_ref().and_then(|c| c.upstream_ref.as_deref()),
            &say,
        )?;
        bytes += tag_bytes;
        log.line(&format!(
            "srcgit: fetched {} into the git cache {}",
            human_bytes(bytes),
            cache.name()
        ));
        let in_use = cache.into_use()?;
        let checkout = cache::sync_checkout(config.as_ref());
        cache::job_repository(
            &self.job_dir.join("source"),
            in_use.objects_dir(),
            &tags,
            &Head::Detached(head),
            &checkout,
        )?;
        self.in_use.push(in_use);
        Ok(head)
    }

    /// Fetches the tag `upstream_ref` names when GitLab has it and the cache does not (or
    /// holds another value); otherwise — `upstream_ref` is not a tag of the project — all
    /// tags, so that the conversion resolves it (or names the tags near it) as before.
    /// Returns the bytes fetched and the tags the job's repository gets.
    fn fetch_upstream_tag(
        &self,
        cache: &mut cache::Locked,
        upstream_ref: Option<&str>,
        say: &dyn Fn(&str),
    ) -> Result<(u64, Vec<(String, Oid)>), BridgeError> {
        let Some(reference) = upstream_ref else {
            return Ok((0, Vec::new()));
        };
        let name = format!("refs/tags/{reference}");
        if git2::Reference::is_valid_name(&name) {
            let remote = git::remote_ref(cache.repo(), &self.target_url, &name, &self.credentials)?;
            if let Some(remote) = remote {
                let mut bytes = 0;
                if cache.ref_target(&name) != Some(remote) {
                    bytes = cache.fetch(
                        &self.target_url,
                        &[format!("+{name}:{name}")],
                        &self.credentials,
                        say,
                    )?;
                }
                if let Some(oid) = cache.ref_target(&name) {
                    return Ok((bytes, vec![(name, oid)]));
                }
            }
        }
        let bytes = cache.fetch(
            &self.target_url,
            &["+refs/tags/*:refs/tags/*".to_string()],
            &self.credentials,
            say,
        )?;
        Ok((bytes, cache.refs_under("refs/tags/")?))
    }

    /// Fetches the rpms target branch (and the fork branch, if any) into the rpms cache and
    /// makes the job's dist-git repository with the branch checked out.
    fn fetch_dist_git(&mut self, log: &dyn Output) -> Result<Repo, BridgeError> {
        let say = |text: &str| log.line(text);
        let mut cache = self.cache.lock(&self.rpms_key, &say)?;
        let local = format!("refs/heads/{}", self.target_branch);
        let mut bytes = cache.fetch(
            &self.rpms_url,
            &[format!("+{local}:{local}")],
            &self.credentials,
            &say,
        )?;
        let target = cache.ref_target(&local).ok_or_else(|| {
            BridgeError::Host(format!(
                "the dist-git branch {} is not in {}",
                self.target_branch, self.rpms_url
            ))
        })?;
        let mut refs = vec![(local.clone(), target)];
        // The fork's branches live in the rpms cache under the fork's key, so their
        // objects are shared with the rpms history.
        let fork_cached = format!("refs/srcgit/{}/{}", self.fork_key, self.fork_branch);
        cache.delete_ref(&fork_cached)?;
        if self.fork_has_branch {
            let spec = format!("+refs/heads/{}:{fork_cached}", self.fork_branch);
            bytes += cache.fetch(&self.fork_url, &[spec], &self.credentials, &say)?;
            if let Some(fork) = cache.ref_target(&fork_cached) {
                refs.push((FORK_REF.to_string(), fork));
            }
        }
        log.line(&format!(
            "srcgit: fetched {} into the git cache {}",
            human_bytes(bytes),
            cache.name()
        ));
        let in_use = cache.into_use()?;
        let dir = self.job_dir.join("dist");
        cache::job_repository(
            &dir,
            in_use.objects_dir(),
            &refs,
            &Head::Branch(local),
            &Checkout::Full,
        )?;
        self.in_use.push(in_use);
        Ok(Repo::open(&dir)?)
    }
}

/// `12.3 KiB (12601 bytes)`, for the job log.
fn human_bytes(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} bytes")
    } else if bytes < 1024 * 1024 {
        format!("{:.1} KiB ({bytes} bytes)", bytes as f64 / 1024.0)
    } else {
        format!(
            "{:.1} MiB ({bytes} bytes)",
            bytes as f64 / (1024.0 * 1024.0)
        )
    }
}

/// The source-git commit a dist-git commit made by srcgit was converted from (its
/// `From-source-git-commit` trailer), if any.
fn converted_from(dist: &Repo, commit: Oid) -> Result<Option<Oid>, BridgeError> {
    let message = dist.message(commit)?;
    let prefix = format!("{FROM_SOURCE_GIT}: ");
    Ok(message
        .lines()
        .filter_map(|l| l.trim_end().strip_prefix(&prefix))
        .find_map(|sha| Oid::from_str(sha.trim()).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_superseded_line_names_the_new_head() {
        let head = CommitSha("b".repeat(40));
        let ours = CommitSha("a".repeat(40));
        let line = superseded(&head, &ours);
        assert!(
            line.starts_with(&format!("superseded by {}", "b".repeat(40))),
            "{line}"
        );
        assert!(
            line.contains(&"a".repeat(40)) && !line.contains('\n'),
            "{line}"
        );
    }
}
