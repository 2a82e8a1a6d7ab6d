//! rsync filter rules: parsing (rsync `parse_rule_tok`), matching (`rule_matches`) and
//! rsync's wildmatch (`lib/wildmatch.c`), deciding what a rule hides, shows, protects or
//! risks on each [`Side`].
//!
//! Must not touch the file system nor look at a [`Tree`](super::Tree): rules only see path
//! strings relative to the transfer root.

use super::{Side, SyncError};

/// One parsed filter rule (rsync `filter_rule` after `parse_rule_tok` + `add_rule`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Rule {
    include: bool,
    sender: bool,
    receiver: bool,
    negate: bool,
    perishable: bool,
    xattr: bool,
    dir_only: bool,
    /// Pattern without the dir-only trailing `/`, with a possible anchoring leading `/`.
    pattern: String,
    slash_cnt: usize,
    wild: bool,
    wild2: bool,
    wild2_prefix: bool,
    wild3_suffix: bool,
}

/// Parsed rsync filter rules of one item.
///
/// Supported: `exclude`/`-`, `include`/`+`, `hide`/`H`, `show`/`S`, `protect`/`P`,
/// `risk`/`R` with the modifiers `!`, `s`, `r`, `p` and `x`; patterns with `*`, `**`, `***`,
/// `?`, `[...]` (incl. `[:class:]`), `\` escapes, a leading `/` (anchored at the transfer
/// root) and a trailing `/` (directories only). Refused with [`SyncError::BadFilter`]:
/// what rsync itself rejects, and `merge`/`.`, `dir-merge`/`:`, `clear`/`!`, the `/`
/// (absolute path) and `C` (CVS) modifiers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterRules {
    rules: Vec<Rule>,
}

const LONG_RULE_NAMES: [(&str, u8); 9] = [
    ("clear", b'!'),
    ("dir-merge", b':'),
    ("exclude", b'-'),
    ("hide", b'H'),
    ("include", b'+'),
    ("merge", b'.'),
    ("protect", b'P'),
    ("risk", b'R'),
    ("show", b'S'),
];

/// C `isspace` (ASCII: space, \t, \n, \v, \f, \r).
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The rule kind and the index of the last byte of its prefix (rsync `parse_rule_tok`).
fn parse_rule_prefix(b: &[u8]) -> Option<(u8, usize)> {
    let first = *b.first()?;
    if let Some((name, ch)) = LONG_RULE_NAMES
        .iter()
        .find(|(n, _)| n.as_bytes()[0] == first)
    {
        let n = name.len();
        if !b.starts_with(name.as_bytes()) {
            return None;
        }
        return match b.get(n) {
            None | Some(b'_') => Some((*ch, n - 1)),
            Some(c) if is_c_space(*c) => Some((*ch, n - 1)),
            Some(b',') => Some((*ch, n)),
            Some(_) => None,
        };
    }
    Some((first, usize::from(b.get(1) == Some(&b','))))
}

fn apply_modifier(rule: &mut Rule, modifier: u8, side_fixed: bool) -> Result<(), String> {
    match modifier {
        b'!' => rule.negate = true,
        b'p' => rule.perishable = true,
        b'x' => rule.xattr = true,
        b's' if !side_fixed => rule.sender = true,
        b'r' if !side_fixed => rule.receiver = true,
        b'/' => return Err("the '/' (absolute path) modifier is not supported".to_string()),
        b'C' if !side_fixed => {
            return Err("the 'C' (CVS exclude) modifier is not supported".to_string());
        }
        other => return Err(format!("invalid modifier {:?}", char::from(other))),
    }
    Ok(())
}

impl Rule {
    fn set_pattern(&mut self, pat: &str) {
        let mut pat = pat;
        if pat.len() > 1 && pat.ends_with('/') {
            pat = &pat[..pat.len() - 1];
            self.dir_only = true;
        }
        self.slash_cnt = pat.bytes().filter(|b| *b == b'/').count();
        self.wild = pat.contains(['*', '[', '?']);
        self.wild2 = self.wild && pat.contains("**");
        self.wild2_prefix = self.wild2 && pat.starts_with("**");
        self.wild3_suffix = self.wild2 && pat.ends_with("***");
        self.pattern = pat.to_string();
    }

