//! The job as gitlab-runner hands it over: the trusted identities from
//! `JOB_RESPONSE_FILE`, the runner's exit-code contract, and the merge-request *claims*
//! of the `CI_MERGE_REQUEST_*` variables (which a pipeline author can override, so the
//! workflow checks them against the API before using them).
//!
//! This module is the only reader of the process environment for the executor.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::bridge::{JobIdentity, JobRequest};
use crate::ids::{CommitSha, JobId, MrIid, PipelineId, ProjectId, ProjectPath};

/// The runner's exit-code contract (`BUILD_FAILURE_EXIT_CODE`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerEnv {
    /// Exit code for a failure caused by the change under test.
    pub build_failure: u8,
    /// Exit code for an infrastructure failure.
    pub system_failure: u8,
    /// Where to write the real exit code of a build failure.
    pub build_exit_code_file: Option<PathBuf>,
    /// `JOB_RESPONSE_FILE`.
    pub job_response_file: Option<PathBuf>,
}

impl RunnerEnv {
    /// Reads the contract from the environment (documented defaults 1 and 2).
    pub fn from_env() -> RunnerEnv {
        let code = |key: &str, default: u8| {
            std::env::var(key)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(default)
        };
        let path = |key: &str| {
            std::env::var_os(key)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        RunnerEnv {
            build_failure: code("BUILD_FAILURE_EXIT_CODE", 1),
            system_failure: code("SYSTEM_FAILURE_EXIT_CODE", 2),
            build_exit_code_file: path("BUILD_EXIT_CODE_FILE"),
            job_response_file: path("JOB_RESPONSE_FILE"),
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawJob {
    id: u64,
    job_info: RawJobInfo,
    git_info: RawGitInfo,
    #[serde(default)]
    variables: Vec<RawVariable>,
}

#[derive(Debug, Deserialize)]
struct RawJobInfo {
    name: String,
    pipeline_id: u64,
    project_id: u64,
    project_full_path: String,
}

#[derive(Debug, Deserialize)]
struct RawGitInfo {
    #[serde(rename = "ref")]
    git_ref: String,
    sha: String,
}

#[derive(Debug, Deserialize)]
struct RawVariable {
    key: String,
    value: String,
    #[serde(default)]
    masked: bool,
}

/// Everything srcgit knows about the job: the identity the bridge acts for, and the
/// values the job log must mask.
#[derive(Clone)]
pub struct JobContext {
    /// The job's trusted identities and its (unverified) MR claims.
    pub identity: JobIdentity,
    /// Values of masked variables: never printed.
    pub masked_values: Vec<String>,
}

impl std::fmt::Debug for JobContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobContext")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

/// The job cannot be understood.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Not run by gitlab-runner.
    #[error("JOB_RESPONSE_FILE is not set: srcgit executor stages must be run by gitlab-runner")]
    NoResponseFile,
    /// Unreadable file.
    #[error("cannot read the job description {0}")]
    Read(PathBuf, #[source] std::io::Error),
    /// Not the JSON gitlab-runner writes.
    #[error("the job description {0} is not gitlab-runner's job JSON")]
    Parse(PathBuf, #[source] serde_json::Error),
    /// A field has an impossible value.
    #[error("the job description has an invalid {0}")]
    Invalid(&'static str),
}

/// Parses the job response JSON plus the `CUSTOM_ENV_*` variables.
pub fn parse(
    json: &str,
    path: &Path,
    custom_env: &HashMap<String, String>,
) -> Result<JobContext, JobError> {
    let raw: RawJob =
        serde_json::from_str(json).map_err(|e| JobError::Parse(path.to_path_buf(), e))?;
    let sha = CommitSha::parse(&raw.git_info.sha).ok_or(JobError::Invalid("git_info.sha"))?;
    if raw.job_info.project_full_path.is_empty() {
        return Err(JobError::Invalid("job_info.project_full_path"));
    }
    let vars: HashMap<&str, &str> = raw
        .variables
        .iter()
        .map(|v| (v.key.as_str(), v.value.as_str()))
        .collect();
    // The job payload is the source of the CI variables; CUSTOM_ENV_* mirrors it.
    let var = |key: &str| {
        vars.get(key)
            .map(|v| v.to_string())
            .or_else(|| custom_env.get(key).cloned())
            .filter(|v| !v.is_empty())
    };
    let claimed_mr = match (
        var("CI_MERGE_REQUEST_PROJECT_ID"),
        var("CI_MERGE_REQUEST_IID"),
    ) {
        (Some(p), Some(i)) => match (p.parse(), i.parse()) {
            (Ok(p), Ok(i)) => Some((ProjectId(p), MrIid(i))),
            _ => None,
        },
        _ => None,
    };
    let mut masked_values: Vec<String> = raw
        .variables
        .iter()
        .filter(|v| v.masked && v.value.len() >= 4)
        .map(|v| v.value.clone())
        .collect();
    if let Some(token) = var("CI_JOB_TOKEN") {
        masked_values.push(token);
    }
    Ok(JobContext {
        identity: JobIdentity {
            job_id: JobId(raw.id),
            job_name: raw.job_info.name,
            pipeline_id: PipelineId(raw.job_info.pipeline_id),
            project_id: ProjectId(raw.job_info.project_id),
            project_path: ProjectPath(raw.job_info.project_full_path),
            sha,
            git_ref: raw.git_info.git_ref,
            claimed_source: var("CI_PIPELINE_SOURCE"),
            claimed_mr,
            request: JobRequest {
                recreate: matches!(
                    var("SRCGIT_RECREATE").as_deref().map(str::trim),
                    Some("1" | "true" | "yes")
                ),
                retry_failed: var("SRCGIT_RETRY").as_deref().map(str::trim) == Some("failed"),
            },
        },
        masked_values,
    })
}

/// Reads the job from `JOB_RESPONSE_FILE` and the environment.
pub fn from_env(runner: &RunnerEnv) -> Result<JobContext, JobError> {
    let path = runner
        .job_response_file
        .as_ref()
        .ok_or(JobError::NoResponseFile)?;
    let json = std::fs::read_to_string(path).map_err(|e| JobError::Read(path.clone(), e))?;
    let custom_env: HashMap<String, String> = std::env::vars()
        .filter_map(|(k, v)| k.strip_prefix("CUSTOM_ENV_").map(|k| (k.to_string(), v)))
        .collect();
    parse(&json, path, &custom_env)
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOB: &str = r#"{
      "id": 901, "token": "glcbt-secret",
      "job_info": {"name": "srcgit", "stage": "test", "pipeline_id": 77, "project_id": 12,
                   "project_name": "quill", "project_full_path": "redhat/centos-stream/src/quill"},
      "git_info": {"repo_url": "https://x", "ref": "refs/merge-requests/3/head",
                   "sha": "1971dad92d7de641ef737f6e1b275e5c6d056d65", "before_sha": "0000000000000000000000000000000000000000",
                   "ref_type": "branch", "refspecs": [], "depth": 20},
      "variables": [
        {"key": "CI_MERGE_REQUEST_IID", "value": "3", "public": true, "masked": false},
        {"key": "CI_MERGE_REQUEST_PROJECT_ID", "value": "12", "public": true, "masked": false},
        {"key": "CI_PIPELINE_SOURCE", "value": "merge_request_event", "public": true, "masked": false},
        {"key": "CI_JOB_TOKEN", "value": "glcbt-secret", "public": false, "masked": true}
      ]
    }"#;

    #[test]
    fn identities_come_from_the_response_file() {
        let mut env = HashMap::new();
        // an overridden CUSTOM_ENV value must not win over the payload
        env.insert("CI_MERGE_REQUEST_IID".to_string(), "99".to_string());
        let ctx = parse(JOB, Path::new("job.json"), &env).unwrap();
        let job = &ctx.identity;
        assert_eq!(job.job_id, JobId(901));
        assert_eq!(job.pipeline_id, PipelineId(77));
        assert_eq!(job.project_id, ProjectId(12));
        assert_eq!(job.project_path.0, "redhat/centos-stream/src/quill");
        assert_eq!(job.claimed_mr, Some((ProjectId(12), MrIid(3))));
        assert_eq!(job.claimed_source.as_deref(), Some("merge_request_event"));
        assert!(ctx.masked_values.contains(&"glcbt-secret".to_string()));
        assert!(!format!("{ctx:?}").contains("glcbt-secret"));
    }

    #[test]
    fn broken_payloads_are_refused() {
        let env = HashMap::new();
        assert!(matches!(
            parse("{}", Path::new("j"), &env),
            Err(JobError::Parse(..))
        ));
        let bad_sha = JOB.replace("1971dad92d7de641ef737f6e1b275e5c6d056d65", "abc");
        assert!(matches!(
            parse(&bad_sha, Path::new("j"), &env),
            Err(JobError::Invalid("git_info.sha"))
        ));
    }
}
