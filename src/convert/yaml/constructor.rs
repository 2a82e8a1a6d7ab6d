//! Construction: composed nodes → [`Node`] values, like PyYAML's `SafeConstructor`: scalar
//! values by tag (null, bool, int, float, str, timestamp), sequences, and mappings with `<<`
//! merges and Python's key equality (duplicate keys keep the last value).
//!
//! It must not parse text or resolve tags (the composer and `resolver` did that), and does no
//! I/O.

use super::composer::{Raw, RawKind};
use super::resolver::TIMESTAMP_PARTS_RE;
use super::{CORE, Node, Value, YamlError};

fn constructor_error_at((line, col): (usize, usize), message: String) -> YamlError {
    YamlError::Constructor { line, col, message }
}

fn invalid_value((line, col): (usize, usize), message: String) -> YamlError {
    YamlError::InvalidValue { line, col, message }
}

/// `SafeConstructor.flatten_mapping`: moves `<<` merges to the front; `=` keys become strings.
fn flatten_mapping(pairs: &mut Vec<(Raw, Raw)>, owner: (usize, usize)) -> Result<(), YamlError> {
    let merge_tag = format!("{CORE}merge");
    let value_tag = format!("{CORE}value");
    let mut merge: Vec<(Raw, Raw)> = Vec::new();
    let mut index = 0;
    while index < pairs.len() {
        if pairs[index].0.tag == merge_tag {
            let (_, value) = pairs.remove(index);
            let value_id = value.kind.id();
            match value.kind {
                RawKind::Map(mut sub) => {
                    flatten_mapping(&mut sub, owner)?;
                    merge.extend(sub);
                }
                RawKind::Seq(items) => {
                    let mut submerge = Vec::new();
                    for item in items {
                        let item_id = item.kind.id();
                        match item.kind {
                            RawKind::Map(mut sub) => {
                                flatten_mapping(&mut sub, owner)?;
                                submerge.push(sub);
                            }
                            _ => {
                                return Err(constructor_error_at(
                                    owner,
                                    format!("expected a mapping for merging, but found {item_id}"),
                                ));
                            }
                        }
                    }
                    for sub in submerge.into_iter().rev() {
                        merge.extend(sub);
                    }
                }
                RawKind::Scalar(_) => {
                    return Err(constructor_error_at(
                        owner,
                        format!(
                            "expected a mapping or list of mappings for merging, but found {value_id}"
                        ),
                    ));
                }
            }
        } else {
            if pairs[index].0.tag == value_tag {
                pairs[index].0.tag = format!("{CORE}str");
            }
            index += 1;
        }
    }
    if !merge.is_empty() {
        merge.append(pairs);
        *pairs = merge;
    }
    Ok(())
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
    let node = |value: Value, timestamp: bool| Node {
        value,
        line: at.0,
        col: at.1,
        timestamp,
    };
    let short = raw.tag.strip_prefix(CORE).unwrap_or("");
    let value = match (short, raw.kind) {
        ("null" | "bool" | "int" | "float" | "str" | "timestamp", RawKind::Scalar(text)) => {
            return construct_scalar(&text, short, at).map(|(v, ts)| node(v, ts));
        }
        ("seq", RawKind::Seq(items)) => {
            Value::Seq(items.into_iter().map(construct).collect::<Result<_, _>>()?)
        }
        ("map", RawKind::Map(pairs)) => construct_map(pairs, at)?,
        ("binary" | "set" | "omap" | "pairs", _) => {
            return Err(YamlError::Unsupported {
                line: at.0,
                what: format!("the tag !!{short}"),
            });
        }
        ("null" | "bool" | "int" | "float" | "str" | "timestamp" | "seq" | "map", other) => {
            let expected = match short {
                "seq" => "sequence",
                "map" => "mapping",
                _ => "scalar",
            };
            let found = other.id();
            return Err(constructor_error_at(
                at,
                format!("expected a {expected} node, but found {found}"),
            ));
        }
        _ => {
            let message = format!(
                "could not determine a constructor for the tag {:?}",
                raw.tag
            );
            return Err(constructor_error_at(at, message));
        }
    };
    Ok(node(value, false))
}

/// [`construct`] of a scalar with the tag `short`: the value and whether it is a timestamp.
fn construct_scalar(
    text: &str,
    short: &str,
    at: (usize, usize),
) -> Result<(Value, bool), YamlError> {
    Ok(match short {
        "null" => (Value::Null, false),
        "bool" => match text.to_lowercase().as_str() {
            "yes" | "true" | "on" => (Value::Bool(true), false),
            "no" | "false" | "off" => (Value::Bool(false), false),
            _ => return Err(invalid_value(at, format!("{text:?} is not a boolean"))),
        },
        "int" => (Value::Int(construct_int(text, at)?), false),
        "float" => (Value::Float(construct_float(text, at)?), false),
        "timestamp" => {
            check_timestamp(text, at)?;
            (Value::Str(text.to_owned()), true)
        }
        _ => (Value::Str(text.to_owned()), false),
    })
}

/// [`construct`] of a mapping: merges flattened, keys checked hashable, duplicate keys (by
/// Python equality) keeping the last value at the first position.
fn construct_map(mut pairs: Vec<(Raw, Raw)>, at: (usize, usize)) -> Result<Value, YamlError> {
    flatten_mapping(&mut pairs, at)?;
    let mut out: Vec<(Node, Node)> = Vec::with_capacity(pairs.len());
    for (key_raw, value_raw) in pairs {
        let key = construct(key_raw)?;
        if matches!(key.value, Value::Seq(_) | Value::Map(_)) {
            return Err(constructor_error_at(
                (key.line, key.col),
                "found unhashable key".into(),
            ));
        }
        let value = construct(value_raw)?;
        match out.iter_mut().find(|(k, _)| python_key_eq(k, &key)) {
            Some(slot) => slot.1 = value,
            None => out.push((key, value)),
        }
    }
    Ok(Value::Map(out))
}

