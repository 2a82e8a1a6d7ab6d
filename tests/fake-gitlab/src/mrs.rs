//! Merge-request behaviour: creation rules (409 duplicate, 422 same branch),
//! head updates on push, MR pipelines, head pipeline selection, notes.

use serde_json::{Value, json};

use crate::model::*;
use crate::pipelines::{self, NewPipeline};
use crate::state::{IdKind, Scheduled, State};

/// Why an MR operation was refused (mapped to HTTP by the API layer).
#[derive(Debug)]
pub(crate) enum MrError {
    /// 409 with `{"message": [msg]}`.
    Conflict(String),
    /// 422 with `{"message": [msgs…]}`.
    Unprocessable(Vec<String>),
    /// 403.
    Forbidden,
    /// 404 `{"message": "404 <thing> Not Found"}`.
    NotFound(&'static str),
    /// 400 with a validation hash.
    Invalid(Value),
}

/// Inputs for a new MR.
pub(crate) struct NewMr {
    pub source_project: Id,
    pub source_branch: String,
    pub target_project: Id,
    pub target_branch: String,
    pub title: String,
    pub description: Option<String>,
    pub author: Id,
    pub labels: Vec<String>,
    pub squash: bool,
    pub remove_source_branch: Option<bool>,
    pub allow_collaboration: bool,
}

/// Why an MR pipeline could not be created.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum MrPipelineError {
    /// 405: closed MR, missing source branch, or no permission anywhere.
    NotAllowed,
    /// 400: the pipeline project has no CI definition.
    NoJobs,
}

pub(crate) fn mr_ref(iid: u64) -> String {
    format!("refs/merge-requests/{iid}/head")
}

/// `Draft:`/`[Draft]`/`(Draft)` (and legacy `WIP:`) title prefixes.
pub(crate) fn is_draft_title(title: &str) -> bool {
    let t = title.trim_start().to_ascii_lowercase();
    ["draft:", "[draft]", "(draft)", "draft -", "wip:", "[wip]"]
        .iter()
        .any(|p| t.starts_with(p))
}

fn open_duplicate(st: &State, new: &NewMr, except: Option<Id>) -> Option<u64> {
    st.mrs
        .values()
        .find(|m| {
            m.state == MrState::Opened
                && Some(m.id) != except
                && m.project_id == new.target_project
                && m.source_project_id == new.source_project
                && m.source_branch == new.source_branch
                && m.target_branch == new.target_branch
        })
        .map(|m| m.iid)
}

fn in_fork_network(st: &State, source: Id, target: Id) -> bool {
    let root = |mut id: Id| {
        for _ in 0..32 {
            match st.projects.get(&id).and_then(|p| p.forked_from_id) {
                Some(parent) => id = parent,
                None => break,
            }
        }
        id
    };
    source == target || root(source) == root(target)
}

/// How [`create_mr`] behaves.
pub(crate) struct CreateOpts {
    /// Enforce the author's permissions (API) or not (seeding).
    pub check_access: bool,
    /// Create the MR pipeline from the CI definition.
    pub pipeline: bool,
}

/// Creates an MR (validations in GitLab's order) and schedules its pipeline.
pub(crate) fn create_mr(st: &mut State, new: NewMr, opts: CreateOpts) -> Result<Id, MrError> {
    if opts.check_access && !st.can(new.author, new.source_project, AccessLevel::Developer) {
        return Err(MrError::Forbidden);
    }
    if opts.check_access && !st.can_read(Some(new.author), new.target_project) {
        return Err(MrError::NotFound("Project"));
    }
    if !in_fork_network(st, new.source_project, new.target_project) {
        return Err(MrError::Unprocessable(vec![
            "Source project is not a fork of the target project".into(),
        ]));
    }
    let mut base = Vec::new();
    if new.source_branch.is_empty() || new.target_branch.is_empty() {
        base.push("You must select source and target branch".to_string());
    }
    if new.source_project == new.target_project && new.source_branch == new.target_branch {
        base.push("You must select different branches".to_string());
    }
    let source_sha = st.git.heads(new.source_project).remove(&new.source_branch);
    if !new.source_branch.is_empty() && source_sha.is_none() {
        base.push(format!(
            "Source branch \"{}\" does not exist",
            new.source_branch
        ));
    }
    let target_heads = st.git.heads(new.target_project);
    if !new.target_branch.is_empty() && !target_heads.contains_key(&new.target_branch) {
        base.push(format!(
            "Target branch \"{}\" does not exist",
            new.target_branch
        ));
    }
    if !base.is_empty() {
        return Err(MrError::Unprocessable(base));
    }
    if new.title.trim().is_empty() {
        return Err(MrError::Invalid(json!({"title": ["can't be blank"]})));
    }
    if let Some(iid) = open_duplicate(st, &new, None) {
        return Err(MrError::Conflict(format!(
            "Another open merge request already exists for this source branch: !{iid}"
        )));
    }
    let sha = source_sha.unwrap_or_default();
    let id = st.next_id(IdKind::Mr);
    let iid = st.next_mr_iid(new.target_project);
    let now = st.now();
    let diff_id = st.next_diff_id();
    let mr = MergeRequest {
        id,
        iid,
        project_id: new.target_project,
        source_project_id: new.source_project,
        source_branch: new.source_branch,
        target_branch: new.target_branch,
        draft: is_draft_title(&new.title),
        title: new.title,
        description: new.description,
        author_id: new.author,
        state: MrState::Opened,
        sha: sha.clone(),
        sha_history: vec![sha.clone()],
        base_sha: None,
        start_sha: None,
        diff_id,
        changes_count: 0,
        labels: new.labels,
        squash: new.squash,
        allow_collaboration: new.allow_collaboration,
        remove_source_branch: new.remove_source_branch,
        created_at: now,
        updated_at: now,
        closed_at: None,
        closed_by_id: None,
    };
    st.mrs.insert(id, mr);
    sync_head_ref(st, id);
    if opts.pipeline {
        schedule_mr_pipeline(st, id, new.author);
    }
    Ok(id)
}

