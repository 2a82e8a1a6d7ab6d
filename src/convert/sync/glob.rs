//! Python `glob.glob` / `fnmatch.fnmatchcase` semantics over a [`Tree`] (non-recursive,
//! hidden names need a leading `.`), as packit applies them to each `src`.
//!
//! Must not touch the file system: directories are listed, and symlinks followed, through
//! the [`Tree`] only.

use super::paths::{WalkError, walk, walk_error};
use super::tree::full_children;
use super::{EntryKind, Repo, SyncError, Tree};

#[derive(Debug, Clone, PartialEq, Eq)]
enum FnTok {
    Star,
    Any,
    Never,
    Lit(char),
    Set {
        negated: bool,
        items: Vec<(char, char)>,
    },
}

pub(super) fn has_magic(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Python `fnmatch.translate`'s splitting of a bracket body into range chunks.
fn fn_set_chunks(stuff: &[char]) -> Vec<Vec<char>> {
    let mut chunks: Vec<Vec<char>> = Vec::new();
    let mut i = 0;
    let mut k = if stuff.first() == Some(&'!') { 2 } else { 1 };
    while let Some(off) = stuff
        .get(k..)
        .and_then(|s| s.iter().position(|c| *c == '-'))
    {
        let at = k + off;
        chunks.push(stuff[i..at].to_vec());
        i = at + 1;
        k = at + 3;
    }
    let tail = stuff.get(i..).unwrap_or_default().to_vec();
    match chunks.last_mut() {
        Some(last) if tail.is_empty() => last.push('-'),
        _ => chunks.push(tail),
    }
    for k in (1..chunks.len()).rev() {
        if let (Some(&a), Some(&b)) = (chunks[k - 1].last(), chunks[k].first())
            && a > b
        {
            let next: Vec<char> = chunks[k][1..].to_vec();
            chunks[k - 1].pop();
            chunks[k - 1].extend(next);
            chunks.remove(k);
        }
    }
    chunks
}

fn fn_set(stuff: &[char]) -> FnTok {
    let has_dash = stuff.contains(&'-');
    let mut chunks = if has_dash {
        fn_set_chunks(stuff)
    } else {
        vec![stuff.to_vec()]
    };
    let negated = chunks.first().and_then(|c| c.first()) == Some(&'!');
    if negated {
        chunks[0].remove(0);
    }
    let mut items = Vec::new();
    let n = chunks.len();
    for (idx, chunk) in chunks.iter().enumerate() {
        let start = usize::from(idx > 0);
        let end = if idx + 1 < n {
            chunk.len().saturating_sub(1)
        } else {
            chunk.len()
        };
        items.extend(
            chunk
                .get(start..end)
                .unwrap_or_default()
                .iter()
                .map(|c| (*c, *c)),
        );
        if idx + 1 < n
            && let (Some(&lo), Some(&hi)) = (chunk.last(), chunks[idx + 1].first())
        {
            items.push((lo, hi));
        }
    }
    match (negated, items.is_empty()) {
        (false, true) => FnTok::Never,
        (true, true) => FnTok::Any,
        _ => FnTok::Set { negated, items },
    }
}

fn fn_compile(pat: &str) -> Vec<FnTok> {
    let p: Vec<char> = pat.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < p.len() {
        let c = p[i];
        i += 1;
        match c {
            '*' if toks.last() == Some(&FnTok::Star) => {}
            '*' => toks.push(FnTok::Star),
            '?' => toks.push(FnTok::Any),
            '[' => {
                let mut j = i;
                if p.get(j) == Some(&'!') {
                    j += 1;
                }
                if p.get(j) == Some(&']') {
                    j += 1;
                }
                while j < p.len() && p[j] != ']' {
                    j += 1;
                }
                if j >= p.len() {
                    toks.push(FnTok::Lit('['));
                } else {
                    toks.push(fn_set(&p[i..j]));
                    i = j + 1;
                }
            }
            _ => toks.push(FnTok::Lit(c)),
        }
    }
    toks
}

fn fn_tok_matches(tok: &FnTok, c: char) -> bool {
    match tok {
        FnTok::Any => true,
        FnTok::Never | FnTok::Star => false,
        FnTok::Lit(l) => *l == c,
        FnTok::Set { negated, items } => {
            items.iter().any(|(lo, hi)| *lo <= c && c <= *hi) != *negated
        }
    }
}

/// Python `fnmatch.fnmatchcase` (POSIX: case-sensitive).
fn fnmatch(pat: &str, name: &str) -> bool {
    let toks = fn_compile(pat);
    let s: Vec<char> = name.chars().collect();
    let (mut pi, mut si) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < toks.len() && toks[pi] == FnTok::Star {
            backtrack = Some((pi, si));
            pi += 1;
        } else if pi < toks.len() && fn_tok_matches(&toks[pi], s[si]) {
            pi += 1;
            si += 1;
        } else if let Some((star, from)) = backtrack {
            pi = star + 1;
            si = from + 1;
            backtrack = Some((star, from + 1));
        } else {
            return false;
        }
    }
    toks[pi..].iter().all(|t| *t == FnTok::Star)
}

/// Physical path of `comps` for glob's internal checks: `None` on a symlink loop (Python's
/// `is_dir()`/`lexists()`/`scandir()` just say "no"), an error if it leaves the repository.
fn glob_walk(
    tree: &Tree,
    comps: &[String],
    follow_last: bool,
    src: &str,
) -> Result<Option<String>, SyncError> {
    match walk(tree, &[], comps.to_vec(), follow_last) {
        Ok(real) => Ok(Some(real.join("/"))),
        Err(WalkError::Loop) => Ok(None),
        Err(e) => Err(walk_error(e, Repo::SourceGit, src)),
    }
}

