//! Composition: yaml-rust2's events → composed nodes ([`Raw`]) with resolved tags, like
//! PyYAML's `Composer` + `Resolver`. It owns anchors and aliases (expanded by copying, within
//! the size limits), the single-document rule, block scalar values and node positions.
//! It must not construct values (that is `constructor`'s job) and does no I/O.

use std::collections::{HashMap, HashSet};

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, Scanner, TScalarStyle, Token, TokenType};

use super::block_scalar::scan_block_scalar;
use super::resolver::resolve_implicit;
use super::{CORE, YamlError};

/// Upper bound on the expanded size of a document: scalar bytes, every alias counted with the
/// full size of its target each time it is used ("billion laughs", huge aliased scalars).
pub const MAX_EXPANDED_BYTES: usize = 8 << 20;
/// Upper bound on the number of nodes, aliases expanded.
const MAX_NODES: usize = 250_000;
/// Upper bound on collection nesting (the composer recurses).
const MAX_DEPTH: usize = 200;

/// A composed node: PyYAML's `ScalarNode`/`SequenceNode`/`MappingNode` with its resolved tag.
#[derive(Debug, Clone)]
pub(super) struct Raw {
    pub(super) kind: RawKind,
    pub(super) tag: String,
    pub(super) line: usize,
    pub(super) col: usize,
    /// Nodes and scalar bytes in this subtree (what copying it for an alias costs).
    nodes: usize,
    bytes: usize,
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

fn error_at(mark: &Marker, message: impl Into<String>) -> YamlError {
    YamlError::Syntax {
        line: mark.line(),
        col: mark.col() + 1,
        message: message.into(),
    }
}

fn limit_at(mark: &Marker, message: String) -> YamlError {
    YamlError::Limit {
        line: mark.line(),
        col: mark.col() + 1,
        message,
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

/// What the token stream tells beyond the events: where the `:` indicators are (an empty value
/// starts right after its `:` in PyYAML), where the properties of a node start (by the mark
/// of its token), and for every block scalar token (by its mark) the position of its `|`/`>`
/// and the column of the enclosing block collection.
struct Source {
    chars: Vec<char>,
    line_starts: Vec<usize>,
    colons: Vec<usize>,
    props: HashMap<usize, usize>,
    blocks: HashMap<usize, (usize, Option<usize>)>,
}

impl Source {
    fn new(text: &str) -> Source {
        let chars: Vec<char> = text.chars().collect();
        let mut line_starts = vec![0];
        line_starts.extend(
            (0..chars.len())
                .filter(|&i| chars[i] == '\n')
                .map(|i| i + 1),
        );
        let mut tokens: Vec<Token> = Vec::new();
        for token in Scanner::new(chars.iter().copied()) {
            let end = matches!(token.1, TokenType::StreamEnd);
            tokens.push(token);
            if end {
                break;
            }
        }
        let (mut colons, mut props, mut blocks) = (Vec::new(), HashMap::new(), HashMap::new());
        let mut first_prop = None;
        // Open collections: the column of block ones (PyYAML's `indent`), `None` for flow ones.
        let mut open: Vec<Option<usize>> = Vec::new();
        for (j, Token(mark, token)) in tokens.iter().enumerate() {
            if let TokenType::Anchor(_) | TokenType::Tag(..) = token {
                first_prop = first_prop.or(Some(mark.index()));
            } else if let Some(at) = first_prop.take() {
                props.insert(mark.index(), at);
            }
            match token {
                // yaml-rust2 marks a block mapping at its first `:`; its column is the key's.
                TokenType::BlockMappingStart => {
                    open.push(Some(tokens.get(j + 1).map_or(0, |t| t.0.col())));
                }
                TokenType::BlockSequenceStart => open.push(Some(mark.col())),
                TokenType::FlowSequenceStart | TokenType::FlowMappingStart => open.push(None),
                TokenType::BlockEnd | TokenType::FlowSequenceEnd | TokenType::FlowMappingEnd => {
                    open.pop();
                }
                TokenType::Value => colons.push(mark.index()),
                TokenType::Scalar(TScalarStyle::Literal | TScalarStyle::Folded, _) => {
                    let parent = open.iter().rev().find_map(|c| *c);
                    let indicator = block_indicator(&chars, &tokens, j);
                    blocks.insert(mark.index(), (indicator, parent));
                }
                _ => {}
            }
        }
        Source {
            chars,
            line_starts,
            colons,
            props,
            blocks,
        }
    }

    /// 1-based line and column of a char index.
    fn line_col(&self, index: usize) -> (usize, usize) {
        let line = self.line_starts.partition_point(|&start| start <= index);
        (line, index - self.line_starts[line - 1] + 1)
    }
}

/// Position of the `|`/`>` of block scalar token `j` (yaml-rust2 marks its first content
/// character): the first character after the previous token that is not blank or comment.
fn block_indicator(chars: &[char], tokens: &[Token], j: usize) -> usize {
    let mut i = match j
        .checked_sub(1)
        .map(|p| (&tokens[p].1, tokens[p].0.index()))
    {
        Some((TokenType::Value | TokenType::Key, m)) => m + 1,
        Some((TokenType::DocumentStart, m)) => m + 3,
        Some((TokenType::Anchor(_) | TokenType::Tag(..), m)) => {
            m + chars[m..]
                .iter()
                .take_while(|c| !matches!(c, ' ' | '\t' | '\n'))
                .count()
        }
        Some((TokenType::StreamStart(_), _)) | None => 0,
        Some((_, m)) => m,
    };
    while let Some(&c) = chars.get(i) {
        match c {
            ' ' | '\t' | '\n' => i += 1,
            '#' => i += chars[i..].iter().take_while(|&&c| c != '\n').count(),
            _ => break,
        }
    }
    match chars.get(i) {
        Some('|' | '>') => i,
        _ => tokens[j].0.index(),
    }
}

/// PyYAML's `Composer.get_single_node` over yaml-rust2's events: `None` for an empty stream,
/// an error for a second document.
pub(super) fn single_document(text: &str) -> Result<Option<Raw>, YamlError> {
    let mut composer = Composer {
        parser: Parser::new_from_str(text),
        source: Source::new(text),
        anchors: HashMap::new(),
        open_anchors: HashSet::new(),
        nodes: 0,
        bytes: 0,
    };
    let (_stream_start, _) = composer.next()?;
    let (ev, mark) = composer.next()?;
    match ev {
        Event::StreamEnd => return Ok(None),
        Event::DocumentStart => {}
        _ => return Err(error_at(&mark, "did not find expected <document-start>")),
    }
    let (ev, mark) = composer.next()?;
    let root = composer.compose(ev, mark, 0, false)?;
    let (_document_end, _) = composer.next()?;
    let (ev, mark) = composer.next()?;
    if ev != Event::StreamEnd {
        return Err(error_at(
            &mark,
            "expected a single document in the stream, but found another document",
        ));
    }
    Ok(Some(root))
}

struct Composer<'a> {
    parser: Parser<std::str::Chars<'a>>,
    source: Source,
    anchors: HashMap<usize, Raw>,
    open_anchors: HashSet<usize>,
    nodes: usize,
    bytes: usize,
}

impl Composer<'_> {
    fn next(&mut self) -> Result<(Event, Marker), YamlError> {
        self.parser
            .next_token()
            .map_err(|e| error_at(e.marker(), e.info()))
    }

    /// Charges `nodes` nodes and `bytes` scalar bytes to the document's budget.
    fn charge(&mut self, nodes: usize, bytes: usize, mark: &Marker) -> Result<(), YamlError> {
        self.nodes += nodes;
        self.bytes += bytes;
        if self.bytes > MAX_EXPANDED_BYTES {
            return Err(limit_at(
                mark,
                format!(
                    "the YAML document expands to more than {} MiB (aliases counted each time \
                     they are used)",
                    MAX_EXPANDED_BYTES >> 20
                ),
            ));
        }
        if self.nodes > MAX_NODES {
            return Err(limit_at(
                mark,
                format!("the YAML document has more than {MAX_NODES} nodes (aliases expanded)"),
            ));
        }
        Ok(())
    }

    fn compose(
        &mut self,
        ev: Event,
        mark: Marker,
        depth: usize,
        is_value: bool,
    ) -> Result<Raw, YamlError> {
        if depth > MAX_DEPTH {
            return Err(limit_at(
                &mark,
                format!("nesting deeper than {MAX_DEPTH} levels"),
            ));
        }
        let (line, col) = (mark.line(), mark.col() + 1);
        let props = self.source.props.get(&mark.index()).copied();
        let (anchor, mut raw) = match ev {
            Event::Alias(id) => return self.compose_alias(id, &mark),
            Event::Scalar(text, style, anchor, tag) => (
                anchor,
                self.compose_scalar(text, style, tag, &mark, is_value)?,
            ),
            Event::SequenceStart(anchor, tag) => {
                self.open_anchors.insert(anchor);
                let mut items = Vec::new();
                loop {
                    let (ev, m) = self.next()?;
                    if ev == Event::SequenceEnd {
                        break;
                    }
                    items.push(self.compose(ev, m, depth + 1, false)?);
                }
                let start = self.sequence_start(mark.index());
                let raw = self.collection(RawKind::Seq(items), tag, "seq", start, &mark)?;
                (anchor, raw)
            }
            Event::MappingStart(anchor, tag) => {
                self.open_anchors.insert(anchor);
                let mut pairs: Vec<(Raw, Raw)> = Vec::new();
                loop {
                    let (ev, m) = self.next()?;
                    if ev == Event::MappingEnd {
                        break;
                    }
                    let key = self.compose(ev, m, depth + 1, false)?;
                    let (ev, m) = self.next()?;
                    let value = self.compose(ev, m, depth + 1, true)?;
                    pairs.push((key, value));
                }
                // yaml-rust2 marks a block mapping at its first `:`; PyYAML at its first key.
                let start = match pairs.first() {
                    Some((key, _)) if self.source.chars.get(mark.index()) != Some(&'{') => {
                        (key.line, key.col)
                    }
                    _ => (line, col),
                };
                let raw = self.collection(RawKind::Map(pairs), tag, "map", start, &mark)?;
                (anchor, raw)
            }
            _ => return Err(error_at(&mark, "unexpected event while composing a node")),
        };
        if let (Some(at), false) = (
            props,
            matches!(&raw.kind, RawKind::Scalar(t) if t.is_empty()),
        ) {
            (raw.line, raw.col) = self.source.line_col(at);
        }
        if anchor > 0 {
            self.open_anchors.remove(&anchor);
            self.anchors.insert(anchor, raw.clone());
        }
        Ok(raw)
    }

    fn compose_scalar(
        &mut self,
        mut text: String,
        style: TScalarStyle,
        tag: Option<Tag>,
        mark: &Marker,
        is_value: bool,
    ) -> Result<Raw, YamlError> {
        let (mut line, mut col) = (mark.line(), mark.col() + 1);
        let block = matches!(style, TScalarStyle::Literal | TScalarStyle::Folded);
        if let (true, Some(&(indicator, parent))) = (block, self.source.blocks.get(&mark.index())) {
            // yaml-rust2 reads some block scalars differently from PyYAML (no content, a last
            // line without a line break, trailing space-only lines).
            text = scan_block_scalar(&self.source.chars, indicator, parent);
            (line, col) = self.source.line_col(indicator);
        } else if is_value && text.is_empty() && style == TScalarStyle::Plain && tag.is_none() {
            // An empty value starts right after its `:`, not at the next token.
            let colons = &self.source.colons;
            if let Some(&at) = colons[..colons.partition_point(|&c| c < mark.index())].last() {
                (line, col) = self.source.line_col(at + 1);
            }
        }
        self.charge(1, text.len(), mark)?;
        let tag = match tag.as_ref().map(tag_name) {
            Some(t) if t == "!" => resolve_implicit(&text),
            Some(t) => t,
            None if style == TScalarStyle::Plain => resolve_implicit(&text),
            None => format!("{CORE}str"),
        };
        let bytes = text.len();
        Ok(Raw {
            kind: RawKind::Scalar(text),
            tag,
            line,
            col,
            nodes: 1,
            bytes,
        })
    }

    /// PyYAML starts a block sequence at its first `-`; yaml-rust2 marks what follows it.
    fn sequence_start(&self, at: usize) -> (usize, usize) {
        let chars = &self.source.chars;
        if chars.get(at) == Some(&'[') {
            return self.source.line_col(at);
        }
        let before = chars[..at.min(chars.len())]
            .iter()
            .rposition(|c| !matches!(c, ' ' | '\t' | '\n'));
        match before {
            Some(dash) if chars[dash] == '-' => self.source.line_col(dash),
            _ => self.source.line_col(at),
        }
    }

    fn collection(
        &mut self,
        kind: RawKind,
        tag: Option<Tag>,
        default: &str,
        (line, col): (usize, usize),
        mark: &Marker,
    ) -> Result<Raw, YamlError> {
        self.charge(1, 0, mark)?;
        let children: Vec<&Raw> = match &kind {
            RawKind::Seq(items) => items.iter().collect(),
            RawKind::Map(pairs) => pairs.iter().flat_map(|(k, v)| [k, v]).collect(),
            RawKind::Scalar(_) => Vec::new(),
        };
        let nodes = 1 + children.iter().map(|c| c.nodes).sum::<usize>();
        let bytes = children.iter().map(|c| c.bytes).sum();
        let tag = match tag.as_ref().map(tag_name) {
            Some(t) if t != "!" => t,
            _ => format!("{CORE}{default}"),
        };
        Ok(Raw {
            kind,
            tag,
            line,
            col,
            nodes,
            bytes,
        })
    }

    fn compose_alias(&mut self, id: usize, mark: &Marker) -> Result<Raw, YamlError> {
        if let Some(raw) = self.anchors.get(&id) {
            // PyYAML reuses the anchored node (and its position); copy it, once it fits.
            let (nodes, bytes) = (raw.nodes, raw.bytes);
            self.charge(nodes, bytes, mark)?;
            Ok(self.anchors[&id].clone())
        } else if self.open_anchors.contains(&id) {
            Err(YamlError::Unsupported {
                line: mark.line(),
                what: "a recursive alias".to_owned(),
            })
        } else {
            Err(error_at(mark, "found undefined alias"))
        }
    }
}
