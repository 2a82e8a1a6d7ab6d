#!/usr/bin/env bash
# Lays down everything the srcgit package ships, under DESTDIR (what `make install
# DESTDIR=…` would do); dist/srcgit.spec's %install runs it, and tests/packaging.rs checks
# that its result equals the spec's %files.
# Usage: dist/install.sh DESTDIR
# Environment: SRCGIT_BIN (default target/release/srcgit), SRCGIT_ASSETS (a directory
# from `srcgit generate-assets`; generated with SRCGIT_BIN when unset), PREFIX (/usr),
# SYSCONFDIR (/etc).
set -euo pipefail

destdir=${1:?usage: dist/install.sh DESTDIR}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin=${SRCGIT_BIN:-$root/target/release/srcgit}
prefix=${PREFIX:-/usr}
sysconfdir=${SYSCONFDIR:-/etc}
[ -x "$bin" ] || { echo "install.sh: no srcgit binary at $bin (cargo build --release)" >&2; exit 1; }

assets=${SRCGIT_ASSETS:-}
if [ -z "$assets" ]; then
    assets=$(mktemp -d)
    trap 'rm -rf "$assets"' EXIT
    "$bin" generate-assets "$assets"
fi

install -D -m 0755 "$bin" "$destdir$prefix/bin/srcgit"
# The settings: the commented example, not readable by others (it names the token file).
install -D -m 0640 "$root/runner-config/srcgit.toml.example" "$destdir$sysconfdir/srcgit/config.toml"
install -D -m 0644 "$root/runner-config/srcgit-reconcile.service" \
    "$destdir$prefix/lib/systemd/system/srcgit-reconcile.service"
install -D -m 0644 "$root/runner-config/srcgit-reconcile.timer" \
    "$destdir$prefix/lib/systemd/system/srcgit-reconcile.timer"
install -D -m 0644 "$here/srcgit.tmpfiles" "$destdir$prefix/lib/tmpfiles.d/srcgit.conf"
install -d "$destdir$prefix/share/man/man1"
install -m 0644 "$assets"/man/*.1 "$destdir$prefix/share/man/man1/"
install -D -m 0644 "$assets/completions/srcgit.bash" \
    "$destdir$prefix/share/bash-completion/completions/srcgit"
install -D -m 0644 "$assets/completions/_srcgit" "$destdir$prefix/share/zsh/site-functions/_srcgit"
install -D -m 0644 "$assets/completions/srcgit.fish" \
    "$destdir$prefix/share/fish/vendor_completions.d/srcgit.fish"