    fn parse(text: &str) -> Result<Rule, SyncError> {
        let bad = |reason: &str| SyncError::BadFilter {
            rule: text.to_string(),
            reason: reason.to_string(),
        };
        let b = text.as_bytes();
        let (kind, last) = parse_rule_prefix(b).ok_or_else(|| bad("unknown filter rule"))?;
        let mut rule = Rule::default();
        let side_fixed = match kind {
            b'-' => false,
            b'+' => {
                rule.include = true;
                false
            }
            b'H' | b'S' => {
                (rule.include, rule.sender) = (kind == b'S', true);
                true
            }
            b'P' | b'R' => {
                (rule.include, rule.receiver) = (kind == b'R', true);
                true
            }
            b'.' | b':' => return Err(bad("merge and dir-merge rules are not supported")),
            b'!' => return Err(bad("the clear rule ('!') is not supported")),
            _ => return Err(bad("unknown filter rule")),
        };
        let mut i = last + 1;
        while i < b.len() && b[i] != b' ' && b[i] != b'_' {
            apply_modifier(&mut rule, b[i], side_fixed).map_err(|r| bad(&r))?;
            i += 1;
        }
        let pattern = text.get((i + 1).min(b.len())..).unwrap_or("");
        if pattern.is_empty() {
            return Err(bad("unexpected end of filter rule (no pattern)"));
        }
        if !rule.sender && !rule.receiver {
            (rule.sender, rule.receiver) = (true, true);
        }
        rule.set_pattern(pattern);
        Ok(rule)
    }

    /// rsync `rule_matches` for a path relative to the transfer root.
    fn matches(&self, name: &str, is_dir: bool) -> bool {
        if name.is_empty() || self.xattr {
            return false;
        }
        let mut text = String::new();
        if self.slash_cnt == 0 && !self.wild2 {
            text.push_str(name.rsplit('/').next().unwrap_or(name));
        } else {
            if self.wild2_prefix {
                text.push('/');
            }
            text.push_str(name);
        }
        if is_dir {
            if self.wild3_suffix {
                text.push('/');
            }
        } else if self.dir_only {
            return self.negate;
        }
        let (anchored, pat) = match self.pattern.strip_prefix('/') {
            Some(rest) => (true, rest),
            None => (false, self.pattern.as_str()),
        };
        let hit = if self.wild {
            let place = if !anchored && self.slash_cnt > 0 && !self.wild2 {
                Place::TrailingElements(self.slash_cnt + 1)
            } else if !anchored && !self.wild2_prefix && self.wild2 {
                Place::AfterAnySlash
            } else {
                Place::Start
            };
            wildmatch_at(pat.as_bytes(), text.as_bytes(), place)
        } else if anchored {
            text == pat
        } else {
            text == pat || text.ends_with(&format!("/{pat}"))
        };
        hit != self.negate
    }
}

impl FilterRules {
    /// Parses rules as given to rsync's `--filter`, one rule per string.
    pub fn parse(rules: &[String]) -> Result<Self, SyncError> {
        let rules = rules
            .iter()
            .map(|r| Rule::parse(r))
            .collect::<Result<_, _>>()?;
        Ok(FilterRules { rules })
    }

    /// Whether `path` (relative to the transfer root) is excluded on `side`: the first
    /// matching rule of that side decides; no match means included (sender) or at risk
    /// (receiver).
    pub fn is_excluded(&self, side: Side, path: &str, is_dir: bool) -> bool {
        self.is_excluded_ext(side, path, is_dir, false)
    }

    /// Like [`FilterRules::is_excluded`]; `ignore_perishable` skips `p` rules, as rsync does
    /// inside a directory that is being deleted.
    pub(super) fn is_excluded_ext(
        &self,
        side: Side,
        path: &str,
        is_dir: bool,
        ignore_perishable: bool,
    ) -> bool {
        self.rules
            .iter()
            .filter(|r| match side {
                Side::Sender => r.sender,
                Side::Receiver => r.receiver,
            })
            .filter(|r| !(ignore_perishable && r.perishable))
            .find(|r| r.matches(path, is_dir))
            .is_some_and(|r| !r.include)
    }
}

// ---------------------------------------------------------------------------------------
// rsync wildmatch (lib/wildmatch.c), on one joined text
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wm {
    NoMatch,
    Match,
    AbortAll,
    AbortToStarStar,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Start,
    TrailingElements(usize),
    AfterAnySlash,
}

fn byte_at(p: &[u8], i: usize) -> u8 {
    p.get(i).copied().unwrap_or(0)
}

