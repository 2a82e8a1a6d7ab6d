//! dist-git → source-git, automatically: for a served dist-git branch with commits after
//! the last sync point that did not come from source-git, run `update-source-git` (the
//! library of `srcgit update-source-git`) on top of the source-git target branch, push
//! the result to `<branch>-from-dist-git` in the source-git project, and open or update
//! the one "Sync from dist-git" MR from it.
//!
//! Idempotent, with GitLab as the source of truth: a dist-git head already handled (the
//! store) is skipped without a request; with an empty store the run compares what it
//! built with the sync branch (its commits' `From-dist-git-commit` trailers) and the
//! open MR (its description), and writes nothing when both already match. The branch is
//! pushed with a lease, the MR adopted on 409.
//!
//! Two triggers run [`sync_branch`]: the sweep ([`sweep`], part of `srcgit reconcile`) and
//! the executor's push-pipeline job in an rpms project ([`push_job`]).
//!
//! May import what `bridge` may import; never `executor`.

mod git;
mod sweep;
pub mod text;

use super::{BridgeError, JobIdentity, Output, naming};
use crate::forge::{
    Forge, ForgeError, MergeRequest, MergeRequestUpdate, NewMergeRequest, Project, ProjectRef,
};
use crate::ids::{CommitSha, ProjectPath};
use crate::repo::git::{Credentials, Identity, LeasePush};
use crate::settings::{Mapping, Settings};
use crate::store::{Store, SyncBack};

pub use sweep::{SyncBackReport, sweep};

use self::git::{Built, GitJob};
use self::text::{MR_TITLE, Summary};

/// What a sync needs.
pub struct SyncEnv<'a, F: Forge> {
    /// GitLab.
    pub forge: &'a F,
    /// Settings.
    pub settings: &'a Settings,
    /// The database.
    pub store: &'a Store,
    /// What the user reads.
    pub out: &'a dyn Output,
}

/// How a sync ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Synced {
    /// This dist-git head was handled before: nothing asked, nothing written.
    Unchanged,
    /// Nothing to carry, and why.
    Nothing(String),
    /// The "Sync from dist-git" MR.
    Mr {
        /// The MR as it is now.
        mr: Box<MergeRequest>,
        /// srcgit opened it in this run.
        opened: bool,
        /// srcgit pushed or changed something in this run.
        wrote: bool,
    },
}

