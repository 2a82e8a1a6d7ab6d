//! CI data: what a project's pipelines run ([`CiDefinition`]) and what they
//! are made of ([`Pipeline`], [`Job`], [`JobStatus`]).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::clock::Timestamp;
use crate::model::Id;

/// Outcome of a simulated CI job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Ends `success` after its duration.
    Success,
    /// Ends `failed` (`script_failure`) after its duration.
    Failed,
    /// Goes `running` and stays there until the test calls
    /// [`FakeGitLab::set_job_status`](crate::FakeGitLab::set_job_status)
    /// (this is how the srcgit job itself is modelled: its real runner is the test).
    External,
}

/// One job of a [`CiDefinition`].
#[derive(Clone, Debug)]
pub struct CiJob {
    /// Job name.
    pub name: String,
    /// Stage name.
    pub stage: String,
    /// How the job ends.
    pub outcome: Outcome,
    /// `allow_failure: true`.
    pub allow_failure: bool,
    /// Time spent `running` (virtual time).
    pub duration: Duration,
    /// Time spent `pending` before a runner picks it up (virtual time).
    pub queue: Duration,
    /// Job log served by `GET …/jobs/:id/trace`.
    pub trace: String,
    /// Job-level `variables:` (end up in the job's variables).
    pub variables: Vec<(String, String)>,
    /// `script:` lines (end up in `steps` of the job response).
    pub script: Vec<String>,
    /// `when: manual`: the job waits in `manual` until played with
    /// [`FakeGitLab::set_job_status`](crate::FakeGitLab::set_job_status)`(id, Pending)`.
    pub manual: bool,
}

impl CiJob {
    /// A successful job taking 1 s with a 100 ms queue.
    pub fn new(name: impl Into<String>, stage: impl Into<String>) -> Self {
        let name = name.into();
        CiJob {
            trace: format!("Running job {name}\n$ true\nJob succeeded\n"),
            name,
            stage: stage.into(),
            outcome: Outcome::Success,
            allow_failure: false,
            duration: Duration::from_secs(1),
            queue: Duration::from_millis(100),
            variables: Vec::new(),
            script: vec!["true".into()],
            manual: false,
        }
    }

    /// `when: manual` (with GitLab's default `allow_failure: true` for manual jobs).
    pub fn manual(mut self) -> Self {
        self.manual = true;
        self.allow_failure = true;
        self
    }

    /// Sets the outcome.
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    /// Shorthand for `.outcome(Outcome::Failed)` (and a failing trace if none was set).
    pub fn fails(mut self) -> Self {
        self.outcome = Outcome::Failed;
        if self.trace.ends_with("Job succeeded\n") {
            self.trace = format!(
                "Running job {}\n$ false\nERROR: Job failed: exit code 1\n",
                self.name
            );
        }
        self
    }

    /// Sets `allow_failure`.
    pub fn allow_failure(mut self, allow: bool) -> Self {
        self.allow_failure = allow;
        self
    }

    /// Sets the running time.
    pub fn duration(mut self, d: Duration) -> Self {
        self.duration = d;
        self
    }

    /// Sets the queue time.
    pub fn queue(mut self, d: Duration) -> Self {
        self.queue = d;
        self
    }

    /// Sets the job log.
    pub fn trace(mut self, trace: impl Into<String>) -> Self {
        self.trace = trace.into();
        self
    }

    /// Adds a job-level variable.
    pub fn variable(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.variables.push((key.into(), value.into()));
        self
    }

    /// Sets the script lines.
    pub fn script(mut self, lines: &[&str]) -> Self {
        self.script = lines.iter().map(|s| s.to_string()).collect();
        self
    }
}

/// The jobs an MR pipeline in a project gets (stands in for `.gitlab-ci.yml`).
#[derive(Clone, Debug, Default)]
pub struct CiDefinition {
    /// Stage order; stages not listed run after the listed ones in order of
    /// first appearance in `jobs`.
    pub stages: Vec<String>,
    /// The jobs.
    pub jobs: Vec<CiJob>,
}

impl CiDefinition {
    /// A definition with these jobs, stages in order of first appearance.
    pub fn new(jobs: Vec<CiJob>) -> Self {
        CiDefinition {
            stages: Vec::new(),
            jobs,
        }
    }

    /// Stage names in execution order.
    pub fn stage_order(&self) -> Vec<String> {
        let mut out = self.stages.clone();
        for j in &self.jobs {
            if !out.contains(&j.stage) {
                out.push(j.stage.clone());
            }
        }
        out
    }
}

/// Status of a job, external status or pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// `created`
    Created,
    /// `waiting_for_resource`
    WaitingForResource,
    /// `preparing`
    Preparing,
    /// `pending`
    Pending,
    /// `running`
    Running,
    /// `success`
    Success,
    /// `failed`
    Failed,
    /// `canceling`
    Canceling,
    /// `canceled`
    Canceled,
    /// `skipped`
    Skipped,
    /// `manual`
    Manual,
    /// `scheduled`
    Scheduled,
}

