//! What srcgit needs from GitLab, in srcgit's own terms: the `Forge` trait, its domain
//! types and `ForgeError`. `gitlab.rs` implements it over the `gitlab` crate; the bridge
//! is generic over `F: Forge` and never sees HTTP.
//!
//! May import `ids` only; never `bridge`, `executor`, `repo` or `store` (an edge).

pub mod gitlab;

use std::future::Future;
use std::time::Duration;

use crate::ids::{CiStatus, CommitState};
use crate::ids::{CommitSha, JobId, MrIid, PipelineId, ProjectId, ProjectPath};

/// A project, by id or by full path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectRef {
    /// Numeric id.
    Id(ProjectId),
    /// Full path.
    Path(ProjectPath),
}

/// A GitLab project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// Id.
    pub id: ProjectId,
    /// Full path.
    pub path: ProjectPath,
    /// HTTP(S) clone URL.
    pub http_url_to_repo: String,
    /// Web URL.
    pub web_url: String,
    /// The project it was forked from, if it is a fork.
    pub forked_from: Option<ProjectId>,
    /// `import_status` (`none`, `scheduled`, `started`, `finished`, `failed`) for forks.
    pub import_status: Option<String>,
}

/// A merge request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeRequest {
    /// Per-project number.
    pub iid: MrIid,
    /// Target project (where the MR lives).
    pub target_project_id: ProjectId,
    /// Source project (a fork for fork MRs).
    pub source_project_id: ProjectId,
    /// Source branch.
    pub source_branch: String,
    /// Target branch.
    pub target_branch: String,
    /// Title.
    pub title: String,
    /// Description (empty when GitLab says null).
    pub description: String,
    /// `opened`, `closed`, `merged` or `locked`.
    pub state: String,
    /// Head commit of the source branch.
    pub sha: Option<CommitSha>,
    /// Web URL.
    pub web_url: String,
    /// Username of whoever closed it (`closed_by`), when it is closed.
    pub closed_by: Option<String>,
    /// `updated_at` as GitLab wrote it (ISO 8601).
    pub updated_at: Option<String>,
}

/// A pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    /// Id.
    pub id: PipelineId,
    /// Project it runs in.
    pub project_id: ProjectId,
    /// Commit.
    pub sha: String,
    /// Status.
    pub status: CiStatus,
    /// `merge_request_event`, `push`, …
    pub source: String,
    /// Web URL.
    pub web_url: String,
}

/// A CI job of a pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Id.
    pub id: JobId,
    /// Name.
    pub name: String,
    /// Stage.
    pub stage: String,
    /// Status.
    pub status: CiStatus,
    /// Whether a failure does not fail the pipeline.
    pub allow_failure: bool,
    /// Web URL.
    pub web_url: String,
}

/// A project with its `last_activity_at` (which GitLab moves at most once an hour).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveProject {
    /// The project.
    pub project: Project,
    /// `last_activity_at` as GitLab wrote it (ISO 8601).
    pub last_activity_at: String,
}

/// A branch and its head commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    /// Name.
    pub name: String,
    /// Head commit.
    pub head: CommitSha,
}

/// An MR comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Id.
    pub id: u64,
    /// Text.
    pub body: String,
    /// Author's username.
    pub author: String,
}

/// A new merge request, opened from `source_project` into `target_project`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMergeRequest {
    /// Where the branch lives (the bot's fork); the request is sent there.
    pub source_project: ProjectId,
    /// The rpms project.
    pub target_project: ProjectId,
    /// Fork branch.
    pub source_branch: String,
    /// rpms branch.
    pub target_branch: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
}

/// Changes to an existing MR (only the `Some` fields are sent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeRequestUpdate {
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// `close` or `reopen`.
    pub state_event: Option<&'static str>,
}

/// An external commit status to post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    /// State.
    pub state: CommitState,
    /// Name (GitLab's `name`/`context`).
    pub name: String,
    /// Link shown on the status.
    pub target_url: Option<String>,
    /// Short text.
    pub description: Option<String>,
    /// Attach to this pipeline (no `ref` is sent with it).
    pub pipeline_id: Option<PipelineId>,
    /// `ref` to send: needed where no pipeline and no branch of the project holds the
    /// sha (a fork MR's head in the target project: `refs/merge-requests/<iid>/head`);
    /// GitLab answers 404 `References for commit Not Found` without it (contract §3.6).
    pub git_ref: Option<String>,
}