/// Syncs dist-git branch `branch` of `rpms` (whose head GitLab reported as `head`) back
/// into the source-git project of `mapping`.
pub async fn sync_branch<F: Forge>(
    env: &SyncEnv<'_, F>,
    mapping: &Mapping,
    rpms: &Project,
    branch: &str,
    head: &CommitSha,
) -> Result<Synced, BridgeError> {
    let stored = env.store.sync_back(rpms.id, branch)?;
    if stored
        .as_ref()
        .is_some_and(|row| row.dist_git_head == *head)
    {
        return Ok(Synced::Unchanged);
    }
    let label = format!("{}@{branch}", rpms.path);
    let record = |head: &CommitSha, mr: Option<&MergeRequest>, outcome: &str| {
        env.store.save_sync_back(&SyncBack {
            dist_git_project_id: rpms.id,
            dist_git_project_path: rpms.path.clone(),
            branch: branch.to_string(),
            dist_git_head: head.clone(),
            source_git_mr_iid: mr.map(|m| m.iid),
            outcome: outcome.to_string(),
        })
    };
    let sg_path = ProjectPath(format!("{}/{}", mapping.source_git, rpms.path.name()));
    let sg = match env.forge.project(&ProjectRef::Path(sg_path.clone())).await {
        Ok(project) => project,
        Err(ForgeError::NotFound { .. }) => {
            let why = format!("{label}: there is no source-git project {sg_path}; nothing to sync");
            env.out.line(&why);
            record(head, None, "no source-git project")?;
            return Ok(Synced::Nothing(why));
        }
        Err(e) => return Err(e.into()),
    };
    if env.forge.branch_head(sg.id, branch).await?.is_none() {
        let why = format!("{label}: {sg_path} has no branch {branch}; nothing to sync");
        env.out.line(&why);
        record(head, None, "no source-git branch")?;
        return Ok(Synced::Nothing(why));
    }
    let sync_branch = text::sync_branch(branch);
    let job = GitJob {
        dir: env
            .settings
            .work_dir
            .join(format!("sync-{}-{}", rpms.id, sanitize(branch))),
        credentials: Credentials::token(env.settings.token.expose()),
        source_url: sg.http_url_to_repo.clone(),
        rpms_url: rpms.http_url_to_repo.clone(),
        package: rpms.path.name().to_string(),
        branch: branch.to_string(),
        sync_branch: sync_branch.clone(),
        sync_branch_exists: env.forge.branch_head(sg.id, &sync_branch).await?.is_some(),
        committer: bot_identity(env).await?,
    };
    let dir = job.dir.clone();
    let result = build_and_publish(env, rpms, &sg, branch, job, &label).await;
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        tracing::debug!(error = %e, dir = %dir.display(), "cannot remove the sync directory");
    }
    let (built_head, synced) = match result {
        Ok(done) => done,
        Err(e) if e.is_build_failure() => {
            // The repositories need a person: do not try this head again.
            record(head, None, &format!("failed: {e}"))?;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    match &synced {
        Synced::Mr { mr, .. } => record(&built_head, Some(mr), "synced")?,
        _ => record(&built_head, None, "nothing to sync")?,
    }
    Ok(synced)
}

/// The blocking git part, the push and the MR.
async fn build_and_publish<F: Forge>(
    env: &SyncEnv<'_, F>,
    rpms: &Project,
    sg: &Project,
    branch: &str,
    job: GitJob,
    label: &str,
) -> Result<(CommitSha, Synced), BridgeError> {
    let (job, built) = blocking(move || {
        let built = job.build()?;
        Ok((job, built))
    })
    .await?;
    let dg_head = CommitSha(built.dist_git_head.to_string());
    let point = built.sync_point.to_string();
    if built.synced.is_empty() && built.not_carried.is_empty() {
        let why = if built.skipped == 0 {
            format!(
                "{label}: dist-git has no commits after the sync point {}; nothing to sync",
                &point[..8]
            )
        } else {
            format!(
                "{label}: the {} dist-git commit(s) after the sync point {} are merge commits, came from source-git or change nothing in .distro/; nothing to sync",
                built.skipped,
                &point[..8]
            )
        };
        env.out.line(&why);
        return Ok((dg_head, Synced::Nothing(why)));
    }
    let (job, built, pushed) = if built.existing_matches {
        env.out.line(&format!(
            "{label}: {} already holds these commits",
            job.sync_branch
        ));
        (job, built, false)
    } else {
        let (job, built, lease) = blocking(move || {
            let lease = job.push(&built)?;
            Ok((job, built, lease))
        })
        .await?;
        if let LeasePush::Stale(why) = lease {
            return Err(BridgeError::Host(format!(
                "the source-git branch {} moved while srcgit rebuilt it{}; the next run starts again",
                job.sync_branch,
                why.map(|w| format!(" ({w})")).unwrap_or_default()
            )));
        }
        env.out.line(&format!(
            "{label}: pushed {} ({} synced commit(s) on {branch}) to {}",
            built.result_head,
            built.synced.len(),
            job.sync_branch
        ));
        (job, built, true)
    };
    finish(env, rpms, sg, branch, &job, &built, pushed, label).await
}

#[allow(clippy::too_many_arguments)]
async fn finish<F: Forge>(
    env: &SyncEnv<'_, F>,
    rpms: &Project,
    sg: &Project,
    branch: &str,
    job: &GitJob,
    built: &Built,
    pushed: bool,
    label: &str,
) -> Result<(CommitSha, Synced), BridgeError> {
    let summary = Summary {
        rpms_path: &rpms.path.0,
        rpms_url: &rpms.web_url,
        branch,
        synced: built.synced.clone(),
        not_carried: built.not_carried.clone(),
        skipped: built.skipped,
    };
    let description = text::description(&summary);
    let (mr, opened, changed) =
        open_or_update(env, sg, &job.sync_branch, branch, &description).await?;
    let verb = match (opened, changed) {
        (true, _) => "opened",
        (false, true) => "updated",
        (false, false) => "up to date:",
    };
    env.out.line(&format!("{label}: {verb} {}", mr.web_url));
    Ok((
        CommitSha(built.dist_git_head.to_string()),
        Synced::Mr {
            mr: Box::new(mr),
            opened,
            wrote: pushed || opened || changed,
        },
    ))
}

/// The open MR from `source_branch` into `branch` of `sg`, created or brought up to date;
/// returns it, whether it was opened, and whether it was changed.
async fn open_or_update<F: Forge>(
    env: &SyncEnv<'_, F>,
    sg: &Project,
    source_branch: &str,
    branch: &str,
    description: &str,
) -> Result<(MergeRequest, bool, bool), BridgeError> {
    let find = || async {
        Ok::<_, BridgeError>(
            env.forge
                .open_merge_requests(sg.id, source_branch)
                .await?
                .into_iter()
                .find(|m| m.target_project_id == sg.id && m.target_branch == branch),
        )
    };
    let (found, opened) = match find().await? {
        Some(mr) => (mr, false),
        None => {
            let new = NewMergeRequest {
                source_project: sg.id,
                target_project: sg.id,
                source_branch: source_branch.to_string(),
                target_branch: branch.to_string(),
                title: MR_TITLE.to_string(),
                description: description.to_string(),
            };
            match env.forge.create_merge_request(&new).await {
                Ok(mr) => return Ok((mr, true, true)),
                // our own request whose answer was lost, or a twin's: adopt it
                Err(ForgeError::Conflict { .. }) => match find().await? {
                    Some(mr) => (mr, true),
                    None => {
                        return Err(BridgeError::Host(format!(
                            "GitLab refused to open an MR from {source_branch} and none is open"
                        )));
                    }
                },
                Err(e) => return Err(e.into()),
            }
        }
    };
    let update = MergeRequestUpdate {
        title: (found.title != MR_TITLE).then(|| MR_TITLE.to_string()),
        description: (found.description != description).then(|| description.to_string()),
        state_event: None,
    };
    if update == MergeRequestUpdate::default() {
        return Ok((found, opened, false));
    }
    let mr = env
        .forge
        .update_merge_request(sg.id, found.iid, &update)
        .await?;
    Ok((mr, opened, true))
}

/// The committer of the synced commits: the bot (the author stays the dist-git one).
async fn bot_identity<F: Forge>(env: &SyncEnv<'_, F>) -> Result<Identity, BridgeError> {
    let user = env.forge.current_user().await?;
    Ok(naming::bot_identity(
        &env.settings.gitlab_url,
        &user.username,
        crate::store::unix_now(),
    ))
}

/// A branch name as a directory-name part.
fn sanitize(branch: &str) -> String {
    branch
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BridgeError> + Send + 'static,
) -> Result<T, BridgeError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BridgeError::Host(format!("the sync thread failed: {e}")))?
}

