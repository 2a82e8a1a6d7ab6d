//! Composition: yaml-rust2's events → composed nodes ([`Raw`]) with resolved tags, like
//! PyYAML's `Composer` + `Resolver`: anchors and aliases (copied, within the size limits), the
//! single-document rule, block scalar values and PyYAML's node positions.
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

fn syntax_error(mark: &Marker, message: impl Into<String>) -> YamlError {
    let (line, col, message) = (mark.line(), mark.col() + 1, message.into());
    YamlError::Syntax { line, col, message }
}

/// An explicit tag's full name; `None` for no tag or the non-specific `!`.
fn explicit(tag: &Option<Tag>) -> Option<String> {
    tag.as_ref()
        .filter(|t| !(t.handle.is_empty() && t.suffix == "!"))
        .map(|t| format!("{}{}", t.handle, t.suffix))
}

/// What the token stream tells beyond the events (keyed by token mark index): where the `:`
/// indicators are (an empty value starts just after its `:`), where a node's properties start,
/// and for block scalars the position of the `|`/`>` and the column of the enclosing block
/// collection.
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
        let line_starts = std::iter::once(0)
            .chain(
                (0..chars.len())
                    .filter(|&i| chars[i] == '\n')
                    .map(|i| i + 1),
            )
            .collect();
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
                    blocks.insert(mark.index(), (block_indicator(&chars, &tokens, j), parent));
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
    composer.next()?; // StreamStart
    let (ev, mark) = composer.next()?;
    match ev {
        Event::StreamEnd => return Ok(None),
        Event::DocumentStart => {}
        _ => {
            return Err(syntax_error(
                &mark,
                "did not find expected <document-start>",
            ));
        }
    }
    let (ev, mark) = composer.next()?;
    let root = composer.compose(ev, mark, 0, false)?;
    composer.next()?; // DocumentEnd
    let (ev, mark) = composer.next()?;
    if ev != Event::StreamEnd {
        let message = "expected a single document in the stream, but found another document";
        return Err(syntax_error(&mark, message));
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
            .map_err(|e| syntax_error(e.marker(), e.info()))
    }

    /// Charges `nodes` nodes and `bytes` scalar bytes to the document's budget.
    fn charge(&mut self, nodes: usize, bytes: usize, mark: &Marker) -> Result<(), YamlError> {
        self.nodes += nodes;
        self.bytes += bytes;
        let message = if self.bytes > MAX_EXPANDED_BYTES {
            format!(
                "the YAML document expands to more than {} MiB (aliases counted each time they \
                 are used)",
                MAX_EXPANDED_BYTES >> 20
            )
        } else if self.nodes > MAX_NODES {
            format!("the YAML document has more than {MAX_NODES} nodes (aliases expanded)")
        } else {
            return Ok(());
        };
        Err(YamlError::Limit {
            line: mark.line(),
            col: mark.col() + 1,
            message,
        })
    }

    fn compose(
        &mut self,
        ev: Event,
        mark: Marker,
        depth: usize,
        is_value: bool,
    ) -> Result<Raw, YamlError> {
        if depth > MAX_DEPTH {
            let message = format!("nesting deeper than {MAX_DEPTH} levels");
            return Err(YamlError::Limit {
                line: mark.line(),
                col: mark.col() + 1,
                message,
            });
        }
        let is_map = matches!(ev, Event::MappingStart(..));
        let (anchor, tag) = match ev {
            Event::Alias(id) => return self.compose_alias(id, &mark),
            Event::Scalar(text, style, anchor, tag) => {
                let raw = self.compose_scalar(text, style, tag, &mark, is_value)?;
                return self.finish(anchor, raw, &mark);
            }
            Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag) => (anchor, tag),
            _ => return Err(syntax_error(&mark, "unexpected event")),
        };
        self.open_anchors.insert(anchor);
        let mut children = Vec::new();
        loop {
            let (ev, m) = self.next()?;
            if matches!(ev, Event::SequenceEnd | Event::MappingEnd) {
                break;
            }
            let is_value = is_map && children.len() % 2 == 1;
            children.push(self.compose(ev, m, depth + 1, is_value)?);
        }
        self.charge(1, 0, &mark)?;
        let nodes = 1 + children.iter().map(|c| c.nodes).sum::<usize>();
        let bytes = children.iter().map(|c| c.bytes).sum();
        let (kind, default) = if is_map {
            let mut children = children.into_iter();
            let pairs = std::iter::from_fn(|| Some((children.next()?, children.next()?)));
            (RawKind::Map(pairs.collect()), "map")
        } else {
            (RawKind::Seq(children), "seq")
        };
        let (line, col) = self.collection_start(&kind, mark.index());
        let tag = explicit(&tag).unwrap_or_else(|| format!("{CORE}{default}"));
        self.finish(
            anchor,
            Raw {
                kind,
                tag,
                line,
                col,
                nodes,
                bytes,
            },
            &mark,
        )
    }

    /// Moves a node with properties to its first property, and registers its anchor.
    fn finish(&mut self, anchor: usize, mut raw: Raw, mark: &Marker) -> Result<Raw, YamlError> {
        if let Some(&at) = self.source.props.get(&mark.index())
            && !matches!(&raw.kind, RawKind::Scalar(t) if t.is_empty())
        {
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
        let bytes = text.len();
        self.charge(1, bytes, mark)?;
        let tag = match explicit(&tag) {
            Some(t) => t,
            None if style == TScalarStyle::Plain || tag.is_some() => resolve_implicit(&text),
            None => format!("{CORE}str"),
        };
        Ok(Raw {
            kind: RawKind::Scalar(text),
            tag,
            line,
            col,
            nodes: 1,
            bytes,
        })
    }

    /// PyYAML starts a flow collection at its bracket, a block sequence at its first `-` and a
    /// block mapping at its first key; yaml-rust2 marks what follows the `-`, or the first `:`.
    fn collection_start(&self, kind: &RawKind, at: usize) -> (usize, usize) {
        let chars = &self.source.chars;
        match kind {
            RawKind::Map(pairs) if chars.get(at) != Some(&'{') && !pairs.is_empty() => {
                (pairs[0].0.line, pairs[0].0.col)
            }
            RawKind::Seq(_) if chars.get(at) != Some(&'[') => {
                match chars[..at.min(chars.len())]
                    .iter()
                    .rposition(|c| !matches!(c, ' ' | '\t' | '\n'))
                {
                    Some(dash) if chars[dash] == '-' => self.source.line_col(dash),
                    _ => self.source.line_col(at),
                }
            }
            _ => self.source.line_col(at),
        }
    }

    fn compose_alias(&mut self, id: usize, mark: &Marker) -> Result<Raw, YamlError> {
        if let Some(raw) = self.anchors.get(&id) {
            // PyYAML reuses the anchored node (and its position); copy it, once it fits.
            let (nodes, bytes) = (raw.nodes, raw.bytes);
            self.charge(nodes, bytes, mark)?;
            Ok(self.anchors[&id].clone())
        } else if self.open_anchors.contains(&id) {
            let what = "a recursive alias".to_owned();
            Err(YamlError::Unsupported {
                line: mark.line(),
                what,
            })
        } else {
            Err(syntax_error(mark, "found undefined alias"))
        }
    }
}