fn dowild(p: &[u8], t: &[u8]) -> Wm {
    let (mut pi, mut ti) = (0, 0);
    while pi < p.len() {
        let p_ch = p[pi];
        let t_ch = byte_at(t, ti);
        if ti >= t.len() && p_ch != b'*' {
            return Wm::AbortAll;
        }
        match p_ch {
            b'\\' => {
                pi += 1;
                if t_ch != byte_at(p, pi) {
                    return Wm::NoMatch;
                }
            }
            b'?' if t_ch == b'/' => return Wm::NoMatch,
            b'?' => {}
            b'*' => return dowild_star(p, pi, t, ti),
            b'[' => match match_class(p, &mut pi, t_ch) {
                Some(true) => {}
                Some(false) => return Wm::NoMatch,
                None => return Wm::AbortAll,
            },
            _ if t_ch != p_ch => return Wm::NoMatch,
            _ => {}
        }
        pi += 1;
        ti += 1;
    }
    if ti < t.len() { Wm::NoMatch } else { Wm::Match }
}

fn dowild_star(p: &[u8], star: usize, t: &[u8], mut ti: usize) -> Wm {
    let mut pi = star + 1;
    let special = byte_at(p, pi) == b'*';
    while byte_at(p, pi) == b'*' {
        pi += 1;
    }
    if pi >= p.len() {
        return if !special && t[ti.min(t.len())..].contains(&b'/') {
            Wm::NoMatch
        } else {
            Wm::Match
        };
    }
    while ti < t.len() {
        let matched = dowild(&p[pi..], &t[ti..]);
        if matched != Wm::NoMatch {
            if !special || matched != Wm::AbortToStarStar {
                return matched;
            }
        } else if !special && t[ti] == b'/' {
            return Wm::AbortToStarStar;
        }
        ti += 1;
    }
    Wm::AbortAll
}

fn class_matches(name: &[u8], c: u8) -> Option<bool> {
    Some(match name {
        b"alnum" => c.is_ascii_alphanumeric(),
        b"alpha" => c.is_ascii_alphabetic(),
        b"blank" => c == b' ' || c == b'\t',
        b"cntrl" => c.is_ascii_control(),
        b"digit" => c.is_ascii_digit(),
        b"graph" => c.is_ascii_graphic(),
        b"lower" => c.is_ascii_lowercase(),
        b"print" => c.is_ascii_graphic() || c == b' ',
        b"punct" => c.is_ascii_punctuation(),
        b"space" => is_c_space(c),
        b"upper" => c.is_ascii_uppercase(),
        b"xdigit" => c.is_ascii_hexdigit(),
        _ => return None,
    })
}

/// `[...]` at `p[*pi]`; leaves `*pi` on the closing `]`. `None` = abort the whole match.
fn match_class(p: &[u8], pi: &mut usize, t_ch: u8) -> Option<bool> {
    *pi += 1;
    let mut p_ch = byte_at(p, *pi);
    let negated = p_ch == b'!' || p_ch == b'^';
    if negated {
        *pi += 1;
        p_ch = byte_at(p, *pi);
    }
    let (mut prev, mut matched) = (0u8, false);
    loop {
        if p_ch == 0 {
            return None;
        }
        if p_ch == b'\\' {
            *pi += 1;
            p_ch = byte_at(p, *pi);
            if p_ch == 0 {
                return None;
            }
            matched |= t_ch == p_ch;
        } else if p_ch == b'-'
            && prev != 0
            && byte_at(p, *pi + 1) != 0
            && byte_at(p, *pi + 1) != b']'
        {
            *pi += 1;
            p_ch = byte_at(p, *pi);
            if p_ch == b'\\' {
                *pi += 1;
                p_ch = byte_at(p, *pi);
                if p_ch == 0 {
                    return None;
                }
            }
            matched |= prev <= t_ch && t_ch <= p_ch;
            p_ch = 0;
        } else if p_ch == b'[' && byte_at(p, *pi + 1) == b':' {
            p_ch = match_named_class(p, pi, t_ch, &mut matched)?;
        } else {
            matched |= t_ch == p_ch;
        }
        prev = p_ch;
        *pi += 1;
        p_ch = byte_at(p, *pi);
        if p_ch == b']' {
            break;
        }
    }
    Some(matched != negated && t_ch != b'/')
}

