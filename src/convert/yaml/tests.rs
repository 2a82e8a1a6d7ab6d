//! Unit tests of the YAML loader through its public API (scalar resolution, timestamps, error
//! positions, legacy metadata lines, alias limits). Differential tests against PyYAML (values
//! and node positions) live in `tests/yaml_vs_pyyaml.rs`.
//!
//! Tests only: no I/O.

use super::*;

fn value(text: &str) -> Value {
    load(text).expect("loads").expect("has a document").value
}

fn scalar(text: &str) -> Value {
    match value(&format!("k: {text}\n")) {
        Value::Map(mut pairs) => pairs.remove(0).1.value,
        other => panic!("not a map: {other:?}"),
    }
}

#[test]
fn yaml_1_1_scalars() {
    assert_eq!(scalar("yes"), Value::Bool(true));
    assert_eq!(scalar("Off"), Value::Bool(false));
    assert_eq!(scalar("y"), Value::Str("y".into()));
    assert_eq!(scalar("010"), Value::Int(8));
    assert_eq!(scalar("0x1F"), Value::Int(31));
    assert_eq!(scalar("0b101"), Value::Int(5));
    assert_eq!(scalar("1_000"), Value::Int(1000));
    assert_eq!(scalar("-1:30"), Value::Int(-90));
    assert_eq!(scalar("08"), Value::Str("08".into()));
    assert_eq!(scalar("1.0"), Value::Float(1.0));
    assert_eq!(scalar("1e3"), Value::Str("1e3".into()));
    assert_eq!(scalar("1.5e+3"), Value::Float(1500.0));
    assert_eq!(scalar("-.inf"), Value::Float(f64::NEG_INFINITY));
    assert_eq!(scalar("~"), Value::Null);
    assert_eq!(scalar(""), Value::Null);
    assert_eq!(scalar("# comment"), Value::Null);
    assert_eq!(scalar("'yes'"), Value::Str("yes".into()));
    assert_eq!(scalar("!!str 10"), Value::Str("10".into()));
    assert_eq!(scalar("! \"12\""), Value::Int(12));
    assert_eq!(scalar("clev:er.patch"), Value::Str("clev:er.patch".into()));
}

#[test]
fn timestamps_are_flagged_strings() {
    let doc = load("d: 2001-12-14\nt: 2001-12-14 21:59:43.10 -5\n")
        .expect("loads")
        .expect("doc");
    let d = doc.get("d").expect("d");
    assert!(d.timestamp);
    assert_eq!(d.type_name(), "date");
    assert_eq!(d.as_str(), None);
    assert_eq!(doc.get("t").map(Node::type_name), Some("datetime"));
    assert!(matches!(
        load("d: 2001-02-30"),
        Err(YamlError::InvalidValue { line: 1, .. })
    ));
}

#[test]
fn errors_carry_lines() {
    let err = load("a: 1\nb: [\n").expect_err("unterminated");
    assert!(matches!(err, YamlError::Syntax { .. }));
    assert_eq!(err.line(), 3);
    let err = load("a: 1\nb: [x,\n  c: {\n").expect_err("unterminated");
    assert!(
        matches!(
            err,
            YamlError::Syntax {
                line: 4,
                col: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(matches!(
        load("a: 1\n---\nb: 2\n"),
        Err(YamlError::Syntax { line: 2, .. })
    ));
    assert!(matches!(
        load("a: !!binary aGVsbG8="),
        Err(YamlError::Unsupported { line: 1, .. })
    ));
}

#[test]
fn legacy_metadata() {
    let msg = "Fix the thing\n\nSome prose here.\n\npatch_name: foo.patch\nignore: yes\n";
    let meta = metadata_from_message(msg).expect("metadata");
    assert_eq!(
        meta.get("patch_name").and_then(Node::as_str),
        Some("foo.patch")
    );
    assert_eq!(meta.get("ignore").and_then(Node::as_bool), Some(true));
    assert_eq!(meta.get("patch_name").map(|n| n.line), Some(5));
    assert!(metadata_from_message("Just a title\n\nand prose.\n").is_none());
}

/// The position of the first limit error, or a panic if `text` loads.
fn limit(text: &str) -> (usize, usize, String) {
    match load(text) {
        Err(YamlError::Limit { line, col, message }) => (line, col, message),
        other => panic!("not refused: {:?}", other.map(|n| n.map(|n| n.type_name()))),
    }
}

#[test]
fn a_big_scalar_aliased_many_times_is_refused_quickly() {
    let mut doc = format!("big: &big {}\nuses:\n", "x".repeat(1 << 20));
    for _ in 0..1000 {
        doc.push_str("- *big\n");
    }
    let started = std::time::Instant::now();
    let (line, col, message) = limit(&doc);
    assert!(
        started.elapsed().as_secs() < 5,
        "took {:?}",
        started.elapsed()
    );
    // The 1 MiB scalar, its seven first uses and the keys go past 8 MiB.
    assert_eq!((line, col), (9, 3));
    assert_eq!(
        message,
        "the YAML document expands to more than 8 MiB (aliases counted each time they are used)"
    );
    assert!(load(&format!("big: &big {}\nuse: *big\n", "x".repeat(1 << 20))).is_ok());
}

#[test]
fn nested_alias_bombs_are_refused() {
    // "Billion laughs": nine levels of nine aliases to the level below.
    let mut doc = format!("a: &a [{}]\n", ["\"lol\""; 9].join(", "));
    for name in 'b'..='j' {
        let prev = (name as u8 - 1) as char;
        doc.push_str(&format!(
            "{name}: &{name} [{}]\n",
            vec![format!("*{prev}"); 9].join(", ")
        ));
    }
    let (line, _, message) = limit(&doc);
    assert!(line > 1 && line <= 10, "{line}: {message}");
    // Many small nodes: the node limit catches what the byte budget would let through.
    let mut doc = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for name in 'b'..='h' {
        let prev = (name as u8 - 1) as char;
        doc.push_str(&format!(
            "{name}: &{name} [{}]\n",
            vec![format!("*{prev}"); 10].join(", ")
        ));
    }
    assert!(limit(&doc).2.contains("nodes"));
}

#[test]
fn ordinary_aliases_and_merges_load() {
    let doc = "defaults: &d {delete: true, mkpath: false}\nfiles_to_sync:\n  - <<: *d\n    src: a\n  - <<: *d\n    src: b\nname: &n quill\nalias: *n\n";
    let node = load(doc).expect("loads").expect("doc");
    let Some(Value::Seq(items)) = node.get("files_to_sync").map(|n| &n.value) else {
        panic!("files_to_sync")
    };
    assert_eq!(items[1].get("delete").and_then(Node::as_bool), Some(true));
    assert_eq!(node.get("alias").and_then(Node::as_str), Some("quill"));
}
