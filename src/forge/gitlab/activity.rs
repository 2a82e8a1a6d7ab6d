//! What the dist-git → source-git sweep asks GitLab: the projects of a namespace by
//! `last_activity_at`, read only as far as needed, and the branches of a project.

use std::borrow::Cow;

use chrono::{DateTime, FixedOffset};
use gitlab::api::endpoint_prelude::{Endpoint, Method, QueryParams};
use gitlab::api::projects::repository::branches::Branches;
use serde::Deserialize;

use super::GitLabForge;
use super::dto::ProjectDto;
use super::errors::{built, decode};
use crate::forge::{ActiveProject, Branch, ForgeResult, Project};
use crate::ids::{CommitSha, ProjectId};

/// Page size of the project list (GitLab's maximum).
const PER_PAGE: u64 = 100;

/// `GET /groups/:id/projects?order_by=last_activity_at&sort=desc`, one page.
struct GroupProjectsByActivity<'a> {
    group: &'a str,
    page: u64,
}

impl Endpoint for GroupProjectsByActivity<'_> {
    fn method(&self) -> Method {
        Method::GET
    }

    fn endpoint(&self) -> Cow<'static, str> {
        format!(
            "groups/{}/projects",
            gitlab::api::common::path_escaped(self.group)
        )
        .into()
    }

    fn parameters(&self) -> QueryParams<'_> {
        let mut params = QueryParams::default();
        params
            .push("order_by", "last_activity_at")
            .push("sort", "desc")
            .push("include_subgroups", false)
            .push("simple", true)
            .push("per_page", PER_PAGE)
            .push("page", self.page);
        params
    }
}

#[derive(Debug, Deserialize)]
struct ActiveProjectDto {
    #[serde(flatten)]
    project: ProjectDto,
    last_activity_at: String,
}

#[derive(Debug, Deserialize)]
struct NamedBranchDto {
    name: String,
    commit: ShaDto,
}

#[derive(Debug, Deserialize)]
struct ShaDto {
    id: String,
}

fn parse_time(text: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(text).ok()
}

impl GitLabForge {
    pub(super) async fn projects_active_since(
        &self,
        group: &str,
        since: Option<&str>,
    ) -> ForgeResult<Vec<ActiveProject>> {
        let what = format!("GET projects of group {group} by last activity");
        let since = match since {
            Some(text) => Some(
                parse_time(text)
                    .ok_or_else(|| decode(&what, format!("{text:?} is not an ISO 8601 time")))?,
            ),
            None => None,
        };
        let mut found = Vec::new();
        for page in 1.. {
            let endpoint = GroupProjectsByActivity { group, page };
            let dtos: Vec<ActiveProjectDto> = self.query(&what, &endpoint).await?;
            let full = dtos.len() as u64 >= PER_PAGE;
            for dto in dtos {
                let at = parse_time(&dto.last_activity_at).ok_or_else(|| {
                    decode(
                        &what,
                        format!("last_activity_at {:?} is not a time", dto.last_activity_at),
                    )
                })?;
                if since.is_some_and(|since| at < since) {
                    return Ok(found);
                }
                let project = Project::from(dto.project);
                self.remember(&project);
                found.push(ActiveProject {
                    project,
                    last_activity_at: dto.last_activity_at,
                });
            }
            if !full {
                break;
            }
        }
        Ok(found)
    }

    pub(super) async fn all_branches(&self, project: ProjectId) -> ForgeResult<Vec<Branch>> {
        let what = format!("GET branches of {}", self.label(project));
        let endpoint = built(&what, Branches::builder().project(project.0).build())?;
        let dtos: Vec<NamedBranchDto> = self.query_all(&what, endpoint).await?;
        dtos.into_iter()
            .map(|b| {
                let head = CommitSha::parse(&b.commit.id).ok_or_else(|| {
                    decode(
                        &what,
                        format!("{:?} is not a 40-hex commit sha", b.commit.id),
                    )
                })?;
                Ok(Branch { name: b.name, head })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_list_asks_for_the_most_active_first() {
        let ep = GroupProjectsByActivity {
            group: "redhat/centos-stream/rpms",
            page: 3,
        };
        assert_eq!(
            ep.endpoint(),
            "groups/redhat%2Fcentos-stream%2Frpms/projects"
        );
        let mut url = url::Url::parse("http://x/").unwrap();
        ep.parameters().add_to_url(&mut url);
        let query = url.query().unwrap_or_default().to_string();
        for part in [
            "order_by=last_activity_at",
            "sort=desc",
            "per_page=100",
            "page=3",
        ] {
            assert!(query.contains(part), "{query}");
        }
    }
}
