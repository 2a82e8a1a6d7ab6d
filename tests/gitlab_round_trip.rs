//! `GitLabForge` against the fake GitLab: every `Forge` method, shapes in and out, and
//! GitLab's refusals (duplicate MR, status transitions, conflicts).

mod common;

use std::time::Duration;

use common::forge_world::*;
use fake_gitlab::{CiDefinition, CiJob, Rule};
use serde_json::json;
use srcgit::forge::gitlab::GitLabForge;
use srcgit::forge::{
    Forge, ForgeError, ForgeResult, MergeRequest, MergeRequestUpdate, NewMergeRequest, ProjectRef,
    StatusUpdate,
};
use srcgit::ids::{CiStatus, CommitState};
use srcgit::ids::{CommitSha, MrIid, PipelineId, ProjectId, ProjectPath};

fn path(p: &str) -> ProjectRef {
    ProjectRef::Path(ProjectPath(p.into()))
}

#[tokio::test]
async fn connect_checks_the_token_and_keeps_the_user() {
    let w = world();
    let forge = GitLabForge::connect(w.options(BOT_TOKEN)).await.unwrap();
    assert_eq!(forge.requests_sent(), 1, "GET /user");
    let user = forge.current_user().await.unwrap();
    assert_eq!(user.username, "srcgit-bot");
    assert_eq!(user.id, w.gl.user("srcgit-bot").unwrap().id);
    assert_eq!(
        forge.requests_sent(),
        1,
        "current_user is answered from connect"
    );

    let err = GitLabForge::connect(w.options("glpat-wrong"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ForgeError::Unauthorized { message, .. } if message == "401 Unauthorized"),
        "{err:?}"
    );
    assert!(!err.is_retriable());
}

#[tokio::test]
async fn debug_output_hides_the_token() {
    let w = world();
    let forge = GitLabForge::connect(w.options(BOT_TOKEN)).await.unwrap();
    let shown = format!("{forge:?} {forge:#?} {:?}", w.options(BOT_TOKEN));
    assert!(!shown.contains(BOT_TOKEN), "{shown}");
    assert!(shown.contains(w.gl.url()), "{shown}");
}

#[tokio::test]
async fn projects_branches_and_forks() {
    let w = world();
    let forge = w.bot().await;
    let rpms = forge.project(&path(RPMS)).await.unwrap();
    assert_eq!((rpms.id, rpms.path.0.as_str()), (w.id(RPMS), RPMS));
    assert!(
        rpms.http_url_to_repo
            .ends_with("/redhat/centos-stream/rpms/quill.git"),
        "{}",
        rpms.http_url_to_repo
    );
    assert!(rpms.web_url.ends_with(RPMS) && rpms.forked_from.is_none());
    assert_eq!(forge.project(&ProjectRef::Id(rpms.id)).await.unwrap(), rpms);

    let head = forge.branch_head(rpms.id, "fix").await.unwrap();
    assert_eq!(head.map(|s| s.0), w.gl.branch_head(RPMS, "fix"));
    assert_eq!(
        forge.branch_head(rpms.id, "no/such-branch").await.unwrap(),
        None
    );
    let err = forge
        .branch_head(ProjectId(999_999), "c10s")
        .await
        .unwrap_err();
    assert!(
        matches!(err, ForgeError::NotFound { .. }),
        "a missing project is not a missing branch: {err:?}"
    );
    let err = forge.project(&path("redhat/nope")).await.unwrap_err();
    assert_eq!(err.to_string(), "GET project redhat/nope: not found");

    let fork = forge.fork(rpms.id, "srcgit-bot").await.unwrap();
    assert_eq!(
        (fork.path.0.as_str(), fork.forked_from),
        (BOT_FORK, Some(rpms.id))
    );
    assert_ne!(
        fork.import_status.as_deref(),
        Some("finished"),
        "forks are asynchronous"
    );
    w.gl.advance(Duration::from_secs(3));
    let fork = forge.project(&ProjectRef::Id(fork.id)).await.unwrap();
    assert_eq!(fork.import_status.as_deref(), Some("finished"));
    let err = forge.fork(rpms.id, "srcgit-bot").await.unwrap_err();
    assert!(matches!(err, ForgeError::Conflict { .. }), "{err:?}");
}

/// The dist-git MR as srcgit opens it: from the bot's fork into rpms.
fn new_mr(w: &common::forge_world::World) -> NewMergeRequest {
    NewMergeRequest {
        source_project: w.id(BOT_FORK),
        target_project: w.id(RPMS),
        source_branch: "fix".into(),
        target_branch: "c10s".into(),
        title: "quill: Fix the thing".into(),
        description: "From source-git MR !1".into(),
    }
}

