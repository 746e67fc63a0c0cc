#!/usr/bin/env bash
# The single-server benchmark: builds the release `skewless` and
# `skewless-bench` binaries, then measures one `skewless serve` per storage
# engine (SQLite, and a private etcd), several runs each, printing Markdown
# tables on stdout (paste into docs/BENCHMARKS.md).
# Usage: scripts/bench-server.sh [RUNS] [extra skewless-bench flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
shift || true
cargo build --release -q -p skewless -p skewless-bench
command -v etcd >/dev/null || { echo "etcd is missing (Debian: apt-get install etcd-server)" >&2; exit 1; }
echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') at $(git rev-parse --short HEAD)$([ -z "$(git status --porcelain -- crates ':(exclude)crates/bench' Cargo.toml Cargo.lock)" ] || echo ' plus uncommitted changes'):"
echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/^Mem:/{print $2}') GiB RAM, load average $(cut -d' ' -f1-3 /proc/loadavg) before the run,"
echo "$(rustc --version | cut -d' ' -f1-2), etcd $(etcd --version | head -1 | awk '{print $3}'), SQLite file on $(df --output=source "${TMPDIR:-/tmp}" | tail -1)."
echo
exec target/release/skewless-bench single --runs "$runs" --binary target/release/skewless "$@"
