//! The custom executor end to end: the real binary, driven stage by stage as
//! gitlab-runner drives it, against the stateful fake GitLab.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::executor::*;
use fake_gitlab::{JobStatus, MrState, Rule, SeededJob};

/// The current (non-retried) external statuses on `sha` in `project`: name → status.
fn statuses(world: &World, project: &str, sha: &str) -> BTreeMap<String, JobStatus> {
    world
        .gl
        .statuses(project, sha)
        .into_iter()
        .filter(|s| !s.retried)
        .map(|s| (s.name, s.status))
        .collect()
}

fn job_sha(world: &World, job: &SeededJob) -> String {
    world.gl.pipeline(job.pipeline_id).expect("pipeline").sha
}

fn assert_no_token(run: &JobRun) {
    assert!(
        !run.log.contains(BOT_TOKEN),
        "the bot token leaked into the job log:\n{}",
        run.log
    );
    assert!(!run.cleanup.stdout.contains(BOT_TOKEN) && !run.cleanup.stderr.contains(BOT_TOKEN));
}

#[test]
fn first_run_opens_the_rpms_mr_and_mirrors_a_passing_pipeline() {
    let world = world(WorldOptions::default());
    let (mr, job) = world.packager_mr();
    let run = run_job(&world, &job);
    assert!(run.passed, "job log:\n{}", run.log);
    assert_eq!(run.build_exit_code, None);
    assert!(
        run.config_json["driver"]["name"] == "srcgit",
        "{}",
        run.config_json
    );
    assert!(
        !world.marker().exists(),
        "the job script must never be executed"
    );

    // the rpms MR: from the bot fork's branch, with the marker and a link back
    let mrs = rpms_mrs(&world);
    assert_eq!(mrs.len(), 1);
    let rpms_mr = &mrs[0];
    assert_eq!(rpms_mr.source_branch, format!("c10s-src-{}", mr.iid));
    assert_eq!(rpms_mr.target_branch, "c10s");
    assert_eq!(rpms_mr.title, "Add the missing comma");
    let description = rpms_mr.description.clone().unwrap_or_default();
    assert!(
        description.starts_with("The greeting lacked a comma."),
        "{description}"
    );
    assert!(
        description.contains(&format!("<!-- srcgit: source={SRC}!{} -->", mr.iid)),
        "{description}"
    );
    let fork = world.gl.project(FORK).expect("the bot fork exists");
    assert_eq!(rpms_mr.source_project_id, fork.id);

    // the pushed commit: converted patches, the trailer, the MR title and description
    let pushed = world
        .gl
        .branch_head(FORK, &rpms_mr.source_branch)
        .expect("fork branch");
    let repo = world.gl.repo_path(FORK).unwrap();
    let message = git(&repo, &["log", "-1", "--format=%B", &pushed]);
    assert!(
        message.starts_with("Add the missing comma\n\nThe greeting lacked a comma."),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "From-source-git-commit: {}",
            job_sha(&world, &job)
        )),
        "{message}"
    );
    let files = git(&repo, &["ls-tree", "--name-only", &pushed]);
    assert!(
        files.contains("hello-comma.patch")
            && files.contains("0002-Read-the-name-from-stdin-when-it-is.patch"),
        "{files}"
    );

    // one comment on the source MR, linking the rpms MR
    let notes = world.gl.notes(SRC, mr.iid);
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].body.contains(&format!("{RPMS}!{}", rpms_mr.iid)),
        "{}",
        notes[0].body
    );

    // statuses on the source MR's pipeline: the whole pipeline and each job, all passed
    let st = statuses(&world, SRC, &job_sha(&world, &job));
    assert_eq!(st.get("dist-git"), Some(&JobStatus::Success), "{st:?}");
    assert_eq!(
        st.get("dist-git: rpmbuild"),
        Some(&JobStatus::Success),
        "{st:?}"
    );
    assert_eq!(
        st.get("dist-git: rpminspect"),
        Some(&JobStatus::Success),
        "{st:?}"
    );
    let job_statuses = world.gl.statuses(SRC, &job_sha(&world, &job));
    assert!(
        job_statuses
            .iter()
            .all(|s| s.pipeline_id == job.pipeline_id),
        "statuses attach to the job's pipeline"
    );

    // the job log tells what happened and ends with the table of downstream jobs
    let build = run.stage("build_script");
    assert!(
        build.stdout.contains("dist-git merge request"),
        "{}",
        build.stdout
    );
    assert!(
        build.stdout.contains("rpmbuild") && build.stdout.contains("rpminspect"),
        "{}",
        build.stdout
    );
    for stage in ["prepare_script", "get_sources", "cleanup_file_variables"] {
        assert!(run.stage(stage).stdout.contains("nothing to do"), "{stage}");
    }
    assert_no_token(&run);
    assert!(
        !world.work_dir.join(format!("job-{}", job.job_id)).exists(),
        "cleanup removes the work tree"
    );
}