impl JobStatus {
    /// The API string.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Created => "created",
            JobStatus::WaitingForResource => "waiting_for_resource",
            JobStatus::Preparing => "preparing",
            JobStatus::Pending => "pending",
            JobStatus::Running => "running",
            JobStatus::Success => "success",
            JobStatus::Failed => "failed",
            JobStatus::Canceling => "canceling",
            JobStatus::Canceled => "canceled",
            JobStatus::Skipped => "skipped",
            JobStatus::Manual => "manual",
            JobStatus::Scheduled => "scheduled",
        }
    }

    /// `success`, `failed`, `canceled` or `skipped`.
    pub fn is_completed(self) -> bool {
        matches!(
            self,
            JobStatus::Success | JobStatus::Failed | JobStatus::Canceled | JobStatus::Skipped
        )
    }

    /// `running` or `pending`.
    pub fn is_active(self) -> bool {
        matches!(self, JobStatus::Running | JobStatus::Pending)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "created" => JobStatus::Created,
            "waiting_for_resource" => JobStatus::WaitingForResource,
            "preparing" => JobStatus::Preparing,
            "pending" => JobStatus::Pending,
            "running" => JobStatus::Running,
            "success" => JobStatus::Success,
            "failed" => JobStatus::Failed,
            "canceling" => JobStatus::Canceling,
            "canceled" => JobStatus::Canceled,
            "skipped" => JobStatus::Skipped,
            "manual" => JobStatus::Manual,
            "scheduled" => JobStatus::Scheduled,
            other => return Err(format!("unknown status {other:?}")),
        })
    }
}

/// What kind of pipeline member a [`Job`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobKind {
    /// A CI job (`Ci::Build`), listed by `GET /pipelines/:id/jobs`.
    Build,
    /// An external commit status (`GenericCommitStatus`, stage `external`).
    External,
}

/// A CI job or an external commit status.
#[derive(Clone, Debug)]
pub struct Job {
    /// Job id.
    pub id: Id,
    /// Pipeline.
    pub pipeline_id: Id,
    /// Project of the pipeline.
    pub project_id: Id,
    /// Name (the `name`/`context` of an external status).
    pub name: String,
    /// Stage (`external` for external statuses).
    pub stage: String,
    /// Stage position (external statuses: 1 000 000).
    pub stage_idx: u32,
    /// Build or external status.
    pub kind: JobKind,
    /// Status.
    pub status: JobStatus,
    /// `allow_failure`.
    pub allow_failure: bool,
    /// Superseded by a newer job of the same name (hidden by default).
    pub retried: bool,
    /// Ref (the pipeline's ref).
    pub ref_name: String,
    /// Who created it (pipeline user, or the status poster).
    pub user_id: Id,
    /// Creation time.
    pub created_at: Timestamp,
    /// When it became pending.
    pub queued_at: Option<Timestamp>,
    /// When it started running.
    pub started_at: Option<Timestamp>,
    /// When it finished.
    pub finished_at: Option<Timestamp>,
    /// `script_failure`, `api_failure`, …
    pub failure_reason: Option<String>,
    /// External status description.
    pub description: Option<String>,
    /// External status target URL.
    pub target_url: Option<String>,
    /// Coverage.
    pub coverage: Option<f64>,
    /// Full job log.
    pub trace: String,
    /// CI job token (builds only).
    pub token: String,
    /// Simulation plan (builds from a CI definition).
    pub(crate) plan: Option<CiJob>,
}

/// A pipeline.
#[derive(Clone, Debug)]
pub struct Pipeline {
    /// Instance-wide id (`CI_PIPELINE_ID`).
    pub id: Id,
    /// Per-project number.
    pub iid: u64,
    /// Project it runs in.
    pub project_id: Id,
    /// Commit.
    pub sha: String,
    /// Ref (`refs/merge-requests/<iid>/head` for detached MR pipelines).
    pub ref_name: String,
    /// `merge_request_event`, `push`, `external`, `api`, …
    pub source: String,
    /// Derived status.
    pub status: JobStatus,
    /// Some allowed-to-fail job failed.
    pub warnings: bool,
    /// MR this pipeline belongs to (MR pipelines only).
    pub merge_request_id: Option<Id>,
    /// `detached` for MR pipelines.
    pub merge_request_event_type: Option<String>,
    /// Triggering user.
    pub user_id: Id,
    /// `before_sha` (all zeros for MR pipelines).
    pub before_sha: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// First job start.
    pub started_at: Option<Timestamp>,
    /// Completion time.
    pub finished_at: Option<Timestamp>,
}

/// Zero sha used for `before_sha` of MR pipelines.
pub const BLANK_SHA: &str = "0000000000000000000000000000000000000000";
