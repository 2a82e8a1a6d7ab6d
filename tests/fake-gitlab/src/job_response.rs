//! What gitlab-runner hands a custom executor for a job: the
//! `JOB_RESPONSE_FILE` JSON (GitLab's job payload) and the `CUSTOM_ENV_*`
//! environment (every job variable, plus the runner's own).

use serde_json::{Value, json};

use crate::model::*;
use crate::server::FakeGitLab;
use crate::state::State;

struct Var {
    key: String,
    value: String,
    public: bool,
    masked: bool,
    file: bool,
}

fn slug(s: &str) -> String {
    let mut out: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    out.truncate(63);
    out.trim_matches('-').to_string()
}

fn split_version(v: &str) -> (String, String, String) {
    let mut it = v.split(['.', '-']);
    let mut next = || it.next().unwrap_or("0").to_string();
    (next(), next(), next())
}

/// The variables GitLab sends for a job, in GitLab's order: predefined, then
/// job (`variables:` in YAML), then project variables.
fn variables(st: &State, j: &Job) -> Option<Vec<Var>> {
    let pl = st.pipelines.get(&j.pipeline_id)?;
    let project = st.projects.get(&pl.project_id)?;
    let ns = st.namespaces.get(&project.namespace_id);
    let root_ns = project
        .path_with_namespace
        .split('/')
        .next()
        .unwrap_or("")
        .to_string();
    let user = st.users.get(&pl.user_id);
    let commit = st.git.commit_info(pl.project_id, &pl.sha);
    let mr = pl.merge_request_id.and_then(|id| st.mrs.get(&id));
    let host = st.host_port().to_string();
    let (hostname, port) = host.split_once(':').unwrap_or((host.as_str(), "80"));
    let (major, minor, patch) = split_version(&st.settings.server_version);
    let repo_url = format!(
        "http://gitlab-ci-token:{}@{}/{}.git",
        j.token, host, project.path_with_namespace
    );
    let ref_name = mr
        .map(|m| m.source_branch.clone())
        .unwrap_or_else(|| pl.ref_name.clone());

    let mut v: Vec<Var> = Vec::new();
    let mut add = |k: &str, val: String| {
        v.push(Var {
            key: k.into(),
            value: val,
            public: true,
            masked: false,
            file: false,
        });
    };
    add("CI_PIPELINE_ID", pl.id.to_string());
    add("CI_PIPELINE_URL", st.pipeline_url(pl));
    add("CI_JOB_ID", j.id.to_string());
    add("CI_JOB_URL", st.job_url(j));
    add(
        "CI_JOB_STARTED_AT",
        j.started_at.unwrap_or(j.created_at).to_iso8601(),
    );
    add("CI_REGISTRY_USER", "gitlab-ci-token".into());
    add("CI_JOB_NAME", j.name.clone());
    add("CI_JOB_NAME_SLUG", slug(&j.name));
    add("CI_JOB_STAGE", j.stage.clone());
    add("CI_NODE_TOTAL", "1".into());
    add("GITLAB_CI", "true".into());
    add("CI_SERVER_URL", st.base_url.clone());
    add("CI_SERVER_HOST", hostname.into());
    add("CI_SERVER_PORT", port.into());
    add("CI_SERVER_PROTOCOL", "http".into());
    add("CI_SERVER_FQDN", host.clone());
    add("CI_SERVER_NAME", "GitLab".into());
    add("CI_SERVER_VERSION", st.settings.server_version.clone());
    add("CI_SERVER_VERSION_MAJOR", major);
    add("CI_SERVER_VERSION_MINOR", minor);
    add("CI_SERVER_VERSION_PATCH", patch);
    add("CI_SERVER_REVISION", "fakegitlab".into());
    add("GITLAB_FEATURES", String::new());
    add("CI_PROJECT_ID", project.id.to_string());
    add("CI_PROJECT_NAME", project.path.clone());
    add("CI_PROJECT_TITLE", project.name.clone());
    add(
        "CI_PROJECT_DESCRIPTION",
        project.description.clone().unwrap_or_default(),
    );
    add("CI_PROJECT_PATH", project.path_with_namespace.clone());
    add("CI_PROJECT_PATH_SLUG", slug(&project.path_with_namespace));
    add(
        "CI_PROJECT_NAMESPACE",
        ns.map(|n| n.full_path.clone()).unwrap_or_default(),
    );
    add("CI_PROJECT_NAMESPACE_ID", project.namespace_id.to_string());
    add("CI_PROJECT_ROOT_NAMESPACE", root_ns);
    add("CI_PROJECT_URL", st.project_url(project.id));
    add("CI_PROJECT_VISIBILITY", project.visibility.as_str().into());
    add("CI_PROJECT_REPOSITORY_LANGUAGES", String::new());
    add("CI_PROJECT_CLASSIFICATION_LABEL", String::new());
    add(
        "CI_DEFAULT_BRANCH",
        project.default_branch.clone().unwrap_or_default(),
    );
    add("CI_CONFIG_PATH", ".gitlab-ci.yml".into());
    add("CI_PAGES_DOMAIN", "example.com".into());
    add("CI_API_V4_URL", format!("{}/api/v4", st.base_url));
    add("CI_API_GRAPHQL_URL", format!("{}/api/graphql", st.base_url));
    add("CI_PIPELINE_IID", pl.iid.to_string());
    add("CI_PIPELINE_SOURCE", pl.source.clone());
    add("CI_PIPELINE_CREATED_AT", pl.created_at.to_iso8601());
    add("CI_COMMIT_SHA", pl.sha.clone());
    add("CI_COMMIT_SHORT_SHA", pl.sha.chars().take(8).collect());
    add("CI_COMMIT_BEFORE_SHA", BLANK_SHA.into());
    add("CI_COMMIT_REF_NAME", ref_name.clone());
    add("CI_COMMIT_REF_SLUG", slug(&ref_name));
    if mr.is_none() {
        add("CI_COMMIT_BRANCH", pl.ref_name.clone());
    }
    if let Some(c) = &commit {
        add("CI_COMMIT_MESSAGE", c.message.clone());
        add("CI_COMMIT_TITLE", c.title().to_string());
        add(
            "CI_COMMIT_DESCRIPTION",
            c.message
                .split_once('\n')
                .map(|(_, r)| r.trim_start_matches('\n').to_string())
                .unwrap_or_default(),
        );
        add("CI_COMMIT_REF_PROTECTED", "false".into());
        add("CI_COMMIT_TIMESTAMP", c.committed_date.clone());
        add(
            "CI_COMMIT_AUTHOR",
            format!("{} <{}>", c.author_name, c.author_email),
        );
    }
    if let Some(u) = user {
        add("GITLAB_USER_ID", u.id.to_string());
        add("GITLAB_USER_EMAIL", u.email.clone());
        add("GITLAB_USER_LOGIN", u.username.clone());
        add("GITLAB_USER_NAME", u.name.clone());
    }
    if let Some(m) = mr {
        let target = st.projects.get(&m.project_id)?;
        let source = st.projects.get(&m.source_project_id)?;
        let desc = m.description.clone().unwrap_or_default();
        add(
            "CI_MERGE_REQUEST_EVENT_TYPE",
            pl.merge_request_event_type
                .clone()
                .unwrap_or_else(|| "detached".into()),
        );
        add("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", String::new());
        add("CI_MERGE_REQUEST_TARGET_BRANCH_SHA", String::new());
        add("CI_MERGE_REQUEST_ID", m.id.to_string());
        add("CI_MERGE_REQUEST_IID", m.iid.to_string());
        add("CI_MERGE_REQUEST_REF_PATH", crate::mrs::mr_ref(m.iid));
        add("CI_MERGE_REQUEST_PROJECT_ID", target.id.to_string());
        add(
            "CI_MERGE_REQUEST_PROJECT_PATH",
            target.path_with_namespace.clone(),
        );
        add("CI_MERGE_REQUEST_PROJECT_URL", st.project_url(target.id));
        add(
            "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
            m.target_branch.clone(),
        );
        add(
            "CI_MERGE_REQUEST_TARGET_BRANCH_PROTECTED",
            (target.default_branch.as_deref() == Some(m.target_branch.as_str())).to_string(),
        );
        add("CI_MERGE_REQUEST_TITLE", m.title.clone());
        add(
            "CI_MERGE_REQUEST_DESCRIPTION",
            desc.chars().take(2700).collect(),
        );
        add(
            "CI_MERGE_REQUEST_DESCRIPTION_IS_TRUNCATED",
            (desc.chars().count() > 2700).to_string(),
        );
        if !m.labels.is_empty() {
            add("CI_MERGE_REQUEST_LABELS", m.labels.join(","));
        }
        add("CI_MERGE_REQUEST_DRAFT", m.draft.to_string());
        add("CI_MERGE_REQUEST_SQUASH_ON_MERGE", m.squash.to_string());
        add("CI_MERGE_REQUEST_SOURCE_PROJECT_ID", source.id.to_string());
        add(
            "CI_MERGE_REQUEST_SOURCE_PROJECT_PATH",
            source.path_with_namespace.clone(),
        );
        add(
            "CI_MERGE_REQUEST_SOURCE_PROJECT_URL",
            st.project_url(source.id),
        );
        add(
            "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
            m.source_branch.clone(),
        );
        add("CI_MERGE_REQUEST_SOURCE_BRANCH_PROTECTED", "false".into());
        add("CI_MERGE_REQUEST_DIFF_ID", m.diff_id.to_string());
        add(
            "CI_MERGE_REQUEST_DIFF_BASE_SHA",
            m.base_sha.clone().unwrap_or_default(),
        );
        add(
            "CI_OPEN_MERGE_REQUESTS",
            format!("{}!{}", target.path_with_namespace, m.iid),
        );
    }
    add("CI", "true".into());
    v.push(Var {
        key: "CI_JOB_TOKEN".into(),
        value: j.token.clone(),
        public: false,
        masked: true,
        file: false,
    });
    v.push(Var {
        key: "CI_REPOSITORY_URL".into(),
        value: repo_url,
        public: false,
        masked: false,
        file: false,
    });
    if let Some(plan) = &j.plan {
        for (k, val) in &plan.variables {
            v.push(Var {
                key: k.clone(),
                value: val.clone(),
                public: true,
                masked: false,
                file: false,
            });
        }
    }
    for cv in &project.ci_variables {
        v.push(Var {
            key: cv.key.clone(),
            value: cv.value.clone(),
            public: false,
            masked: cv.masked,
            file: cv.file,
        });
    }
    Some(v)
}

