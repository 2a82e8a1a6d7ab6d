//! Unit tests of planning through the public entry points: the init item, sources and
//! destinations, `--delete`, and the security refusals. Filter and glob tests live in
//! their modules, I/O tests in `sync_fs`.

use super::test_util::{deleting, filtered, init_item, item, mkpath, render, t};
use super::*;

/// The dist-git listing after planning `items`.
fn result(items: &[SyncItem], source: &Tree, dest: &Tree) -> Vec<String> {
    match plan(items, source, dest) {
        Ok(p) => render(&p.result),
        Err(e) => panic!("planning failed: {e}"),
    }
}

fn plan_err(items: &[SyncItem], source: &Tree, dest: &Tree) -> SyncError {
    match plan(items, source, dest) {
        Ok(p) => panic!("planning succeeded: {:#?}", p.ops),
        Err(e) => e,
    }
}

/// `(from, to)` of the file copies of a plan.
fn copies(items: &[SyncItem], source: &Tree, dest: &Tree) -> Vec<(String, String)> {
    let ops = plan_all(items, source, dest).unwrap_or_else(|e| panic!("{e}"));
    ops.into_iter()
        .filter_map(|op| match op {
            SyncOp::CopyFile { from, to, .. } => Some((from, to)),
            _ => None,
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

// ----- planning: the init item (case 51) ------------------------------------------

#[test]
fn init_item_reproduces_case_51() {
    let source = t(&[
        ".distro/.gitignore",
        ".distro/README.fedora -> plans/smoke.fmf",
        ".distro/gating.yaml",
        ".distro/plans/smoke.fmf",
        ".distro/quill.spec",
        ".distro/source-git.yaml",
        ".distro/tests/.gitignore",
        ".distro/tests/run-smoke.sh*",
        ".distro/tests/source-git.yaml",
        "src/main.c",
    ]);
    let dest = t(&[
        ".gitignore",
        ".gitlab-ci.yml",
        "README.packit",
        "gating.yaml",
        "plans/smoke.fmf",
        "quill.spec",
        "sources",
        "tests/.gitignore",
        "tests/old-smoke.sh",
    ]);
    let want = [
        ".gitignore",
        ".gitlab-ci.yml",
        "README.fedora -> plans/smoke.fmf",
        "gating.yaml",
        "plans/",
        "plans/smoke.fmf",
        "quill.spec",
        "sources",
        "tests/",
        "tests/.gitignore",
        "tests/run-smoke.sh*",
    ];
    assert_eq!(result(&[init_item()], &source, &dest), want);
}

#[test]
fn exclude_also_protects_and_is_not_copied() {
    let source = t(&[
        "d/a",
        "d/source-git.yaml",
        "d/sub/source-git.yaml",
        "d/sub/b",
    ]);
    let dest = t(&["source-git.yaml", "sub/source-git.yaml", "sub/old", "old"]);
    let it = deleting(filtered(item(&["d/"], "."), &["exclude source-git.yaml"]));
    let want = [
        "a",
        "source-git.yaml",
        "sub/",
        "sub/b",
        "sub/source-git.yaml",
    ];
    assert_eq!(result(&[it], &source, &dest), want);
    let copied = copies(&[deleting(item(&["d/"], "."))], &source, &dest);
    assert!(copied.iter().any(|(f, _)| f == "d/sub/source-git.yaml"));
}

#[test]
fn protect_risk_hide_show_order() {
    let source = t(&["d/a", "d/h"]);
    let dest = t(&["h", "k"]);
    let run = |rules: &[&str]| {
        result(
            &[deleting(filtered(item(&["d/"], "."), rules))],
            &source,
            &dest,
        )
    };
    // risk first: the receiver may delete h even though the sender hides it.
    assert_eq!(run(&["risk h", "exclude h"]), ["a"]);
    assert_eq!(run(&["exclude h", "risk h"]), ["a", "h"]);
    // hide: not sent, and deleted on the receiver; protect keeps it.
    assert_eq!(run(&["hide h"]), ["a"]);
    assert_eq!(run(&["hide h", "protect h"]), ["a", "h"]);
    let hidden = copies(
        &[filtered(item(&["d/"], "."), &["hide h", "protect h"])],
        &source,
        &dest,
    );
    assert_eq!(hidden, pairs(&[("d/a", "a")]));
    // show before exclude: sent (and it is in the file list, so not deleted).
    let shown = copies(
        &[filtered(item(&["d/"], "."), &["show h", "exclude h"])],
        &source,
        &dest,
    );
    assert_eq!(shown, pairs(&[("d/a", "a"), ("d/h", "h")]));
}

#[test]
fn delete_removes_files_and_directories_but_keeps_protected() {
    let source = t(&["s/a"]);
    let dest = t(&[
        "x",
        "gone/y/z",
        "keep/sources",
        "keep/q",
        "keep/sub/r",
        "empty/",
    ]);
    let it = deleting(filtered(item(&["s/"], "."), &["protect sources"]));
    assert_eq!(
        result(&[it], &source, &dest),
        ["a", "keep/", "keep/sources"]
    );
    // Without delete nothing goes.
    let kept = result(&[item(&["s/"], ".")], &source, &dest);
    assert_eq!(kept.len(), dest.len() + 1);
}

#[test]
fn perishable_protect_does_not_save_deleted_directories() {
    let source = t(&["s/a", "s/k/x"]);
    let dest = t(&["gone/p", "gone/q", "k/p", "k/q"]);
    let it = deleting(filtered(item(&["s/"], "."), &["P,p p"]));
    assert_eq!(result(&[it], &source, &dest), ["a", "k/", "k/p", "k/x"]);
    let it = deleting(filtered(item(&["s/"], "."), &["P p"]));
    assert_eq!(
        result(&[it], &source, &dest),
        ["a", "gone/", "gone/p", "k/", "k/p", "k/x"]
    );
}

#[test]
fn delete_only_inside_transferred_directories() {
    let source = t(&["d/a", "f"]);
    let dest = t(&["extra", "d/old"]);
    // Named directory: only dest/d is swept.
    assert_eq!(
        result(&[deleting(item(&["d"], "."))], &source, &dest),
        ["d/", "d/a", "extra"]
    );
    // A file argument sweeps nothing.
    assert_eq!(
        result(&[deleting(item(&["f"], "."))], &source, &dest),
        ["d/", "d/old", "extra", "f"]
    );
    // Anchored receiver patterns are relative to the transfer root.
    let dest = t(&["d/sources", "d/x/sources", "sources"]);
    let it = deleting(filtered(item(&["d"], "."), &["protect /d/sources"]));
    assert_eq!(
        result(&[it], &source, &dest),
        ["d/", "d/a", "d/sources", "sources"]
    );
}

// ----- planning: sources and destinations -----------------------------------------

#[test]
fn trailing_slash_copies_content_not_directory() {
    let source = t(&["d/a", "d/e/"]);
    let dest = Tree::new();
    assert_eq!(result(&[item(&["d/"], ".")], &source, &dest), ["a", "e/"]);
    assert_eq!(
        result(&[item(&["d"], ".")], &source, &dest),
        ["d/", "d/a", "d/e/"]
    );
    // `d/.` is resolved like packit's Path.resolve(): the directory itself.
    assert_eq!(
        result(&[item(&["d/."], ".")], &source, &dest),
        ["d/", "d/a", "d/e/"]
    );
    assert_eq!(
        result(&[item(&["x/../d/"], "")], &source, &dest),
        ["a", "e/"]
    );
    // An empty directory is created, also as a renamed copy.
    assert_eq!(result(&[item(&["d/e"], "new")], &source, &dest), ["new/"]);
}

#[test]
fn single_file_src_to_file_or_directory_dest() {
    let source = t(&["x.conf*"]);
    let run = |dest: &Tree, d: &str| result(&[item(&["x.conf"], d)], &source, dest);
    assert_eq!(run(&Tree::new(), "y.conf"), ["y.conf*"]);
    assert_eq!(run(&t(&["y.conf"]), "y.conf"), ["y.conf*"]);
    assert_eq!(run(&t(&["y/"]), "y"), ["y/", "y/x.conf*"]);
    assert_eq!(run(&Tree::new(), "new/"), ["new/", "new/x.conf*"]);
    let err = plan_err(&[item(&["x.conf"], "y/")], &source, &t(&["y"]));
    assert!(matches!(err, SyncError::DestNotADirectory { .. }), "{err}");
}

#[test]
fn multiple_srcs_need_a_directory() {
    let source = t(&["a", "b", "d/c"]);
    let items = [item(&["a", "b"], "new")];
    assert_eq!(
        result(&items, &source, &Tree::new()),
        ["new/", "new/a", "new/b"]
    );
    let err = plan_err(&items, &source, &t(&["new"]));
    assert!(matches!(err, SyncError::DestNotADirectory { .. }), "{err}");
    let err = plan_err(&[item(&["a", "b"], "n1/n2")], &source, &Tree::new());
    assert!(matches!(err, SyncError::DestParentMissing { .. }), "{err}");
    // A non-empty directory counts as more than one file.
    let err = plan_err(&[item(&["d"], "x")], &source, &t(&["x"]));
    assert!(matches!(err, SyncError::DestNotADirectory { .. }), "{err}");
    // An empty one cannot overwrite a file either.
    let err = plan_err(&[item(&["e"], "x")], &t(&["e/"]), &t(&["x"]));
    assert!(matches!(err, SyncError::DestNotADirectory { .. }), "{err}");
}

#[test]
fn mkpath_creates_missing_parents() {
    let source = t(&["a", "b"]);
    let empty = Tree::new();
    let run = |srcs: &[&str], d: &str| result(&[mkpath(item(srcs, d))], &source, &empty);
    assert_eq!(run(&["a"], "x/new"), ["x/", "x/new"]);
    assert_eq!(run(&["a"], "x/new/"), ["x/", "x/new/", "x/new/a"]);
    assert_eq!(
        run(&["a", "b"], "x/new"),
        ["x/", "x/new/", "x/new/a", "x/new/b"]
    );
    // Nothing to copy: only the parents (or the directory for a trailing '/').
    assert_eq!(run(&["nope"], "x/new"), ["x/"]);
    assert_eq!(run(&["nope"], "x/new/"), ["x/", "x/new/"]);
    let err = plan_err(&[item(&["a"], "x/new/")], &source, &empty);
    assert!(matches!(err, SyncError::DestParentMissing { .. }), "{err}");
    let err = plan_err(&[mkpath(item(&["a"], "f/new/"))], &source, &t(&["f"]));
    assert!(matches!(err, SyncError::DestParentMissing { .. }), "{err}");
}

#[test]
fn glob_src_skips_hidden_names_and_ignores_no_match() {
    let source = t(&[
        "contrib/q.conf",
        "contrib/.h.conf",
        "contrib/r.txt",
        "d/a/x",
        "d/b/y",
        "[x]",
    ]);
    let dest = Tree::new();
    let it = mkpath(item(&["contrib/*.conf"], "conf/"));
    assert_eq!(result(&[it], &source, &dest), ["conf/", "conf/q.conf"]);
    assert_eq!(
        result(&[item(&["contrib/.*"], ".")], &source, &dest),
        [".h.conf"]
    );
    assert_eq!(result(&[item(&["d/*/"], ".")], &source, &dest), ["x", "y"]);
    assert_eq!(
        result(&[item(&["d/*"], ".")], &source, &dest),
        ["a/", "a/x", "b/", "b/y"]
    );
    assert!(plan_all(&[item(&["*.nomatch"], ".")], &source, &dest).is_ok_and(|o| o.is_empty()));
    // No match: the literal name is tried (a file really named "[x]").
    assert_eq!(result(&[item(&["[x]"], ".")], &source, &dest), ["[x]"]);
}

#[test]
fn missing_src_ignored_unless_its_directory_is_missing() {
    let source = t(&["f", "d/"]);
    let dest = t(&["keep"]);
    assert!(
        plan_all(&[item(&["nope", "d/nope"], ".")], &source, &dest).is_ok_and(|o| o.is_empty())
    );
    for src in ["nope/", "nope/x", "d/nope/", "no*/"] {
        let err = plan_err(&[item(&[src], ".")], &source, &dest);
        assert!(
            matches!(err, SyncError::SrcDirMissing { .. }),
            "{src}: {err}"
        );
    }
    let err = plan_err(&[item(&["f/"], ".")], &source, &dest);
    assert!(matches!(err, SyncError::SrcNotADirectory { .. }), "{err}");
    let err = plan_err(&[item(&["f/x"], ".")], &source, &dest);
    assert!(matches!(err, SyncError::SrcDirMissing { .. }), "{err}");
}

#[test]
fn exec_bit_symlinks_and_modes_are_kept() {
    let mut source = t(&["d/run.sh*", "d/link -> run.sh", "d/plain"]);
    source.insert("d/priv", EntryKind::Dir { mode: 0o700 });
    let dest = t(&["link -> run.sh"]);
    let plan = plan(&[item(&["d/"], ".")], &source, &dest).unwrap_or_else(|e| panic!("{e}"));
    let want = ["link -> run.sh", "plain", "priv/ (700)", "run.sh*"];
    assert_eq!(render(&plan.result), want);
    // The identical link is left alone.
    assert!(
        !plan
            .ops
            .iter()
            .any(|op| matches!(op, SyncOp::CopySymlink { .. }))
    );
    // The content source sets the mode of the destination directory.
    let mut source = t(&["d/a"]);
    source.insert("d", EntryKind::Dir { mode: 0o750 });
    let ops =
        plan_item(&item(&["d/"], "."), &source, &Tree::new()).unwrap_or_else(|e| panic!("{e}"));
    assert!(ops.contains(&SyncOp::SetMode {
        path: String::new(),
        mode: 0o750
    }));
}

#[test]
fn src_symlink_is_resolved_like_packit() {
    // packit resolves src with Path.resolve(): the link's target is copied, under the
    // target's name, as a regular file.
    let source = t(&["d/f", "link -> d/f", "dlink -> d"]);
    assert_eq!(
        copies(&[item(&["link"], ".")], &source, &Tree::new()),
        pairs(&[("d/f", "f")])
    );
    assert_eq!(
        copies(&[item(&["dlink/"], ".")], &source, &Tree::new()),
        pairs(&[("d/f", "f")])
    );
    // A glob match keeps a symlink as a symlink.
    assert_eq!(
        result(&[item(&["l*"], ".")], &source, &Tree::new()),
        ["link -> d/f"]
    );
}

#[test]
fn duplicate_names_first_wins_directory_beats_file() {
    let source = t(&["x/f", "y/f", "y/g/inner", "x/g", "p/m/a", "q/m/b", "q/m/a"]);
    let dest = Tree::new();
    assert_eq!(
        copies(&[item(&["x/f", "y/f"], ".")], &source, &dest),
        pairs(&[("x/f", "f")])
    );
    assert_eq!(
        copies(&[item(&["y/f", "x/f"], ".")], &source, &dest),
        pairs(&[("y/f", "f")])
    );
    assert_eq!(
        result(&[item(&["x/g", "y/g"], ".")], &source, &dest),
        ["g/", "g/inner"]
    );
    let merged = copies(&[item(&["p/m", "q/m"], ".")], &source, &dest);
    assert_eq!(merged, pairs(&[("p/m/a", "m/a"), ("q/m/b", "m/b")]));
}

#[test]
fn entries_of_another_type_are_replaced() {
    let source = t(&["s/x", "s/y/z", "s/l -> x"]);
    let it = item(&["s/"], ".");
    // A file replaces an empty directory; a directory replaces a file or a symlink.
    let dest = t(&["x/", "y -> x", "l"]);
    assert_eq!(
        result(std::slice::from_ref(&it), &source, &dest),
        ["l -> x", "x", "y/", "y/z"]
    );
    // A non-empty directory only goes with --delete, and only if nothing is protected.
    let dest = t(&["x/a/b"]);
    let err = plan_err(std::slice::from_ref(&it), &source, &dest);
    assert!(matches!(err, SyncError::CannotReplaceDir { .. }), "{err}");
    assert_eq!(
        result(&[deleting(it.clone())], &source, &dest),
        ["l -> x", "x", "y/", "y/z"]
    );
    let err = plan_err(&[deleting(filtered(it, &["protect b"]))], &source, &dest);
    assert!(matches!(err, SyncError::CannotReplaceDir { .. }), "{err}");
}

#[test]
fn dest_made_a_symlink_by_an_earlier_item_is_refused() {
    let source = t(&["s/conf -> d", "f"]);
    let items = [item(&["s/"], "."), item(&["f"], "conf/")];
    let err = plan_err(&items, &source, &t(&["d/"]));
    assert!(
        matches!(&err, SyncError::DestBecameSymlink { link, .. } if link == "conf"),
        "{err}"
    );
}

#[test]
fn later_items_see_earlier_results() {
    let source = t(&["a", "b/c"]);
    let items = [item(&["a"], "x"), deleting(item(&["b/"], "."))];
    let ops = plan_all(&items, &source, &Tree::new()).unwrap_or_else(|e| panic!("{e}"));
    // The --delete sweep of a directory comes before its new content (rsync
    // --delete-during).
    let copy = |from: &str, to: &str| SyncOp::CopyFile {
        from: from.into(),
        to: to.into(),
        mode: 0o644,
    };
    let want = [
        copy("a", "x"),
        SyncOp::Remove { path: "x".into() },
        copy("b/c", "c"),
    ];
    assert_eq!(ops, want);
}

// ----- planning: security ---------------------------------------------------------

#[test]
fn paths_escaping_a_repository_are_refused() {
    let source = t(&["d/f", "up -> ..", "abs -> /etc", "deep/link -> ../../x"]);
    let dest = t(&["out -> ../elsewhere", "in/"]);
    for src in [
        "../x",
        "/etc/passwd",
        "d/../../x",
        "up/x",
        "abs/",
        "deep/link/",
    ] {
        let err = plan_err(&[item(&[src], ".")], &source, &dest);
        assert!(
            matches!(&err, SyncError::PathEscapes { repo: Repo::SourceGit, path } if path == src),
            "{src}: {err}"
        );
    }
    for d in ["..", "/tmp", "in/../../x", "out/"] {
        let err = plan_err(&[item(&["d/f"], d)], &source, &dest);
        assert!(
            matches!(&err, SyncError::PathEscapes { repo: Repo::DistGit, path } if path == d),
            "{d}: {err}"
        );
    }
    // `..` that stays inside is fine.
    assert!(plan(&[item(&["d/../d/f"], "in/../in/")], &source, &dest).is_ok());
}

#[test]
fn git_directories_are_off_limits() {
    let source = t(&["d/f", "hooks/pre-commit*"]);
    let err = plan_err(&[item(&[".git/config"], ".")], &source, &Tree::new());
    assert!(
        matches!(
            err,
            SyncError::GitDirPath {
                repo: Repo::SourceGit,
                ..
            }
        ),
        "{err}"
    );
    let err = plan_err(&[item(&["hooks/"], ".git/hooks/")], &source, &Tree::new());
    assert!(
        matches!(
            err,
            SyncError::GitDirPath {
                repo: Repo::DistGit,
                ..
            }
        ),
        "{err}"
    );
    // Even a hand-made source listing cannot write the dist-git .git.
    let sneaky = t(&["s/.git/config"]);
    let err = plan_err(&[item(&["s/"], ".")], &sneaky, &Tree::new());
    assert!(
        matches!(
            err,
            SyncError::GitDirPath {
                repo: Repo::DistGit,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn symlinks_leaving_the_repository_are_refused() {
    let refused = [
        (".distro/evil -> /etc/passwd", Repo::SourceGit),
        (".distro/up -> ../../x", Repo::SourceGit),
        (".distro/git -> ../.git/config", Repo::SourceGit),
        (".distro/sub/ok -> ../../LICENSE", Repo::DistGit),
        (".distro/hop -> l/../../x", Repo::SourceGit),
    ];
    for (link, repo) in refused {
        let source = t(&[".distro/l -> .", "LICENSE", link]);
        match plan(&[init_item()], &source, &Tree::new()) {
            Err(SyncError::SymlinkEscapes { repo: r, .. }) => assert_eq!(r, repo, "{link}"),
            other => panic!("{link}: {other:?}"),
        }
    }
    // Excluded links are not looked at; links inside both repositories are fine.
    let source = t(&[
        ".distro/source-git.yaml -> /etc/passwd",
        ".distro/a -> b/../c",
        ".distro/b/",
    ]);
    assert!(plan(&[init_item()], &source, &Tree::new()).is_ok());
    // A link that only escapes through a link dist-git already has.
    let source = t(&[".distro/x -> up/f"]);
    let err = plan_err(&[item(&[".distro/"], ".")], &source, &t(&["up -> .."]));
    assert!(
        matches!(
            err,
            SyncError::SymlinkEscapes {
                repo: Repo::DistGit,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn opaque_directories_are_refused_only_when_used() {
    let mut source = t(&[".distro/spec", "upstream/data/x"]);
    source.mark_opaque("upstream/data");
    let mut dest = t(&["old/y"]);
    assert!(plan(&[init_item()], &source, &dest).is_ok());
    let err = plan_err(&[item(&["upstream/"], ".")], &source, &dest);
    assert!(
        matches!(
            err,
            SyncError::Unrepresentable {
                repo: Repo::SourceGit,
                ..
            }
        ),
        "{err}"
    );
    let err = plan_err(&[item(&["upstream/data/*"], ".")], &source, &dest);
    assert!(
        matches!(
            err,
            SyncError::Unrepresentable {
                repo: Repo::SourceGit,
                ..
            }
        ),
        "{err}"
    );
    dest.mark_opaque("old");
    assert!(plan(&[item(&[".distro/"], ".")], &source, &dest).is_ok());
    let err = plan_err(&[init_item()], &source, &dest);
    assert!(
        matches!(
            err,
            SyncError::Unrepresentable {
                repo: Repo::DistGit,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn unsupported_srcs_and_loops() {
    let source = t(&["a", "loop -> loop"]);
    let err = plan_err(&[item(&["."], ".")], &source, &Tree::new());
    assert!(matches!(err, SyncError::UnsupportedSrc { .. }), "{err}");
    let all = result(&[item(&["./"], "x/")], &source, &Tree::new());
    assert_eq!(all, ["x/", "x/a", "x/loop -> loop"]);
    let err = plan_err(&[item(&["loop"], ".")], &source, &Tree::new());
    assert!(matches!(err, SyncError::SymlinkLoop { .. }), "{err}");
}
