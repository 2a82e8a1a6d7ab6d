//! Builder types of the seeding API (see [`FakeGitLab`](crate::FakeGitLab)'s
//! `add_*`/`create_*` methods).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::model::*;

/// A seeding call was inconsistent (unknown user/project, duplicate path, git failure…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedError(pub String);

impl fmt::Display for SeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fake-gitlab seeding: {}", self.0)
    }
}

impl std::error::Error for SeedError {}

/// A user to create.
#[derive(Clone, Debug)]
pub struct UserSpec {
    pub(crate) username: String,
    pub(crate) name: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) tokens: Vec<(String, Vec<String>)>,
    pub(crate) bot: bool,
    pub(crate) admin: bool,
}

impl UserSpec {
    /// A user named `username` (also the path of its personal namespace).
    pub fn new(username: impl Into<String>) -> Self {
        UserSpec {
            username: username.into(),
            name: None,
            email: None,
            tokens: Vec::new(),
            bot: false,
            admin: false,
        }
    }
    /// Display name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
    /// E-mail.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }
    /// Adds a personal access token with the `api` scope.
    pub fn token(self, token: impl Into<String>) -> Self {
        self.token_with_scopes(token, &["api"])
    }
    /// Adds a personal access token with the given scopes
    /// (`api`, `read_api`, `read_repository`, `write_repository`).
    pub fn token_with_scopes(mut self, token: impl Into<String>, scopes: &[&str]) -> Self {
        self.tokens
            .push((token.into(), scopes.iter().map(|s| s.to_string()).collect()));
        self
    }
    /// Marks the user as a bot.
    pub fn bot(mut self) -> Self {
        self.bot = true;
        self
    }
    /// Makes the user an administrator.
    pub fn admin(mut self) -> Self {
        self.admin = true;
        self
    }
}

/// A project to create.
#[derive(Clone, Debug)]
pub struct ProjectSpec {
    pub(crate) full_path: String,
    pub(crate) name: Option<String>,
    pub(crate) default_branch: Option<String>,
    pub(crate) visibility: Visibility,
    pub(crate) description: Option<String>,
    pub(crate) seed_from: Option<PathBuf>,
    pub(crate) ci: Option<CiDefinition>,
}

impl ProjectSpec {
    /// A private, empty project at `full_path` (missing groups are created).
    pub fn new(full_path: impl Into<String>) -> Self {
        ProjectSpec {
            full_path: full_path.into(),
            name: None,
            default_branch: None,
            visibility: Visibility::Private,
            description: None,
            seed_from: None,
            ci: None,
        }
    }
    /// Display name (default: the last path component).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
    /// Default branch (default: the seed repository's `HEAD` branch, else `main`).
    pub fn default_branch(mut self, b: impl Into<String>) -> Self {
        self.default_branch = Some(b.into());
        self
    }
    /// Visibility.
    pub fn visibility(mut self, v: Visibility) -> Self {
        self.visibility = v;
        self
    }
    /// Description.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }
    /// Pushes all branches and tags of this local repository into the project.
    pub fn seed_from(mut self, local_repo: impl AsRef<Path>) -> Self {
        self.seed_from = Some(local_repo.as_ref().to_path_buf());
        self
    }
    /// Jobs of MR pipelines in this project.
    pub fn ci(mut self, ci: CiDefinition) -> Self {
        self.ci = Some(ci);
        self
    }
}

/// A merge request to create.
#[derive(Clone, Debug)]
pub struct MrSpec {
    pub(crate) source_project: String,
    pub(crate) source_branch: String,
    pub(crate) target_project: String,
    pub(crate) target_branch: String,
    pub(crate) title: String,
    pub(crate) description: Option<String>,
    pub(crate) author: String,
    pub(crate) labels: Vec<String>,
    pub(crate) run_ci: bool,
}

impl MrSpec {
    /// An MR from `source_project:source_branch` into `target_project:target_branch`
    /// (projects by full path or numeric id), authored by `author`.
    pub fn new(
        source_project: impl Into<String>,
        source_branch: impl Into<String>,
        target_project: impl Into<String>,
        target_branch: impl Into<String>,
        author: impl Into<String>,
    ) -> Self {
        MrSpec {
            source_project: source_project.into(),
            source_branch: source_branch.into(),
            target_project: target_project.into(),
            target_branch: target_branch.into(),
            title: "Test merge request".into(),
            description: None,
            author: author.into(),
            labels: Vec::new(),
            run_ci: false,
        }
    }
    /// Title.
    pub fn title(mut self, t: impl Into<String>) -> Self {
        self.title = t.into();
        self
    }
    /// Description.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }
    /// Labels.
    pub fn labels(mut self, labels: &[&str]) -> Self {
        self.labels = labels.iter().map(|s| s.to_string()).collect();
        self
    }
    /// Also create the regular MR pipeline from the CI definition (off by
    /// default: seed the srcgit pipeline with
    /// [`FakeGitLab::create_srcgit_pipeline`](crate::FakeGitLab::create_srcgit_pipeline) instead).
    pub fn with_ci_pipeline(mut self) -> Self {
        self.run_ci = true;
        self
    }
}

/// Where a seeded MR pipeline runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PipelineLocation {
    /// Where GitLab would put it: the target project if the triggering user is
    /// a Developer there, else the source project (the fork).
    #[default]
    Auto,
    /// The source project (GitLab's default for fork MRs).
    Source,
    /// The target project ("run pipeline in the parent project").
    Target,
}

/// The srcgit CI job of a seeded source-git MR pipeline.
#[derive(Clone, Debug)]
pub struct SrcgitJob {
    /// Job name (default `dist-git`).
    pub name: String,
    /// Stage (default `test`).
    pub stage: String,
    /// Pipeline project.
    pub location: PipelineLocation,
    /// Triggering user (default: the MR author).
    pub user: Option<String>,
    /// `script:` lines.
    pub script: Vec<String>,
    /// Job-level variables (e.g. `SOURCEGIT_RPMS_PROJECT`).
    pub variables: Vec<(String, String)>,
}

impl Default for SrcgitJob {
    fn default() -> Self {
        SrcgitJob {
            name: "dist-git".into(),
            stage: "test".into(),
            location: PipelineLocation::Auto,
            user: None,
            script: vec![":".into()],
            variables: Vec::new(),
        }
    }
}

/// Ids of a seeded srcgit job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeededJob {
    /// Project the pipeline runs in (`CI_PROJECT_ID`).
    pub project_id: Id,
    /// `CI_PIPELINE_ID`.
    pub pipeline_id: Id,
    /// `CI_JOB_ID`.
    pub job_id: Id,
    /// `CI_JOB_TOKEN`.
    pub token: String,
}