fn response(st: &State, j: &Job) -> Option<Value> {
    let pl = st.pipelines.get(&j.pipeline_id)?;
    let project = st.projects.get(&pl.project_id)?;
    let vars = variables(st, j)?;
    let root_ns = st
        .find_namespace_by_path(project.path_with_namespace.split('/').next().unwrap_or(""))
        .map(|n| n.id)
        .unwrap_or(project.namespace_id);
    let script = j
        .plan
        .as_ref()
        .map(|p| p.script.clone())
        .unwrap_or_default();
    let queue = match (j.queued_at, j.started_at) {
        (Some(q), Some(s)) => s.secs_since(q),
        _ => 0.0,
    };
    Some(json!({
        "id": j.id,
        "token": j.token,
        "allow_git_fetch": true,
        "job_info": {
            "id": j.id,
            "name": j.name,
            "stage": j.stage,
            "project_id": project.id,
            "project_name": project.name,
            "project_full_path": project.path_with_namespace,
            "namespace_id": project.namespace_id,
            "root_namespace_id": root_ns,
            "organization_id": 1,
            "user_id": pl.user_id,
            "pipeline_id": pl.id,
            "time_in_queue_seconds": queue,
            "project_jobs_running_on_instance_runners_count": "0",
            "queue_size": 0,
            "queue_depth": 0,
            "scoped_user_id": null,
        },
        "git_info": {
            "repo_url": format!("http://gitlab-ci-token:{}@{}/{}.git", j.token, st.host_port(), project.path_with_namespace),
            "repo_object_format": "sha1",
            "ref": pl.ref_name,
            "sha": pl.sha,
            "before_sha": pl.before_sha,
            "ref_type": "branch",
            "refspecs": [format!("+{}:refs/pipelines/{}", pl.sha, pl.id)],
            "depth": 20,
            "protected": false,
        },
        "runner_info": {"timeout": 3600, "runner_session_url": null},
        "inputs": null,
        "variables": vars.iter().map(|v| json!({
            "key": v.key, "value": v.value, "public": v.public, "file": v.file, "masked": v.masked, "raw": false,
        })).collect::<Vec<_>>(),
        "steps": [{
            "name": "script",
            "script": script,
            "timeout": 3600,
            "when": "on_success",
            "allow_failure": j.allow_failure,
        }],
        "hooks": [],
        "image": null,
        "services": [],
        "artifacts": null,
        "cache": [],
        "credentials": [{
            "type": "registry",
            "url": format!("{}:5050", st.host_port().split(':').next().unwrap_or("127.0.0.1")),
            "username": "gitlab-ci-token",
            "password": j.token,
        }],
        "dependencies": [],
        "features": {"trace_sections": true, "failure_reasons": ["unknown_failure", "script_failure", "runner_system_failure"]},
    }))
}

