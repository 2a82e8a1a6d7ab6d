//! YAML loading with PyYAML `yaml.safe_load` semantics (YAML 1.1 value resolution).
//!
//! This module owns turning YAML text (a `source-git.yaml`, a packit trailer value such as
//! `Patch-id: 010`, or a legacy metadata block in a commit message) into a [`Node`] tree whose
//! values are what PyYAML 6's `safe_load` would produce: `yes`/`on` are booleans, `010` is 8,
//! `1:30` is 90, `1.0` is a float, a value starting with `#` is null, duplicate keys keep the
//! last value, `<<` merges mappings. Every node and every error carries a 1-based line and
//! column so callers can say "source-git.yaml line 7: …".
//!
//! It must not do I/O, and it does not interpret what the values mean for packit: that is the
//! caller's business.
//!
//! Parsing uses `yaml-rust2`'s event parser (a YAML 1.2 parser) plus its token stream. Where
//! PyYAML's YAML 1.1 reader/scanner/parser behave differently, this module follows PyYAML:
//! - line breaks are normalised first (`\r\n`, `\r` and NEL become `\n`, as PyYAML does);
//!   characters outside PyYAML's printable set are errors, U+2028/U+2029 are `Unsupported`;
//!   a leading byte order mark is skipped;
//! - stricter PyYAML rules are enforced on the tokens: tabs only inside quoted scalars,
//!   block-scalar content and comments; anchor names `[0-9A-Za-z_-]+`; no duplicate anchors;
//!   a space after tags and block scalar headers; which characters may start a plain scalar
//!   (and no `?` inside one in flow context); a key before every `:`; `%YAML 1.x` only; no
//!   `...` before the first document; root-level block scalar content indented;
//! - documents yaml-rust2 rejects but PyYAML reads the same way after a harmless edit are
//!   edited and parsed again: quoted scalars with under-indented (or tab-indented)
//!   continuation lines, a block scalar header on its own line at its key's indentation, `#`
//!   right after a quoted scalar or flow indicator, an indicator at the very end, `-` directly
//!   followed by a flow indicator. Columns are mapped back to the original text;
//! - node positions are PyYAML's `start_mark`s (first property, block scalar indicator, first
//!   key of a block mapping, the `-` of a sequence, just after the `:` for an empty value),
//!   recovered from the token stream; block scalar values are corrected where yaml-rust2
//!   differs (no content, last line without a line break).
//!
//! Deliberate representation choices (PyYAML values that have no exact counterpart here):
//! - timestamps (`2001-12-14`, `2001-12-14 21:59:43.10 -5`) become [`Value::Str`] holding the
//!   original text with [`Node::timestamp`] set; [`Node::type_name`] reports `date` or
//!   `datetime`. Invalid dates (`2001-02-30`) make PyYAML raise `ValueError`; here they are
//!   [`YamlError::InvalidValue`];
//! - integers outside the `i64` range, `!!binary`, `!!set`, `!!omap`, `!!pairs` and recursive
//!   aliases are [`YamlError::Unsupported`], as are constructs PyYAML tokenises differently
//!   from yaml-rust2 in ways this module cannot replay (an anchor name glued to `:`, `?`/`:`
//!   glued to a plain scalar in flow context).
//!
//! Layout (all submodules are private and pure):
//! - this file: the public types, [`load`] (the edit-and-retry loop) and one load attempt;
//! - `reader`: PyYAML's reader (printable characters, line break normalisation);
//! - `scan`: yaml-rust2's token stream and the source positions derived from it;
//! - `lexical`: the PyYAML lexical rules yaml-rust2 does not enforce;
//! - `block_scalar`: PyYAML's reading of block scalar values;
//! - `composer`: events → nodes with resolved tags (anchors, aliases, limits);
//! - `positions`: PyYAML's node positions, matched from events to tokens;
//! - `resolver`: PyYAML's implicit resolvers (null/bool/int/float/timestamp);
//! - `constructor`: nodes → values (PyYAML's `SafeConstructor`);
//! - `repair`: the edits that make yaml-rust2 accept what PyYAML accepts;
//! - `shifts`: mapping positions in edited text back to the original text;
//! - `legacy`: packit's legacy commit-message metadata lookup.

mod block_scalar;
mod composer;
mod constructor;
mod legacy;
mod lexical;
mod positions;
mod reader;
mod repair;
mod resolver;
mod scan;
mod shifts;

use std::collections::HashMap;

use composer::Composer;
use constructor::construct;
use reader::prepare;
use repair::{
    MAX_REINDENTS, Retry, reindent_block_header, reindent_quoted, replace_at, retry_for,
    source_name_split,
};
use resolver::{DATE_ONLY, matches};
use scan::Scan;
use shifts::{Shifts, clamp_node, unshift_error, unshift_node};

