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

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, ScanError, Scanner, TScalarStyle, Token, TokenType};

/// The YAML core tag prefix (`!!`).
const CORE: &str = "tag:yaml.org,2002:";

/// Upper bound on the number of nodes, aliases expanded (protects against "billion laughs").
const MAX_NODES: usize = 1_000_000;
/// Upper bound on collection nesting (the composer recurses).
const MAX_DEPTH: usize = 200;

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

// ---------------------------------------------------------------------------------------------
// PyYAML's implicit resolvers (resolver.py) and the timestamp constructor regex. Python's `$`
// also matches before a final line break, hence `\n?\z`.

static BOOL_RE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)\n?\z")
});
static FLOAT_RE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(concat!(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?",
        r"|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?",
        r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*",
        r"|[-+]?\.(?:inf|Inf|INF)",
        r"|\.(?:nan|NaN|NAN))\n?\z",
    ))
});
static INT_RE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(concat!(
        r"^(?:[-+]?0b[0-1_]+",
        r"|[-+]?0[0-7_]+",
        r"|[-+]?(?:0|[1-9][0-9_]*)",
        r"|[-+]?0x[0-9a-fA-F_]+",
        r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)\n?\z",
    ))
});
static NULL_RE: LazyLock<Option<Regex>> = LazyLock::new(|| compile(r"^(?:~|null|Null|NULL|)\n?\z"));
static TIMESTAMP_RE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(concat!(
        r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]",
        r"|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?",
        r"(?:[Tt]|[ \t]+)[0-9][0-9]?",
        r":[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?",
        r"(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)\n?\z",
    ))
});
/// `SafeConstructor.timestamp_regexp`.
static TIMESTAMP_PARTS_RE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(concat!(
        r"^(?P<year>[0-9][0-9][0-9][0-9])-(?P<month>[0-9][0-9]?)-(?P<day>[0-9][0-9]?)",
        r"(?:(?:[Tt]|[ \t]+)(?P<hour>[0-9][0-9]?):(?P<minute>[0-9][0-9]):(?P<second>[0-9][0-9])",
        r"(?:\.(?P<fraction>[0-9]*))?",
        r"(?:[ \t]*(?P<tz>Z|(?P<tz_sign>[-+])(?P<tz_hour>[0-9][0-9]?)(?::(?P<tz_minute>[0-9][0-9]))?))?)?\n?\z",
    ))
});
/// A timestamp without a time part (constructed as `datetime.date`).
static DATE_ONLY: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(r"^[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?\n?\z"));

/// Compiles a constant pattern (`None` only if the pattern were invalid; a unit test checks
/// that every pattern compiles).
fn compile(pattern: &str) -> Option<Regex> {
    Regex::new(pattern).ok()
}

/// True if the (compiled) pattern matches `text`.
fn matches(re: &LazyLock<Option<Regex>>, text: &str) -> bool {
    re.as_ref().is_some_and(|re| re.is_match(text))
}

/// The tag PyYAML's resolver gives a plain (or `!`-tagged) scalar.
fn resolve_implicit(value: &str) -> String {
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

// ---------------------------------------------------------------------------------------------
// Composition: events → nodes with resolved tags (PyYAML's Composer + Resolver).

/// A composed node: PyYAML's `ScalarNode`/`SequenceNode`/`MappingNode` with its resolved tag.
#[derive(Debug, Clone)]
struct Raw {
    kind: RawKind,
    tag: String,
    line: usize,
    col: usize,
    /// Number of nodes in this subtree.
    size: usize,
}

#[derive(Debug, Clone)]
enum RawKind {
    Scalar(String),
    Seq(Vec<Raw>),
    Map(Vec<(Raw, Raw)>),
}

impl RawKind {
    /// PyYAML's node id, for messages.
    fn id(&self) -> &'static str {
        match self {
            RawKind::Scalar(_) => "scalar",
            RawKind::Seq(_) => "sequence",
            RawKind::Map(_) => "mapping",
        }
    }
}

fn syntax_error(err: &ScanError) -> YamlError {
    if err.info() == "recursion limit exceeded" {
        // yaml-rust2 stops at 255 nested flow collections; PyYAML goes on.
        return YamlError::Unsupported {
            line: err.marker().line(),
            what: "flow collections nested more than 255 levels deep".to_owned(),
        };
    }
    YamlError::Syntax {
        line: err.marker().line(),
        col: err.marker().col() + 1,
        message: err.info().to_owned(),
    }
}

fn syntax_at(mark: &Marker, message: &str) -> YamlError {
    YamlError::Syntax {
        line: mark.line(),
        col: mark.col() + 1,
        message: message.to_owned(),
    }
}

/// The full tag name of an explicit tag; `!` stands for the non-specific tag.
fn tag_name(tag: &Tag) -> String {
    if tag.handle.is_empty() && tag.suffix == "!" {
        "!".to_owned()
    } else {
        format!("{}{}", tag.handle, tag.suffix)
    }
}

/// Where a node sits, which tells which indicator token introduces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The document's root node.
    Root,
    /// A mapping key (`?`, explicit or implied).
    Key,
    /// A mapping value (`:`).
    Value,
    /// An item of a block sequence (`-`).
    Item,
    /// An item of a flow sequence (no indicator of its own).
    FlowItem,
}

struct Composer<'a> {
    parser: Parser<std::str::Chars<'a>>,
    scan: &'a Scan,
    /// Index of the last token matched to an event (tokens are consumed in order).
    cursor: usize,
    anchors: HashMap<usize, Raw>,
    open_anchors: HashSet<usize>,
    nodes: usize,
    /// The parser's error, if composing failed because of one.
    parse_error: Option<ScanError>,
}