/// Copies the MR head into the target project as `refs/merge-requests/<iid>/head`
/// and recomputes `diff_refs` and `changes_count`.
pub(crate) fn sync_head_ref(st: &mut State, mr_id: Id) {
    let Some(m) = st.mrs.get(&mr_id).cloned() else {
        return;
    };
    if let Err(e) = st
        .git
        .copy_commit(m.project_id, m.source_project_id, &m.sha, &mr_ref(m.iid))
    {
        eprintln!("fake-gitlab: cannot update {}: {e}", mr_ref(m.iid));
    }
    let start = st.git.heads(m.project_id).remove(&m.target_branch);
    let base = start
        .as_deref()
        .and_then(|s| st.git.merge_base(m.project_id, s, &m.sha));
    let changes = base
        .as_deref()
        .map(|b| st.git.changed_files(m.project_id, b, &m.sha))
        .unwrap_or(0);
    if let Some(mm) = st.mrs.get_mut(&mr_id) {
        mm.start_sha = start;
        mm.base_sha = base;
        mm.changes_count = changes;
    }
}

/// Creates the MR pipeline now or after `mr_pipeline_delay` (GitLab creates
/// them asynchronously, so `head_pipeline` appears a moment after the push).
pub(crate) fn schedule_mr_pipeline(st: &mut State, mr_id: Id, user_id: Id) {
    let delay = st.settings.mr_pipeline_delay;
    if delay.is_zero() {
        let _ = create_mr_pipeline(st, mr_id, user_id);
    } else {
        let at = st.now().after(delay);
        st.scheduled
            .push(Scheduled::MrPipeline { mr_id, user_id, at });
    }
}

/// `MergeRequests::CreatePipelineService`: a detached MR pipeline in the target
/// project if the user may run pipelines there (and, for forks, the target
/// allows fork pipelines in the parent), else in the source project.
pub(crate) fn create_mr_pipeline(
    st: &mut State,
    mr_id: Id,
    user: Id,
) -> Result<Id, MrPipelineError> {
    let m = st
        .mrs
        .get(&mr_id)
        .cloned()
        .ok_or(MrPipelineError::NotAllowed)?;
    if m.state != MrState::Opened || m.sha.is_empty() {
        return Err(MrPipelineError::NotAllowed);
    }
    if !st
        .git
        .heads(m.source_project_id)
        .contains_key(&m.source_branch)
    {
        return Err(MrPipelineError::NotAllowed);
    }
    let fork_ok = m.project_id == m.source_project_id
        || st
            .projects
            .get(&m.project_id)
            .is_some_and(|p| p.allow_fork_pipelines_in_parent);
    let project = if fork_ok && st.can(user, m.project_id, AccessLevel::Developer) {
        m.project_id
    } else {
        m.source_project_id
    };
    if !st.can(user, project, AccessLevel::Developer) {
        return Err(MrPipelineError::NotAllowed);
    }
    let ci = st
        .projects
        .get(&project)
        .and_then(|p| p.ci.clone())
        .filter(|ci| !ci.jobs.is_empty())
        .ok_or(MrPipelineError::NoJobs)?;
    Ok(pipelines::create_pipeline(
        st,
        NewPipeline {
            project_id: project,
            sha: m.sha.clone(),
            ref_name: mr_ref(m.iid),
            source: "merge_request_event",
            user_id: user,
            merge_request_id: Some(m.id),
            event_type: Some("detached"),
        },
        &ci,
    ))
}

