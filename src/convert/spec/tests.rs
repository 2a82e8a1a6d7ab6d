//! Unit tests of the spec editor: the confirmed examples, placement, numbering, duplicates,
//! comments, rendering and the library's failures through the public API, plus the tag
//! matcher, value parser and option normaliser. Golden tests live in `tests/golden.rs`.
//!
//! Tests only: no I/O.

use super::options::normalize_options;
use super::tags::match_tag;
use super::value::{parse_value, render_nodes, split_conditional};
use super::*;

type Call<'a> = (&'a str, Option<u32>, &'a str, u32);

/// Applies `calls` (each must add a tag) and returns the rendered spec.
fn run(text: &str, calls: &[Call<'_>]) -> String {
    let mut spec = Spec::parse(text);
    for &(name, number, comment, digits) in calls {
        let outcome = spec.add_patch(name, number, comment, digits).unwrap();
        assert!(
            matches!(outcome, AddOutcome::Added { .. }),
            "{name}: {outcome:?}"
        );
    }
    spec.render()
}

fn added(spec: &mut Spec, name: &str, number: Option<u32>, digits: u32) -> String {
    match spec.add_patch(name, number, "", digits).unwrap() {
        AddOutcome::Added { tag } => tag,
        AddOutcome::AlreadyPresent => panic!("{name} already present"),
    }
}

// --- §2.9 confirmed examples ----------------------------------------------------------

#[test]
fn confirmed_source0_wide_separator_four_digits() {
    let out = run("Source0:        x\n", &[("a.patch", None, "", 4)]);
    assert_eq!(out, "Source0:        x\nPatch0001:      a.patch\n");
}

#[test]
fn confirmed_source0_single_space_four_digits_has_no_space() {
    let out = run("Source0: x\n", &[("a.patch", None, "", 4)]);
    assert_eq!(out, "Source0: x\nPatch0001:a.patch\n");
}

#[test]
fn confirmed_unnumbered_source_one_digit() {
    let out = run("Source:         x\n", &[("a.patch", None, "", 1)]);
    assert_eq!(out, "Source:         x\nPatch1:         a.patch\n");
}

#[test]
fn confirmed_digits_zero_gives_bare_patch() {
    let out = run("Source0: x\n", &[("a.patch", None, "", 0)]);
    assert_eq!(out, "Source0: x\nPatch:   a.patch\n");
}

#[test]
fn confirmed_patch10_after_patch3_shrinks_to_bare_colon() {
    let out = run(
        "Source0: x\nPatch3: b.patch\n",
        &[("c.patch", Some(10), "", 4)],
    );
    assert_eq!(out, "Source0: x\nPatch3: b.patch\nPatch10:c.patch\n");
}

// --- §2.10 worked example ---------------------------------------------------------------

#[test]
fn worked_example_of_the_format_doc() {
    let input = "Name: hello\n\
        Source0:        https://example.com/hello/%{name}-%{version}.tar.gz\n\
        \n\
        BuildArch:      noarch\n\
        \n\
        %description\nHello.\n";
    let out = run(
        input,
        &[
            (
                "0001-fix-greeting.patch",
                Some(1),
                "# Fix the greeting\n# upstream: not yet\n",
                4,
            ),
            ("readme.patch", Some(2), "Apply patch readme.patch", 4),
            (
                "0003-Document-things.patch",
                None,
                "Document things\n\nLonger explanation\nspanning two lines.\n",
                4,
            ),
            ("excited.patch", Some(10), "Touch code and distro", 4),
        ],
    );
    let expected = "Name: hello\n\
        Source0:        https://example.com/hello/%{name}-%{version}.tar.gz\n\
        # # Fix the greeting\n\
        # # upstream: not yet\n\
        Patch0001:      0001-fix-greeting.patch\n\
        # Apply patch readme.patch\n\
        Patch0002:      readme.patch\n\
        # Document things\n\
        # \n\
        # Longer explanation\n\
        # spanning two lines.\n\
        Patch0003:      0003-Document-things.patch\n\
        # Touch code and distro\n\
        Patch0010:      excited.patch\n\
        \n\
        BuildArch:      noarch\n\
        \n\
        %description\nHello.\n";
    assert_eq!(out, expected);
}

#[test]
fn worked_example_later_run_with_folded_subject() {
    let input = "Source0:        x\nPatch0012:      old.patch\n\nBuildArch: noarch\n";
    let comment = "[PATCH 10/11] This is a very long subject line that will certainly be\n \
                   folded by git format-patch because it is long\n\nBody of long.\n";
    let out = run(input, &[("0010-long.patch", None, comment, 4)]);
    let expected = "Source0:        x\nPatch0012:      old.patch\n\
        # [PATCH 10/11] This is a very long subject line that will certainly be\n\
        #  folded by git format-patch because it is long\n\
        # \n\
        # Body of long.\n\
        Patch0013:      0010-long.patch\n\nBuildArch: noarch\n";
    assert_eq!(out, expected);
}

// --- placement ----------------------------------------------------------------------------

#[test]
fn goes_after_the_last_source_tag_before_blank_lines() {
    let input = "Name: x\nSource0: a\nSource1: b\n\n# deps\nBuildRequires: gcc\n";
    let out = run(input, &[("p.patch", None, "c", 1)]);
    let expected =
        "Name: x\nSource0: a\nSource1: b\n# c\nPatch1:  p.patch\n\n# deps\nBuildRequires: gcc\n";
    assert_eq!(out, expected);
}

#[test]
fn last_source_in_file_order_even_in_false_branch() {
    let input = "Source1: b\n%if 0\nSource0: a\n%endif\nBuildRequires: gcc\n";
    let out = run(input, &[("p.patch", None, "", 1)]);
    let expected = "Source1: b\n%if 0\nSource0: a\n%endif\nPatch1:  p.patch\nBuildRequires: gcc\n";
    assert_eq!(out, expected);
}

#[test]
fn endif_after_source_in_if_else_is_hoisted_above_the_new_tags() {
    let input = "URL: u\n%if 0%{?fedora}\nSource0:        a.tgz\n%else\nSource0:        b.tgz\n%endif\n\nBuildRequires:  gcc\n";
    let out = run(
        input,
        &[("1.patch", None, "one", 4), ("2.patch", None, "two", 4)],
    );
    let expected = "URL: u\n%if 0%{?fedora}\nSource0:        a.tgz\n%else\nSource0:        b.tgz\n%endif\n\
        # one\nPatch0001:      1.patch\n# two\nPatch0002:      2.patch\n\nBuildRequires:  gcc\n";
    assert_eq!(out, expected);
}

#[test]
fn endif_hoist_stops_at_the_first_endif_and_keeps_following_comments() {
    let input = "%if a\n%if b\nSource0: x\n%endif\n%endif\n# about gcc\nBuildRequires: gcc\n";
    let out = run(input, &[("p.patch", None, "", 1)]);
    let expected = "%if a\n%if b\nSource0: x\n%endif\nPatch1:  p.patch\n%endif\n# about gcc\nBuildRequires: gcc\n";
    assert_eq!(out, expected);
}

#[test]
fn indented_endif_is_not_hoisted() {
    let input = "%if a\nSource0: x\n  %endif\nBuildRequires: gcc\n";
    let out = run(input, &[("p.patch", None, "", 1)]);
    assert_eq!(
        out,
        "%if a\nSource0: x\nPatch1:  p.patch\n  %endif\nBuildRequires: gcc\n"
    );
}

#[test]
fn endif_hoist_from_the_end_of_the_preamble() {
    let input = "Name: x\n%if 1\nSource0: x\n%endif\n\n%description\nd\n";
    let out = run(input, &[("p.patch", None, "", 1)]);
    assert_eq!(
        out,
        "Name: x\n%if 1\nSource0: x\n%endif\nPatch1:  p.patch\n\n%description\nd\n"
    );
}

#[test]
fn without_source_tag_goes_after_the_last_tag_with_default_separator() {
    let input = "Name: x\n%global a 1\n\n%if 1\n%global b 2\n%endif\n\n%description\nd\n";
    let out = run(input, &[("a.patch", None, "c", 4)]);
    let expected = "Name: x\n%global a 1\n\n%if 1\n%global b 2\n%endif\n# c\nPatch0001: a.patch\n\n%description\nd\n";
    assert_eq!(out, expected);
}

#[test]
fn without_any_tag_goes_to_the_top_of_the_preamble() {
    let out = run(
        "%global a 1\n\n%description\nd\n",
        &[("a.patch", None, "", 1)],
    );
    assert_eq!(out, "Patch1: a.patch\n%global a 1\n\n%description\nd\n");
    let out = run(
        "%global a 1\n%if 1\n%endif\n%prep\n",
        &[("a.patch", None, "", 0)],
    );
    assert_eq!(out, "%global a 1\n%if 1\n%endif\nPatch: a.patch\n%prep\n");
}

#[test]
fn empty_spec_gets_just_the_tag() {
    assert_eq!(
        run("", &[("a.patch", None, "c", 4)]),
        "# c\nPatch0001: a.patch"
    );
}

#[test]
fn sourcelicense_counts_as_a_source_tag_for_placement() {
    let out = run(
        "Name: x\nSourceLicense: MIT\nLicense: MIT\n",
        &[("n.patch", None, "", 4)],
    );
    assert_eq!(
        out,
        "Name: x\nSourceLicense: MIT\nPatch0001:     n.patch\nLicense: MIT\n"
    );
}

#[test]
fn tags_of_subpackages_and_other_sections_are_ignored() {
    let input =
        "Source0: x\n%package doc\nPatch7: doc.patch\nSource9: y\n%description doc\nPatch8: z\n";
    let mut spec = Spec::parse(input);
    assert!(spec.patch_numbers().is_empty());
    assert!(!spec.has_patch_named("doc.patch"));
    assert_eq!(added(&mut spec, "a.patch", None, 1), "Patch1");
    assert!(
        spec.render()
            .starts_with("Source0: x\nPatch1:  a.patch\n%package doc\n")
    );
}

#[test]
fn macro_definition_body_does_not_start_a_section() {
    let input =
        "%global desc %{expand:\nSome text.\n%description\n}\nSource0: x\n\n%description\n%desc\n";
    let out = run(input, &[("a.patch", None, "", 1)]);
    let expected = "%global desc %{expand:\nSome text.\n%description\n}\nSource0: x\nPatch1:  a.patch\n\n%description\n%desc\n";
    assert_eq!(out, expected);
}

#[test]
fn multi_line_tag_value_is_kept_whole() {
    let input = "Source0: %(echo a \\\n  b)\nBuildArch: noarch\n";
    let out = run(input, &[("p.patch", None, "", 1)]);
    assert_eq!(
        out,
        "Source0: %(echo a \\\n  b)\nPatch1:  p.patch\nBuildArch: noarch\n"
    );
}

// --- existing patch tags ------------------------------------------------------------------

#[test]
fn goes_after_the_highest_numbered_patch_not_the_last_one() {
    let input = "Source0: x\nPatch9: nine.patch\nPatch2: two.patch\n\nBuildArch: noarch\n";
    let out = run(input, &[("n.patch", None, "", 4)]);
    let expected =
        "Source0: x\nPatch9: nine.patch\nPatch10:n.patch\nPatch2: two.patch\n\nBuildArch: noarch\n";
    assert_eq!(out, expected);
}

#[test]
fn tie_on_the_closest_number_takes_the_first_tag() {
    let input = "Source0: x\nPatch5: a.patch\nPatch5:  b.patch\n";
    let out = run(input, &[("n.patch", None, "", 4)]);
    assert_eq!(
        out,
        "Source0: x\nPatch5: a.patch\nPatch6: n.patch\nPatch5:  b.patch\n"
    );
}

#[test]
fn duplicate_numbers_after_the_new_tag_are_renamed() {
    let input = "Source0: x\nPatch9:\t x.patch\nPatch2: b.patch\nPatch2: c.patch\nPatch: d.patch\nPatch3: e.patch\n";
    let mut spec = Spec::parse(input);
    assert_eq!(spec.patch_numbers(), [9, 2, 2, 3, 3]);
    assert_eq!(added(&mut spec, "n.patch", None, 4), "Patch10");
    let expected = "Source0: x\nPatch9:\t x.patch\nPatch10:\tn.patch\nPatch2: b.patch\nPatch3: c.patch\nPatch: d.patch\nPatch3: e.patch\n";
    assert_eq!(spec.render(), expected);
    assert_eq!(spec.patch_numbers(), [9, 10, 2, 3, 4, 3]);
}

#[test]
fn existing_width_wins_over_digits_and_grows_for_big_ids() {
    let input = "Source0:        x\n\n# old\nPatch0009:      old.patch\n\nBuildRequires:  gcc\n";
    let out = run(
        input,
        &[
            ("a.patch", None, "", 1),
            ("b.patch", Some(100), "", 1),
            ("c.patch", Some(12345), "", 1),
        ],
    );
    let expected = "Source0:        x\n\n# old\nPatch0009:      old.patch\nPatch0010:      a.patch\n\
        Patch0100:      b.patch\nPatch12345:     c.patch\n\nBuildRequires:  gcc\n";
    assert_eq!(out, expected);
}

#[test]
fn tab_separator_shrinks_to_bare_colon() {
    let input = "Source0: x\n\nPatch8:\ta.patch\nPatch9:\tb.patch\n\nBuildRequires: gcc\n";
    let out = run(input, &[("c.patch", None, "", 4), ("d.patch", None, "", 4)]);
    let expected = "Source0: x\n\nPatch8:\ta.patch\nPatch9:\tb.patch\nPatch10:c.patch\nPatch11:d.patch\n\nBuildRequires: gcc\n";
    assert_eq!(out, expected);
}

#[test]
fn separator_ending_in_colon_loses_the_colon_like_the_library() {
    // ` :`[:-1] is ` `: the new line is no tag any more, so the next patch gets 10 again.
    let out = run(
        "Source0: x\nPatch9 :x.patch\n",
        &[("c.patch", None, "", 4), ("d.patch", None, "", 4)],
    );
    assert_eq!(
        out,
        "Source0: x\nPatch9 :x.patch\nPatch10 d.patch\nPatch10 c.patch\n"
    );
}

#[test]
fn implicit_numbering_with_two_unnumbered_tags() {
    let input = "Source0: x\n\nPatch:          first.patch\nPatch:          second.patch\n\nBuildRequires: gcc\n";
    let mut spec = Spec::parse(input);
    assert_eq!(spec.patch_numbers(), [0, 1]);
    assert_eq!(added(&mut spec, "third.patch", None, 4), "Patch");
    assert_eq!(added(&mut spec, "fourth.patch", Some(7), 4), "Patch");
    let expected = "Source0: x\n\nPatch:          first.patch\nPatch:          second.patch\n\
        Patch:          third.patch\nPatch:          fourth.patch\n\nBuildRequires: gcc\n";
    assert_eq!(spec.render(), expected);
    assert_eq!(spec.patch_numbers(), [0, 1, 2, 3]);
}

#[test]
fn single_unnumbered_tag_also_gives_unnumbered_tags() {
    let out = run("Source0: x\nPatch: a.patch\n", &[("b.patch", None, "", 4)]);
    assert_eq!(out, "Source0: x\nPatch: a.patch\nPatch: b.patch\n");
}

#[test]
fn numbered_and_unnumbered_mix() {
    let mut spec = Spec::parse("Source0: x\nPatch5: a.patch\nPatch: b.patch\n");
    assert_eq!(spec.patch_numbers(), [5, 6]);
    assert_eq!(added(&mut spec, "c.patch", None, 4), "Patch");
    assert_eq!(spec.patch_numbers(), [5, 6, 7]);
}

#[test]
fn conditional_patch_tags_count_and_match_by_value() {
    let mut spec = Spec::parse("Source0: x\n%{?fedora:Patch3: cond.patch}\nBuildArch: noarch\n");
    assert_eq!(spec.patch_numbers(), [3]);
    assert!(spec.has_patch_named("cond.patch"));
    assert_eq!(added(&mut spec, "n.patch", None, 4), "Patch4");
    assert_eq!(
        spec.render(),
        "Source0: x\n%{?fedora:Patch3: cond.patch}\nPatch4: n.patch\nBuildArch: noarch\n"
    );
}

// --- numbering ------------------------------------------------------------------------------

#[test]
fn patch_ids_set_numbers_and_later_patches_continue() {
    let out = run(
        "Source0: x\n",
        &[
            ("a.patch", Some(3), "", 1),
            ("b.patch", None, "", 1),
            ("c.patch", Some(10), "", 1),
        ],
    );
    assert_eq!(
        out,
        "Source0: x\nPatch3:  a.patch\nPatch4:  b.patch\nPatch10: c.patch\n"
    );
}

#[test]
fn patch_id_zero_is_allowed_when_there_are_no_patches() {
    assert_eq!(
        run("Source0:  x\n", &[("a.patch", Some(0), "", 2)]),
        "Source0:  x\nPatch00:  a.patch\n"
    );
}

#[test]
fn patchlist_entries_are_numbered_after_the_last_tag() {
    let input = "Source0: x\n\n%patchlist\na.patch\n# c\n\n%if 1\nb.patch\n%endif\n%patchlist\nc.patch\n%patchlist \nd.patch\n";
    let mut spec = Spec::parse(input);
    assert_eq!(spec.patch_numbers(), [0, 1, 2, 3, 0]);
    assert!(spec.has_patch_named("b.patch"));
    assert!(!spec.has_patch_named("d.patch"));
    assert_eq!(added(&mut spec, "n.patch", None, 4), "Patch0004");
    assert!(
        spec.render()
            .starts_with("Source0: x\nPatch0004:n.patch\n\n%patchlist\n")
    );
    assert_eq!(spec.patch_numbers(), [4, 5, 6, 7, 8, 5]);
}

#[test]
fn patchlist_entry_is_already_present() {
    let mut spec = Spec::parse("Source0: x\n%patchlist\n  x.patch\ny.patch\n");
    assert_eq!(
        spec.add_patch("y.patch", None, "", 1).unwrap(),
        AddOutcome::AlreadyPresent
    );
    assert!(!spec.has_patch_named("x.patch"));
    assert!(spec.has_patch_named("  x.patch"));
}

#[test]
fn number_too_low_is_an_error_and_leaves_the_spec_alone() {
    let input = "Source0: x\r\nPatch5: a.patch\r\n";
    let mut spec = Spec::parse(input);
    for requested in [1, 5] {
        let err = spec
            .add_patch("b.patch", Some(requested), "", 1)
            .unwrap_err();
        let SpecError::PatchNumberTooLow { highest, .. } = err else {
            panic!("{err}")
        };
        assert_eq!(highest, 5);
    }
    // The number check comes first, even for a patch that is already there.
    assert!(spec.add_patch("a.patch", Some(2), "", 1).is_err());
    assert!(!spec.is_modified());
    assert_eq!(spec.render(), input);
    assert_eq!(added(&mut spec, "b.patch", Some(6), 1), "Patch6");
}

#[test]
fn number_too_low_counts_patchlist_entries() {
    let mut spec = Spec::parse("Source0: x\n%patchlist\na.patch\nb.patch\n");
    assert!(spec.add_patch("c.patch", Some(1), "", 1).is_err());
    assert_eq!(added(&mut spec, "c.patch", Some(2), 1), "Patch2");
}

// --- AlreadyPresent -----------------------------------------------------------------------

#[test]
fn already_present_tag_value() {
    let input = "Source0: x\nPatch1: https://e.org/%{name}/1.patch\n";
    let mut spec = Spec::parse(input);
    assert!(spec.has_patch_named("https://e.org/%{name}/1.patch"));
    assert!(!spec.has_patch_named("1.patch"));
    let outcome = spec
        .add_patch("https://e.org/%{name}/1.patch", None, "c", 4)
        .unwrap();
    assert_eq!(outcome, AddOutcome::AlreadyPresent);
    assert!(spec.is_modified());
    assert_eq!(spec.render(), input);
}

#[test]
fn already_present_still_reserialises_like_autosave() {
    let mut spec = Spec::parse("Source0: x\r\nPatch1: a.patch\r\n");
    assert_eq!(
        spec.add_patch("a.patch", None, "", 1).unwrap(),
        AddOutcome::AlreadyPresent
    );
    assert_eq!(spec.render(), "Source0: x\nPatch1: a.patch\n");
}

// --- comments -------------------------------------------------------------------------------

#[test]
fn comment_lines_are_prefixed_and_hashes_doubled() {
    let comment = "Subject\n\n# already a comment\n#tight\n  indented";
    let out = run("Source0: x\n", &[("p.patch", None, comment, 1)]);
    let expected = "Source0: x\n# Subject\n# \n# # already a comment\n# #tight\n#   indented\nPatch1:  p.patch\n";
    assert_eq!(out, expected);
}

#[test]
fn comment_is_split_like_python_splitlines() {
    let comment = "a\r\nb\rc\x0bd\x0ce\x1cf\x1dg\x1eh\u{85}i\u{2028}j\u{2029}k\x1fl\n";
    let out = run("Source0: x\n", &[("p.patch", None, comment, 1)]);
    let lines: Vec<&str> = out.lines().collect();
    let expected = [
        "# a", "# b", "# c", "# d", "# e", "# f", "# g", "# h", "# i", "# j", "# k\x1fl",
    ];
    assert_eq!(&lines[1..12], expected);
    assert_eq!(lines[12], "Patch1:  p.patch");
}

#[test]
fn empty_and_blank_comments() {
    assert_eq!(
        run("Source0: x\n", &[("p.patch", None, "", 1)]),
        "Source0: x\nPatch1:  p.patch\n"
    );
    assert_eq!(
        run("Source0: x\n", &[("p.patch", None, "\n", 1)]),
        "Source0: x\n# \nPatch1:  p.patch\n"
    );
    assert_eq!(
        run("Source0: x\n", &[("p.patch", None, "\n\n", 1)]),
        "Source0: x\n# \n# \nPatch1:  p.patch\n"
    );
}

// --- rendering ------------------------------------------------------------------------------

#[test]
fn untouched_spec_renders_byte_for_byte() {
    let inputs = [
        "",
        "\n",
        "Name: x\r\nSource0:\tx  \r\n%if 0%{?fedora}\r\n  %global a \\\r\n  b\r\n%endif\r\n",
        "Source0: %(echo a  \nb)\n%{?x:%global y %{z  a}}\n%files -n \\x\nno final newline",
        "Source0: x\rold mac\x0cform feed\x0b\u{2028}\u{85}\n\n\n",
        "%global body %{expand:\n%description\n}\n\t\n  \n%changelog\n* x\n",
    ];
    for input in inputs {
        let spec = Spec::parse(input);
        assert!(!spec.is_modified());
        assert_eq!(spec.render(), input);
    }
}

#[test]
fn touched_spec_uses_lf_and_keeps_missing_final_newline() {
    let out = run(
        "Source0: x\r\nBuildArch: noarch",
        &[("p.patch", None, "", 1)],
    );
    assert_eq!(out, "Source0: x\nPatch1:  p.patch\nBuildArch: noarch");
    let out = run("Source0: x\rA: b\x0cc\r", &[("p.patch", None, "", 1)]);
    assert_eq!(out, "Source0: x\nPatch1:  p.patch\nA: b\nc");
}

#[test]
fn library_rerenders_conditional_lines_and_section_headers() {
    let input = "Source0: x\n%{?x:%global y %{z  a}}\n%{?y:BuildRequires: %{b }}\n%files -n \\x\n%files -n \"q r\"\n";
    let out = run(input, &[("n.patch", None, "", 4)]);
    let expected = "Source0: x\nPatch0001:n.patch\n%{?x:%global y %{z a}}\n%{?y:BuildRequires: %{b}}\n%files -n x\n%files -n \"q r\"\n";
    assert_eq!(out, expected);
}

#[test]
fn continuation_lines_get_the_previous_trailing_whitespace() {
    let out = run(
        "Source0: %(echo a  \nb)\nBuildArch: noarch\n",
        &[("n.patch", None, "", 4)],
    );
    assert_eq!(
        out,
        "Source0: %(echo a  \nb)  \nPatch0001:n.patch\nBuildArch: noarch\n"
    );
}

// --- library failures ---------------------------------------------------------------------

#[test]
fn unbalanced_conditionals_in_the_preamble_are_errors() {
    for input in [
        "Source0: x\n%endif\n",
        "Source0: x\n%else\n",
        "%elif 1\nSource0: x\n",
    ] {
        let mut spec = Spec::parse(input);
        let err = spec.add_patch("p.patch", None, "", 1).unwrap_err();
        assert!(
            matches!(err, SpecError::UnbalancedConditional { .. }),
            "{input:?}: {err}"
        );
        assert_eq!(spec.render(), input);
    }
    // Continued %if expressions, macro bodies and other sections are not checked.
    let fine =
        "%if a || \\\n%endif\nSource0: x\n%endif\n%global m %{expand:\n%endif\n}\n%prep\n%endif\n";
    assert!(Spec::parse(fine).add_patch("p.patch", None, "", 1).is_ok());
}

#[test]
fn untokenizable_section_header_is_an_error() {
    let mut spec = Spec::parse("Source0: x\n%files -n \"foo\n/x\n");
    let err = spec.add_patch("p.patch", None, "", 1).unwrap_err();
    assert!(
        matches!(err, SpecError::SectionHeader { line: 2, .. }),
        "{err}"
    );
    assert!(!spec.is_modified());
}

// --- scale ----------------------------------------------------------------------------------

#[test]
fn hundreds_of_patches_on_a_long_spec() {
    let mut text = String::from("Name: big\nSource0:        big.tgz\n\n");
    for i in 0..300 {
        text.push_str(&format!("BuildRequires:  lib{i}-devel\n"));
    }
    text.push_str("\n%description\nBig.\n\n%changelog\n");
    for i in 0..580 {
        text.push_str(&format!("- entry {i}\n"));
    }
    let mut spec = Spec::parse(&text);
    for i in 1..=430u32 {
        let name = format!("{i:04}-fix.patch");
        assert_eq!(added(&mut spec, &name, None, 4), format!("Patch{i:04}"));
    }
    assert_eq!(spec.patch_numbers(), (1..=430).collect::<Vec<u32>>());
    let out = spec.render();
    assert!(out.contains("Source0:        big.tgz\nPatch0001:      0001-fix.patch\n"));
    assert!(out.contains("Patch0430:      0430-fix.patch\n\nBuildRequires:  lib0-devel\n"));
}

// --- helpers --------------------------------------------------------------------------------

#[test]
fn splitlines_matches_python() {
    assert!(splitlines("").is_empty());
    assert_eq!(splitlines("\n"), [""]);
    assert_eq!(splitlines("a\r\n\rb\n\nc"), ["a", "", "b", "", "c"]);
    assert_eq!(splitlines("a\u{2028}b\u{85}"), ["a", "b"]);
}

#[test]
fn tag_matching() {
    assert_eq!(match_tag("Patch0001:      a"), Some((9, 16)));
    assert_eq!(match_tag("patch12 :\tx"), Some((7, 10)));
    assert_eq!(match_tag("Requires(post): x"), Some((14, 16)));
    assert_eq!(match_tag("Patch1: "), Some((6, 7)));
    for line in [
        "Patch1:",
        "Patch1a: x",
        "Sources: x",
        "  Patch1: x",
        "Foo: x",
        "%patch1: x",
    ] {
        assert_eq!(match_tag(line), None, "{line}");
    }
}

#[test]
fn value_parser_rendering() {
    let render = |s: &str| {
        let chars: Vec<char> = s.chars().collect();
        let mut out = String::new();
        render_nodes(&parse_value(&chars).unwrap(), &mut out);
        out
    };
    assert_eq!(
        render("a %{b  c } %(d  e) %{?f:%{g  h}} %%{i  j}"),
        "a %{b c} %(d  e) %{?f:%{g h}} %%{i  j}"
    );
    assert!(parse_value(&['a', '%']).is_err());
    assert_eq!(
        split_conditional("%{!?x:Patch1: %{a  b}}"),
        Some((6, "Patch1: %{a b}".to_owned()))
    );
    assert_eq!(split_conditional("%{x:y}"), None);
    assert_eq!(split_conditional("%{?x:y} z"), None);
}

#[test]
fn options_normalisation() {
    assert_eq!(
        normalize_options("-n %{name}-devel -f x.lang").unwrap(),
        "-n %{name}-devel -f x.lang"
    );
    assert_eq!(
        normalize_options("-n \"a b\" 'c' d\\ e \\q \"\"").unwrap(),
        "-n \"a b\" 'c' d\\ e q "
    );
    assert!(normalize_options("-n 'x").is_err());
    assert!(normalize_options("x\\").is_err());
}

#[test]
fn tag_values_of_the_main_preamble() {
    let spec = Spec::parse(
        "Name: quill\nrelease:   2%{?dist}  \nSummary: x\n\n%package doc\nRelease: 9\n\n%description\nRelease: 7\n",
    );
    assert_eq!(spec.tag_value("Release").as_deref(), Some("2%{?dist}"));
    assert_eq!(spec.tag_value("name").as_deref(), Some("quill"));
    assert_eq!(spec.tag_value("Epoch"), None);
}
