//! [`GitLabForge`]: srcgit's one implementation of [`Forge`], over the Kitware `gitlab`
//! crate's endpoint types with our own HTTP client underneath (timeouts, retries with
//! capped jittered backoff, `Retry-After`, a request counter).
//!
//! This module owns: talking REST v4 to GitLab, retrying infrastructure failures,
//! classifying errors into [`ForgeError`] (each with a short `what`), and decoding
//! answers into the domain types of `crate::forge`.
//!
//! It must not: make workflow decisions (what to post, when to retry a `Conflict`),
//! log or format the access token (it lives only in a sensitive header value), send
//! the token anywhere but the configured origin, or be bypassed — it is the only srcgit
//! file that imports the `gitlab` crate.
//!
//! Submodules: `transport` (the HTTP client and its retry loop), `retry` (the pure backoff
//! schedule and `Retry-After` parsing), `errors` (message flattening and mapping),
//! `dto` (answer structs and the custom fork endpoint), `request` (URL and status-field
//! rules).

mod activity;
mod admin;
mod dto;
mod errors;
mod request;
mod retry;
mod transport;

use std::cmp::Reverse;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use gitlab::api::common::NameOrId;
use gitlab::api::merge_requests::MergeRequestState;
use gitlab::api::projects::jobs::JobTrace;
use gitlab::api::projects::merge_requests::notes::{CreateMergeRequestNote, MergeRequestNotes};
use gitlab::api::projects::merge_requests::pipelines::{
    CreateMergeRequestPipelines, MergeRequestPipelines,
};
use gitlab::api::projects::merge_requests::{
    CreateMergeRequest, EditMergeRequest, MergeRequestStateEvent, MergeRequests,
};
use gitlab::api::projects::pipelines::{Pipeline as PipelineEndpoint, PipelineJobs};
use gitlab::api::projects::repository::branches::Branch;
use gitlab::api::projects::repository::commits::CreateCommitStatus;
use gitlab::api::projects::{self, merge_requests as mr_api};
use gitlab::api::users::CurrentUser;
use gitlab::api::{self, ApiError, AsyncQuery, Endpoint, Pageable, Pagination};
use serde::de::DeserializeOwned;

use self::dto::{
    BranchDto, DeleteMergeRequestNote, ForkProject, GroupMergeRequests, JobDto, MergeRequestDto,
    NoteDto, PipelineDto, ProjectDto, UserDto,
};
use self::errors::{HttpError, built, decode, not_sent, project_missing, to_forge_error};
use self::request::{commit_status_state, parse_base_url, status_fields};
use self::transport::{HttpClient, RetryPolicy};
use crate::forge::{
    ActiveProject, Branch as BranchHead, Forge, ForgeError, ForgeResult, Job, MergeRequest,
    MergeRequestUpdate, NewMergeRequest, Note, Pipeline, Project, ProjectRef, StatusUpdate, User,
};
use crate::ids::{CommitSha, JobId, MrIid, PipelineId, ProjectId, ProjectPath};

pub use self::admin::{AccountInfo, GroupInfo, TokenInfo};

/// How to reach GitLab.
#[derive(Clone)]
pub struct ClientOptions {
    /// Instance URL without `/api/v4` and without a trailing slash, e.g.
    /// `https://gitlab.com` or `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// Access token (sent as `PRIVATE-TOKEN`); needs `api` scope. Never formatted.
    pub token: String,
    /// Limit for one HTTP exchange (connect + answer), per attempt.
    pub request_timeout: Duration,
    /// Retries after the first attempt for 5xx, 429, connection errors and timeouts.
    pub max_retries: u32,
    /// Upper bound of any single retry delay, `Retry-After` included.
    pub max_backoff: Duration,
}

impl ClientOptions {
    /// Options with srcgit's defaults: 30 s timeout, 5 retries, delays up to 30 s.
    #[must_use]
    pub fn new(base_url: impl Into<String>, token: impl Into<String>) -> ClientOptions {
        ClientOptions {
            base_url: base_url.into(),
            token: token.into(),
            request_timeout: Duration::from_secs(30),
            max_retries: 5,
            max_backoff: Duration::from_secs(30),
        }
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("base_url", &self.base_url)
            .field("token", &"<redacted>")
            .field("request_timeout", &self.request_timeout)
            .field("max_retries", &self.max_retries)
            .field("max_backoff", &self.max_backoff)
            .finish()
    }
}

