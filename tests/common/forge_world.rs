//! Shared fixtures for the `GitLabForge` tests: a small srcgit world on the fake GitLab
//! (bot + contributor, a source-git project with a contributor fork, an rpms project
//! with CI) and a client with small timeouts so failures stay fast.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use fake_gitlab::{
    AccessLevel, CiDefinition, CiJob, Clock, FakeGitLab, MrSpec, Options, ProjectSpec, SeededJob,
    SrcgitJob, UserSpec,
};
use srcgit::forge::gitlab::{ClientOptions, GitLabForge};
use srcgit::forge::{Forge, ProjectRef};
use srcgit::ids::{ProjectId, ProjectPath};

pub const BOT_TOKEN: &str = "glpat-bot-SECRET-0123456789";
pub const CONTRIB_TOKEN: &str = "glpat-contrib-SECRET-9876543";
pub const SRC: &str = "redhat/centos-stream/src/quill";
pub const RPMS: &str = "redhat/centos-stream/rpms/quill";
pub const FORK: &str = "contributor/quill";
pub const BOT_FORK: &str = "srcgit-bot/quill";

pub use super::git;

/// A local repository with `c10s` (one commit) and `fix` (one more).
fn make_repo(root: &Path) -> PathBuf {
    let dir = root.join("local");
    std::fs::create_dir_all(&dir).unwrap();
    git(&dir, &["init", "-q", "-b", "c10s"]);
    std::fs::write(dir.join("quill.spec"), "Name: quill\nVersion: 1.0\n").unwrap();
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-q", "-m", "Initial import"]);
    git(&dir, &["checkout", "-q", "-b", "fix"]);
    std::fs::write(dir.join("fix.patch"), "--- a\n+++ b\n").unwrap();
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-q", "-m", "Fix the thing"]);
    git(&dir, &["checkout", "-q", "c10s"]);
    dir
}

/// The rpms project's MR pipeline: two jobs.
pub fn rpms_ci() -> CiDefinition {
    CiDefinition::new(vec![
        CiJob::new("rpmbuild", "build").duration(Duration::from_secs(30)),
        CiJob::new("rpminspect", "test")
            .duration(Duration::from_secs(20))
            .allow_failure(true),
    ])
}

pub struct World {
    pub gl: FakeGitLab,
    pub tmp: tempfile::TempDir,
    pub local: PathBuf,
}

impl World {
    pub fn id(&self, path: &str) -> ProjectId {
        ProjectId(
            self.gl
                .project(path)
                .unwrap_or_else(|| panic!("no project {path}"))
                .id,
        )
    }

    pub fn options(&self, token: &str) -> ClientOptions {
        ClientOptions {
            base_url: self.gl.url().to_owned(),
            token: token.to_owned(),
            request_timeout: Duration::from_secs(5),
            max_retries: 3,
            max_backoff: Duration::from_millis(20),
        }
    }

    /// The bot's client, with the world's projects looked up once (names in errors).
    pub async fn bot(&self) -> GitLabForge {
        let forge = GitLabForge::connect(self.options(BOT_TOKEN))
            .await
            .expect("bot connects");
        for path in [SRC, RPMS] {
            forge
                .project(&ProjectRef::Path(ProjectPath(path.into())))
                .await
                .expect("project");
        }
        forge
    }

    /// The source-git MR (contributor fork → src, `fix` → `c10s`) with a running srcgit
    /// pipeline in the src project, triggered by the bot.
    pub fn source_git_mr(&self) -> (fake_gitlab::MergeRequest, SeededJob) {
        self.gl.fork_project(SRC, "contributor", None).unwrap();
        let mr = self
            .gl
            .create_merge_request(
                MrSpec::new(FORK, "fix", SRC, "c10s", "contributor").title("Fix the thing"),
            )
            .unwrap();
        let job = self
            .gl
            .create_srcgit_pipeline(
                &mr,
                SrcgitJob {
                    location: fake_gitlab::PipelineLocation::Target,
                    user: Some("srcgit-bot".into()),
                    ..SrcgitJob::default()
                },
            )
            .unwrap();
        (mr, job)
    }
}

/// Bot, contributor, the src and rpms projects (seeded from the same local repository,
/// so both have `c10s` and `fix`); virtual time only moves with `gl.advance`.
pub fn world() -> World {
    let tmp = tempfile::tempdir().unwrap();
    let local = make_repo(tmp.path());
    let gl = FakeGitLab::start_blocking(Options {
        clock: Clock::manual(),
        fork_import_delay: Duration::from_secs(2),
        ..Options::default()
    });
    gl.add_user(UserSpec::new("srcgit-bot").bot().token(BOT_TOKEN))
        .unwrap();
    gl.add_user(UserSpec::new("contributor").token(CONTRIB_TOKEN))
        .unwrap();
    gl.add_project(ProjectSpec::new(SRC).seed_from(&local))
        .unwrap();
    gl.add_project(ProjectSpec::new(RPMS).seed_from(&local).ci(rpms_ci()))
        .unwrap();
    gl.add_group_member(
        "redhat/centos-stream/src",
        "srcgit-bot",
        AccessLevel::Developer,
    )
    .unwrap();
    gl.add_group_member(
        "redhat/centos-stream/rpms",
        "srcgit-bot",
        AccessLevel::Developer,
    )
    .unwrap();
    gl.add_project_member(SRC, "contributor", AccessLevel::Reporter)
        .unwrap();
    World { gl, tmp, local }
}