#[test]
fn a_failing_downstream_job_fails_the_job_with_its_log_tail() {
    let world = world(WorldOptions {
        ci: failing_ci(),
        ..WorldOptions::default()
    });
    let (_mr, job) = world.packager_mr();
    let run = run_job(&world, &job);
    assert!(!run.passed);
    let build = run.stage("build_script");
    assert_eq!(
        build.code, BUILD_FAILURE,
        "{}{}",
        build.stdout, build.stderr
    );
    assert_eq!(run.build_exit_code.as_deref(), Some("1"));
    assert!(
        build.stderr.contains("the dist-git pipeline failed: tests"),
        "{}",
        build.stderr
    );
    assert!(
        !build.stderr.contains("lint"),
        "an allowed failure is not a failed job: {}",
        build.stderr
    );
    assert!(
        build.stdout.contains("FAIL: greeting lacks a comma"),
        "{}",
        build.stdout
    );
    assert!(
        build.stdout.contains("check line 80") && build.stdout.contains("check line 32"),
        "{}",
        build.stdout
    );
    assert!(
        !build.stdout.contains("check line 31\n"),
        "only the last 50 lines: {}",
        build.stdout
    );
    let st = statuses(&world, SRC, &job_sha(&world, &job));
    assert_eq!(st.get("dist-git"), Some(&JobStatus::Failed), "{st:?}");
    assert_eq!(
        st.get("dist-git: tests"),
        Some(&JobStatus::Failed),
        "{st:?}"
    );
    assert_eq!(
        st.get("dist-git: lint"),
        Some(&JobStatus::Success),
        "allowed failures stay neutral: {st:?}"
    );
    assert_no_token(&run);
}

#[test]
fn a_rerun_retriggers_the_downstream_pipeline_without_a_new_commit_or_mr() {
    let world = world(WorldOptions::default());
    let (mr, job) = world.packager_mr();
    assert!(run_job(&world, &job).passed);
    let rpms_mr = rpms_mrs(&world).remove(0);
    let head = world.gl.branch_head(FORK, &rpms_mr.source_branch).unwrap();
    let pipelines_before = world.gl.pipelines(RPMS).len();

    let rerun = world.srcgit_job(&mr);
    let run = run_job(&world, &rerun);
    assert!(run.passed, "{}", run.log);
    assert_eq!(rpms_mrs(&world).len(), 1, "no second rpms MR");
    assert_eq!(
        world.gl.branch_head(FORK, &rpms_mr.source_branch).unwrap(),
        head,
        "no new commit"
    );
    assert_eq!(
        world.gl.pipelines(RPMS).len(),
        pipelines_before + 1,
        "one new downstream pipeline"
    );
    assert!(
        run.log
            .contains("asking GitLab for a new dist-git pipeline"),
        "{}",
        run.log
    );
    assert_eq!(
        world.gl.notes(SRC, mr.iid).len(),
        1,
        "the source MR is commented once"
    );
    let st = statuses(&world, SRC, &job_sha(&world, &rerun));
    assert_eq!(st.get("dist-git"), Some(&JobStatus::Success), "{st:?}");
}

#[test]
fn a_new_push_updates_the_existing_rpms_mr() {
    let world = world(WorldOptions::default());
    let (mr, job) = world.packager_mr();
    assert!(run_job(&world, &job).passed);
    let rpms_mr = rpms_mrs(&world).remove(0);
    let before = world.gl.branch_head(FORK, &rpms_mr.source_branch).unwrap();

    // the packager pushes one more commit to the source branch
    let local = world.tmp.path().join("push");
    git(
        world.tmp.path(),
        &[
            "clone",
            "-q",
            "-b",
            "fix",
            &world.gl.authenticated_clone_url(SRC, BOT_TOKEN).unwrap(),
            &local.display().to_string(),
        ],
    );
    std::fs::write(
        local.join("README.md"),
        "# hello\n\nPrints a friendly greeting.\n",
    )
    .unwrap();
    git(&local, &["commit", "-q", "-am", "Reword the README"]);
    git(&local, &["push", "-q", "origin", "fix"]);
    let mr_now = world.gl.merge_request(SRC, mr.iid).unwrap();
    let job2 = world.srcgit_job(&mr_now);
    let run = run_job(&world, &job2);
    assert!(run.passed, "{}", run.log);
    assert_eq!(rpms_mrs(&world).len(), 1);
    let after = world.gl.branch_head(FORK, &rpms_mr.source_branch).unwrap();
    assert_ne!(after, before, "a new dist-git commit was pushed");
    let repo = world.gl.repo_path(FORK).unwrap();
    let files = git(&repo, &["ls-tree", "--name-only", &after]);
    assert!(files.contains("0003-Reword-the-README.patch"), "{files}");
    assert_eq!(
        world.gl.merge_request(RPMS, rpms_mr.iid).unwrap().state,
        MrState::Opened
    );
}

fn assert_refused_in_prepare(world: &World, run: &JobRun, sentence: &str) {
    assert!(!run.passed);
    let prepares: Vec<_> = run.stages.iter().filter(|s| s.stage == "prepare").collect();
    assert_eq!(
        prepares.len(),
        1,
        "a build failure in prepare is not retried"
    );
    assert_eq!(prepares[0].code, BUILD_FAILURE, "{}", prepares[0].stderr);
    assert!(
        prepares[0].stderr.contains(sentence),
        "{}",
        prepares[0].stderr
    );
    assert!(
        world.gl.project(FORK).is_none() || rpms_mrs(world).is_empty(),
        "nothing was pushed or opened"
    );
    assert!(rpms_mrs(world).is_empty());
    assert_no_token(run);
}