impl Composer<'_> {
    fn next(&mut self) -> Result<(Event, Marker), YamlError> {
        self.parser.next_token().map_err(|e| {
            let err = syntax_error(&e);
            self.parse_error = Some(e);
            err
        })
    }

    fn count(&mut self, n: usize, mark: &Marker) -> Result<(), YamlError> {
        self.nodes += n;
        if self.nodes > MAX_NODES {
            return Err(YamlError::Unsupported {
                line: mark.line(),
                what: format!("a document with more than {MAX_NODES} nodes (aliases expanded)"),
            });
        }
        Ok(())
    }

    /// The first token after the cursor that starts at `at` and satisfies `kind`.
    fn find_token(&self, at: usize, kind: impl Fn(&TokenType) -> bool) -> Option<usize> {
        (self.cursor + 1..self.scan.tokens.len())
            .find(|&j| self.scan.mark(j) == at && kind(&self.scan.tokens[j].1))
    }

    /// Consumes the indicator token that introduces a node in `role` (`:` before a value, `?`
    /// before a key, `-` before a block sequence item) if it is the next token, skipping the
    /// ends of collections (and `,` before keys and items). Returns its index.
    fn consume_indicator(&mut self, role: Role) -> Option<usize> {
        let skipped = self.scan.tokens[self.cursor + 1..]
            .iter()
            .take_while(|token| match (&token.1, role) {
                // Ends of the nested collections of the previous node.
                (
                    TokenType::BlockEnd | TokenType::FlowSequenceEnd | TokenType::FlowMappingEnd,
                    _,
                )
                | (TokenType::FlowEntry, Role::Key | Role::Item) => true,
                _ => false,
            })
            .count();
        let j = self.cursor + 1 + skipped;
        let found = matches!(
            (&self.scan.tokens.get(j)?.1, role),
            (TokenType::Value, Role::Value)
                | (TokenType::Key, Role::Key)
                | (TokenType::BlockEntry, Role::Item)
        );
        if found {
            self.cursor = j;
        }
        found.then_some(j)
    }

    /// PyYAML's start position (char index) of the node of event `ev` in `role`, and the
    /// token of a non-empty scalar. yaml-rust2's event marks are token marks, and tokens
    /// arrive in order: after the indicator that introduces the node come its properties and
    /// its own token. PyYAML starts a node at its first property, a block scalar at its
    /// indicator, an empty node right after the indicator before it (or at the next token), a
    /// block mapping at its first key and a sequence at its first `-`.
    fn node_start(&mut self, ev: &Event, mark: &Marker, role: Role) -> (usize, Option<usize>) {
        let at = mark.index();
        let scan = self.scan;
        let indicator = self.consume_indicator(role);
        match ev {
            Event::Scalar(text, style, ..)
                if !(text.is_empty() && *style == TScalarStyle::Plain) =>
            {
                let Some(j) = self.find_token(at, |t| matches!(t, TokenType::Scalar(..))) else {
                    return (at, None);
                };
                self.cursor = j;
                let own = match style {
                    TScalarStyle::Literal | TScalarStyle::Folded => scan.block_indicator(j),
                    _ => at,
                };
                (scan.props_start(j).unwrap_or(own), Some(j))
            }
            Event::Scalar(..) => {
                // An empty node: its properties, or the end of its indicator, or the next token.
                let mut props_from = self.cursor + 1;
                while props_from < scan.tokens.len()
                    && matches!(
                        scan.tokens[props_from].1,
                        TokenType::FlowEntry | TokenType::BlockEnd
                    )
                {
                    props_from += 1;
                }
                let mut k = props_from;
                while k < scan.tokens.len()
                    && matches!(scan.tokens[k].1, TokenType::Anchor(_) | TokenType::Tag(..))
                {
                    k += 1;
                }
                if k > props_from {
                    self.cursor = k - 1;
                    return (scan.mark(props_from), None);
                }
                let start = match indicator.map(|j| (&scan.tokens[j].1, j)) {
                    Some((TokenType::BlockEntry, j)) => scan.dash(j) + 1,
                    Some((_, j)) => scan.mark(j) + 1,
                    None => at,
                };
                (start, None)
            }
            Event::SequenceStart(..) => {
                let Some(j) = self.find_token(at, |t| {
                    matches!(
                        t,
                        TokenType::BlockSequenceStart
                            | TokenType::FlowSequenceStart
                            | TokenType::BlockEntry
                    )
                }) else {
                    return (at, None);
                };
                let own = if matches!(scan.tokens[j].1, TokenType::BlockEntry) {
                    // An indentless sequence starts at its first `-`, which also introduces
                    // its first item: leave it to be consumed.
                    self.cursor = j - 1;
                    scan.dash(j)
                } else {
                    self.cursor = j;
                    at
                };
                (scan.props_start(j).unwrap_or(own), None)
            }
            Event::MappingStart(..) => {
                let Some(j) = self.find_token(at, |t| {
                    matches!(
                        t,
                        TokenType::BlockMappingStart | TokenType::FlowMappingStart
                    )
                }) else {
                    return (at, None);
                };
                self.cursor = j;
                // yaml-rust2 marks a block mapping (and an implicit `[a: b]` pair) at the first
                // `:`; PyYAML at the first key, which is the next token.
                let own = if scan.chars.get(at) == Some(&'{') {
                    at
                } else {
                    scan.mark(j + 1)
                };
                (scan.props_start(j).unwrap_or(own), None)
            }
            Event::Alias(..) => {
                if let Some(j) = self.find_token(at, |t| matches!(t, TokenType::Alias(_))) {
                    self.cursor = j;
                }
                (at, None)
            }
            _ => (at, None),
        }
    }

    /// Runs the parser to the end of the stream; its error, if any.
    fn later_parse_error(&mut self) -> Option<YamlError> {
        loop {
            match self.next() {
                Ok((Event::StreamEnd, _)) => return None,
                Ok(_) => {}
                Err(err) => return Some(err),
            }
        }
    }

    /// PyYAML's `get_single_node`: `None` for an empty stream, an error for a second document.
    fn single_document(&mut self) -> Result<Option<Raw>, YamlError> {
        let (first, mark) = self.next()?;
        if first != Event::StreamStart {
            return Err(syntax_at(&mark, "did not find expected <stream-start>"));
        }
        let (ev, mark) = self.next()?;
        match ev {
            Event::StreamEnd => return Ok(None),
            Event::DocumentStart => {}
            _ => return Err(syntax_at(&mark, "did not find expected <document-start>")),
        }
        let (ev, mark) = self.next()?;
        let root = self.compose(ev, mark, 0, Role::Root)?;
        let (ev, mark) = self.next()?;
        if ev != Event::DocumentEnd {
            return Err(syntax_at(&mark, "did not find expected <document-end>"));
        }
        let (ev, mark) = self.next()?;
        if ev != Event::StreamEnd {
            return Err(syntax_at(
                &mark,
                "expected a single document in the stream, but found another document",
            ));
        }
        Ok(Some(root))
    }

    /// The value of block scalar token `j` as PyYAML's `scan_block_scalar` reads it (yaml-rust2
    /// differs for scalars without content, a last line without a line break, and trailing
    /// space-only lines).
    fn block_scalar_value(&self, j: usize) -> String {
        let scan = self.scan;
        scan_block_scalar(&scan.chars, scan.block_indicator(j), scan.indents[j])
    }

    fn compose(
        &mut self,
        ev: Event,
        mark: Marker,
        depth: usize,
        role: Role,
    ) -> Result<Raw, YamlError> {
        if depth > MAX_DEPTH {
            return Err(YamlError::Unsupported {
                line: mark.line(),
                what: format!("nesting deeper than {MAX_DEPTH} levels"),
            });
        }
        let (start, token) = self.node_start(&ev, &mark, role);
        let (line, col) = self.scan.line_col(start);
        match ev {
            Event::Alias(id) => {
                if let Some(raw) = self.anchors.get(&id) {
                    // PyYAML reuses the anchored node (and its position); copy it.
                    let raw = raw.clone();
                    self.count(raw.size, &mark)?;
                    Ok(raw)
                } else if self.open_anchors.contains(&id) {
                    Err(YamlError::Unsupported {
                        line: mark.line(),
                        what: "a recursive alias".to_owned(),
                    })
                } else {
                    Err(syntax_at(&mark, "found undefined alias"))
                }
            }
            Event::Scalar(mut text, style, anchor, tag) => {
                self.count(1, &mark)?;
                if let (TScalarStyle::Literal | TScalarStyle::Folded, Some(j)) = (style, token) {
                    text = self.block_scalar_value(j);
                }
                let tag = match tag.as_ref().map(tag_name) {
                    Some(t) if t == "!" => resolve_implicit(&text),
                    Some(t) => t,
                    None if style == TScalarStyle::Plain => resolve_implicit(&text),
                    None => format!("{CORE}str"),
                };
                let raw = Raw {
                    kind: RawKind::Scalar(text),
                    tag,
                    line,
                    col,
                    size: 1,
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, raw.clone());
                }
                Ok(raw)
            }
            Event::SequenceStart(anchor, tag) => {
                self.count(1, &mark)?;
                if anchor > 0 {
                    self.open_anchors.insert(anchor);
                }
                let mut items = Vec::new();
                let mut size = 1;
                let item_role = if self.scan.chars.get(mark.index()) == Some(&'[') {
                    Role::FlowItem
                } else {
                    Role::Item
                };
                loop {
                    let (ev, m) = self.next()?;
                    if ev == Event::SequenceEnd {
                        break;
                    }
                    let item = self.compose(ev, m, depth + 1, item_role)?;
                    size += item.size;
                    items.push(item);
                }
                let tag = match tag.as_ref().map(tag_name) {
                    Some(t) if t != "!" => t,
                    _ => format!("{CORE}seq"),
                };
                let raw = Raw {
                    kind: RawKind::Seq(items),
                    tag,
                    line,
                    col,
                    size,
                };
                if anchor > 0 {
                    self.open_anchors.remove(&anchor);
                    self.anchors.insert(anchor, raw.clone());
                }
                Ok(raw)
            }
            Event::MappingStart(anchor, tag) => {
                self.count(1, &mark)?;
                if anchor > 0 {
                    self.open_anchors.insert(anchor);
                }
                let mut pairs = Vec::new();
                let mut size = 1;
                loop {
                    let (ev, m) = self.next()?;
                    if ev == Event::MappingEnd {
                        break;
                    }
                    let key = self.compose(ev, m, depth + 1, Role::Key)?;
                    let (ev, m) = self.next()?;
                    let value = self.compose(ev, m, depth + 1, Role::Value)?;
                    size += key.size + value.size;
                    pairs.push((key, value));
                }
                let tag = match tag.as_ref().map(tag_name) {
                    Some(t) if t != "!" => t,
                    _ => format!("{CORE}map"),
                };
                let raw = Raw {
                    kind: RawKind::Map(pairs),
                    tag,
                    line,
                    col,
                    size,
                };
                if anchor > 0 {
                    self.open_anchors.remove(&anchor);
                    self.anchors.insert(anchor, raw.clone());
                }
                Ok(raw)
            }
            _ => Err(syntax_at(&mark, "unexpected event while composing a node")),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Construction: nodes → values (PyYAML's SafeConstructor).

fn constructor_error(raw: &Raw, message: String) -> YamlError {
    YamlError::Constructor {
        line: raw.line,
        col: raw.col,
        message,
    }
}

fn invalid_value(raw: &Raw, message: String) -> YamlError {
    YamlError::InvalidValue {
        line: raw.line,
        col: raw.col,
        message,
    }
}

/// `SafeConstructor.flatten_mapping`: moves `<<` merges to the front; `=` keys become strings.
fn flatten_mapping(pairs: &mut Vec<(Raw, Raw)>, owner: &Raw) -> Result<(), YamlError> {
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
                                return Err(constructor_error(
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
                    return Err(constructor_error(
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

fn construct(raw: Raw) -> Result<Node, YamlError> {
    let tag = raw.tag.clone();
    let short = tag.strip_prefix(CORE).unwrap_or("");
    let (line, col) = (raw.line, raw.col);
    let node = |value: Value, timestamp: bool| Node {
        value,
        line,
        col,
        timestamp,
    };
    match short {
        "null" | "bool" | "int" | "float" | "str" | "timestamp" => {
            let text = match &raw.kind {
                RawKind::Scalar(text) => text.as_str(),
                other => {
                    return Err(constructor_error(
                        &raw,
                        format!("expected a scalar node, but found {}", other.id()),
                    ));
                }
            };
            match short {
                "null" => Ok(node(Value::Null, false)),
                "bool" => match text.to_lowercase().as_str() {
                    "yes" | "true" | "on" => Ok(node(Value::Bool(true), false)),
                    "no" | "false" | "off" => Ok(node(Value::Bool(false), false)),
                    _ => Err(invalid_value(&raw, format!("{text:?} is not a boolean"))),
                },
                "int" => construct_int(text, &raw).map(|i| node(Value::Int(i), false)),
                "float" => construct_float(text, &raw).map(|f| node(Value::Float(f), false)),
                "timestamp" => {
                    check_timestamp(text, &raw)?;
                    Ok(node(Value::Str(text.to_owned()), true))
                }
                _ => Ok(node(Value::Str(text.to_owned()), false)),
            }
        }
        "seq" => match raw.kind {
            RawKind::Seq(items) => Ok(node(
                Value::Seq(items.into_iter().map(construct).collect::<Result<_, _>>()?),
                false,
            )),
            ref other => Err(constructor_error(
                &raw,
                format!("expected a sequence node, but found {}", other.id()),
            )),
        },
        "map" => {
            let owner = Raw {
                kind: RawKind::Scalar(String::new()),
                ..raw.clone()
            };
            match raw.kind {
                RawKind::Map(mut pairs) => {
                    flatten_mapping(&mut pairs, &owner)?;
                    let mut out: Vec<(Node, Node)> = Vec::with_capacity(pairs.len());
                    for (key_raw, value_raw) in pairs {
                        let key = construct(key_raw)?;
                        if matches!(key.value, Value::Seq(_) | Value::Map(_)) {
                            return Err(YamlError::Constructor {
                                line: key.line,
                                col: key.col,
                                message: "found unhashable key".to_owned(),
                            });
                        }
                        let value = construct(value_raw)?;
                        match out.iter_mut().find(|(k, _)| python_key_eq(k, &key)) {
                            Some(slot) => slot.1 = value,
                            None => out.push((key, value)),
                        }
                    }
                    Ok(node(Value::Map(out), false))
                }
                ref other => Err(constructor_error(
                    &owner,
                    format!("expected a mapping node, but found {}", other.id()),
                )),
            }
        }
        "binary" | "set" | "omap" | "pairs" => Err(YamlError::Unsupported {
            line,
            what: format!("the tag !!{short}"),
        }),
        _ => Err(constructor_error(
            &raw,
            format!("could not determine a constructor for the tag {tag:?}"),
        )),
    }
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
fn construct_int(text: &str, raw: &Raw) -> Result<i64, YamlError> {
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

fn too_big(raw: &Raw) -> YamlError {
    YamlError::Unsupported {
        line: raw.line,
        what: "an integer outside the 64-bit range".to_owned(),
    }
}

/// `SafeConstructor.construct_yaml_float`.
fn construct_float(text: &str, raw: &Raw) -> Result<f64, YamlError> {
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
fn check_timestamp(text: &str, raw: &Raw) -> Result<(), YamlError> {
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

// ---------------------------------------------------------------------------------------------
// PyYAML reader/scanner rules that yaml-rust2 does not enforce, and PyYAML's node positions.

/// PyYAML's `Reader.NON_PRINTABLE`, inverted.
fn is_printable(c: char) -> bool {
    matches!(c,
        '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{a0}'..='\u{d7ff}'
        | '\u{e000}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}')
}

/// Normalises line breaks like PyYAML's `scan_line_break` (`\r\n`, `\r`, NEL → `\n`) after
/// checking for characters PyYAML's reader rejects.
fn prepare(text: &str) -> Result<String, YamlError> {
    let mut out = String::with_capacity(text.len());
    let (mut line, mut col) = (1, 1);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if !is_printable(c) {
            return Err(YamlError::Syntax {
                line,
                col,
                message: format!(
                    "unacceptable character #x{:04x}: special characters are not allowed",
                    u32::from(c)
                ),
            });
        }
        match c {
            '\u{2028}' | '\u{2029}' => {
                return Err(YamlError::Unsupported {
                    line,
                    what: "a U+2028/U+2029 line separator".to_owned(),
                });
            }
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
            }
            '\u{85}' => out.push('\n'),
            _ => out.push(c),
        }
        if out.ends_with('\n') {
            (line, col) = (line + 1, 1);
        } else {
            col += 1;
        }
    }
    Ok(out)
}

/// The whole token stream of the text (yaml-rust2's scanner). Used to enforce PyYAML's lexical
/// rules and to recover the positions PyYAML gives nodes (yaml-rust2's event marks differ for
/// block scalars, properties, empty nodes, block entries and block mappings).
struct Scan {
    chars: Vec<char>,
    /// Char index of the start of every line.
    line_starts: Vec<usize>,
    tokens: Vec<Token>,
    /// Number of open collections before each token (0: the document's root level).
    depths: Vec<usize>,
    /// Column of the innermost open block collection before each token (PyYAML's `indent`;
    /// `None` at the root level, where PyYAML's is -1).
    indents: Vec<Option<usize>>,
    /// Where the scanner stopped (end of text, or its error position).
    scan_end: usize,
    /// True if the scanner stopped on an error.
    failed: bool,
}

impl Scan {
    fn new(text: &str) -> Scan {
        let chars: Vec<char> = text.chars().collect();
        let mut line_starts = vec![0];
        line_starts.extend(
            chars
                .iter()
                .enumerate()
                .filter(|(_, c)| **c == '\n')
                .map(|(i, _)| i + 1),
        );
        let mut scanner = Scanner::new(chars.iter().copied());
        let mut tokens = Vec::new();
        for token in scanner.by_ref() {
            let end = matches!(token.1, TokenType::StreamEnd);
            tokens.push(token);
            if end {
                break;
            }
        }
        let error = scanner.get_error();
        let failed = error.is_some();
        let scan_end = error.map_or(chars.len(), |e| e.marker().index().min(chars.len()));
        // Open collections: the column of block ones (PyYAML's `indent`), `None` for flow ones.
        let mut open: Vec<Option<usize>> = Vec::new();
        let mut depths = Vec::with_capacity(tokens.len());
        let mut indents = Vec::with_capacity(tokens.len());
        for (j, token) in tokens.iter().enumerate() {
            depths.push(open.len());
            indents.push(open.iter().rev().find_map(|c| *c));
            match token.1 {
                // yaml-rust2 marks a block mapping at its first `:`; its column is the key's.
                TokenType::BlockMappingStart => {
                    open.push(Some(tokens.get(j + 1).map_or(0, |t| t.0.col())));
                }
                TokenType::BlockSequenceStart => open.push(Some(token.0.col())),
                TokenType::FlowSequenceStart | TokenType::FlowMappingStart => open.push(None),
                TokenType::BlockEnd | TokenType::FlowSequenceEnd | TokenType::FlowMappingEnd => {
                    open.pop();
                }
                _ => {}
            }
        }
        Scan {
            chars,
            line_starts,
            tokens,
            depths,
            indents,
            scan_end,
            failed,
        }
    }

    /// The lines (start, end) after the header line of block scalar `j`, up to its region end.
    fn block_lines(&self, j: usize) -> Vec<(usize, usize)> {
        let indicator = self.block_indicator(j);
        let end = self.region_end(j);
        let mut lines = Vec::new();
        let Some(header_len) = self.chars[indicator.min(end)..end]
            .iter()
            .position(|&c| c == '\n')
        else {
            return lines;
        };
        let mut bol = indicator + header_len + 1;
        while bol < end && !self.is_document_marker(bol) {
            let eol = self.chars[bol..end]
                .iter()
                .position(|&c| c == '\n')
                .map_or(end, |k| bol + k);
            lines.push((bol, eol));
            bol = eol + 1;
        }
        lines
    }

    /// yaml-rust2 keeps a `---` line inside a root-level block scalar; PyYAML starts a second
    /// document there. The start of that line, if any.
    fn root_block_document_start(&self, j: usize) -> Option<usize> {
        if self.depths.get(j) != Some(&0) {
            return None;
        }
        let indicator = self.block_indicator(j);
        let end = self.region_end(j);
        (indicator..end).find(|&i| {
            i > 0
                && self.chars[i - 1] == '\n'
                && self.chars[i..].starts_with(&['-', '-', '-'])
                && self.is_document_marker(i)
        })
    }

    /// True if a `---` or `...` document marker starts at line start `bol`.
    fn is_document_marker(&self, bol: usize) -> bool {
        let rest = &self.chars[bol..];
        (rest.starts_with(&['-', '-', '-']) || rest.starts_with(&['.', '.', '.']))
            && rest.get(3).is_none_or(|c| matches!(c, ' ' | '\t' | '\n'))
    }

    /// The first non-blank content line of block scalar `j` that PyYAML does not take as
    /// content: at the root level PyYAML wants block scalar content indented by at least one
    /// space, yaml-rust2 also takes column 0. Returns the start of that line.
    fn root_block_at_column_zero(&self, j: usize) -> Option<usize> {
        if self.depths.get(j) != Some(&0) {
            return None;
        }
        let first = self
            .block_lines(j)
            .into_iter()
            .find(|&(bol, eol)| self.chars[bol..eol].iter().any(|c| *c != ' '))?;
        (self.chars[first.0] != ' ').then_some(first.0)
    }

    /// 1-based line and column of a char index.
    fn line_col(&self, index: usize) -> (usize, usize) {
        let line = self.line_starts.partition_point(|&start| start <= index);
        let start = self.line_starts[line.saturating_sub(1)];
        (line.max(1), index.saturating_sub(start) + 1)
    }

    fn mark(&self, j: usize) -> usize {
        self.tokens.get(j).map_or(self.chars.len(), |t| t.0.index())
    }

    /// Start of the run of properties (anchor, tag) right before token `j`, if any.
    fn props_start(&self, j: usize) -> Option<usize> {
        let mut start = None;
        let mut k = j;
        while k > 0
            && matches!(
                self.tokens[k - 1].1,
                TokenType::Anchor(_) | TokenType::Tag(..)
            )
        {
            k -= 1;
            start = Some(self.mark(k));
        }
        start
    }

    /// Skips spaces, tabs, line breaks and comments from `i`.
    fn skip_blanks(&self, mut i: usize) -> usize {
        while i < self.chars.len() {
            match self.chars[i] {
                ' ' | '\t' | '\n' => i += 1,
                '#' => {
                    while i < self.chars.len() && self.chars[i] != '\n' {
                        i += 1;
                    }
                }
                _ => break,
            }
        }
        i
    }

    /// Position of the `|`/`>` indicator of the block scalar token `j` (yaml-rust2 marks the
    /// first content character instead).
    fn block_indicator(&self, j: usize) -> usize {
        let from = match j.checked_sub(1).map(|p| (&self.tokens[p].1, self.mark(p))) {
            Some((TokenType::Value | TokenType::Key, m)) => m + 1,
            Some((TokenType::DocumentStart, m)) => m + 3,
            Some((TokenType::StreamStart(_), _)) | None => 0,
            Some((TokenType::Anchor(_) | TokenType::Tag(..), m)) => {
                // skip the property itself
                m + self.chars[m..]
                    .iter()
                    .take_while(|c| !matches!(c, ' ' | '\t' | '\n'))
                    .count()
            }
            Some((_, m)) => m,
        };
        let i = self.skip_blanks(from);
        if matches!(self.chars.get(i), Some('|' | '>')) {
            i
        } else {
            self.mark(j)
        }
    }

    /// Position of the `-` of block entry token `j`. yaml-rust2 marks what follows it, after
    /// spaces and comments; between the two there are only blanks and comments, so walk back
    /// over lines, dropping their comments, to the `-` that ends the code before the mark.
    fn dash(&self, j: usize) -> usize {
        let mark = self.mark(j).min(self.chars.len());
        let mut end = mark;
        loop {
            let bol = self.chars[..end]
                .iter()
                .rposition(|&c| c == '\n')
                .map_or(0, |k| k + 1);
            let line = &self.chars[bol..end];
            let code_len = line
                .iter()
                .enumerate()
                .position(|(k, &c)| c == '#' && (k == 0 || matches!(line[k - 1], ' ' | '\t')))
                .unwrap_or(line.len());
            let code = &line[..code_len];
            match code.iter().rposition(|c| !matches!(c, ' ' | '\t')) {
                Some(k) if code[k] == '-' => return bol + k,
                Some(_) => return mark,
                None if bol == 0 => return mark,
                None => end = bol - 1,
            }
        }
    }

    /// End of the source region of token `j`: the mark of the next token that starts later.
    fn region_end(&self, j: usize) -> usize {
        let start = self.mark(j);
        self.tokens[j + 1..]
            .iter()
            .map(|t| t.0.index())
            .find(|&idx| idx > start)
            .unwrap_or(self.scan_end)
            .min(self.chars.len())
    }

    /// Where PyYAML ends a token that yaml-rust2 continues: an anchor or alias name at one of
    /// `?:%@` or a backquote, or a `?`/`:` indicator glued to a plain scalar in a flow
    /// collection. Returns the char index to insert a space at so that yaml-rust2 reads the
    /// same tokens as PyYAML.
    fn split_point(&self) -> Option<(usize, Retry)> {
        self.tokens.iter().enumerate().find_map(|(j, token)| {
            let at = token.0.index();
            match &token.1 {
                TokenType::Anchor(name) | TokenType::Alias(name) => name
                    .chars()
                    .position(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                    .filter(|&k| name.chars().nth(k).is_some_and(|c| "?:%@`".contains(c)))
                    .map(|k| (at + 1 + k, Retry::Edit(at + 1 + k, 0, " "))),
                // A lone `?` before a flow indicator: PyYAML's empty key with an empty value.
                TokenType::Scalar(TScalarStyle::Plain, value)
                    if value == "?"
                        && self.in_flow(j)
                        && self.chars.get(at) == Some(&'?')
                        && self.chars.get(at + 1).is_some_and(|c| ",]}".contains(*c)) =>
                {
                    Some((at, Retry::Edit(at, 1, "? ~ : ~")))
                }
                TokenType::Scalar(TScalarStyle::Plain, value)
                    if value.starts_with(['?', ':'])
                        && self.chars.get(at).is_some_and(|c| "?:".contains(*c))
                        && self.in_flow(j) =>
                {
                    Some((at + 1, Retry::Edit(at + 1, 0, " ")))
                }
                _ => None,
            }
        })
    }

    /// True if token `j` is inside a flow collection.
    fn in_flow(&self, j: usize) -> bool {
        let mut open: Vec<bool> = Vec::new();
        for token in &self.tokens[..j] {
            match token.1 {
                TokenType::BlockMappingStart | TokenType::BlockSequenceStart => open.push(false),
                TokenType::FlowSequenceStart | TokenType::FlowMappingStart => open.push(true),
                TokenType::BlockEnd | TokenType::FlowSequenceEnd | TokenType::FlowMappingEnd => {
                    open.pop();
                }
                _ => {}
            }
        }
        open.last().copied().unwrap_or(false)
    }

    /// The first violation of PyYAML rules that yaml-rust2 relaxes: tabs only inside quoted
    /// scalars, block scalar content and comments; anchor/alias names of `[0-9A-Za-z_-]`; no
    /// duplicate anchors; `%YAML 1.x` only; no document end marker before any document; every
    /// `:` of a block mapping preceded by a key. Returns the char index and the error.
    fn violation(&self) -> Option<(usize, YamlError)> {
        let chars = &self.chars;
        let mut allowed = vec![false; chars.len()];
        let mut violations: Vec<(usize, YamlError)> = Vec::new();
        let mut anchors: HashSet<&str> = HashSet::new();
        let mut versions = 0;
        // Block mappings: has a key been seen since the last value indicator?
        // Open collections: (flow?, has a key been seen since the last `:` or `,`?). Block
        // sequences have no keys.
        let mut contexts: Vec<(bool, Option<bool>)> = Vec::new();
        let syntax = |index: usize, message: String| {
            let (line, col) = self.line_col(index);
            (index, YamlError::Syntax { line, col, message })
        };
        for (j, token) in self.tokens.iter().enumerate() {
            let start = token.0.index().min(chars.len());
            match &token.1 {
                TokenType::Scalar(TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted, _)
                    if start < chars.len() =>
                {
                    let end = quoted_end(chars, start);
                    for slot in &mut allowed[start..end.min(chars.len())] {
                        *slot = true;
                    }
                }
                TokenType::Scalar(TScalarStyle::Literal | TScalarStyle::Folded, _) => {
                    let indicator = self.block_indicator(j);
                    // PyYAML: the indicators are followed by a space or the line end.
                    let after = chars[indicator + 1..]
                        .iter()
                        .position(|c| !matches!(c, '+' | '-' | '0'..='9'))
                        .map(|k| indicator + 1 + k);
                    if let Some(k) = after
                        && !matches!(chars[k], ' ' | '\n')
                    {
                        violations.push(syntax(
                            k,
                            format!(
                                "expected chomping or indentation indicators, but found {:?}",
                                chars[k]
                            ),
                        ));
                    }
                    let min_indent = self.indents[j].map_or(1, |col| col + 1);
                    let explicit = chars[indicator + 1..]
                        .iter()
                        .take(2)
                        .find_map(|c| c.to_digit(10))
                        .map(|d| min_indent + d as usize - 1);
                    allow_block_content(
                        chars,
                        (indicator, self.region_end(j)),
                        explicit.ok_or(min_indent),
                        &mut allowed,
                    );
                    if let Some(marker) = self.root_block_document_start(j) {
                        violations.push(syntax(
                            marker,
                            "expected a single document in the stream, but found another document"
                                .into(),
                        ));
                    }
                    if self.root_block_at_column_zero(j).is_some() {
                        // PyYAML ends the scalar before the first line at column 0; the
                        // first such line that is not a comment is unexpected content.
                        if let Some(&(bol, _)) = self.block_lines(j).iter().find(|&&(bol, eol)| {
                            let line = &chars[bol..eol];
                            line.iter()
                                .position(|c| *c != ' ')
                                .is_some_and(|k| line[k] != '#')
                        }) {
                            violations.push(syntax(
                                bol,
                                "expected '<document start>', but found another node".into(),
                            ));
                        }
                    }
                }
                TokenType::Anchor(name) | TokenType::Alias(name) => {
                    // PyYAML: a name is [0-9A-Za-z_-]+ followed by whitespace or one of
                    // `?:,]}%@` and a backquote; yaml-rust2 takes more characters.
                    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
                    let name_len = name.chars().count();
                    match name.chars().find(|&c| !is_name_char(c)) {
                        // PyYAML ends the name there; `load` splits the name and retries.
                        Some(c) if "?:%@`".contains(c) => {}
                        Some(c) => violations.push(syntax(
                            start,
                            format!("expected alphabetic or numeric character, but found {c:?}"),
                        )),
                        None => {
                            if let Some(&c) = chars.get(start + 1 + name_len)
                                && !matches!(c, ' ' | '\t' | '\n')
                                && !"?:,]}%@`".contains(c)
                            {
                                violations.push(syntax(
                                    start,
                                    format!(
                                        "expected alphabetic or numeric character, but found {c:?}"
                                    ),
                                ));
                            }
                        }
                    }
                    if matches!(token.1, TokenType::Anchor(_)) && !anchors.insert(name.as_str()) {
                        violations.push(syntax(start, format!("found duplicate anchor {name:?}")));
                    }
                }
                TokenType::Tag(..) => {
                    // PyYAML wants a space or a line break right after a tag.
                    let mut end = start + 1;
                    if chars.get(end) == Some(&'<') {
                        while end < chars.len() && chars[end] != '>' {
                            end += 1;
                        }
                        end += 1;
                    } else {
                        while end < chars.len()
                            && !matches!(
                                chars[end],
                                ' ' | '\t' | '\n' | ',' | '[' | ']' | '{' | '}'
                            )
                        {
                            end += 1;
                        }
                    }
                    if let Some(&c) = chars.get(end)
                        && !matches!(c, ' ' | '\n')
                    {
                        violations.push(syntax(
                            end,
                            format!("while scanning a tag, expected ' ', but found {c:?}"),
                        ));
                    }
                }
                TokenType::Scalar(TScalarStyle::Plain, value) => {
                    let flow = contexts.last().is_some_and(|c| c.0);
                    let first = chars.get(start).copied().unwrap_or(' ');
                    let next_is_space = chars
                        .get(start + 1)
                        .is_none_or(|c| matches!(c, ' ' | '\t' | '\n'));
                    let indicator = "-?:,[]{}#&*!|>'\"%@`".contains(first);
                    // PyYAML's `check_plain`: an indicator only starts a plain scalar if it is
                    // `-` (or `?`/`:` in block context) followed by a non-space.
                    let starts_plain = !indicator
                        || (!next_is_space && (first == '-' || (!flow && "?:".contains(first))));
                    if !starts_plain && flow && "?:".contains(first) {
                        // PyYAML reads an indicator here; `load` splits it off and retries.
                    } else if !starts_plain {
                        violations.push(syntax(
                            start,
                            format!("found character {first:?} that cannot start any token"),
                        ));
                    } else if flow && value.contains('?') {
                        // PyYAML ends plain scalars at `?` in flow context.
                        violations.push(syntax(start, "expected ',' or ']', but got '?'".into()));
                    }
                }
                TokenType::VersionDirective(major, _) => {
                    versions += 1;
                    if *major != 1 {
                        violations.push(syntax(start, "found incompatible YAML document".into()));
                    } else if versions > 1 {
                        violations.push(syntax(start, "found duplicate YAML directive".into()));
                    }
                }
                TokenType::DocumentEnd if j == 1 => {
                    violations.push(syntax(
                        start,
                        "expected the node content, but found '<document end>'".into(),
                    ));
                }
                TokenType::BlockMappingStart => contexts.push((false, Some(false))),
                TokenType::BlockSequenceStart => contexts.push((false, None)),
                TokenType::FlowSequenceStart | TokenType::FlowMappingStart => {
                    contexts.push((true, Some(false)));
                }
                TokenType::BlockEnd | TokenType::FlowSequenceEnd | TokenType::FlowMappingEnd => {
                    contexts.pop();
                }
                TokenType::FlowEntry => {
                    if let Some((_, Some(key_seen))) = contexts.last_mut() {
                        *key_seen = false;
                    }
                }
                TokenType::Key => {
                    if let Some((_, Some(key_seen))) = contexts.last_mut() {
                        *key_seen = true;
                    }
                }
                TokenType::Value => {
                    // PyYAML's parser wants a key before every `:`.
                    if let Some((_, Some(key_seen))) = contexts.last_mut() {
                        if !*key_seen {
                            violations.push(syntax(
                                start,
                                "expected a key before ':' (PyYAML: expected <block end> or \
                                 the node content, but found ':')"
                                    .into(),
                            ));
                        }
                        *key_seen = false;
                    }
                }
                _ => {}
            }
        }

        let mut in_comment = false;
        for (i, &c) in chars.iter().enumerate().take(self.scan_end) {
            if c == '\n' {
                in_comment = false;
                continue;
            }
            if allowed[i] || in_comment {
                continue;
            }
            if c == '#' && (i == 0 || matches!(chars[i - 1], ' ' | '\t' | '\n') || allowed[i - 1]) {
                in_comment = true;
            } else if c == '\t' {
                violations.push(syntax(
                    i,
                    "found character '\\t' that cannot start any token".into(),
                ));
                break;
            }
        }
        violations.into_iter().min_by_key(|(pos, _)| *pos)
    }
}

/// Finds where a quoted scalar starting at `start` (the quote) ends (the index of the closing
/// quote, or the end of input).
fn quoted_end(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' if quote == '"' => i += 2,
            '\'' if quote == '\'' && chars.get(i + 1) == Some(&'\'') => i += 2,
            c if c == quote => return i,
            _ => i += 1,
        }
    }
    chars.len()
}

/// PyYAML's `scan_block_scalar` (and its helpers) for the block scalar whose `|`/`>` is at
/// `indicator`, inside a block collection at column `parent` (`None` at the root level).
/// The text has `\n` line breaks only; the header was already checked.
fn scan_block_scalar(chars: &[char], indicator: usize, parent: Option<usize>) -> String {
    let folded = chars.get(indicator) == Some(&'>');
    let mut i = indicator + 1;
    let mut chomping: Option<bool> = None;
    let mut increment: Option<usize> = None;
    for _ in 0..2 {
        match chars.get(i) {
            Some('+') if chomping.is_none() => chomping = Some(true),
            Some('-') if chomping.is_none() => chomping = Some(false),
            Some(c) if increment.is_none() && c.is_ascii_digit() => {
                increment = c.to_digit(10).map(|d| d as usize);
            }
            _ => break,
        }
        i += 1;
    }
    // The rest of the header line: spaces, a comment, the line break.
    while i < chars.len() && chars[i] != '\n' {
        i += 1;
    }
    i += 1;

    let mut line_start = i;
    let column = |i: usize, line_start: usize| i.saturating_sub(line_start);
    // `scan_block_scalar_breaks`: line breaks and indentation up to `indent`.
    let scan_breaks = |i: &mut usize, line_start: &mut usize, indent: usize| {
        let mut breaks = String::new();
        while *i < chars.len() && column(*i, *line_start) < indent && chars[*i] == ' ' {
            *i += 1;
        }
        while *i < chars.len() && chars[*i] == '\n' {
            breaks.push('\n');
            *i += 1;
            *line_start = *i;
            while *i < chars.len() && column(*i, *line_start) < indent && chars[*i] == ' ' {
                *i += 1;
            }
        }
        breaks
    };

    let min_indent = parent.map_or(1, |col| col + 1);
    let (mut breaks, indent) = match increment {
        Some(increment) => {
            let indent = min_indent + increment - 1;
            (scan_breaks(&mut i, &mut line_start, indent), indent)
        }
        None => {
            // `scan_block_scalar_indentation`
            let mut breaks = String::new();
            let mut max_indent = 0;
            while i < chars.len() && matches!(chars[i], ' ' | '\n') {
                if chars[i] == '\n' {
                    breaks.push('\n');
                    i += 1;
                    line_start = i;
                } else {
                    i += 1;
                    max_indent = max_indent.max(column(i, line_start));
                }
            }
            (breaks, min_indent.max(max_indent))
        }
    };

    let mut chunks = String::new();
    let mut line_break = "";
    while i < chars.len() && column(i, line_start) == indent {
        chunks.push_str(&breaks);
        let leading_non_space = !matches!(chars[i], ' ' | '\t');
        while i < chars.len() && chars[i] != '\n' {
            chunks.push(chars[i]);
            i += 1;
        }
        line_break = if i < chars.len() {
            i += 1;
            line_start = i;
            "\n"
        } else {
            ""
        };
        breaks = scan_breaks(&mut i, &mut line_start, indent);
        if i < chars.len() && column(i, line_start) == indent {
            if folded && line_break == "\n" && leading_non_space && !matches!(chars[i], ' ' | '\t')
            {
                if breaks.is_empty() {
                    chunks.push(' ');
                }
            } else {
                chunks.push_str(line_break);
            }
        } else {
            break;
        }
    }
    if chomping != Some(false) {
        chunks.push_str(line_break);
    }
    if chomping == Some(true) {
        chunks.push_str(&breaks);
    }
    chunks
}

/// Marks the tabs PyYAML accepts in the content lines of a block scalar whose header starts at
/// `region.0` and whose source region ends at `region.1`: tabs after the indentation. `indent`
/// is the explicit indentation (`Ok`), or the minimum one when it is auto-detected (`Err`).
/// (Tabs on the header line are only allowed in its comment, which the caller handles.)
fn allow_block_content(
    chars: &[char],
    (indicator, end): (usize, usize),
    indent: Result<usize, usize>,
    allowed: &mut [bool],
) {
    if indicator >= end {
        return;
    }
    let Some(header_len) = chars[indicator..end].iter().position(|&c| c == '\n') else {
        return;
    };
    let mut lines = Vec::new();
    let mut bol = indicator + header_len + 1;
    while bol < end {
        let eol = chars[bol..end]
            .iter()
            .position(|&c| c == '\n')
            .map_or(end, |k| bol + k);
        lines.push((bol, eol));
        bol = eol + 1;
    }
    let indent = indent.unwrap_or_else(|min_indent| {
        // PyYAML: the indentation of the first non-blank line, at least `min_indent`.
        lines
            .iter()
            .find_map(|&(bol, eol)| {
                let spaces = chars[bol..eol].iter().take_while(|&&c| c == ' ').count();
                (bol + spaces < eol).then_some(spaces)
            })
            .unwrap_or(0)
            .max(min_indent)
    });
    for (bol, eol) in lines {
        let spaces = chars[bol..eol].iter().take_while(|&&c| c == ' ').count();
        for (k, slot) in allowed[bol..eol].iter_mut().enumerate() {
            *slot = spaces >= indent || k > spaces;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Public entry points.

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

/// One edit of a line: at 1-based column `col`, `removed` chars became `inserted` chars.
#[derive(Debug, Clone, Copy)]
struct LineEdit {
    line: usize,
    col: usize,
    removed: usize,
    inserted: usize,
}

/// The edits of every 1-based line, in the order they were made.
type Shifts = HashMap<usize, Vec<LineEdit>>;

/// An edited text and its edits.
type Edited = (String, Vec<LineEdit>);

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
fn clamp_node(mut node: Node, eof: (usize, usize)) -> Node {
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

fn unshift_node(mut node: Node, shifts: &Shifts) -> Node {
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

fn unshift_error(err: YamlError, shifts: &Shifts) -> YamlError {
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

/// How many under-indented quoted scalars and block scalar headers [`load`] re-indents before
/// giving up.
const MAX_REINDENTS: usize = 64;

/// What [`load`] may retry after yaml-rust2 rejected a document that PyYAML may accept.
enum Retry {
    /// Nothing to retry.
    No,
    /// yaml-rust2 rejected the indentation of the quoted scalar opening at this char index.
    Quoted(usize),
    /// yaml-rust2 rejected something PyYAML reads the same way once this text is inserted at
    /// this char index (a space before a `#` glued to a token, a final line break after an
    /// indicator at the end, quotes around a `-` glued to a flow indicator).
    Edit(usize, usize, &'static str),
    /// yaml-rust2's parser failed (perhaps on a block scalar header at the parent's
    /// indentation).
    Parser,
}

/// Like [`Scan::split_point`] for anchor and alias names yaml-rust2 could not tokenise (its scanner failed
/// first): `&name:`/`*name?`… where the `&`/`*` starts a line's content or follows `- `,
/// `: `, `? ` or a flow indicator.
fn source_name_split(chars: &[char]) -> Option<usize> {
    (0..chars.len()).find_map(|i| {
        if !matches!(chars[i], '&' | '*') {
            return None;
        }
        let before = chars[..i]
            .iter()
            .rposition(|c| *c != ' ')
            .map(|k| (k, chars[k]));
        let at_token_start = match before {
            None | Some((_, '\n' | '[' | '{' | ',')) => true,
            Some((k, '-' | ':' | '?')) => {
                k + 1 < i && (k == 0 || matches!(chars[k - 1], ' ' | '\n'))
            }
            _ => false,
        };
        if !at_token_start {
            return None;
        }
        let name_len = chars[i + 1..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
            .count();
        let end = i + 1 + name_len;
        (name_len > 0 && chars.get(end).is_some_and(|c| "?:%@`".contains(*c))).then_some(end)
    })
}

/// The retry for a yaml-rust2 error on `chars`.
fn retry_for(chars: &[char], err: &ScanError) -> Retry {
    let at = err.marker().index();
    match err.info() {
        // PyYAML starts a comment at `#` wherever a token may start: after a quoted scalar,
        // a flow indicator (not after a block scalar header).
        "comments must be separated from other tokens by whitespace"
            if at > 0
                && matches!(
                    chars.get(at - 1),
                    Some('\'' | '"' | ']' | '}' | ',' | '[' | '{')
                ) =>
        {
            Retry::Edit(at, 0, " ")
        }
        "expected whitespace" if at >= chars.len() => Retry::Edit(chars.len(), 0, "\n"),
        "plain scalar cannot start with '-' followed by ,[]{}" if chars.get(at) == Some(&'-') => {
            Retry::Edit(at, 1, "'-'")
        }
        _ => quoted_indentation_error(chars, err).map_or(Retry::Parser, Retry::Quoted),
    }
}

/// Replaces `remove` chars at char index `at` by `insert`; returns the text and the column
/// shift of the edited line.
fn replace_at(text: &str, at: usize, remove: usize, insert: &str) -> Edited {
    let chars: Vec<char> = text.chars().collect();
    let at = at.min(chars.len());
    let line = 1 + chars[..at].iter().filter(|&&c| c == '\n').count();
    let mut out: String = chars[..at].iter().collect();
    out.push_str(insert);
    out.extend(&chars[(at + remove).min(chars.len())..]);
    let col = at
        - chars[..at]
            .iter()
            .rposition(|&c| c == '\n')
            .map_or(0, |k| k + 1);
    let edit = LineEdit {
        line,
        col: col + 1,
        removed: remove,
        inserted: insert.chars().filter(|&c| c != '\n').count(),
    };
    (out, vec![edit])
}

fn load_prepared(text: &str) -> Result<Option<Node>, (YamlError, Retry)> {
    let scan = Scan::new(text);
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
        return Err((err, edit));
    }
    let lexical = scan.violation();
    let mut composer = Composer {
        parser: Parser::new_from_str(text),
        scan: &scan,
        cursor: 0,
        anchors: HashMap::new(),
        open_anchors: HashSet::new(),
        nodes: 0,
        parse_error: None,
    };
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

/// If yaml-rust2 failed on the indentation of a quoted scalar's continuation line, the index
/// of the scalar's opening quote.
fn quoted_indentation_error(chars: &[char], err: &ScanError) -> Option<usize> {
    let at = err.marker().index();
    match err.info() {
        "invalid indentation in quoted scalar" => {
            matches!(chars.get(at), Some('\'' | '"')).then_some(at)
        }
        "tab cannot be used as indentation" => (0..at.min(chars.len())).rev().find(|&p| {
            matches!(chars[p], '\'' | '"')
                && (p == 0 || matches!(chars[p - 1], ' ' | '\t' | '\n' | '[' | '{' | ','))
                && quoted_end(chars, p) > at
        }),
        _ => None,
    }
}

/// PyYAML accepts a block scalar header (`|`, `>`) on its own line at the indentation of the
/// key or entry it belongs to (`b:\n|\n  text`); yaml-rust2 wants it indented. Indents the
/// first such header by one space (the value does not change: only content lines' indentation
/// matters). Returns the new text and the moved line (1-based) with its column shift; `None` if
/// there is no such line.
fn reindent_block_header(text: &str) -> Option<Edited> {
    fn indentation(line: &str) -> usize {
        line.len() - line.trim_start_matches(' ').len()
    }
    fn significant(line: &str) -> Option<&str> {
        let code = match line.find(" #") {
            Some(k) => &line[..k],
            None => line,
        };
        let code = code.trim_end();
        (!code.trim_start().is_empty() && !code.trim_start().starts_with('#')).then_some(code)
    }
    let lines: Vec<&str> = text.split('\n').collect();
    for (i, line) in lines.iter().enumerate().skip(1) {
        let indent = indentation(line);
        let rest = &line[indent..];
        let header_ok = rest.starts_with(['|', '>'])
            && rest[1..]
                .trim_start_matches(|c: char| c == '+' || c == '-' || c.is_ascii_digit())
                .chars()
                .next()
                .is_none_or(|c| c == ' ' || c == '#');
        if !header_ok {
            continue;
        }
        let Some(prev) = lines[..i].iter().rev().find_map(|l| significant(l)) else {
            continue;
        };
        if indentation(prev) != indent {
            continue;
        }
        // Drop trailing properties (`&anchor`, `!tag`) of the previous line.
        let mut words: Vec<&str> = prev.split(' ').filter(|w| !w.is_empty()).collect();
        while words.last().is_some_and(|w| w.starts_with(['&', '!'])) {
            words.pop();
        }
        let opens_node = words
            .last()
            .is_some_and(|w| w.ends_with(':') || *w == "-" || *w == "?");
        if opens_node {
            let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
            out[i].insert(0, ' ');
            let edit = LineEdit {
                line: i + 1,
                col: 1,
                removed: 0,
                inserted: 1,
            };
            return Some((out.join("\n"), vec![edit]));
        }
    }
    None
}

/// Re-indents the continuation lines of the quoted scalar opening at `quote` so yaml-rust2
/// accepts them. PyYAML drops leading whitespace of continuation lines, so the value is
/// unchanged; `None` if a line is a document marker (an error for PyYAML too).
fn reindent_quoted(text: &str, quote: usize) -> Option<Edited> {
    let chars: Vec<char> = text.chars().collect();
    let end = quoted_end(&chars, quote);
    let col = quote
        - chars[..quote]
            .iter()
            .rposition(|&c| c == '\n')
            .map_or(0, |k| k + 1);
    let indent = " ".repeat(col + 1);
    let mut moved = Vec::new();
    let mut line = 1 + chars[..quote].iter().filter(|&&c| c == '\n').count();
    let mut out = String::with_capacity(text.len() + 64);
    out.extend(&chars[..quote]);
    let mut i = quote;
    while i < chars.len() {
        out.push(chars[i]);
        if chars[i] == '\n' && i < end {
            line += 1;
            let rest = &chars[i + 1..];
            let is_marker = (rest.starts_with(&['-', '-', '-'])
                || rest.starts_with(&['.', '.', '.']))
                && rest.get(3).is_none_or(|c| matches!(c, ' ' | '\t' | '\n'));
            if is_marker {
                return None;
            }
            let mut k = i + 1;
            while k < chars.len() && matches!(chars[k], ' ' | '\t') {
                k += 1;
            }
            let removed = k - i - 1;
            let inserted = if k < chars.len() && chars[k] != '\n' {
                out.push_str(&indent);
                indent.len()
            } else {
                0
            };
            moved.push(LineEdit {
                line,
                col: 1,
                removed,
                inserted,
            });
            i = k;
            continue;
        }
        i += 1;
    }
    Some((out, moved))
}

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
        YamlError::Unsupported { line, what } => YamlError::Unsupported {
            line: line + by,
            what,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> Value {
        load(text).expect("loads").expect("has a document").value
    }

    /// The value without positions, for comparisons.
    fn shape(value: &Value) -> String {
        match value {
            Value::Seq(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(|n| shape(&n.value))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Value::Map(pairs) => format!(
                "{{{}}}",
                pairs
                    .iter()
                    .map(|(k, v)| format!("{}: {}", shape(&k.value), shape(&v.value)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            other => format!("{other:?}"),
        }
    }

    fn scalar(text: &str) -> Value {
        match value(&format!("k: {text}\n")) {
            Value::Map(mut pairs) => pairs.remove(0).1.value,
            other => panic!("not a map: {other:?}"),
        }
    }

    #[test]
    fn all_patterns_compile() {
        for re in [
            &*BOOL_RE,
            &*FLOAT_RE,
            &*INT_RE,
            &*NULL_RE,
            &*TIMESTAMP_RE,
            &*TIMESTAMP_PARTS_RE,
            &*DATE_ONLY,
        ] {
            assert!(re.is_some());
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
    fn duplicate_keys_and_merges() {
        assert_eq!(
            shape(&value("a: 1\nb: 2\na: 3\n")),
            r#"{Str("a"): Int(3), Str("b"): Int(2)}"#,
            "last value wins at the first position"
        );
        assert_eq!(
            shape(&value("1: a\n1.0: b\ntrue: c\n.nan: x\n.NaN: y\n")),
            r#"{Int(1): Str("c"), Float(NaN): Str("y")}"#
        );
        let merged = value("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n");
        let Value::Map(pairs) = merged else {
            panic!("map")
        };
        let Value::Map(m) = &pairs[1].1.value else {
            panic!("map")
        };
        let keys: Vec<_> = m
            .iter()
            .map(|(k, v)| (k.as_str().unwrap_or("?"), v.as_int()))
            .collect();
        assert_eq!(keys, [("x", Some(1)), ("y", Some(3))]);
    }

    #[test]
    fn errors_carry_lines() {
        let err = load("a: 1\nb: [\n").expect_err("unterminated");
        assert!(matches!(err, YamlError::Syntax { .. }));
        assert_eq!(err.line(), 3);
        assert_eq!(load("a: 1\nb:\tx\n").expect_err("tab").line(), 2);
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
    fn empty_documents() {
        assert_eq!(load("").expect("empty"), None);
        assert_eq!(load("# only a comment\n").expect("comment"), None);
        assert_eq!(
            load("---\n").expect("explicit").map(|n| n.value),
            Some(Value::Null)
        );
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
}
