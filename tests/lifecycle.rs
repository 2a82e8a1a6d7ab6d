//! The MR job across a merge request's life: a maintainer's close is never undone, a
//! merged rpms MR is respected, `SRCGIT_RECREATE=1` replaces the rpms MR, `SRCGIT_RETRY=failed`
//! retries only the failed downstream jobs, and a downstream pipeline that outlives the
//! job is handed over to `srcgit reconcile`.

mod common;

use std::process::Command;
use std::time::Duration;

use common::executor::*;
use fake_gitlab::{JobStatus, MrState};

/// Pushes one more downstream commit to the source MR's branch (as the packager).
fn push_new_commit(world: &World, message: &str) {
    let clone = world.tmp.path().join(format!("push-{}", message.len()));
    let url = world
        .gl
        .authenticated_clone_url(SRC, "glpat-packager-0123456789")
        .unwrap();
    git(
        world.tmp.path(),
        &["clone", "-q", "-b", "fix", &url, clone.to_str().unwrap()],
    );
    std::fs::write(clone.join("NEWS"), format!("{message}\n")).unwrap();
    git(&clone, &["add", "NEWS"]);
    git(
        &clone,
        &[
            "-c",
            "user.name=Packager",
            "-c",
            "user.email=p@example.org",
            "commit",
            "-q",
            "-m",
            message,
        ],
    );
    git(&clone, &["push", "-q", "origin", "fix"]);
}

#[test]
fn a_maintainers_close_fails_the_job_with_one_sentence_and_is_not_undone() {
    let (world, mr, rpms) = paired_world(WorldOptions::default());
    world
        .gl
        .close_merge_request(RPMS, rpms.iid, "packager")
        .unwrap();
    let job = world.srcgit_job(&mr);
    let run = run_job(&world, &job);
    assert!(!run.passed);
    assert_eq!(run.build_exit_code.as_deref(), Some("1"), "{}", run.log);
    assert!(
        run.log
            .contains("was closed by @packager; srcgit does not reopen it")
            && run.log.contains("srcgit-recreate"),
        "{}",
        run.log
    );
    let after = world.gl.merge_request(RPMS, rpms.iid).unwrap();
    assert_eq!(after.state, MrState::Closed);
    assert_eq!(rpms_mrs(&world).len(), 1);
}

#[test]
fn recreate_replaces_the_rpms_mr_and_keeps_the_old_one_in_the_history() {
    let (world, mr, old) = paired_world(WorldOptions::default());
    world
        .gl
        .close_merge_request(RPMS, old.iid, "packager")
        .unwrap();
    let job = world.srcgit_job_with(&mr, &[("SRCGIT_RECREATE", "1")]);
    let run = run_job(&world, &job);
    assert!(run.passed, "{}", run.log);
    let mrs = rpms_mrs(&world);
    assert_eq!(mrs.len(), 2, "{mrs:#?}");
    let new = mrs.iter().find(|m| m.iid != old.iid).unwrap();
    assert_eq!(new.state, MrState::Opened);
    assert_eq!(
        world.gl.merge_request(RPMS, old.iid).unwrap().state,
        MrState::Closed
    );
    assert!(
        comments(&world, RPMS, old.iid)
            .iter()
            .any(|b| b.contains(&format!("Replaced by !{}", new.iid))),
        "{:?}",
        comments(&world, RPMS, old.iid)
    );
    let links: Vec<_> = comments(&world, SRC, mr.iid)
        .into_iter()
        .filter(|b| b.contains(&format!("/-/merge_requests/{}", new.iid)) && b.contains(RPMS))
        .collect();
    assert_eq!(links.len(), 1, "{links:?}");
    // a plain job afterwards keeps the new MR
    let again = run_job(&world, &world.srcgit_job(&mr));
    assert!(again.passed, "{}", again.log);
    assert_eq!(rpms_mrs(&world).len(), 2);
    let history = Command::new(env!("CARGO_BIN_EXE_srcgit"))
        .env("SRCGIT_CONFIG", &world.settings)
        .args(["history", &format!("{SRC}!{}", mr.iid)])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&history.stdout);
    assert!(
        text.contains(&format!(
            "{RPMS}!{}: replaced the dist-git MR by !{}",
            old.iid, new.iid
        )),
        "{text}"
    );
}

#[test]
fn a_merged_rpms_mr_passes_with_nothing_new_and_new_commits_open_a_follow_up() {
    let (world, mr, rpms) = paired_world(WorldOptions::default());
    world
        .gl
        .merge_merge_request(RPMS, rpms.iid, "packager")
        .unwrap();
    let rerun = run_job(&world, &world.srcgit_job(&mr));
    assert!(rerun.passed, "{}", rerun.log);
    assert!(
        rerun
            .log
            .contains("was merged, and this merge request has nothing new since"),
        "{}",
        rerun.log
    );
    assert_eq!(rpms_mrs(&world).len(), 1);

    push_new_commit(&world, "Mention the comma in NEWS");
    let mr = world.gl.merge_request(SRC, mr.iid).unwrap();
    let follow_up = run_job(&world, &world.srcgit_job(&mr));
    assert!(follow_up.passed, "{}", follow_up.log);
    let mrs = rpms_mrs(&world);
    assert_eq!(mrs.len(), 2, "{mrs:#?}");
    assert!(
        mrs.iter()
            .any(|m| m.iid != rpms.iid && m.state == MrState::Opened)
    );
}

