//! `fake-gitlab-demo WORK_DIR EXAMPLE_DIR`: serves a seeded GitLab on `127.0.0.1:0` for
//! `examples/run-mr-demo.sh`, so the merge-request flow can be seen without a GitLab.
//!
//! The world: the bot `srcgit-bot` (Developer on `redhat/centos-stream/{src,rpms}`), the
//! source-git project `redhat/centos-stream/src/hello` and its dist-git project
//! `redhat/centos-stream/rpms/hello`, both built from `EXAMPLE_DIR` (examples/hello), and a
//! packager's merge request `fix → c10s` whose pipeline has a running `srcgit` job.
//!
//! It writes into WORK_DIR what gitlab-runner and the runner host would have: the srcgit
//! settings (`srcgit.toml`, token file mode 0600), the job's `JOB_RESPONSE_FILE`
//! (`job/response.json`) and its `CUSTOM_ENV_*` variables (`job/custom-env`, NUL-separated
//! `KEY=VALUE`), then `ready` holding the URL, and prints the URL. It then reads commands
//! on stdin, one per line:
//!
//! * `finish success|failed` — the runner reports the srcgit job's result; the demo prints
//!   the rpms merge request srcgit opened and the statuses mirrored onto the source MR;
//! * `close-source` — the packager closes the source-git merge request (then writes
//!   `closed` into WORK_DIR);
//! * `show-rpms` — prints the rpms merge requests with their state and notes;
//! * end of input — stop serving.
//!
//! Nothing here is secret: the token is a made-up value known only to this process and the
//! files it writes; it is never printed.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use fake_gitlab::{
    AccessLevel, CiDefinition, CiJob, Clock, FakeGitLab, JobStatus, MrSpec, Options, ProjectSpec,
    SeededJob, SrcgitJob, UserSpec,
};

const SRC_GROUP: &str = "redhat/centos-stream/src";
const RPMS_GROUP: &str = "redhat/centos-stream/rpms";
const SRC: &str = "redhat/centos-stream/src/hello";
const RPMS: &str = "redhat/centos-stream/rpms/hello";
const BOT: &str = "srcgit-bot";

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [work, example] = args.as_slice() else {
        eprintln!("usage: fake-gitlab-demo WORK_DIR EXAMPLE_DIR");
        std::process::exit(2);
    };
    if let Err(e) = run(work, example) {
        eprintln!("fake-gitlab-demo: {e}");
        std::process::exit(1);
    }
}

fn run(work: &Path, example: &Path) -> Result<()> {
    std::fs::create_dir_all(work.join("job"))?;
    let (sg, dg) = example_repos(&work.join("repos"), example)?;
    // One virtual minute per real second: the rpms pipeline takes about half a second.
    let gl = FakeGitLab::start_blocking(Options {
        clock: Clock::accelerated(60.0),
        fork_import_delay: Duration::from_secs(10),
        ..Options::default()
    });
    let token = format!("glpat-demo-{:016x}", fastrand_seed());
    seed(&gl, &token, &sg, &dg)?;
    let mr = gl.create_merge_request(
        MrSpec::new(SRC, "fix", SRC, "c10s", "packager")
            .title("Add the missing comma")
            .description("The greeting lacked a comma.\n\nResolves: RHEL-1234"),
    )?;
    let job = gl.create_srcgit_pipeline(
        &mr,
        SrcgitJob {
            name: "srcgit".into(),
            script: vec!["echo this script is never run".into()],
            ..SrcgitJob::default()
        },
    )?;
    write_runner_files(&gl, work, &token, &job)?;
    println!("fake GitLab serving on {}", gl.url());
    println!(
        "source-git merge request: {}/{SRC}/-/merge_requests/{} ({} → {})",
        gl.url(),
        mr.iid,
        mr.source_branch,
        mr.target_branch
    );
    std::fs::write(work.join("ready.tmp"), format!("{}\n", gl.url()))?;
    std::fs::rename(work.join("ready.tmp"), work.join("ready"))?;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        match line.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["finish", result] => {
                let status = match *result {
                    "success" => JobStatus::Success,
                    _ => JobStatus::Failed,
                };
                gl.set_job_status(job.job_id, status)?;
                report(&gl, &mr.sha);
            }
            ["close-source"] => {
                gl.close_merge_request(SRC, mr.iid, "packager")?;
                println!("The packager closed {SRC}!{}.", mr.iid);
                std::fs::write(work.join("closed"), "")?;
            }
            ["show-rpms"] => {
                for m in gl.merge_requests(RPMS) {
                    println!("{RPMS}!{}: {}", m.iid, m.state.as_str());
                    for note in gl.notes(RPMS, m.iid).into_iter().filter(|n| !n.system) {
                        println!("  note: {}", note.body.lines().next().unwrap_or_default());
                    }
                }
                std::fs::write(work.join("shown"), "")?;
            }
            [] => {}
            other => eprintln!("fake-gitlab-demo: unknown command {other:?}"),
        }
    }
    Ok(())
}

