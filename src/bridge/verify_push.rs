//! Trust only what is verified, for push pipelines of rpms projects: the job's project
//! and branch come from `JOB_RESPONSE_FILE` (gitlab-runner's trusted job payload); GitLab
//! must confirm that the job's pipeline is a `push` pipeline of that project at that
//! commit; the project must sit directly in a mapped `dist_git` namespace and the branch
//! must be served.

use super::{BridgeError, JobIdentity};
use crate::forge::{Forge, ForgeError, Project, ProjectRef};
use crate::settings::{Mapping, Settings};

/// A push srcgit may act on.
#[derive(Debug, Clone)]
pub struct VerifiedPush {
    /// The rpms project.
    pub rpms: Project,
    /// The pushed branch.
    pub branch: String,
    /// The mapping whose `dist_git` namespace holds the project.
    pub mapping: Mapping,
}

/// Whether the job claims to run in a push pipeline (checked by [`verify_push`]).
pub fn is_push_pipeline(job: &JobIdentity) -> bool {
    job.claimed_source.as_deref() == Some("push") && job.claimed_mr.is_none()
}

/// The pushed branch named by a push pipeline's ref (`c10s` or `refs/heads/c10s`).
pub fn branch_of(git_ref: &str) -> Option<&str> {
    let branch = git_ref.strip_prefix("refs/heads/").unwrap_or(git_ref);
    (!branch.is_empty() && !branch.starts_with("refs/")).then_some(branch)
}

/// Checks the job's push claims against the settings and GitLab.
pub async fn verify_push<F: Forge>(
    forge: &F,
    settings: &Settings,
    job: &JobIdentity,
) -> Result<VerifiedPush, BridgeError> {
    let namespace = job.project_path.0.rsplit_once('/').map_or("", |(ns, _)| ns);
    let mapping = settings
        .mappings
        .iter()
        .find(|m| m.dist_git == namespace)
        .ok_or_else(|| {
            BridgeError::Build(format!(
                "project {} is not in a dist-git namespace this srcgit runner serves ({})",
                job.project_path,
                settings
                    .mappings
                    .iter()
                    .map(|m| m.dist_git.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    let branch = branch_of(&job.git_ref).ok_or_else(|| {
        BridgeError::Build(format!(
            "the pipeline ref {} is not a branch; srcgit serves push pipelines of dist-git branches",
            job.git_ref
        ))
    })?;
    if !mapping.branches.is_match(branch) {
        return Err(BridgeError::Build(format!(
            "branch {branch} is not served for {} (served branches match {})",
            mapping.dist_git,
            mapping.branches.as_str()
        )));
    }
    let pipeline = forge
        .pipeline(job.project_id, job.pipeline_id)
        .await
        .map_err(|e| match e {
            ForgeError::NotFound { .. } => BridgeError::Build(format!(
                "pipeline {} does not exist in {}",
                job.pipeline_id, job.project_path
            )),
            other => other.into(),
        })?;
    if pipeline.source != "push" || pipeline.sha != job.sha.0 {
        return Err(BridgeError::Build(format!(
            "pipeline {} is not the push pipeline of {} at {} (GitLab says: source {}, commit {}); \
             give the job `rules: - if: $CI_PIPELINE_SOURCE == \"push\"`",
            job.pipeline_id,
            job.project_path,
            job.sha.short(),
            pipeline.source,
            &pipeline.sha[..8.min(pipeline.sha.len())]
        )));
    }
    let rpms = forge.project(&ProjectRef::Id(job.project_id)).await?;
    if rpms.path != job.project_path {
        return Err(BridgeError::Build(format!(
            "project {} is {} according to GitLab",
            job.project_path, rpms.path
        )));
    }
    Ok(VerifiedPush {
        rpms,
        branch: branch.to_string(),
        mapping: mapping.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_refs_name_branches() {
        assert_eq!(branch_of("c10s"), Some("c10s"));
        assert_eq!(branch_of("refs/heads/c10s"), Some("c10s"));
        assert_eq!(branch_of("refs/merge-requests/3/head"), None);
        assert_eq!(branch_of(""), None);
    }
}
