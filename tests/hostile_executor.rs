//! Hostile input through the custom executor, driven like gitlab-runner against the fake
//! GitLab: a source-git MR whose `.distro/source-git.yaml` is a link to a host file, an
//! rpms project whose patch is a link to a host file, and operator mistakes in the
//! settings (a misplaced token line, non-finite numbers, a readable token file, a wrong
//! token, a 5xx body echoing the token) — none of which may leak a secret, write outside
//! the work tree, or end as anything but the runner's build/system exit codes.

mod common;

use std::os::unix::fs::symlink;
use std::path::Path;

use common::executor::*;
use fake_gitlab::Rule;

const HOST_SECRET: &str = "HOST-SECRET-runner-config-4b1d";

/// A host file (like `/etc/gitlab-runner/config.toml`) with a secret in it.
fn host_file(world: &World) -> std::path::PathBuf {
    let path = world.tmp.path().join("host-config.toml");
    std::fs::write(
        &path,
        format!("concurrent = 1\n[[runners]]\n  token = \"{HOST_SECRET}\"\n"),
    )
    .unwrap();
    path
}

/// Pushes a branch `name` of the source-git project with `change` committed on top of
/// `fix`, and opens an MR from it with the srcgit job.
fn hostile_mr(
    world: &World,
    name: &str,
    message: &str,
    change: impl FnOnce(&Path),
) -> (fake_gitlab::MergeRequest, fake_gitlab::SeededJob) {
    let local = world.tmp.path().join(name);
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
    change(&local);
    git(&local, &["add", "-A", "-f"]);
    git(&local, &["commit", "-q", "-m", message]);
    git(&local, &["push", "-q", "origin", &format!("fix:{name}")]);
    let mr = world
        .gl
        .create_merge_request(
            fake_gitlab::MrSpec::new(SRC, name, SRC, "c10s", "packager").title("Hostile"),
        )
        .unwrap();
    let job = world.srcgit_job(&mr);
    (mr, job)
}

fn assert_clean_log(run: &JobRun) {
    for secret in [BOT_TOKEN, HOST_SECRET] {
        assert!(!run.log.contains(secret), "{secret} leaked:\n{}", run.log);
    }
}

#[test]
fn a_config_linked_to_a_host_file_is_a_build_failure_that_prints_none_of_it() {
    let world = world(WorldOptions::default());
    let host = host_file(&world);
    let before = std::fs::read(&host).unwrap();
    let (mr, job) = hostile_mr(&world, "link-config", "Link the config", |sg| {
        let yaml = sg.join(".distro/source-git.yaml");
        std::fs::remove_file(&yaml).unwrap();
        symlink(&host, &yaml).unwrap();
    });
    let run = run_job(&world, &job);
    let build = run.stage("build_script");
    assert_eq!(build.code, BUILD_FAILURE, "{}", run.log);
    assert!(
        build.stderr.contains("source-git.yaml is a symbolic link"),
        "{}",
        build.stderr
    );
    assert_clean_log(&run);
    assert_eq!(std::fs::read(&host).unwrap(), before);
    assert_nothing_pushed(&world, mr.iid);
}

#[test]
fn a_spec_injection_in_a_patch_name_is_a_build_failure_and_nothing_is_pushed() {
    let world = world(WorldOptions::default());
    let message = "Hostile\n\nPatch-name: \"x.patch\\nRequires: evil\"\n";
    let (mr, job) = hostile_mr(&world, "inject", message, |sg| {
        std::fs::write(sg.join("x.txt"), "x\n").unwrap();
    });
    let run = run_job(&world, &job);
    let build = run.stage("build_script");
    assert_eq!(build.code, BUILD_FAILURE, "{}", run.log);
    assert!(build.stderr.contains("Patch-name"), "{}", build.stderr);
    assert!(rpms_mrs(&world).is_empty());
    assert!(
        world
            .gl
            .branch_head(FORK, &format!("c10s-src-{}", mr.iid))
            .is_none()
    );
}

#[test]
fn a_patch_link_in_the_rpms_repository_is_replaced_not_written_through() {
    let world = world(WorldOptions::default());
    let host = host_file(&world);
    let before = std::fs::read(&host).unwrap();
    // the rpms project tracks hello-comma.patch as a link to a host file
    let rpms = world.tmp.path().join("rpms-local");
    git(
        world.tmp.path(),
        &[
            "clone",
            "-q",
            "-b",
            "c10s",
            &world.gl.authenticated_clone_url(RPMS, BOT_TOKEN).unwrap(),
            &rpms.display().to_string(),
        ],
    );
    symlink(&host, rpms.join("hello-comma.patch")).unwrap();
    git(&rpms, &["add", "-A"]);
    git(&rpms, &["commit", "-q", "-m", "A link"]);
    git(&rpms, &["push", "-q", "origin", "c10s"]);
    // without `delete: true` the sync leaves the link for the patch writer
    let (_mr, job) = hostile_mr(&world, "no-delete", "Sync without delete", |sg| {
        let yaml = sg.join(".distro/source-git.yaml");
        let text = std::fs::read_to_string(&yaml)
            .unwrap()
            .replace("delete: true", "delete: false");
        std::fs::write(&yaml, text).unwrap();
    });
    let run = run_job(&world, &job);
    assert_eq!(
        std::fs::read(&host).unwrap(),
        before,
        "the host file was written through the link"
    );
    assert_clean_log(&run);
    let build = run.stage("build_script");
    assert_ne!(build.code, 101, "{}", run.log);
    assert!(
        build.code == 0 || build.code == BUILD_FAILURE,
        "{}",
        run.log
    );
}

