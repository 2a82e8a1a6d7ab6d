//! `dist/srcgit.spec` is valid for rpm (`rpmspec -P`, Debian's `rpm` package), its version
//! is Cargo.toml's, and its `%files` equal what `dist/install.sh DESTDIR` lays down: every
//! entry matches something installed, everything installed is listed.

use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn rpmspec(args: &[&str]) -> String {
    let out = Command::new("rpmspec")
        .args(args)
        .arg(root().join("dist/srcgit.spec"))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "rpmspec cannot run ({e}); install it: apt-get install rpm / dnf install rpm-build"
            )
        });
    assert!(
        out.status.success(),
        "rpmspec {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// One `%files` line: a path glob and whether it is a `%dir`.
#[derive(Debug)]
struct Entry {
    glob: String,
    dir: bool,
}

fn files_section(parsed: &str) -> Vec<Entry> {
    let directive =
        Regex::new(r"%(config|attr|defattr|verify)\([^)]*\)\s*|%(config|ghost)\s+").unwrap();
    let mut entries = Vec::new();
    let mut inside = false;
    for line in parsed.lines() {
        let line = line.trim();
        if line.starts_with('%')
            && !line.starts_with("%dir")
            && !line.starts_with("%config")
            && !line.starts_with("%attr")
            && !line.starts_with("%doc")
            && !line.starts_with("%license")
            && !line.starts_with("%ghost")
        {
            inside = line == "%files" || line.starts_with("%files ");
            continue;
        }
        if !inside || line.is_empty() || line.starts_with('#') {
            continue;
        }
        // %doc and %license take files from the build tree, not from the install
        if line.starts_with("%doc") || line.starts_with("%license") {
            continue;
        }
        let rest = directive.replace_all(line, "");
        let (dir, path) = match rest.strip_prefix("%dir") {
            Some(p) => (true, p.trim()),
            None => (false, rest.trim()),
        };
        assert!(
            path.starts_with('/'),
            "unexpanded or relative %files entry {line:?}"
        );
        entries.push(Entry {
            glob: path.to_string(),
            dir,
        });
    }
    entries
}

fn glob_regex(glob: &str) -> Regex {
    let mut re = String::from("^");
    for c in glob.chars() {
        match c {
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    Regex::new(&re).unwrap()
}

fn walk(base: &Path, dir: &Path, files: &mut Vec<String>, dirs: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let rel = format!("/{}", path.strip_prefix(base).unwrap().display());
        if path.is_dir() {
            dirs.push(rel);
            walk(base, &path, files, dirs);
        } else {
            files.push(rel);
        }
    }
}

#[test]
fn the_spec_parses_and_carries_the_crate_version() {
    let parsed = rpmspec(&["-P"]);
    assert!(parsed.contains("\n%files\n"), "{parsed}");
    assert_eq!(
        rpmspec(&["-q", "--qf", "%{version}\n"]).trim(),
        env!("CARGO_PKG_VERSION")
    );
}

#[test]
fn files_match_what_install_sh_lays_down() {
    let entries = files_section(&rpmspec(&["-P"]));
    assert!(entries.len() >= 10, "{entries:?}");
    let dest = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg(root().join("dist/install.sh"))
        .arg(dest.path())
        .env("SRCGIT_BIN", env!("CARGO_BIN_EXE_srcgit"))
        .env_remove("SRCGIT_ASSETS")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "install.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (mut files, mut dirs) = (Vec::new(), Vec::new());
    walk(dest.path(), dest.path(), &mut files, &mut dirs);
    let unlisted: Vec<&String> = files
        .iter()
        .filter(|f| {
            !entries
                .iter()
                .any(|e| !e.dir && glob_regex(&e.glob).is_match(f))
        })
        .collect();
    assert!(
        unlisted.is_empty(),
        "installed but not in %files: {unlisted:?}"
    );
    for entry in &entries {
        let re = glob_regex(&entry.glob);
        let pool = if entry.dir { &dirs } else { &files };
        assert!(
            pool.iter().any(|p| re.is_match(p)),
            "%files entry {entry:?} matches nothing installed: {files:?}"
        );
    }
    // the man pages cover every visible sub-command, the settings are not world-readable
    for page in [
        "srcgit.1",
        "srcgit-doctor.1",
        "srcgit-convert.1",
        "srcgit-executor-run.1",
    ] {
        assert!(
            files.contains(&format!("/usr/share/man/man1/{page}")),
            "{page}: {files:?}"
        );
    }
    use std::os::unix::fs::PermissionsExt;
    let config: PathBuf = dest.path().join("etc/srcgit/config.toml");
    let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}

#[test]
fn a_files_entry_without_an_installed_file_is_caught() {
    let entries = files_section(
        "%files\n/usr/bin/srcgit\n%dir /etc/srcgit\n/usr/share/x/missing\n%changelog\n* x\n",
    );
    assert_eq!(entries.len(), 3);
    assert!(entries[1].dir);
    let installed = ["/usr/bin/srcgit".to_string()];
    let missing: Vec<&Entry> = entries
        .iter()
        .filter(|e| !e.dir && !installed.iter().any(|f| glob_regex(&e.glob).is_match(f)))
        .collect();
    assert_eq!(missing.len(), 1);
    assert!(
        glob_regex("/usr/share/man/man1/srcgit-*.1*")
            .is_match("/usr/share/man/man1/srcgit-doctor.1")
    );
    assert!(
        !glob_regex("/usr/share/man/man1/srcgit-*.1*").is_match("/usr/share/man/man1/srcgit.1")
    );
}
