#!/usr/bin/env bash
# Builds a source-git and a dist-git repository from the plain trees in examples/hello/,
# converts the source-git downstream commits to dist-git with `srcgit convert`, and shows
# the result. Usage: examples/run-example.sh [WORK_DIR]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
example=$here/hello
srcgit=${SRCGIT:-$here/../target/release/srcgit}
if [ ! -x "$srcgit" ]; then
    cargo build --release --quiet --manifest-path "$here/../Cargo.toml"
fi
work=${1:-$(mktemp -d)}
mkdir -p "$work"

# Reproducible repositories: no git configuration, fixed identities and dates.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null LC_ALL=C.UTF-8 TZ=UTC
export GIT_AUTHOR_NAME="Ann Example" GIT_AUTHOR_EMAIL=ann@example.org
export GIT_COMMITTER_NAME="Ann Example" GIT_COMMITTER_EMAIL=ann@example.org
export GIT_AUTHOR_DATE="1767225600 +0000" GIT_COMMITTER_DATE="1767225600 +0000"

sg=$work/src/hello
dg=$work/rpms/hello
rm -rf "$sg" "$dg"

# dist-git: the spec, sources, .gitignore and a test plan
git init -q -b rawhide "$dg"
cp -a "$example/dist-git/." "$dg/"
git -C "$dg" add -A
git -C "$dg" commit -q -m "Import hello 1.0"
dg_init=$(git -C "$dg" rev-parse HEAD)

# source-git: upstream v1.0, the .distro/ commit that `packit source-git init` makes,
# then the downstream commits
git init -q -b main "$sg"
cp -a "$example/upstream/." "$sg/"
git -C "$sg" add -A
git -C "$sg" commit -q -m "Release 1.0"
git -C "$sg" tag v1.0
mkdir -p "$sg/.distro"
cp -a "$example/distro/." "$sg/.distro/"
git -C "$sg" add -f .distro
git -C "$sg" commit -q -m "Initialize as a source-git repository" -m "From-dist-git-commit: $dg_init"
for step in "$example"/downstream/*/; do
    cp -a "$step/tree/." "$sg/"
    git -C "$sg" add -A
    git -C "$sg" commit -q -F "$step/message"
done

echo "\$ srcgit convert -m 'Update from source-git' $sg $dg"
"$srcgit" convert -m "Update from source-git" "$sg" "$dg"
echo
echo "\$ git -C $dg show --stat HEAD"
git -C "$dg" --no-pager show --stat --format='%B' HEAD
echo "\$ git -C $dg diff HEAD~1 -- hello.spec"
git -C "$dg" --no-pager diff HEAD~1 -- hello.spec
