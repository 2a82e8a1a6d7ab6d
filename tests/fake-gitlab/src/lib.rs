//! A stateful, in-process fake GitLab for srcgit's integration tests and
//! benchmarks: the REST subset srcgit uses (under `/api/v4`) plus git smart
//! HTTP, served on `127.0.0.1:<free port>`.
//!
//! "Our test double of GitLab must behave like GitLab, or it proves nothing":
//! the fake answers with GitLab's status codes and bodies (409 on a duplicate
//! MR, 400 `Cannot transition status via :run from :running`, offset
//! pagination headers, Rack::Attack-style 429s…), moves pipelines along in
//! (virtual) time, and runs `git http-backend` so clones and pushes are real.
//! `README.md` lists every route and every deliberate simplification.
//!
//! # Shape
//!
//! * [`FakeGitLab::start`] spawns the server on its own thread and runtime, so
//!   tests may block (run `git`, a subprocess, synchronous seeding) freely.
//! * Seeding ([`UserSpec`], [`ProjectSpec`], [`MrSpec`], [`SrcgitJob`]) is plain
//!   Rust, no HTTP. [`FakeGitLab::job_response`] and [`FakeGitLab::custom_env`]
//!   give what gitlab-runner would hand the custom executor for a job.
//! * A project's [`CiDefinition`] is what its MR pipelines run: jobs go
//!   `created → pending → running → success|failed` on the virtual [`Clock`].
//! * [`Rule`]s inject failures; [`FakeGitLab::requests`] is the request log;
//!   accessors (`merge_requests`, `statuses`, `pipelines`, …) expose state.
//!
//! # Example
//!
//! ```no_run
//! use fake_gitlab::*;
//! # async fn demo(src_repo: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
//! let gl = FakeGitLab::start(Options { clock: Clock::accelerated(50.0), ..Options::default() }).await;
//! gl.add_user(UserSpec::new("srcgit-bot").bot().token("glpat-bot"))?;
//! gl.add_user(UserSpec::new("contributor").token("glpat-contrib"))?;
//! gl.add_project(ProjectSpec::new("redhat/centos-stream/src/foo").seed_from(src_repo))?;
//! gl.add_project(ProjectSpec::new("redhat/centos-stream/rpms/foo").ci(CiDefinition::new(vec![
//!     CiJob::new("rpmbuild", "build").duration(std::time::Duration::from_secs(30)),
//!     CiJob::new("rpminspect", "test").fails().allow_failure(true),
//! ])))?;
//! gl.add_group_member("redhat/centos-stream/rpms", "srcgit-bot", AccessLevel::Developer)?;
//! gl.add_group_member("redhat/centos-stream/src", "srcgit-bot", AccessLevel::Developer)?;
//! let fork = gl.fork_project("redhat/centos-stream/src/foo", "contributor", None)?;
//! // … push a branch into the fork (e.g. with `git push` to gl.authenticated_clone_url(…)) …
//! let mr = gl.create_merge_request(
//!     MrSpec::new(&fork.path_with_namespace, "fix", "redhat/centos-stream/src/foo", "c10s", "contributor")
//!         .title("Fix the thing"),
//! )?;
//! let job = gl.create_srcgit_pipeline(&mr, SrcgitJob::default())?;
//! let job_response = gl.job_response(job.job_id); // write to JOB_RESPONSE_FILE
//! let env = gl.custom_env(job.job_id);             // CUSTOM_ENV_* for the driver
//! // … run srcgit against gl.url() with token "glpat-bot" …
//! gl.set_job_status(job.job_id, JobStatus::Success)?;
//! assert!(gl.merge_requests("redhat/centos-stream/rpms/foo").len() <= 1);
//! # let _ = (job_response, env); Ok(()) }
//! ```

#![warn(missing_docs)]
#![recursion_limit = "256"]

mod activity;
mod api;
mod ci;
mod clock;
mod git;
mod git_http;
mod inject;
mod job_response;
mod model;
mod mrs;
mod observe;
mod pipelines;
mod projects;
mod seed;
mod seed_lifecycle;
mod seed_push;
mod server;
mod specs;
mod state;
mod statuses;
mod tokens;

pub use clock::{Clock, Timestamp};
pub use git::CommitInfo;
pub use inject::{LoggedRequest, Reply, Rule, RuleHandle};
pub use model::*;
pub use server::{FakeGitLab, Options};
pub use specs::{MrSpec, PipelineLocation, ProjectSpec, SeedError, SeededJob, SrcgitJob, UserSpec};