/// Whether `comps` is a directory, following symlinks (`os.path.isdir`).
fn glob_is_dir(tree: &Tree, comps: &[String], src: &str) -> Result<bool, SyncError> {
    let real = glob_walk(tree, comps, true, src)?;
    Ok(matches!(
        real.and_then(|r| tree.kind(&r)),
        Some(EntryKind::Dir { .. })
    ))
}

/// Whether `comps` exists, not following the last component (`os.path.lexists`).
fn glob_lexists(tree: &Tree, comps: &[String], src: &str) -> Result<bool, SyncError> {
    let real = glob_walk(tree, comps, false, src)?;
    Ok(real.and_then(|r| tree.kind(&r)).is_some())
}

/// Entries of the directory at `dir` (following symlinks), or nothing.
fn list_dir(tree: &Tree, dir: &[String], src: &str) -> Result<Vec<(String, EntryKind)>, SyncError> {
    Ok(match glob_walk(tree, dir, true, src)? {
        Some(real) if matches!(tree.kind(&real), Some(EntryKind::Dir { .. })) => {
            full_children(tree, Repo::SourceGit, &real)?
        }
        _ => Vec::new(),
    })
}

/// Python `glob.glob` of a pattern with magic, as component lists (sorted).
pub(super) fn py_glob(
    tree: &Tree,
    comps: &[String],
    trailing: bool,
    src: &str,
) -> Result<Vec<Vec<String>>, SyncError> {
    let mut cands: Vec<Vec<String>> = vec![Vec::new()];
    for (idx, comp) in comps.iter().enumerate() {
        let dir_only = idx + 1 < comps.len() || trailing;
        let mut next = Vec::new();
        for dir in &cands {
            let extend = |name: &str| {
                let mut c = dir.clone();
                c.push(name.to_string());
                c
            };
            if !has_magic(comp) {
                next.push(extend(comp));
                continue;
            }
            for (name, _) in list_dir(tree, dir, src)? {
                let hidden_ok = !name.starts_with('.') || comp.starts_with('.');
                if !hidden_ok || !fnmatch(comp, &name) {
                    continue;
                }
                let cand = extend(&name);
                if !dir_only || glob_is_dir(tree, &cand, src)? {
                    next.push(cand);
                }
            }
        }
        cands = next;
    }
    let mut out = Vec::new();
    for cand in cands {
        let keep = if trailing {
            glob_is_dir(tree, &cand, src)?
        } else {
            glob_lexists(tree, &cand, src)?
        };
        if keep {
            out.push(cand);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::paths::split_comps;
    use super::super::test_util::t;
    use super::*;

    /// `(pattern, matches)`: Python 3 `sorted(glob.glob(pattern))` on the tree of
    /// [`fnmatch_and_glob_match_python`].
    const GLOB_TABLE: [(&str, &[&str]); 29] = [
        ("a/*.conf", &["a/[x].conf", "a/x.conf"]),
        ("a/.*", &["a/.h", "a/.y.conf"]),
        (
            "a/*",
            &[
                "a/[x].conf",
                "a/d1",
                "a/dangling",
                "a/flink",
                "a/link",
                "a/x.conf",
            ],
        ),
        ("a/*/", &["a/d1/", "a/link/"]),
        (
            "a/**",
            &[
                "a/[x].conf",
                "a/d1",
                "a/dangling",
                "a/flink",
                "a/link",
                "a/x.conf",
            ],
        ),
        ("a/**/*.conf", &["a/d1/z.conf", "a/link/z.conf"]),
        ("a/[x].conf", &["a/x.conf"]),
        (
            "a/[!x]*",
            &["a/[x].conf", "a/d1", "a/dangling", "a/flink", "a/link"],
        ),
        ("a/*/z.conf", &["a/d1/z.conf", "a/link/z.conf"]),
        ("a/.h/*", &["a/.h/w.conf"]),
        ("nope*", &[]),
        ("a/*.conf/", &[]),
        ("a/[]x].conf", &["a/x.conf"]),
        ("*.conf", &["b.conf"]),
        (".*", &[".c.conf"]),
        ("a/l*/", &["a/link/"]),
        ("a/*/*.conf", &["a/d1/z.conf", "a/link/z.conf"]),
        ("a/?.conf", &["a/x.conf"]),
        (
            "a/[a-z]*",
            &["a/d1", "a/dangling", "a/flink", "a/link", "a/x.conf"],
        ),
        ("a/da*", &["a/dangling"]),
        ("a/[.]*", &[]),
        ("*/", &["a/"]),
        ("a/l*", &["a/link"]),
        ("a/[z-a]*", &[]),
        ("a/[!]*", &[]),
        ("a/*[", &[]),
        ("a/d[!0-9]*", &["a/dangling"]),
        ("a/x.con[!]", &[]),
        ("a/[x-]*", &["a/x.conf"]),
    ];

    #[test]
    fn fnmatch_and_glob_match_python() {
        let tree = t(&[
            "a/x.conf",
            "a/.y.conf",
            "a/d1/z.conf",
            "a/[x].conf",
            "a/.h/w.conf",
            "b.conf",
            ".c.conf",
            "a/link -> d1",
            "a/flink -> x.conf",
            "a/dangling -> nope",
        ]);
        for (pattern, want) in GLOB_TABLE {
            let trailing = pattern.ends_with('/');
            let comps = split_comps(pattern.trim_end_matches('/'));
            let got = py_glob(&tree, &comps, trailing, pattern).unwrap_or_else(|e| panic!("{e}"));
            let got: Vec<String> = got
                .iter()
                .map(|c| format!("{}{}", c.join("/"), if trailing { "/" } else { "" }))
                .collect();
            assert_eq!(got, want, "{pattern}");
        }
    }
}