#[test]
fn a_pipeline_that_is_not_an_mr_pipeline_is_refused_clearly() {
    let world = world(WorldOptions::default());
    let (_mr, job) = world.packager_mr();
    // the job's variables claim no merge request (as in a branch pipeline)
    let mut response = world.gl.job_response(job.job_id);
    response["variables"].as_array_mut().unwrap().retain(|v| {
        !v["key"]
            .as_str()
            .unwrap_or_default()
            .starts_with("CI_MERGE_REQUEST_")
    });
    let runner = RunnerJob::new(&world, &job);
    std::fs::write(
        runner.env["JOB_RESPONSE_FILE"].clone(),
        serde_json::to_vec(&response).unwrap(),
    )
    .unwrap();
    let mut env = runner.env.clone();
    env.retain(|k, _| !k.starts_with("CUSTOM_ENV_CI_MERGE_REQUEST_"));
    let out = runner
        .command(&["prepare"])
        .env_clear()
        .envs(&env)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(BUILD_FAILURE));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("does not run in a merge request pipeline"),
        "{stderr}"
    );
    assert!(rpms_mrs(&world).is_empty());
}

#[test]
fn an_overridden_mr_variable_does_not_redirect_the_job() {
    let world = world(WorldOptions::default());
    let (_mr, job) = world.packager_mr();
    // a second MR in the same project: the job claims it, but its pipeline is not that MR's
    let other = world
        .gl
        .create_merge_request(
            fake_gitlab::MrSpec::new(SRC, "c10s", SRC, "fix", "packager").title("Other"),
        )
        .unwrap();
    let runner = RunnerJob::new(&world, &job);
    let mut response = world.gl.job_response(job.job_id);
    for v in response["variables"].as_array_mut().unwrap() {
        if v["key"] == "CI_MERGE_REQUEST_IID" {
            v["value"] = serde_json::Value::String(other.iid.to_string());
        }
    }
    std::fs::write(
        runner.env["JOB_RESPONSE_FILE"].clone(),
        serde_json::to_vec(&response).unwrap(),
    )
    .unwrap();
    let out = runner.command(&["prepare"]).output().unwrap();
    assert_eq!(out.status.code(), Some(BUILD_FAILURE));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "is not a pipeline of merge request !{}",
            other.iid
        )),
        "{stderr}"
    );
}

#[test]
fn an_unmapped_project_is_refused_clearly() {
    let world = world(WorldOptions::default());
    let (sg, _dg) = example_repos(&world.tmp.path().join("other"));
    world
        .gl
        .add_project(fake_gitlab::ProjectSpec::new("someone/hello").seed_from(&sg))
        .unwrap();
    world
        .gl
        .add_project_member(
            "someone/hello",
            "srcgit-bot",
            fake_gitlab::AccessLevel::Developer,
        )
        .unwrap();
    world
        .gl
        .add_project_member(
            "someone/hello",
            "packager",
            fake_gitlab::AccessLevel::Developer,
        )
        .unwrap();
    let mr = world
        .gl
        .create_merge_request(
            fake_gitlab::MrSpec::new("someone/hello", "fix", "someone/hello", "c10s", "packager")
                .title("x"),
        )
        .unwrap();
    let job = world.srcgit_job(&mr);
    let run = run_job(&world, &job);
    assert_refused_in_prepare(
        &world,
        &run,
        "project someone/hello is not in a namespace this srcgit runner serves",
    );
}

#[test]
fn an_unserved_target_branch_is_refused_clearly() {
    let world = world(WorldOptions::default());
    let mr = world
        .gl
        .create_merge_request(
            fake_gitlab::MrSpec::new(SRC, "c10s", SRC, "fix", "packager").title("Backwards"),
        )
        .unwrap();
    let job = world.srcgit_job(&mr);
    let run = run_job(&world, &job);
    assert_refused_in_prepare(&world, &run, "target branch fix is not served");
}

#[test]
fn a_broken_source_git_yaml_is_a_build_failure_and_nothing_is_pushed() {
    let world = world(WorldOptions::default());
    let local = world.tmp.path().join("broken");
    git(
        world.tmp.path(),
        &[
            "clone",
            "-q",
            "-b",
            "fix",
            &world.gl.authenticated_clone_url(SRC, BOT_TOKEN).unwrap(),
            &local.display().to_string(),
        ],
    );
    let yaml = local.join(".distro/source-git.yaml");
    let text = std::fs::read_to_string(&yaml)
        .unwrap()
        .replace("upstream_ref: v1.0", "upstream_ref: v9.9");
    std::fs::write(&yaml, text).unwrap();
    git(
        &local,
        &["commit", "-q", "-am", "Point at a tag that does not exist"],
    );
    git(&local, &["push", "-q", "origin", "fix:broken"]);
    let mr = world
        .gl
        .create_merge_request(
            fake_gitlab::MrSpec::new(SRC, "broken", SRC, "c10s", "packager").title("Broken"),
        )
        .unwrap();
    let job = world.srcgit_job(&mr);
    let run = run_job(&world, &job);
    let build = run.stage("build_script");
    assert_eq!(build.code, BUILD_FAILURE, "{}", build.stderr);
    assert!(
        build
            .stderr
            .contains("upstream_ref \"v9.9\" does not name a commit in source-git"),
        "{}",
        build.stderr
    );
    assert!(
        build.stderr.contains("v1.0"),
        "names the tags near it: {}",
        build.stderr
    );
    assert_nothing_pushed(&world, mr.iid);
}

