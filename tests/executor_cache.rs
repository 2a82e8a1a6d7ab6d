//! The runner host's shared git cache, end to end: the real binary driven stage by stage
//! as gitlab-runner drives it against the fake GitLab. A second job on an MR fetches only
//! the new commit, concurrent jobs share one cache, a damaged cache is replaced and the job
//! still passes, and the cleanup stage prunes what no job uses.

mod common;

use std::path::{Path, PathBuf};

use common::executor::*;

fn cache_root(world: &World) -> PathBuf {
    world.work_dir.join("cache/srcgit.git")
}

/// `project-N/gM.git` directories of the cache.
fn generations(world: &World) -> Vec<String> {
    let mut out = Vec::new();
    let root = cache_root(world);
    for project in std::fs::read_dir(&root).unwrap() {
        let project = project.unwrap();
        for g in std::fs::read_dir(project.path()).unwrap() {
            let name = g.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".git") {
                out.push(format!("{}/{name}", project.file_name().to_string_lossy()));
            }
        }
    }
    out.sort();
    out
}

/// The bytes of each "fetched … into the git cache KEY/GEN" line of a job log, by key.
fn fetched(log: &str) -> Vec<(String, u64)> {
    log.lines()
        .filter_map(|l| {
            let rest = l.split("srcgit: fetched ").nth(1)?;
            let (amount, cache) = rest.split_once(" into the git cache ")?;
            let bytes = match amount.split_once(" (") {
                Some((_, exact)) => exact.trim_end_matches(" bytes)").parse().ok()?,
                None => amount.trim_end_matches(" bytes").parse().ok()?,
            };
            let key = cache.split('/').next()?.to_string();
            Some((key, bytes))
        })
        .collect()
}

fn truncate_packs(generation: &Path) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(generation.join("objects/pack")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "pack") {
            let len = std::fs::metadata(&path).unwrap().len();
            let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            file.set_len(len / 2).unwrap();
            n += 1;
        }
    }
    n
}

#[test]
fn a_second_job_on_the_mr_fetches_only_the_new_commit() {
    let world = world(WorldOptions::default());
    let (mr, job) = world.packager_mr();
    let first = run_job(&world, &job);
    assert!(first.passed, "{}", first.log);
    let first_fetches = fetched(&first.log);
    assert_eq!(first_fetches.len(), 2, "{}", first.log);
    assert!(
        !world.work_dir.join(format!("job-{}", job.job_id)).exists(),
        "cleanup removes the job directory"
    );
    assert_eq!(generations(&world).len(), 2, "one cache per project stays");

    let mr_now = world.push_to_source_branch(&mr);
    let job2 = world.srcgit_job(&mr_now);
    let second = run_job(&world, &job2);
    assert!(second.passed, "{}", second.log);
    let second_fetches = fetched(&second.log);
    let source_key = &first_fetches[0].0;
    let bytes_of = |fetches: &[(String, u64)]| {
        fetches
            .iter()
            .find(|(k, _)| k == source_key)
            .map(|(_, b)| *b)
            .unwrap()
    };
    let (before, after) = (bytes_of(&first_fetches), bytes_of(&second_fetches));
    assert!(after > 0, "the new commit was fetched:\n{}", second.log);
    assert!(
        after * 3 < before,
        "the second job fetched {after} bytes, the first {before}:\n{}",
        second.log
    );
    assert!(
        second
            .log
            .contains(&format!("srcgit: source-git head {}", mr_now.sha)),
        "{}",
        second.log
    );
    // the commit the first job pushed was kept in the rpms cache: nothing to fetch there
    let rpms: Vec<u64> = second_fetches
        .iter()
        .filter(|(k, _)| k != source_key)
        .map(|(_, b)| *b)
        .collect();
    assert_eq!(rpms, [0], "{}", second.log);
    assert_eq!(generations(&world).len(), 2, "{:?}", generations(&world));
}

#[test]
fn concurrent_jobs_on_one_host_share_one_cache() {
    let world = world(WorldOptions::default());
    let (mr, first) = world.packager_mr();
    let others: Vec<_> = (0..2).map(|_| world.srcgit_job(&mr)).collect();
    let runs = std::thread::scope(|s| {
        let handles: Vec<_> = std::iter::once(&first)
            .chain(others.iter())
            .map(|job| s.spawn(|| run_job(&world, job)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    for run in &runs {
        assert!(run.passed, "{}", run.log);
        assert_eq!(fetched(&run.log).len(), 2, "{}", run.log);
        assert!(!run.log.contains("damaged"), "{}", run.log);
    }
    let rpms = world.gl.merge_requests(RPMS);
    assert_eq!(rpms.len(), 1, "one rpms MR");
    // one generation per project: nobody rebuilt or duplicated the cache
    let generations = generations(&world);
    assert_eq!(generations.len(), 2, "{generations:?}");
    assert!(generations.iter().all(|g| g.ends_with("/g1.git")));
    for job in std::iter::once(&first).chain(others.iter()) {
        assert!(!world.work_dir.join(format!("job-{}", job.job_id)).exists());
    }
}

#[test]
fn a_cache_truncated_mid_pack_is_replaced_and_the_job_passes() {
    let world = world(WorldOptions::default());
    let (mr, job) = world.packager_mr();
    assert!(run_job(&world, &job).passed);
    let root = cache_root(&world);
    let mut truncated = 0;
    for generation in generations(&world) {
        truncated += truncate_packs(&root.join(generation));
    }
    assert!(truncated >= 2, "every cache had a pack");

    let rerun = world.srcgit_job(&mr);
    let run = run_job(&world, &rerun);
    assert!(run.passed, "{}", run.log);
    assert_eq!(
        run.log.matches("is damaged").count(),
        2,
        "both caches were found damaged:\n{}",
        run.log
    );
    assert!(run.log.contains("truncated"), "{}", run.log);
    // the rerun converted the same head again from the new caches
    assert!(
        run.log.contains("already holds source-git commit"),
        "{}",
        run.log
    );
    // the cleanup stage pruned the damaged generations, which no job reads any more
    let generations = generations(&world);
    assert_eq!(generations.len(), 2, "{generations:?}");
    assert!(
        generations.iter().all(|g| g.ends_with("/g2.git")),
        "{generations:?}"
    );
}
