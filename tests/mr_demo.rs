//! `examples/run-mr-demo.sh` works as the README says: it builds what it needs, runs the
//! srcgit job of a source-git MR against the test GitLab, and shows the job log, the rpms
//! merge request and the mirrored statuses, without printing the bot's token.

use std::process::Command;

#[test]
fn the_mr_demo_runs_the_whole_job() {
    let work = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/run-mr-demo.sh");
    let out = Command::new("bash")
        .arg(script)
        .arg(work.path())
        .env_remove("SRCGIT")
        .env_remove("FAKE_GITLAB_DEMO")
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed\n{stdout}\n{stderr}");
    let token = std::fs::read_to_string(work.path().join("token")).unwrap();
    let token = token.trim();
    assert!(token.starts_with("glpat-demo-"), "{token}");
    assert!(
        !stdout.contains(token) && !stderr.contains(token),
        "the token was printed"
    );
    for expected in [
        "fake GitLab serving on http://127.0.0.1:",
        "$ srcgit executor prepare",
        "$ srcgit executor run <script> build_script",
        "srcgit: opened redhat/centos-stream/rpms/hello!1",
        "srcgit: the dist-git pipeline passed",
        "== job result: success",
        "redhat/centos-stream/rpms/hello!1  Add the missing comma  [opened]",
        "srcgit-bot/hello:c10s-src-1 → c10s",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in\n{stdout}"
        );
    }
    // the statuses table: the pipeline and one row per downstream job
    let table: Vec<Vec<&str>> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("== statuses on the source-git merge request"))
        .skip(3)
        .take_while(|l| l.starts_with("dist-git"))
        .map(|l| {
            l.split("  ")
                .filter(|c| !c.is_empty())
                .map(str::trim)
                .collect()
        })
        .collect();
    let mut rows: Vec<(&str, &str)> = table.iter().map(|r| (r[0], r[1])).collect();
    rows.sort();
    assert_eq!(
        rows,
        [
            ("dist-git", "success"),
            ("dist-git: rpmbuild", "success"),
            ("dist-git: rpminspect", "success"),
            ("dist-git: rpmlint", "success"),
        ],
        "{stdout}"
    );
    assert!(stdout.contains("failed (allowed to fail)"), "{stdout}");
    // between jobs: the packager closes the source MR, the sweep closes the rpms MR
    assert!(
        stdout.contains(
            "redhat/centos-stream/src/hello!1 ↔ redhat/centos-stream/rpms/hello!1: would close the dist-git MR"
        ) && stdout.contains(
            "redhat/centos-stream/src/hello!1 ↔ redhat/centos-stream/rpms/hello!1: closed the dist-git MR (the source-git MR was closed)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("redhat/centos-stream/rpms/hello!1: closed"),
        "{stdout}"
    );
    assert!(stdout.contains("closed (source-closed)"), "{stdout}");
}
