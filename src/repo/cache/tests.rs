use super::*;

use std::sync::Mutex;

use crate::repo::git::run_for_test as git;

/// An "upstream" with a sizeable file, tag v1, `.distro/` and one downstream commit.
fn origin(dir: &Path) -> PathBuf {
    let repo = dir.join("origin");
    std::fs::create_dir_all(repo.join("src")).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    let big: String = (0..4000)
        .map(|i| format!("line {i} of the upstream\n"))
        .collect();
    std::fs::write(repo.join("src/big.c"), big).unwrap();
    std::fs::write(repo.join("README"), "upstream\n").unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "Upstream"]);
    git(&repo, &["tag", "v1"]);
    std::fs::create_dir_all(repo.join(".distro")).unwrap();
    std::fs::write(
        repo.join(".distro/source-git.yaml"),
        "upstream_ref: v1\ndownstream_package_name: pkg\nsync_changelog: true\n",
    )
    .unwrap();
    std::fs::write(repo.join(".distro/pkg.spec"), "Name: pkg\n").unwrap();
    git(&repo, &["add", "-A"]);
    git(
        &repo,
        &["commit", "-qm", "Initialize as a source-git repository"],
    );
    std::fs::write(repo.join("src/big.c"), "changed downstream\n").unwrap();
    git(&repo, &["commit", "-qam", "Downstream fix"]);
    repo
}

fn url(repo: &Path) -> String {
    format!("file://{}", repo.display())
}

fn creds() -> Credentials {
    Credentials::token("unused-for-local-fetches")
}

fn quiet(_: &str) {}

const ALL: &str = "+refs/heads/*:refs/heads/*";

/// Fetches every branch of `origin` into the locked cache; the bytes received.
fn fetch_all(locked: &mut Locked, origin: &Path) -> u64 {
    locked
        .fetch(&url(origin), &[ALL.to_string()], &creds(), &quiet)
        .unwrap()
}

#[test]
fn a_second_fetch_transfers_only_the_new_objects() {
    let tmp = tempfile::tempdir().unwrap();
    let origin = origin(tmp.path());
    let cache = Cache::new(tmp.path().join("cache"));
    let mut locked = cache.lock("project-1", &quiet).unwrap();
    let first = fetch_all(&mut locked, &origin);
    assert_eq!(locked.name(), "project-1/g1.git");
    drop(locked);
    std::fs::write(origin.join("README"), "one more downstream change\n").unwrap();
    git(&origin, &["commit", "-qam", "Another fix"]);
    let mut locked = cache.lock("project-1", &quiet).unwrap();
    let second = fetch_all(&mut locked, &origin);
    assert_eq!(locked.name(), "project-1/g1.git");
    assert_eq!(
        locked.ref_target("refs/heads/main").unwrap().to_string(),
        git(&origin, &["rev-parse", "main"])
    );
    assert!(second > 0, "the new commit was fetched");
    assert!(
        second * 10 < first,
        "the second fetch ({second} bytes) sent the whole history again ({first} bytes)"
    );
}

#[test]
fn a_truncated_pack_starts_a_new_generation_and_prune_drops_the_old_one() {
    let tmp = tempfile::tempdir().unwrap();
    let origin = origin(tmp.path());
    let cache = Cache::new(tmp.path().join("cache"));
    let mut locked = cache.lock("project-1", &quiet).unwrap();
    fetch_all(&mut locked, &origin);
    drop(locked);
    let pack_dir = tmp.path().join("cache/project-1/g1.git/objects/pack");
    let pack = std::fs::read_dir(&pack_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "pack"))
        .unwrap();
    let len = std::fs::metadata(&pack).unwrap().len();
    let file = OpenOptions::new().write(true).open(&pack).unwrap();
    file.set_len(len / 2).unwrap();
    drop(file);
    let said = Mutex::new(Vec::<String>::new());
    let log = |l: &str| said.lock().unwrap().push(l.to_string());
    let mut locked = cache.lock("project-1", &log).unwrap();
    assert_eq!(locked.name(), "project-1/g2.git");
    let said = said.lock().unwrap().join("\n");
    assert!(
        said.contains("g1.git is damaged") && said.contains("truncated"),
        "{said}"
    );
    fetch_all(&mut locked, &origin);
    let head = locked.ref_target("refs/heads/main").unwrap();
    assert!(locked.repo().find_commit(head).is_ok());
    drop(locked);
    let pruned = cache
        .prune(Duration::from_secs(86_400), SystemTime::now())
        .unwrap();
    assert_eq!(pruned.removed_generations, vec!["project-1/g1.git"]);
    assert_eq!(pruned.kept, vec!["project-1"]);
    assert!(!tmp.path().join("cache/project-1/g1.git").exists());
    assert!(tmp.path().join("cache/project-1/g2.git").exists());
}

