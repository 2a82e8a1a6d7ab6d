//! Differential tests: `convert::yaml` against the real PyYAML `yaml.safe_load` (and packit's
//! `get_metadata_from_message`), through `tests/data/pyyaml_oracle.py`, on the documents srcgit
//! reads: `source-git.yaml` shapes packit writes, trailer values (each loaded on its own, like
//! `PatchMetadata.from_patch`), legacy metadata in commit messages, all YAML and commit
//! messages of the conformance corpus, and PyYAML's YAML 1.1 value resolution.
//!
//! Exotic documents the two tokenisers read differently are out of scope (the README lists
//! them). These tests need `python3` with PyYAML (`pip install pyyaml==6.0.2`); they fail,
//! never skip, when it is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use srcgit::convert::yaml::{Node, Value, YamlError, load, try_metadata_from_message};

fn require_pyyaml() {
    let ok = Command::new("python3")
        .args(["-c", "import yaml"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "python3 with PyYAML is required for the YAML differential tests \
         (install it with `pip install pyyaml==6.0.2`)"
    );
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Runs the oracle on `docs`; one canonical record per document.
fn oracle(mode: &str, docs: &[String]) -> Vec<String> {
    require_pyyaml();
    let dir = tempfile::tempdir().expect("tempdir");
    let request = dir.path().join("request.json");
    let body = docs
        .iter()
        .map(|d| json_string(d))
        .collect::<Vec<_>>()
        .join(",");
    std::fs::write(
        &request,
        format!("{{\"mode\": \"{mode}\", \"docs\": [{body}]}}"),
    )
    .expect("write request");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pyyaml_oracle.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(&request)
        .env("PYTHONIOENCODING", "utf-8")
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&out.stderr[out.stderr.len().saturating_sub(3000)..])
    );
    let mut records = Vec::new();
    let mut rest = out.stdout.as_slice();
    while !rest.is_empty() {
        let colon = rest.iter().position(|&b| b == b':').expect("record length");
        let len: usize = std::str::from_utf8(&rest[..colon])
            .expect("ascii")
            .parse()
            .expect("length");
        let record = &rest[colon + 1..colon + 1 + len];
        records.push(String::from_utf8(record.to_vec()).expect("utf-8 record"));
        rest = &rest[colon + 1 + len..];
    }
    assert_eq!(records.len(), docs.len(), "one record per document");
    records
}

fn canon(node: &Node) -> String {
    match &node.value {
        Value::Null => "N".into(),
        Value::Bool(b) => if *b { "B1" } else { "B0" }.into(),
        Value::Int(i) => format!("I{i};"),
        Value::Float(f) if f.is_nan() => "Fnan;".into(),
        Value::Float(f) => format!("F{};", f.to_bits() as i64),
        Value::Str(_) if node.timestamp => {
            if node.type_name() == "date" { "D" } else { "T" }.into()
        }
        Value::Str(s) => format!("S{}:{s}", s.len()),
        Value::Seq(items) => format!(
            "L{}[{}]",
            items.len(),
            items.iter().map(canon).collect::<String>()
        ),
        Value::Map(pairs) => format!(
            "M{}[{}]",
            pairs.len(),
            pairs
                .iter()
                .map(|(k, v)| canon(k) + &canon(v))
                .collect::<String>()
        ),
    }
}

fn canon_error(err: &YamlError) -> String {
    match err {
        YamlError::Syntax { .. } | YamlError::Constructor { .. } => "E:yaml".into(),
        YamlError::InvalidValue { .. } => "E:other".into(),
        YamlError::Limit { message, .. } => format!("L:{message}"),
        YamlError::Unsupported { what, .. } => format!("U:{what}"),
    }
}

/// The documented reasons for `Unsupported` (see `YamlError::Unsupported`).
const UNSUPPORTED: &[&str] = &[
    "U:an integer outside the 64-bit range",
    "U:the tag !!binary",
    "U:the tag !!set",
    "U:a recursive alias",
];

/// Pre-order "line.column," of every node (mapping keys before their values).
fn positions(node: &Node, out: &mut String) {
    out.push_str(&format!("{}.{},", node.line, node.col));
    match &node.value {
        Value::Seq(items) => items.iter().for_each(|n| positions(n, out)),
        Value::Map(pairs) => pairs.iter().for_each(|(k, v)| {
            positions(k, out);
            positions(v, out);
        }),
        _ => {}
    }
}

