//! Executor benchmark on loopback: the real `srcgit executor` stages against the fake GitLab.
//!
//! Part 1, on a 50-commit source-git merge request, reports the time from starting
//! `run <script> build_script` to the rpms MR being opened — first with the bot fork to
//! create, then with the fork in place — and the GitLab API requests per poll interval
//! while srcgit waits on a long downstream job.
//!
//! Part 2, the runner host's git cache, for each fixture of `$SRCGIT_BENCH_CACHE_FIXTURES`
//! (default `curl-50 systemd-500`): first jobs (a new MR, the cache removed before each)
//! and second jobs (one new commit pushed to the MR, the cache warm). Each row: time from
//! `run build_script` start to the rpms MR opened (first) or updated (second), the bytes
//! the job fetched (its log's `fetched … into the git cache` lines), the job directory's
//! peak disk use (sampled every 10 ms, `du` semantics: allocated blocks) and the cache's
//! size afterwards.
//!
//! The fixture of part 1 is `$SRCGIT_BENCH_FIXTURE`, or `~/srcgit-bench/fixtures/curl-50`
//! when the benchmark kit (`../shared/bench`) built it: curl 7.88.1 with 50 downstream
//! commits. Run:
//!
//! ```text
//! cargo bench --bench executor
//! ```
//!
//! Knobs: `SRCGIT_BENCH_ONLY_CACHE=1` (part 2 only), `SRCGIT_BENCH_FIRST_JOBS`,
//! `SRCGIT_BENCH_SECOND_JOBS` (3 and 5), `SRCGIT_BENCH_PAUSE=<seconds>` between second jobs
//! (back to back, each job creates files among the thousands the previous job's cleanup
//! just deleted, which ext4 allocates around: later jobs get slower), `SRCGIT_BENCH_TIMELINE=1`
//! (every request of a job, timed), `SRCGIT_BENCH_VERBOSE=1`, `SRCGIT_BENCH_KEEP=1` (keep
//! the directory, with each job's `job.log` and `operator.log`).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use fake_gitlab::{
    AccessLevel, CiDefinition, CiJob, Clock, FakeGitLab, MrSpec, Options, ProjectSpec, SrcgitJob,
    UserSpec,
};

const TOKEN: &str = "glpat-bench-bot-0123456789";
const POLL_INTERVAL: f64 = 0.5;
const WINDOW_INTERVALS: u32 = 10;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Bench Packager")
        .env("GIT_AUTHOR_EMAIL", "packager@example.org")
        .env("GIT_COMMITTER_NAME", "Bench Packager")
        .env("GIT_COMMITTER_EMAIL", "packager@example.org")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn fixtures_dir() -> PathBuf {
    Path::new(&std::env::var("HOME").unwrap_or_default()).join("srcgit-bench/fixtures")
}

/// The kit's fixture: `src/<pkg>` (branch main) and `rpms/<pkg>.git` (branch rawhide).
fn fixture() -> (String, PathBuf, PathBuf) {
    let dir = std::env::var_os("SRCGIT_BENCH_FIXTURE")
        .map(PathBuf::from)
        .unwrap_or_else(|| fixtures_dir().join("curl-50"));
    fixture_at(&dir)
}

fn fixture_at(dir: &Path) -> (String, PathBuf, PathBuf) {
    let env = std::fs::read_to_string(dir.join("fixture.env")).unwrap_or_else(|_| {
        panic!("no fixture at {} (build it with ../shared/bench/make-reference-fixtures.sh or set SRCGIT_BENCH_FIXTURE)", dir.display())
    });
    let pkg = env
        .lines()
        .find_map(|l| l.strip_prefix("PKG="))
        .map(|v| v.trim_matches('\'').to_string())
        .expect("PKG in fixture.env");
    (
        pkg.clone(),
        dir.join("src").join(&pkg),
        dir.join("rpms").join(format!("{pkg}.git")),
    )
}

