use super::*;

fn patch(file: &str, subject: &str, body: &str) -> Generated {
    let text = format!(
        "From 84eb482301415abcada086c38a46bb12b411e6c6 Mon Sep 17 00:00:00 2001\n\
         From: A U Thor <a@example.org>\nDate: Fri, 3 Jan 2025 10:00:00 +0100\n\
         Subject: [PATCH 1/3] {subject}\n\n{body}---\n x.c | 1 +\n\n\
         diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1 +1,2 @@\n a\n+b\n-- \n2.47.3\n\n"
    );
    Generated {
        file_name: file.to_string(),
        bytes: text.into_bytes(),
    }
}

fn files(list: &[&Generated]) -> BTreeMap<String, Vec<u8>> {
    list.iter()
        .map(|g| (g.file_name.clone(), g.bytes.clone()))
        .collect()
}

#[test]
fn multi_line_patch_status_and_yaml_values() {
    let g = patch(
        "0001-Fix.patch",
        "Fix",
        "Body.\n\nPatch-name: fix.patch\nPatch-id: 010\nPatch-status: |\n    # Backport\n    upstream: yes\nPatch-present-in-specfile: yes\n",
    );
    let meta = from_trailers(&g).unwrap();
    assert_eq!(meta.name, "fix.patch");
    assert_eq!(meta.patch_id, Some(8), "YAML 1.1: 010 is octal");
    assert!(meta.present_in_specfile, "YAML 1.1: yes is true");
    assert_eq!(
        meta.description.as_deref(),
        Some("# Backport\nupstream: yes")
    );
    assert!(meta.metadata_defined);
}

#[test]
fn without_status_the_message_is_the_comment_and_all_trailers_go() {
    let g = patch(
        "0001-Fix.patch",
        "Fix it",
        "Because.\n\nSigned-off-by: A <a@b>\nPatch-name: fix.patch\n",
    );
    let meta = from_trailers(&g).unwrap();
    assert_eq!(meta.description.as_deref(), Some("Fix it\n\nBecause."));
    assert_eq!(meta.spec_comment(), "Fix it\n\nBecause.");
}

#[test]
fn a_value_starting_with_hash_is_null() {
    let g = patch("0001-Fix.patch", "Fix it", "Patch-status: # not a status\n");
    let meta = from_trailers(&g).unwrap();
    assert!(meta.metadata_defined);
    assert_eq!(meta.description.as_deref(), Some("Fix it"));
}

#[test]
fn wrong_types_are_named() {
    let g = patch("0001-Fix.patch", "Fix it", "Patch-id: seven\n");
    let err = from_trailers(&g).unwrap_err().to_string();
    assert!(err.contains("Patch-id") && err.contains("number"), "{err}");
}

#[test]
fn no_trailers_means_legacy_mode() {
    let g = patch("0001-Fix.patch", "Fix it", "Plain body.\n");
    let metas = trailer_metadata(&[g]).unwrap();
    assert_eq!(mode_of(&metas), Mode::Legacy);
}

#[test]
fn adjacent_same_names_are_squashed_in_order() {
    let a = patch("0001-A.patch", "A", "Patch-name: ab.patch\nPatch-id: 5\n");
    let b = patch("0002-B.patch", "B", "Patch-name: ab.patch\nPatch-id: 9\n");
    let c = patch("0003-C.patch", "C", "Body.\n");
    let metas = trailer_metadata(&[a.clone(), b.clone(), c.clone()]).unwrap();
    let plan = assemble(metas, Mode::Trailers, files(&[&a, &b, &c])).unwrap();
    assert_eq!(plan.patches.len(), 2);
    assert_eq!(plan.patches[0].name, "ab.patch");
    assert_eq!(
        plan.patches[0].patch_id,
        Some(5),
        "the first commit's metadata counts"
    );
    let mut joined = a.bytes.clone();
    joined.extend_from_slice(&b.bytes);
    assert_eq!(plan.files["ab.patch"], joined);
    assert!(!plan.files.contains_key("0001-A.patch") && !plan.files.contains_key("0002-B.patch"));
    assert_eq!(plan.files["0003-C.patch"], c.bytes);
}

#[test]
fn non_adjacent_same_names_are_refused() {
    let a = patch("0001-A.patch", "A", "Patch-name: x.patch\n");
    let b = patch("0002-B.patch", "B", "Body.\n");
    let c = patch("0003-C.patch", "C", "Patch-name: x.patch\n");
    let metas = trailer_metadata(&[a.clone(), b.clone(), c.clone()]).unwrap();
    let err = assemble(metas, Mode::Trailers, files(&[&a, &b, &c])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Non-adjacent patches cannot have the same name: x.patch."
    );
}

