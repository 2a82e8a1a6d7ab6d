//! packit's legacy commit-message metadata (`get_metadata_from_message`): the first suffix of
//! a commit message that loads as a YAML mapping, with lines relative to the whole message.
//!
//! It must not parse YAML itself (it calls [`load`]) and does no I/O.

use super::{Node, Value, YamlError, load};

/// packit's legacy metadata lookup (`get_metadata_from_message`): the first suffix of `message`
/// (dropping leading lines one by one, splitting on `\n`) that loads as a mapping.
///
/// Suffixes that PyYAML rejects with a `yaml.YAMLError` are skipped like packit does. `None`
/// if no suffix is a mapping, and also when a suffix makes PyYAML raise another exception
/// (packit crashes there) or uses something this module cannot represent; use
/// [`try_metadata_from_message`] to tell these apart.
pub fn metadata_from_message(message: &str) -> Option<Node> {
    try_metadata_from_message(message).ok().flatten()
}

/// Like [`metadata_from_message`], but reports the suffix on which packit would crash (PyYAML
/// raising something other than `yaml.YAMLError`) or that cannot be represented, as `Err`.
/// The error's line is relative to the whole message.
pub fn try_metadata_from_message(message: &str) -> Result<Option<Node>, YamlError> {
    let lines: Vec<&str> = message.split('\n').collect();
    for skip in 0..lines.len() {
        let part = lines[skip..].join("\n");
        match load(&part) {
            Ok(Some(node)) if matches!(node.value, Value::Map(_)) => {
                return Ok(Some(shift_lines(node, skip)));
            }
            Ok(_) => {}
            Err(err) if err.is_pyyaml_error() => {}
            Err(err) => return Err(shift_error(err, skip)),
        }
    }
    Ok(None)
}

fn shift_lines(mut node: Node, by: usize) -> Node {
    node.line += by;
    node.value = match node.value {
        Value::Seq(items) => Value::Seq(items.into_iter().map(|n| shift_lines(n, by)).collect()),
        Value::Map(pairs) => Value::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (shift_lines(k, by), shift_lines(v, by)))
                .collect(),
        ),
        other => other,
    };
    node
}

fn shift_error(err: YamlError, by: usize) -> YamlError {
    match err {
        YamlError::Syntax { line, col, message } => YamlError::Syntax {
            line: line + by,
            col,
            message,
        },
        YamlError::Constructor { line, col, message } => YamlError::Constructor {
            line: line + by,
            col,
            message,
        },
        YamlError::InvalidValue { line, col, message } => YamlError::InvalidValue {
            line: line + by,
            col,
            message,
        },
        YamlError::Limit { line, col, message } => YamlError::Limit {
            line: line + by,
            col,
            message,
        },
        YamlError::Unsupported { line, what } => YamlError::Unsupported {
            line: line + by,
            what,
        },
    }
}