/// Local repositories shaped for the fake GitLab: source-git `c10s` (upstream + `.distro/`)
/// and `fix-1`… (the downstream commits); dist-git `c10s`.
fn prepare_repos(
    tmp: &Path,
    sg_fixture: &Path,
    dg_fixture: &Path,
    runs: usize,
) -> (PathBuf, PathBuf) {
    let sg = tmp.join("sg");
    let dg = tmp.join("dg");
    git(
        tmp,
        &[
            "clone",
            "-q",
            "-b",
            "main",
            &sg_fixture.display().to_string(),
            &sg.display().to_string(),
        ],
    );
    git(
        tmp,
        &[
            "clone",
            "-q",
            "-b",
            "rawhide",
            &dg_fixture.display().to_string(),
            &dg.display().to_string(),
        ],
    );
    let init = git(
        &sg,
        &[
            "log",
            "--format=%H",
            "--grep=^Initialize as a source-git repository",
            "-1",
        ],
    );
    git(&sg, &["branch", "c10s", &init]);
    for i in 1..=runs {
        git(&sg, &["branch", &format!("fix-{i}"), "main"]);
    }
    git(&dg, &["branch", "c10s", "rawhide"]);
    (sg, dg)
}

struct Bench {
    gl: FakeGitLab,
    server_started: Instant,
    tmp: tempfile::TempDir,
    settings: PathBuf,
    src: String,
    rpms: String,
}

fn setup(runs: usize) -> Bench {
    setup_with(fixture(), runs)
}