/// The authenticated user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Id.
    pub id: u64,
    /// Username.
    pub username: String,
}

/// A failed GitLab request, classified.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ForgeError {
    /// 404.
    #[error("{what}: not found")]
    NotFound {
        /// What was asked for.
        what: String,
    },
    /// 401/403.
    #[error("{what}: permission denied ({message})")]
    Forbidden {
        /// What was asked for.
        what: String,
        /// GitLab's message.
        message: String,
    },
    /// 401, or a token that cannot be sent as a header: the bot token in the settings is
    /// wrong (an operator mistake, never the merge request's fault).
    #[error(
        "{what}: GitLab does not accept the bot token ({message}); fix the token in token_file \
         of the srcgit settings"
    )]
    Unauthorized {
        /// What was asked for.
        what: String,
        /// GitLab's message.
        message: String,
    },
    /// 409: duplicate MR, concurrent status update.
    #[error("{what}: conflict ({message})")]
    Conflict {
        /// What was asked for.
        what: String,
        /// GitLab's message.
        message: String,
    },
    /// Another 4xx: validation errors, invalid transitions.
    #[error("{what}: GitLab refused it with HTTP {status} ({message})")]
    Rejected {
        /// What was asked for.
        what: String,
        /// HTTP status.
        status: u16,
        /// GitLab's message.
        message: String,
    },
    /// 5xx, still failing after retries.
    #[error("{what}: GitLab answered HTTP {status} (server error), still failing after retries")]
    Server {
        /// What was asked for.
        what: String,
        /// HTTP status.
        status: u16,
    },
    /// 429, still limited after retries.
    #[error("{what}: rate limited by GitLab, still limited after retries")]
    RateLimited {
        /// What was asked for.
        what: String,
        /// The last `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// Network trouble or a timeout, still failing after retries.
    #[error("{what}: cannot reach GitLab ({message})")]
    Transport {
        /// What was asked for.
        what: String,
        /// The cause.
        message: String,
    },
    /// An answer srcgit cannot read.
    #[error("{what}: unexpected answer from GitLab ({message})")]
    Decode {
        /// What was asked for.
        what: String,
        /// The cause.
        message: String,
    },
}

impl ForgeError {
    /// Whether GitLab may have done the work although the request failed: a 5xx or a
    /// lost connection/timeout (the answer, not the request, may have been lost). Writes
    /// that failed this way are looked up before they are repeated.
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            ForgeError::Server { .. } | ForgeError::Transport { .. }
        )
    }

    /// Whether trying again later may succeed (infrastructure trouble).
    pub fn is_retriable(&self) -> bool {
        matches!(
            self,
            ForgeError::Server { .. }
                | ForgeError::RateLimited { .. }
                | ForgeError::Transport { .. }
        )
    }

    /// GitLab's message for refused requests (400/409/422), empty otherwise.
    pub fn message(&self) -> &str {
        match self {
            ForgeError::Forbidden { message, .. }
            | ForgeError::Unauthorized { message, .. }
            | ForgeError::Conflict { message, .. }
            | ForgeError::Rejected { message, .. } => message,
            _ => "",
        }
    }
}

/// Result of a forge call.
pub type ForgeResult<T> = Result<T, ForgeError>;