/// A value that differs per run, so the demo token is not a constant in the source.
fn fastrand_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    (nanos as u64) ^ u64::from(std::process::id()).rotate_left(32)
}

fn seed(gl: &FakeGitLab, token: &str, sg: &Path, dg: &Path) -> Result<()> {
    gl.add_user(UserSpec::new(BOT).name("srcgit bot").bot().token(token))?;
    gl.add_user(UserSpec::new("packager").name("Ann Packager"))?;
    gl.add_project(ProjectSpec::new(SRC).seed_from(sg))?;
    gl.add_project(ProjectSpec::new(RPMS).seed_from(dg).ci(rpms_ci()))?;
    for group in [SRC_GROUP, RPMS_GROUP] {
        gl.add_group_member(group, BOT, AccessLevel::Developer)?;
        gl.add_group_member(group, "packager", AccessLevel::Developer)?;
    }
    Ok(())
}

/// What the rpms project's merge-request pipelines run (in virtual time).
fn rpms_ci() -> CiDefinition {
    CiDefinition::new(vec![
        CiJob::new("rpmbuild", "build")
            .duration(Duration::from_secs(40))
            .trace("Building hello-1.0-2.el10\nWrote: hello-1.0-2.el10.x86_64.rpm\n"),
        CiJob::new("rpminspect", "test").duration(Duration::from_secs(20)),
        CiJob::new("rpmlint", "test")
            .duration(Duration::from_secs(5))
            .fails()
            .allow_failure(true)
            .trace("hello.x86_64: W: no-documentation\n"),
    ])
}

fn write_runner_files(gl: &FakeGitLab, work: &Path, token: &str, job: &SeededJob) -> Result<()> {
    let token_file = work.join("token");
    write_private(&token_file, format!("{token}\n").as_bytes())?;
    let settings = format!(
        r#"# srcgit settings for the demo (see runner-config/srcgit.toml.example)
gitlab_url = "{url}"
token_file = "{token_file}"
database = "{work}/srcgit.sqlite"
work_dir = "{work}/srcgit-work"
fork_namespace = "{BOT}"
log_file = "{work}/srcgit.log"

[[mapping]]
source_git = "{SRC_GROUP}"
dist_git = "{RPMS_GROUP}"
branches = '^c\d+s$'

[poll]
interval_seconds = 0.5
timeout_seconds = 300
"#,
        url = gl.url(),
        token_file = token_file.display(),
        work = work.display(),
    );
    std::fs::write(work.join("srcgit.toml"), settings)?;
    std::fs::write(
        work.join("job/response.json"),
        serde_json::to_vec_pretty(&gl.job_response(job.job_id))?,
    )?;
    let mut env = Vec::new();
    for (key, value) in gl.custom_env(job.job_id) {
        env.extend_from_slice(format!("{key}={value}").as_bytes());
        env.push(0);
    }
    write_private(&work.join("job/custom-env"), &env)?;
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    Ok(())
}

