//! Composition: yaml-rust2's events → composed nodes ([`Raw`]) with resolved tags, like
//! PyYAML's `Composer` + `Resolver`, with PyYAML's node positions recovered from the token
//! stream (see `positions`).
//!
//! It owns anchors and aliases (expanded by copying), the node-count and nesting limits, and
//! the single-document rule. It must not construct values (that is `constructor`'s job),
//! enforce lexical rules (`lexical`) or do I/O.

use std::collections::{HashMap, HashSet};

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

use super::block_scalar::scan_block_scalar;
use super::resolver::resolve_implicit;
use super::scan::Scan;
use super::{CORE, YamlError};

/// Upper bound on the number of nodes, aliases expanded (protects against "billion laughs").
const MAX_NODES: usize = 1_000_000;
/// Upper bound on collection nesting (the composer recurses).
const MAX_DEPTH: usize = 200;

/// A composed node: PyYAML's `ScalarNode`/`SequenceNode`/`MappingNode` with its resolved tag.
#[derive(Debug, Clone)]
pub(super) struct Raw {
    pub(super) kind: RawKind,
    pub(super) tag: String,
    pub(super) line: usize,
    pub(super) col: usize,
    /// Number of nodes in this subtree.
    pub(super) size: usize,
}

#[derive(Debug, Clone)]
pub(super) enum RawKind {
    Scalar(String),
    Seq(Vec<Raw>),
    Map(Vec<(Raw, Raw)>),
}

impl RawKind {
    /// PyYAML's node id, for messages.
    pub(super) fn id(&self) -> &'static str {
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
pub(super) enum Role {
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

/// PyYAML's `Composer` over yaml-rust2's events, matching every event to its tokens.
pub(super) struct Composer<'a> {
    parser: Parser<std::str::Chars<'a>>,
    pub(super) scan: &'a Scan,
    /// Index of the last token matched to an event (tokens are consumed in order).
    pub(super) cursor: usize,
    anchors: HashMap<usize, Raw>,
    open_anchors: HashSet<usize>,
    nodes: usize,
    /// The parser's error, if composing failed because of one.
    pub(super) parse_error: Option<ScanError>,
}

impl<'a> Composer<'a> {
    /// A composer of the events of `text`, whose token stream is `scan`.
    pub(super) fn new(text: &'a str, scan: &'a Scan) -> Composer<'a> {
        Composer {
            parser: Parser::new_from_str(text),
            scan,
            cursor: 0,
            anchors: HashMap::new(),
            open_anchors: HashSet::new(),
            nodes: 0,
            parse_error: None,
        }
    }

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

    /// Runs the parser to the end of the stream; its error, if any.
    pub(super) fn later_parse_error(&mut self) -> Option<YamlError> {
        loop {
            match self.next() {
                Ok((Event::StreamEnd, _)) => return None,
                Ok(_) => {}
                Err(err) => return Some(err),
            }
        }
    }

    /// PyYAML's `get_single_node`: `None` for an empty stream, an error for a second document.
    pub(super) fn single_document(&mut self) -> Result<Option<Raw>, YamlError> {
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
            Event::Alias(id) => self.compose_alias(id, &mark),
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
                self.compose_sequence(anchor, tag, &mark, depth, (line, col))
            }
            Event::MappingStart(anchor, tag) => {
                self.compose_mapping(anchor, tag, &mark, depth, (line, col))
            }
            _ => Err(syntax_at(&mark, "unexpected event while composing a node")),
        }
    }

    /// [`Composer::compose`] of an alias to anchor `id`.
    fn compose_alias(&mut self, id: usize, mark: &Marker) -> Result<Raw, YamlError> {
        if let Some(raw) = self.anchors.get(&id) {
            // PyYAML reuses the anchored node (and its position); copy it.
            let raw = raw.clone();
            self.count(raw.size, mark)?;
            Ok(raw)
        } else if self.open_anchors.contains(&id) {
            Err(YamlError::Unsupported {
                line: mark.line(),
                what: "a recursive alias".to_owned(),
            })
        } else {
            Err(syntax_at(mark, "found undefined alias"))
        }
    }

    /// [`Composer::compose`] of a sequence starting at `(line, col)`: its items up to the
    /// sequence end event.
    fn compose_sequence(
        &mut self,
        anchor: usize,
        tag: Option<Tag>,
        mark: &Marker,
        depth: usize,
        (line, col): (usize, usize),
    ) -> Result<Raw, YamlError> {
        self.count(1, mark)?;
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

    /// [`Composer::compose`] of a mapping starting at `(line, col)`: its pairs up to the
    /// mapping end event.
    fn compose_mapping(
        &mut self,
        anchor: usize,
        tag: Option<Tag>,
        mark: &Marker,
        depth: usize,
        (line, col): (usize, usize),
    ) -> Result<Raw, YamlError> {
        self.count(1, mark)?;
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
}