/// Pipelines GitLab associates with an MR: its MR pipelines (either project)
/// and branch pipelines of the source branch at one of its heads; MR pipelines
/// first, then id descending.
pub(crate) fn mr_pipelines(st: &State, m: &MergeRequest) -> Vec<Id> {
    let mut v: Vec<(bool, Id)> = st
        .pipelines
        .values()
        .filter(|p| {
            p.merge_request_id == Some(m.id)
                || (p.merge_request_id.is_none()
                    && p.project_id == m.source_project_id
                    && p.ref_name == m.source_branch
                    && m.sha_history.contains(&p.sha))
        })
        .map(|p| (p.merge_request_id.is_none(), p.id))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    v.into_iter().map(|(_, id)| id).collect()
}

/// The MR's `head_pipeline`: the first of [`mr_pipelines`] at the head sha.
pub(crate) fn head_pipeline(st: &State, m: &MergeRequest) -> Option<Id> {
    mr_pipelines(st, m)
        .into_iter()
        .find(|id| st.pipelines.get(id).is_some_and(|p| p.sha == m.sha))
}

/// Adds a note; bumps the MR's `updated_at`.
pub(crate) fn add_note(
    st: &mut State,
    mr_id: Id,
    author: Id,
    body: String,
    system: bool,
    internal: bool,
) -> Id {
    let id = st.next_id(IdKind::Note);
    let now = st.now();
    let (project_id, mr_iid) = st
        .mrs
        .get_mut(&mr_id)
        .map(|m| {
            m.updated_at = now;
            (m.project_id, m.iid)
        })
        .unwrap_or((0, 0));
    st.notes.insert(
        id,
        Note {
            id,
            project_id,
            mr_id,
            mr_iid,
            author_id: author,
            body,
            system,
            internal,
            created_at: now,
            updated_at: now,
        },
    );
    id
}

/// After a push moved `branch` of `project` from `old` to `new`: refresh the
/// MRs using it as source (new head, system note, new MR pipeline) or target.
pub(crate) fn on_branch_pushed(
    st: &mut State,
    project: Id,
    branch: &str,
    old: Option<&str>,
    new: &str,
    pusher: Id,
) {
    let sources: Vec<Id> = st
        .mrs
        .values()
        .filter(|m| {
            m.state == MrState::Opened
                && m.source_project_id == project
                && m.source_branch == branch
                && m.sha != new
        })
        .map(|m| m.id)
        .collect();
    for id in sources {
        let now = st.now();
        let diff_id = st.next_diff_id();
        let Some(m) = st.mrs.get_mut(&id) else {
            continue;
        };
        m.sha = new.to_string();
        m.sha_history.push(new.to_string());
        m.diff_id = diff_id;
        m.updated_at = now;
        sync_head_ref(st, id);
        let commits = st.git.commits_between(project, old, new);
        let n = commits.len().max(1);
        let items: String = commits
            .iter()
            .map(|(sha, subj)| format!("<li>{} - {}</li>", &sha[..8.min(sha.len())], subj))
            .collect();
        let body = format!(
            "added {n} commit{}\n\n<ul>{items}</ul>",
            if n == 1 { "" } else { "s" }
        );
        add_note(st, id, pusher, body, true, false);
        schedule_mr_pipeline(st, id, pusher);
    }
    let targets: Vec<Id> = st
        .mrs
        .values()
        .filter(|m| {
            m.state == MrState::Opened && m.project_id == project && m.target_branch == branch
        })
        .map(|m| m.id)
        .collect();
    for id in targets {
        sync_head_ref(st, id);
    }
}

/// Runs scheduled MR pipeline creations that are due.
pub(crate) fn run_scheduled(st: &mut State) {
    let now = st.now();
    let (due, rest): (Vec<_>, Vec<_>) =
        std::mem::take(&mut st.scheduled)
            .into_iter()
            .partition(|s| match s {
                Scheduled::MrPipeline { at, .. } => *at <= now,
            });
    st.scheduled = rest;
    for s in due {
        match s {
            Scheduled::MrPipeline { mr_id, user_id, .. } => {
                let _ = create_mr_pipeline(st, mr_id, user_id);
            }
        }
    }
}

/// Whether reopening `mr_id` would duplicate another open MR.
pub(crate) fn reopen_conflict(st: &State, mr_id: Id) -> Option<u64> {
    let m = st.mrs.get(&mr_id)?;
    let probe = NewMr {
        source_project: m.source_project_id,
        source_branch: m.source_branch.clone(),
        target_project: m.project_id,
        target_branch: m.target_branch.clone(),
        title: String::new(),
        description: None,
        author: m.author_id,
        labels: Vec::new(),
        squash: false,
        remove_source_branch: None,
        allow_collaboration: false,
    };
    open_duplicate(st, &probe, Some(mr_id))
}
