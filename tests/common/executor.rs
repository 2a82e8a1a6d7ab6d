//! Driving the real `srcgit` binary exactly as gitlab-runner drives a custom executor
//! (config → prepare, retried on system failures → run per stage → cleanup, with the
//! runner's environment and `JOB_RESPONSE_FILE`), against the fake GitLab.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use fake_gitlab::{
    AccessLevel, CiDefinition, CiJob, Clock, FakeGitLab, JobStatus, MrSpec, Options, ProjectSpec,
    SeededJob, SrcgitJob, UserSpec,
};

pub const BOT_TOKEN: &str = "glpat-srcgit-bot-S3CR3T-0123456789";
pub const CONTRIB_TOKEN: &str = "glpat-contributor-0123456789";
pub const SRC: &str = "redhat/centos-stream/src/hello";
pub const RPMS: &str = "redhat/centos-stream/rpms/hello";
pub const FORK: &str = "srcgit-bot/hello";
pub const JOB_NAME: &str = "srcgit";
/// gitlab-runner's exit codes for the custom executor.
pub const BUILD_FAILURE: i32 = 1;
pub const SYSTEM_FAILURE: i32 = 2;

pub use super::git;

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The example package (`examples/hello`) as a source-git repository with branches
/// `c10s` (upstream v1.0 + the `.distro/` init commit) and `fix` (the downstream commits),
/// and a dist-git repository with branch `c10s`.
pub fn example_repos(root: &Path) -> (PathBuf, PathBuf) {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello");
    let dg = root.join("dist-git");
    std::fs::create_dir_all(&dg).unwrap();
    git(&dg, &["init", "-q", "-b", "c10s"]);
    copy_tree(&example.join("dist-git"), &dg);
    git(&dg, &["add", "-A"]);
    git(&dg, &["commit", "-q", "-m", "Import hello 1.0"]);
    let dg_head = git(&dg, &["rev-parse", "HEAD"]);
    let sg = root.join("source-git");
    std::fs::create_dir_all(&sg).unwrap();
    git(&sg, &["init", "-q", "-b", "c10s"]);
    copy_tree(&example.join("upstream"), &sg);
    git(&sg, &["add", "-A"]);
    git(&sg, &["commit", "-q", "-m", "Release 1.0"]);
    git(&sg, &["tag", "-a", "-m", "hello 1.0", "v1.0"]);
    copy_tree(&example.join("distro"), &sg.join(".distro"));
    git(&sg, &["add", "-f", ".distro"]);
    let init_message =
        format!("Initialize as a source-git repository\n\nFrom-dist-git-commit: {dg_head}\n");
    git(&sg, &["commit", "-q", "-m", &init_message]);
    git(&sg, &["checkout", "-q", "-b", "fix"]);
    let mut steps: Vec<PathBuf> = std::fs::read_dir(example.join("downstream"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    steps.sort();
    for step in steps {
        copy_tree(&step.join("tree"), &sg);
        git(&sg, &["add", "-A"]);
        let message = step.join("message").display().to_string();
        git(&sg, &["commit", "-q", "-F", &message]);
    }
    git(&sg, &["checkout", "-q", "c10s"]);
    (sg, dg)
}

/// What the rpms project's MR pipelines run.
pub fn passing_ci() -> CiDefinition {
    CiDefinition::new(vec![
        CiJob::new("rpmbuild", "build")
            .duration(Duration::from_secs(20))
            .trace("building hello\nok\n"),
        CiJob::new("rpminspect", "test").duration(Duration::from_secs(10)),
    ])
}

pub fn failing_ci() -> CiDefinition {
    let trace: String = (1..=80)
        .map(|i| format!("check line {i}\n"))
        .collect::<String>()
        + "FAIL: greeting lacks a comma\n";
    CiDefinition::new(vec![
        CiJob::new("rpmbuild", "build").duration(Duration::from_secs(20)),
        CiJob::new("tests", "test")
            .duration(Duration::from_secs(10))
            .fails()
            .trace(trace),
        CiJob::new("lint", "test")
            .duration(Duration::from_secs(5))
            .fails()
            .allow_failure(true),
    ])
}

/// A GitLab with the srcgit bot, a served source-git project, its rpms project, and the
/// srcgit settings pointing at it.
pub struct World {
    pub gl: FakeGitLab,
    pub tmp: tempfile::TempDir,
    pub settings: PathBuf,
    pub work_dir: PathBuf,
    pub database: PathBuf,
}

pub struct WorldOptions {
    pub ci: CiDefinition,
    pub poll_interval: f64,
    pub request_timeout: u64,
    pub clock_speed: f64,
    pub max_retries: u32,
    /// `poll.timeout_seconds`: how long a job follows the downstream pipeline.
    pub poll_timeout: f64,
}

impl Default for WorldOptions {
    fn default() -> Self {
        WorldOptions {
            ci: passing_ci(),
            poll_interval: 0.2,
            request_timeout: 10,
            clock_speed: 60.0,
            max_retries: 4,
            poll_timeout: 120.0,
        }
    }
}

pub fn world(opts: WorldOptions) -> World {
    let tmp = tempfile::tempdir().unwrap();
    let (sg, dg) = example_repos(tmp.path());
    let gl = FakeGitLab::start_blocking(Options {
        clock: Clock::accelerated(opts.clock_speed),
        fork_import_delay: Duration::from_secs(10),
        ..Options::default()
    });
    gl.add_user(UserSpec::new("srcgit-bot").bot().token(BOT_TOKEN))
        .unwrap();
    gl.add_user(UserSpec::new("contributor").token(CONTRIB_TOKEN))
        .unwrap();
    gl.add_user(UserSpec::new("packager").token("glpat-packager-0123456789"))
        .unwrap();
    gl.add_project(ProjectSpec::new(SRC).seed_from(&sg))
        .unwrap();
    gl.add_project(ProjectSpec::new(RPMS).seed_from(&dg).ci(opts.ci))
        .unwrap();
    for group in ["redhat/centos-stream/src", "redhat/centos-stream/rpms"] {
        gl.add_group_member(group, "srcgit-bot", AccessLevel::Developer)
            .unwrap();
        gl.add_group_member(group, "packager", AccessLevel::Developer)
            .unwrap();
    }
    gl.add_project_member(SRC, "contributor", AccessLevel::Reporter)
        .unwrap();
    let token_file = tmp.path().join("token");
    std::fs::write(&token_file, format!("{BOT_TOKEN}\n")).unwrap();
    // srcgit refuses a token file others can read
    std::fs::set_permissions(
        &token_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let work_dir = tmp.path().join("work");
    let database = tmp.path().join("db/srcgit.sqlite");
    let settings = tmp.path().join("srcgit.toml");
    std::fs::write(
        &settings,
        format!(
            r#"gitlab_url = "{url}"
token_file = "{token}"
database = "{db}"
work_dir = "{work}"
fork_namespace = "srcgit-bot"

[[mapping]]
source_git = "redhat/centos-stream/src"
dist_git = "redhat/centos-stream/rpms"
branches = '^c\d+s$'

[poll]
interval_seconds = {interval}
timeout_seconds = {poll_timeout}

[http]
request_timeout_seconds = {timeout}
max_retries = {retries}
max_backoff_seconds = 1
"#,
            url = gl.url(),
            token = token_file.display(),
            db = database.display(),
            work = work_dir.display(),
            interval = opts.poll_interval,
            poll_timeout = opts.poll_timeout,
            timeout = opts.request_timeout,
            retries = opts.max_retries,
        ),
    )
    .unwrap();
    World {
        gl,
        tmp,
        settings,
        work_dir,
        database,
    }
}

impl World {
    /// A source-git MR by a packager (branch `fix` of the served project → `c10s`) with
    /// the srcgit job's pipeline running in it.
    pub fn packager_mr(&self) -> (fake_gitlab::MergeRequest, SeededJob) {
        let mr = self
            .gl
            .create_merge_request(
                MrSpec::new(SRC, "fix", SRC, "c10s", "packager")
                    .title("Add the missing comma")
                    .description("The greeting lacked a comma.\n\nResolves: RHEL-1234"),
            )
            .unwrap();
        let job = self.srcgit_job(&mr);
        (mr, job)
    }

    /// A new srcgit job in a new pipeline of `mr`.
    pub fn srcgit_job(&self, mr: &fake_gitlab::MergeRequest) -> SeededJob {
        self.srcgit_job_with(mr, &[])
    }

    /// Settings for a second runner host: the same GitLab and bot, its own database and
    /// work directory (two hosts share nothing but GitLab).
    pub fn second_host(&self) -> PathBuf {
        let text = std::fs::read_to_string(&self.settings)
            .unwrap()
            .replace(
                &self.database.display().to_string(),
                &self
                    .tmp
                    .path()
                    .join("db2/srcgit.sqlite")
                    .display()
                    .to_string(),
            )
            .replace(
                &self.work_dir.display().to_string(),
                &self.tmp.path().join("work2").display().to_string(),
            );
        let path = self.tmp.path().join("srcgit-host2.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The packager pushes one more commit to the source branch; returns the MR as it is
    /// now (its new head).
    pub fn push_to_source_branch(
        &self,
        mr: &fake_gitlab::MergeRequest,
    ) -> fake_gitlab::MergeRequest {
        let local = self.tmp.path().join(format!("push-{}", mr.sha));
        git(
            self.tmp.path(),
            &[
                "clone",
                "-q",
                "-b",
                &mr.source_branch,
                &self.gl.authenticated_clone_url(SRC, BOT_TOKEN).unwrap(),
                &local.display().to_string(),
            ],
        );
        std::fs::write(
            local.join("README.md"),
            "# hello\n\nPrints a friendly greeting.\n",
        )
        .unwrap();
        git(&local, &["commit", "-q", "-am", "Reword the README"]);
        git(&local, &["push", "-q", "origin", &mr.source_branch]);
        self.gl.merge_request(SRC, mr.iid).unwrap()
    }

    /// A new srcgit job in a new pipeline of `mr`, with job variables (a manual job of the
    /// CI template, e.g. `SRCGIT_RECREATE=1`).
    pub fn srcgit_job_with(
        &self,
        mr: &fake_gitlab::MergeRequest,
        variables: &[(&str, &str)],
    ) -> SeededJob {
        self.gl
            .create_srcgit_pipeline(
                mr,
                SrcgitJob {
                    name: JOB_NAME.into(),
                    script: vec![format!("touch {}", self.marker().display())],
                    variables: variables
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                    ..SrcgitJob::default()
                },
            )
            .unwrap()
    }

    /// A file the job script would create if anyone executed it.
    pub fn marker(&self) -> PathBuf {
        self.tmp.path().join("SCRIPT-WAS-EXECUTED")
    }
}

/// One stage invocation.
#[derive(Debug)]
pub struct StageRun {
    pub stage: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A whole job as the runner saw it.
#[derive(Debug)]
pub struct JobRun {
    pub config_json: serde_json::Value,
    pub stages: Vec<StageRun>,
    /// stdout+stderr of every stage that reaches the job log, in order.
    pub log: String,
    pub cleanup: StageRun,
    /// The first line of `BUILD_EXIT_CODE_FILE`, if srcgit wrote one.
    pub build_exit_code: Option<String>,
    pub passed: bool,
}

impl JobRun {
    pub fn stage(&self, name: &str) -> &StageRun {
        self.stages
            .iter()
            .find(|s| s.stage == name)
            .unwrap_or_else(|| panic!("no stage {name}: {:#?}", self.stages))
    }
}

/// The runner's side of one job: environment and temporary files.
pub struct RunnerJob {
    pub dir: tempfile::TempDir,
    pub env: BTreeMap<String, String>,
}

impl RunnerJob {
    pub fn new(world: &World, job: &SeededJob) -> RunnerJob {
        RunnerJob::with_settings(world, job, &world.settings)
    }

    /// The job on the runner host configured by `settings`.
    pub fn with_settings(world: &World, job: &SeededJob, settings: &Path) -> RunnerJob {
        let dir = tempfile::tempdir().unwrap();
        let response = dir.path().join("response.json");
        std::fs::write(
            &response,
            serde_json::to_vec(&world.gl.job_response(job.job_id)).unwrap(),
        )
        .unwrap();
        let mut env = BTreeMap::new();
        env.insert(
            "PATH".to_string(),
            std::env::var("PATH").unwrap_or_default(),
        );
        env.insert("HOME".to_string(), dir.path().display().to_string());
        env.insert("TMPDIR".to_string(), dir.path().display().to_string());
        env.insert(
            "BUILD_FAILURE_EXIT_CODE".to_string(),
            BUILD_FAILURE.to_string(),
        );
        env.insert(
            "SYSTEM_FAILURE_EXIT_CODE".to_string(),
            SYSTEM_FAILURE.to_string(),
        );
        env.insert(
            "BUILD_EXIT_CODE_FILE".to_string(),
            dir.path().join("build_exit_code").display().to_string(),
        );
        env.insert(
            "JOB_RESPONSE_FILE".to_string(),
            response.display().to_string(),
        );
        env.insert("SRCGIT_CONFIG".to_string(), settings.display().to_string());
        for (key, value) in world.gl.custom_env(job.job_id) {
            env.insert(key, value);
        }
        RunnerJob { dir, env }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_srcgit"));
        cmd.env_clear()
            .envs(&self.env)
            .current_dir(self.dir.path())
            .args(["executor"])
            .args(args);
        cmd
    }

    fn run(&self, stage: &str, args: &[&str]) -> StageRun {
        let out: Output = self.command(args).output().expect("srcgit runs");
        StageRun {
            stage: stage.to_string(),
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Starts `run <script> build_script` without waiting (for the cancel test).
    pub fn spawn_build_script(&self) -> Child {
        let script = self.script("build_script");
        self.command(&["run", &script, "build_script"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("srcgit starts")
    }

    fn script(&self, stage: &str) -> String {
        let path = self.dir.path().join(format!("script-{stage}"));
        std::fs::write(
            &path,
            "#!/usr/bin/env bash\n# generated by the fake runner\n",
        )
        .unwrap();
        path.display().to_string()
    }
}

const RUN_STAGES: [&str; 4] = [
    "prepare_script",
    "get_sources",
    "build_script",
    "cleanup_file_variables",
];

/// Runs the whole job like gitlab-runner: config, prepare (three attempts on system
/// failures, cleanup after each failed one), every run stage, cleanup; then reports the
/// job's result to GitLab.
pub fn run_job(world: &World, job: &SeededJob) -> JobRun {
    run_job_with(world, job, &world.settings)
}

/// [`run_job`] on the runner host configured by `settings`.
pub fn run_job_with(world: &World, job: &SeededJob, settings: &Path) -> JobRun {
    let runner = RunnerJob::with_settings(world, job, settings);
    let config = runner.run("config", &["config"]);
    assert_eq!(config.code, 0, "config failed: {}", config.stderr);
    let config_json: serde_json::Value =
        serde_json::from_str(&config.stdout).expect("config prints only JSON");
    let mut log = config.stderr.clone();
    let mut stages = vec![config];
    let mut prepared = false;
    for _attempt in 0..3 {
        let prepare = runner.run("prepare", &["prepare"]);
        log.push_str(&prepare.stdout);
        log.push_str(&prepare.stderr);
        let code = prepare.code;
        stages.push(prepare);
        if code == 0 {
            prepared = true;
            break;
        }
        stages.push(runner.run("cleanup", &["cleanup"]));
        if code != SYSTEM_FAILURE {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut passed = prepared;
    if prepared {
        for stage in RUN_STAGES {
            let script = runner.script(stage);
            let run = runner.run(stage, &["run", &script, stage]);
            log.push_str(&run.stdout);
            log.push_str(&run.stderr);
            if run.code != 0 {
                passed = false;
            }
            stages.push(run);
        }
    }
    let cleanup = runner.run("cleanup", &["cleanup"]);
    let build_exit_code = std::fs::read_to_string(runner.dir.path().join("build_exit_code"))
        .ok()
        .map(|s| s.lines().next().unwrap_or_default().to_string());
    let status = if passed {
        JobStatus::Success
    } else {
        JobStatus::Failed
    };
    world.gl.set_job_status(job.job_id, status).unwrap();
    JobRun {
        config_json,
        stages,
        log,
        cleanup,
        build_exit_code,
        passed,
    }
}

/// A world whose packager MR already had its job run to the end: the rpms MR is open.
pub fn paired_world(
    opts: WorldOptions,
) -> (World, fake_gitlab::MergeRequest, fake_gitlab::MergeRequest) {
    let world = world(opts);
    let (mr, job) = world.packager_mr();
    let run = run_job(&world, &job);
    assert!(run.passed, "{}", run.log);
    let rpms = world.gl.merge_requests(RPMS).pop().expect("rpms MR");
    (world, mr, rpms)
}

/// The bodies of the non-system notes of an MR, oldest first.
pub fn comments(world: &World, project: &str, iid: u64) -> Vec<String> {
    world
        .gl
        .notes(project, iid)
        .into_iter()
        .filter(|n| !n.system)
        .map(|n| n.body)
        .collect()
}

/// The merge requests into the rpms project.
pub fn rpms_mrs(world: &World) -> Vec<fake_gitlab::MergeRequest> {
    world.gl.merge_requests(RPMS)
}

/// Nothing reached dist-git for source MR `iid`: no rpms MR, no fork branch.
pub fn assert_nothing_pushed(world: &World, iid: u64) {
    assert!(rpms_mrs(world).is_empty());
    assert!(
        world
            .gl
            .branch_head(FORK, &format!("c10s-src-{iid}"))
            .is_none(),
        "nothing pushed"
    );
}

/// The sequence number the fake GitLab gives its next request.
pub fn next_seq(world: &World) -> u64 {
    world.gl.requests().last().map_or(0, |r| r.seq + 1)
}