impl FakeGitLab {
    /// The `JOB_RESPONSE_FILE` JSON gitlab-runner would write for `job_id`
    /// (`Value::Null` for unknown jobs and external statuses).
    pub fn job_response(&self, job_id: Id) -> Value {
        let st = self.shared.lock_state();
        st.jobs
            .get(&job_id)
            .filter(|j| j.kind == JobKind::Build)
            .and_then(|j| response(&st, j))
            .unwrap_or(Value::Null)
    }

    /// The `CUSTOM_ENV_*` pairs gitlab-runner passes to every custom-executor
    /// stage, with `builds_dir = "/builds"` (empty for unknown jobs).
    pub fn custom_env(&self, job_id: Id) -> Vec<(String, String)> {
        self.custom_env_with_builds_dir(job_id, "/builds")
    }

    /// [`FakeGitLab::custom_env`] with another runner `builds_dir`: all job
    /// variables plus the runner's own (builds dir, concurrency ids, identity).
    pub fn custom_env_with_builds_dir(
        &self,
        job_id: Id,
        builds_dir: &str,
    ) -> Vec<(String, String)> {
        let st = self.shared.lock_state();
        Self::custom_env_in(&st, job_id, builds_dir).unwrap_or_default()
    }

    fn custom_env_in(st: &State, job_id: Id, builds_dir: &str) -> Option<Vec<(String, String)>> {
        let j = st.jobs.get(&job_id).filter(|j| j.kind == JobKind::Build)?;
        let project = st.projects.get(&j.project_id)?;
        let mut out: Vec<(String, String)> = variables(st, j)?
            .into_iter()
            .map(|v| (format!("CUSTOM_ENV_{}", v.key), v.value))
            .collect();
        let runner = [
            ("CI_BUILDS_DIR", builds_dir.to_string()),
            (
                "CI_PROJECT_DIR",
                format!(
                    "{}/{}",
                    builds_dir.trim_end_matches('/'),
                    project.path_with_namespace
                ),
            ),
            ("CI_CONCURRENT_ID", "0".into()),
            ("CI_CONCURRENT_PROJECT_ID", "0".into()),
            ("CI_SERVER", "yes".into()),
            ("CI_JOB_TIMEOUT", "3600".into()),
            ("CI_JOB_STATUS", "running".into()),
            ("CI_RUNNER_ID", "1".into()),
            ("CI_RUNNER_DESCRIPTION", "fake-gitlab runner".into()),
            ("CI_RUNNER_TAGS", "[\"srcgit\"]".into()),
            ("CI_RUNNER_SHORT_TOKEN", "fakerunr".into()),
            ("CI_RUNNER_VERSION", "18.4.0".into()),
            ("CI_RUNNER_REVISION", "fakegitlab".into()),
            ("CI_RUNNER_EXECUTABLE_ARCH", "linux/amd64".into()),
        ];
        out.extend(
            runner
                .into_iter()
                .map(|(k, v)| (format!("CUSTOM_ENV_{k}"), v)),
        );
        Some(out)
    }
}
