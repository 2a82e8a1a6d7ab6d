//! PyYAML's implicit resolvers (`resolver.py`): the tag a plain scalar resolves to, plus the
//! timestamp regex of `SafeConstructor`.
//!
//! It must not construct values (that is `constructor`'s job) and does no I/O.

use std::sync::LazyLock;

use regex::Regex;

use super::CORE;

/// Anchors a pattern like Python's `re.match(... $)`: `$` also matches before a final `\n`.
fn re(pattern: &str) -> Regex {
    Regex::new(&format!(r"^(?:{pattern})\n?\z")).expect("valid regex")
}

/// PyYAML's implicit resolvers, in the order they are tried.
static IMPLICIT: LazyLock<[(&str, Regex); 7]> = LazyLock::new(|| {
    [
        (
            "bool",
            re("yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"),
        ),
        (
            "float",
            re(concat!(
                r"[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?",
                r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
            )),
        ),
        (
            "int",
            re(concat!(
                r"[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+",
                r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+",
            )),
        ),
        ("merge", re("<<")),
        ("null", re("~|null|Null|NULL|")),
        (
            "timestamp",
            re(concat!(
                r"[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]",
                r"|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?",
                r":[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?",
            )),
        ),
        ("value", re("=")),
    ]
});

/// `SafeConstructor.timestamp_regexp`.
pub(super) static TIMESTAMP_PARTS: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?P<year>[0-9][0-9][0-9][0-9])-(?P<month>[0-9][0-9]?)-(?P<day>[0-9][0-9]?)",
        r"(?:(?:[Tt]|[ \t]+)(?P<hour>[0-9][0-9]?):(?P<minute>[0-9][0-9]):(?P<second>[0-9][0-9])",
        r"(?:\.[0-9]*)?(?:[ \t]*(?:Z|(?P<tz_sign>[-+])(?P<tz_hour>[0-9][0-9]?)",
        r"(?::(?P<tz_minute>[0-9][0-9]))?))?)?",
    ))
});

/// The tag PyYAML's resolver gives a plain (or `!`-tagged) scalar.
pub(super) fn resolve_implicit(value: &str) -> String {
    let kind = IMPLICIT
        .iter()
        .find(|(_, re)| re.is_match(value))
        .map_or("str", |(kind, _)| kind);
    format!("{CORE}{kind}")
}