fn setup_with((pkg, sg_fixture, dg_fixture): (String, PathBuf, PathBuf), runs: usize) -> Bench {
    let tmp = tempfile::tempdir().unwrap();
    let (sg, dg) = prepare_repos(tmp.path(), &sg_fixture, &dg_fixture, runs);
    let server_started = Instant::now();
    let gl = FakeGitLab::start_blocking(Options {
        clock: Clock::system(),
        ..Options::default()
    });
    let src = format!("redhat/centos-stream/src/{pkg}");
    let rpms = format!("redhat/centos-stream/rpms/{pkg}");
    gl.add_user(UserSpec::new("srcgit-bot").bot().token(TOKEN))
        .unwrap();
    gl.add_user(UserSpec::new("packager").token("glpat-packager-0123456789"))
        .unwrap();
    gl.add_project(ProjectSpec::new(&src).seed_from(&sg))
        .unwrap();
    let ci = CiDefinition::new(vec![
        CiJob::new("rpmbuild", "build").duration(Duration::from_secs(3600)),
    ]);
    gl.add_project(ProjectSpec::new(&rpms).seed_from(&dg).ci(ci))
        .unwrap();
    for group in ["redhat/centos-stream/src", "redhat/centos-stream/rpms"] {
        gl.add_group_member(group, "srcgit-bot", AccessLevel::Developer)
            .unwrap();
        gl.add_group_member(group, "packager", AccessLevel::Developer)
            .unwrap();
    }
    let token_file = tmp.path().join("token");
    std::fs::write(&token_file, TOKEN).unwrap();
    std::fs::set_permissions(
        &token_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let settings = tmp.path().join("srcgit.toml");
    std::fs::write(
        &settings,
        format!(
            "gitlab_url = \"{}\"\ntoken_file = \"{}\"\ndatabase = \"{}\"\nwork_dir = \"{}\"\nfork_namespace = \"srcgit-bot\"\n\n\
             [[mapping]]\nsource_git = \"redhat/centos-stream/src\"\ndist_git = \"redhat/centos-stream/rpms\"\n\n\
             [poll]\ninterval_seconds = {POLL_INTERVAL}\ntimeout_seconds = 3600\n",
            gl.url(),
            token_file.display(),
            tmp.path().join("srcgit.sqlite").display(),
            tmp.path().join("work").display()
        ),
    )
    .unwrap();
    Bench {
        gl,
        server_started,
        tmp,
        settings,
        src,
        rpms,
    }
}

struct Measured {
    to_mr_opened: Duration,
    requests_per_interval: f64,
}

/// A srcgit job in a new pipeline of an MR, with the files gitlab-runner would give it,
/// already through `prepare`.
struct BenchJob {
    job: fake_gitlab::SeededJob,
    dir: PathBuf,
    response: PathBuf,
}

impl BenchJob {
    fn prepared(b: &Bench, mr: &fake_gitlab::MergeRequest, tag: &str) -> BenchJob {
        let job =
            b.gl.create_srcgit_pipeline(
                mr,
                SrcgitJob {
                    name: "srcgit".into(),
                    ..SrcgitJob::default()
                },
            )
            .unwrap();
        let dir = b.tmp.path().join(format!("runner-{tag}"));
        std::fs::create_dir_all(&dir).unwrap();
        let response = dir.join("response.json");
        std::fs::write(
            &response,
            serde_json::to_vec(&b.gl.job_response(job.job_id)).unwrap(),
        )
        .unwrap();
        std::fs::write(dir.join("script"), "#!/bin/sh\n").unwrap();
        let runner = BenchJob { job, dir, response };
        assert!(
            runner
                .srcgit(b, &["prepare"])
                .stdout(Stdio::null())
                .status()
                .unwrap()
                .success()
        );
        runner
    }

    /// `srcgit executor ARGS` in the runner's environment.
    fn srcgit(&self, b: &Bench, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_srcgit"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &self.dir)
            .env("TMPDIR", &self.dir)
            .env("BUILD_FAILURE_EXIT_CODE", "1")
            .env("SYSTEM_FAILURE_EXIT_CODE", "2")
            .env("JOB_RESPONSE_FILE", &self.response)
            .env("SRCGIT_CONFIG", &b.settings)
            .envs(b.gl.custom_env(self.job.job_id))
            .current_dir(&self.dir)
            .arg("executor")
            .args(args);
        cmd
    }

    /// The script path `run` is given (never executed).
    fn script_arg(&self) -> String {
        self.dir.join("script").display().to_string()
    }
}

/// One job: prepare, then `run build_script` until the rpms MR is open and mirroring is
/// steady, then cancel it like gitlab-runner does.
fn run_once(b: &Bench, run: usize) -> Measured {
    let branch = format!("fix-{run}");
    let mr =
        b.gl.create_merge_request(
            MrSpec::new(&b.src, &branch, &b.src, "c10s", "packager").title(format!("Bench {run}")),
        )
        .unwrap();
    let runner = BenchJob::prepared(b, &mr, &run.to_string());
    let (job, srcgit, script) = (
        &runner.job,
        |args: &[&str]| runner.srcgit(b, args),
        runner.script_arg(),
    );
    let opened_before = b.gl.merge_requests(&b.rpms).len();
    let started = Instant::now();
    let mut child = srcgit(&["run", &script, "build_script"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while b.gl.merge_requests(&b.rpms).len() == opened_before {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no rpms MR after two minutes"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let to_mr_opened = started.elapsed();
    // steady state: the downstream job runs for an hour; count what srcgit asks meanwhile
    let sha = b.gl.pipeline(job.pipeline_id).unwrap().sha;
    assert!(b.gl.wait_until(Duration::from_secs(60), |gl| {
        gl.statuses(&b.src, &sha)
            .iter()
            .any(|s| s.name == "dist-git: rpmbuild" && s.status == fake_gitlab::JobStatus::Running)
    }));
    std::thread::sleep(Duration::from_secs_f64(POLL_INTERVAL * 2.0));
    let from = b.server_started.elapsed();
    let window = Duration::from_secs_f64(POLL_INTERVAL * f64::from(WINDOW_INTERVALS));
    std::thread::sleep(window);
    let requests = b.gl.api_requests_between(from, from + window).len();
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
    srcgit(&["cleanup"]).status().unwrap();
    Measured {
        to_mr_opened,
        requests_per_interval: requests as f64 / f64::from(WINDOW_INTERVALS),
    }
}

/// Allocated size of everything under `path` (`du -s`), tolerating files that vanish.
fn disk_usage(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    let mut total = meta.blocks() * 512;
    if meta.is_dir()
        && let Ok(entries) = std::fs::read_dir(path)
    {
        for entry in entries.flatten() {
            total += disk_usage(&entry.path());
        }
    }
    total
}

/// One measured job of part 2.
struct CacheRun {
    to_mr: Duration,
    /// From `run build_script` start to the push to the bot fork answered.
    to_push: Duration,
    /// `fetched …` per cache, as the job log says.
    fetch_lines: Vec<String>,
    fetched: u64,
    peak_job_disk: u64,
    cache_disk: u64,
}

/// The bytes of the job log's `srcgit: fetched … into the git cache` lines.
fn fetched_bytes(log: &str) -> u64 {
    log.lines()
        .filter_map(|l| {
            let rest = l.split("srcgit: fetched ").nth(1)?;
            let (amount, _) = rest.split_once(" into the git cache ")?;
            match amount.split_once(" (") {
                Some((_, exact)) => exact.trim_end_matches(" bytes)").parse::<u64>().ok(),
                None => amount.trim_end_matches(" bytes").parse::<u64>().ok(),
            }
        })
        .sum()
}

/// One job of `mr`, measured until `done` says the rpms side is there, then stopped.
fn cache_job(
    b: &Bench,
    mr: &fake_gitlab::MergeRequest,
    tag: &str,
    done: &dyn Fn() -> bool,
) -> CacheRun {
    let runner = BenchJob::prepared(b, mr, tag);
    let (job, dir) = (&runner.job, &runner.dir);
    let (srcgit, script) = (|args: &[&str]| runner.srcgit(b, args), runner.script_arg());
    let job_dir = b
        .tmp
        .path()
        .join("work")
        .join(format!("job-{}", job.job_id));
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (stop, peak, job_dir) = (stop.clone(), peak.clone(), job_dir.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(disk_usage(&job_dir), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let log_path = dir.join("job.log");
    // Polled every 2 ms while the job runs on the same two cores: only new requests are
    // looked at, so the poll costs the same for the tenth job as for the first.
    let mut seen = b.gl.requests().last().map_or(0, |r| r.seq + 1);
    let mut to_push = None;
    let started = Instant::now();
    let mut child = srcgit(&["run", &script, "build_script"])
        .stdout(std::fs::File::create(&log_path).unwrap())
        .stderr(std::fs::File::create(dir.join("operator.log")).unwrap())
        .spawn()
        .unwrap();
    while !done() {
        if to_push.is_none() {
            let new = b.gl.requests_since(seen);
            if new
                .iter()
                .any(|r| r.method == "POST" && r.path.ends_with("git-receive-pack"))
            {
                to_push = Some(started.elapsed());
            }
            seen = new.last().map_or(seen, |r| r.seq + 1);
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no rpms MR after five minutes: {}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let to_mr = started.elapsed();
    if std::env::var_os("SRCGIT_BENCH_TIMELINE").is_some() {
        let t0 = b.server_started.elapsed() - to_mr;
        for r in b.gl.requests().iter().filter(|r| r.elapsed >= t0) {
            eprintln!(
                "  {:>7.3} s {} {}",
                (r.elapsed - t0).as_secs_f64(),
                r.method,
                r.path
            );
        }
    }
    // the job directory is complete once the MR is there; one more sample, then stop
    peak.fetch_max(disk_usage(&job_dir), Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
    srcgit(&["cleanup"]).stdout(Stdio::null()).status().unwrap();
    let log = std::fs::read_to_string(&log_path).unwrap();
    CacheRun {
        to_mr,
        to_push: to_push.unwrap_or(to_mr),
        fetch_lines: log
            .lines()
            .filter_map(|l| l.split("srcgit: ").nth(1))
            .filter(|l| l.starts_with("fetched "))
            .map(str::to_string)
            .collect(),
        fetched: fetched_bytes(&log),
        peak_job_disk: peak.load(Ordering::Relaxed),
        cache_disk: disk_usage(&b.tmp.path().join("work/cache")),
    }
}

/// One more commit on `branch` of the local source-git, pushed to the fake GitLab, without
/// a checkout: a new top-level file, committed from a temporary index.
fn push_one_commit(b: &Bench, branch: &str, n: usize) {
    let sg = b.tmp.path().join("sg");
    let index = b.tmp.path().join("bench-index");
    let with_index = |args: &[&str]| {
        let out = Command::new("git")
            .current_dir(&sg)
            .args(args)
            .env("GIT_INDEX_FILE", &index)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let note = sg.join("bench-note.txt");
    std::fs::write(&note, format!("bench change {n}\n")).unwrap();
    let blob = git(&sg, &["hash-object", "-w", "bench-note.txt"]);
    std::fs::remove_file(&note).unwrap();
    with_index(&["read-tree", branch]);
    with_index(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("100644,{blob},bench-note-{n}.txt"),
    ]);
    let tree = with_index(&["write-tree"]);
    let commit = git(
        &sg,
        &[
            "commit-tree",
            &tree,
            "-p",
            branch,
            "-m",
            &format!("Bench change {n}"),
        ],
    );
    git(
        &sg,
        &["update-ref", &format!("refs/heads/{branch}"), &commit],
    );
    let url = b.gl.authenticated_clone_url(&b.src, TOKEN).unwrap();
    git(&sg, &["push", "-q", &url, &format!("{branch}:{branch}")]);
}

fn median_of(runs: &[CacheRun], f: impl Fn(&CacheRun) -> f64) -> (f64, f64, f64) {
    let mut v: Vec<f64> = runs.iter().map(f).collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn mib(bytes: f64) -> f64 {
    bytes / (1024.0 * 1024.0)
}

/// Part 2 on one fixture.
fn cache_bench(name: &str, cold_runs: usize, warm_runs: usize) {
    let dir = fixtures_dir().join(name);
    if !dir.join("fixture.env").exists() {
        println!("\n(no fixture {name} at {}; skipped)", dir.display());
        return;
    }
    let b = setup_with(fixture_at(&dir), cold_runs);
    let commits = git(
        &b.tmp.path().join("sg"),
        &["rev-list", "--count", "c10s..main"],
    );
    println!("\n### git cache: {name} ({commits} downstream commits)\n");
    println!(
        "| job | run build_script → pushed | → rpms MR | fetched | job dir peak disk | cache after |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let row = |what: &str, r: &CacheRun| {
        if std::env::var_os("SRCGIT_BENCH_VERBOSE").is_some() {
            eprintln!("{what}: {}", r.fetch_lines.join("; "));
        }
        println!(
            "| {what} | {:.2} s | {:.2} s | {:.1} KiB | {:.2} MiB | {:.1} MiB |",
            r.to_push.as_secs_f64(),
            r.to_mr.as_secs_f64(),
            r.fetched as f64 / 1024.0,
            mib(r.peak_job_disk as f64),
            mib(r.cache_disk as f64)
        );
    };
    let mut cold = Vec::new();
    let mut last_mr = None;
    for i in 1..=cold_runs {
        let _ = std::fs::remove_dir_all(b.tmp.path().join("work/cache"));
        let branch = format!("fix-{i}");
        let mr =
            b.gl.create_merge_request(
                MrSpec::new(&b.src, &branch, &b.src, "c10s", "packager")
                    .title(format!("Bench {i}")),
            )
            .unwrap();
        let before = b.gl.merge_requests(&b.rpms).len();
        let r = cache_job(&b, &mr, &format!("{name}-cold-{i}"), &|| {
            b.gl.merge_requests(&b.rpms).len() > before
        });
        row(&format!("first (new MR, empty cache) {i}"), &r);
        cold.push(r);
        last_mr = Some((branch, mr));
    }
    let (branch, mr) = last_mr.unwrap();
    let mut warm = Vec::new();
    for i in 1..=warm_runs {
        if let Some(pause) = std::env::var("SRCGIT_BENCH_PAUSE")
            .ok()
            .and_then(|p| p.parse::<u64>().ok())
        {
            // runner hosts rarely run jobs back to back: let the file system settle
            std::thread::sleep(Duration::from_secs(pause));
        }
        push_one_commit(&b, &branch, i);
        let mr_now = b.gl.merge_request(&b.src, mr.iid).unwrap();
        let rpms_before: Vec<(u64, String)> =
            b.gl.merge_requests(&b.rpms)
                .into_iter()
                .map(|m| (m.iid, m.sha))
                .collect();
        let r = cache_job(&b, &mr_now, &format!("{name}-warm-{i}"), &|| {
            let now: Vec<(u64, String)> =
                b.gl.merge_requests(&b.rpms)
                    .into_iter()
                    .map(|m| (m.iid, m.sha))
                    .collect();
            now != rpms_before
        });
        row(&format!("second (+1 commit, warm cache) {i}"), &r);
        warm.push(r);
    }
    let summary = |what: &str, runs: &[CacheRun]| {
        let t = median_of(runs, |r| r.to_mr.as_secs_f64());
        let f = median_of(runs, |r| r.fetched as f64 / 1024.0);
        let d = median_of(runs, |r| mib(r.peak_job_disk as f64));
        println!(
            "{what}: median {:.2} s (spread {:.2}–{:.2}), fetched {:.1} KiB ({:.1}–{:.1}), job dir peak {:.2} MiB ({:.2}–{:.2})",
            t.0, t.1, t.2, f.0, f.1, f.2, d.0, d.1, d.2
        );
        t.0
    };
    println!();
    let first = summary("first jobs ", &cold);
    let second = summary("second jobs", &warm);
    println!("second/first time ratio: {:.2}", second / first);
    if std::env::var_os("SRCGIT_BENCH_KEEP").is_some() {
        println!("kept: {}", b.tmp.keep().display());
    }
}

fn main() {
    let fixtures = std::env::var("SRCGIT_BENCH_CACHE_FIXTURES")
        .unwrap_or_else(|_| "curl-50 systemd-500".into());
    let only_cache = std::env::var_os("SRCGIT_BENCH_ONLY_CACHE").is_some();
    if !only_cache {
        api_bench();
    }
    let count = |var: &str, default: usize| {
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (cold, warm) = (
        count("SRCGIT_BENCH_FIRST_JOBS", 3),
        count("SRCGIT_BENCH_SECOND_JOBS", 5),
    );
    for name in fixtures.split_whitespace() {
        cache_bench(name, cold, warm);
    }
}

/// Part 1.
fn api_bench() {
    let runs = 4;
    let bench = setup(runs);
    let commits = git(
        &bench.tmp.path().join("sg"),
        &["rev-list", "--count", "c10s..main"],
    );
    println!(
        "executor benchmark: {} with {commits} downstream commits, fake GitLab on loopback",
        bench.src
    );
    println!(
        "poll interval {POLL_INTERVAL} s; requests counted over {WINDOW_INTERVALS} intervals\n"
    );
    println!(
        "| run | bot fork | run build_script → rpms MR opened | API requests per poll interval |"
    );
    println!("|---|---|---:|---:|");
    let mut steady = Vec::new();
    for run in 1..=runs {
        let m = run_once(&bench, run);
        let fork = if run == 1 { "created" } else { "exists" };
        println!(
            "| {run} | {fork} | {:.2} s | {:.1} |",
            m.to_mr_opened.as_secs_f64(),
            m.requests_per_interval
        );
        if run > 1 {
            steady.push(m);
        }
    }
    steady.sort_by_key(|m| m.to_mr_opened);
    let median = &steady[steady.len() / 2];
    println!(
        "\nmedian with the fork in place: {:.2} s to the rpms MR (target ≤ 2 s); {:.1} requests per poll interval (target ≤ 2)",
        median.to_mr_opened.as_secs_f64(),
        median.requests_per_interval
    );
}
