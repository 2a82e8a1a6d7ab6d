//! packit's legacy commit-message metadata (`get_metadata_from_message`).
//!
//! It must not parse YAML itself (it calls [`load`]) and does no I/O.

use super::{Node, Value, YamlError, load};

/// packit's legacy metadata lookup (`get_metadata_from_message`): the first suffix of `message`
/// (dropping leading lines one by one, splitting on `\n`) that loads as a mapping, with lines
/// relative to the whole message.
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
        match load(&lines[skip..].join("\n")) {
            Ok(Some(mut node)) if matches!(node.value, Value::Map(_)) => {
                shift_lines(&mut node, skip);
                return Ok(Some(node));
            }
            Ok(_) => {}
            Err(err) if err.is_pyyaml_error() => {}
            Err(mut err) => {
                match &mut err {
                    YamlError::Syntax { line, .. }
                    | YamlError::Constructor { line, .. }
                    | YamlError::InvalidValue { line, .. }
                    | YamlError::Limit { line, .. }
                    | YamlError::Unsupported { line, .. } => *line += skip,
                }
                return Err(err);
            }
        }
    }
    Ok(None)
}

fn shift_lines(node: &mut Node, by: usize) {
    node.line += by;
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|n| shift_lines(n, by)),
        Value::Map(pairs) => pairs.iter_mut().for_each(|(k, v)| {
            shift_lines(k, by);
            shift_lines(v, by);
        }),
        _ => {}
    }
}
