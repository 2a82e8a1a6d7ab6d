//! Golden tests from the conformance corpus (`/work/shared/conformance/cases`): the
//! `.distro/quill.spec` of each source-git repo, the `add_patch` calls packit makes for the
//! commits in `v1.4.0..HEAD` (present-in-specfile commits make no call), and the dist-git
//! spec packit wrote.

use srcgit::convert::spec::{AddOutcome, Spec};

/// (name, Patch-id, comment, digits, expected tag or `None` for already present)
type Call = (
    &'static str,
    Option<u32>,
    &'static str,
    u32,
    Option<&'static str>,
);

fn check(input: &str, expected: &str, calls: &[Call]) {
    let mut spec = Spec::parse(input);
    for &(name, number, comment, digits, tag) in calls {
        let outcome = spec.add_patch(name, number, comment, digits).unwrap();
        let want = tag.map_or(AddOutcome::AlreadyPresent, |t| AddOutcome::Added {
            tag: t.to_owned(),
        });
        assert_eq!(outcome, want, "{name}");
    }
    assert!(spec.is_modified());
    assert_eq!(spec.render(), expected);
}

const STDIO: &str = "Include stdio.h for snprintf\n\nlayout.c calls snprintf() but relied on other headers pulling in\nstdio.h, which newer glibc no longer does.";
const TAB: &str = "Count a tab as eight columns in measure_width\n\nTabs were counted as one column, which broke the padding of\nindented input.";

#[test]
fn case_01_trailer_basic() {
    check(
        include_str!("data/spec/01-input.spec"),
        include_str!("data/spec/01-expected.spec"),
        &[
            ("quill-stdio.patch", None, STDIO, 1, Some("Patch1")),
            (
                "0002-Count-a-tab-as-eight-columns-in-measure_width.patch",
                None,
                TAB,
                1,
                Some("Patch2"),
            ),
            (
                "0003-Break-lines-after-hyphens-too.patch",
                Some(10),
                "# Backport of the upstream fix for rhbz#2301234\nupstream: https://quill.example.org/pull/77\n",
                1,
                Some("Patch10"),
            ),
            (
                "width-validation.patch",
                Some(12),
                "Fixed upstream in 1.5.0,\ndrop on the next rebase\n",
                1,
                Some("Patch12"),
            ),
        ],
    );
}

#[test]
fn case_03_trailer_present_in_specfile() {
    let input = include_str!("data/spec/03-input.spec");
    let spec = Spec::parse(input);
    assert_eq!(spec.patch_numbers(), [1, 2, 3]);
    assert!(spec.has_patch_named("legacy-config-path.patch"));
    assert!(spec.has_patch_named("https://git.example.org/%{name}/commit/4e1f0c2.patch"));
    check(
        input,
        include_str!("data/spec/03-expected.spec"),
        &[
            (
                "0002-Do-not-crash-on-a-NULL-line-in-wrap_line.patch",
                None,
                "Do not crash on a NULL line in wrap_line",
                1,
                Some("Patch4"),
            ),
            (
                "doc-typo.patch",
                None,
                "Accept the British spelling of centre",
                1,
                None,
            ),
        ],
    );
}

#[test]
fn case_15_source_in_if_endif() {
    check(
        include_str!("data/spec/15-input.spec"),
        include_str!("data/spec/15-expected.spec"),
        &[
            (
                "0001-Include-stdio.h-for-snprintf.patch",
                None,
                STDIO,
                4,
                Some("Patch0001"),
            ),
            (
                "centre-alias.patch",
                None,
                "Accept the British spelling of centre",
                4,
                Some("Patch0002"),
            ),
        ],
    );
}

