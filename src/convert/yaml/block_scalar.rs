//! PyYAML's `scan_block_scalar`: the value of a literal (`|`) or folded (`>`) block scalar,
//! read from the source text (yaml-rust2 reads some differently: no content, a last line
//! without a line break, trailing space-only lines).
//!
//! It must not validate the header or the indentation (yaml-rust2 did) and does no I/O.

/// PyYAML's `scan_block_scalar` (and its helpers) for the block scalar whose `|`/`>` is at
/// `indicator`, inside a block collection at column `parent` (`None` at the root level).
/// The text has `\n` line breaks only; the header was already checked.
pub(super) fn scan_block_scalar(chars: &[char], indicator: usize, parent: Option<usize>) -> String {
    let folded = chars.get(indicator) == Some(&'>');
    let (chomping, increment, mut i) = block_header(chars, indicator);

    let mut line_start = i;
    let min_indent = parent.map_or(1, |col| col + 1);
    let (mut breaks, indent) = match increment {
        Some(increment) => {
            let indent = min_indent + increment - 1;
            (scan_breaks(chars, &mut i, &mut line_start, indent), indent)
        }
        None => {
            let (breaks, max_indent) = scan_indentation(chars, &mut i, &mut line_start);
            (breaks, min_indent.max(max_indent))
        }
    };

    let mut chunks = String::new();
    let mut line_break = "";
    while i < chars.len() && (i - line_start) == indent {
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
        breaks = scan_breaks(chars, &mut i, &mut line_start, indent);
        if i < chars.len() && (i - line_start) == indent {
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

/// The block scalar header whose `|`/`>` is at `indicator`: its chomping indicator
/// (`Some(true)` for `+`, `Some(false)` for `-`), its indentation indicator, and the index
/// after the header line.
fn block_header(chars: &[char], indicator: usize) -> (Option<bool>, Option<usize>, usize) {
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
    (chomping, increment, i)
}

/// `scan_block_scalar_breaks`: line breaks and indentation up to `indent`.
fn scan_breaks(chars: &[char], i: &mut usize, line_start: &mut usize, indent: usize) -> String {
    let mut breaks = String::new();
    while *i < chars.len() && (*i - *line_start) < indent && chars[*i] == ' ' {
        *i += 1;
    }
    while *i < chars.len() && chars[*i] == '\n' {
        breaks.push('\n');
        *i += 1;
        *line_start = *i;
        while *i < chars.len() && (*i - *line_start) < indent && chars[*i] == ' ' {
            *i += 1;
        }
    }
    breaks
}

/// `scan_block_scalar_indentation`: the line breaks before the first content line, and the
/// largest indentation seen on the way.
fn scan_indentation(chars: &[char], i: &mut usize, line_start: &mut usize) -> (String, usize) {
    let mut breaks = String::new();
    let mut max_indent = 0;
    while *i < chars.len() && matches!(chars[*i], ' ' | '\n') {
        if chars[*i] == '\n' {
            breaks.push('\n');
            *i += 1;
            *line_start = *i;
        } else {
            *i += 1;
            max_indent = max_indent.max(*i - *line_start);
        }
    }
    (breaks, max_indent)
}
