//! The conformance corpus through the executor's conversion path: each source-git and
//! dist-git pair is fetched into the runner host's git cache, the job gets the two small
//! repositories that borrow the cache's objects — source-git with only `.distro/` (and what
//! `files_to_sync` copies) checked out, dist-git with its branch — and the conversion runs
//! there in the executor's isolated git environment. The dist-git tree, `git status` and
//! any commit must be exactly what the corpus recorded for packit (and what `srcgit
//! convert` gives on ordinary work trees, tests/conformance.rs).

mod common;

use std::path::Path;

use common::corpus::{self, Case};
use srcgit::repo::cache::{self, Cache, Checkout, Head};
use srcgit::repo::git::{Credentials, GitCli, GitEnv, Identity};
use srcgit::repo::update_dist_git::{self, UpdateOptions};

/// Cases whose `update-dist-git` succeeds with packit's correct behaviour on clean clones
/// (no untracked extras: a job's repositories are always fresh checkouts).
fn eligible(case: &Case) -> bool {
    let command: Vec<&str> = case.meta["command"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    command.get(1) == Some(&"update-dist-git")
        && case.meta.get("exit_code").and_then(|v| v.as_integer()) == Some(0)
        && !case.is_packit_bug()
        && !case.dir.join("dist-git-extra").exists()
        && !case.dir.join("source-git-extra").exists()
}

/// `-f`, `-m MSG`, `--upstream-ref REF` of the case's command.
struct Args {
    force: bool,
    message: Option<String>,
    upstream_ref: Option<String>,
}

fn args(case: &Case) -> Args {
    let argv = case.args(Path::new("SG"), Path::new("DG"));
    let mut out = Args {
        force: false,
        message: None,
        upstream_ref: None,
    };
    let mut it = argv.iter().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-f" => out.force = true,
            "-m" => out.message = it.next().cloned(),
            "--upstream-ref" => out.upstream_ref = it.next().cloned(),
            "SG" | "DG" => {}
            other => panic!("{}: unexpected argument {other}", case.name),
        }
    }
    out
}

fn quiet(_: &str) {}

/// Runs one case through the cache and the job repositories, `git format-patch` cut into
/// up to `pieces` processes; `Err` says what differs.
fn run(case: &Case, pieces: usize) -> Result<(), String> {
    let restored = corpus::restore(case);
    let args = args(case);
    let cache = Cache::in_work_dir(&restored.tmp.path().join("work"));
    let creds = Credentials::token("unused-for-local-fetches");
    let job = restored.tmp.path().join("work/job-1");
    let sg_url = format!("file://{}", restored.sg.display());
    let dg_url = format!("file://{}", restored.dg.display());

    // source-git: the MR head and the tags, as the job fetches them
    let mut locked = cache.lock("project-1", &quiet).map_err(|e| e.to_string())?;
    locked
        .fetch(
            &sg_url,
            &[
                "+HEAD:refs/merge-requests/1/head".to_string(),
                "+refs/tags/*:refs/tags/*".to_string(),
            ],
            &creds,
            &quiet,
        )
        .map_err(|e| e.to_string())?;
    let head = locked
        .ref_target("refs/merge-requests/1/head")
        .ok_or("no MR head")?;
    let config = cache::committed_config(locked.repo(), head, "dist");
    let tags = locked.refs_under("refs/tags/").map_err(|e| e.to_string())?;
    let source_use = locked.into_use().map_err(|e| e.to_string())?;
    let checkout = cache::sync_checkout(config.as_ref());
    let source = job.join("source");
    cache::job_repository(
        &source,
        source_use.objects_dir(),
        &tags,
        &Head::Detached(head),
        &checkout,
    )
    .map_err(|e| e.to_string())?;

    // dist-git: the target branch
    let mut locked = cache.lock("project-2", &quiet).map_err(|e| e.to_string())?;
    let branch = "refs/heads/target";
    locked
        .fetch(&dg_url, &[format!("+HEAD:{branch}")], &creds, &quiet)
        .map_err(|e| e.to_string())?;
    let target = locked.ref_target(branch).ok_or("no dist-git branch")?;
    let dist_use = locked.into_use().map_err(|e| e.to_string())?;
    let dist = job.join("dist");
    cache::job_repository(
        &dist,
        dist_use.objects_dir(),
        &[(branch.to_string(), target)],
        &Head::Branch(branch.to_string()),
        &Checkout::Full,
    )
    .map_err(|e| e.to_string())?;

    let bench = Identity {
        name: "Packit Bench".into(),
        email: "bench@example.org".into(),
        time: 1_767_225_600,
        offset_minutes: 0,
    };
    let opts = UpdateOptions {
        source_git: source.clone(),
        dist_git: dist.clone(),
        upstream_ref: args.upstream_ref,
        message: args.message,
        force: args.force,
        git: GitCli::new(GitEnv::Isolated {
            home: restored.home.clone(),
        })
        .with_format_patch_jobs(pieces, 1),
        identity: Some((bench.clone(), bench)),
        display_paths: None,
    };
    update_dist_git::update_dist_git(&opts).map_err(|e| format!("conversion failed: {e}"))?;

    let mut problems = Vec::new();
    let got = corpus::tree(&dist);
    let want = corpus::expected_tree(case);
    if got != want {
        let differing: Vec<&String> = got
            .keys()
            .chain(want.keys())
            .filter(|k| got.get(*k) != want.get(*k))
            .collect();
        problems.push(format!("tree differs at {differing:?}"));
    }
    let status = corpus::git(
        &dist,
        &restored.home,
        &["status", "--porcelain=v1", "-uall"],
    );
    if status != corpus::expected_status(case) {
        problems.push(format!("status differs:\n{status}"));
    }
    if case.dir.join("expected-commits.txt").exists() {
        let commits =
            corpus::describe_commits(&dist, &restored.home, &corpus::head_of(case, "dist_git"));
        if commits != corpus::expected_commits(case) {
            problems.push(format!("commits differ:\n{commits}"));
        }
    }
    if checkout != Checkout::Full && source.join("src").exists() {
        problems.push("the upstream tree was checked out".to_string());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

fn run_corpus(pieces: usize) {
    let cases: Vec<Case> = Case::all().into_iter().filter(eligible).collect();
    assert!(
        cases.len() >= 30,
        "only {} eligible cases: the corpus or the filter changed",
        cases.len()
    );
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            run(case, pieces)
                .err()
                .map(|e| format!("{}: {e}", case.name))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_corpus_converts_byte_identically_through_the_git_cache() {
    run_corpus(1);
}

/// The corpus's ranges are short: cut into up to three pieces of two or more commits (the
/// smallest git numbers as `[PATCH n/m]`), piece boundaries meet real subjects, trailers
/// and histories.
#[test]
fn the_corpus_converts_byte_identically_with_format_patch_in_pieces() {
    run_corpus(3);
}