#[test]
fn case_16_align_source_single_space() {
    check(
        include_str!("data/spec/16-input.spec"),
        include_str!("data/spec/16-expected.spec"),
        &[
            (
                "0001-Do-not-crash-on-a-NULL-line-in-wrap_line.patch",
                None,
                "Do not crash on a NULL line in wrap_line\nAuthor: Petra Nováková <petra.novakova@example.cz>",
                4,
                Some("Patch0001"),
            ),
            (
                "0002-Document-the-h-option-in-the-usage-text.patch",
                None,
                "Document the -h option in the usage text\nAuthor: Maria Gonzalez <mgonzalez@example.com>",
                4,
                Some("Patch0002"),
            ),
        ],
    );
}

#[test]
fn case_17_align_existing_4_digit() {
    check(
        include_str!("data/spec/17-input.spec"),
        include_str!("data/spec/17-expected.spec"),
        &[
            (
                "0002-Count-a-tab-as-eight-columns-in-measure_width.patch",
                None,
                TAB,
                1,
                Some("Patch0010"),
            ),
            (
                "0003-Prefix-file-errors-with-the-program-name.patch",
                Some(100),
                "Prefix file errors with the program name",
                1,
                Some("Patch0100"),
            ),
        ],
    );
}

#[test]
fn case_18_align_existing_tab() {
    check(
        include_str!("data/spec/18-input.spec"),
        include_str!("data/spec/18-expected.spec"),
        &[
            (
                "0003-Accept-the-British-spelling-of-centre.patch",
                None,
                "Accept the British spelling of centre",
                1,
                Some("Patch10"),
            ),
            (
                "0004-Flush-stdout-before-reporting-a-read-error.patch",
                None,
                "Flush stdout before reporting a read error",
                1,
                Some("Patch11"),
            ),
        ],
    );
}

#[test]
fn case_19_align_unnumbered() {
    check(
        include_str!("data/spec/19-input.spec"),
        include_str!("data/spec/19-expected.spec"),
        &[
            (
                "0003-Document-the-h-option-in-the-usage-text.patch",
                None,
                "Document the -h option in the usage text",
                1,
                Some("Patch"),
            ),
            (
                "third.patch",
                None,
                "Export the maximum supported width",
                1,
                Some("Patch"),
            ),
        ],
    );
}

#[test]
fn case_20_digits_zero() {
    check(
        include_str!("data/spec/20-input.spec"),
        include_str!("data/spec/20-expected.spec"),
        &[
            (
                "0001-Include-stdio.h-for-snprintf.patch",
                None,
                "Include stdio.h for snprintf\nAuthor: Petra Nováková <petra.novakova@example.cz>",
                0,
                Some("Patch"),
            ),
            (
                "0002-Break-lines-after-hyphens-too.patch",
                None,
                "Break lines after hyphens too\nAuthor: Maria Gonzalez <mgonzalez@example.com>",
                0,
                Some("Patch"),
            ),
        ],
    );
}

#[test]
fn case_21_first_update_after_init() {
    check(
        include_str!("data/spec/21-input.spec"),
        include_str!("data/spec/21-expected.spec"),
        &[
            (
                "0001-stdio.patch",
                Some(1),
                "# Fix the build with new glibc\n# (sent upstream)\n",
                1,
                Some("Patch1"),
            ),
            (
                "truncate-cells.patch",
                Some(2),
                "Apply patch truncate-cells.patch",
                1,
                Some("Patch2"),
            ),
            (
                "centre.patch",
                Some(3),
                "# From the mailing list\n",
                1,
                Some("Patch3"),
            ),
            (
                "0004-Document-the-h-option-in-the-usage-text.patch",
                None,
                "Document the -h option in the usage text",
                1,
                Some("Patch4"),
            ),
        ],
    );
}

#[test]
fn case_52_spec_crlf() {
    let input = include_str!("data/spec/52-input.spec");
    assert!(input.contains("\r\n"));
    assert_eq!(Spec::parse(input).render(), input);
    check(
        input,
        include_str!("data/spec/52-expected.spec"),
        &[(
            "0001-Count-a-tab-as-eight-columns-in-measure_width.patch",
            None,
            "Count a tab as eight columns in measure_width\nAuthor: Petra Nováková <petra.novakova@example.cz>",
            1,
            Some("Patch1"),
        )],
    );
}
