//! PyYAML's lexical and structural rules that yaml-rust2 does not enforce (tabs, anchor
//! names and duplicates, tag and block scalar header spacing, which characters start a plain
//! scalar, `%YAML` directives, a key before every `:`, root-level block scalar content).
//!
//! It only reports the first violation ([`Scan::violation`]); it must not edit the text
//! (`repair` does), build nodes, or do I/O.

use std::collections::HashSet;

use yaml_rust2::scanner::{TScalarStyle, TokenType};

use super::YamlError;
use super::scan::{Scan, quoted_end};

impl Scan {
    /// The first violation of PyYAML rules that yaml-rust2 relaxes: tabs only inside quoted
    /// scalars, block scalar content and comments; anchor/alias names of `[0-9A-Za-z_-]`; no
    /// duplicate anchors; `%YAML 1.x` only; no document end marker before any document; every
    /// `:` of a block mapping preceded by a key. Returns the char index and the error.
    pub(super) fn violation(&self) -> Option<(usize, YamlError)> {
        let chars = &self.chars;
        let mut allowed = vec![false; chars.len()];
        let mut violations: Vec<(usize, YamlError)> = Vec::new();
        let mut anchors: HashSet<&str> = HashSet::new();
        let mut versions = 0;
        // Block mappings: has a key been seen since the last value indicator?
        // Open collections: (flow?, has a key been seen since the last `:` or `,`?). Block
        // sequences have no keys.
        let mut contexts: Vec<(bool, Option<bool>)> = Vec::new();
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
                    self.check_block_scalar(j, &mut allowed, &mut violations);
                }
                TokenType::Anchor(name) | TokenType::Alias(name) => {
                    self.check_name(start, name, &mut violations);
                    if matches!(token.1, TokenType::Anchor(_)) && !anchors.insert(name.as_str()) {
                        violations
                            .push(self.syntax(start, format!("found duplicate anchor {name:?}")));
                    }
                }
                TokenType::Tag(..) => self.check_tag(start, &mut violations),
                TokenType::Scalar(TScalarStyle::Plain, value) => {
                    let flow = contexts.last().is_some_and(|c| c.0);
                    self.check_plain(start, value, flow, &mut violations);
                }
                TokenType::VersionDirective(major, _) => {
                    versions += 1;
                    if *major != 1 {
                        violations
                            .push(self.syntax(start, "found incompatible YAML document".into()));
                    } else if versions > 1 {
                        violations
                            .push(self.syntax(start, "found duplicate YAML directive".into()));
                    }
                }
                TokenType::DocumentEnd if j == 1 => {
                    violations.push(self.syntax(
                        start,
                        "expected the node content, but found '<document end>'".into(),
                    ));
                }
                other => self.track_keys(other, start, &mut contexts, &mut violations),
            }
        }
        self.check_tabs(&allowed, &mut violations);
        violations.into_iter().min_by_key(|(pos, _)| *pos)
    }

    /// A syntax error at char index `index`, with that index.
    fn syntax(&self, index: usize, message: String) -> (usize, YamlError) {
        let (line, col) = self.line_col(index);
        (index, YamlError::Syntax { line, col, message })
    }

    /// [`Scan::violation`] for block scalar token `j`: its header, a document marker or
    /// column-0 content at the root level, and the tabs its content may hold.
    fn check_block_scalar(
        &self,
        j: usize,
        allowed: &mut [bool],
        violations: &mut Vec<(usize, YamlError)>,
    ) {
        let chars = &self.chars;
        let indicator = self.block_indicator(j);
        // PyYAML: the indicators are followed by a space or the line end.
        let after = chars[indicator + 1..]
            .iter()
            .position(|c| !matches!(c, '+' | '-' | '0'..='9'))
            .map(|k| indicator + 1 + k);
        if let Some(k) = after
            && !matches!(chars[k], ' ' | '\n')
        {
            violations.push(self.syntax(
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
            allowed,
        );
        if let Some(marker) = self.root_block_document_start(j) {
            violations.push(self.syntax(
                marker,
                "expected a single document in the stream, but found another document".into(),
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
                violations.push(self.syntax(
                    bol,
                    "expected '<document start>', but found another node".into(),
                ));
            }
        }
    }

    /// [`Scan::violation`] for the `name` of the anchor or alias token at `start`.
    fn check_name(&self, start: usize, name: &str, violations: &mut Vec<(usize, YamlError)>) {
        let chars = &self.chars;
        // PyYAML: a name is [0-9A-Za-z_-]+ followed by whitespace or one of
        // `?:,]}%@` and a backquote; yaml-rust2 takes more characters.
        let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        let name_len = name.chars().count();
        match name.chars().find(|&c| !is_name_char(c)) {
            // PyYAML ends the name there; `load` splits the name and retries.
            Some(c) if "?:%@`".contains(c) => {}
            Some(c) => violations.push(self.syntax(
                start,
                format!("expected alphabetic or numeric character, but found {c:?}"),
            )),
            None => {
                if let Some(&c) = chars.get(start + 1 + name_len)
                    && !matches!(c, ' ' | '\t' | '\n')
                    && !"?:,]}%@`".contains(c)
                {
                    violations.push(self.syntax(
                        start,
                        format!("expected alphabetic or numeric character, but found {c:?}"),
                    ));
                }
            }
        }
    }

    /// [`Scan::violation`] for the tag token at `start`.
    fn check_tag(&self, start: usize, violations: &mut Vec<(usize, YamlError)>) {
        let chars = &self.chars;
        // PyYAML wants a space or a line break right after a tag.
        let mut end = start + 1;
        if chars.get(end) == Some(&'<') {
            while end < chars.len() && chars[end] != '>' {
                end += 1;
            }
            end += 1;
        } else {
            while end < chars.len()
                && !matches!(chars[end], ' ' | '\t' | '\n' | ',' | '[' | ']' | '{' | '}')
            {
                end += 1;
            }
        }
        if let Some(&c) = chars.get(end)
            && !matches!(c, ' ' | '\n')
        {
            violations.push(self.syntax(
                end,
                format!("while scanning a tag, expected ' ', but found {c:?}"),
            ));
        }
    }

    /// [`Scan::violation`] for the plain scalar token at `start` holding `value`, inside a
    /// flow collection if `flow`.
    fn check_plain(
        &self,
        start: usize,
        value: &str,
        flow: bool,
        violations: &mut Vec<(usize, YamlError)>,
    ) {
        let chars = &self.chars;
        let first = chars.get(start).copied().unwrap_or(' ');
        let next_is_space = chars
            .get(start + 1)
            .is_none_or(|c| matches!(c, ' ' | '\t' | '\n'));
        let indicator = "-?:,[]{}#&*!|>'\"%@`".contains(first);
        // PyYAML's `check_plain`: an indicator only starts a plain scalar if it is
        // `-` (or `?`/`:` in block context) followed by a non-space.
        let starts_plain =
            !indicator || (!next_is_space && (first == '-' || (!flow && "?:".contains(first))));
        if !starts_plain && flow && "?:".contains(first) {
            // PyYAML reads an indicator here; `load` splits it off and retries.
        } else if !starts_plain {
            violations.push(self.syntax(
                start,
                format!("found character {first:?} that cannot start any token"),
            ));
        } else if flow && value.contains('?') {
            // PyYAML ends plain scalars at `?` in flow context.
            violations.push(self.syntax(start, "expected ',' or ']', but got '?'".into()));
        }
    }

    /// [`Scan::violation`] for a collection, entry, key or value token at `start`: keeps the
    /// open `contexts` and whether a key was seen in each.
    fn track_keys(
        &self,
        token: &TokenType,
        start: usize,
        contexts: &mut Vec<(bool, Option<bool>)>,
        violations: &mut Vec<(usize, YamlError)>,
    ) {
        match token {
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
                        violations.push(
                            self.syntax(
                                start,
                                "expected a key before ':' (PyYAML: expected <block end> or \
                             the node content, but found ':')"
                                    .into(),
                            ),
                        );
                    }
                    *key_seen = false;
                }
            }
            _ => {}
        }
    }

    /// [`Scan::violation`] for tabs: the first one outside the `allowed` chars (quoted
    /// scalars, block scalar content) and outside comments, before the scanner stopped.
    fn check_tabs(&self, allowed: &[bool], violations: &mut Vec<(usize, YamlError)>) {
        let chars = &self.chars;
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
                violations.push(self.syntax(
                    i,
                    "found character '\\t' that cannot start any token".into(),
                ));
                break;
            }
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
