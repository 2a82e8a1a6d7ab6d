//! dist-git → source-git, automatically: `srcgit reconcile` and the push-pipeline job of
//! an rpms project open one "Sync from dist-git" MR in the source-git project, update it
//! when dist-git moves on, write nothing when nothing changed (also with an empty
//! database), never send srcgit's own merged rpms MRs back, and list what they cannot
//! carry.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::executor::*;
use fake_gitlab::{MrState, ProjectSpec, SrcgitJob};

const PACKAGER_TOKEN: &str = "glpat-packager-0123456789";
const SYNC_BRANCH: &str = "c10s-from-dist-git";
const TITLE: &str = "Sync from dist-git";

struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

fn reconcile(world: &World) -> Ran {
    let out = Command::new(env!("CARGO_BIN_EXE_srcgit"))
        .env("SRCGIT_CONFIG", &world.settings)
        .env_remove("RUST_LOG")
        .args(["reconcile"])
        .output()
        .expect("srcgit runs");
    let ran = Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !ran.stdout.contains(BOT_TOKEN) && !ran.stderr.contains(BOT_TOKEN),
        "token printed"
    );
    ran
}

fn reconciled(world: &World) -> String {
    let ran = reconcile(world);
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    ran.stdout
}

/// A packager commits to dist-git branch `c10s` (author Ann Example) and pushes it;
/// returns the new commit.
fn dist_git_commit(world: &World, message: &str, edit: impl FnOnce(&std::path::Path)) -> String {
    let dir = world
        .tmp
        .path()
        .join(format!("packager-{}", next_seq(world)));
    git(
        world.tmp.path(),
        &[
            "clone",
            "-q",
            "-b",
            "c10s",
            &world
                .gl
                .authenticated_clone_url(RPMS, PACKAGER_TOKEN)
                .unwrap(),
            &dir.display().to_string(),
        ],
    );
    edit(&dir);
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "-m", message]);
    git(&dir, &["push", "-q", "origin", "c10s"]);
    git(&dir, &["rev-parse", "HEAD"])
}

fn bump_release(dir: &std::path::Path, to: u32) {
    let spec = dir.join("hello.spec");
    let text = std::fs::read_to_string(&spec).unwrap();
    let from = text
        .lines()
        .find(|l| l.starts_with("Release:"))
        .unwrap()
        .to_string();
    let to = format!("Release:        {to}%{{?dist}}");
    std::fs::write(&spec, text.replace(&from, &to)).unwrap();
}

