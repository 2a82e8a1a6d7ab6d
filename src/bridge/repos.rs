//! The git half of `build_script`: fetch the MR head (with tags, for `upstream_ref`) and the
//! rpms target branch into the job's directory, convert with the same code as
//! `srcgit convert`, and force-push the result to the bot fork. Runs on a blocking thread.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use git2::{Oid, Repository};

use super::naming;
use super::{BridgeError, Context, Output, Pushed, VerifiedMr, git_env};
use crate::forge::{Forge, Project};
use crate::ids::CommitSha;
use crate::repo::git::{self, Credentials, GitCli, GitError, Identity, Repo};
use crate::repo::sync_status::FROM_SOURCE_GIT;
use crate::repo::update_dist_git::{self, UpdateError, UpdateOptions};

/// Everything the blocking part needs, owned.
struct RepoJob {
    job_dir: PathBuf,
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

/// Converts the MR head and pushes it; `None` when the change is empty for dist-git.
pub(super) async fn convert_and_push<F: Forge>(
    ctx: &Context<'_, F>,
    mr: &VerifiedMr,
    fork: &Project,
    fork_branch: &str,
    job_dir: &Path,
) -> Result<Option<Pushed>, BridgeError> {
    let user = ctx.forge.current_user().await?;
    let host = ctx
        .settings
        .gitlab_url
        .split("://")
        .nth(1)
        .unwrap_or("gitlab")
        .split(['/', ':'])
        .next()
        .unwrap_or("gitlab");
    let source = mr.source_mr();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let pipeline_url = match &mr.source {
        Some(source) if ctx.job.project_id == source.id => &source.http_url_to_repo,
        _ => &mr.target.http_url_to_repo,
    };
    let work = RepoJob {
        job_dir: job_dir.to_path_buf(),
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
        identity: Identity {
            name: format!("{} (srcgit)", user.username),
            email: format!("{}@users.noreply.{host}", user.username),
            time: now,
            offset_minutes: 0,
        },
    };
    let out = Arc::clone(&ctx.out);

    tokio::task::spawn_blocking(move || work.run(out.as_ref()))
        .await
        .map_err(|e| BridgeError::Host(format!("the conversion thread failed: {e}")))?
}

impl RepoJob {
    fn run(self, log: &dyn Output) -> Result<Option<Pushed>, BridgeError> {
        if self.job_dir.exists() {
            std::fs::remove_dir_all(&self.job_dir)
                .map_err(GitError::io("cannot clean", &self.job_dir))?;
        }
        for dir in ["source", "dist", "home"] {
            let path = self.job_dir.join(dir);
            std::fs::create_dir_all(&path).map_err(GitError::io("cannot create", &path))?;
        }
        let source_head = self.fetch_source()?;
        log.line(&format!("srcgit: source-git head {source_head}"));
        let dist = self.fetch_dist_git()?;
        if let Some(existing) = self.already_converted(&dist, source_head)? {
            log.line(&format!(
                "srcgit: the dist-git branch {} already holds source-git commit {source_head}; no new commit",
                self.fork_branch
            ));
            return Ok(Some(Pushed {
                source_sha: CommitSha(source_head.to_string()),
                dist_git_sha: existing,
                new_commit: false,
            }));
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
            Err(UpdateError::NothingToCommit) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let Some(commit) = commit else {
            return Ok(None);
        };
        if *self.cancel.borrow() {
            return Err(BridgeError::Canceled);
        }
        log.line(&format!(
            "srcgit: pushing dist-git commit {commit} to branch {} of the bot fork",
            self.fork_branch
        ));
        git::force_push(
            dist.git2(),
            &self.fork_url,
            &format!("refs/heads/{}", self.target_branch),
            &format!("refs/heads/{}", self.fork_branch),
            &self.credentials,
        )?;
        Ok(Some(Pushed {
            source_sha: CommitSha(source_head.to_string()),
            dist_git_sha: CommitSha(commit.to_string()),
            new_commit: true,
        }))
    }

    /// Fetches the MR head and the tags; returns the commit to convert.
    fn fetch_source(&self) -> Result<Oid, BridgeError> {
        let dir = self.job_dir.join("source");
        let repo = Repository::init(&dir)
            .map_err(GitError::git2("cannot create the source-git work tree"))?;
        let merged_result =
            self.pipeline_ref.ends_with("/merge") || self.pipeline_ref.ends_with("/train");
        let mut refspecs = vec![
            format!(
                "+refs/merge-requests/{}/head:refs/srcgit/mr-head",
                self.mr_iid
            ),
            "+refs/tags/*:refs/tags/*".to_string(),
        ];
        if merged_result && self.pipeline_ref.starts_with("refs/") {
            refspecs.push(format!("+{}:refs/srcgit/pipeline", self.pipeline_ref));
        }
        git::fetch(&repo, &self.target_url, &refspecs, &self.credentials)?;
        let pipeline_sha =
            Oid::from_str(&self.pipeline_sha).map_err(GitError::git2("invalid pipeline sha"))?;
        if repo.find_commit(pipeline_sha).is_err() {
            // The MR moved on since the pipeline started; the pipeline's commit may still be
            // reachable from the project it runs in.
            let wanted = vec![format!("+{}:refs/srcgit/pipeline-sha", self.pipeline_sha)];
            let _ = git::fetch(&repo, &self.pipeline_url, &wanted, &self.credentials);
        }
        let pipeline_commit = repo.find_commit(pipeline_sha).map_err(|_| {
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
        let commit = repo
            .find_commit(head)
            .map_err(GitError::git2("cannot read the MR head"))?;
        repo.checkout_tree(
            commit.as_object(),
            Some(git2::build::CheckoutBuilder::new().force()),
        )
        .and_then(|()| repo.set_head_detached(head))
        .map_err(GitError::git2("cannot check out the MR head"))?;
        Ok(head)
    }

    /// Fetches the rpms target branch (and the fork branch, if any) and checks it out.
    fn fetch_dist_git(&self) -> Result<Repo, BridgeError> {
        let dir = self.job_dir.join("dist");
        let repo = Repository::init(&dir)
            .map_err(GitError::git2("cannot create the dist-git work tree"))?;
        let local = format!("refs/heads/{}", self.target_branch);
        git::fetch(
            &repo,
            &self.rpms_url,
            &[format!("+{local}:{local}")],
            &self.credentials,
        )?;
        if self.fork_has_branch {
            let spec = format!("+refs/heads/{}:refs/srcgit/fork", self.fork_branch);
            git::fetch(&repo, &self.fork_url, &[spec], &self.credentials)?;
        }
        repo.set_head(&local)
            .and_then(|()| repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force())))
            .map_err(GitError::git2("cannot check out the dist-git branch"))?;
        drop(repo);
        Ok(Repo::open(&dir)?)
    }

    /// The fork branch's commit when it already carries `From-source-git-commit: <head>`.
    fn already_converted(
        &self,
        dist: &Repo,
        source_head: Oid,
    ) -> Result<Option<CommitSha>, BridgeError> {
        let Some(fork_head) = dist.resolve_commit("refs/srcgit/fork") else {
            return Ok(None);
        };
        let message = dist.message(fork_head)?;
        let wanted = format!("{FROM_SOURCE_GIT}: {source_head}");
        Ok(message
            .lines()
            .any(|l| l.trim_end() == wanted)
            .then(|| CommitSha(fork_head.to_string())))
    }
}