/// What srcgit does on GitLab. Every list method returns all pages.
pub trait Forge: Send + Sync {
    /// The bot account.
    fn current_user(&self) -> impl Future<Output = ForgeResult<User>> + Send;
    /// A project.
    fn project(&self, project: &ProjectRef) -> impl Future<Output = ForgeResult<Project>> + Send;
    /// The head commit of a branch, `None` when it does not exist.
    fn branch_head(
        &self,
        project: ProjectId,
        branch: &str,
    ) -> impl Future<Output = ForgeResult<Option<CommitSha>>> + Send;
    /// Forks `project` into `namespace` (returns at once; poll `import_status`).
    fn fork(
        &self,
        project: ProjectId,
        namespace: &str,
    ) -> impl Future<Output = ForgeResult<Project>> + Send;
    /// One MR.
    fn merge_request(
        &self,
        project: ProjectId,
        iid: MrIid,
    ) -> impl Future<Output = ForgeResult<MergeRequest>> + Send;
    /// Open MRs of `project` whose source branch is `source_branch`.
    fn open_merge_requests(
        &self,
        project: ProjectId,
        source_branch: &str,
    ) -> impl Future<Output = ForgeResult<Vec<MergeRequest>>> + Send;
    /// Every MR of `project` from `source_branch`, in any state, newest first.
    fn merge_requests_from_branch(
        &self,
        project: ProjectId,
        source_branch: &str,
    ) -> impl Future<Output = ForgeResult<Vec<MergeRequest>>> + Send;
    /// Opens an MR (409 → `ForgeError::Conflict`).
    fn create_merge_request(
        &self,
        mr: &NewMergeRequest,
    ) -> impl Future<Output = ForgeResult<MergeRequest>> + Send;
    /// Changes an MR.
    fn update_merge_request(
        &self,
        project: ProjectId,
        iid: MrIid,
        update: &MergeRequestUpdate,
    ) -> impl Future<Output = ForgeResult<MergeRequest>> + Send;
    /// Pipelines of an MR (both projects), MR pipelines first, newest first.
    fn merge_request_pipelines(
        &self,
        project: ProjectId,
        iid: MrIid,
    ) -> impl Future<Output = ForgeResult<Vec<Pipeline>>> + Send;
    /// Asks for a new MR pipeline. Not repeated by the client after an unknown outcome
    /// (a repeat would start a second pipeline): the caller looks before asking again.
    fn create_merge_request_pipeline(
        &self,
        project: ProjectId,
        iid: MrIid,
    ) -> impl Future<Output = ForgeResult<Pipeline>> + Send;
    /// One pipeline.
    fn pipeline(
        &self,
        project: ProjectId,
        id: PipelineId,
    ) -> impl Future<Output = ForgeResult<Pipeline>> + Send;
    /// The (latest, not retried) jobs of a pipeline.
    fn pipeline_jobs(
        &self,
        project: ProjectId,
        id: PipelineId,
    ) -> impl Future<Output = ForgeResult<Vec<Job>>> + Send;
    /// A job's log.
    fn job_trace(
        &self,
        project: ProjectId,
        job: JobId,
    ) -> impl Future<Output = ForgeResult<String>> + Send;
    /// Posts an external commit status.
    fn post_status(
        &self,
        project: ProjectId,
        sha: &CommitSha,
        status: &StatusUpdate,
    ) -> impl Future<Output = ForgeResult<()>> + Send;
    /// Comments of an MR.
    fn notes(
        &self,
        project: ProjectId,
        iid: MrIid,
    ) -> impl Future<Output = ForgeResult<Vec<Note>>> + Send;
    /// The open MRs the bot created, in every project (`GET /merge_requests?scope=created_by_me`).
    fn bot_open_merge_requests(
        &self,
    ) -> impl Future<Output = ForgeResult<Vec<MergeRequest>>> + Send;
    /// MRs of every project of `group` (its subgroups included) updated at or after
    /// `after` (ISO 8601), in any state.
    fn group_merge_requests_updated_after(
        &self,
        group: &str,
        after: &str,
    ) -> impl Future<Output = ForgeResult<Vec<MergeRequest>>> + Send;
    /// The projects directly in `group`, most recently active first
    /// (`GET /groups/:id/projects?order_by=last_activity_at&sort=desc`), read page by page
    /// and stopping at the first project whose `last_activity_at` is before `since`
    /// (ISO 8601); every project when `since` is `None`.
    fn group_projects_active_since(
        &self,
        group: &str,
        since: Option<&str>,
    ) -> impl Future<Output = ForgeResult<Vec<ActiveProject>>> + Send;
    /// Every branch of a project with its head.
    fn branches(&self, project: ProjectId)
    -> impl Future<Output = ForgeResult<Vec<Branch>>> + Send;
    /// One CI job.
    fn job(&self, project: ProjectId, id: JobId) -> impl Future<Output = ForgeResult<Job>> + Send;
    /// Retries the failed and canceled jobs of a pipeline, in place.
    fn retry_pipeline(
        &self,
        project: ProjectId,
        id: PipelineId,
    ) -> impl Future<Output = ForgeResult<Pipeline>> + Send;
    /// Adds a comment to an MR. Not repeated by the client after an unknown outcome
    /// (a repeat would add a second comment): the caller looks before posting again.
    fn post_note(
        &self,
        project: ProjectId,
        iid: MrIid,
        body: &str,
    ) -> impl Future<Output = ForgeResult<Note>> + Send;
    /// Deletes a comment (the author's own); an absent note is not an error.
    fn delete_note(
        &self,
        project: ProjectId,
        iid: MrIid,
        note: u64,
    ) -> impl Future<Output = ForgeResult<()>> + Send;
}
