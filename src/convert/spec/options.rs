//! Section-header options (`Options.tokenize` and `Token.__str__`): the option string of a
//! section header re-rendered the way the library saves it, or the reason its tokenizer
//! fails.
//!
//! It must not parse section names (`sections`) or evaluate macros, and does no I/O.

use std::collections::VecDeque;

use super::text::py_isspace;
use super::value::{Node, parse_value, render_nodes};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenKind {
    Default,
    Whitespace,
    Quoted,
    DoubleQuoted,
}

/// One input element of the tokenizer: a literal character or a whole macro node.
#[derive(Debug)]
enum Elem {
    Char(char),
    Macro(String),
}

impl Elem {
    fn is(&self, c: char) -> bool {
        matches!(self, Elem::Char(x) if *x == c)
    }

    fn push_to(&self, s: &mut String) {
        match self {
            Elem::Char(c) => s.push(*c),
            Elem::Macro(m) => s.push_str(m),
        }
    }
}

/// Re-renders an option string the way `str(Options(Options.tokenize(s)))` does.
pub(super) fn normalize_options(s: &str) -> Result<String, &'static str> {
    let mut out = String::new();
    for (kind, value) in tokenize_options(s)? {
        match kind {
            TokenKind::Whitespace => out.push_str(&value),
            TokenKind::Quoted => out.push_str(&format!("'{}'", value.replace('\'', "\\'"))),
            TokenKind::DoubleQuoted => out.push_str(&format!("\"{}\"", value.replace('"', "\\\""))),
            TokenKind::Default => render_default_token(&value, &mut out)?,
        }
    }
    Ok(out)
}

/// `Token.__str__` for a plain token: quotes and whitespace of literal text are escaped.
fn render_default_token(value: &str, out: &mut String) -> Result<(), &'static str> {
    let chars: Vec<char> = value.chars().collect();
    let nodes = parse_value(&chars).map_err(|_| "unterminated macro")?;
    for node in &nodes {
        let Node::Literal(text) = node else {
            render_nodes(std::slice::from_ref(node), out);
            continue;
        };
        for c in text.chars() {
            if matches!(c, '\'' | '"') || py_isspace(c) {
                out.push('\\');
            }
            out.push(c);
        }
    }
    Ok(())
}

/// `Options.tokenize` (poptParseArgvString rules).
fn tokenize_options(s: &str) -> Result<Vec<(TokenKind, String)>, &'static str> {
    let chars: Vec<char> = s.chars().collect();
    let nodes = parse_value(&chars).map_err(|_| "unterminated macro")?;
    let mut input: VecDeque<Elem> = VecDeque::new();
    for node in &nodes {
        match node {
            Node::Literal(text) => input.extend(text.chars().map(Elem::Char)),
            other => {
                let mut rendered = String::new();
                render_nodes(std::slice::from_ref(other), &mut rendered);
                input.push_back(Elem::Macro(rendered));
            }
        }
    }
    let mut tokens = Vec::new();
    let mut token = String::new();
    let mut quote: Option<char> = None;
    while let Some(elem) = input.pop_front() {
        if let Some(q) = quote {
            quoted_elem(elem, q, &mut input, &mut token, &mut tokens, &mut quote)?;
            continue;
        }
        match elem {
            Elem::Char(c) if py_isspace(c) => {
                flush(&mut token, TokenKind::Default, &mut tokens);
                let ws = take_whitespace(c, &mut input);
                tokens.push((TokenKind::Whitespace, ws));
            }
            Elem::Char(c @ ('"' | '\'')) => {
                flush(&mut token, TokenKind::Default, &mut tokens);
                quote = Some(c);
            }
            Elem::Char('\\') => input
                .pop_front()
                .ok_or("no escaped character")?
                .push_to(&mut token),
            other => other.push_to(&mut token),
        }
    }
    if quote.is_some() {
        return Err("no closing quotation");
    }
    flush(&mut token, TokenKind::Default, &mut tokens);
    Ok(tokens)
}

/// One element inside quotes.
fn quoted_elem(
    elem: Elem,
    q: char,
    input: &mut VecDeque<Elem>,
    token: &mut String,
    tokens: &mut Vec<(TokenKind, String)>,
    quote: &mut Option<char>,
) -> Result<(), &'static str> {
    if elem.is(q) {
        let kind = if q == '\'' {
            TokenKind::Quoted
        } else {
            TokenKind::DoubleQuoted
        };
        flush(token, kind, tokens);
        *quote = None;
        return Ok(());
    }
    if elem.is('\\') {
        let next = input.pop_front().ok_or("no escaped character")?;
        if !next.is(q) {
            token.push('\\');
        }
        next.push_to(token);
        return Ok(());
    }
    elem.push_to(token);
    Ok(())
}

fn flush(token: &mut String, kind: TokenKind, tokens: &mut Vec<(TokenKind, String)>) {
    if !token.is_empty() {
        tokens.push((kind, std::mem::take(token)));
    }
}

/// A whitespace run starting with `first`.
fn take_whitespace(first: char, input: &mut VecDeque<Elem>) -> String {
    let mut ws = String::from(first);
    while let Some(Elem::Char(c)) = input.front() {
        if !py_isspace(*c) {
            break;
        }
        ws.push(*c);
        input.pop_front();
    }
    ws
}