/// A connected GitLab client implementing [`Forge`]. `Debug` shows no token.
pub struct GitLabForge {
    http: HttpClient,
    base_url: String,
    user: User,
    /// Paths of projects seen so far, to name them in error messages.
    paths: Mutex<HashMap<ProjectId, ProjectPath>>,
}

impl fmt::Debug for GitLabForge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitLabForge")
            .field("base_url", &self.base_url)
            .field("user", &self.user.username)
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

impl GitLabForge {
    /// Builds the client and verifies the token with `GET /user`. The user is kept:
    /// [`Forge::current_user`] sends nothing.
    ///
    /// # Errors
    ///
    /// `Unauthorized` for a wrong or revoked token (401), `Forbidden` for one without `api`
    /// scope (403);
    /// `Rejected { status: 0 }` for an unusable `base_url` or token (nothing sent);
    /// `Transport`/`Server`/`RateLimited` when GitLab cannot be reached after retries.
    pub async fn connect(opts: ClientOptions) -> ForgeResult<GitLabForge> {
        const WHAT: &str = "GET user (checking the token)";
        let base = parse_base_url(&opts.base_url).map_err(|m| not_sent(WHAT, m))?;
        let policy = RetryPolicy {
            max_retries: opts.max_retries,
            max_backoff: opts.max_backoff,
        };
        let http = HttpClient::new(&base, &opts.token, opts.request_timeout, policy)
            .map_err(|m| not_sent(WHAT, m))?;
        let endpoint = built(WHAT, CurrentUser::builder().build())?;
        let user: UserDto = endpoint
            .query_async(&http)
            .await
            .map_err(|e| to_forge_error(WHAT, e))?;
        let base_url = base.as_str().trim_end_matches('/').to_owned();
        tracing::debug!(api = http.api_base().as_str(), "connected to GitLab");
        Ok(GitLabForge {
            http,
            base_url,
            user: user.into(),
            paths: Mutex::new(HashMap::new()),
        })
    }

    /// HTTP requests sent so far, retries included (for srcgit's benchmark of API
    /// requests per poll interval).
    #[must_use]
    pub fn requests_sent(&self) -> u64 {
        self.http.requests_sent()
    }

    /// The instance URL (no trailing slash).
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Sends `endpoint`, decodes the answer into `T`.
    async fn query<T, E>(&self, what: &str, endpoint: &E) -> ForgeResult<T>
    where
        T: DeserializeOwned + Send + 'static,
        E: Endpoint + Sync,
    {
        self.query_raw(endpoint)
            .await
            .map_err(|e| to_forge_error(what, e))
    }

    async fn query_raw<T, E>(&self, endpoint: &E) -> Result<T, ApiError<HttpError>>
    where
        T: DeserializeOwned + Send + 'static,
        E: Endpoint + Sync,
    {
        endpoint.query_async(&self.http).await
    }

    /// Fetches every page of `endpoint` (`per_page=100`).
    async fn query_all<T, E>(&self, what: &str, endpoint: E) -> ForgeResult<Vec<T>>
    where
        T: DeserializeOwned + Send + 'static,
        E: Endpoint + Pageable + Sync,
    {
        api::paged(endpoint, Pagination::All)
            .query_async(&self.http)
            .await
            .map_err(|e| to_forge_error(what, e))
    }

    /// Every merge request a paged list endpoint gives.
    async fn query_merge_requests<E>(
        &self,
        what: &str,
        endpoint: E,
    ) -> ForgeResult<Vec<MergeRequest>>
    where
        E: Endpoint + Pageable + Sync,
    {
        let dtos: Vec<MergeRequestDto> = self.query_all(what, endpoint).await?;
        dtos.into_iter()
            .map(|dto| to_merge_request(what, dto))
            .collect()
    }

    /// Sends `endpoint`, ignoring the answer's body.
    async fn send<E: Endpoint + Sync>(&self, what: &str, endpoint: E) -> ForgeResult<()> {
        api::ignore(endpoint)
            .query_async(&self.http)
            .await
            .map_err(|e| to_forge_error(what, e))
    }

    /// A project as named in messages: its path once seen, else `project <id>`.
    fn label(&self, id: ProjectId) -> String {
        let paths = self.paths.lock().unwrap_or_else(PoisonError::into_inner);
        paths
            .get(&id)
            .map_or_else(|| format!("project {id}"), |p| p.0.clone())
    }

    fn remember(&self, project: &Project) {
        let mut paths = self.paths.lock().unwrap_or_else(PoisonError::into_inner);
        paths.insert(project.id, project.path.clone());
    }