#[test]
fn cancel_sets_open_statuses_to_canceled_and_exits_promptly() {
    let slow = fake_gitlab::CiDefinition::new(vec![
        fake_gitlab::CiJob::new("rpmbuild", "build").duration(Duration::from_secs(3600)),
    ]);
    let world = world(WorldOptions {
        ci: slow,
        ..WorldOptions::default()
    });
    let (_mr, job) = world.packager_mr();
    let runner = RunnerJob::new(&world, &job);
    assert!(runner.command(&["prepare"]).status().unwrap().success());
    let mut child = runner.spawn_build_script();
    let sha = job_sha(&world, &job);
    let running = world.gl.wait_until(Duration::from_secs(60), |gl| {
        gl.statuses(SRC, &sha)
            .iter()
            .any(|s| s.name == "dist-git: rpmbuild" && s.status == JobStatus::Running)
    });
    assert!(
        running,
        "the downstream job is mirrored as running: {:?}",
        statuses(&world, SRC, &sha)
    );
    let started = Instant::now();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "exits within seconds: {:?}",
        started.elapsed()
    );
    assert_eq!(status.code(), Some(BUILD_FAILURE));
    let st = statuses(&world, SRC, &sha);
    assert_eq!(st.get("dist-git"), Some(&JobStatus::Canceled), "{st:?}");
    assert_eq!(
        st.get("dist-git: rpmbuild"),
        Some(&JobStatus::Canceled),
        "{st:?}"
    );
    assert!(runner.command(&["cleanup"]).status().unwrap().success());
}

#[test]
fn cleanup_cancels_statuses_a_killed_job_left_running() {
    let slow = fake_gitlab::CiDefinition::new(vec![
        fake_gitlab::CiJob::new("rpmbuild", "build").duration(Duration::from_secs(3600)),
    ]);
    let world = world(WorldOptions {
        ci: slow,
        ..WorldOptions::default()
    });
    let (_mr, job) = world.packager_mr();
    let runner = RunnerJob::new(&world, &job);
    let mut child = runner.spawn_build_script();
    let sha = job_sha(&world, &job);
    assert!(world.gl.wait_until(Duration::from_secs(60), |gl| {
        gl.statuses(SRC, &sha)
            .iter()
            .any(|s| s.name == "dist-git" && s.status == JobStatus::Running)
    }));
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    assert!(runner.command(&["cleanup"]).status().unwrap().success());
    let st = statuses(&world, SRC, &sha);
    assert!(st.values().all(|s| *s == JobStatus::Canceled), "{st:?}");
}

#[test]
fn injected_5xx_and_429_reach_the_same_end_state_without_a_duplicate_mr() {
    let world = world(WorldOptions::default());
    let (mr, job) = world.packager_mr();
    world.gl.inject(
        Rule::new("POST", r"/merge_requests$")
            .internal_error()
            .times(2),
    );
    world.gl.inject(
        Rule::new("GET", r"/pipelines/\d+$")
            .rate_limited(1)
            .times(1),
    );
    world
        .gl
        .inject(Rule::new("POST", r"/statuses/").bad_gateway().times(2));
    world
        .gl
        .inject(Rule::new("POST", r"/statuses/").status_conflict().times(1));
    world.gl.inject(
        Rule::new("GET", r"/merge_requests/\d+/pipelines")
            .internal_error()
            .times(1),
    );
    let run = run_job(&world, &job);
    assert!(run.passed, "{}", run.log);
    assert_eq!(rpms_mrs(&world).len(), 1);
    assert_eq!(world.gl.notes(SRC, mr.iid).len(), 1);
    let st = statuses(&world, SRC, &job_sha(&world, &job));
    assert_eq!(st.get("dist-git"), Some(&JobStatus::Success), "{st:?}");
    assert_no_token(&run);
}

#[test]
fn a_lost_answer_to_the_mr_creation_does_not_open_a_second_mr() {
    // GitLab opens the MR but the answer arrives after the client gave up: the retry gets
    // 409 and srcgit adopts the MR that exists.
    let world = world(WorldOptions {
        request_timeout: 1,
        ..WorldOptions::default()
    });
    let (_mr, job) = world.packager_mr();
    world.gl.inject(
        Rule::new("POST", r"/merge_requests$")
            .delay(Duration::from_millis(1500))
            .pass_through()
            .times(1),
    );
    let run = run_job(&world, &job);
    assert!(run.passed, "{}", run.log);
    assert_eq!(rpms_mrs(&world).len(), 1);
}

