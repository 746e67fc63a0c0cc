#!/usr/bin/env bash
# Every ratio of the performance issue from one run: builds the release
# `skewless` and `skewless-bench` binaries, copies them aside (a rebuild
# during the run cannot swap the server under it), then runs
# `skewless-bench ratios` (wrk and nginx against the servers, LIST
# throughput, memory, 1,000 watchers) and prints Markdown tables on stdout.
# Usage: scripts/bench-ratios.sh [ROUNDS] [extra skewless-bench ratios flags...]
#   e.g. scripts/bench-ratios.sh 3 --server-arg=--watch-cache=false
#        scripts/bench-ratios.sh 3 --baseline-binary /path/to/old/skewless
# Needs Debian's `nginx` and `wrk`.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
shift || true
for tool in nginx wrk; do
    command -v "$tool" >/dev/null || { echo "$tool is missing (Debian: apt-get install $tool)" >&2; exit 1; }
done
cargo build --release -q -p skewless -p skewless-bench
target=${CARGO_TARGET_DIR:-target}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
cp "$target/release/skewless" "$target/release/skewless-bench" "$bin/"
echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') at $(git rev-parse --short HEAD)$([ -z "$(git status --porcelain -- crates ':(exclude)crates/bench' Cargo.toml Cargo.lock)" ] || echo ' plus uncommitted changes'), \`scripts/bench-ratios.sh $rounds${*:+ $*}\`:"
echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/^Mem:/{print $2}') GiB RAM, load average $(cut -d' ' -f1-3 /proc/loadavg) before the run,"
echo "$(rustc --version | cut -d' ' -f1-2), $(nginx -v 2>&1 | sed 's|nginx version: ||'), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), SQLite files on $(df --output=source "${TMPDIR:-/tmp}" | tail -1)."
echo
"$bin/skewless-bench" ratios --runs "$rounds" --binary "$bin/skewless" "$@"
echo
echo "(load average after: $(cut -d' ' -f1-3 /proc/loadavg))"