    /// MRs of `project` from `source_branch` (in `state`, or any), newest first.
    async fn branch_merge_requests(
        &self,
        project: ProjectId,
        source_branch: &str,
        state: Option<MergeRequestState>,
    ) -> ForgeResult<Vec<MergeRequest>> {
        let what = format!(
            "GET {}merge requests of {} from branch {source_branch}",
            if state.is_some() { "open " } else { "" },
            self.label(project)
        );
        let mut builder = MergeRequests::builder();
        builder.project(project.0).source_branch(source_branch);
        if let Some(state) = state {
            builder.state(state);
        }
        let endpoint = built(&what, builder.build())?;
        let mut mrs = self.query_merge_requests(&what, endpoint).await?;
        mrs.retain(|mr| {
            mr.source_branch == source_branch && (state.is_none() || mr.state == "opened")
        });
        mrs.sort_by_key(|mr| Reverse(mr.iid));
        Ok(mrs)
    }

    fn mr_label(&self, project: ProjectId, iid: MrIid) -> String {
        format!("{}!{iid}", self.label(project))
    }
}

fn to_merge_request(what: &str, dto: MergeRequestDto) -> ForgeResult<MergeRequest> {
    MergeRequest::try_from(dto).map_err(|m| decode(what, m))
}

impl Forge for GitLabForge {
    async fn current_user(&self) -> ForgeResult<User> {
        Ok(self.user.clone())
    }

    async fn project(&self, project: &ProjectRef) -> ForgeResult<Project> {
        let (id, what) = match project {
            ProjectRef::Id(id) => (
                NameOrId::from(id.0),
                format!("GET project {}", self.label(*id)),
            ),
            ProjectRef::Path(path) => (
                NameOrId::from(path.0.as_str()),
                format!("GET project {path}"),
            ),
        };
        let endpoint = built(&what, projects::Project::builder().project(id).build())?;
        let project = Project::from(self.query::<ProjectDto, _>(&what, &endpoint).await?);
        self.remember(&project);
        Ok(project)
    }

