//! The conformance corpus: packit's recorded output for 59 source-git / dist-git pairs.
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

const BUG_CASES: [&str; 9] = [
    "04-trailer-ignore-patch",
    "07-legacy-ignore",
    "08-legacy-empty-commit",
    "13-duplicate-name-non-adjacent",
    "14-patch-id-too-low",
    "24-squash-stale-second-part",
    "42-message-and-file-options",
    "47-old-patch-bare-diff",
    "48-no-prefix-trailer",
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