/// API writes and git pushes the fake received from request `from` on.
fn writes_since(world: &World, from: u64) -> Vec<String> {
    world
        .gl
        .requests()
        .into_iter()
        .filter(|r| r.seq >= from)
        .filter(|r| {
            (r.path.starts_with("/api/v4") && !matches!(r.method.as_str(), "GET" | "HEAD"))
                || r.path.ends_with("git-receive-pack")
        })
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// git fetches (upload-pack requests) from request `from` on.
fn fetches_since(world: &World, from: u64) -> usize {
    world
        .gl
        .requests()
        .iter()
        .filter(|r| r.seq >= from && r.path.ends_with("git-upload-pack"))
        .count()
}

fn sync_mrs(world: &World) -> Vec<fake_gitlab::MergeRequest> {
    world
        .gl
        .merge_requests(SRC)
        .into_iter()
        .filter(|m| m.title == TITLE)
        .collect()
}

/// `git <args>` in the source-git project's repository on the fake.
fn in_source_git(world: &World, args: &[&str]) -> String {
    let repo: PathBuf = world.gl.repo_path(SRC).unwrap();
    git(&repo, args)
}

#[test]
fn a_release_bump_in_dist_git_opens_one_sync_mr_and_a_repeat_writes_nothing() {
    let world = world(WorldOptions::default());
    let bump = dist_git_commit(
        &world,
        "Bump release\n\nRebuild for the new toolchain.",
        |d| bump_release(d, 2),
    );

    let out = reconciled(&world);
    let mrs = sync_mrs(&world);
    assert_eq!(mrs.len(), 1, "{out}");
    let mr = &mrs[0];
    assert_eq!(
        (
            mr.source_branch.as_str(),
            mr.target_branch.as_str(),
            mr.state
        ),
        (SYNC_BRANCH, "c10s", MrState::Opened)
    );
    let description = mr.description.clone().unwrap_or_default();
    assert!(
        description.contains(&format!("[`{}`]", &bump[..8])),
        "{description}"
    );
    assert!(
        description.contains("Bump release (Ann Example)"),
        "{description}"
    );
    assert!(
        description.contains(&format!("/-/commit/{bump}")),
        "{description}"
    );
    assert!(
        description.contains(&format!("<!-- srcgit: dist-git={RPMS}@c10s -->")),
        "{description}"
    );
    assert!(!description.contains("Not carried"), "{description}");
    // the branch: one commit on top of c10s, with the dist-git author and the trailer
    let target = world.gl.branch_head(SRC, "c10s").unwrap();
    let head = world.gl.branch_head(SRC, SYNC_BRANCH).unwrap();
    assert_eq!(
        in_source_git(&world, &["rev-parse", &format!("{head}~1")]),
        target
    );
    assert_eq!(
        in_source_git(&world, &["log", "-1", "--format=%an <%ae>", &head]),
        "Ann Example <ann@example.org>"
    );
    let message = in_source_git(&world, &["log", "-1", "--format=%B", &head]);
    assert!(
        message.starts_with("Bump release\n\nRebuild for the new toolchain."),
        "{message}"
    );
    assert!(
        message.contains(&format!("From-dist-git-commit: {bump}")),
        "{message}"
    );
    let spec = in_source_git(&world, &["show", &format!("{head}:.distro/hello.spec")]);
    assert!(spec.contains("Release:        2%{?dist}\n"), "{spec}");
    assert_eq!(
        in_source_git(&world, &["diff", "--name-only", &target, &head]),
        ".distro/hello.spec"
    );

    // a second sweep: nothing new, nothing written, not even fetched (the store knows
    // this dist-git head)
    let from = next_seq(&world);
    let out = reconciled(&world);
    assert_eq!(writes_since(&world, from), Vec::<String>::new(), "{out}");
    assert_eq!(fetches_since(&world, from), 0, "{out}");

    // an empty database converges from what GitLab holds, without a write
    std::fs::remove_file(&world.database).unwrap();
    let from = next_seq(&world);
    let out = reconciled(&world);
    assert_eq!(writes_since(&world, from), Vec::<String>::new(), "{out}");
    assert!(
        out.contains(&format!("{SYNC_BRANCH} already holds these commits")),
        "{out}"
    );
    assert_eq!(sync_mrs(&world).len(), 1);
}

#[test]
fn a_second_dist_git_commit_updates_the_same_mr() {
    let world = world(WorldOptions::default());
    let first = dist_git_commit(&world, "Bump release", |d| bump_release(d, 2));
    reconciled(&world);
    let before = sync_mrs(&world);
    assert_eq!(before.len(), 1);
    let first_head = world.gl.branch_head(SRC, SYNC_BRANCH).unwrap();

    let second = dist_git_commit(&world, "Gate on the smoke plan", |d| {
        std::fs::write(
            d.join("gating.yaml"),
            "--- !Policy\nproduct_versions: [rhel-10]\n",
        )
        .unwrap()
    });
    let out = reconciled(&world);
    let after = sync_mrs(&world);
    assert_eq!(after.len(), 1, "{out}");
    assert_eq!(after[0].iid, before[0].iid, "the same MR");
    let description = after[0].description.clone().unwrap_or_default();
    assert!(
        description.contains(&first[..8]) && description.contains(&second[..8]),
        "{description}"
    );
    assert!(out.contains("updated"), "{out}");
    // rebuilt on the target head and force-pushed: two synced commits
    let target = world.gl.branch_head(SRC, "c10s").unwrap();
    let head = world.gl.branch_head(SRC, SYNC_BRANCH).unwrap();
    assert_ne!(head, first_head);
    let log = in_source_git(
        &world,
        &["log", "--format=%s", &format!("{target}..{head}")],
    );
    assert_eq!(log, "Gate on the smoke plan\nBump release");
    let gating = in_source_git(&world, &["show", &format!("{head}:.distro/gating.yaml")]);
    assert!(gating.contains("rhel-10"), "{gating}");
}

#[test]
fn our_own_merged_rpms_mr_is_a_sync_point_and_opens_nothing() {
    let world = world(WorldOptions::default());
    let (_mr, job) = world.packager_mr();
    let run = run_job(&world, &job);
    assert!(run.passed, "{}", run.log);
    let rpms = world.gl.merge_requests(RPMS).pop().expect("rpms MR");
    world
        .gl
        .merge_merge_request(RPMS, rpms.iid, "packager")
        .unwrap();

    let out = reconciled(&world);
    assert!(sync_mrs(&world).is_empty(), "{out}");
    assert!(world.gl.branch_head(SRC, SYNC_BRANCH).is_none(), "{out}");
    assert!(
        out.contains(
            "are merge commits, came from source-git or change nothing in .distro/; nothing to sync"
        ),
        "{out}"
    );
}

#[test]
fn a_sources_change_is_listed_not_dropped() {
    let world = world(WorldOptions::default());
    let sources = dist_git_commit(&world, "Update to 1.1", |d| {
        std::fs::write(
            d.join("sources"),
            format!("SHA512 (hello-1.1.tar.gz) = {}\n", "ab".repeat(64)),
        )
        .unwrap()
    });
    let bump = dist_git_commit(&world, "Bump release", |d| bump_release(d, 2));

    let out = reconciled(&world);
    let mrs = sync_mrs(&world);
    assert_eq!(mrs.len(), 1, "{out}");
    let description = mrs[0].description.clone().unwrap_or_default();
    let synced = description.split("### Not carried").next().unwrap();
    assert!(
        synced.contains(&bump[..8]) && !synced.contains(&sources[..8]),
        "{description}"
    );
    let not_carried = description
        .split("### Not carried")
        .nth(1)
        .expect("a Not carried section");
    assert!(
        not_carried.contains(&format!("[`{}`]", &sources[..8])),
        "{description}"
    );
    assert!(
        not_carried.contains("changes `sources`, i.e. a new upstream release"),
        "{description}"
    );
    assert!(
        not_carried.contains(&format!("`From-dist-git-commit: {sources}`")),
        "{description}"
    );
    let target = world.gl.branch_head(SRC, "c10s").unwrap();
    let head = world.gl.branch_head(SRC, SYNC_BRANCH).unwrap();
    let log = in_source_git(
        &world,
        &["log", "--format=%s", &format!("{target}..{head}")],
    );
    assert_eq!(log, "Bump release");
}

#[test]
fn the_push_pipeline_job_opens_the_same_mr() {
    let world = world(WorldOptions::default());
    let bump = dist_git_commit(&world, "Bump release", |d| bump_release(d, 2));
    let job = world
        .gl
        .create_push_pipeline(
            RPMS,
            "c10s",
            "packager",
            SrcgitJob {
                name: JOB_NAME.into(),
                script: vec![format!("touch {}", world.marker().display())],
                ..SrcgitJob::default()
            },
        )
        .unwrap();
    let run = run_job(&world, &job);
    assert!(run.passed, "{}", run.log);
    assert!(!world.marker().exists(), "the job script must not run");
    assert!(!run.log.contains(BOT_TOKEN), "token in the job log");
    assert!(run.log.contains("serving the push to"), "{}", run.log);
    let mrs = sync_mrs(&world);
    assert_eq!(mrs.len(), 1, "{}", run.log);
    assert!(
        run.log.contains(&format!("{RPMS}@c10s: opened ")),
        "{}",
        run.log
    );
    assert!(
        run.log
            .contains(&format!("/-/merge_requests/{}", mrs[0].iid)),
        "{}",
        run.log
    );
    let description = mrs[0].description.clone().unwrap_or_default();
    assert!(description.contains(&bump[..8]), "{description}");

    // the sweep afterwards finds the same MR and writes nothing
    let from = next_seq(&world);
    let out = reconciled(&world);
    assert_eq!(writes_since(&world, from), Vec::<String>::new(), "{out}");
    assert_eq!(sync_mrs(&world).len(), 1);
}

#[test]
fn a_push_pipeline_of_an_unserved_branch_is_a_build_failure() {
    let world = world(WorldOptions::default());
    let dir = world.tmp.path().join("side");
    git(
        world.tmp.path(),
        &[
            "clone",
            "-q",
            &world
                .gl
                .authenticated_clone_url(RPMS, PACKAGER_TOKEN)
                .unwrap(),
            &dir.display().to_string(),
        ],
    );
    git(
        &dir,
        &["push", "-q", "origin", "HEAD:refs/heads/private-test"],
    );
    let job = world
        .gl
        .create_push_pipeline(
            RPMS,
            "private-test",
            "packager",
            SrcgitJob {
                name: JOB_NAME.into(),
                ..SrcgitJob::default()
            },
        )
        .unwrap();
    let run = run_job(&world, &job);
    assert!(!run.passed);
    assert_eq!(run.build_exit_code.as_deref(), Some("1"), "{}", run.log);
    assert!(
        run.log.contains("branch private-test is not served"),
        "{}",
        run.log
    );
    assert!(sync_mrs(&world).is_empty());
}

/// The sweep's cost: many quiet dist-git projects, two that changed. After the first
/// sweep, one page of the project list and one branch list per recently active project.
#[test]
fn a_sweep_reads_only_recently_active_projects() {
    let world = world(WorldOptions::default());
    const QUIET: usize = 40;
    let seed = world.tmp.path().join("dist-git");
    for i in 0..QUIET {
        world
            .gl
            .add_project(
                ProjectSpec::new(format!("redhat/centos-stream/rpms/quiet{i:02}")).seed_from(&seed),
            )
            .unwrap();
    }
    // the first sweep reads everything
    let first = next_seq(&world);
    let out = reconciled(&world);
    let first_requests = world
        .gl
        .requests()
        .iter()
        .filter(|r| r.seq >= first && r.path.starts_with("/api/v4"))
        .count();
    assert!(
        out.contains(&format!("{} project(s) active", QUIET + 1)),
        "{out}"
    );
    for i in 0..QUIET {
        world
            .gl
            .age_project_activity(
                &format!("redhat/centos-stream/rpms/quiet{i:02}"),
                Duration::from_secs(2 * 86_400),
            )
            .unwrap();
    }
    world
        .gl
        .age_project_activity(RPMS, Duration::from_secs(2 * 86_400))
        .unwrap();
    dist_git_commit(&world, "Bump release", |d| bump_release(d, 2));
    let from = next_seq(&world);
    let out = reconciled(&world);
    let requests: Vec<_> = world
        .gl
        .requests()
        .into_iter()
        .filter(|r| r.seq >= from)
        .collect();
    let lists = requests
        .iter()
        .filter(|r| r.path.ends_with("/projects") && r.path.contains("/groups/"))
        .count();
    let branch_lists = requests
        .iter()
        .filter(|r| r.path.ends_with("/repository/branches"))
        .count();
    assert_eq!((lists, branch_lists), (1, 1), "{out}");
    assert!(
        out.contains("1 project(s) active, 1 branch(es) moved, 1 action(s)"),
        "{out}"
    );
    assert_eq!(sync_mrs(&world).len(), 1, "{out}");
    eprintln!(
        "measured: first sweep over {} dist-git projects: {first_requests} API requests",
        QUIET + 1
    );
    for r in requests.iter().filter(|r| r.path.starts_with("/api/v4")) {
        eprintln!("measured: {} {}", r.method, r.path);
    }
    eprintln!(
        "measured: next sweep over {} dist-git projects with 1 changed: {} API requests ({} project list, {} branch list), {} git requests",
        QUIET + 1,
        requests
            .iter()
            .filter(|r| r.path.starts_with("/api/v4"))
            .count(),
        lists,
        branch_lists,
        requests
            .iter()
            .filter(|r| !r.path.starts_with("/api/v4"))
            .count(),
    );
}