#[test]
fn leftovers_of_a_killed_fetch_are_removed_and_a_dangling_ref_is_not_trusted() {
    let tmp = tempfile::tempdir().unwrap();
    let origin = origin(tmp.path());
    let cache = Cache::new(tmp.path().join("cache"));
    let mut locked = cache.lock("project-1", &quiet).unwrap();
    fetch_all(&mut locked, &origin);
    drop(locked);
    let generation = tmp.path().join("cache/project-1/g1.git");
    let leftover_pack = generation.join("objects/pack/pack_git2_Xy12ab");
    std::fs::write(&leftover_pack, b"PACK half written").unwrap();
    std::fs::create_dir_all(generation.join("refs/heads")).unwrap();
    let ref_lock = generation.join("refs/heads/main.lock");
    std::fs::write(&ref_lock, b"0123").unwrap();
    let locked = cache.lock("project-1", &quiet).unwrap();
    assert_eq!(locked.name(), "project-1/g1.git");
    assert!(!leftover_pack.exists() && !ref_lock.exists());
    drop(locked);
    // a ref whose object is gone (a pack lost with its index)
    std::fs::write(
        generation.join("refs/heads/lost"),
        "1111111111111111111111111111111111111111\n",
    )
    .unwrap();
    let said = Mutex::new(String::new());
    let log = |l: &str| said.lock().unwrap().push_str(l);
    let locked = cache.lock("project-1", &log).unwrap();
    assert_eq!(locked.name(), "project-1/g2.git");
    assert!(said.lock().unwrap().contains("refs/heads/lost"));
}

#[test]
fn prune_removes_stale_caches_but_never_one_in_use() {
    let tmp = tempfile::tempdir().unwrap();
    let origin = origin(tmp.path());
    let cache = Cache::new(tmp.path().join("cache"));
    for key in ["project-1", "project-2"] {
        let mut locked = cache.lock(key, &quiet).unwrap();
        fetch_all(&mut locked, &origin);
    }
    let in_use = cache.lock("project-1", &quiet).unwrap().into_use().unwrap();
    let day = Duration::from_secs(86_400);
    let fresh = cache.prune(14 * day, SystemTime::now()).unwrap();
    assert!(fresh.removed.is_empty(), "{fresh:?}");
    let later = SystemTime::now() + 15 * day;
    let pruned = cache.prune(14 * day, later).unwrap();
    assert_eq!(pruned.removed, vec!["project-2"]);
    assert_eq!(pruned.busy, vec!["project-1"]);
    assert!(in_use.objects_dir().is_dir());
    drop(in_use);
    let pruned = cache.prune(14 * day, later).unwrap();
    assert_eq!(pruned.removed, vec!["project-1"]);
    assert_eq!(std::fs::read_dir(cache.root()).unwrap().count(), 0);
    // a job after the prune starts afresh
    let mut locked = cache.lock("project-1", &quiet).unwrap();
    assert_eq!(locked.name(), "project-1/g1.git");
    fetch_all(&mut locked, &origin);
}

