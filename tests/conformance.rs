//! The conformance corpus: packit's recorded output for source-git / dist-git pairs
//! (`update-dist-git`, `status` and `update-source-git` cases).
//!
//! Every case that records packit's correct behaviour is compared with the corpus's own
//! `compare.py` (exact bytes of the tree, `git status`, the commit, stdout). The cases that
//! record a packit bug are checked against their `fixed_expectation` instead, because srcgit
//! fixes those bugs (README "Differences from packit").

mod common;

use std::process::Command;

use common::corpus::{self, Case};

fn git_version() -> String {
    let out = Command::new("git").arg("--version").output().expect("git");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .trim_start_matches("git version ")
        .to_string()
}

/// Runs compare.py on one case with srcgit as the tool.
fn compare(case: &str) {
    let dir = corpus::dir();
    let mut cmd = Command::new("python3");
    cmd.arg(dir.join("compare.py"))
        .arg(dir.join("cases").join(case))
        .args(["--run", env!("CARGO_BIN_EXE_srcgit")])
        .args([
            "--map",
            "source-git update-dist-git=convert",
            "--map",
            "source-git status=status",
            "--map",
            "source-git update-source-git=update-source-git",
        ]);
    // The recorded patches carry git 2.47.3's signature; other versions may only differ there.
    if git_version() != "2.47.3" {
        cmd.arg("--normalize-git-version");
    }
    let out = cmd.output().expect("python3 runs compare.py");
    assert!(
        out.status.success(),
        "compare.py {case}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

macro_rules! exact {
    ($name:ident, $case:literal) => {
        #[test]
        fn $name() {
            compare($case);
        }
    };
}

exact!(case_01_trailer_basic, "01-trailer-basic");
exact!(
    case_02_trailer_status_blank_line,
    "02-trailer-status-blank-line"
);
exact!(
    case_03_trailer_present_in_specfile,
    "03-trailer-present-in-specfile"
);
exact!(case_05_trailer_yaml_values, "05-trailer-yaml-values");
exact!(case_06_legacy_yaml_metadata, "06-legacy-yaml-metadata");
exact!(
    case_09_default_names_sanitized,
    "09-default-names-sanitized"
);
exact!(case_10_long_folded_subject, "10-long-folded-subject");
exact!(
    case_11_non_ascii_subject_author,
    "11-non-ascii-subject-author"
);
exact!(case_12_squash_adjacent, "12-squash-adjacent");
exact!(case_15_source_in_if_endif, "15-source-in-if-endif");
exact!(
    case_16_align_source_single_space,
    "16-align-source-single-space"
);
exact!(case_17_align_existing_4_digit, "17-align-existing-4-digit");
exact!(case_18_align_existing_tab, "18-align-existing-tab");
exact!(case_19_align_unnumbered, "19-align-unnumbered");
exact!(case_20_digits_zero, "20-digits-zero");
exact!(
    case_21_first_update_after_init,
    "21-first-update-after-init"
);
exact!(case_22_undo_identical, "22-undo-identical");
exact!(
    case_23_changed_patch_rewritten,
    "23-changed-patch-rewritten"
);
exact!(case_25_distro_only_commits, "25-distro-only-commits");
exact!(case_26_mixed_distro_and_code, "26-mixed-distro-and-code");
exact!(case_27_files_to_sync_custom, "27-files-to-sync-custom");
exact!(case_28_ignore_paths, "28-ignore-paths");
exact!(case_29_binary_file, "29-binary-file");
exact!(case_30_rename_and_delete, "30-rename-and-delete");
exact!(case_31_empty_range_force, "31-empty-range-force");
exact!(case_32_merge_contained, "32-merge-contained");
exact!(case_33_merge_linearized, "33-merge-linearized");
exact!(case_34_guard_up_to_date, "34-guard-up-to-date");
exact!(case_35_guard_dist_git_ahead, "35-guard-dist-git-ahead");
exact!(case_36_guard_diverged, "36-guard-diverged");
exact!(case_37_guard_no_trailers, "37-guard-no-trailers");
exact!(case_38_force_flag, "38-force-flag");
exact!(
    case_39_pristine_untracked_file,
    "39-pristine-untracked-file"
);
exact!(case_40_pristine_empty_dir, "40-pristine-empty-dir");
exact!(case_41_pristine_ignored_file, "41-pristine-ignored-file");
exact!(case_43_commit_message, "43-commit-message");
exact!(case_44_commit_message_dashes, "44-commit-message-dashes");
exact!(
    case_45_commit_message_trailer_block,
    "45-commit-message-trailer-block"
);
exact!(
    case_46_force_nothing_to_commit,
    "46-force-nothing-to-commit"
);
exact!(case_49_upstream_ref_option, "49-upstream-ref-option");
exact!(case_50_no_upstream_ref, "50-no-upstream-ref");
exact!(case_51_sync_rules, "51-sync-rules");
exact!(case_52_spec_crlf, "52-spec-crlf");
exact!(case_53_commit_body_dashes, "53-commit-body-dashes");
exact!(
    case_54_guard_missing_sync_commit,
    "54-guard-missing-sync-commit"
);
exact!(case_55_status_no_trailers, "55-status-no-trailers");
exact!(case_56_status_ahead, "56-status-ahead");
exact!(case_57_status_behind, "57-status-behind");
exact!(case_58_status_diverged, "58-status-diverged");
exact!(case_59_status_up_to_date, "59-status-up-to-date");
exact!(case_60_usg_release_bump, "60-usg-release-bump");
exact!(case_61_usg_several_commits, "61-usg-several-commits");
exact!(case_62_usg_add_file, "62-usg-add-file");
exact!(case_63_usg_delete_file, "63-usg-delete-file");
exact!(case_64_usg_modify_subdir, "64-usg-modify-subdir");
exact!(case_65_usg_merge_commit, "65-usg-merge-commit");
exact!(case_66_usg_empty_commit, "66-usg-empty-commit");
exact!(case_67_usg_sources_refused, "67-usg-sources-refused");
exact!(case_68_usg_patch_refused, "68-usg-patch-refused");
exact!(case_69_usg_gitignore_skipped, "69-usg-gitignore-skipped");
exact!(
    case_70_usg_guard_source_git_ahead,
    "70-usg-guard-source-git-ahead"
);
exact!(case_71_usg_guard_diverged, "71-usg-guard-diverged");
exact!(case_72_usg_guard_up_to_date, "72-usg-guard-up-to-date");
exact!(case_73_usg_guard_no_trailers, "73-usg-guard-no-trailers");
exact!(case_75_usg_force_with_range, "75-usg-force-with-range");
exact!(case_76_usg_explicit_range, "76-usg-explicit-range");
exact!(
    case_77_usg_source_git_not_pristine,
    "77-usg-source-git-not-pristine"
);
exact!(case_78_usg_release_differs, "78-usg-release-differs");
exact!(case_79_usg_apply_conflict, "79-usg-apply-conflict");

const BUG_CASES: [&str; 15] = [
    "04-trailer-ignore-patch",
    "07-legacy-ignore",
    "08-legacy-empty-commit",
    "13-duplicate-name-non-adjacent",
    "14-patch-id-too-low",
    "24-squash-stale-second-part",
    "42-message-and-file-options",
    "47-old-patch-bare-diff",
    "48-no-prefix-trailer",
    "74-usg-force-without-range",
    "80-usg-rename-with-edits",
    "81-usg-rename-into-subdir",
    "82-usg-path-text-in-content",
    "83-usg-author-not-kept",
    "84-usg-binary-file",
];

#[test]
fn every_case_of_the_corpus_is_tested() {
    let source = include_str!("conformance.rs");
    for case in Case::all() {
        let listed = source.contains(&format!("\"{}\"", case.name));
        assert!(listed, "case {} has no test here", case.name);
        assert_eq!(
            case.is_packit_bug(),
            BUG_CASES.contains(&case.name.as_str()),
            "{}",
            case.name
        );
    }
}

/// Patch files the recorded (buggy) run left that no `Patch` tag of the spec names.
fn leftover_patches(case: &Case) -> Vec<String> {
    let spec = std::fs::read_to_string(
        case.dir
            .join("expected")
            .join(format!("{}.spec", case.package())),
    )
    .unwrap();
    corpus::expected_status(case)
        .lines()
        .filter_map(|l| l.strip_prefix("?? "))
        .filter(|name| name.ends_with(".patch"))
        .filter(|name| {
            !spec
                .lines()
                .any(|l| l.starts_with("Patch") && l.trim_end().ends_with(name))
        })
        .map(str::to_string)
        .collect()
}

/// Fixed expectation of cases 04 and 07: everything as recorded, minus the ignored file.
fn ignored_patch_leaves_no_file(case_name: &str) {
    let case = Case::load(case_name);
    let restored = corpus::restore(&case);
    let out = corpus::run_srcgit(&case, &restored);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let leftovers = leftover_patches(&case);
    assert_eq!(
        leftovers.len(),
        1,
        "the recorded run leaves exactly one ignored file: {leftovers:?}"
    );
    let mut expected = corpus::expected_tree(&case);
    expected.remove(&leftovers[0]);
    assert_eq!(corpus::tree(&restored.dg), expected);
    let expected_status: String = corpus::expected_status(&case)
        .lines()
        .filter(|l| !l.ends_with(&leftovers[0]))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(corpus::status(&restored), expected_status);
}

#[test]
fn case_04_ignored_trailer_patch_leaves_no_file() {
    ignored_patch_leaves_no_file("04-trailer-ignore-patch");
}

#[test]
fn case_07_ignored_legacy_patch_leaves_no_file() {
    ignored_patch_leaves_no_file("07-legacy-ignore");
}

#[test]
fn case_08_empty_legacy_commit_does_not_crash() {
    let case = Case::load("08-legacy-empty-commit");
    let restored = corpus::restore(&case);
    let out = corpus::run_srcgit(&case, &restored);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // the recorded half-updated tree is right except for the spec, which gets Patch3
    let mut expected = corpus::expected_tree(&case);
    let mut actual = corpus::tree(&restored.dg);
    expected.remove("quill.spec");
    actual.remove("quill.spec");
    assert_eq!(actual, expected);
    assert_eq!(
        std::fs::read(restored.dg.join("doc-only.patch")).unwrap(),
        b""
    );
    let spec = std::fs::read_to_string(restored.dg.join("quill.spec")).unwrap();
    let recorded = std::fs::read_to_string(case.dir.join("expected/quill.spec")).unwrap();
    let added: Vec<&str> = spec
        .lines()
        .filter(|l| !recorded.lines().any(|r| r == *l))
        .collect();
    assert!(
        added.last().is_some_and(|l| l.starts_with("Patch3:")
            && l.ends_with("0002-Reject-a-zero-or-non-numeric-column-width.patch")),
        "added lines: {added:?}"
    );
    assert!(
        added[..added.len() - 1].iter().all(|l| l.starts_with('#')),
        "added lines: {added:?}"
    );
}

/// Fixed expectation of cases 13, 14 and 42: packit's exit code and message, and dist-git
/// exactly as it was.
fn refused_without_touching_dist_git(case_name: &str, message: &str) {
    let case = Case::load(case_name);
    let restored = corpus::restore(&case);
    let out = corpus::run_srcgit(&case, &restored);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(message), "stderr: {stderr}");
    assert_eq!(corpus::status(&restored), "");
    let head = corpus::git(&restored.dg, &restored.home, &["rev-parse", "HEAD"]);
    let dist_git = case.meta["dist_git"].as_table().unwrap();
    assert_eq!(head.trim(), dist_git["head"].as_str().unwrap());
}

#[test]
fn case_13_non_adjacent_duplicate_name_leaves_dist_git_untouched() {
    refused_without_touching_dist_git(
        "13-duplicate-name-non-adjacent",
        "Non-adjacent patches cannot have the same name: layout.patch.",
    );
}

#[test]
fn case_14_patch_id_too_low_leaves_dist_git_untouched() {
    refused_without_touching_dist_git(
        "14-patch-id-too-low",
        "is less than or equal to the last used patch ID",
    );
}

#[test]
fn case_42_message_and_file_is_a_usage_error() {
    refused_without_touching_dist_git("42-message-and-file-options", "cannot be used with");
}

#[test]
fn case_24_squashed_patch_is_compared_on_every_part() {
    let case = Case::load("24-squash-stale-second-part");
    let restored = corpus::restore(&case);
    let out = corpus::run_srcgit(&case, &restored);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(corpus::status(&restored), " M layout-fixes.patch\n");
    let patch = std::fs::read_to_string(restored.dg.join("layout-fixes.patch")).unwrap();
    let parts = patch
        .lines()
        .filter(|l| l.starts_with("From ") && l.ends_with(" Mon Sep 17 00:00:00 2001"))
        .count();
    assert_eq!(parts, 3, "{patch}");
    // the third part is the new commit's change, which packit silently dropped
    let newest = corpus::git(&restored.sg, &restored.home, &["rev-parse", "HEAD"]);
    assert!(patch.contains(newest.trim()));
}

#[test]
fn case_47_old_bare_diff_keeps_its_bytes() {
    let case = Case::load("47-old-patch-bare-diff");
    let restored = corpus::restore(&case);
    let out = corpus::run_srcgit(&case, &restored);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        corpus::status(&restored),
        " M quill.spec\n?? 0002-Count-a-tab-as-eight-columns-in-measure_width.patch\n"
    );
    let expected = corpus::expected_tree(&case);
    let actual = corpus::tree(&restored.dg);
    let name = "0002-Count-a-tab-as-eight-columns-in-measure_width.patch";
    assert_eq!(actual[name], expected[name]);
    let spec = std::fs::read_to_string(restored.dg.join("quill.spec")).unwrap();
    let tags: Vec<&str> = spec.lines().filter(|l| l.starts_with("Patch")).collect();
    assert_eq!(tags.len(), 2, "{tags:?}");
    assert!(
        tags[0].starts_with("Patch1:") && tags[0].ends_with("centre.patch"),
        "{tags:?}"
    );
    assert!(
        tags[1].starts_with("Patch2:") && tags[1].ends_with(name),
        "{tags:?}"
    );
}

