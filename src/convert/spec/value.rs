//! python-specfile's `value_parser.ValueParser`, only what re-rendering needs: macro nodes,
//! conditional macro expansions (`%{?cond:body}`), and enclosed substitutions whose arguments
//! the library re-joins with single spaces.
//!
//! It must not expand or evaluate macros, and does no I/O.

use super::text::py_isspace;

/// A parsed node. Only enclosed macro substitutions (`%{name args}`) re-render differently
/// (arguments re-joined with single spaces); they are stored already rendered in `Other`.
#[derive(Debug, Clone)]
pub(super) enum Node {
    Literal(String),
    Other(String),
    Conditional { condition: String, body: Vec<Node> },
}

/// `UnterminatedMacroException`.
#[derive(Debug)]
pub(super) struct Unterminated;

pub(super) fn render_nodes(nodes: &[Node], out: &mut String) {
    for node in nodes {
        match node {
            Node::Literal(s) | Node::Other(s) => out.push_str(s),
            Node::Conditional { condition, body } => {
                out.push_str("%{");
                out.push_str(condition);
                out.push(':');
                render_nodes(body, out);
                out.push('}');
            }
        }
    }
}

/// `split_conditional_macro_expansion`: if the whole line is one `%{?cond:body}` (or
/// `%{!?cond:...}`), the byte length of `%{?cond:` and the re-rendered body.
pub(super) fn split_conditional(line: &str) -> Option<(usize, String)> {
    if !line.starts_with("%{") {
        return None;
    }
    let chars: Vec<char> = line.chars().collect();
    let nodes = parse_value(&chars).ok()?;
    let [Node::Conditional { condition, body }] = nodes.as_slice() else {
        return None;
    };
    let mut rendered = String::new();
    render_nodes(body, &mut rendered);
    Some((condition.len() + 3, rendered))
}

/// `ValueParser.parse`, quirks included (the `%%` skip offset is added to `start`).
pub(super) fn parse_value(v: &[char]) -> Result<Vec<Node>, Unterminated> {
    let n = v.len();
    let mut result = Vec::new();
    let (mut start, mut start0, mut offset) = (0, 0, 0);
    while start < n {
        let Some(end) = (start + offset..n).find(|&k| v[k] == '%') else {
            break;
        };
        if end + 1 >= n {
            return Err(Unterminated);
        }
        if v[end + 1] == '%' {
            offset = end + 2;
            continue;
        }
        start = end;
        let close = find_macro_end(v, start + 1).ok_or(Unterminated)?;
        let node = match v[start + 1] {
            '{' => match brace_node(v, start, close)? {
                Some(node) => node,
                None => {
                    start += 2;
                    continue;
                }
            },
            _ => Node::Other(v[start..close].iter().collect()),
        };
        if start > start0 {
            result.push(Node::Literal(v[start0..start].iter().collect()));
        }
        result.push(node);
        (start, start0, offset) = (close, close, 0);
    }
    if start0 < n {
        result.push(Node::Literal(v[start0..].iter().collect()));
    }
    Ok(result)
}

/// `%{...}` from `start` to `close`: conditional, single-argument or enclosed substitution;
/// `None` when the library skips it as literal text (invalid macro name).
fn brace_node(v: &[char], start: usize, close: usize) -> Result<Option<Node>, Unterminated> {
    let inner = &v[start + 2..close - 1];
    let delimiter = inner.iter().position(|c| matches!(c, ' ' | ':' | '}'));
    if let Some(idx) = delimiter.filter(|&i| inner[i] == ':') {
        let condition: String = inner[..idx].iter().collect();
        let name = condition.trim_start_matches(['?', '!']);
        if condition[..condition.len() - name.len()].contains('?') {
            let body = parse_value(&inner[idx + 1..])?;
            return Ok(Some(Node::Conditional { condition, body }));
        }
        return Ok(Some(Node::Other(v[start..close].iter().collect())));
    }
    let name: String = inner[..delimiter.unwrap_or(inner.len())].iter().collect();
    let name = name.trim_start_matches(['?', '!']);
    let mut name_chars = name.chars();
    let valid = name_chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name_chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Ok(None);
    }
    let body: String = inner.iter().collect();
    let rest = body.trim_start_matches(['?', '!']);
    let prefix = &body[..body.len() - rest.len()];
    let words: Vec<&str> = rest.split(py_isspace).filter(|w| !w.is_empty()).collect();
    Ok(Some(Node::Other(format!(
        "%{{{prefix}{}}}",
        words.join(" ")
    ))))
}

/// `find_macro_end`: index after the macro whose name starts at `i`.
fn find_macro_end(v: &[char], mut i: usize) -> Option<usize> {
    let n = v.len();
    if matches!(v[i], '(' | '{' | '[') {
        return matching_bracket(v, i);
    }
    while i < n && matches!(v[i], '?' | '!') {
        i += 1;
    }
    if i < n && v[i] == '-' {
        i += 1;
    }
    while i < n && (v[i].is_alphanumeric() || v[i] == '_') {
        i += 1;
    }
    if i < n && matches!(v[i], '*' | '#') {
        i += 1;
    }
    Some(i)
}

/// `find_matching_parenthesis`: backslashes are skipped but do not escape anything.
fn matching_bracket(v: &[char], index: usize) -> Option<usize> {
    let open = v[index];
    let close = match open {
        '(' => ')',
        '{' => '}',
        _ => ']',
    };
    let mut level = 0i64;
    for (k, &c) in v.iter().enumerate().skip(index) {
        if c == '\\' {
            continue;
        }
        if c == close {
            level -= 1;
            if level <= 0 {
                return Some(k + 1);
            }
        } else if c == open {
            level += 1;
        }
    }
    None
}