pub use legacy::{metadata_from_message, try_metadata_from_message};

/// The YAML core tag prefix (`!!`).
const CORE: &str = "tag:yaml.org,2002:";

/// A loaded YAML value with the position where it starts in the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The constructed value.
    pub value: Value,
    /// 1-based line of the first character of the node.
    pub line: usize,
    /// 1-based column (in characters) of the first character of the node.
    pub col: usize,
    /// True if PyYAML would construct a `datetime.date`/`datetime.datetime` here; the value is
    /// then a [`Value::Str`] with the original text.
    pub timestamp: bool,
}

/// A YAML value as PyYAML's `safe_load` constructs it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `None`: `~`, `null`, `Null`, `NULL`, an empty plain scalar, or `!!null`.
    Null,
    /// `bool`: `yes|no|true|false|on|off` in lower, title or upper case.
    Bool(bool),
    /// `int`: decimal, `0b` binary, `0` octal, `0x` hex, `1:30` sexagesimal, `_` allowed.
    Int(i64),
    /// `float`: needs a `.` (`1.0`, `.5`, `1.e+3`), or `.inf`/`.nan`, or `1:30.5`.
    Float(f64),
    /// `str`: quoted and block scalars, and plain scalars that resolve to nothing else.
    Str(String),
    /// `list`.
    Seq(Vec<Node>),
    /// `dict`, in document order; keys are unique by Python equality (`1`, `1.0` and `true`
    /// are the same key) and the last value for a key wins, at the key's first position.
    Map(Vec<(Node, Node)>),
}

/// Why a document could not be loaded. Every variant carries the 1-based source line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum YamlError {
    /// Not well-formed YAML for PyYAML (its `ReaderError`, `ScannerError`, `ParserError` or
    /// `ComposerError`, e.g. several documents in the stream).
    #[error("line {line}, column {col}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// What is wrong.
        message: String,
    },
    /// Well-formed but PyYAML's `SafeConstructor` rejects it with a `ConstructorError` (unknown
    /// tag, unhashable key, bad merge).
    #[error("line {line}, column {col}: {message}")]
    Constructor {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// What is wrong.
        message: String,
    },
    /// PyYAML raises a non-YAML exception here (`ValueError`/`KeyError`), e.g. for the date
    /// `2001-02-30`, the integer `0b_` or `!!bool maybe`.
    #[error("line {line}, column {col}: {message}")]
    InvalidValue {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// What is wrong.
        message: String,
    },
    /// PyYAML accepts this (or reads it in a way this module cannot replay) but it has no
    /// representation here: big integers, `!!binary`/`!!set`/`!!omap`/`!!pairs`, recursive
    /// aliases, U+2028/U+2029, anchors glued to `:`. Callers should treat it as "cannot tell".
    #[error("line {line}: {what} is not supported")]
    Unsupported {
        /// 1-based line.
        line: usize,
        /// The unsupported construct.
        what: String,
    },
}

impl YamlError {
    /// The 1-based source line of the problem.
    pub fn line(&self) -> usize {
        match self {
            YamlError::Syntax { line, .. }
            | YamlError::Constructor { line, .. }
            | YamlError::InvalidValue { line, .. }
            | YamlError::Unsupported { line, .. } => *line,
        }
    }

    /// True if PyYAML raises a `yaml.YAMLError` for this input (so `except yaml.YAMLError`
    /// catches it); false if PyYAML raises another exception or accepts the input.
    pub fn is_pyyaml_error(&self) -> bool {
        matches!(
            self,
            YamlError::Syntax { .. } | YamlError::Constructor { .. }
        )
    }
}

impl Node {
    /// The value of `key` if this is a mapping with that string key.
    ///
    /// Only string keys match (not timestamps, numbers or booleans), like `dict.get("…")`.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(pairs) => pairs
                .iter()
                .find(|(k, _)| !k.timestamp && matches!(&k.value, Value::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string if this is a `str` (timestamps are not strings for PyYAML, so `None`).
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) if !self.timestamp => Some(s),
            _ => None,
        }
    }

    /// The boolean if this is a `bool`.
    pub fn as_bool(&self) -> Option<bool> {
        match self.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The integer if this is an `int` (booleans are not integers here).
    pub fn as_int(&self) -> Option<i64> {
        match self.value {
            Value::Int(i) => Some(i),
            _ => None,
        }
    }

    /// True if this is `None`.
    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// The Python type name of the value PyYAML would construct: `NoneType`, `bool`, `int`,
    /// `float`, `str`, `list`, `dict`, `date` or `datetime`.
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            Value::Null => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(s) if self.timestamp => {
                if matches(&DATE_ONLY, s) {
                    "date"
                } else {
                    "datetime"
                }
            }
            Value::Str(_) => "str",
            Value::Seq(_) => "list",
            Value::Map(_) => "dict",
        }
    }
}