/// packit's own (never executed) `remove_prefixes`: what `No-prefix` was meant to do.
fn without_prefixes(text: &str) -> String {
    text.lines()
        .map(|l| {
            if let Some(rest) = l.strip_prefix("diff --git a/") {
                format!("diff --git {}", rest.replacen(" b/", " ", 1))
            } else if let Some(rest) = l.strip_prefix("--- a/") {
                format!("--- {rest}")
            } else if let Some(rest) = l.strip_prefix("+++ b/") {
                format!("+++ {rest}")
            } else {
                l.to_string()
            }
        })
        .map(|l| l + "\n")
        .collect()
}

#[test]
fn case_48_no_prefix_trailer_is_honoured() {
    let case = Case::load("48-no-prefix-trailer");
    let restored = corpus::restore(&case);
    let out = corpus::run_srcgit(&case, &restored);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(corpus::status(&restored), corpus::expected_status(&case));
    let mut expected = corpus::expected_tree(&case);
    let mut actual = corpus::tree(&restored.dg);
    let name = "hyphen-break.patch";
    expected.remove(name);
    actual.remove(name);
    assert_eq!(actual, expected);
    let recorded = std::fs::read_to_string(case.dir.join("expected").join(name)).unwrap();
    let ours = std::fs::read_to_string(restored.dg.join(name)).unwrap();
    assert_ne!(ours, recorded);
    assert_eq!(ours, without_prefixes(&recorded));
}