/// A world with the bot's rpms fork, the bot's client and the dist-git MR it opened.
async fn dist_git_mr() -> (common::forge_world::World, GitLabForge, MergeRequest) {
    let w = world();
    w.gl.fork_project(RPMS, "srcgit-bot", None).unwrap();
    let forge = w.bot().await;
    let mr = forge.create_merge_request(&new_mr(&w)).await.unwrap();
    (w, forge, mr)
}

#[tokio::test]
async fn create_merge_request_posts_to_the_fork() {
    let (w, forge, mr) = dist_git_mr().await;
    let (fork, rpms) = (w.id(BOT_FORK), w.id(RPMS));
    let expected = MergeRequest {
        iid: mr.iid,
        target_project_id: rpms,
        source_project_id: fork,
        source_branch: "fix".into(),
        target_branch: "c10s".into(),
        title: "quill: Fix the thing".into(),
        description: "From source-git MR !1".into(),
        state: "opened".into(),
        sha: w
            .gl
            .branch_head(BOT_FORK, "fix")
            .and_then(|s| CommitSha::parse(&s)),
        web_url: format!("{}/{RPMS}/-/merge_requests/{}", w.gl.url(), mr.iid),
        closed_by: None,
        updated_at: mr.updated_at.clone(),
    };
    assert_eq!(mr, expected);
    let posts = w.gl.requests_matching("POST", r"/merge_requests$");
    assert_eq!(posts.len(), 1);
    assert!(
        posts[0]
            .path
            .ends_with(&format!("/projects/{fork}/merge_requests")),
        "{}",
        posts[0].path
    );
    let body = posts[0].body.clone().unwrap_or_default();
    assert!(
        body.contains(&format!("target_project_id={rpms}")),
        "{body}"
    );

    let err = forge.create_merge_request(&new_mr(&w)).await.unwrap_err();
    assert!(matches!(&err, ForgeError::Conflict { .. }), "{err:?}");
    let duplicate = "Another open merge request already exists for this source branch: !";
    assert!(err.message().starts_with(duplicate), "{err}");
}