#[test]
fn concurrent_fetches_into_one_cache_all_succeed() {
    let tmp = tempfile::tempdir().unwrap();
    let origin = origin(tmp.path());
    let cache = Cache::new(tmp.path().join("cache"));
    let root = tmp.path();
    let heads: Vec<Oid> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let cache = cache.clone();
                let url = url(&origin);
                scope.spawn(move || {
                    let mut locked = cache.lock("project-1", &quiet).unwrap();
                    let spec = format!("+refs/heads/main:refs/heads/job-{i}");
                    locked.fetch(&url, &[spec], &creds(), &quiet).unwrap();
                    let head = locked.ref_target(&format!("refs/heads/job-{i}")).unwrap();
                    let use_ = locked.into_use().unwrap();
                    let job = root.join(format!("job-{i}"));
                    let repo = job_repository(
                        &job,
                        use_.objects_dir(),
                        &[],
                        &Head::Detached(head),
                        &Checkout::Full,
                    )
                    .unwrap();
                    repo.head().unwrap().target().unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(heads.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(
        generations(&cache.root().join("project-1")).unwrap(),
        ["g1.git"]
    );
}

#[test]
fn a_job_repository_has_only_distro_checked_out_and_format_patch_matches() {
    let tmp = tempfile::tempdir().unwrap();
    let origin = origin(tmp.path());
    let cache = Cache::new(tmp.path().join("cache"));
    let mut locked = cache.lock("project-1", &quiet).unwrap();
    locked
        .fetch(
            &url(&origin),
            &[ALL.to_string(), "+refs/tags/*:refs/tags/*".to_string()],
            &creds(),
            &quiet,
        )
        .unwrap();
    let head = locked.ref_target("refs/heads/main").unwrap();
    let config = committed_config(locked.repo(), head, "pkg").unwrap();
    assert_eq!(config.upstream_ref.as_deref(), Some("v1"));
    let tags = locked.refs_under("refs/tags/").unwrap();
    let use_ = locked.into_use().unwrap();
    let job = tmp.path().join("job");
    let checkout = sync_checkout(Some(&config));
    // the default files_to_sync: the spec and source-git.yaml
    assert_eq!(
        checkout,
        Checkout::Paths(vec![
            ".distro".to_string(),
            "pkg.spec".to_string(),
            "source-git.yaml".to_string()
        ])
    );
    job_repository(
        &job,
        use_.objects_dir(),
        &tags,
        &Head::Detached(head),
        &checkout,
    )
    .unwrap();
    assert!(job.join(".distro/source-git.yaml").is_file());
    assert!(!job.join("src").exists() && !job.join("README").exists());
    let patch = |dir: &Path, out: &Path| {
        git(
            dir,
            &[
                "format-patch",
                "--output-directory",
                &out.display().to_string(),
                "v1..HEAD",
                "--",
                ".",
            ],
        );
        std::fs::read_dir(out)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.file_name(), std::fs::read(e.path()).unwrap())
            })
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let ours = patch(&job, &tmp.path().join("out-job"));
    let theirs = patch(&origin, &tmp.path().join("out-origin"));
    assert_eq!(ours.len(), 2);
    assert_eq!(ours, theirs);
    // no object was copied into the job
    let objects = job.join(".git/objects");
    let copied = std::fs::read_dir(&objects)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name != "info" && name != "pack"
        })
        .count();
    assert_eq!(copied, 0);
}

#[test]
fn the_checkout_follows_files_to_sync() {
    let item = |src: &str| crate::convert::sync::SyncItem::from_path(src);
    let mut config = config::parse(
        "upstream_ref: v1\ndownstream_package_name: pkg\nsync_changelog: true\n",
        "pkg",
    )
    .unwrap();
    config.files_to_sync = vec![item(".distro/"), item("LICENSE"), item("docs/man/x.1")];
    assert_eq!(
        sync_checkout(Some(&config)),
        Checkout::Paths(vec![".distro".into(), "LICENSE".into(), "docs".into()])
    );
    for whole in [".", "./", "*.spec", "/etc/passwd", "../x"] {
        config.files_to_sync = vec![item(whole)];
        assert_eq!(sync_checkout(Some(&config)), Checkout::Full, "{whole}");
    }
    assert_eq!(sync_checkout(None), Checkout::Paths(vec![".distro".into()]));
}

#[test]
fn keys_are_plain_names() {
    for bad in ["", "../x", "a/b", "Project-1", "-x", "a.b"] {
        assert!(!valid_key(bad), "{bad}");
        assert!(Cache::new("/nonexistent").lock(bad, &quiet).is_err());
    }
    assert!(valid_key("project-42"));
}

#[test]
fn prune_repacks_a_cache_of_many_packs_unless_a_job_reads_it() {
    let tmp = tempfile::tempdir().unwrap();
    let origin = origin(tmp.path());
    let cache = Cache::new(tmp.path().join("cache"));
    let packs = || count_packs(&tmp.path().join("cache/project-1/g1.git"));
    for i in 0..=MAX_PACKS {
        std::fs::write(origin.join("README"), format!("change {i}\n")).unwrap();
        git(&origin, &["commit", "-qam", &format!("Change {i}")]);
        let mut locked = cache.lock("project-1", &quiet).unwrap();
        fetch_all(&mut locked, &origin);
    }
    assert!(packs() > MAX_PACKS, "{} packs", packs());
    let head = git(&origin, &["rev-parse", "HEAD"]);
    let week = Duration::from_secs(7 * 86_400);

    // a job reads the generation: it is left alone
    let reading = cache.lock("project-1", &quiet).unwrap().into_use().unwrap();
    let pruned = cache.prune(week, SystemTime::now()).unwrap();
    assert!(pruned.repacked.is_empty());
    assert!(packs() > MAX_PACKS);
    drop(reading);

    let pruned = cache.prune(week, SystemTime::now()).unwrap();
    assert_eq!(pruned.repacked, vec!["project-1"]);
    assert_eq!(packs(), 1);
    let locked = cache.lock("project-1", &quiet).unwrap();
    assert_eq!(
        locked.ref_target("refs/heads/main").map(|o| o.to_string()),
        Some(head)
    );
    assert_eq!(
        locked.name(),
        "project-1/g1.git",
        "the repacked generation is whole"
    );
}