// --- update-source-git: the packit bugs srcgit fixes ----------------------------------

/// Runs a usg case and checks that it succeeded with a clean source-git and an untouched
/// dist-git.
fn run_usg(case: &Case) -> corpus::Restored {
    let restored = corpus::restore(case);
    let out = corpus::run_srcgit(case, &restored);
    assert!(
        out.status.success(),
        "{}: {}",
        case.name,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(corpus::source_git_status(&restored), "", "{}", case.name);
    assert_eq!(corpus::status(&restored), "", "dist-git is only read");
    let dg_head = corpus::git(&restored.dg, &restored.home, &["rev-parse", "HEAD"]);
    assert_eq!(dg_head.trim(), corpus::head_of(case, "dist_git"));
    restored
}

fn new_commits(case: &Case, restored: &corpus::Restored) -> String {
    corpus::describe_commits(
        &restored.sg,
        &restored.home,
        &corpus::head_of(case, "source_git"),
    )
}

/// The tree entry of a dist-git file at HEAD, as `corpus::tree` describes it.
fn dist_git_entry(restored: &corpus::Restored, path: &str) -> (String, String) {
    corpus::tree(&restored.dg)[path].clone()
}

#[test]
fn case_74_force_without_range_is_a_usage_error() {
    let case = Case::load("74-usg-force-without-range");
    let restored = corpus::restore(&case);
    let out = corpus::run_srcgit(&case, &restored);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("revision-range has to be specified when -f/--force is used"),
        "stderr: {stderr}"
    );
    assert!(!stderr.contains("Unexpected exception"), "stderr: {stderr}");
    assert_eq!(corpus::source_git_status(&restored), "");
    let head = corpus::git(&restored.sg, &restored.home, &["rev-parse", "HEAD"]);
    assert_eq!(head.trim(), corpus::head_of(&case, "source_git"));
    assert_eq!(corpus::tree(&restored.sg), corpus::expected_tree(&case));
}

