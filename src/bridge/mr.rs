//! The GitLab half of the sync: the bot's fork of the rpms project, the rpms MR with its
//! pairing record, and the one comment on the source MR. Each write first looks for what
//! already exists (the database, then GitLab as the authority) and, when GitLab says it
//! exists after all (409, or an answer lost after the work was done), adopts it: a rerun,
//! a retry or a twin job on another host never opens a second fork, MR or comment.

use std::time::{Duration, Instant};

use super::naming;
use super::{BridgeError, Context, Pushed, VerifiedMr, mr_ref};
use crate::forge::{
    Forge, ForgeError, MergeRequest, MergeRequestUpdate, NewMergeRequest, Note, Project, ProjectRef,
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
            match ctx.forge.fork(rpms.id, &ctx.settings.fork_namespace).await {
                Ok(fork) => fork,
                // "has already been taken": a lost answer to our own request, or a twin
                // job forked first. Adopt it if it is a fork of rpms (checked below).
                Err(ForgeError::Conflict { .. }) => {
                    ctx.forge.project(&ProjectRef::Path(path.clone())).await?
                }
                Err(e) => return Err(e.into()),
            }
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

/// The pair's current rpms MR, in any state: the recorded pair's, else the newest MR from
/// the fork branch into the rpms project (a previous run, or another host, opened it).
async fn current_mr<F: Forge>(
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
            Ok(found) => return Ok(Some(found)),
            Err(ForgeError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let from_branch = ctx
        .forge
        .merge_requests_from_branch(mr.rpms.id, branch)
        .await?;
    Ok(from_branch
        .into_iter()
        .find(|m| m.source_project_id == fork.id && m.target_branch == mr.mr.target_branch))
}

/// The open MR from the fork branch (after GitLab said one exists).
async fn open_from_branch<F: Forge>(
    ctx: &Context<'_, F>,
    mr: &VerifiedMr,
    fork: &Project,
    branch: &str,
) -> Result<Option<MergeRequest>, BridgeError> {
    let open = ctx.forge.open_merge_requests(mr.rpms.id, branch).await?;
    Ok(open
        .into_iter()
        .find(|m| m.source_project_id == fork.id && m.target_branch == mr.mr.target_branch))
}

/// The rpms MR, and whether this job opened it (GitLab then starts its pipeline).
pub(super) struct RpmsMr {
    pub(super) mr: MergeRequest,
    pub(super) opened: bool,
}

/// Where the MR step left the pair.
pub(super) enum MrStep {
    /// The rpms MR is open, with the pushed commit.
    Ready(RpmsMr),
    /// The rpms MR was merged and the source MR has nothing new since.
    Merged(MergeRequest),
}

/// Opens the rpms MR, or updates the existing one, and records the pair. A maintainer's
/// decision stands: an rpms MR someone else closed is not reopened (a build failure that
/// says how to get a new one); one the bot closed with its source MR is reopened; after a
/// merge, new commits open a follow-up MR. `SRCGIT_RECREATE=1` replaces the MR.
pub(super) async fn open_or_update<F: Forge>(
    ctx: &Context<'_, F>,
    mr: &VerifiedMr,
    fork: &Project,
    branch: &str,
    pushed: &Pushed,
) -> Result<MrStep, BridgeError> {
    let source = mr.source_mr();
    let description = naming::rpms_mr_description(&source);
    let current = current_mr(ctx, mr, fork, branch).await?;
    let (rpms_mr, opened) = match current {
        Some(old) if ctx.job.request.recreate => (
            recreate(ctx, mr, fork, branch, &old, &description).await?,
            true,
        ),
        Some(found) if found.state == "merged" => {
            if !pushed.new_commit {
                return Ok(MrStep::Merged(found));
            }
            ctx.out.line(&format!(
                "srcgit: {} was merged; opening a new dist-git merge request for the commits after it",
                mr_ref(&mr.rpms, found.iid)
            ));
            (create(ctx, mr, fork, branch, &description).await?, true)
        }
        Some(found) if found.state == "closed" => {
            let bot = ctx.forge.current_user().await?.username;
            match found.closed_by.as_deref() {
                Some(who) if who == bot => {
                    ctx.out.line(&format!(
                        "srcgit: reopening {} (srcgit closed it with the source-git merge request)",
                        mr_ref(&mr.rpms, found.iid)
                    ));
                    (update_if_needed(ctx, mr, found, &description).await?, false)
                }
                who => {
                    return Err(BridgeError::Build(format!(
                        "the dist-git merge request {} was closed by {}; srcgit does not reopen \
                         it. To get a new one, run the manual job `srcgit-recreate` in this \
                         pipeline (after talking to the dist-git maintainers)",
                        found.web_url,
                        who.map_or_else(|| "someone".to_string(), |w| format!("@{w}"))
                    )));
                }
            }
        }
        Some(found) => (update_if_needed(ctx, mr, found, &description).await?, false),
        None => (create(ctx, mr, fork, branch, &description).await?, true),
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
    Ok(MrStep::Ready(RpmsMr {
        mr: rpms_mr,
        opened,
    }))
}

/// Opens the rpms MR from the fork branch; a 409 (our own request whose answer was lost
/// and which the client repeated, or a twin job's) adopts the open MR from that branch.
async fn create<F: Forge>(
    ctx: &Context<'_, F>,
    mr: &VerifiedMr,
    fork: &Project,
    branch: &str,
    description: &str,
) -> Result<MergeRequest, BridgeError> {
    let new = NewMergeRequest {
        source_project: fork.id,
        target_project: mr.rpms.id,
        source_branch: branch.to_string(),
        target_branch: mr.mr.target_branch.clone(),
        title: mr.mr.title.clone(),
        description: description.to_string(),
    };
    match ctx.forge.create_merge_request(&new).await {
        Ok(created) => {
            ctx.out
                .line(&format!("srcgit: opened {}", mr_ref(&mr.rpms, created.iid)));
            Ok(created)
        }
        // GitLab: "Another open merge request already exists for this source branch"
        Err(ForgeError::Conflict { .. }) => match open_from_branch(ctx, mr, fork, branch).await? {
            Some(found) => update_if_needed(ctx, mr, found, description).await,
            None => Err(BridgeError::Host(format!(
                "GitLab refused to open an MR from {branch} and none is open"
            ))),
        },
        Err(e) => Err(e.into()),
    }
}

/// `SRCGIT_RECREATE=1`: closes `old` if it is open, opens a fresh MR from the same fork
/// branch, and notes on `old` which MR replaced it (once). The run history keeps `old`.
async fn recreate<F: Forge>(
    ctx: &Context<'_, F>,
    mr: &VerifiedMr,
    fork: &Project,
    branch: &str,
    old: &MergeRequest,
    description: &str,
) -> Result<MergeRequest, BridgeError> {
    if old.state == "opened" {
        ctx.out.line(&format!(
            "srcgit: SRCGIT_RECREATE=1: closing {}",
            mr_ref(&mr.rpms, old.iid)
        ));
        let close = MergeRequestUpdate {
            state_event: Some("close"),
            ..MergeRequestUpdate::default()
        };
        ctx.forge
            .update_merge_request(mr.rpms.id, old.iid, &close)
            .await?;
    }
    let new = create(ctx, mr, fork, branch, description).await?;
    if new.iid != old.iid {
        let marker = format!("<!-- srcgit: replaced-by=!{} -->", new.iid);
        let notes = ctx.forge.notes(mr.rpms.id, old.iid).await?;
        if !notes.iter().any(|n| n.body.contains(&marker)) {
            let body = format!(
                "Replaced by !{} ({}), at the request of the source-git merge request.\n\n{marker}",
                new.iid, new.web_url
            );
            ctx.forge.post_note(mr.rpms.id, old.iid, &body).await?;
        }
        ctx.store.record_action(&crate::store::Action {
            at: crate::store::unix_now(),
            source_project_path: mr.target.path.clone(),
            source_mr_iid: mr.mr.iid,
            dist_git_project_path: mr.rpms.path.clone(),
            dist_git_mr_iid: old.iid,
            action: format!("replaced the dist-git MR by !{} (SRCGIT_RECREATE)", new.iid),
            outcome: "done".to_string(),
        })?;
    }
    Ok(new)
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

/// How often a comment is posted again when GitLab's answer was lost and the comment
/// is not there.
const NOTE_ATTEMPTS: u32 = 4;

/// Comments on the source-git MR with a link, unless a previous run already did. GitLab
/// is asked before each post (the client never repeats a note post blindly), and after
/// posting the bot's duplicates of the comment — a twin job on another host may have
/// posted at the same moment — are deleted, keeping the oldest; every twin keeps the same.
async fn comment_once<F: Forge>(
    ctx: &Context<'_, F>,
    mr: &VerifiedMr,
    rpms_mr: &MergeRequest,
) -> Result<(), BridgeError> {
    let body = naming::source_comment(&mr.rpms.path, rpms_mr.iid, &rpms_mr.web_url);
    let bot = ctx.forge.current_user().await?.username;
    let ours = |notes: &[Note]| -> Vec<u64> {
        let mut ids: Vec<u64> = notes
            .iter()
            .filter(|n| n.author == bot && n.body.contains(&rpms_mr.web_url))
            .map(|n| n.id)
            .collect();
        ids.sort_unstable();
        ids
    };
    let mut attempt = 0;
    loop {
        let existing = ours(&ctx.forge.notes(mr.target.id, mr.mr.iid).await?);
        if !existing.is_empty() {
            if attempt == 0 {
                // a previous run (or a twin) commented: nothing to post
                return remove_duplicates(ctx, mr, &existing).await;
            }
            break;
        }
        attempt += 1;
        match ctx.forge.post_note(mr.target.id, mr.mr.iid, &body).await {
            Ok(_) => break,
            Err(e) if e.outcome_unknown() && attempt < NOTE_ATTEMPTS => {
                tracing::warn!(error = %e, "posting the comment had an unknown outcome; looking before posting again");
                tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    let now = ours(&ctx.forge.notes(mr.target.id, mr.mr.iid).await?);
    remove_duplicates(ctx, mr, &now).await
}

/// Deletes all but the first (oldest) of the bot's comments `ids` (sorted).
async fn remove_duplicates<F: Forge>(
    ctx: &Context<'_, F>,
    mr: &VerifiedMr,
    ids: &[u64],
) -> Result<(), BridgeError> {
    for id in ids.iter().skip(1) {
        ctx.forge.delete_note(mr.target.id, mr.mr.iid, *id).await?;
    }
    Ok(())
}