#[test]
fn persistent_server_errors_are_a_system_failure() {
    let world = world(WorldOptions::default());
    let (_mr, job) = world.packager_mr();
    world.gl.inject(
        Rule::new("GET", r"/merge_requests/\d+$")
            .bad_gateway()
            .always(),
    );
    let run = run_job(&world, &job);
    assert!(!run.passed);
    let prepares: Vec<_> = run.stages.iter().filter(|s| s.stage == "prepare").collect();
    assert_eq!(
        prepares.len(),
        3,
        "the runner retries prepare on system failures"
    );
    assert!(prepares.iter().all(|p| p.code == SYSTEM_FAILURE));
    assert!(
        prepares[0].stderr.contains("system failure"),
        "{}",
        prepares[0].stderr
    );
    assert!(rpms_mrs(&world).is_empty());
}

/// A contributor forks the source-git project, adds a commit to the fork's `fix` and
/// opens an MR from it. The head exists in the target project only under
/// `refs/merge-requests/<iid>/head`: no branch of the target holds it.
fn contributor_fork_mr(world: &World) -> (fake_gitlab::Project, fake_gitlab::MergeRequest) {
    let fork = world.gl.fork_project(SRC, "contributor", None).unwrap();
    let local = world.tmp.path().join("contribution");
    git(
        world.tmp.path(),
        &[
            "clone",
            "-q",
            "-b",
            "fix",
            &world
                .gl
                .authenticated_clone_url(&fork.path_with_namespace, CONTRIB_TOKEN)
                .unwrap(),
            &local.display().to_string(),
        ],
    );
    std::fs::write(
        local.join("README.md"),
        "# hello\n\nPrints a greeting, kindly.\n",
    )
    .unwrap();
    git(&local, &["commit", "-q", "-am", "Reword the README"]);
    git(&local, &["push", "-q", "origin", "fix"]);
    let mr = world
        .gl
        .create_merge_request(
            fake_gitlab::MrSpec::new(&fork.path_with_namespace, "fix", SRC, "c10s", "contributor")
                .title("A contribution"),
        )
        .unwrap();
    (fork, mr)
}

#[test]
fn a_fork_mr_whose_pipeline_runs_in_the_fork_gets_its_statuses_on_the_target() {
    let world = world(WorldOptions::default());
    let (fork, mr) = contributor_fork_mr(&world);
    let job = world
        .gl
        .create_srcgit_pipeline(
            &mr,
            fake_gitlab::SrcgitJob {
                name: JOB_NAME.into(),
                location: fake_gitlab::PipelineLocation::Source,
                user: Some("contributor".into()),
                script: vec![format!("touch {}", world.marker().display())],
                ..fake_gitlab::SrcgitJob::default()
            },
        )
        .unwrap();
    assert_eq!(
        job.project_id, fork.id,
        "GitLab runs fork MR pipelines in the fork"
    );
    let run = run_job(&world, &job);
    assert!(run.passed, "{}", run.log);
    assert!(!world.marker().exists());
    assert_eq!(rpms_mrs(&world).len(), 1);
    // the bot may not post in the contributor's fork: the statuses go onto the MR head in
    // the target project, and the job log says so
    let sha = job_sha(&world, &job);
    let target_repo = world.gl.repo_path(SRC).unwrap();
    assert_eq!(
        git(&target_repo, &["branch", "--contains", &sha]),
        "",
        "no branch of the target holds the head: the status needs the MR ref"
    );
    let mr_ref = format!("refs/merge-requests/{}/head", mr.iid);
    let on_target = world.gl.statuses(SRC, &sha);
    assert!(
        !on_target.is_empty() && on_target.iter().all(|s| s.ref_name == mr_ref),
        "{on_target:?}"
    );
    assert!(statuses(&world, &fork.path_with_namespace, &sha).is_empty());
    let st = statuses(&world, SRC, &sha);
    assert_eq!(st.get("dist-git"), Some(&JobStatus::Success), "{st:?}");
    assert_eq!(
        st.get("dist-git: rpmbuild"),
        Some(&JobStatus::Success),
        "{st:?}"
    );
    assert!(
        run.log
            .contains("posting them on the merge request head in project"),
        "{}",
        run.log
    );
    assert_no_token(&run);
}

#[test]
fn a_fork_mr_pipeline_run_in_the_parent_gets_its_statuses_on_its_pipeline() {
    let world = world(WorldOptions::default());
    let (_fork, mr) = contributor_fork_mr(&world);
    // a packager runs the MR pipeline in the parent project ("Run pipeline")
    let job = world
        .gl
        .create_srcgit_pipeline(
            &mr,
            fake_gitlab::SrcgitJob {
                name: JOB_NAME.into(),
                location: fake_gitlab::PipelineLocation::Target,
                user: Some("packager".into()),
                ..fake_gitlab::SrcgitJob::default()
            },
        )
        .unwrap();
    let run = run_job(&world, &job);
    assert!(run.passed, "{}", run.log);
    let sha = job_sha(&world, &job);
    let attached = world.gl.statuses(SRC, &sha);
    assert!(!attached.is_empty() && attached.iter().all(|s| s.pipeline_id == job.pipeline_id));
}