#[test]
fn case_80_rename_keeps_its_edits() {
    let case = Case::load("80-usg-rename-with-edits");
    let restored = run_usg(&case);
    let mut expected = corpus::expected_tree(&case);
    let recorded = expected[".distro/quill.rpmlintrc"].clone();
    let dist_git = dist_git_entry(&restored, "quill.rpmlintrc");
    assert_ne!(recorded, dist_git, "packit dropped the edit");
    expected.insert(".distro/quill.rpmlintrc".into(), dist_git);
    assert!(!expected.contains_key(".distro/rpmlintrc"));
    assert_eq!(corpus::tree(&restored.sg), expected);
    assert_eq!(
        new_commits(&case, &restored),
        corpus::expected_commits(&case)
    );
}

#[test]
fn case_81_rename_keeps_its_directory() {
    let case = Case::load("81-usg-rename-into-subdir");
    let restored = run_usg(&case);
    let mut expected = corpus::expected_tree(&case);
    let moved = expected
        .remove(".distro/smoke.fmf")
        .expect("packit's basename move");
    expected.insert(".distro/plans/ci/".into(), ("dir".into(), "-".into()));
    expected.insert(".distro/plans/ci/smoke.fmf".into(), moved.clone());
    assert_eq!(moved, dist_git_entry(&restored, "plans/ci/smoke.fmf"));
    assert_eq!(corpus::tree(&restored.sg), expected);
    let recorded = corpus::expected_commits(&case);
    let fixed = recorded.replace(
        "D\t.distro/plans/smoke.fmf\nA\t.distro/smoke.fmf\n",
        "A\t.distro/plans/ci/smoke.fmf\nD\t.distro/plans/smoke.fmf\n",
    );
    assert_ne!(fixed, recorded);
    assert_eq!(new_commits(&case, &restored), fixed);
}