#[test]
fn names_that_escape_dist_git_are_refused() {
    for name in [
        "../evil.patch",
        "sub/dir.patch",
        ".gitignore",
        "sources",
        "",
    ] {
        let a = patch(
            "0001-A.patch",
            "A",
            &format!("Patch-name: '{name}'\nPatch-id: 3\n"),
        );
        let metas = trailer_metadata(std::slice::from_ref(&a)).unwrap();
        let result = assemble(metas, Mode::Trailers, files(&[&a]));
        if name.is_empty() {
            // an empty Patch-name falls back to git's file name, like packit's `or`
            assert_eq!(result.unwrap().patches[0].name, "0001-A.patch");
        } else {
            assert!(matches!(result, Err(PatchError::BadName { .. })), "{name}");
        }
    }
}

fn commit(sha: char, message: &str, is_empty: bool) -> RangeCommit {
    RangeCommit {
        sha: sha.to_string().repeat(40),
        message: message.to_string(),
        author_name: "Ann".into(),
        author_email: "ann@example.org".into(),
        is_empty,
    }
}

fn legacy_patch(file: &str, sha: char) -> Generated {
    Generated {
        file_name: file.into(),
        bytes: format!("From {} Mon Sep 17\n", sha.to_string().repeat(40)).into_bytes(),
    }
}

#[test]
fn legacy_metadata_pairs_commits_by_sha() {
    let files = [
        legacy_patch("0001-A.patch", 'a'),
        legacy_patch("0002-B.patch", 'b'),
    ];
    let commits = [
        commit(
            'a',
            "A\n\npatch_name: a.patch\ndescription: |-\n  Line one\n  Line two\n",
            false,
        ),
        commit('b', "Do B\n\nMore text.", false),
        commit('c', "Only .distro\n", false),
    ];
    let legacy = legacy_metadata(&files, &commits).unwrap();
    assert_eq!(legacy.patches.len(), 2);
    assert_eq!(legacy.patches[0].name, "a.patch");
    assert_eq!(legacy.patches[0].spec_comment(), "Line one\nLine two");
    assert_eq!(legacy.patches[1].name, "0002-B.patch");
    assert_eq!(
        legacy.patches[1].spec_comment(),
        "Do B\nAuthor: Ann <ann@example.org>"
    );
}

#[test]
fn legacy_ignored_and_empty_commits() {
    let files = [legacy_patch("0001-A.patch", 'a')];
    let commits = [
        commit('a', "A\n\nignore: true\n", false),
        commit(
            'e',
            "Empty\n\npatch_name: empty.patch\npresent_in_specfile: true\n",
            true,
        ),
        commit('f', "Empty, not in spec\n", true),
    ];
    let legacy = legacy_metadata(&files, &commits).unwrap();
    assert_eq!(legacy.patches.len(), 1);
    assert_eq!(legacy.patches[0].name, "empty.patch");
    assert_eq!(legacy.empty_files, vec!["empty.patch".to_string()]);
    let unnamed = [commit('e', "Empty\n\npresent_in_specfile: true\n", true)];
    assert!(matches!(
        legacy_metadata(&[], &unnamed),
        Err(PatchError::EmptyCommitWithoutName(_))
    ));
}

#[test]
fn legacy_squash_commits_appends_to_the_top_commit() {
    let metas = vec![
        PatchMeta {
            squash_commits: true,
            ..meta("top", "0001-top.patch")
        },
        meta("0002-x.patch", "0002-x.patch"),
        meta("0003-y.patch", "0003-y.patch"),
    ];
    let files: BTreeMap<String, Vec<u8>> = [
        ("0001-top.patch", "T"),
        ("0002-x.patch", "X"),
        ("0003-y.patch", "Y"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
    .collect();
    let plan = assemble(metas, Mode::Legacy, files).unwrap();
    assert_eq!(plan.patches.len(), 1);
    assert_eq!(plan.files["top"], b"TXY");
}

fn meta(name: &str, file: &str) -> PatchMeta {
    PatchMeta {
        name: name.into(),
        file: file.into(),
        description: None,
        present_in_specfile: false,
        ignore: false,
        squash_commits: false,
        patch_id: None,
        no_prefix: false,
        metadata_defined: false,
        commit: None,
        sha: None,
    }
}

#[test]
fn spec_comment_falls_back_to_the_name() {
    assert_eq!(
        meta("x.patch", "x.patch").spec_comment(),
        "Patch \"x.patch\""
    );
}