/// The bot's comments on the source MR that link the rpms MR.
fn srcgit_notes(world: &World, iid: u64) -> Vec<fake_gitlab::Note> {
    world
        .gl
        .notes(SRC, iid)
        .into_iter()
        .filter(|n| n.body.starts_with("srcgit opened"))
        .collect()
}

fn assert_one_of_each(world: &World, mr: &fake_gitlab::MergeRequest) {
    assert_eq!(world.gl.forks(RPMS).len(), 1, "one fork");
    assert_eq!(rpms_mrs(world).len(), 1, "one rpms MR");
    assert_eq!(srcgit_notes(world, mr.iid).len(), 1, "one comment");
}

fn assert_mirrored(world: &World, job: &SeededJob) {
    // the statuses on the job's own pipeline
    let st: BTreeMap<String, JobStatus> = world
        .gl
        .statuses(SRC, &job_sha(world, job))
        .into_iter()
        .filter(|s| !s.retried && s.pipeline_id == job.pipeline_id)
        .map(|s| (s.name, s.status))
        .collect();
    for name in ["dist-git", "dist-git: rpmbuild", "dist-git: rpminspect"] {
        assert_eq!(st.get(name), Some(&JobStatus::Success), "{name}: {st:?}");
    }
}

#[test]
fn a_lost_answer_on_each_create_call_still_gives_one_fork_one_mr_one_comment() {
    let world = world(WorldOptions::default());
    let (mr, job) = world.packager_mr();
    let rules = [
        world.gl.inject(Rule::new("POST", r"/fork$").lost_answer()),
        world
            .gl
            .inject(Rule::new("POST", r"/merge_requests$").lost_answer()),
        world.gl.inject(Rule::new("POST", r"/notes$").lost_answer()),
        world
            .gl
            .inject(Rule::new("POST", r"/statuses/").lost_answer().times(3)),
    ];
    let run = run_job(&world, &job);
    assert!(run.passed, "{}", run.log);
    for rule in rules {
        assert!(world.gl.rule_hits(rule) > 0, "every lost answer happened");
    }
    assert_one_of_each(&world, &mr);
    assert_mirrored(&world, &job);
    assert_no_token(&run);

    // a rerun asks for a new MR pipeline, and that answer is lost too
    let pipelines_before = world.gl.pipelines(RPMS).len();
    let rerun = world.srcgit_job(&mr);
    let lost = world
        .gl
        .inject(Rule::new("POST", r"/merge_requests/\d+/pipelines$").lost_answer());
    let run = run_job(&world, &rerun);
    assert!(run.passed, "{}", run.log);
    assert_eq!(world.gl.rule_hits(lost), 1);
    assert_eq!(
        world.gl.pipelines(RPMS).len(),
        pipelines_before + 1,
        "one new downstream pipeline, not two"
    );
    assert_eq!(
        world
            .gl
            .requests_matching("POST", r"/merge_requests/\d+/pipelines$")
            .len(),
        1,
        "the pipeline request was not repeated: the lost answer's pipeline was adopted"
    );
    assert_one_of_each(&world, &mr);
    assert_mirrored(&world, &rerun);
}

/// What a run leaves in GitLab, comparable between two worlds.
fn end_state(world: &World, mr: &fake_gitlab::MergeRequest, job: &SeededJob) -> String {
    let rpms: Vec<_> = rpms_mrs(world)
        .into_iter()
        .map(|m| {
            (
                m.iid,
                m.state,
                m.title,
                m.source_branch.clone(),
                m.description,
                world.gl.branch_head(FORK, &m.source_branch).map(|head| {
                    git(
                        &world.gl.repo_path(FORK).unwrap(),
                        &["rev-parse", &format!("{head}^{{tree}}")],
                    )
                }),
            )
        })
        .collect();
    let notes: Vec<String> = srcgit_notes(world, mr.iid)
        .into_iter()
        .map(|n| n.body)
        .collect();
    let text = format!(
        "forks {}\nrpms MRs {rpms:?}\nnotes {notes:?}\nstatuses {:?}",
        world.gl.forks(RPMS).len(),
        statuses(world, SRC, &job_sha(world, job))
    );
    text.replace(world.gl.url(), "GITLAB")
}

