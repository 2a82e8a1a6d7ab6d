//! Positions in edited text mapped back to the original text: the record of the edits
//! `repair` made ([`LineEdit`]), and the column (and end-of-text) corrections applied to loaded
//! nodes and errors.
//!
//! It must not decide or make edits (`repair` does) and does no I/O.

use std::collections::HashMap;

use super::{Node, Value, YamlError};

/// One edit of a line: at 1-based column `col`, `removed` chars became `inserted` chars.
#[derive(Debug, Clone, Copy)]
pub(super) struct LineEdit {
    pub(super) line: usize,
    pub(super) col: usize,
    pub(super) removed: usize,
    pub(super) inserted: usize,
}

/// The edits of every 1-based line, in the order they were made.
pub(super) type Shifts = HashMap<usize, Vec<LineEdit>>;

/// An edited text and its edits.
pub(super) type Edited = (String, Vec<LineEdit>);

/// Maps a column of the edited text back to the original text: columns after an edit move
/// back, a node starting inside inserted text starts where the edit starts (its first
/// character) or right after the removed text.
fn unshift(line: usize, col: usize, shifts: &Shifts) -> usize {
    let Some(edits) = shifts.get(&line) else {
        return col;
    };
    let mut col = col;
    for edit in edits.iter().rev() {
        if col >= edit.col + edit.inserted {
            col = col + edit.removed - edit.inserted;
        } else if col > edit.col {
            col = edit.col + edit.removed;
        }
    }
    col.max(1)
}

/// Moves positions past the end of the original text back to its end.
pub(super) fn clamp_node(mut node: Node, eof: (usize, usize)) -> Node {
    if (node.line, node.col) > eof {
        (node.line, node.col) = eof;
    }
    node.value = match node.value {
        Value::Seq(items) => Value::Seq(items.into_iter().map(|n| clamp_node(n, eof)).collect()),
        Value::Map(pairs) => Value::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (clamp_node(k, eof), clamp_node(v, eof)))
                .collect(),
        ),
        other => other,
    };
    node
}

pub(super) fn unshift_node(mut node: Node, shifts: &Shifts) -> Node {
    if shifts.is_empty() {
        return node;
    }
    node.col = unshift(node.line, node.col, shifts);
    node.value = match node.value {
        Value::Seq(items) => {
            Value::Seq(items.into_iter().map(|n| unshift_node(n, shifts)).collect())
        }
        Value::Map(pairs) => Value::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (unshift_node(k, shifts), unshift_node(v, shifts)))
                .collect(),
        ),
        other => other,
    };
    node
}

pub(super) fn unshift_error(err: YamlError, shifts: &Shifts) -> YamlError {
    match err {
        YamlError::Syntax { line, col, message } => YamlError::Syntax {
            line,
            col: unshift(line, col, shifts),
            message,
        },
        YamlError::Constructor { line, col, message } => YamlError::Constructor {
            line,
            col: unshift(line, col, shifts),
            message,
        },
        YamlError::InvalidValue { line, col, message } => YamlError::InvalidValue {
            line,
            col: unshift(line, col, shifts),
            message,
        },
        other @ YamlError::Unsupported { .. } => other,
    }
}
