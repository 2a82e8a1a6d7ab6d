//! GitLab's JSON answers reduced to the fields srcgit reads, their conversion into the
//! domain types of `crate::forge`, and the endpoints the `gitlab` crate lacks
//! (`POST /projects/:id/fork`, `DELETE …/notes/:note_id`, `GET /groups/:id/merge_requests`).
//! Unknown fields are ignored; unknown CI statuses
//! become `CiStatus::Unknown`.

use std::borrow::Cow;

use gitlab::api::endpoint_prelude::{
    BodyError, Endpoint, FormParams, Method, Pageable, QueryParams,
};
use serde::Deserialize;

use crate::forge::{Job, MergeRequest, Note, Pipeline, Project, User};
use crate::ids::CiStatus;
use crate::ids::{CommitSha, JobId, MrIid, PipelineId, ProjectId, ProjectPath};

/// `GET /user`.
#[derive(Debug, Deserialize)]
pub(crate) struct UserDto {
    id: u64,
    username: String,
}

impl From<UserDto> for User {
    fn from(u: UserDto) -> User {
        User {
            id: u.id,
            username: u.username,
        }
    }
}

/// `{ "id": … }` of a nested object.
#[derive(Debug, Deserialize)]
struct IdDto {
    id: u64,
}

/// `GET /projects/:id`, `POST /projects/:id/fork`.
#[derive(Debug, Deserialize)]
pub(crate) struct ProjectDto {
    id: u64,
    path_with_namespace: String,
    http_url_to_repo: String,
    web_url: String,
    #[serde(default)]
    forked_from_project: Option<IdDto>,
    #[serde(default)]
    import_status: Option<String>,
}

impl From<ProjectDto> for Project {
    fn from(p: ProjectDto) -> Project {
        Project {
            id: ProjectId(p.id),
            path: ProjectPath(p.path_with_namespace),
            http_url_to_repo: p.http_url_to_repo,
            web_url: p.web_url,
            forked_from: p.forked_from_project.map(|f| ProjectId(f.id)),
            import_status: p.import_status,
        }
    }
}

/// `GET /projects/:id/repository/branches/:branch`.
#[derive(Debug, Deserialize)]
pub(crate) struct BranchDto {
    commit: IdStrDto,
}

/// `{ "id": "<sha>" }`.
#[derive(Debug, Deserialize)]
struct IdStrDto {
    id: String,
}

impl BranchDto {
    /// The head commit.
    pub(crate) fn head(self) -> Result<CommitSha, String> {
        parse_sha(&self.commit.id)
    }
}

fn parse_sha(s: &str) -> Result<CommitSha, String> {
    CommitSha::parse(s).ok_or_else(|| format!("{s:?} is not a 40-hex commit sha"))
}

/// A merge request (single or list item).
#[derive(Debug, Deserialize)]
pub(crate) struct MergeRequestDto {
    iid: u64,
    target_project_id: u64,
    source_project_id: u64,
    source_branch: String,
    target_branch: String,
    title: String,
    #[serde(default)]
    description: Option<String>,
    state: String,
    #[serde(default)]
    sha: Option<String>,
    web_url: String,
    #[serde(default)]
    closed_by: Option<UserRefDto>,
    #[serde(default)]
    updated_at: Option<String>,
}

/// A user as embedded in other answers (`closed_by`, `author`).
#[derive(Debug, Deserialize)]
pub(crate) struct UserRefDto {
    username: String,
}

impl TryFrom<MergeRequestDto> for MergeRequest {
    type Error = String;

    fn try_from(m: MergeRequestDto) -> Result<MergeRequest, String> {
        let sha = m
            .sha
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(parse_sha)
            .transpose()?;
        Ok(MergeRequest {
            iid: MrIid(m.iid),
            target_project_id: ProjectId(m.target_project_id),
            source_project_id: ProjectId(m.source_project_id),
            source_branch: m.source_branch,
            target_branch: m.target_branch,
            title: m.title,
            description: m.description.unwrap_or_default(),
            state: m.state,
            sha,
            web_url: m.web_url,
            closed_by: m.closed_by.map(|u| u.username),
            updated_at: m.updated_at,
        })
    }
}

/// A pipeline (basic or full).
#[derive(Debug, Deserialize)]
pub(crate) struct PipelineDto {
    id: u64,
    project_id: u64,
    sha: String,
    status: CiStatus,
    #[serde(default)]
    source: String,
    web_url: String,
}

impl From<PipelineDto> for Pipeline {
    fn from(p: PipelineDto) -> Pipeline {
        Pipeline {
            id: PipelineId(p.id),
            project_id: ProjectId(p.project_id),
            sha: p.sha,
            status: p.status,
            source: p.source,
            web_url: p.web_url,
        }
    }
}

/// A CI job of `GET /projects/:id/pipelines/:id/jobs`.
#[derive(Debug, Deserialize)]
pub(crate) struct JobDto {
    id: u64,
    name: String,
    stage: String,
    status: CiStatus,
    #[serde(default)]
    allow_failure: bool,
    web_url: String,
    /// Not in GitLab's job entity; honoured if a server sends it anyway.
    #[serde(default)]
    retried: bool,
}