#[test]
fn twenty_percent_random_faults_of_every_kind_reach_the_clean_end_state() {
    let opts = || WorldOptions {
        max_retries: 9,
        ..WorldOptions::default()
    };
    let clean = world(opts());
    let (clean_mr, clean_job) = clean.packager_mr();
    assert!(run_job(&clean, &clean_job).passed);
    let expected = end_state(&clean, &clean_mr, &clean_job);
    drop(clean);

    let first_seed: u64 = std::env::var("SRCGIT_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_260_101);
    let api = "^/api/v4/";
    let (mut faults, mut lost, mut requests) = (0, 0, 0);
    // each run is short (~40 API requests): three seeds, so that every kind of fault
    // happens; each run on its own must reach the clean end state
    for seed in [first_seed, first_seed + 1000, first_seed + 2000] {
        let world = world(opts());
        let (mr, job) = world.packager_mr();
        let rules = [
            // GitLab did it, the answer was lost
            Rule::new("POST", api).lost_answer().probability(0.2, seed),
            Rule::new("PUT", api)
                .lost_answer()
                .probability(0.2, seed + 1),
            // GitLab did not do it
            Rule::new("*", api)
                .internal_error()
                .probability(0.07, seed + 2),
            Rule::new("*", api)
                .bad_gateway()
                .probability(0.07, seed + 3),
            Rule::new("*", api)
                .rate_limited(1)
                .probability(0.07, seed + 4),
            Rule::new("POST", "/statuses/")
                .status_conflict()
                .probability(0.1, seed + 5),
        ]
        .map(|rule| world.gl.inject(rule.always()));
        let run = run_job(&world, &job);
        let hits: Vec<usize> = rules.iter().map(|r| world.gl.rule_hits(*r)).collect();
        let api_requests = world.gl.requests_matching("*", api).len();
        eprintln!("seed {seed}: faults per rule {hits:?} in {api_requests} API requests");
        assert!(run.passed, "seed {seed}:\n{}", run.log);
        assert_eq!(end_state(&world, &mr, &job), expected, "seed {seed}");
        assert_no_token(&run);
        faults += hits.iter().sum::<usize>();
        lost += hits[0] + hits[1];
        requests += api_requests;
    }
    eprintln!("{faults} faults ({lost} lost answers) in {requests} API requests");
    assert!(lost > 0, "some answers were lost after the work was done");
    assert!(
        faults * 100 >= requests * 12,
        "about a fifth of the requests failed: {faults}/{requests}"
    );
}

#[test]
fn when_the_bot_may_post_statuses_nowhere_the_job_says_so_once_and_still_fails_on_a_red_pipeline() {
    let world = world(WorldOptions {
        ci: failing_ci(),
        ..WorldOptions::default()
    });
    let (_fork, mr) = contributor_fork_mr(&world);
    let job = world
        .gl
        .create_srcgit_pipeline(
            &mr,
            fake_gitlab::SrcgitJob {
                name: JOB_NAME.into(),
                location: fake_gitlab::PipelineLocation::Source,
                user: Some("contributor".into()),
                ..fake_gitlab::SrcgitJob::default()
            },
        )
        .unwrap();
    // in the fork the bot is a stranger; in the target it has lost the right to post
    world.gl.inject(
        Rule::new(
            "POST",
            &format!(
                "/projects/({}|{})/statuses/",
                world.gl.project(SRC).unwrap().id,
                regex_escape(SRC)
            ),
        )
        .reply_json(403, &serde_json::json!({"message": "403 Forbidden"}))
        .always(),
    );
    let run = run_job(&world, &job);
    assert!(!run.passed);
    let build = run.stage("build_script");
    assert_eq!(build.code, BUILD_FAILURE, "{}", build.stderr);
    assert!(
        build.stderr.contains("the dist-git pipeline failed: tests"),
        "{}",
        build.stderr
    );
    assert_eq!(
        run.log
            .matches("GitLab lets the bot post commit statuses in neither")
            .count(),
        1,
        "{}",
        run.log
    );
    assert!(
        build.stdout.contains("rpmbuild") && build.stdout.contains("FAIL: greeting lacks a comma"),
        "the pipeline was still followed to the end: {}",
        build.stdout
    );
    assert!(world.gl.statuses(SRC, &job_sha(&world, &job)).is_empty());
    assert_eq!(rpms_mrs(&world).len(), 1);
    assert!(
        !run.cleanup.stdout.contains("cannot cancel")
            && !run.cleanup.stderr.contains("cannot cancel"),
        "cleanup has nothing left to cancel"
    );
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

#[test]
fn two_concurrent_jobs_for_one_mr_on_one_host_both_succeed_with_one_mr() {
    let world = world(WorldOptions::default());
    let (mr, first) = world.packager_mr();
    let second = world.srcgit_job(&mr);
    // a slow push keeps the first job inside its lease while the second arrives
    world.gl.inject(
        Rule::new("POST", r"git-receive-pack$")
            .delay(Duration::from_millis(1500))
            .pass_through(),
    );
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| run_job(&world, &first));
        std::thread::sleep(Duration::from_millis(50));
        let b = s.spawn(|| run_job(&world, &second));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(a.passed, "{}", a.log);
    assert!(b.passed, "{}", b.log);
    let waited = [&a, &b]
        .iter()
        .filter(|r| {
            r.log
                .contains("is converting this merge request on this host; waiting")
        })
        .count();
    assert_eq!(
        waited, 1,
        "one job waited for the other's lease:\n{}\n---\n{}",
        a.log, b.log
    );
    assert_eq!(
        world
            .gl
            .requests_matching("POST", r"git-receive-pack$")
            .len(),
        1,
        "one push"
    );
    assert_one_of_each(&world, &mr);
    assert_mirrored(&world, &first);
    assert_mirrored(&world, &second);
}

#[test]
fn two_jobs_for_the_same_head_on_two_hosts_both_succeed_with_one_mr_and_one_comment() {
    let world = world(WorldOptions::default());
    let (mr, first) = world.packager_mr();
    let second = world.srcgit_job(&mr);
    let host2 = world.second_host();
    // both hosts convert and read the (absent) fork branch before either push lands
    world.gl.inject(
        Rule::new("POST", r"git-receive-pack$")
            .delay(Duration::from_millis(2000))
            .pass_through()
            .times(2),
    );
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| run_job(&world, &first));
        let b = s.spawn(|| run_job_with(&world, &second, &host2));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(a.passed, "{}", a.log);
    assert!(b.passed, "{}", b.log);
    let twin = [&a, &b]
        .iter()
        .filter(|r| {
            r.log
                .contains("another job pushed a conversion of the same source-git commit")
        })
        .count();
    assert_eq!(
        twin, 1,
        "the second push was refused and the twin's commit used:\n{}\n---\n{}",
        a.log, b.log
    );
    assert_one_of_each(&world, &mr);
    assert_mirrored(&world, &first);
    assert_mirrored(&world, &second);
}