/// The executor's job in a push pipeline of an rpms project: verify it (see
/// [`super::verify_push`]), then sync the pushed branch. Passes when the MR was opened or
/// updated or nothing needed syncing.
pub async fn push_job<F: Forge>(
    env: &SyncEnv<'_, F>,
    job: &JobIdentity,
) -> Result<Synced, BridgeError> {
    let push = super::verify_push::verify_push(env.forge, env.settings, job).await?;
    env.out.line(&format!(
        "srcgit: dist-git push pipeline of {} branch {}: syncing it back to source-git",
        push.rpms.path, push.branch
    ));
    let head = env
        .forge
        .branch_head(push.rpms.id, &push.branch)
        .await?
        .ok_or_else(|| {
            BridgeError::Build(format!(
                "branch {} of {} no longer exists",
                push.branch, push.rpms.path
            ))
        })?;
    let synced = sync_branch(env, &push.mapping, &push.rpms, &push.branch, &head).await?;
    if synced == Synced::Unchanged {
        env.out.line(&format!(
            "srcgit: {}@{} {} was synced before; nothing to do",
            push.rpms.path,
            push.branch,
            head.short()
        ));
    }
    Ok(synced)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names_make_safe_directory_names() {
        assert_eq!(sanitize("c10s"), "c10s");
        assert_eq!(sanitize("f42/../x"), "f42_.._x");
    }
}
