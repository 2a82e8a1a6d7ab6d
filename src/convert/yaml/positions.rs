//! PyYAML's node positions (`start_mark`s), recovered by matching each event of the
//! [`Composer`] to its tokens in the [`Scan`](super::scan::Scan): yaml-rust2's event marks are
//! token marks, which differ from PyYAML's for properties, block scalars, empty nodes, block
//! sequences and block mappings.
//!
//! It only moves the composer's token cursor and computes char indices; it must not build
//! nodes, report errors, or do I/O.

use yaml_rust2::parser::Event;
use yaml_rust2::scanner::{Marker, TScalarStyle, TokenType};

use super::composer::{Composer, Role};

impl Composer<'_> {
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
    pub(super) fn node_start(
        &mut self,
        ev: &Event,
        mark: &Marker,
        role: Role,
    ) -> (usize, Option<usize>) {
        let at = mark.index();
        let indicator = self.consume_indicator(role);
        match ev {
            Event::Scalar(text, style, ..)
                if !(text.is_empty() && *style == TScalarStyle::Plain) =>
            {
                self.scalar_start(at, *style)
            }
            Event::Scalar(..) => self.empty_start(at, indicator),
            Event::SequenceStart(..) => self.sequence_start(at),
            Event::MappingStart(..) => self.mapping_start(at),
            Event::Alias(..) => {
                if let Some(j) = self.find_token(at, |t| matches!(t, TokenType::Alias(_))) {
                    self.cursor = j;
                }
                (at, None)
            }
            _ => (at, None),
        }
    }

    /// [`Composer::node_start`] of a non-empty scalar whose event is marked at `at`.
    fn scalar_start(&mut self, at: usize, style: TScalarStyle) -> (usize, Option<usize>) {
        let scan = self.scan;
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

    /// [`Composer::node_start`] of an empty scalar whose event is marked at `at`, introduced
    /// by the `indicator` token (if any).
    fn empty_start(&mut self, at: usize, indicator: Option<usize>) -> (usize, Option<usize>) {
        let scan = self.scan;
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

    /// [`Composer::node_start`] of a sequence whose event is marked at `at`.
    fn sequence_start(&mut self, at: usize) -> (usize, Option<usize>) {
        let scan = self.scan;
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

    /// [`Composer::node_start`] of a mapping whose event is marked at `at`.
    fn mapping_start(&mut self, at: usize) -> (usize, Option<usize>) {
        let scan = self.scan;
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
}