impl JobDto {
    /// Whether a later run of the same job superseded this one.
    pub(crate) fn retried(&self) -> bool {
        self.retried
    }
}

impl From<JobDto> for Job {
    fn from(j: JobDto) -> Job {
        Job {
            id: JobId(j.id),
            name: j.name,
            stage: j.stage,
            status: j.status,
            allow_failure: j.allow_failure,
            web_url: j.web_url,
        }
    }
}

/// An MR note.
#[derive(Debug, Deserialize)]
pub(crate) struct NoteDto {
    id: u64,
    body: String,
    author: AuthorDto,
}

/// A note's author.
#[derive(Debug, Deserialize)]
struct AuthorDto {
    username: String,
}

impl From<NoteDto> for Note {
    fn from(n: NoteDto) -> Note {
        Note {
            id: n.id,
            body: n.body,
            author: n.author.username,
        }
    }
}

/// `POST /projects/:id/fork` with `namespace_path` (missing from the `gitlab` crate).
#[derive(Debug, Clone)]
pub(crate) struct ForkProject<'a> {
    /// The project to fork.
    pub(crate) project: ProjectId,
    /// Full path of the namespace that receives the fork.
    pub(crate) namespace_path: &'a str,
}

impl Endpoint for ForkProject<'_> {
    fn method(&self) -> Method {
        Method::POST
    }

    fn endpoint(&self) -> Cow<'static, str> {
        format!("projects/{}/fork", self.project).into()
    }

    fn body(&self) -> Result<Option<(&'static str, Vec<u8>)>, BodyError> {
        let mut params = FormParams::default();
        params.push("namespace_path", self.namespace_path);
        params.into_body()
    }
}

/// `DELETE /projects/:id/merge_requests/:iid/notes/:note_id` (missing from the crate).
#[derive(Debug)]
pub(crate) struct DeleteMergeRequestNote {
    /// The project.
    pub(crate) project: ProjectId,
    /// The MR.
    pub(crate) iid: MrIid,
    /// The note.
    pub(crate) note: u64,
}

impl Endpoint for DeleteMergeRequestNote {
    fn method(&self) -> Method {
        Method::DELETE
    }

    fn endpoint(&self) -> Cow<'static, str> {
        format!(
            "projects/{}/merge_requests/{}/notes/{}",
            self.project, self.iid, self.note
        )
        .into()
    }
}

/// `GET /groups/:id/merge_requests` (missing from the `gitlab` crate).
#[derive(Debug, Clone)]
pub(crate) struct GroupMergeRequests<'a> {
    /// Full path of the group.
    pub(crate) group: &'a str,
    /// ISO 8601 lower bound of `updated_at`.
    pub(crate) updated_after: &'a str,
}

impl Endpoint for GroupMergeRequests<'_> {
    fn method(&self) -> Method {
        Method::GET
    }

    fn endpoint(&self) -> Cow<'static, str> {
        format!(
            "groups/{}/merge_requests",
            gitlab::api::common::path_escaped(self.group)
        )
        .into()
    }

    fn parameters(&self) -> QueryParams<'_> {
        let mut params = QueryParams::default();
        params
            .push("state", "all")
            .push("scope", "all")
            .push("updated_after", self.updated_after)
            .push("include_subgroups", true)
            .push("order_by", "updated_at");
        params
    }
}

impl Pageable for GroupMergeRequests<'_> {}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn null_description_and_sha_are_tolerated() {
        let dto: MergeRequestDto = serde_json::from_value(json!({
            "id": 1, "iid": 5, "project_id": 7, "target_project_id": 7, "source_project_id": 9,
            "source_branch": "fix", "target_branch": "c10s", "title": "t", "description": null,
            "state": "opened", "sha": null, "web_url": "http://x/mr/5", "labels": []
        }))
        .unwrap();
        let mr = MergeRequest::try_from(dto).unwrap();
        assert_eq!((mr.description.as_str(), mr.sha), ("", None));
    }

    #[test]
    fn bad_shas_are_decode_errors() {
        let dto: BranchDto =
            serde_json::from_value(json!({"name": "x", "commit": {"id": "abc"}})).unwrap();
        assert!(dto.head().is_err());
    }

    #[test]
    fn unknown_statuses_and_missing_optionals() {
        let dto: PipelineDto = serde_json::from_value(json!({
            "id": 3, "project_id": 7, "sha": "a", "status": "brand_new", "web_url": "w"
        }))
        .unwrap();
        let p = Pipeline::from(dto);
        assert_eq!((p.status, p.source.as_str()), (CiStatus::Unknown, ""));
    }

    #[test]
    fn fork_endpoint_shape() {
        let ep = ForkProject {
            project: ProjectId(12),
            namespace_path: "srcgit-bot",
        };
        assert_eq!(ep.method(), Method::POST);
        assert_eq!(ep.endpoint(), "projects/12/fork");
        let (mime, body) = ep.body().unwrap().unwrap();
        assert_eq!(
            (mime, body.as_slice()),
            (
                "application/x-www-form-urlencoded",
                &b"namespace_path=srcgit-bot"[..]
            )
        );
    }
}
