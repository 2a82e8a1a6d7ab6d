//! PyYAML's implicit resolvers (`resolver.py`): the tag a plain scalar resolves to (null,
//! bool, int, float, merge, timestamp, value or str), plus the timestamp regexes the
//! constructor and [`super::Node::type_name`] use.
//!
//! It owns only the patterns and the choice of tag; it must not construct values (that is
//! `constructor`'s job) and does no I/O.

use std::sync::LazyLock;

use regex::Regex;

use super::CORE;

// PyYAML's implicit resolvers (resolver.py) and the timestamp constructor regex. Python's `$`
// also matches before a final line break, hence `\n?\z`.

pub(super) static BOOL_RE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)\n?\z")
});
pub(super) static FLOAT_RE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(concat!(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?",
        r"|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?",
        r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*",
        r"|[-+]?\.(?:inf|Inf|INF)",
        r"|\.(?:nan|NaN|NAN))\n?\z",
    ))
});
pub(super) static INT_RE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(concat!(
        r"^(?:[-+]?0b[0-1_]+",
        r"|[-+]?0[0-7_]+",
        r"|[-+]?(?:0|[1-9][0-9_]*)",
        r"|[-+]?0x[0-9a-fA-F_]+",
        r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)\n?\z",
    ))
});
pub(super) static NULL_RE: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(r"^(?:~|null|Null|NULL|)\n?\z"));
pub(super) static TIMESTAMP_RE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(concat!(
        r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]",
        r"|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?",
        r"(?:[Tt]|[ \t]+)[0-9][0-9]?",
        r":[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?",
        r"(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)\n?\z",
    ))
});
/// `SafeConstructor.timestamp_regexp`.
pub(super) static TIMESTAMP_PARTS_RE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(concat!(
        r"^(?P<year>[0-9][0-9][0-9][0-9])-(?P<month>[0-9][0-9]?)-(?P<day>[0-9][0-9]?)",
        r"(?:(?:[Tt]|[ \t]+)(?P<hour>[0-9][0-9]?):(?P<minute>[0-9][0-9]):(?P<second>[0-9][0-9])",
        r"(?:\.(?P<fraction>[0-9]*))?",
        r"(?:[ \t]*(?P<tz>Z|(?P<tz_sign>[-+])(?P<tz_hour>[0-9][0-9]?)(?::(?P<tz_minute>[0-9][0-9]))?))?)?\n?\z",
    ))
});
/// A timestamp without a time part (constructed as `datetime.date`).
pub(super) static DATE_ONLY: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(r"^[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?\n?\z"));

/// Compiles a constant pattern (`None` only if the pattern were invalid; a unit test checks
/// that every pattern compiles).
fn compile(pattern: &str) -> Option<Regex> {
    Regex::new(pattern).ok()
}

/// True if the (compiled) pattern matches `text`.
pub(super) fn matches(re: &LazyLock<Option<Regex>>, text: &str) -> bool {
    re.as_ref().is_some_and(|re| re.is_match(text))
}

/// The tag PyYAML's resolver gives a plain (or `!`-tagged) scalar.
pub(super) fn resolve_implicit(value: &str) -> String {
    let kind = if matches(&BOOL_RE, value) {
        "bool"
    } else if matches(&FLOAT_RE, value) {
        "float"
    } else if matches(&INT_RE, value) {
        "int"
    } else if value.strip_suffix('\n').unwrap_or(value) == "<<" {
        "merge"
    } else if matches(&NULL_RE, value) {
        "null"
    } else if matches(&TIMESTAMP_RE, value) {
        "timestamp"
    } else if value.strip_suffix('\n').unwrap_or(value) == "=" {
        "value"
    } else {
        "str"
    };
    format!("{CORE}{kind}")
}
