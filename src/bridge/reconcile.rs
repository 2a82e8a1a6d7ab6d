//! `srcgit reconcile`: one idempotent sweep that makes GitLab consistent again between
//! jobs. It finds every pair — the stored ones and the bot's own open rpms MRs, whose
//! description carries `<!-- srcgit: source=<path>!<iid> -->` — so a host with an empty
//! database, or another host of the fleet, reconciles the same pairs; then for each pair
//! whose MRs changed since the previous sweep it applies [`decide`], and it finishes the
//! statuses that jobs left open.
//!
//! Changes are found with GitLab's own clock: each sweep lists the MRs of the mapped
//! namespaces updated after the newest `updated_at` the previous sweep saw (minus a
//! minute), so a sweep costs one list request per page plus a few requests per changed
//! pair. Every note srcgit writes here carries a `<!-- srcgit: reconcile=… -->` marker and
//! is not written again while it is the newest such note on that MR, so a repeated sweep
//! (or one after an unknown outcome) writes nothing new.

use std::collections::{BTreeMap, BTreeSet};

use tracing::Instrument;

use super::naming::{self, PIPELINE_STATUS_NAME};
use super::status;
use super::{BridgeError, Output};
use crate::forge::{
    Forge, ForgeError, Job, MergeRequest, MergeRequestUpdate, Pipeline, ProjectRef, StatusUpdate,
};
use crate::ids::{CommitSha, CommitState, JobId, MrIid, ProjectId, ProjectPath};
use crate::settings::{OnSourceMerged, Settings};
use crate::store::{Action as StoredAction, Pair, PostedStatus, Store, unix_now};

/// Where a source-git MR stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceState {
    /// Open (or locked).
    Open,
    /// Closed without merging.
    Closed,
    /// Merged.
    Merged,
}

/// Where the pair's current rpms MR stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RpmsState {
    /// Open.
    Open,
    /// Closed by the srcgit bot.
    ClosedByBot,
    /// Closed by someone else (username).
    ClosedBy(String),
    /// Merged by a dist-git maintainer.
    Merged,
}

/// What a sweep does to one pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairAction {
    /// Close the rpms MR (with a note), because the source-git MR was closed.
    CloseRpms,
    /// Reopen the rpms MR the bot closed (with a note): the source-git MR is open again.
    ReopenRpms,
    /// One note on the rpms MR: the source-git MR was merged.
    NoteRpmsSourceMerged,
    /// Close the rpms MR with a note: the source-git MR was merged.
    CloseRpmsSourceMerged,
    /// One note on the source-git MR: someone closed its rpms MR.
    NoteSourceRpmsClosed(String),
    /// One note on the source-git MR: its rpms MR was merged.
    NoteSourceRpmsMerged,
}

/// The decision table of the sweep (pure; exhaustive over both states).
pub fn decide(source: SourceState, rpms: &RpmsState, policy: OnSourceMerged) -> Option<PairAction> {
    match (source, rpms) {
        (SourceState::Closed, RpmsState::Open) => Some(PairAction::CloseRpms),
        (SourceState::Open, RpmsState::ClosedByBot) => Some(PairAction::ReopenRpms),
        (SourceState::Merged, RpmsState::Open) => Some(match policy {
            OnSourceMerged::Comment => PairAction::NoteRpmsSourceMerged,
            OnSourceMerged::Close => PairAction::CloseRpmsSourceMerged,
        }),
        (SourceState::Open, RpmsState::ClosedBy(who)) => {
            Some(PairAction::NoteSourceRpmsClosed(who.clone()))
        }
        (SourceState::Open, RpmsState::Merged) => Some(PairAction::NoteSourceRpmsMerged),
        (SourceState::Open, RpmsState::Open)
        | (SourceState::Closed | SourceState::Merged, RpmsState::ClosedByBot)
        | (SourceState::Closed | SourceState::Merged, RpmsState::ClosedBy(_))
        | (SourceState::Closed | SourceState::Merged, RpmsState::Merged) => None,
    }
}