/// Separates the value from the node positions in canonical forms.
const POS: &str = "\u{1}POS";

/// Our canonical form of `load(doc)`, with node positions after [`POS`].
fn canon_load(doc: &str) -> String {
    match load(doc) {
        Ok(None) => "N".into(),
        Ok(Some(node)) => {
            let mut out = canon(&node);
            out.push_str(POS);
            positions(&node, &mut out);
            out
        }
        Err(err) => canon_error(&err),
    }
}

/// Ours vs PyYAML: equal, or both "other exception" (we do not name the Python type).
fn same(ours: &str, theirs: &str) -> bool {
    ours == theirs || (ours == "E:other" && theirs.starts_with("E:other:"))
}

/// Compares `load` with PyYAML on `docs`: values always, node lines and columns where PyYAML
/// reports them. Returns how many documents were compared.
fn compare_loads(docs: &[String]) -> usize {
    let theirs = oracle("load", docs);
    let mut failures = Vec::new();
    for (doc, theirs) in docs.iter().zip(&theirs) {
        let ours = canon_load(doc);
        let (ours_value, ours_pos) = ours.split_once(POS).unwrap_or((&ours, ""));
        let (theirs_value, theirs_pos) = theirs.split_once(POS).unwrap_or((theirs, ""));
        if UNSUPPORTED.contains(&ours_value) {
            continue;
        }
        if !same(ours_value, theirs_value) {
            failures.push(format!(
                "{doc:?}:\n   ours   {ours_value}\n   PyYAML {theirs_value}"
            ));
        } else if !theirs_pos.is_empty() && ours_pos != theirs_pos {
            failures.push(format!(
                "{doc:?}: positions ours {ours_pos} PyYAML {theirs_pos}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} documents differ from PyYAML:\n{}",
        failures.len(),
        docs.len(),
        failures.join("\n")
    );
    docs.len()
}

fn canon_metadata(message: &str) -> String {
    match try_metadata_from_message(message) {
        Ok(None) => "N".into(),
        Ok(Some(node)) => canon(&node),
        Err(err) => canon_error(&err),
    }
}

/// Inputs srcgit reads differently from PyYAML on purpose (README, "YAML documents srcgit reads
/// differently"): a tab starting a line's content, which PyYAML's tokeniser rejects.
const KNOWN_DIVERGENT: &[&str] = &["Title\n\n\tindented with tab: x\n"];

/// Compares the legacy metadata lookup with packit's on `messages`.
fn compare_metadata(messages: &[String]) -> usize {
    let theirs = oracle("metadata", messages);
    let failures: Vec<String> = messages
        .iter()
        .zip(&theirs)
        .filter_map(|(m, theirs)| {
            let ours = canon_metadata(m);
            (!same(&ours, theirs)
                && !UNSUPPORTED.contains(&ours.as_str())
                && !KNOWN_DIVERGENT.contains(&m.as_str()))
            .then(|| format!("{m:?}:\n   ours   {ours}\n   packit {theirs}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} messages differ from packit:\n{}",
        failures.len(),
        messages.len(),
        failures.join("\n")
    );
    messages.len()
}

// ---------------------------------------------------------------------------------------------
// The documents

/// The `source-git.yaml` packit's init writes (a PyYAML dump, list items not indented) and a
/// hand-written one (list items indented, comments, quotes).
const SOURCE_GIT_YAMLS: &[&str] = &[
    "upstream_project_url: https://git.example.org/quill
upstream_ref: v1.4.0
downstream_package_name: quill
specfile_path: .distro/quill.spec
patch_generation_ignore_paths:
- .distro
patch_generation_patch_id_digits: 1
sync_changelog: true
files_to_sync:
- src: .distro/
  dest: .
  delete: true
  filters:
  - protect .git*
  - protect sources
  - exclude source-git.yaml
  - exclude .gitignore
sources:
- path: quill-1.4.0.tar.gz
  url: https://src.fedoraproject.org/repo/pkgs/rpms/quill/quill-1.4.0.tar.gz/sha512/0123abcd/quill-1.4.0.tar.gz
",
    "# source-git.yaml
specfile_path: .distro/quill.spec
upstream_ref: v1.4.0
patch_generation_ignore_paths:
  - .distro
patch_generation_patch_id_digits: 1
sync_changelog: true
files_to_sync:
  - src: .distro/
    dest: .
    delete: true
    filters:
      - \"protect .git*\"
      - \"protect sources\"
      - \"exclude source-git.yaml\"
      - \"exclude .gitignore\"
  - README
  - src: [a, b]
    dest: d/
    mkpath: yes
sources:
  - path: quill-1.4.0.tar.gz
    url: https://git.example.org/quill/archive/v1.4.0.tar.gz
upstream_tag_template: \"v{version}\"
",
    "sync_changelog: true\nupstream_ref: v1\npackages:\n  a:\n    downstream_package_name: alpha\n  b:\n    downstream_package_name: beta\n    upstream_ref: v2\n",
    "downstream_package_name: q\nsync_changelog: true\nupstream_ref:\npatch_generation_patch_id_digits: -1\n_: dropped\n",
    "downstream_package_name: q\nsync_changelog: true\nactions:\n  create-patches: make\n",
    "downstream_package_name: q\nsync_changelog: true\nupstream_ref: 1.6\nfiles_to_sync: []\n",
];

/// Trailer values as they appear in commit messages, and PyYAML's YAML 1.1 value resolution:
/// booleans, octal/hex/binary/sexagesimal integers, floats, null, timestamps, tags, merge
/// keys, duplicate keys, block scalars.
const TRAILERS: &[&str] = &[
    "Patch-name: foo.patch\n",
    "Patch-name: clev:er.patch\n",
    "Patch-name: 'quoted.patch'\n",
    "Patch-name: \"dq \\u00fc \\x41 \\t.patch\"\n",
    "Patch-name: a.patch\nPatch-name: b.patch\n",
    "Patch-id: 010\n",
    "Patch-id: 10\n",
    "Patch-id: 08\n",
    "Patch-id: 0x1F\n",
    "Patch-id: 0b1010\n",
    "Patch-id: 1_000\n",
    "Patch-id: -12\n",
    "Patch-id: +12\n",
    "Patch-id: 1:30\n",
    "Patch-id: 190:20:30\n",
    "Patch-id: 9223372036854775807\n",
    "Patch-id: 99999999999999999999\n",
    "Patch-id: 1.0\n",
    "Patch-id: 1.\n",
    "Patch-id: .5\n",
    "Patch-id: 1e3\n",
    "Patch-id: 1.5e+3\n",
    "Patch-id: 1_0.2_5\n",
    "Patch-id: 1:30.5\n",
    "Patch-id: .inf\n",
    "Patch-id: -.Inf\n",
    "Patch-id: .NaN\n",
    "Patch-id: 2001-12-14\n",
    "Patch-id: 2001-12-14t21:59:43.10-05:00\n",
    "Patch-id: 2001-12-14 21:59:43.10 -5\n",
    "Patch-id: 2001-1-1\n",
    "Patch-id: 2001-02-30\n",
    "Patch-id: 2001-12-14 25:00:00\n",
    "Patch-id: 2000-02-29\n",
    "Patch-id: 1900-02-29\n",
    "Patch-id: 0000-01-01\n",
    "Patch-id: 0b_\n",
    "Patch-present-in-specfile: yes\n",
    "Patch-present-in-specfile: no\n",
    "Patch-present-in-specfile: on\n",
    "Patch-present-in-specfile: OFF\n",
    "Patch-present-in-specfile: True\n",
    "Patch-present-in-specfile: y\n",
    "Patch-present-in-specfile: n\n",
    "Patch-present-in-specfile: yES\n",
    "Ignore-patch: ~\n",
    "Ignore-patch: null\n",
    "Ignore-patch: Null\n",
    "Ignore-patch: NULL\n",
    "Ignore-patch: nULL\n",
    "Ignore-patch:\n",
    "No-prefix: true\n",
    "Patch-status: # nothing to say\n",
    "Patch-status: #nothing\n",
    "Patch-status: a #b\n",
    "Patch-status: a#b\n",
    "Patch-status: |\n    # Backport of the upstream fix for rhbz#2301234\n    upstream: https://quill.example.org/pull/77\n",
    "Patch-status: |\n    # Backport\n    upstream: https://x/77\n ",
    "Patch-status: |\n    Fixed upstream in 1.5.0\n\n    Drop on the next rebase\n",
    "Patch-status: |\n    Line one\n    Line two\n",
    "Patch-status: |\n    Line one\n    Line two",
    "Patch-status: |-\n    stripped\n\n",
    "Patch-status: |+\n    kept\n\n",
    "Patch-status: >\n    folded\n    text\n\n    para\n",
    "Patch-status: >-\n  one\n  two\n\n  three\n",
    "Patch-status: |2\n    indented by four\n",
    "Patch-status: |\n",
    "Patch-status: |\n  x\n  ",
    "Patch-status: |\n\n\n  late content\n",
    "Patch-status: |\n    tab\tinside\n",
    "Patch-status: multi\n    line\n    plain\n",
    "Patch-status: multi\n\n    with blank\n",
    "Patch-status: 'it''s'\n",
    "Patch-status: \"x\ty\"\n",
    "Patch-name: !!str 10\n",
    "Patch-name: !!int \"10\"\n",
    "Patch-name: !!int \"0o17\"\n",
    "Patch-name: !!int \" 12 \"\n",
    "Patch-name: !!float \"1\"\n",
    "Patch-name: !!bool \"maybe\"\n",
    "Patch-name: !!bool \"yes\"\n",
    "Patch-name: !!null x\n",
    "Patch-name: ! 12\n",
    "Patch-name: ! \"12\"\n",
    "Patch-name: !custom x\n",
    "Patch-name: !!binary aGVsbG8=\n",
    "Patch-name: =\n",
    "Patch-name: [a, b]\n",
    "Patch-name: {a: 1}\n",
    "Patch-name: a: b\n",
    "Patch-name: 'unterminated\n",
    "<<: {a: 1}\nb: 2\n",
    "base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n",
    "a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: [*a, *b]\n  z: 3\n",
    "m:\n  <<: [1, 2]\n",
    "m:\n  <<: 1\n",
    "a: &x 1\nb: *x\n",
    "a: *nope\n",
    "&a [*a]\n",
    "a: 1\nb: 2\na: 3\n",
    "1: a\n1.0: b\ntrue: c\n",
    ".nan: 1\n.NaN: 2\n",
    "2001-12-14: a\n'2001-12-14': b\n",
    "[1, 2]: x\n",
    "=: 1\n",
    "",
    "# only a comment\n",
    "---\n",
    "a: 1\n---\nb: 2\n",
    "\u{feff}a: 1\n",
    "a: 1\r\nb: |\r\n  x\r\n  y\r\n",
    "a: \u{7}\n",
    "Ünïcödé: žluťoučký kůň\n",
    "emoji: 😀\n",
];

/// Commit messages for packit's legacy `get_metadata_from_message`.
fn messages() -> Vec<String> {
    [
        "Fix the thing\n\npatch_name: foo.patch\n",
        "patch_name: foo.patch\npresent_in_specfile: true\n",
        "Title\n\nSome prose.\n\npatch_name: a.patch\ndescription: |\n  Multi\n  line\nignore: yes\n",
        "Title\n\nA lot of\ntext\n\nbefore keys.\n\nkey: value\nanother: value\n",
        "Title\n\nkey:\n- first\n- second\n- third\n",
        "Just a title\n",
        "Just a title\n\nand some prose without colons.\n",
        "Title: with colon\n\nbody\n",
        "Title\n\nSigned-off-by: A U Thor <a@example.com>\n",
        "Title\n\nFixes: #123\nResolves: rhbz#4567\n",
        "Title\n\n* bullet one\n* bullet two\n",
        "Title\n\n- item one\n- item two: with colon\n",
        "Title\n\npatch_id: 010\nno_prefix: on\n",
        "Title\n\nsquash_commits: true\npatch_name: x.patch\n",
        "Title\n\nkey: value\n\nmore prose after\n",
        "Title\n\nurl: https://example.com/a:b\n",
        "Title\n\n\tindented with tab: x\n",
        "Title\n\nkey:\tvalue\n",
        "Title\n\ndate: 2001-02-30\n",
        "Title\n\nbody\n\n---\n###### Info for package maintainer\nThis MR has been automatically created from\n[this source-git MR](https://gitlab.com/x/y/-/merge_requests/1).\n",
        "Update to 1.2\n\nUpstream tag: v1.2\nUpstream commit: 0123abc\n",
        "Title\n\n\"quoted\": key\nother: 'x'\n",
        "Title\n\n> quoted reply\nkey: value\n",
        "Title\n\n%s format\nkey: value\n",
        "Title\n\nsee @user for details: ok\n",
        "Title\n\nline one\nkey: value\n",
        "",
        "\n",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Every version of every `.yaml`/`.yml` file and every commit message in the conformance
/// corpus bundles, and the YAML files of the expected outputs.
fn corpus() -> (Vec<String>, Vec<String>) {
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/cases");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&cases)
        .expect("the conformance corpus at ../shared/conformance")
        .map(|e| e.expect("entry").path())
        .collect();
    dirs.sort();
    let (mut yaml, mut messages) = (Vec::new(), Vec::new());
    let tmp = tempfile::tempdir().expect("tempdir");
    let git = |args: &[&str]| -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(tmp.path())
            .args(args)
            .output()
            .expect("git runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    git(&["init", "-q", "--bare", "."]);
    for dir in &dirs {
        for bundle in ["source-git.bundle", "dist-git.bundle"] {
            let bundle = dir.join(bundle);
            if bundle.exists() {
                let refs = format!("refs/*:refs/{}/*", yaml.len() + messages.len());
                git(&["fetch", "-q", &bundle.to_string_lossy(), &refs]);
            }
        }
        let mut stack = vec![dir.join("expected")];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                    yaml.push(std::fs::read_to_string(&path).expect("utf-8 YAML"));
                }
            }
        }
    }
    messages.extend(
        git(&["log", "--all", "--format=%B%x00"])
            .split('\0')
            .map(|m| m.trim_start_matches('\n').to_owned()),
    );
    for line in git(&["rev-list", "--all", "--objects"]).lines() {
        if let Some((blob, path)) = line.split_once(' ')
            && (path.ends_with(".yaml") || path.ends_with(".yml"))
        {
            yaml.push(git(&["cat-file", "blob", blob]));
        }
    }
    yaml.sort();
    yaml.dedup();
    messages.sort();
    messages.dedup();
    (yaml, messages)
}

/// packit's trailer values in `message`: every line whose token is one of packit's six,
/// with its indented continuation lines, loaded on its own.
fn trailers(message: &str) -> Vec<String> {
    const TOKENS: &[&str] = &[
        "Patch-name:",
        "Patch-id:",
        "Patch-status:",
        "Patch-present-in-specfile:",
        "Ignore-patch:",
        "No-prefix:",
    ];
    let mut out: Vec<String> = Vec::new();
    let mut open = false;
    for line in message.lines() {
        if open && line.starts_with([' ', '\t']) {
            let last = out.last_mut().expect("open trailer");
            last.push_str(line);
            last.push('\n');
        } else {
            open = TOKENS.iter().any(|t| line.starts_with(t));
            if open {
                out.push(format!("{line}\n"));
            }
        }
    }
    out
}

#[test]
fn source_git_yaml_and_trailers_match_pyyaml() {
    let mut docs: Vec<String> = SOURCE_GIT_YAMLS.iter().map(|s| s.to_string()).collect();
    docs.extend(TRAILERS.iter().map(|s| s.to_string()));
    docs.extend(messages().iter().flat_map(|m| trailers(m)));
    let n = compare_loads(&docs);
    eprintln!("source_git_yaml_and_trailers_match_pyyaml: {n} documents equal");
}

#[test]
fn conformance_corpus_matches_pyyaml() {
    let (yaml, messages) = corpus();
    assert!(yaml.len() >= 10, "only {} YAML files", yaml.len());
    assert!(messages.len() >= 50, "only {} messages", messages.len());
    let mut docs = yaml.clone();
    docs.extend(messages.iter().flat_map(|m| trailers(m)));
    let n = compare_loads(&docs);
    let m = compare_metadata(&messages);
    eprintln!("conformance_corpus_matches_pyyaml: {n} documents, {m} commit messages equal");
}

#[test]
fn metadata_from_message_matches_packit() {
    let n = compare_metadata(&messages());
    eprintln!("metadata_from_message_matches_packit: {n} messages equal");
}

// ---------------------------------------------------------------------------------------------
// Generated commit messages, from a fixed seed.

/// xorshift64: deterministic, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Commit message body lines.
const PROSE: &[&str] = &[
    "Fix a crash when the config is missing",
    "This fixes: the parser",
    "See https://bugzilla.redhat.com/show_bug.cgi?id=1",
    "Resolves: rhbz#2301234",
    "Related: #42",
    "Signed-off-by: Jane Doe <jane@example.com>",
    "Co-authored-by: X <x@y>",
    "- bullet point",
    "* another bullet",
    "1. first step",
    "- [ ] task",
    "> quoted reply: yes",
    "    code: indented",
    "\tcode with tab",
    "key=value",
    "foo: bar: baz",
    "It's broken; don't use it.",
    "\"Quoted\" text",
    "[PATCH] subject",
    "{json: 1}",
    "Note: this is important.",
    "TODO: later",
    "#123 is the issue",
    "@mention: hi",
    "`code` span",
    "",
    "",
    "Patch-name: foo.patch",
    "patch_name: foo.patch",
    "description: |",
    "  multi line",
    "ignore: yes",
    "---",
    "...",
    "%s formatting",
    "a | b",
    "x > y",
    "50% done",
    "C:\\path",
    "http://x.y:8080/z",
    "Time: 12:30",
    "Version: 1.2.3",
    "Date: 2024-01-02",
    "Port: 0755",
    "Answer: no",
    "Key:  ",
    "? question",
    "!important",
    "&ref",
    "*glob*",
    "ratio 3:2",
    "title:with:colons",
    "  - nested item",
    "    more: indented",
    "tags: [a, b",
    "b]",
];

fn join_lines(rng: &mut Rng, pool: &[&str], prefix: Option<&str>, max_lines: usize) -> String {
    let mut lines: Vec<&str> = prefix.into_iter().collect();
    for _ in 0..1 + rng.below(max_lines) {
        lines.push(rng.pick(pool));
    }
    let mut doc = lines.join("\n");
    if rng.below(4) != 0 {
        doc.push('\n');
    }
    doc
}

#[test]
fn generated_commit_messages_match_packit() {
    let mut rng = Rng(0x5eed_0003);
    let messages: Vec<String> = (0..2000)
        .map(|_| join_lines(&mut rng, PROSE, Some("Commit title"), 7))
        .collect();
    let n = compare_metadata(&messages);
    eprintln!("generated_commit_messages_match_packit: {n} messages equal");
}

/// No input makes `load` panic, and errors carry real lines.
#[test]
fn load_never_panics_on_noise() {
    const ALPHABET: &[char] = &[
        ' ', ' ', '\n', '\t', ':', '-', '#', '\'', '"', '|', '>', '[', ']', '{', '}', ',', '&',
        '*', '!', '?', '%', '@', '`', 'a', '1', '.', '~', '\\',
    ];
    let mut rng = Rng(0x5eed_0004);
    let mut loaded = 0;
    for _ in 0..20_000 {
        let len = rng.below(40);
        let text: String = (0..len)
            .map(|_| match rng.below(4) {
                0 => ['a', 'b', '1', '0', 'x', '.', '_', 'ü'][rng.below(8)],
                _ => ALPHABET[rng.below(ALPHABET.len())],
            })
            .collect();
        let lines = 1 + text.matches('\n').count();
        match load(&text) {
            Ok(_) => loaded += 1,
            Err(err) => assert!(
                (1..=lines + 1).contains(&err.line()),
                "{text:?}: error line {} outside 1..={}",
                err.line(),
                lines + 1
            ),
        }
    }
    assert!(loaded > 1000, "only {loaded} of the noise documents loaded");
}

/// Big and deep documents load in reasonable time and fail cleanly.
#[test]
fn big_and_deep_documents() {
    let mut big = String::from("files_to_sync:\n");
    for i in 0..5000 {
        big.push_str(&format!(
            "  - src: 'dir{i}/'\n    dest: [a, \"b\", {{c: {i}}}]\n    note: |\n      line {i}\n"
        ));
    }
    let started = std::time::Instant::now();
    let node = load(&big).expect("loads").expect("document");
    assert!(
        started.elapsed().as_secs() < 20,
        "took {:?}",
        started.elapsed()
    );
    let Some(Value::Seq(items)) = node.get("files_to_sync").map(|n| &n.value) else {
        panic!("not a list");
    };
    assert_eq!(items.len(), 5000);
    assert_eq!(items[4999].line, 1 + 4 * 4999 + 1);

    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let err = load(&deep).expect_err("too deep");
    assert_eq!(err.line(), 1, "{err}");
    let deep_block: String = (0..600).map(|i| format!("{}-\n", "  ".repeat(i))).collect();
    let err = load(&deep_block).expect_err("too deep");
    assert!(matches!(err, YamlError::Limit { .. }), "{err}");
    let nested: String = (0..190)
        .map(|i| format!("{}k{i}:\n", "  ".repeat(i)))
        .collect();
    let mut node = &load(&nested).expect("190 levels load").expect("document");
    for i in 0..189 {
        node = node.get(&format!("k{i}")).expect("nested key");
    }
    assert!(node.get("k189").is_some_and(Node::is_null));
}