/// Loads a YAML document like PyYAML's `yaml.safe_load(text)`.
///
/// Returns `Ok(None)` when the stream holds no document (empty, or only comments); an explicit
/// empty document (`---`) gives `Some` null node. More than one document is an error, as in
/// PyYAML. Aliases are expanded by copying the anchored node.
pub fn load(text: &str) -> Result<Option<Node>, YamlError> {
    let prepared = prepare(text)?;
    let mut text = prepared
        .strip_prefix('\u{feff}')
        .unwrap_or(&prepared)
        .to_owned();
    // Column shifts of the edits, per 1-based line: (first moved column, shift).
    let mut shifts: Shifts = HashMap::new();
    // Where the original text ends (edits may append a line break).
    let eof = {
        let lines = 1 + text.matches('\n').count();
        let last = text.rsplit('\n').next().map_or(0, |l| l.chars().count());
        (lines, last + 1)
    };
    let mut attempts = 0;
    loop {
        let (err, retry) = match load_prepared(&text) {
            Ok(node) => {
                return Ok(node.map(|n| {
                    if shifts.is_empty() {
                        n
                    } else {
                        clamp_node(unshift_node(n, &shifts), eof)
                    }
                }));
            }
            Err(failure) => failure,
        };
        let fixed = match retry {
            _ if attempts >= MAX_REINDENTS => None,
            Retry::Quoted(quote) => reindent_quoted(&text, quote),
            Retry::Parser => reindent_block_header(&text),
            Retry::Edit(at, remove, insert) => Some(replace_at(&text, at, remove, insert)),
            Retry::No => None,
        };
        let Some((fixed, moved)) = fixed else {
            return Err(unshift_error(err, &shifts));
        };
        for edit in moved {
            shifts.entry(edit.line).or_default().push(edit);
        }
        text = fixed;
        attempts += 1;
    }
}

/// One attempt of [`load`] on prepared text: the document, or the error PyYAML would report
/// first together with what [`load`] may retry.
fn load_prepared(text: &str) -> Result<Option<Node>, (YamlError, Retry)> {
    let scan = Scan::new(text);
    if let Some(failure) = token_split(&scan) {
        return Err(failure);
    }
    let lexical = scan.violation();
    let mut composer = Composer::new(text, &scan);
    let composed = match composer.single_document() {
        // PyYAML would stop at a syntax error later in the text before constructing anything.
        Err(err @ YamlError::Unsupported { .. }) => {
            Err(composer.later_parse_error().unwrap_or(err))
        }
        other => other,
    };
    let root = match (composed, lexical) {
        (Err(err), lexical) => {
            let retry = match &composer.parse_error {
                Some(e) => retry_for(&scan.chars, e),
                None => Retry::No,
            };
            // Report whichever problem PyYAML would meet first.
            let err_pos = match &err {
                YamlError::Syntax { line, col, .. } => (*line, *col),
                other => (other.line(), usize::MAX),
            };
            let reported = match lexical {
                Some((pos, lex))
                    if scan.line_col(pos) < err_pos
                        || (matches!(lex, YamlError::Unsupported { .. })
                            && lex.line() <= err_pos.0) =>
                {
                    lex
                }
                _ => err,
            };
            return Err((reported, retry));
        }
        (Ok(_), Some((_, lex))) => return Err((lex, Retry::No)),
        (Ok(root), None) => root,
    };
    root.map(construct).transpose().map_err(|e| (e, Retry::No))
}

/// A token PyYAML ends earlier than yaml-rust2 ([`Scan::split_point`], or
/// [`source_name_split`] when the scanner failed first): the error and the edit to retry with.
fn token_split(scan: &Scan) -> Option<(YamlError, Retry)> {
    let split = scan.split_point().or_else(|| {
        scan.failed
            .then(|| source_name_split(&scan.chars))
            .flatten()
            .filter(|&at| at >= scan.tokens.last().map_or(0, |t| t.0.index()))
            .map(|at| (at, Retry::Edit(at, 0, " ")))
    });
    if let Some((at, edit)) = split {
        let (line, col) = scan.line_col(at);
        let err = YamlError::Syntax {
            line,
            col,
            message: "a token PyYAML ends earlier than yaml-rust2".into(),
        };
        return Some((err, edit));
    }
    None
}

#[cfg(test)]
mod tests;