impl PairAction {
    /// The line printed for it (`would …` in a dry run).
    pub fn describe(&self, dry_run: bool) -> String {
        let (verb, rest) = match self {
            PairAction::CloseRpms => (
                ["closed", "would close"],
                "the dist-git MR (the source-git MR was closed)".to_string(),
            ),
            PairAction::ReopenRpms => (
                ["reopened", "would reopen"],
                "the dist-git MR (the source-git MR was reopened)".to_string(),
            ),
            PairAction::NoteRpmsSourceMerged => (
                ["commented on", "would comment on"],
                "the dist-git MR (the source-git MR was merged)".to_string(),
            ),
            PairAction::CloseRpmsSourceMerged => (
                ["closed", "would close"],
                "the dist-git MR (the source-git MR was merged)".to_string(),
            ),
            PairAction::NoteSourceRpmsClosed(who) => (
                ["told", "would tell"],
                format!("the source-git MR that @{who} closed the dist-git MR"),
            ),
            PairAction::NoteSourceRpmsMerged => (
                ["told", "would tell"],
                "the source-git MR that the dist-git MR was merged".to_string(),
            ),
        };
        format!("{} {rest}", verb[usize::from(dry_run)])
    }

    /// The marker of the note this action writes.
    fn marker(&self) -> &'static str {
        match self {
            PairAction::CloseRpms => "source-closed",
            PairAction::ReopenRpms => "source-reopened",
            PairAction::NoteRpmsSourceMerged | PairAction::CloseRpmsSourceMerged => "source-merged",
            PairAction::NoteSourceRpmsClosed(_) => "rpms-closed",
            PairAction::NoteSourceRpmsMerged => "rpms-merged",
        }
    }

    /// The note's text, marker included.
    fn note(&self, source_url: &str, rpms_url: &str) -> String {
        let text = match self {
            PairAction::CloseRpms => format!(
                "The source-git merge request {source_url} was closed, so srcgit closed this \
                 one. srcgit reopens it if the source-git merge request is reopened."
            ),
            PairAction::ReopenRpms => format!(
                "The source-git merge request {source_url} was reopened, so srcgit reopened \
                 this one."
            ),
            PairAction::NoteRpmsSourceMerged => format!(
                "The source-git merge request {source_url} was merged. This merge request \
                 still needs a dist-git maintainer: merge it to ship the change, or close it."
            ),
            PairAction::CloseRpmsSourceMerged => format!(
                "The source-git merge request {source_url} was merged, so srcgit closed this \
                 one (`on_source_merged = \"close\"`)."
            ),
            PairAction::NoteSourceRpmsClosed(who) => format!(
                "@{who} closed the dist-git merge request {rpms_url}; srcgit will not reopen \
                 it. To get a new one, run the manual job `srcgit-recreate` in this merge \
                 request's latest pipeline."
            ),
            PairAction::NoteSourceRpmsMerged => format!(
                "The dist-git merge request {rpms_url} was merged: the change landed in \
                 dist-git. Merge this merge request too, so source-git and dist-git stay in \
                 sync."
            ),
        };
        format!("{text}\n\n{}", reconcile_marker(self.marker()))
    }
}

fn reconcile_marker(kind: &str) -> String {
    format!("<!-- srcgit: reconcile={kind} -->")
}

/// The kind of the newest reconcile note among `bodies` (oldest first), if any.
fn newest_reconcile_note<'a>(bodies: impl DoubleEndedIterator<Item = &'a str>) -> Option<&'a str> {
    const PREFIX: &str = "<!-- srcgit: reconcile=";
    bodies.rev().find_map(|body| {
        let start = body.rfind(PREFIX)? + PREFIX.len();
        let rest = &body[start..];
        Some(&rest[..rest.find(" -->")?])
    })
}

/// Where one sweep ended.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// Pairs known (stored or found through the bot's MRs).
    pub pairs: usize,
    /// Pairs examined (changed since the previous sweep).
    pub examined: usize,
    /// Actions taken (or, in a dry run, that would be).
    pub actions: usize,
    /// Pairs or jobs that could not be handled, each with the reason.
    pub failures: Vec<String>,
}

/// A pair as the sweep sees it.
#[derive(Debug, Clone)]
struct Candidate {
    source_path: ProjectPath,
    source_iid: MrIid,
    stored: Option<Pair>,
    /// The current rpms MR, when the bot's MR list holds it.
    listed: Option<MergeRequest>,
}