/// `[:name:]` inside a class, `p[*pi]` being its `[`. Returns the new "previous char".
fn match_named_class(p: &[u8], pi: &mut usize, t_ch: u8, matched: &mut bool) -> Option<u8> {
    let start = *pi + 2;
    let mut end = start;
    while byte_at(p, end) != 0 && byte_at(p, end) != b']' {
        end += 1;
    }
    if byte_at(p, end) == 0 {
        return None;
    }
    if end == start || p[end - 1] != b':' {
        // No ":]": the '[' is an ordinary member.
        *matched |= t_ch == b'[';
        return Some(b'[');
    }
    *matched |= class_matches(&p[start..end - 1], t_ch)?;
    *pi = end;
    Some(0)
}

/// Last `count` `/`-separated elements of `t` (rsync `trailing_N_elements`).
fn trailing_elements(t: &[u8], mut count: usize) -> Option<&[u8]> {
    for i in (0..t.len()).rev() {
        if t[i] == b'/' {
            count -= 1;
            if count == 0 {
                return Some(&t[i + 1..]);
            }
        }
    }
    (count == 1).then_some(t)
}

/// rsync `wildmatch_array` with a single joined text.
fn wildmatch_at(p: &[u8], t: &[u8], place: Place) -> bool {
    let t = match place {
        Place::TrailingElements(n) => match trailing_elements(t, n) {
            Some(t) => t,
            None => return false,
        },
        _ => t,
    };
    let mut matched = dowild(p, t);
    if matched != Wm::Match && place == Place::AfterAnySlash && matched != Wm::AbortAll {
        let mut i = 0;
        loop {
            if i >= t.len() {
                return false;
            }
            i += 1;
            if t[i - 1] == b'/' {
                matched = dowild(p, &t[i..]);
                if matched != Wm::NoMatch && matched != Wm::AbortToStarStar {
                    break;
                }
            }
        }
    }
    matched == Wm::Match
}

#[cfg(test)]
mod tests {
    use super::*;

    fn excluded(rules: &[&str], side: Side, path: &str, is_dir: bool) -> bool {
        let rules: Vec<String> = rules.iter().map(|s| s.to_string()).collect();
        match FilterRules::parse(&rules) {
            Ok(r) => r.is_excluded(side, path, is_dir),
            Err(e) => panic!("{e}"),
        }
    }

    // ----- filter rules: parsing ----------------------------------------------------

    #[test]
    fn filter_parse_accepts_rsync_spellings() {
        let cases: [(&str, bool, bool, bool, &str); 18] = [
            // rule, include, sender, receiver, pattern
            ("exclude foo", false, true, true, "foo"),
            ("- foo", false, true, true, "foo"),
            ("-_foo", false, true, true, "foo"),
            ("include foo", true, true, true, "foo"),
            ("+ foo", true, true, true, "foo"),
            ("protect foo", false, false, true, "foo"),
            ("P foo", false, false, true, "foo"),
            ("protect_foo", false, false, true, "foo"),
            ("risk foo", true, false, true, "foo"),
            ("R foo", true, false, true, "foo"),
            ("hide foo", false, true, false, "foo"),
            ("H foo", false, true, false, "foo"),
            ("show foo", true, true, false, "foo"),
            ("S foo", true, true, false, "foo"),
            ("exclude,s foo", false, true, false, "foo"),
            ("-r foo", false, false, true, "foo"),
            ("-sr foo", false, true, true, "foo"),
            ("-  foo", false, true, true, " foo"),
        ];
        for (text, include, sender, receiver, pattern) in cases {
            let rule = Rule::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            let got = (
                rule.include,
                rule.sender,
                rule.receiver,
                rule.pattern.as_str(),
            );
            assert_eq!(got, (include, sender, receiver, pattern), "{text}");
        }
        let rule = Rule::parse("P,p foo/").unwrap_or_else(|e| panic!("{e}"));
        assert!(rule.perishable && rule.dir_only && rule.pattern == "foo");
        let rule = Rule::parse("Pp foo").unwrap_or_else(|e| panic!("{e}"));
        assert!(rule.perishable);
        let rule = Rule::parse("-! */").unwrap_or_else(|e| panic!("{e}"));
        assert!(rule.negate && rule.dir_only && rule.pattern == "*");
    }