#[test]
fn case_82_path_text_in_content_is_kept() {
    let case = Case::load("82-usg-path-text-in-content");
    let restored = run_usg(&case);
    let synced = std::fs::read_to_string(restored.sg.join(".distro/gating.yaml")).unwrap();
    let dist_git = std::fs::read_to_string(restored.dg.join("gating.yaml")).unwrap();
    assert_eq!(synced, dist_git);
    assert!(
        synced.contains("rpms/quill-data/gating.yaml") && !synced.contains(".distro"),
        "{synced}"
    );
    let mut expected = corpus::expected_tree(&case);
    expected.insert(
        ".distro/gating.yaml".into(),
        dist_git_entry(&restored, "gating.yaml"),
    );
    assert_eq!(corpus::tree(&restored.sg), expected);
    assert_eq!(
        new_commits(&case, &restored),
        corpus::expected_commits(&case)
    );
}

#[test]
fn case_83_dist_git_author_is_kept() {
    let case = Case::load("83-usg-author-not-kept");
    let restored = run_usg(&case);
    assert_eq!(corpus::tree(&restored.sg), corpus::expected_tree(&case));
    let base = corpus::head_of(&case, "source_git");
    let range = format!("{base}..HEAD");
    let log = |repo: &std::path::Path, args: &[&str]| corpus::git(repo, &restored.home, args);
    let ours = log(
        &restored.sg,
        &[
            "log",
            "--reverse",
            "--format=%an <%ae> %ad|%cn <%ce>",
            "--date=raw",
            &range,
        ],
    );
    let trailers = log(
        &restored.sg,
        &[
            "log",
            "--reverse",
            "--format=%(trailers:key=From-dist-git-commit,valueonly)",
            &range,
        ],
    );
    let dist_git: Vec<String> = trailers
        .split_whitespace()
        .map(|sha| {
            log(
                &restored.dg,
                &["log", "-1", "--format=%an <%ae> %ad", "--date=raw", sha],
            )
            .trim()
            .to_string()
        })
        .collect();
    let ours: Vec<&str> = ours.lines().collect();
    assert_eq!(ours.len(), 2);
    for (line, author) in ours.iter().zip(&dist_git) {
        assert_eq!(line, &format!("{author}|Packit Bench <bench@example.org>"));
        assert!(!author.starts_with("Packit Bench"), "{author}");
    }
    // everything else as recorded
    let recorded = corpus::expected_commits(&case);
    let without_authors = |text: &str| -> String {
        text.lines()
            .filter(|l| !l.starts_with("Author: "))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    assert_eq!(
        without_authors(&new_commits(&case, &restored)),
        without_authors(&recorded)
    );
}

#[test]
fn case_84_binary_file_is_carried() {
    let case = Case::load("84-usg-binary-file");
    let restored = run_usg(&case);
    let binary = ".distro/tests/data/input.gz";
    assert_eq!(
        std::fs::read(restored.sg.join(binary)).unwrap(),
        std::fs::read(restored.dg.join("tests/data/input.gz")).unwrap()
    );
    // packit's half-applied text change, now committed, plus the binary file
    let mut expected = corpus::expected_tree(&case);
    expected.insert(".distro/tests/".into(), ("dir".into(), "-".into()));
    expected.insert(".distro/tests/data/".into(), ("dir".into(), "-".into()));
    expected.insert(
        binary.into(),
        dist_git_entry(&restored, "tests/data/input.gz"),
    );
    assert_eq!(corpus::tree(&restored.sg), expected);
    let described = new_commits(&case, &restored);
    let recorded = corpus::expected_commits(&case);
    let first = recorded.replace("=== commit 1 of 1", "=== commit 1 of 2");
    assert!(described.starts_with(&first), "{described}");
    let dg_head = corpus::head_of(&case, "dist_git");
    assert!(
        described[first.len()..].starts_with("=== commit 2 of 2\n")
            && described.ends_with(&format!(
                "Changed paths:\nM\t.distro/plans/smoke.fmf\nA\t{binary}\nMessage:\n\
                 Add compressed input for the smoke test\n\nFrom-dist-git-commit: {dg_head}\n\n"
            )),
        "{described}"
    );
}