/// How far back to look before the previous sweep's newest `updated_at`.
const WATERMARK_MARGIN_SECS: i64 = 60;

/// Runs one sweep.
pub async fn reconcile<F: Forge>(
    forge: &F,
    settings: &Settings,
    store: &Store,
    out: &dyn Output,
    dry_run: bool,
) -> Result<SweepReport, BridgeError> {
    let bot = forge.current_user().await?;
    let (sweep, watermark) = store.start_sweep(dry_run)?;
    let mut report = SweepReport::default();
    let mut candidates: BTreeMap<(String, MrIid), Candidate> = BTreeMap::new();
    for pair in store.pairs(None)? {
        candidates.insert(
            (pair.source_project_path.0.clone(), pair.source_mr_iid),
            Candidate {
                source_path: pair.source_project_path.clone(),
                source_iid: pair.source_mr_iid,
                stored: Some(pair),
                listed: None,
            },
        );
    }
    let mut newest = watermark.clone();
    for mr in forge.bot_open_merge_requests().await? {
        let Some((path, iid)) = naming::parse_marker(&mr.description) else {
            continue;
        };
        // only configured namespaces are served
        if settings.mapping_for(&path).is_none() {
            continue;
        }
        bump(&mut newest, mr.updated_at.as_deref());
        let entry = candidates
            .entry((path.0.clone(), iid))
            .or_insert_with(|| Candidate {
                source_path: path,
                source_iid: iid,
                stored: None,
                listed: None,
            });
        let current = entry.stored.as_ref().is_none_or(|p| {
            p.dist_git_project_id == mr.target_project_id && p.dist_git_mr_iid == mr.iid
        });
        if current {
            entry.listed = Some(mr);
        }
    }
    report.pairs = candidates.len();
    let changed = match &watermark {
        Some(mark) => Some(changed_mrs(forge, settings, store, mark, &mut newest).await?),
        None => None,
    };
    for candidate in candidates.values() {
        let examine = match &changed {
            None => true,
            Some(changed) => {
                candidate.stored.is_none()
                    || candidate.stored.as_ref().is_some_and(|p| {
                        changed.contains(&(p.source_project_id, p.source_mr_iid))
                            || changed.contains(&(p.dist_git_project_id, p.dist_git_mr_iid))
                    })
            }
        };
        if !examine {
            continue;
        }
        report.examined += 1;
        let label = format!("{}!{}", candidate.source_path, candidate.source_iid);
        let span = tracing::info_span!("reconcile_pair", sg.mr = %label);
        match reconcile_pair(
            forge,
            settings,
            store,
            out,
            &bot.username,
            candidate,
            dry_run,
        )
        .instrument(span)
        .await
        {
            Ok((acted, seen)) => {
                report.actions += usize::from(acted);
                for (project, iid, updated) in &seen {
                    bump(&mut newest, updated.as_deref());
                    if let (false, Some(updated)) = (dry_run, updated) {
                        store.record_seen(*project, *iid, updated)?;
                    }
                }
            }
            Err(e) => {
                out.line(&format!("{label}: {e}"));
                report.failures.push(format!("{label}: {e}"));
            }
        }
    }
    // A pair that failed is examined again next time: the watermark stays where it was.
    let pairs_failed = !report.failures.is_empty();
    for job in store.jobs_with_open_statuses()? {
        match finish_statuses(forge, store, out, job, dry_run).await {
            Ok(acted) => report.actions += usize::from(acted),
            Err(e) => {
                out.line(&format!("job {job}: {e}"));
                report.failures.push(format!("job {job}: {e}"));
            }
        }
    }
    // dist-git → source-git: the "Sync from dist-git" MRs
    let env = super::sync_back::SyncEnv {
        forge,
        settings,
        store,
        out,
    };
    match super::sync_back::sweep(&env, dry_run).await {
        Ok(back) => {
            report.actions += back.actions;
            report.failures.extend(back.failures);
        }
        Err(e) => {
            out.line(&format!("sync from dist-git: {e}"));
            report.failures.push(format!("sync from dist-git: {e}"));
        }
    }
    let watermark = if dry_run || pairs_failed {
        None
    } else {
        newest.as_deref()
    };
    store.end_sweep(
        sweep,
        report.actions as u64,
        report.failures.len() as u64,
        watermark,
    )?;
    out.line(&format!(
        "reconcile: {} pair(s), {} changed, {} action(s){}, {} failure(s)",
        report.pairs,
        report.examined,
        report.actions,
        if dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        },
        report.failures.len()
    ));
    Ok(report)
}