#[tokio::test]
async fn merge_requests_get_list_and_update() {
    let (w, forge, mr) = dist_git_mr().await;
    let rpms = w.id(RPMS);
    assert_eq!(forge.merge_request(rpms, mr.iid).await.unwrap(), mr);
    assert_eq!(
        forge.open_merge_requests(rpms, "fix").await.unwrap(),
        std::slice::from_ref(&mr)
    );
    assert_eq!(forge.open_merge_requests(rpms, "other").await.unwrap(), []);
    let err = forge.merge_request(rpms, MrIid(999)).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("GET merge request {RPMS}!999: not found")
    );

    let update = |title: Option<&str>, state_event| MergeRequestUpdate {
        title: title.map(Into::into),
        description: title.map(|_| String::new()),
        state_event,
    };
    let updated = forge
        .update_merge_request(rpms, mr.iid, &update(Some("new"), None))
        .await
        .unwrap();
    assert_eq!(
        (updated.title.as_str(), updated.description.as_str()),
        ("new", "")
    );
    let closed = forge
        .update_merge_request(rpms, mr.iid, &update(None, Some("close")))
        .await;
    assert_eq!(closed.unwrap().state, "closed");
    assert!(
        forge
            .open_merge_requests(rpms, "fix")
            .await
            .unwrap()
            .is_empty()
    );
    let reopened = forge
        .update_merge_request(rpms, mr.iid, &update(None, Some("reopen")))
        .await;
    assert_eq!(reopened.unwrap().state, "opened");
    let err = forge
        .update_merge_request(rpms, mr.iid, &update(None, Some("merge")))
        .await;
    assert!(
        matches!(err, Err(ForgeError::Rejected { status: 0, .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn pipelines_jobs_and_traces() {
    let (w, forge, mr) = dist_git_mr().await;
    let rpms = w.id(RPMS);
    w.gl.process();
    let first = forge.merge_request_pipelines(rpms, mr.iid).await.unwrap();
    assert_eq!(first.len(), 1, "the MR event started a pipeline: {first:?}");
    let created = forge
        .create_merge_request_pipeline(rpms, mr.iid)
        .await
        .unwrap();
    assert_eq!(
        (created.project_id, created.source.as_str()),
        (rpms, "merge_request_event")
    );
    assert_eq!(
        Some(created.sha.clone()),
        mr.sha.as_ref().map(|s| s.0.clone())
    );
    let all = forge.merge_request_pipelines(rpms, mr.iid).await.unwrap();
    assert_eq!(
        all.iter().map(|p| p.id).collect::<Vec<_>>(),
        [created.id, first[0].id],
        "newest first"
    );

    let jobs = forge.pipeline_jobs(rpms, created.id).await.unwrap();
    let mut names: Vec<_> = jobs
        .iter()
        .map(|j| (j.name.as_str(), j.stage.as_str(), j.allow_failure))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [("rpmbuild", "build", false), ("rpminspect", "test", true)]
    );
    w.gl.advance(Duration::from_secs(60));
    let pipeline = forge.pipeline(rpms, created.id).await.unwrap();
    assert_eq!(pipeline.status, CiStatus::Success, "{pipeline:?}");
    assert!(
        pipeline
            .web_url
            .ends_with(&format!("/pipelines/{}", created.id)),
        "{}",
        pipeline.web_url
    );
    let jobs = forge.pipeline_jobs(rpms, created.id).await.unwrap();
    assert!(
        jobs.iter().all(|j| j.status == CiStatus::Success),
        "{jobs:?}"
    );
    let trace = forge.job_trace(rpms, jobs[0].id).await.unwrap();
    assert_eq!(trace, w.gl.job(jobs[0].id.0).unwrap().trace);
    assert!(!trace.is_empty());
    let err = forge.pipeline(rpms, PipelineId(424_242)).await.unwrap_err();
    assert!(matches!(err, ForgeError::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn pagination_returns_every_pipeline_and_job() {
    let w = world();
    let forge = w.bot().await;
    let (mr, _) = w.source_git_mr();
    for _ in 0..44 {
        w.gl.create_srcgit_pipeline(&mr, fake_gitlab::SrcgitJob::default())
            .unwrap();
    }
    let src = w.id(SRC);
    let pipelines = forge
        .merge_request_pipelines(src, MrIid(mr.iid))
        .await
        .unwrap();
    assert_eq!(pipelines.len(), 45);
    assert!(
        pipelines.windows(2).all(|p| p[0].id > p[1].id),
        "newest first"
    );

    let jobs: Vec<CiJob> = (0..120)
        .map(|i| CiJob::new(format!("job-{i:03}"), "test"))
        .collect();
    w.gl.set_ci(SRC, Some(CiDefinition::new(jobs))).unwrap();
    let pipeline = forge
        .create_merge_request_pipeline(src, MrIid(mr.iid))
        .await
        .unwrap();
    w.gl.clear_requests();
    let jobs = forge.pipeline_jobs(src, pipeline.id).await.unwrap();
    assert_eq!(jobs.len(), 120);
    let mut names: Vec<_> = jobs.iter().map(|j| j.name.clone()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 120);
    let pages: Vec<_> =
        w.gl.requests()
            .into_iter()
            .filter_map(|r| r.query)
            .collect();
    assert_eq!(pages.len(), 2, "{pages:?}");
    assert!(
        pages.iter().all(|q| q.contains("per_page=100")),
        "{pages:?}"
    );
}

fn status(state: CommitState, pipeline: u64) -> StatusUpdate {
    StatusUpdate {
        state,
        name: "rpms/rpmbuild".into(),
        target_url: Some(
            "https://gitlab.example.com/redhat/centos-stream/rpms/quill/-/jobs/1".into(),
        ),
        description: Some("running".into()),
        pipeline_id: Some(PipelineId(pipeline)),
        git_ref: None,
    }
}

/// The source-git MR's head, its srcgit pipeline and the bot's client.
struct StatusCtx {
    w: common::forge_world::World,
    forge: GitLabForge,
    project: ProjectId,
    sha: CommitSha,
    pipeline: u64,
}

impl StatusCtx {
    async fn new() -> StatusCtx {
        let w = world();
        let forge = w.bot().await;
        let (mr, job) = w.source_git_mr();
        let sha = CommitSha::parse(&mr.sha).unwrap();
        StatusCtx {
            w,
            forge,
            project: ProjectId(job.project_id),
            sha,
            pipeline: job.pipeline_id,
        }
    }

    async fn post(&self, state: CommitState) -> ForgeResult<()> {
        self.forge
            .post_status(self.project, &self.sha, &status(state, self.pipeline))
            .await
    }

    /// The external statuses the fake holds for the sha.
    fn posted(&self) -> Vec<fake_gitlab::Job> {
        self.w.gl.statuses(SRC, &self.sha.0)
    }
}

#[tokio::test]
async fn commit_statuses_round_trip_without_ref() {
    let c = StatusCtx::new().await;
    c.post(CommitState::Pending).await.unwrap();
    c.post(CommitState::Running).await.unwrap();
    let posted = c.posted();
    assert_eq!(posted.len(), 1, "{posted:?}");
    let s = &posted[0];
    let sent = status(CommitState::Running, c.pipeline);
    assert_eq!(
        (s.name.as_str(), s.status.as_str()),
        ("rpms/rpmbuild", "running")
    );
    assert_eq!(
        (s.pipeline_id, s.target_url.clone()),
        (c.pipeline, sent.target_url)
    );
    assert_eq!(s.description, sent.description);
    let posts = c.w.gl.requests_matching("POST", "/statuses/");
    let bodies: Vec<String> = posts.into_iter().filter_map(|r| r.body).collect();
    let ok = |b: &String| b.contains("pipeline_id=") && !b.contains("ref=");
    assert!(bodies.iter().all(ok), "{bodies:?}");
}

#[tokio::test]
async fn commit_status_refusals() {
    let c = StatusCtx::new().await;
    c.post(CommitState::Running).await.unwrap();
    let err = c.post(CommitState::Running).await.unwrap_err();
    assert!(
        matches!(err, ForgeError::Rejected { status: 400, .. }),
        "{err:?}"
    );
    assert!(err.message().contains("Cannot transition status"), "{err}");
    let what = format!(
        "POST status \"rpms/rpmbuild\" (running) on {SRC}@{}: ",
        c.sha.short()
    );
    assert!(err.to_string().starts_with(&what), "{err}");

    c.w.gl
        .inject(Rule::new("POST", "/statuses/").status_conflict());
    let err = c.post(CommitState::Success).await.unwrap_err();
    let conflict =
        matches!(&err, ForgeError::Conflict { message, .. } if message.contains("in progress"));
    assert!(conflict, "{err:?}");
    c.post(CommitState::Success).await.unwrap();
    assert_eq!(c.posted()[0].status.as_str(), "success");

    let hash = json!({"message": {"state": ["Cannot transition status via :run from :running"]}});
    c.w.gl
        .inject(Rule::new("POST", "/statuses/").reply_json(400, &hash));
    let err = c.post(CommitState::Running).await.unwrap_err();
    assert_eq!(
        err.message(),
        "state: Cannot transition status via :run from :running"
    );
}

#[tokio::test]
async fn notes_round_trip() {
    let w = world();
    let forge = w.bot().await;
    let (mr, _) = w.source_git_mr();
    let src = w.id(SRC);
    w.gl.add_note(SRC, mr.iid, "contributor", "please look")
        .unwrap();
    let note = forge
        .post_note(src, MrIid(mr.iid), "dist-git MR: !1\n<!-- srcgit -->")
        .await
        .unwrap();
    assert_eq!(
        (note.author.as_str(), note.body.as_str()),
        ("srcgit-bot", "dist-git MR: !1\n<!-- srcgit -->")
    );
    let notes = forge.notes(src, MrIid(mr.iid)).await.unwrap();
    assert!(notes.contains(&note), "{notes:?}");
    assert!(
        notes
            .iter()
            .any(|n| n.author == "contributor" && n.body == "please look"),
        "{notes:?}"
    );
}

#[tokio::test]
async fn pipeline_jobs_hide_retried_jobs() {
    let (w, forge, mr) = dist_git_mr().await;
    let rpms = w.id(RPMS);
    let ci = CiDefinition::new(vec![CiJob::new("rpmbuild", "build").fails()]);
    w.gl.set_ci(RPMS, Some(ci)).unwrap();
    let pipeline = forge
        .create_merge_request_pipeline(rpms, mr.iid)
        .await
        .unwrap();
    w.gl.advance(Duration::from_secs(120));
    let jobs = forge.pipeline_jobs(rpms, pipeline.id).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].status, CiStatus::Failed);
    let retry = format!(
        "{}/projects/{rpms}/jobs/{}/retry",
        w.gl.api_url(),
        jobs[0].id
    );
    let rsp = reqwest::Client::new()
        .post(retry)
        .header("PRIVATE-TOKEN", BOT_TOKEN)
        .send()
        .await;
    assert!(rsp.unwrap().status().is_success());
    let after = forge.pipeline_jobs(rpms, pipeline.id).await.unwrap();
    assert_eq!(after.len(), 1, "{after:?}");
    assert_ne!(
        after[0].id, jobs[0].id,
        "the new run replaces the retried one"
    );
}
