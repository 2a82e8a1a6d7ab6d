#!/usr/bin/env bash
# Conversion benchmark: times `srcgit convert` against packit and raw `git format-patch` on
# the reference fixtures of ../shared/bench (jq-5, curl-50, systemd-500), alternating the
# tools in each round, and checks that srcgit leaves the same dist-git tree as packit.
#
#   benches/convert.sh                    # all three fixtures (systemd-500 with packit: ~13 min)
#   FIXTURES=systemd-500 NO_PACKIT=1 benches/convert.sh
#
# The figures are wall time, CPU time and peak RSS per tool, and the ratios
# srcgit/format-patch and packit/srcgit, all measured in the same run.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
kit=${SRCGIT_BENCH_KIT:-$root/../shared/bench}
home=${BENCH_HOME:-$HOME/srcgit-bench}
[ -x "$kit/run-bench.sh" ] || { echo "the benchmark kit is missing at $kit (set SRCGIT_BENCH_KIT)" >&2; exit 1; }

cargo build --release --quiet --manifest-path "$root/Cargo.toml"
srcgit=$root/target/release/srcgit

fixtures=${FIXTURES:-jq-5 curl-50 systemd-500}
for f in $fixtures; do
    if [ ! -d "$home/fixtures/$f" ]; then
        echo "== building the reference fixtures (needs deb-src access, ~1 min)"
        (cd "$kit" && ./make-reference-fixtures.sh)
        break
    fi
done

packit=(--packit "${PACKIT_VENV:-/opt/packit-venv}/bin/packit")
if [ -n "${NO_PACKIT:-}" ] || [ ! -x "${PACKIT_VENV:-/opt/packit-venv}/bin/packit" ]; then
    echo "packit is not installed (../shared/bench/setup-packit.sh installs it): timing srcgit and format-patch only"
    packit=(--no-packit)
fi

for f in $fixtures; do
    runs=5
    [ "$f" = systemd-500 ] && runs=3
    echo "== $f"
    (cd "$kit" && ./run-bench.sh "$home/fixtures/$f" --srcgit "$srcgit" --runs "$runs" "${packit[@]}") | sed -n '/^fixture /,$p'
done
