#!/usr/bin/env bash
# Builds the release tarballs dist/srcgit.spec builds from: srcgit-VERSION.tar.gz (the
# committed tree, `git archive`) and srcgit-VERSION-vendor.tar.xz (every crate the build
# needs, `cargo vendor`, so rpmbuild runs offline as Fedora's builders do).
# Usage: dist/make-tarball.sh [OUT_DIR]   (default: target/dist)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/target/dist}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
mkdir -p "$out"
git -C "$root" archive --format=tar.gz --prefix="srcgit-$version/" \
    -o "$out/srcgit-$version.tar.gz" HEAD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$root" && cargo vendor --locked --versioned-dirs "$work/vendor" >/dev/null)
tar -C "$work" -cJf "$out/srcgit-$version-vendor.tar.xz" vendor
cp "$root/dist/srcgit.spec" "$out/"
echo "$out/srcgit-$version.tar.gz"
echo "$out/srcgit-$version-vendor.tar.xz"