/// Python's `int(text, base)` for the texts `construct_yaml_int` passes to it: surrounding
/// whitespace, a sign and a base prefix (`0b`/`0o`/`0x`) are accepted. `None` when Python
/// raises `ValueError`; `Some(Err(()))` when the value overflows `i128`.
fn python_int(text: &str, base: u32) -> Option<Result<i128, ()>> {
    let text = text.trim();
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let prefix = match base {
        2 => ["0b", "0B"],
        8 => ["0o", "0O"],
        16 => ["0x", "0X"],
        _ => ["", ""],
    };
    let digits = if base == 10 {
        digits
    } else {
        prefix
            .iter()
            .find_map(|p| digits.strip_prefix(p))
            .unwrap_or(digits)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(base)) {
        return None;
    }
    let magnitude = match i128::from_str_radix(digits, base) {
        Ok(m) => m,
        Err(_) => return Some(Err(())),
    };
    Some(Ok(if negative { -magnitude } else { magnitude }))
}

/// `SafeConstructor.construct_yaml_int`.
fn construct_int(text: &str, raw: (usize, usize)) -> Result<i64, YamlError> {
    let cleaned: String = text.chars().filter(|&c| c != '_').collect();
    let bad = || invalid_value(raw, format!("invalid integer {text:?}"));
    let int = |digits: &str, base: u32| -> Result<i128, YamlError> {
        match python_int(digits, base) {
            None => Err(bad()),
            Some(Err(())) => Err(too_big(raw)),
            Some(Ok(v)) => Ok(v),
        }
    };
    let negative = cleaned.starts_with('-');
    let digits = cleaned.strip_prefix(['-', '+']).unwrap_or(cleaned.as_str());
    let magnitude: i128 = if digits.is_empty() {
        return Err(bad());
    } else if digits == "0" {
        0
    } else if let Some(bin) = digits.strip_prefix("0b") {
        int(bin, 2)?
    } else if let Some(hex) = digits.strip_prefix("0x") {
        int(hex, 16)?
    } else if digits.starts_with('0') {
        int(digits, 8)?
    } else if digits.contains(':') {
        let mut value: i128 = 0;
        let mut base: i128 = 1;
        for part in digits.rsplit(':') {
            let digit = int(part, 10)?;
            value = digit
                .checked_mul(base)
                .and_then(|d| value.checked_add(d))
                .ok_or_else(|| too_big(raw))?;
            base = base.checked_mul(60).ok_or_else(|| too_big(raw))?;
        }
        value
    } else {
        int(digits, 10)?
    };
    let value = if negative { -magnitude } else { magnitude };
    i64::try_from(value).map_err(|_| too_big(raw))
}

fn too_big(raw: (usize, usize)) -> YamlError {
    YamlError::Unsupported {
        line: raw.0,
        what: "an integer outside the 64-bit range".to_owned(),
    }
}

/// `SafeConstructor.construct_yaml_float`.
fn construct_float(text: &str, raw: (usize, usize)) -> Result<f64, YamlError> {
    // Python's float() ignores surrounding whitespace.
    let cleaned: String = text
        .chars()
        .filter(|&c| c != '_')
        .collect::<String>()
        .trim()
        .to_lowercase();
    let negative = cleaned.starts_with('-');
    let body = cleaned.strip_prefix(['-', '+']).unwrap_or(cleaned.as_str());
    let sign = |f: f64| if negative { -f } else { f };
    let bad = || invalid_value(raw, format!("invalid float {text:?}"));
    if body == ".inf" {
        return Ok(sign(f64::INFINITY));
    }
    if body == ".nan" {
        return Ok(f64::NAN);
    }
    if body.contains(':') {
        let mut value = 0.0_f64;
        let mut base = 1.0_f64;
        for part in body.rsplit(':') {
            let digit: f64 = part.parse().map_err(|_| bad())?;
            value += digit * base;
            base *= 60.0;
        }
        return Ok(sign(value));
    }
    body.parse::<f64>().map(sign).map_err(|_| bad())
}

/// The checks `datetime.date`/`datetime.datetime`/`datetime.timezone` make in
/// `SafeConstructor.construct_yaml_timestamp`.
fn check_timestamp(text: &str, raw: (usize, usize)) -> Result<(), YamlError> {
    let caps = TIMESTAMP_PARTS_RE
        .as_ref()
        .and_then(|re| re.captures(text))
        .ok_or_else(|| invalid_value(raw, format!("{text:?} is not a timestamp")))?;
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
        2 if leap => 29,
        2 => 28,
        _ => 0,
    };
    if year == 0 {
        return Err(invalid_value(
            raw,
            format!("year 0 is out of range in {text:?}"),
        ));
    }
    if days_in_month == 0 {
        return Err(invalid_value(
            raw,
            format!("month must be in 1..12 in {text:?}"),
        ));
    }
    if day == 0 || day > days_in_month {
        return Err(invalid_value(
            raw,
            format!("day is out of range for month in {text:?}"),
        ));
    }
    if caps.name("hour").is_some() {
        if num("hour") > 23 || num("minute") > 59 || num("second") > 59 {
            return Err(invalid_value(raw, format!("time out of range in {text:?}")));
        }
        if caps.name("tz_sign").is_some() && num("tz_hour") * 60 + num("tz_minute") >= 24 * 60 {
            return Err(invalid_value(
                raw,
                format!("time zone offset out of range in {text:?}"),
            ));
        }
    }
    Ok(())
}
