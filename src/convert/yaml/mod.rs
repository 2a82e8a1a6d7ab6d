//! YAML loading with PyYAML `yaml.safe_load` value semantics (YAML 1.1 resolution).
//! May import std, `yaml-rust2` and `regex`, nothing else of the crate; callers import it.
//! Must not do I/O, nor interpret what the values mean for packit (that is the caller's job).
//!
//! Deliberate differences from PyYAML: parsing is `yaml-rust2`'s (YAML 1.2) after PyYAML's
//! reader rules, so documents the two tokenisers read differently are not emulated (README,
//! "Differences from packit"); timestamps are [`Value::Str`] with [`Node::timestamp`] set;
//! integers outside `i64`, `!!binary`/`!!set`/`!!omap`/`!!pairs` and recursive aliases are
//! [`YamlError::Unsupported`]; aliases are expanded by copying, within [`MAX_EXPANDED_BYTES`]
//! (each use counts its full size) and node/nesting limits ([`YamlError::Limit`]).

mod block_scalar;
mod composer;
mod constructor;
mod legacy;
mod reader;
mod resolver;

pub use composer::MAX_EXPANDED_BYTES;
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
    /// aliases, U+2028/U+2029. Callers should treat it as "cannot tell".
    #[error("line {line}: {what} is not supported")]
    Unsupported {
        /// 1-based line.
        line: usize,
        /// The unsupported construct.
        what: String,
    },
    /// Beyond this module's limits: expanded size ([`MAX_EXPANDED_BYTES`], aliases counted each
    /// time they are used), node count or nesting depth.
    #[error("line {line}, column {col}: {message}")]
    Limit {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// Which limit.
        message: String,
    },
}

impl YamlError {
    /// The 1-based source line of the problem.
    pub fn line(&self) -> usize {
        match self {
            YamlError::Syntax { line, .. }
            | YamlError::Constructor { line, .. }
            | YamlError::InvalidValue { line, .. }
            | YamlError::Limit { line, .. }
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
            Value::Str(s) if self.timestamp && s.contains(':') => "datetime",
            Value::Str(_) if self.timestamp => "date",
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
    let text = reader::prepare(text)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    composer::single_document(text)?
        .map(constructor::construct)
        .transpose()
}

#[cfg(test)]
mod tests;
