//! Trust only what is verified: the merge request named by the `CI_MERGE_REQUEST_*`
//! variables is accepted only once GitLab confirms that this job's pipeline is one of its
//! pipelines, that the job's project is its source or target project, and that its target
//! project sits in a served namespace with a served target branch.

use super::naming::{self, SourceMr};
use super::{BridgeError, JobIdentity};
use crate::forge::{Forge, MergeRequest, Project, ProjectRef};
use crate::ids::ProjectPath;
use crate::settings::{Mapping, Settings};

/// A merge request srcgit may act on, and the projects around it.
#[derive(Debug, Clone)]
pub struct VerifiedMr {
    /// The source-git MR.
    pub mr: MergeRequest,
    /// Its target project (in a served namespace).
    pub target: Project,
    /// The project the MR's branch lives in (a contributor's fork, or `target`); `None`
    /// when the bot cannot see it (a private fork): everything srcgit needs from the MR
    /// head is also in the target project (`refs/merge-requests/<iid>/head`).
    pub source: Option<Project>,
    /// The paired rpms project.
    pub rpms: Project,
    /// The dist-git namespace of the mapping.
    pub dist_git_namespace: String,
}

impl VerifiedMr {
    /// What the rpms MR and the dist-git commit say about the source-git MR.
    pub fn source_mr(&self) -> SourceMr<'_> {
        SourceMr {
            project: &self.target.path,
            iid: self.mr.iid,
            url: &self.mr.web_url,
            title: &self.mr.title,
            description: &self.mr.description,
        }
    }
}

const NOT_AN_MR_PIPELINE: &str = "this job does not run in a merge request pipeline; srcgit only serves \
merge request pipelines (give the job `rules: - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"`)";

/// Checks the job's MR claims against GitLab.
pub async fn verify<F: Forge>(
    forge: &F,
    settings: &Settings,
    job: &JobIdentity,
) -> Result<VerifiedMr, BridgeError> {
    if job.job_name == naming::PIPELINE_STATUS_NAME
        || job
            .job_name
            .starts_with(&format!("{}: ", naming::PIPELINE_STATUS_NAME))
    {
        return Err(BridgeError::Build(format!(
            "the job is named {:?}, which srcgit uses for the mirrored dist-git statuses \
             (GitLab refuses a status named like a job of the same pipeline); rename the job",
            job.job_name
        )));
    }
    let Some((claimed_project, iid)) = job.claimed_mr else {
        return Err(BridgeError::Build(NOT_AN_MR_PIPELINE.to_string()));
    };
    let mr = forge
        .merge_request(claimed_project, iid)
        .await
        .map_err(|e| match e {
            crate::forge::ForgeError::NotFound { .. } => BridgeError::Build(format!(
                "merge request !{iid} of project {claimed_project} does not exist"
            )),
            other => other.into(),
        })?;
    if job.project_id != mr.source_project_id && job.project_id != mr.target_project_id {
        return Err(BridgeError::Build(format!(
            "project {} is neither the source nor the target project of merge request !{iid}",
            job.project_path
        )));
    }
    // Read from the target project, where the MR lives: it lists the pipelines of both
    // projects (a contributor's fork may be invisible to the bot).
    let pipelines = forge
        .merge_request_pipelines(mr.target_project_id, iid)
        .await?;
    let Some(pipeline) = pipelines
        .iter()
        .find(|p| p.id == job.pipeline_id && p.project_id == job.project_id)
    else {
        return Err(BridgeError::Build(format!(
            "pipeline {} is not a pipeline of merge request !{iid}",
            job.pipeline_id
        )));
    };
    // branch pipelines of the source branch are listed too
    if pipeline.source != "merge_request_event" {
        return Err(BridgeError::Build(NOT_AN_MR_PIPELINE.to_string()));
    }
    let target = forge.project(&ProjectRef::Id(mr.target_project_id)).await?;
    let mapping = served_mapping(settings, &target.path, &mr.target_branch)?;
    let source = if mr.source_project_id == target.id {
        Some(target.clone())
    } else {
        match forge.project(&ProjectRef::Id(mr.source_project_id)).await {
            Ok(project) => Some(project),
            Err(
                crate::forge::ForgeError::NotFound { .. }
                | crate::forge::ForgeError::Forbidden { .. },
            ) => None,
            Err(e) => return Err(e.into()),
        }
    };
    let rpms_path = ProjectPath(format!("{}/{}", mapping.dist_git, target.path.name()));
    let rpms = forge
        .project(&ProjectRef::Path(rpms_path.clone()))
        .await
        .map_err(|e| match e {
            crate::forge::ForgeError::NotFound { .. } => BridgeError::Build(format!(
                "the dist-git project {rpms_path} does not exist (or the srcgit bot cannot see it)"
            )),
            other => other.into(),
        })?;
    if forge
        .branch_head(rpms.id, &mr.target_branch)
        .await?
        .is_none()
    {
        return Err(BridgeError::Build(format!(
            "the dist-git project {} has no branch {}; target a branch that exists in dist-git",
            rpms.path, mr.target_branch
        )));
    }
    Ok(VerifiedMr {
        mr,
        target,
        source,
        rpms,
        dist_git_namespace: mapping.dist_git.clone(),
    })
}

fn served_mapping<'s>(
    settings: &'s Settings,
    target: &ProjectPath,
    branch: &str,
) -> Result<&'s Mapping, BridgeError> {
    let mapping = settings.mapping_for(target).ok_or_else(|| {
        BridgeError::Build(format!(
            "project {target} is not in a namespace this srcgit runner serves ({})",
            settings
                .mappings
                .iter()
                .map(|m| m.source_git.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    if !mapping.branches.is_match(branch) {
        return Err(BridgeError::Build(format!(
            "target branch {branch} is not served for {} (served branches match {})",
            mapping.source_git,
            mapping.branches.as_str()
        )));
    }
    Ok(mapping)
}