#[test]
fn a_job_for_an_older_sha_after_the_newer_one_pushed_is_superseded() {
    let world = world(WorldOptions::default());
    let (mr, old_job) = world.packager_mr();
    let moved = world.push_to_source_branch(&mr);
    let new_job = world.srcgit_job(&moved);
    assert!(run_job(&world, &new_job).passed);
    let rpms_mr = rpms_mrs(&world).remove(0);
    let branch_head = world.gl.branch_head(FORK, &rpms_mr.source_branch).unwrap();
    let pushes = world
        .gl
        .requests_matching("POST", r"git-receive-pack$")
        .len();
    let rpms_pipelines = world.gl.pipelines(RPMS).len();
    let writes_before = world.gl.requests_matching("(POST|PUT)", r"^/api/v4/").len();

    let run = run_job(&world, &old_job);
    assert!(!run.passed);
    let build = run.stage("build_script");
    assert_eq!(build.code, BUILD_FAILURE, "{}", build.stderr);
    assert_eq!(
        build
            .stderr
            .matches(&format!("superseded by {}", moved.sha))
            .count(),
        1,
        "{}",
        build.stderr
    );
    assert_eq!(
        world.gl.branch_head(FORK, &rpms_mr.source_branch).unwrap(),
        branch_head,
        "no push"
    );
    assert_eq!(
        world
            .gl
            .requests_matching("POST", r"git-receive-pack$")
            .len(),
        pushes
    );
    assert_eq!(
        format!("{:?}", rpms_mrs(&world)),
        format!("{:?}", vec![rpms_mr]),
        "the rpms MR is untouched"
    );
    assert_eq!(
        world.gl.pipelines(RPMS).len(),
        rpms_pipelines,
        "no downstream pipeline"
    );
    let writes: Vec<_> = world.gl.requests_matching("(POST|PUT)", r"^/api/v4/")[writes_before..]
        .iter()
        .filter(|r| !r.path.contains("/statuses/"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        writes.is_empty(),
        "no GitLab write but the job's own canceled statuses: {writes:?}"
    );
}

#[test]
fn a_kill_9_after_the_push_then_a_rerun_converges() {
    let slow = fake_gitlab::CiDefinition::new(vec![
        fake_gitlab::CiJob::new("rpmbuild", "build").duration(Duration::from_secs(60)),
    ]);
    // kill points: the push landed; the comment is posted (the MR exists)
    for (point, done) in [
        (
            "after the push",
            Box::new(|w: &World| w.gl.branch_head(FORK, "c10s-src-1").is_some())
                as Box<dyn Fn(&World) -> bool>,
        ),
        (
            "after the comment",
            Box::new(|w: &World| {
                w.gl.notes(SRC, 1)
                    .iter()
                    .any(|n| n.body.starts_with("srcgit opened"))
            }),
        ),
    ] {
        let world = world(WorldOptions {
            ci: slow.clone(),
            ..WorldOptions::default()
        });
        let (mr, job) = world.packager_mr();
        assert_eq!(mr.iid, 1);
        let runner = RunnerJob::new(&world, &job);
        let mut child = runner.spawn_build_script();
        assert!(
            world
                .gl
                .wait_until(Duration::from_secs(60), |_| done(&world)),
            "{point}: never got there"
        );
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert!(runner.command(&["cleanup"]).status().unwrap().success());
        world
            .gl
            .set_job_status(job.job_id, JobStatus::Failed)
            .unwrap();

        let rerun = world.srcgit_job(&mr);
        let run = run_job(&world, &rerun);
        assert!(run.passed, "{point}: {}", run.log);
        assert_eq!(rpms_mrs(&world).len(), 1, "{point}: one rpms MR");
        assert_eq!(
            srcgit_notes(&world, mr.iid).len(),
            1,
            "{point}: one comment"
        );
        let st = statuses(&world, SRC, &job_sha(&world, &rerun));
        assert_eq!(
            st.get("dist-git"),
            Some(&JobStatus::Success),
            "{point}: {st:?}"
        );
    }
}
