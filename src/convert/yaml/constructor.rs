//! Construction: composed nodes → [`Node`] values, like PyYAML's `SafeConstructor`: scalar
//! values by tag, sequences, and mappings with `<<` merges and Python's key equality.
//!
//! It must not parse text or resolve tags (the composer and `resolver` did that), and does no
//! I/O.

use super::composer::{Raw, RawKind};
use super::resolver::TIMESTAMP_PARTS;
use super::{CORE, Node, Value, YamlError};

type Pos = (usize, usize);

fn constructor_error((line, col): Pos, message: String) -> YamlError {
    YamlError::Constructor { line, col, message }
}

fn invalid_value((line, col): Pos, message: String) -> YamlError {
    YamlError::InvalidValue { line, col, message }
}

/// `SafeConstructor.flatten_mapping`: `<<` merges first (later merged mappings before earlier
/// ones), `=` keys become strings.
fn flatten_mapping(pairs: Vec<(Raw, Raw)>, at: Pos) -> Result<Vec<(Raw, Raw)>, YamlError> {
    let (mut merged, mut own) = (Vec::new(), Vec::new());
    for (mut key, value) in pairs {
        if key.tag != format!("{CORE}merge") {
            if key.tag == format!("{CORE}value") {
                key.tag = format!("{CORE}str");
            }
            own.push((key, value));
            continue;
        }
        let maps = match value.kind {
            RawKind::Map(sub) => vec![flatten_mapping(sub, at)?],
            RawKind::Seq(items) => items
                .into_iter()
                .map(|item| match item.kind {
                    RawKind::Map(sub) => flatten_mapping(sub, at),
                    other => Err(constructor_error(
                        at,
                        format!("expected a mapping for merging, but found {}", other.id()),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?,
            RawKind::Scalar(_) => {
                return Err(constructor_error(
                    at,
                    "expected a mapping or list of mappings for merging, but found scalar".into(),
                ));
            }
        };
        maps.into_iter().rev().for_each(|m| merged.extend(m));
    }
    merged.extend(own);
    Ok(merged)
}

/// Python `==` between two hashable constructed keys.
fn python_key_eq(a: &Node, b: &Node) -> bool {
    fn number(v: &Value) -> Option<f64> {
        match v {
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }
    match (&a.value, &b.value) {
        (Value::Null, Value::Null) => true,
        (Value::Str(x), Value::Str(y)) => a.timestamp == b.timestamp && x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(i), other) | (other, Value::Int(i)) => number(other).is_some_and(|f| {
            // exact comparison, like Python's int/float equality
            f.fract() == 0.0
                && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f)
                && f as i64 == *i
        }),
        // PyYAML returns the same NaN object for every `.nan`, and dicts compare by identity
        // first, so all NaN keys collide.
        (Value::Float(x), Value::Float(y)) => x == y || (x.is_nan() && y.is_nan()),
        (x, y) => match (number(x), number(y)) {
            (Some(f), Some(g)) => f == g,
            _ => false,
        },
    }
}

/// A composed node as PyYAML's `SafeConstructor` constructs it.
pub(super) fn construct(raw: Raw) -> Result<Node, YamlError> {
    let at = (raw.line, raw.col);
    let short = raw.tag.strip_prefix(CORE).unwrap_or("");
    let mut timestamp = false;
    let value = match (short, raw.kind) {
        ("null", RawKind::Scalar(_)) => Value::Null,
        ("bool", RawKind::Scalar(text)) => match text.to_lowercase().as_str() {
            "yes" | "true" | "on" => Value::Bool(true),
            "no" | "false" | "off" => Value::Bool(false),
            _ => return Err(invalid_value(at, format!("{text:?} is not a boolean"))),
        },
        ("int", RawKind::Scalar(text)) => Value::Int(construct_int(&text, at)?),
        ("float", RawKind::Scalar(text)) => Value::Float(construct_float(&text, at)?),
        ("timestamp", RawKind::Scalar(text)) => {
            check_timestamp(&text, at)?;
            timestamp = true;
            Value::Str(text)
        }
        ("str", RawKind::Scalar(text)) => Value::Str(text),
        ("seq", RawKind::Seq(items)) => {
            Value::Seq(items.into_iter().map(construct).collect::<Result<_, _>>()?)
        }
        ("map", RawKind::Map(pairs)) => {
            let mut out: Vec<(Node, Node)> = Vec::with_capacity(pairs.len());
            for (key, value) in flatten_mapping(pairs, at)? {
                let key = construct(key)?;
                if matches!(key.value, Value::Seq(_) | Value::Map(_)) {
                    let message = "found unhashable key".into();
                    return Err(constructor_error((key.line, key.col), message));
                }
                let value = construct(value)?;
                match out.iter_mut().find(|(k, _)| python_key_eq(k, &key)) {
                    Some(slot) => slot.1 = value,
                    None => out.push((key, value)),
                }
            }
            Value::Map(out)
        }
        ("binary" | "set" | "omap" | "pairs", _) => {
            let what = format!("the tag !!{short}");
            return Err(YamlError::Unsupported { line: at.0, what });
        }
        ("null" | "bool" | "int" | "float" | "str" | "timestamp" | "seq" | "map", other) => {
            let expected = match short {
                "seq" => "sequence",
                "map" => "mapping",
                _ => "scalar",
            };
            let message = format!("expected a {expected} node, but found {}", other.id());
            return Err(constructor_error(at, message));
        }
        _ => {
            let message = format!(
                "could not determine a constructor for the tag {:?}",
                raw.tag
            );
            return Err(constructor_error(at, message));
        }
    };
    let (line, col) = at;
    Ok(Node {
        value,
        line,
        col,
        timestamp,
    })
}

/// `SafeConstructor.construct_yaml_int`, with Python's `int(text, base)` (surrounding
/// whitespace, a sign and a `0b`/`0o`/`0x` prefix accepted).
fn construct_int(text: &str, at: Pos) -> Result<i64, YamlError> {
    let bad = || invalid_value(at, format!("invalid integer {text:?}"));
    let too_big = || YamlError::Unsupported {
        line: at.0,
        what: "an integer outside the 64-bit range".to_owned(),
    };
    let int = |s: &str, base: u32| -> Result<i128, YamlError> {
        let s = s.trim();
        let (neg, s) = s
            .strip_prefix('-')
            .map_or((false, s.strip_prefix('+').unwrap_or(s)), |r| (true, r));
        let prefixes: &[&str] = match base {
            2 => &["0b", "0B"],
            8 => &["0o", "0O"],
            16 => &["0x", "0X"],
            _ => &[],
        };
        let digits = prefixes.iter().find_map(|p| s.strip_prefix(p)).unwrap_or(s);
        if digits.is_empty() || !digits.chars().all(|c| c.is_digit(base)) {
            return Err(bad());
        }
        let magnitude = i128::from_str_radix(digits, base).map_err(|_| too_big())?;
        Ok(if neg { -magnitude } else { magnitude })
    };
    let cleaned = text.replace('_', "");
    let digits = cleaned.strip_prefix(['-', '+']).unwrap_or(&cleaned);
    let magnitude = if digits.is_empty() {
        return Err(bad());
    } else if digits == "0" {
        0
    } else if let Some(bin) = digits.strip_prefix("0b") {
        int(bin, 2)?
    } else if let Some(hex) = digits.strip_prefix("0x") {
        int(hex, 16)?
    } else if digits.starts_with('0') {
        int(digits, 8)?
    } else {
        let (mut value, mut base) = (0_i128, 1_i128);
        for part in digits.rsplit(':') {
            value = int(part, 10)?
                .checked_mul(base)
                .and_then(|d| value.checked_add(d))
                .ok_or_else(too_big)?;
            base = base.checked_mul(60).ok_or_else(too_big)?;
        }
        value
    };
    let value = if cleaned.starts_with('-') {
        -magnitude
    } else {
        magnitude
    };
    i64::try_from(value).map_err(|_| too_big())
}

/// `SafeConstructor.construct_yaml_float`.
fn construct_float(text: &str, at: Pos) -> Result<f64, YamlError> {
    // Python's float() ignores surrounding whitespace.
    let cleaned = text.replace('_', "").trim().to_lowercase();
    let body = cleaned.strip_prefix(['-', '+']).unwrap_or(&cleaned);
    let bad = || invalid_value(at, format!("invalid float {text:?}"));
    let value = match body {
        ".inf" => f64::INFINITY,
        ".nan" => return Ok(f64::NAN),
        _ if !body.contains(':') => body.parse().map_err(|_| bad())?,
        _ => {
            let (mut value, mut base) = (0.0_f64, 1.0_f64);
            for part in body.rsplit(':') {
                value += part.parse::<f64>().map_err(|_| bad())? * base;
                base *= 60.0;
            }
            value
        }
    };
    Ok(if cleaned.starts_with('-') {
        -value
    } else {
        value
    })
}

/// The checks `datetime.date`/`datetime.datetime`/`datetime.timezone` make in
/// `SafeConstructor.construct_yaml_timestamp`.
fn check_timestamp(text: &str, at: Pos) -> Result<(), YamlError> {
    let fail = |what: &str| Err(invalid_value(at, format!("{what} in {text:?}")));
    let Some(caps) = TIMESTAMP_PARTS.captures(text) else {
        return fail("not a timestamp");
    };
    let num = |name: &str| -> u32 {
        caps.name(name)
            .and_then(|m| m.as_str().parse().ok())
            .unwrap_or(0)
    };
    let (year, month, day) = (num("year"), num("month"), num("day"));
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 => 28 + u32::from(leap),
        _ => 0,
    };
    if year == 0 {
        fail("year 0 is out of range")
    } else if days_in_month == 0 {
        fail("month must be in 1..12")
    } else if day == 0 || day > days_in_month {
        fail("day is out of range for month")
    } else if caps.name("hour").is_some()
        && (num("hour") > 23 || num("minute") > 59 || num("second") > 59)
    {
        fail("time out of range")
    } else if caps.name("tz_sign").is_some() && num("tz_hour") * 60 + num("tz_minute") >= 24 * 60 {
        fail("time zone offset out of range")
    } else {
        Ok(())
    }
}
