//! `srcgit reconcile`, `srcgit history` and `srcgit pairs` against the fake GitLab: every
//! row of the sweep's decision table, dry runs, repeated sweeps, an empty database, and
//! statuses a dead job left open.

mod common;

use std::process::Command;
use std::time::Duration;

use common::executor::*;
use fake_gitlab::{JobStatus, MrState};

struct Sweep {
    code: i32,
    stdout: String,
    stderr: String,
}

fn srcgit(world: &World, args: &[&str]) -> Sweep {
    let out = Command::new(env!("CARGO_BIN_EXE_srcgit"))
        .env("SRCGIT_CONFIG", &world.settings)
        .env_remove("RUST_LOG")
        .args(args)
        .output()
        .expect("srcgit runs");
    let sweep = Sweep {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !sweep.stdout.contains(BOT_TOKEN) && !sweep.stderr.contains(BOT_TOKEN),
        "token printed"
    );
    sweep
}

fn reconcile(world: &World, dry_run: bool) -> Sweep {
    let args: &[&str] = if dry_run {
        &["reconcile", "--dry-run"]
    } else {
        &["reconcile"]
    };
    srcgit(world, args)
}

/// Write requests the fake received after `from` (its request sequence number).
fn writes_since(world: &World, from: u64) -> Vec<String> {
    world
        .gl
        .requests()
        .into_iter()
        .filter(|r| r.seq >= from && r.path.starts_with("/api/v4"))
        .filter(|r| !matches!(r.method.as_str(), "GET" | "HEAD"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

fn rpms_mr(world: &World, iid: u64) -> fake_gitlab::MergeRequest {
    world.gl.merge_request(RPMS, iid).expect("rpms MR")
}

#[test]
fn a_closed_source_mr_closes_the_rpms_mr_and_a_reopen_reopens_it() {
    let (world, mr, rpms) = paired_world(WorldOptions::default());
    world
        .gl
        .close_merge_request(SRC, mr.iid, "packager")
        .unwrap();

    let dry = reconcile(&world, true);
    assert_eq!(dry.code, 0, "{}{}", dry.stdout, dry.stderr);
    let line = format!(
        "{SRC}!{} ↔ {RPMS}!{}: would close the dist-git MR (the source-git MR was closed)",
        mr.iid, rpms.iid
    );
    assert!(dry.stdout.contains(&line), "{}", dry.stdout);
    assert_eq!(rpms_mr(&world, rpms.iid).state, MrState::Opened);

    let first = reconcile(&world, false);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    assert!(
        first
            .stdout
            .contains(&line.replace("would close", "closed")),
        "{}",
        first.stdout
    );
    let closed = rpms_mr(&world, rpms.iid);
    assert_eq!(closed.state, MrState::Closed);
    let notes = comments(&world, RPMS, rpms.iid);
    assert_eq!(
        notes
            .iter()
            .filter(|b| b.contains("reconcile=source-closed"))
            .count(),
        1,
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|b| b.contains(&format!("{SRC}/-/merge_requests/{}", mr.iid)))
    );

    let from = next_seq(&world);
    let second = reconcile(&world, false);
    assert_eq!(second.code, 0);
    assert_eq!(
        writes_since(&world, from),
        Vec::<String>::new(),
        "{}",
        second.stdout
    );
    assert!(!second.stdout.contains('↔'), "{}", second.stdout);
    // once every change was seen, a sweep reads only the lists: the user, the bot's MRs,
    // and the MRs changed in each mapped group
    let from = next_seq(&world);
    let quiet = reconcile(&world, false);
    let requests: Vec<String> = world
        .gl
        .requests()
        .into_iter()
        .filter(|r| r.seq >= from && r.path.starts_with("/api/v4"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    // (plus the way back's list of recently active rpms projects and their branches)
    assert!(
        requests.iter().all(|r| r.starts_with("GET ")
            && !regex::Regex::new(r"/merge_requests/\d+")
                .unwrap()
                .is_match(r)),
        "{requests:#?}"
    );
    let mr_lists = requests
        .iter()
        .filter(|r| r.ends_with("/merge_requests"))
        .count();
    assert_eq!(mr_lists, 3, "{requests:#?}");
    assert!(quiet.stdout.contains("0 changed"), "{}", quiet.stdout);

    world
        .gl
        .reopen_merge_request(SRC, mr.iid, "packager")
        .unwrap();
    let third = reconcile(&world, false);
    assert!(
        third
            .stdout
            .contains("reopened the dist-git MR (the source-git MR was reopened)"),
        "{}",
        third.stdout
    );
    assert_eq!(rpms_mr(&world, rpms.iid).state, MrState::Opened);
    let from = next_seq(&world);
    reconcile(&world, false);
    assert_eq!(writes_since(&world, from), Vec::<String>::new());

    let history = srcgit(&world, &["history", &format!("{SRC}!{}", mr.iid)]);
    assert_eq!(history.code, 0, "{}", history.stderr);
    assert!(history.stdout.contains("sync   job"), "{}", history.stdout);
    assert!(
        history
            .stdout
            .contains("closed the dist-git MR (the source-git MR was closed) [done]"),
        "{}",
        history.stdout
    );
    assert!(
        history.stdout.contains("reopened the dist-git MR"),
        "{}",
        history.stdout
    );
    let pairs = srcgit(&world, &["pairs", "--state", "all"]);
    assert!(
        pairs.stdout.contains(&format!("{RPMS}!{}", rpms.iid)),
        "{}",
        pairs.stdout
    );
    assert!(pairs.stdout.contains("passed"), "{}", pairs.stdout);
}

#[test]
fn a_dry_run_makes_no_write_request() {
    let (world, mr, _rpms) = paired_world(WorldOptions::default());
    world
        .gl
        .close_merge_request(SRC, mr.iid, "packager")
        .unwrap();
    let from = next_seq(&world);
    let dry = reconcile(&world, true);
    assert_eq!(dry.code, 0);
    assert!(dry.stdout.contains("would close"), "{}", dry.stdout);
    assert!(dry.stdout.contains("dry run"), "{}", dry.stdout);
    assert_eq!(writes_since(&world, from), Vec::<String>::new());
}

#[test]
fn an_empty_database_finds_the_pairs_through_the_bots_mrs() {
    let (world, mr, rpms) = paired_world(WorldOptions::default());
    std::fs::remove_dir_all(world.database.parent().unwrap()).unwrap();
    world
        .gl
        .close_merge_request(SRC, mr.iid, "packager")
        .unwrap();
    let sweep = reconcile(&world, false);
    assert_eq!(sweep.code, 0, "{}{}", sweep.stdout, sweep.stderr);
    assert!(
        sweep.stdout.contains("closed the dist-git MR"),
        "{}",
        sweep.stdout
    );
    assert_eq!(rpms_mr(&world, rpms.iid).state, MrState::Closed);
    let from = next_seq(&world);
    reconcile(&world, false);
    assert_eq!(writes_since(&world, from), Vec::<String>::new());
}

#[test]
fn a_maintainers_close_is_reported_once_on_the_source_mr_and_never_undone() {
    let (world, mr, rpms) = paired_world(WorldOptions::default());
    world
        .gl
        .close_merge_request(RPMS, rpms.iid, "packager")
        .unwrap();
    let sweep = reconcile(&world, false);
    assert!(
        sweep
            .stdout
            .contains("told the source-git MR that @packager closed the dist-git MR"),
        "{}",
        sweep.stdout
    );
    let notes = comments(&world, SRC, mr.iid);
    let told: Vec<_> = notes
        .iter()
        .filter(|b| b.contains("reconcile=rpms-closed"))
        .collect();
    assert_eq!(told.len(), 1, "{notes:?}");
    assert!(told[0].contains("@packager") && told[0].contains("srcgit-recreate"));
    assert_eq!(rpms_mr(&world, rpms.iid).state, MrState::Closed);
    let from = next_seq(&world);
    reconcile(&world, false);
    assert_eq!(writes_since(&world, from), Vec::<String>::new());
    assert_eq!(rpms_mr(&world, rpms.iid).state, MrState::Closed);
}

#[test]
fn merges_on_either_side_are_reported_once() {
    let (world, mr, rpms) = paired_world(WorldOptions::default());
    world
        .gl
        .merge_merge_request(SRC, mr.iid, "packager")
        .unwrap();
    let sweep = reconcile(&world, false);
    assert!(
        sweep
            .stdout
            .contains("commented on the dist-git MR (the source-git MR was merged)"),
        "{}",
        sweep.stdout
    );
    assert_eq!(rpms_mr(&world, rpms.iid).state, MrState::Opened);
    assert_eq!(
        comments(&world, RPMS, rpms.iid)
            .iter()
            .filter(|b| b.contains("reconcile=source-merged"))
            .count(),
        1
    );

    let (world, mr, rpms) = paired_world(WorldOptions::default());
    world
        .gl
        .merge_merge_request(RPMS, rpms.iid, "packager")
        .unwrap();
    let sweep = reconcile(&world, false);
    assert!(
        sweep
            .stdout
            .contains("told the source-git MR that the dist-git MR was merged"),
        "{}",
        sweep.stdout
    );
    let from = next_seq(&world);
    reconcile(&world, false);
    assert_eq!(writes_since(&world, from), Vec::<String>::new());
    assert_eq!(
        comments(&world, SRC, mr.iid)
            .iter()
            .filter(|b| b.contains("reconcile=rpms-merged"))
            .count(),
        1
    );
}

#[test]
fn statuses_a_dead_job_left_open_get_the_downstream_result() {
    let slow = fake_gitlab::CiDefinition::new(vec![
        fake_gitlab::CiJob::new("rpmbuild", "build").duration(Duration::from_secs(600)),
    ]);
    let world = world(WorldOptions {
        ci: slow,
        ..WorldOptions::default()
    });
    let (_mr, job) = world.packager_mr();
    let runner = RunnerJob::new(&world, &job);
    let mut child = runner.spawn_build_script();
    let sha = world.gl.pipeline(job.pipeline_id).expect("pipeline").sha;
    assert!(world.gl.wait_until(Duration::from_secs(60), |gl| {
        gl.statuses(SRC, &sha)
            .iter()
            .any(|s| s.name == "dist-git" && s.status == JobStatus::Running)
    }));
    child.kill().unwrap(); // the runner host dies: no cleanup stage
    child.wait().unwrap();
    world
        .gl
        .set_job_status(job.job_id, JobStatus::Failed)
        .unwrap();
    let rpms = world.gl.merge_requests(RPMS).pop().expect("rpms MR");
    let pipeline = world
        .gl
        .head_pipeline(RPMS, rpms.iid)
        .expect("rpms pipeline");
    assert!(world.gl.wait_until(Duration::from_secs(60), |gl| {
        gl.pipeline(pipeline.id)
            .is_some_and(|p| p.status == JobStatus::Success)
    }));
    let sweep = reconcile(&world, false);
    assert_eq!(sweep.code, 0, "{}{}", sweep.stdout, sweep.stderr);
    assert!(
        sweep
            .stdout
            .contains("posted the final dist-git statuses (success)"),
        "{}",
        sweep.stdout
    );
    let st: Vec<_> = world
        .gl
        .statuses(SRC, &sha)
        .into_iter()
        .filter(|s| !s.retried)
        .map(|s| (s.name, s.status))
        .collect();
    assert!(st.iter().all(|(_, s)| *s == JobStatus::Success), "{st:?}");
    let from = next_seq(&world);
    reconcile(&world, false);
    assert_eq!(writes_since(&world, from), Vec::<String>::new());
}

#[test]
fn a_pair_that_failed_is_examined_again_by_the_next_sweep() {
    let (world, mr, rpms) = paired_world(WorldOptions::default());
    // a first sweep records a watermark
    assert_eq!(reconcile(&world, false).code, 0);
    world
        .gl
        .close_merge_request(SRC, mr.iid, "packager")
        .unwrap();
    // GitLab keeps failing on the source MR for the whole next sweep (the client retries)
    let outage = world.gl.inject(
        fake_gitlab::Rule::new("GET", &format!(r"/projects/\d+/merge_requests/{}$", mr.iid))
            .internal_error()
            .always(),
    );
    let failed = reconcile(&world, false);
    assert_eq!(failed.code, 1, "{}{}", failed.stdout, failed.stderr);
    assert!(failed.stdout.contains("1 failure(s)"), "{}", failed.stdout);
    assert_eq!(rpms_mr(&world, rpms.iid).state, MrState::Opened);
    world.gl.remove_rule(outage);
    let next = reconcile(&world, false);
    assert_eq!(next.code, 0, "{}{}", next.stdout, next.stderr);
    assert!(
        next.stdout
            .contains("closed the dist-git MR (the source-git MR was closed)"),
        "{}",
        next.stdout
    );
    assert_eq!(rpms_mr(&world, rpms.iid).state, MrState::Closed);
}
