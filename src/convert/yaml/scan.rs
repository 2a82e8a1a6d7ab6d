//! yaml-rust2's token stream of a (prepared) text and the source positions derived from it:
//! line/column of a char index, where a node's properties start, where a block scalar's
//! indicator or a block entry's `-` is (yaml-rust2 marks tokens elsewhere than PyYAML), and
//! the extent of a token's source region.
//!
//! It must not decide what is valid YAML (`lexical` checks PyYAML's rules, `repair` the
//! retries) and does no I/O.

use yaml_rust2::scanner::{Scanner, Token, TokenType};

/// The whole token stream of the text (yaml-rust2's scanner). Used to enforce PyYAML's lexical
/// rules and to recover the positions PyYAML gives nodes (yaml-rust2's event marks differ for
/// block scalars, properties, empty nodes, block entries and block mappings).
pub(super) struct Scan {
    pub(super) chars: Vec<char>,
    /// Char index of the start of every line.
    line_starts: Vec<usize>,
    pub(super) tokens: Vec<Token>,
    /// Number of open collections before each token (0: the document's root level).
    pub(super) depths: Vec<usize>,
    /// Column of the innermost open block collection before each token (PyYAML's `indent`;
    /// `None` at the root level, where PyYAML's is -1).
    pub(super) indents: Vec<Option<usize>>,
    /// Where the scanner stopped (end of text, or its error position).
    pub(super) scan_end: usize,
    /// True if the scanner stopped on an error.
    pub(super) failed: bool,
}

impl Scan {
    /// Scans `text` (its line breaks already normalised to `\n`).
    pub(super) fn new(text: &str) -> Scan {
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

    /// 1-based line and column of a char index.
    pub(super) fn line_col(&self, index: usize) -> (usize, usize) {
        let line = self.line_starts.partition_point(|&start| start <= index);
        let start = self.line_starts[line.saturating_sub(1)];
        (line.max(1), index.saturating_sub(start) + 1)
    }

    pub(super) fn mark(&self, j: usize) -> usize {
        self.tokens.get(j).map_or(self.chars.len(), |t| t.0.index())
    }

    /// Start of the run of properties (anchor, tag) right before token `j`, if any.
    pub(super) fn props_start(&self, j: usize) -> Option<usize> {
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
    pub(super) fn block_indicator(&self, j: usize) -> usize {
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
    pub(super) fn dash(&self, j: usize) -> usize {
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
    pub(super) fn region_end(&self, j: usize) -> usize {
        let start = self.mark(j);
        self.tokens[j + 1..]
            .iter()
            .map(|t| t.0.index())
            .find(|&idx| idx > start)
            .unwrap_or(self.scan_end)
            .min(self.chars.len())
    }
}

/// Finds where a quoted scalar starting at `start` (the quote) ends (the index of the closing
/// quote, or the end of input).
pub(super) fn quoted_end(chars: &[char], start: usize) -> usize {
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