    async fn branch_head(
        &self,
        project: ProjectId,
        branch: &str,
    ) -> ForgeResult<Option<CommitSha>> {
        let what = format!("GET branch {branch} of {}", self.label(project));
        let endpoint = built(
            &what,
            Branch::builder().project(project.0).branch(branch).build(),
        )?;
        match self.query_raw::<BranchDto, _>(&endpoint).await {
            Ok(dto) => dto.head().map(Some).map_err(|m| decode(&what, m)),
            Err(e) if project_missing(&e) => Err(to_forge_error(&what, e)),
            Err(e) => match to_forge_error(&what, e) {
                ForgeError::NotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn fork(&self, project: ProjectId, namespace: &str) -> ForgeResult<Project> {
        let what = format!("POST fork of {} into {namespace}", self.label(project));
        let endpoint = ForkProject {
            project,
            namespace_path: namespace,
        };
        let fork = Project::from(self.query::<ProjectDto, _>(&what, &endpoint).await?);
        self.remember(&fork);
        Ok(fork)
    }

    async fn merge_request(&self, project: ProjectId, iid: MrIid) -> ForgeResult<MergeRequest> {
        let what = format!("GET merge request {}", self.mr_label(project, iid));
        let endpoint = built(
            &what,
            mr_api::MergeRequest::builder()
                .project(project.0)
                .merge_request(iid.0)
                .build(),
        )?;
        to_merge_request(&what, self.query(&what, &endpoint).await?)
    }

    async fn open_merge_requests(
        &self,
        project: ProjectId,
        source_branch: &str,
    ) -> ForgeResult<Vec<MergeRequest>> {
        self.branch_merge_requests(project, source_branch, Some(MergeRequestState::Opened))
            .await
    }

    async fn merge_requests_from_branch(
        &self,
        project: ProjectId,
        source_branch: &str,
    ) -> ForgeResult<Vec<MergeRequest>> {
        self.branch_merge_requests(project, source_branch, None)
            .await
    }

    async fn create_merge_request(&self, mr: &NewMergeRequest) -> ForgeResult<MergeRequest> {
        let what = format!(
            "POST merge request {}:{} into {}:{}",
            self.label(mr.source_project),
            mr.source_branch,
            self.label(mr.target_project),
            mr.target_branch
        );
        let endpoint = built(
            &what,
            CreateMergeRequest::builder()
                .project(mr.source_project.0)
                .target_project_id(mr.target_project.0)
                .source_branch(mr.source_branch.as_str())
                .target_branch(mr.target_branch.as_str())
                .title(mr.title.as_str())
                .description(mr.description.as_str())
                .build(),
        )?;
        to_merge_request(&what, self.query(&what, &endpoint).await?)
    }

    async fn update_merge_request(
        &self,
        project: ProjectId,
        iid: MrIid,
        update: &MergeRequestUpdate,
    ) -> ForgeResult<MergeRequest> {
        let what = format!("PUT merge request {}", self.mr_label(project, iid));
        let mut builder = EditMergeRequest::builder();
        builder.project(project.0).merge_request(iid.0);
        if let Some(title) = &update.title {
            builder.title(title.as_str());
        }
        if let Some(description) = &update.description {
            builder.description(description.as_str());
        }
        match update.state_event {
            Some("close") => builder.state_event(MergeRequestStateEvent::Close),
            Some("reopen") => builder.state_event(MergeRequestStateEvent::Reopen),
            Some(other) => return Err(not_sent(&what, format!("unknown state_event {other:?}"))),
            None => &mut builder,
        };
        let endpoint = built(&what, builder.build())?;
        to_merge_request(&what, self.query(&what, &endpoint).await?)
    }

    async fn merge_request_pipelines(
        &self,
        project: ProjectId,
        iid: MrIid,
    ) -> ForgeResult<Vec<Pipeline>> {
        let what = format!(
            "GET pipelines of merge request {}",
            self.mr_label(project, iid)
        );
        let endpoint = built(
            &what,
            MergeRequestPipelines::builder()
                .project(project.0)
                .merge_request(iid.0)
                .build(),
        )?;
        let dtos: Vec<PipelineDto> = self.query_all(&what, endpoint).await?;
        let mut pipelines: Vec<Pipeline> = dtos.into_iter().map(Pipeline::from).collect();
        // GitLab's own order, made explicit: MR pipelines first, then newest first.
        pipelines.sort_by_key(|p| (p.source != "merge_request_event", Reverse(p.id)));
        Ok(pipelines)
    }

    async fn create_merge_request_pipeline(
        &self,
        project: ProjectId,
        iid: MrIid,
    ) -> ForgeResult<Pipeline> {
        let what = format!(
            "POST pipeline for merge request {}",
            self.mr_label(project, iid)
        );
        let endpoint = built(
            &what,
            CreateMergeRequestPipelines::builder()
                .project(project.0)
                .merge_request(iid.0)
                .build(),
        )?;
        Ok(Pipeline::from(
            self.query::<PipelineDto, _>(&what, &endpoint).await?,
        ))
    }

    async fn pipeline(&self, project: ProjectId, id: PipelineId) -> ForgeResult<Pipeline> {
        let what = format!("GET pipeline {id} of {}", self.label(project));
        let endpoint = built(
            &what,
            PipelineEndpoint::builder()
                .project(project.0)
                .pipeline(id.0)
                .build(),
        )?;
        Ok(Pipeline::from(
            self.query::<PipelineDto, _>(&what, &endpoint).await?,
        ))
    }

    async fn pipeline_jobs(&self, project: ProjectId, id: PipelineId) -> ForgeResult<Vec<Job>> {
        let what = format!("GET jobs of pipeline {id} of {}", self.label(project));
        let endpoint = built(
            &what,
            PipelineJobs::builder()
                .project(project.0)
                .pipeline(id.0)
                .include_retried(false)
                .build(),
        )?;
        let dtos: Vec<JobDto> = self.query_all(&what, endpoint).await?;
        Ok(dtos
            .into_iter()
            .filter(|j| !j.retried())
            .map(Job::from)
            .collect())
    }

    async fn job_trace(&self, project: ProjectId, job: JobId) -> ForgeResult<String> {
        let what = format!("GET trace of job {job} of {}", self.label(project));
        let endpoint = built(
            &what,
            JobTrace::builder().project(project.0).job(job.0).build(),
        )?;
        let bytes = api::raw(endpoint)
            .query_async(&self.http)
            .await
            .map_err(|e| to_forge_error(&what, e))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    async fn post_status(
        &self,
        project: ProjectId,
        sha: &CommitSha,
        status: &StatusUpdate,
    ) -> ForgeResult<()> {
        let what = format!(
            "POST status {:?} ({}) on {}@{}",
            status.name,
            status.state.as_str(),
            self.label(project),
            sha.short()
        );
        let (description, target_url) = status_fields(status);
        let mut builder = CreateCommitStatus::builder();
        builder
            .project(project.0)
            .commit(sha.0.as_str())
            .state(commit_status_state(status.state));
        builder.name(status.name.as_str());
        if let Some(url) = target_url {
            builder.target_url(url);
        }
        if let Some(description) = description {
            builder.description(description);
        }
        if let Some(pipeline) = status.pipeline_id {
            builder.pipeline_id(pipeline.0);
        }
        if let Some(git_ref) = &status.git_ref {
            builder.ref_(git_ref.as_str());
        }
        self.send(&what, built(&what, builder.build())?).await
    }

    async fn notes(&self, project: ProjectId, iid: MrIid) -> ForgeResult<Vec<Note>> {
        let what = format!("GET notes of merge request {}", self.mr_label(project, iid));
        let endpoint = built(
            &what,
            MergeRequestNotes::builder()
                .project(project.0)
                .merge_request(iid.0)
                .build(),
        )?;
        let dtos: Vec<NoteDto> = self.query_all(&what, endpoint).await?;
        Ok(dtos.into_iter().map(Note::from).collect())
    }

    async fn bot_open_merge_requests(&self) -> ForgeResult<Vec<MergeRequest>> {
        let what = "GET open merge requests created by the bot".to_string();
        let endpoint = built(
            &what,
            gitlab::api::merge_requests::MergeRequests::builder()
                .scope(gitlab::api::merge_requests::MergeRequestScope::CreatedByMe)
                .state(MergeRequestState::Opened)
                .build(),
        )?;
        self.query_merge_requests(&what, endpoint).await
    }

    async fn group_merge_requests_updated_after(
        &self,
        group: &str,
        after: &str,
    ) -> ForgeResult<Vec<MergeRequest>> {
        let what = format!("GET merge requests of group {group} updated after {after}");
        let endpoint = GroupMergeRequests {
            group,
            updated_after: after,
        };
        self.query_merge_requests(&what, endpoint).await
    }

    async fn group_projects_active_since(
        &self,
        group: &str,
        since: Option<&str>,
    ) -> ForgeResult<Vec<ActiveProject>> {
        self.projects_active_since(group, since).await
    }

    async fn branches(&self, project: ProjectId) -> ForgeResult<Vec<BranchHead>> {
        self.all_branches(project).await
    }

    async fn job(&self, project: ProjectId, id: JobId) -> ForgeResult<Job> {
        let what = format!("GET job {id} of {}", self.label(project));
        let endpoint = built(
            &what,
            gitlab::api::projects::jobs::Job::builder()
                .project(project.0)
                .job(id.0)
                .build(),
        )?;
        Ok(Job::from(self.query::<JobDto, _>(&what, &endpoint).await?))
    }

    async fn retry_pipeline(&self, project: ProjectId, id: PipelineId) -> ForgeResult<Pipeline> {
        let what = format!("POST retry of pipeline {id} of {}", self.label(project));
        let endpoint = built(
            &what,
            gitlab::api::projects::pipelines::RetryPipeline::builder()
                .project(project.0)
                .pipeline(id.0)
                .build(),
        )?;
        Ok(Pipeline::from(
            self.query::<PipelineDto, _>(&what, &endpoint).await?,
        ))
    }

    async fn post_note(&self, project: ProjectId, iid: MrIid, body: &str) -> ForgeResult<Note> {
        let what = format!("POST note on merge request {}", self.mr_label(project, iid));
        let endpoint = built(
            &what,
            CreateMergeRequestNote::builder()
                .project(project.0)
                .merge_request(iid.0)
                .body(body)
                .build(),
        )?;
        Ok(Note::from(
            self.query::<NoteDto, _>(&what, &endpoint).await?,
        ))
    }

    async fn delete_note(&self, project: ProjectId, iid: MrIid, note: u64) -> ForgeResult<()> {
        let what = format!(
            "DELETE note {note} of merge request {}",
            self.mr_label(project, iid)
        );
        let endpoint = DeleteMergeRequestNote { project, iid, note };
        match self.send(&what, endpoint).await {
            Ok(()) | Err(ForgeError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_debug_hides_the_token() {
        let text = format!("{:?}", ClientOptions::new("http://x", "glpat-secret"));
        assert!(!text.contains("glpat-secret") && text.contains("<redacted>"));
    }
}