/// Prints the rpms merge request(s) and the statuses on the source MR's head.
fn report(gl: &FakeGitLab, head: &str) {
    println!();
    println!("== rpms merge request opened by srcgit");
    let mrs = gl.merge_requests(RPMS);
    if mrs.is_empty() {
        println!("(none)");
    }
    for mr in &mrs {
        let source = gl
            .projects()
            .into_iter()
            .find(|p| p.id == mr.source_project_id)
            .map_or_else(String::new, |p| p.path_with_namespace);
        println!("{RPMS}!{}  {}  [{}]", mr.iid, mr.title, mr.state.as_str());
        println!("  {}/{RPMS}/-/merge_requests/{}", gl.url(), mr.iid);
        println!(
            "  {source}:{} → {}  (head {})",
            mr.source_branch,
            mr.target_branch,
            &mr.sha[..mr.sha.len().min(12)]
        );
    }
    println!();
    println!(
        "== statuses on the source-git merge request (head {})",
        &head[..12]
    );
    let rows: Vec<[String; 4]> = gl
        .statuses(SRC, head)
        .into_iter()
        .filter(|s| !s.retried)
        .map(|s| {
            [
                s.name,
                format!("{:?}", s.status).to_lowercase(),
                s.description.unwrap_or_default(),
                s.target_url.unwrap_or_default(),
            ]
        })
        .collect();
    print_table(&["name", "status", "description", "link"], &rows);
}

fn print_table(header: &[&str; 4], rows: &[[String; 4]]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    line(rule.iter().map(String::as_str).collect());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    if rows.is_empty() {
        println!("(none)");
    }
}

/// examples/hello as a source-git repository (branches `c10s`: upstream v1.0 + the
/// `.distro/` commit, `fix`: the downstream commits) and a dist-git repository (`c10s`).
fn example_repos(root: &Path, example: &Path) -> Result<(PathBuf, PathBuf)> {
    if root.exists() {
        std::fs::remove_dir_all(root)?;
    }
    let dg = root.join("dist-git");
    let sg = root.join("source-git");
    std::fs::create_dir_all(&dg)?;
    std::fs::create_dir_all(&sg)?;
    git(&dg, &["init", "-q", "-b", "c10s"])?;
    copy_tree(&example.join("dist-git"), &dg)?;
    git(&dg, &["add", "-A"])?;
    git(&dg, &["commit", "-q", "-m", "Import hello 1.0"])?;
    let dg_head = git(&dg, &["rev-parse", "HEAD"])?;
    git(&sg, &["init", "-q", "-b", "c10s"])?;
    copy_tree(&example.join("upstream"), &sg)?;
    git(&sg, &["add", "-A"])?;
    git(&sg, &["commit", "-q", "-m", "Release 1.0"])?;
    git(&sg, &["tag", "-a", "-m", "hello 1.0", "v1.0"])?;
    copy_tree(&example.join("distro"), &sg.join(".distro"))?;
    git(&sg, &["add", "-f", ".distro"])?;
    let message =
        format!("Initialize as a source-git repository\n\nFrom-dist-git-commit: {dg_head}\n");
    git(&sg, &["commit", "-q", "-m", &message])?;
    git(&sg, &["checkout", "-q", "-b", "fix"])?;
    let mut steps: Vec<PathBuf> = std::fs::read_dir(example.join("downstream"))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    steps.sort();
    for step in steps {
        copy_tree(&step.join("tree"), &sg)?;
        git(&sg, &["add", "-A"])?;
        let message = step.join("message").display().to_string();
        git(&sg, &["commit", "-q", "-F", &message])?;
    }
    git(&sg, &["checkout", "-q", "c10s"])?;
    Ok((sg, dg))
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Runs git with fixed identities and no user configuration; returns trimmed stdout.
fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Ann Packager")
        .env("GIT_AUTHOR_EMAIL", "ann@example.org")
        .env("GIT_COMMITTER_NAME", "Ann Packager")
        .env("GIT_COMMITTER_EMAIL", "ann@example.org")
        .env("GIT_AUTHOR_DATE", "1767225600 +0000")
        .env("GIT_COMMITTER_DATE", "1767225600 +0000")
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "git {} in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}
