//! The GitLab half of the sync: the bot's fork of the rpms project, and the rpms MR with
//! its pairing record. Each step first looks for what already exists (the database, then
//! GitLab as the authority), so a rerun or a retry never opens a second MR.

use std::time::{Duration, Instant};

use super::naming;
use super::{BridgeError, Context, Pushed, VerifiedMr, mr_ref};
use crate::forge::{
    Forge, ForgeError, MergeRequest, MergeRequestUpdate, NewMergeRequest, Project, ProjectRef,
};
use crate::ids::ProjectPath;
use crate::store::Pair;

/// How long a new fork may take to become usable.
const FORK_IMPORT_TIMEOUT: Duration = Duration::from_secs(600);

/// The bot's fork of `rpms` in the fork namespace, created if missing and ready to push.
pub(super) async fn ensure_fork<F: Forge>(
    ctx: &Context<'_, F>,
    rpms: &Project,
) -> Result<Project, BridgeError> {
    let path = ProjectPath(format!(
        "{}/{}",
        ctx.settings.fork_namespace,
        rpms.path.name()
    ));
    let mut fork = match ctx.forge.project(&ProjectRef::Path(path.clone())).await {
        Ok(project) => project,
        Err(ForgeError::NotFound { .. }) => {
            ctx.out.line(&format!(
                "srcgit: forking {} into {}",
                rpms.path, ctx.settings.fork_namespace
            ));
            ctx.forge
                .fork(rpms.id, &ctx.settings.fork_namespace)
                .await?
        }
        Err(e) => return Err(e.into()),
    };
    if fork.forked_from != Some(rpms.id) {
        return Err(BridgeError::Host(format!(
            "{} exists but is not a fork of {}; remove it or change fork_namespace",
            fork.path, rpms.path
        )));
    }
    let started = Instant::now();
    let mut delay = Duration::from_millis(200);
    while !matches!(
        fork.import_status.as_deref(),
        None | Some("none" | "finished")
    ) {
        if fork.import_status.as_deref() == Some("failed") {
            return Err(BridgeError::Host(format!(
                "GitLab failed to create the fork {}",
                fork.path
            )));
        }
        if started.elapsed() > FORK_IMPORT_TIMEOUT {
            return Err(BridgeError::Host(format!(
                "the fork {} was not ready after {FORK_IMPORT_TIMEOUT:?}",
                fork.path
            )));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
        fork = ctx.forge.project(&ProjectRef::Id(fork.id)).await?;
    }
    Ok(fork)
}

/// Finds the rpms MR for this source MR: the recorded pair, else an open MR from the fork
/// branch (a previous run may have died before recording it).
async fn existing_mr<F: Forge>(
    ctx: &Context<'_, F>,
    mr: &VerifiedMr,
    fork: &Project,
    branch: &str,
) -> Result<Option<MergeRequest>, BridgeError> {
    if let Some(pair) = ctx.store.pair_for_source(mr.target.id, mr.mr.iid)?
        && pair.dist_git_project_id == mr.rpms.id
    {
        match ctx
            .forge
            .merge_request(mr.rpms.id, pair.dist_git_mr_iid)
            .await
        {
            Ok(found) if found.state == "opened" || found.state == "closed" => {
                return Ok(Some(found));
            }
            Ok(_) | Err(ForgeError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let open = ctx.forge.open_merge_requests(mr.rpms.id, branch).await?;
    Ok(open
        .into_iter()
        .find(|m| m.source_project_id == fork.id && m.target_branch == mr.mr.target_branch))
}

/// Opens the rpms MR, or updates the existing one, and records the pair.
pub(super) async fn open_or_update<F: Forge>(
    ctx: &Context<'_, F>,
    mr: &VerifiedMr,
    fork: &Project,
    branch: &str,
    pushed: &Pushed,
) -> Result<MergeRequest, BridgeError> {
    let source = mr.source_mr();
    let description = naming::rpms_mr_description(&source);
    let rpms_mr = match existing_mr(ctx, mr, fork, branch).await? {
        Some(found) => update_if_needed(ctx, mr, found, &description).await?,
        None => {
            let new = NewMergeRequest {
                source_project: fork.id,
                target_project: mr.rpms.id,
                source_branch: branch.to_string(),
                target_branch: mr.mr.target_branch.clone(),
                title: mr.mr.title.clone(),
                description: description.clone(),
            };
            match ctx.forge.create_merge_request(&new).await {
                Ok(created) => {
                    ctx.out
                        .line(&format!("srcgit: opened {}", mr_ref(&mr.rpms, created.iid)));
                    created
                }
                // GitLab: "Another open merge request already exists for this source branch"
                Err(ForgeError::Conflict { .. }) => match existing_mr(ctx, mr, fork, branch).await?
                {
                    Some(found) => update_if_needed(ctx, mr, found, &description).await?,
                    None => {
                        return Err(BridgeError::Host(format!(
                            "GitLab refused to open an MR from {branch} and none is open"
                        )));
                    }
                },
                Err(e) => return Err(e.into()),
            }
        }
    };
    comment_once(ctx, mr, &rpms_mr).await?;
    ctx.store.save_pair(&Pair {
        source_project_id: mr.target.id,
        source_project_path: mr.target.path.clone(),
        source_mr_iid: mr.mr.iid,
        dist_git_project_id: mr.rpms.id,
        dist_git_project_path: mr.rpms.path.clone(),
        dist_git_mr_iid: rpms_mr.iid,
        fork_project_id: fork.id,
        fork_branch: branch.to_string(),
        source_sha: pushed.source_sha.clone(),
        dist_git_sha: pushed.dist_git_sha.clone(),
        state: "open".to_string(),
        closed_reason: None,
    })?;
    Ok(rpms_mr)
}

async fn update_if_needed<F: Forge>(
    ctx: &Context<'_, F>,
    mr: &VerifiedMr,
    found: MergeRequest,
    description: &str,
) -> Result<MergeRequest, BridgeError> {
    let update = MergeRequestUpdate {
        title: (found.title != mr.mr.title).then(|| mr.mr.title.clone()),
        description: (found.description != description).then(|| description.to_string()),
        state_event: (found.state == "closed").then_some("reopen"),
    };
    if update == MergeRequestUpdate::default() {
        ctx.out.line(&format!(
            "srcgit: {} is up to date",
            mr_ref(&mr.rpms, found.iid)
        ));
        return Ok(found);
    }
    ctx.out
        .line(&format!("srcgit: updating {}", mr_ref(&mr.rpms, found.iid)));
    Ok(ctx
        .forge
        .update_merge_request(mr.rpms.id, found.iid, &update)
        .await?)
}

/// Comments on the source-git MR with a link, unless a previous run already did.
async fn comment_once<F: Forge>(
    ctx: &Context<'_, F>,
    mr: &VerifiedMr,
    rpms_mr: &MergeRequest,
) -> Result<(), BridgeError> {
    let body = naming::source_comment(&mr.rpms.path, rpms_mr.iid, &rpms_mr.web_url);
    let notes = ctx.forge.notes(mr.target.id, mr.mr.iid).await?;
    if notes.iter().any(|n| n.body.contains(&rpms_mr.web_url)) {
        return Ok(());
    }
    ctx.forge.post_note(mr.target.id, mr.mr.iid, &body).await?;
    Ok(())
}