/// Keeps the newest of two GitLab timestamps.
fn bump(newest: &mut Option<String>, seen: Option<&str>) {
    let Some(seen) = seen.and_then(parse_time) else {
        return;
    };
    if newest
        .as_deref()
        .and_then(parse_time)
        .is_none_or(|n| seen > n)
    {
        *newest = Some(seen.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    }
}

fn parse_time(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// `(project, iid)` of every MR of the mapped namespaces updated since `mark`.
///
/// The list reaches back a minute before `mark`, so an MR the previous sweep already saw
/// may be listed again: it counts as changed only when its `updated_at` differs from the
/// one that sweep recorded.
async fn changed_mrs<F: Forge>(
    forge: &F,
    settings: &Settings,
    store: &Store,
    mark: &str,
    newest: &mut Option<String>,
) -> Result<BTreeSet<(ProjectId, MrIid)>, BridgeError> {
    let after = parse_time(mark)
        .map(|t| t - chrono::Duration::seconds(WATERMARK_MARGIN_SECS))
        .map_or_else(
            || mark.to_string(),
            |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        );
    let mut groups: Vec<&str> = settings
        .mappings
        .iter()
        .flat_map(|m| [m.source_git.as_str(), m.dist_git.as_str()])
        .collect();
    groups.sort_unstable();
    groups.dedup();
    let mut changed = BTreeSet::new();
    for group in groups {
        for mr in forge
            .group_merge_requests_updated_after(group, &after)
            .await?
        {
            bump(newest, mr.updated_at.as_deref());
            let seen = store.seen_updated_at(mr.target_project_id, mr.iid)?;
            if seen.is_none() || seen != mr.updated_at {
                changed.insert((mr.target_project_id, mr.iid));
            }
        }
    }
    Ok(changed)
}

/// What a pair examination saw of its two MRs: `(project, iid, updated_at)`.
type Seen = [(ProjectId, MrIid, Option<String>); 2];

/// Examines one pair; returns whether it acted and the `updated_at`s it saw.
async fn reconcile_pair<F: Forge>(
    forge: &F,
    settings: &Settings,
    store: &Store,
    out: &dyn Output,
    bot: &str,
    candidate: &Candidate,
    dry_run: bool,
) -> Result<(bool, Seen), BridgeError> {
    let source_project = match &candidate.stored {
        Some(p) => p.source_project_id,
        None => {
            forge
                .project(&ProjectRef::Path(candidate.source_path.clone()))
                .await?
                .id
        }
    };
    let source = forge
        .merge_request(source_project, candidate.source_iid)
        .await?;
    let rpms = match (&candidate.listed, &candidate.stored) {
        (Some(listed), _) => listed.clone(),
        (None, Some(pair)) => {
            forge
                .merge_request(pair.dist_git_project_id, pair.dist_git_mr_iid)
                .await?
        }
        (None, None) => unreachable_pair(candidate)?,
    };
    let rpms_path = match &candidate.stored {
        Some(p) => p.dist_git_project_path.clone(),
        None => {
            forge
                .project(&ProjectRef::Id(rpms.target_project_id))
                .await?
                .path
        }
    };
    let seen = [
        (
            source.target_project_id,
            source.iid,
            source.updated_at.clone(),
        ),
        (rpms.target_project_id, rpms.iid, rpms.updated_at.clone()),
    ];
    let mut pair = candidate.stored.clone().unwrap_or_else(|| Pair {
        source_project_id: source_project,
        source_project_path: candidate.source_path.clone(),
        source_mr_iid: candidate.source_iid,
        dist_git_project_id: rpms.target_project_id,
        dist_git_project_path: rpms_path.clone(),
        dist_git_mr_iid: rpms.iid,
        fork_project_id: rpms.source_project_id,
        fork_branch: rpms.source_branch.clone(),
        source_sha: source
            .sha
            .clone()
            .unwrap_or_else(|| CommitSha("0".repeat(40))),
        dist_git_sha: rpms
            .sha
            .clone()
            .unwrap_or_else(|| CommitSha("0".repeat(40))),
        state: "open".to_string(),
        closed_reason: None,
    });
    let source_state = match source.state.as_str() {
        "closed" => SourceState::Closed,
        "merged" => SourceState::Merged,
        _ => SourceState::Open,
    };
    let rpms_state = match (rpms.state.as_str(), rpms.closed_by.as_deref()) {
        ("merged", _) => RpmsState::Merged,
        ("closed", Some(who)) if who == bot => RpmsState::ClosedByBot,
        ("closed", Some(who)) => RpmsState::ClosedBy(who.to_string()),
        ("closed", None) => RpmsState::ClosedBy("someone".to_string()),
        _ => RpmsState::Open,
    };
    let label = format!(
        "{}!{} ↔ {}!{}",
        candidate.source_path, candidate.source_iid, rpms_path, rpms.iid
    );
    let Some(action) = decide(source_state, &rpms_state, settings.on_source_merged) else {
        if !dry_run {
            pair.state = stored_state(&rpms_state).to_string();
            if candidate.stored.as_ref() != Some(&pair) {
                store.save_pair(&pair)?;
            }
        }
        return Ok((false, seen));
    };
    let line = format!("{label}: {}", action.describe(dry_run));
    if dry_run {
        out.line(&line);
        return Ok((true, seen));
    }
    let result = apply(forge, &action, &source, &rpms).await;
    let outcome = match &result {
        Ok(()) => "done".to_string(),
        Err(e) => format!("failed: {e}"),
    };
    store.record_action(&StoredAction {
        at: unix_now(),
        source_project_path: candidate.source_path.clone(),
        source_mr_iid: candidate.source_iid,
        dist_git_project_path: rpms_path,
        dist_git_mr_iid: rpms.iid,
        action: action.describe(false),
        outcome,
    })?;
    result?;
    out.line(&line);
    let (state, reason) = match action {
        PairAction::CloseRpms => ("closed", Some("source-closed")),
        PairAction::CloseRpmsSourceMerged => ("closed", Some("source-merged")),
        PairAction::ReopenRpms => ("open", None),
        _ => (stored_state(&rpms_state), pair.closed_reason.as_deref()),
    };
    pair.closed_reason = reason.map(str::to_string);
    pair.state = state.to_string();
    store.save_pair(&pair)?;
    Ok((true, seen))
}

fn unreachable_pair(candidate: &Candidate) -> Result<MergeRequest, BridgeError> {
    Err(BridgeError::Host(format!(
        "{}!{} has neither a stored nor a listed rpms merge request",
        candidate.source_path, candidate.source_iid
    )))
}

fn stored_state(rpms: &RpmsState) -> &'static str {
    match rpms {
        RpmsState::Open => "open",
        RpmsState::ClosedByBot | RpmsState::ClosedBy(_) => "closed",
        RpmsState::Merged => "merged",
    }
}

/// Carries out `action`: the state change first, then its one note (unless the newest
/// reconcile note on that MR is already this one).
async fn apply<F: Forge>(
    forge: &F,
    action: &PairAction,
    source: &MergeRequest,
    rpms: &MergeRequest,
) -> Result<(), BridgeError> {
    let state_event = match action {
        PairAction::CloseRpms | PairAction::CloseRpmsSourceMerged => Some("close"),
        PairAction::ReopenRpms => Some("reopen"),
        _ => None,
    };
    if let Some(event) = state_event {
        let update = MergeRequestUpdate {
            state_event: Some(event),
            ..MergeRequestUpdate::default()
        };
        match forge
            .update_merge_request(rpms.target_project_id, rpms.iid, &update)
            .await
        {
            Ok(_) => {}
            // Reopening fails while another MR from the same branch is open (a recreate):
            // that one is the pair's MR now, nothing to do here.
            Err(ForgeError::Conflict { .. }) if event == "reopen" => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
    let (project, iid) = match action {
        PairAction::NoteSourceRpmsClosed(_) | PairAction::NoteSourceRpmsMerged => {
            (source.target_project_id, source.iid)
        }
        _ => (rpms.target_project_id, rpms.iid),
    };
    let notes = forge.notes(project, iid).await?;
    if newest_reconcile_note(notes.iter().map(|n| n.body.as_str())) == Some(action.marker()) {
        return Ok(());
    }
    forge
        .post_note(project, iid, &action.note(&source.web_url, &rpms.web_url))
        .await?;
    Ok(())
}

/// Posts the real state of the statuses job `job` left open, when the job has ended
/// (it handed over to reconcile, or its runner host died): the downstream pipeline's, or
/// `canceled` when there is none. Returns whether it posted anything.
async fn finish_statuses<F: Forge>(
    forge: &F,
    store: &Store,
    out: &dyn Output,
    job: JobId,
    dry_run: bool,
) -> Result<bool, BridgeError> {
    let run = store.run(job)?;
    let open = store.statuses_of(job)?;
    let handed_over = run.as_ref().is_some_and(|r| r.outcome == "handed-over");
    // The job's project: from its run, else (statuses recorded before run history
    // existed) the project its statuses went to, which is its pipeline's.
    let job_project = run
        .as_ref()
        .map(|r| r.job_project_id)
        .or_else(|| open.first().map(|s| s.project_id));
    if !handed_over && let Some(project) = job_project {
        match forge.job(project, job).await {
            Ok(j) if !j.status.pipeline_finished() && j.status != crate::ids::CiStatus::Manual => {
                return Ok(false); // still running: the job mirrors itself
            }
            Ok(_) | Err(ForgeError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let downstream = match run
        .as_ref()
        .and_then(|r| Some((r.dist_git_project_id?, *r.rpms_pipeline_ids.last()?)))
    {
        Some((project, pipeline)) => {
            let p = forge.pipeline(project, pipeline).await?;
            let jobs = forge.pipeline_jobs(project, pipeline).await?;
            Some((p, jobs))
        }
        None => None,
    };
    let wanted = wanted_statuses(downstream.as_ref());
    let mut posted = false;
    for status in open.iter().filter(|s| !s.state.is_final()) {
        let (state, url, description) = match wanted.get(&status.name) {
            Some(w) => w.clone(),
            None if downstream.is_some() => continue,
            None => (
                CommitState::Canceled,
                status.target_url.clone().unwrap_or_default(),
                "canceled: the srcgit job ended without a dist-git pipeline".to_string(),
            ),
        };
        if !status::may_post(Some(status.state), state) {
            continue;
        }
        posted = true;
        if dry_run {
            continue;
        }
        let update = StatusUpdate {
            state,
            name: status.name.clone(),
            target_url: (!url.is_empty()).then(|| naming::truncate(&url, 255)),
            description: Some(naming::status_description(&description)),
            pipeline_id: status.pipeline_id,
            git_ref: status.git_ref.clone(),
        };
        match forge
            .post_status(status.project_id, &status.sha, &update)
            .await
        {
            Ok(()) => {}
            Err(ForgeError::Rejected { status: 400, .. }) => {} // already in that state
            Err(e) => return Err(e.into()),
        }
        store.record_status(&PostedStatus {
            state,
            target_url: (!url.is_empty()).then_some(url),
            ..status.clone()
        })?;
    }
    let finished = downstream
        .as_ref()
        .is_some_and(|(p, _)| p.status.pipeline_finished());
    if posted {
        let what = match &downstream {
            Some((p, _)) if finished => format!(
                "posted the final dist-git statuses ({}) of pipeline {}",
                p.status.as_str(),
                p.web_url
            ),
            Some((p, _)) => format!(
                "posted the current dist-git statuses ({}) of pipeline {}",
                p.status.as_str(),
                p.web_url
            ),
            None => "canceled its dist-git statuses (no dist-git pipeline)".to_string(),
        };
        let verb = if dry_run { "would have " } else { "" };
        out.line(&format!("job {job}: {verb}{what}"));
    }
    if !dry_run
        && finished
        && let (Some(mut run), Some((p, _))) = (run, downstream.as_ref())
    {
        run.outcome = match p.status {
            crate::ids::CiStatus::Success | crate::ids::CiStatus::Skipped => "passed",
            _ => "failed",
        }
        .to_string();
        run.detail = format!(
            "dist-git pipeline {} (posted by reconcile)",
            p.status.as_str()
        );
        run.ended_at = Some(unix_now());
        store.save_run(&run)?;
    }
    Ok(posted)
}

/// Status name → (state, link, description) mirroring a downstream pipeline.
fn wanted_statuses(
    downstream: Option<&(Pipeline, Vec<Job>)>,
) -> BTreeMap<String, (CommitState, String, String)> {
    let mut wanted = BTreeMap::new();
    let Some((pipeline, jobs)) = downstream else {
        return wanted;
    };
    for job in jobs {
        wanted.insert(
            naming::job_status_name(&job.name),
            (
                status::job_state(job.status, job.allow_failure),
                job.web_url.clone(),
                status::job_description(job.status, job.allow_failure),
            ),
        );
    }
    wanted.insert(
        PIPELINE_STATUS_NAME.to_string(),
        (
            status::pipeline_state(pipeline.status),
            pipeline.web_url.clone(),
            format!(
                "dist-git pipeline #{}: {}",
                pipeline.id,
                pipeline.status.as_str().replace('_', " ")
            ),
        ),
    );
    wanted
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCES: [SourceState; 3] = [SourceState::Open, SourceState::Closed, SourceState::Merged];

    fn rpms_states() -> [RpmsState; 4] {
        [
            RpmsState::Open,
            RpmsState::ClosedByBot,
            RpmsState::ClosedBy("maint".into()),
            RpmsState::Merged,
        ]
    }

    #[test]
    fn the_decision_table() {
        use PairAction as A;
        let expected = [
            // Open source
            [
                None,
                Some(A::ReopenRpms),
                Some(A::NoteSourceRpmsClosed("maint".into())),
                Some(A::NoteSourceRpmsMerged),
            ],
            // Closed source
            [Some(A::CloseRpms), None, None, None],
            // Merged source
            [Some(A::NoteRpmsSourceMerged), None, None, None],
        ];
        for (source, row) in SOURCES.iter().zip(expected) {
            for (rpms, want) in rpms_states().iter().zip(row) {
                assert_eq!(
                    decide(*source, rpms, OnSourceMerged::Comment),
                    want,
                    "{source:?} × {rpms:?}"
                );
            }
        }
        assert_eq!(
            decide(SourceState::Merged, &RpmsState::Open, OnSourceMerged::Close),
            Some(A::CloseRpmsSourceMerged)
        );
    }

    #[test]
    fn dry_run_lines_say_would() {
        assert_eq!(
            PairAction::CloseRpms.describe(false),
            "closed the dist-git MR (the source-git MR was closed)"
        );
        assert_eq!(
            PairAction::CloseRpms.describe(true),
            "would close the dist-git MR (the source-git MR was closed)"
        );
        assert_eq!(
            PairAction::NoteSourceRpmsClosed("ann".into()).describe(true),
            "would tell the source-git MR that @ann closed the dist-git MR"
        );
    }

    #[test]
    fn only_the_newest_reconcile_note_counts() {
        let close = PairAction::CloseRpms.note("s", "r");
        let reopen = PairAction::ReopenRpms.note("s", "r");
        let bodies = ["hello", close.as_str(), reopen.as_str(), "thanks"];
        assert_eq!(
            newest_reconcile_note(bodies.iter().copied()),
            Some("source-reopened")
        );
        assert_eq!(newest_reconcile_note(["x"].iter().copied()), None);
    }

    #[test]
    fn timestamps_compare_across_offsets() {
        let mut newest = None;
        bump(&mut newest, Some("2026-12-07T10:00:00.500+01:00"));
        bump(&mut newest, Some("2026-12-07T09:00:00.100Z"));
        assert_eq!(newest.as_deref(), Some("2026-12-07T09:00:00.500Z"));
        bump(&mut newest, Some("not a time"));
        assert_eq!(newest.as_deref(), Some("2026-12-07T09:00:00.500Z"));
    }
}