    #[test]
    fn filter_parse_rejects_bad_and_unsupported_rules() {
        let cases = [
            ("exclude\tfoo", "invalid modifier"),
            ("-foo", "invalid modifier"),
            ("- ", "unexpected end"),
            ("-", "unexpected end"),
            ("exclude", "unexpected end"),
            ("Ps foo", "invalid modifier"),
            ("hide,r foo", "invalid modifier"),
            ("-e foo", "invalid modifier"),
            ("exclude,foo", "invalid modifier"),
            ("e foo", "unknown filter rule"),
            ("excludes foo", "unknown filter rule"),
            (" - foo", "unknown filter rule"),
            ("", "unknown filter rule"),
            ("merge rules.txt", "not supported"),
            (". rules.txt", "not supported"),
            ("dir-merge .rsync-filter", "not supported"),
            (": .rsync-filter", "not supported"),
            ("clear", "not supported"),
            ("!", "not supported"),
            ("-/ /etc/passwd", "not supported"),
            ("-C", "not supported"),
        ];
        for (text, reason) in cases {
            match FilterRules::parse(&[text.to_string()]) {
                Err(SyncError::BadFilter { rule, reason: why }) => {
                    assert_eq!(rule, text);
                    assert!(why.contains(reason), "{text:?}: {why}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    // ----- filter rules: matching ---------------------------------------------------

    /// `(pattern, path, is_dir, matches)`, each row checked with rsync 3.5.0 through
    /// `rsync -a --debug=FILTER1 --filter '- PATTERN'` on a tree holding just that path.
    const MATCH_TABLE: [(&str, &str, bool, bool); 101] = [
        ("foo", "foo", false, true),
        ("foo", "bar/foo", false, true),
        ("foo", "bar/foo", true, true),
        ("foo", "foo.c", false, false),
        ("foo", "xfoo", false, false),
        ("/foo", "foo", false, true),
        ("/foo", "bar/foo", false, false),
        ("/foo", "foo", true, true),
        ("foo/", "foo", false, false),
        ("foo/", "foo", true, true),
        ("foo/", "bar/foo", true, true),
        ("bar/foo", "bar/foo", false, true),
        ("bar/foo", "x/bar/foo", false, true),
        ("bar/foo", "foo", false, false),
        ("bar/foo", "xbar/foo", false, false),
        ("/bar/foo", "bar/foo", false, true),
        ("/bar/foo", "x/bar/foo", false, false),
        ("*.c", "foo.c", false, true),
        ("*.c", "bar/x.c", false, true),
        ("*.c", ".c", false, true),
        ("bar/*.c", "bar/x.c", false, true),
        ("bar/*.c", "q/bar/x.c", false, true),
        ("bar/*.c", "bar/baz/x.c", false, false),
        ("bar/*.c", "x.c", false, false),
        ("bar/**/x.c", "bar/baz/x.c", false, true),
        ("bar/**/x.c", "bar/x.c", false, false),
        ("bar/**/x.c", "q/bar/baz/x.c", false, true),
        ("bar/**/x.c", "bar/a/b/x.c", false, true),
        ("**/x.c", "x.c", false, true),
        ("**/x.c", "bar/x.c", false, true),
        ("**/x.c", "a/b/x.c", false, true),
        ("/bar/**", "bar/x.c", false, true),
        ("/bar/**", "bar", true, false),
        ("/bar/**", "q/bar/x", false, false),
        ("bar/***", "bar", true, true),
        ("bar/***", "bar", false, false),
        ("bar/***", "q/bar", true, true),
        ("b?r", "bar", false, true),
        ("b?r", "bxr", false, true),
        ("b?r", "b/r", false, false),
        ("b?r", "baar", false, false),
        ("[ab]x", "ax", false, true),
        ("[ab]x", "bx", false, true),
        ("[ab]x", "cx", false, false),
        ("[!ab]x", "cx", false, true),
        ("[!ab]x", "ax", false, false),
        ("[^ab]x", "cx", false, true),
        ("[^ab]x", "ax", false, false),
        ("[a-c]*", "b1", false, true),
        ("[a-c]*", "d1", false, false),
        ("[[:digit:]]*", "1a", false, true),
        ("[[:digit:]]*", "a1", false, false),
        ("[]]x", "]x", false, true),
        ("[]]x", "ax", false, false),
        ("\\*star", "*star", false, true),
        ("\\*star", "xstar", false, false),
        ("foo\\bar", "foo\\bar", false, true),
        ("foo\\bar", "foobar", false, false),
        ("foo*", "foo", false, true),
        ("foo*", "foobar", false, true),
        ("foo*", "bar/foo1", false, true),
        ("*", "foo", false, true),
        ("*", ".hidden", false, true),
        ("d1/*/f", "d1/d2/f", false, true),
        ("d1/*/f", "d1/f", false, false),
        ("d1/*/f", "x/d1/d2/f", false, true),
        ("d1/*/f", "d1/d2/d3/f", false, false),
        ("d1/**/f", "d1/d2/f", false, true),
        ("d1/**/f", "d1/d2/d3/f", false, true),
        ("d1/**/f", "d1/f", false, false),
        ("d1/**/f", "x/d1/d2/f", false, true),
        ("/d1/**/f", "d1/d2/f", false, true),
        ("/d1/**/f", "x/d1/d2/f", false, false),
        ("d1/**", "d1/f", false, true),
        ("d1/**", "x/d1/f", false, true),
        ("a/b/", "a/b", true, true),
        ("a/b/", "a/b", false, false),
        ("a/b/", "x/a/b", true, true),
        ("*/", "dir", true, true),
        ("*/", "file", false, false),
        (".git*", ".git", true, true),
        (".git*", ".gitignore", false, true),
        (".git*", ".github", true, true),
        (".git*", "sub/.gitattributes", false, true),
        (".git*", "x.git", false, false),
        ("sources", "sources", false, true),
        ("sources", "tests/sources", false, true),
        ("sources", "sources2", false, false),
        ("x*y", "xay", false, true),
        ("x*y", "x/y", false, false),
        ("x*y", "xa/y", false, false),
        ("*/y", "x/y", false, true),
        ("*/y", "a/b/y", false, true),
        ("*/y", "y", false, false),
        ("**y", "xy", false, true),
        ("**y", "a/xy", false, true),
        ("**y", "a/b/y", false, true),
        ("**y", "y", false, true),
        ("a/**y", "a/y", false, true),
        ("a/**y", "a/b/y", false, true),
        ("a/**y", "q/a/b/y", false, true),
    ];

    #[test]
    fn filter_matching_table_matches_rsync() {
        for (pattern, path, is_dir, want) in MATCH_TABLE {
            let rule = Rule::parse(&format!("- {pattern}")).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                rule.matches(path, is_dir),
                want,
                "{pattern:?} vs {path:?} (dir: {is_dir})"
            );
        }
    }

    #[test]
    fn filter_negation_and_xattr_rules() {
        // '-! */' excludes everything that is not a directory.
        assert!(excluded(&["-! */"], Side::Sender, "file", false));
        assert!(!excluded(&["-! */"], Side::Sender, "dir", true));
        // xattr rules never match file names.
        assert!(!excluded(&["-x foo"], Side::Sender, "foo", false));
        // Unclosed class and unknown [:class:] abort the match (no match).
        assert!(!excluded(&["- [ab"], Side::Sender, "a", false));
        assert!(!excluded(&["- [[:nope:]]"], Side::Sender, "a", false));
    }

    #[test]
    fn filter_first_match_wins_per_side() {
        let rules = ["+ keep.c", "- *.c"];
        assert!(!excluded(&rules, Side::Sender, "keep.c", false));
        assert!(excluded(&rules, Side::Sender, "other.c", false));
        // exclude = hide + protect; hide/show are sender-only; protect/risk receiver-only.
        assert!(excluded(&["- x"], Side::Sender, "x", false));
        assert!(excluded(&["- x"], Side::Receiver, "x", false));
        assert!(excluded(&["H x"], Side::Sender, "x", false));
        assert!(!excluded(&["H x"], Side::Receiver, "x", false));
        assert!(!excluded(&["P x"], Side::Sender, "x", false));
        assert!(excluded(&["P x"], Side::Receiver, "x", false));
        // show before exclude: sent, but still protected on the receiver.
        assert!(!excluded(&["S x", "- x"], Side::Sender, "x", false));
        assert!(excluded(&["S x", "- x"], Side::Receiver, "x", false));
        // risk before exclude: hidden, but at risk of deletion.
        assert!(excluded(&["R x", "- x"], Side::Sender, "x", false));
        assert!(!excluded(&["R x", "- x"], Side::Receiver, "x", false));
        // Perishable rules are skipped inside directories being deleted.
        let rules = FilterRules::parse(&["P,p x".to_string()]).unwrap_or_else(|e| panic!("{e}"));
        assert!(rules.is_excluded_ext(Side::Receiver, "d/x", false, false));
        assert!(!rules.is_excluded_ext(Side::Receiver, "d/x", false, true));
    }
}