/// The settings file with `edit` applied.
fn edit_settings(world: &World, edit: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(&world.settings).unwrap();
    std::fs::write(&world.settings, edit(text)).unwrap();
}

#[test]
fn a_misplaced_token_line_in_the_settings_never_reaches_the_job_log() {
    let world = world(WorldOptions::default());
    edit_settings(&world, |t| {
        t.replace("[poll]\n", &format!("[poll]\ntoken = \"{BOT_TOKEN}\"\n"))
    });
    let (_mr, job) = world.packager_mr();
    let runner = RunnerJob::new(&world, &job);
    for args in [
        &["config"][..],
        &["prepare"][..],
        &["run", "/dev/null", "build_script"][..],
        &["cleanup"][..],
    ] {
        let out = runner.command(args).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!text.contains(BOT_TOKEN), "{args:?}: {text}");
        assert!(!text.contains("S3CR3T"), "{args:?}: {text}");
        assert!(text.contains("token"), "names the key: {args:?}: {text}");
        if args[0] != "config" {
            assert_eq!(out.status.code(), Some(SYSTEM_FAILURE), "{args:?}: {text}");
        }
    }
}

#[test]
fn non_finite_timeouts_are_a_system_failure_not_a_panic() {
    for value in ["inf", "nan", "1e300"] {
        let world = world(WorldOptions::default());
        edit_settings(&world, |t| {
            t.replace(
                "timeout_seconds = 120",
                &format!("timeout_seconds = {value}"),
            )
        });
        let (_mr, job) = world.packager_mr();
        let runner = RunnerJob::new(&world, &job);
        let out = runner.command(&["prepare"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(SYSTEM_FAILURE), "{value}: {stderr}");
        assert!(stderr.contains("poll.timeout_seconds"), "{value}: {stderr}");
    }
}

#[test]
fn a_token_file_others_can_read_is_refused_with_the_chmod() {
    let world = world(WorldOptions::default());
    let token_file = world.tmp.path().join("token");
    std::fs::set_permissions(
        &token_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let (_mr, job) = world.packager_mr();
    let runner = RunnerJob::new(&world, &job);
    let out = runner.command(&["prepare"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(SYSTEM_FAILURE), "{stderr}");
    assert!(stderr.contains("chmod 600"), "{stderr}");
}

#[test]
fn a_wrong_token_is_a_system_failure_naming_the_setting() {
    let world = world(WorldOptions::default());
    let token_file = world.tmp.path().join("token");
    std::fs::write(&token_file, "glpat-wrong-0123456789\n").unwrap();
    let (_mr, job) = world.packager_mr();
    let runner = RunnerJob::new(&world, &job);
    let out = runner.command(&["prepare"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(SYSTEM_FAILURE), "{stderr}");
    assert!(stderr.contains("token_file"), "{stderr}");
    assert!(!stderr.contains("glpat-wrong"), "{stderr}");
}

#[test]
fn a_5xx_body_echoing_the_token_is_masked_in_the_operator_log() {
    let world = world(WorldOptions::default());
    let log_file = world.tmp.path().join("operator.log");
    edit_settings(&world, |t| {
        t.replace(
            "fork_namespace = \"srcgit-bot\"\n",
            &format!(
                "fork_namespace = \"srcgit-bot\"\nlog_file = \"{}\"\n",
                log_file.display()
            ),
        )
    });
    let (_mr, job) = world.packager_mr();
    world.gl.inject(
        Rule::new("GET", r"/merge_requests/\d+$")
            .reply_json(
                502,
                &serde_json::json!({"message": format!("upstream said: PRIVATE-TOKEN {BOT_TOKEN}")}),
            )
            .always(),
    );
    let mut runner = RunnerJob::new(&world, &job);
    runner.env.insert("RUST_LOG".into(), "trace".into());
    let out = runner.command(&["prepare"]).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains(BOT_TOKEN), "{text}");
    let log = std::fs::read_to_string(&log_file).unwrap_or_default();
    assert!(!log.is_empty(), "the operator log was written");
    assert!(!log.contains(BOT_TOKEN), "token in the operator log");
    assert!(!log.contains("S3CR3T"), "token in the operator log");
}