#[test]
fn retry_failed_retries_only_the_failed_jobs_of_the_same_pipeline() {
    let world = world(WorldOptions {
        ci: failing_ci(),
        ..WorldOptions::default()
    });
    let (mr, job) = world.packager_mr();
    let first = run_job(&world, &job);
    assert!(!first.passed);
    let rpms = rpms_mrs(&world).pop().unwrap();
    let pipelines_before = world.gl.pipelines(RPMS).len();
    let pipeline = world.gl.head_pipeline(RPMS, rpms.iid).unwrap();
    let jobs_before = world.gl.jobs(pipeline.id);
    let retry = run_job(
        &world,
        &world.srcgit_job_with(&mr, &[("SRCGIT_RETRY", "failed")]),
    );
    assert!(!retry.passed, "the tests job fails again");
    assert!(
        retry
            .log
            .contains("SRCGIT_RETRY=failed: retrying lint, tests"),
        "{}",
        retry.log
    );
    assert_eq!(
        world.gl.pipelines(RPMS).len(),
        pipelines_before,
        "no new pipeline"
    );
    let retries = world
        .gl
        .requests_matching("POST", &format!(r"/pipelines/{}/retry$", pipeline.id));
    assert_eq!(retries.len(), 1);
    let jobs_after = world.gl.jobs(pipeline.id);
    let runs_of =
        |jobs: &[fake_gitlab::Job], name: &str| jobs.iter().filter(|j| j.name == name).count();
    assert_eq!(
        runs_of(&jobs_after, "rpmbuild"),
        runs_of(&jobs_before, "rpmbuild"),
        "passed jobs are not rerun"
    );
    assert!(runs_of(&jobs_after, "tests") > runs_of(&jobs_before, "tests"));
}

#[test]
fn a_pipeline_that_outlives_the_job_is_handed_over_to_reconcile() {
    let slow = fake_gitlab::CiDefinition::new(vec![
        fake_gitlab::CiJob::new("rpmbuild", "build").duration(Duration::from_secs(300)),
    ]);
    let world = world(WorldOptions {
        ci: slow,
        poll_timeout: 1.0,
        poll_interval: 0.2,
        ..WorldOptions::default()
    });
    let (_mr, job) = world.packager_mr();
    let run = run_job(&world, &job);
    assert!(!run.passed);
    assert_eq!(run.build_exit_code.as_deref(), Some("75"), "{}", run.log);
    assert!(
        run.log.contains("srcgit reconcile posts the result"),
        "{}",
        run.log
    );
    let sha = world.gl.pipeline(job.pipeline_id).unwrap().sha;
    let open: Vec<_> = world
        .gl
        .statuses(SRC, &sha)
        .into_iter()
        .filter(|s| !s.retried)
        .collect();
    assert!(
        open.iter()
            .any(|s| s.name == "dist-git" && s.status == JobStatus::Running),
        "cleanup must not cancel handed-over statuses: {open:?}"
    );
    let rpms = rpms_mrs(&world).pop().unwrap();
    let pipeline = world.gl.head_pipeline(RPMS, rpms.iid).unwrap();
    assert!(world.gl.wait_until(Duration::from_secs(60), |gl| {
        gl.pipeline(pipeline.id)
            .is_some_and(|p| p.status == JobStatus::Success)
    }));
    let sweep = Command::new(env!("CARGO_BIN_EXE_srcgit"))
        .env("SRCGIT_CONFIG", &world.settings)
        .arg("reconcile")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&sweep.stdout);
    assert!(sweep.status.success(), "{text}");
    assert!(
        text.contains("posted the final dist-git statuses (success)"),
        "{text}"
    );
    let done: Vec<_> = world
        .gl
        .statuses(SRC, &sha)
        .into_iter()
        .filter(|s| !s.retried)
        .map(|s| (s.name, s.status))
        .collect();
    assert!(
        done.iter().all(|(_, s)| *s == JobStatus::Success),
        "{done:?}"
    );
}

#[test]
fn the_job_log_folds_the_details_and_the_operator_log_has_the_fields() {
    let world = world(WorldOptions::default());
    let operator_log = world.tmp.path().join("operator.jsonl");
    let settings = std::fs::read_to_string(&world.settings).unwrap();
    std::fs::write(
        &world.settings,
        format!("log_file = \"{}\"\n{settings}", operator_log.display()),
    )
    .unwrap();
    let (_mr, job) = world.packager_mr();
    let run = run_job(&world, &job);
    assert!(run.passed, "{}", run.log);
    assert!(
        run.log.contains(":srcgit_convert[collapsed=true]") && run.log.contains("section_end:"),
        "{}",
        run.log
    );
    assert!(
        run.log.contains("srcgit: dist-git merge request: http"),
        "{}",
        run.log
    );
    assert!(
        !run.log.contains("\"fields\""),
        "operator diagnostics leaked into the job log"
    );
    let lines = std::fs::read_to_string(&operator_log).unwrap();
    let events: Vec<serde_json::Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .collect();
    let ready = events
        .iter()
        .find(|e| e["fields"]["message"] == "rpms merge request ready")
        .unwrap_or_else(|| panic!("{lines}"));
    let span = &ready["span"];
    assert_eq!(span["job.id"], job.job_id.to_string(), "{ready}");
    assert_eq!(span["sg.mr"], format!("{SRC}!1"), "{ready}");
    assert_eq!(span["dg.mr"], format!("{RPMS}!1"), "{ready}");
    assert!(
        events.iter().any(|e| e["fields"]["request.id"]
            .as_str()
            .is_some_and(|id| id.starts_with("01FAKE"))),
        "no GitLab request id in {lines}"
    );
    assert!(!lines.contains(BOT_TOKEN));
}
