#!/usr/bin/env bash
# The Mixed Version Proxy benchmarks and the growth curves: builds the
# release `skewless` and `skewless-bench` binaries, copies them aside (so a
# rebuild during the run cannot swap the server under it), then runs
#   hop       GET proxied A -> B vs direct to B vs through nginx (1/16/64 clients)
#   watch     watch event latency direct vs proxied, 1 and 1,000 watchers
#   converge  time until a peer's new group/version is listed and routed (20 trials)
#   growth    one server from 1k to 100k objects and 1 to 1,000 watchers, PNG plots in docs/
# printing Markdown tables on stdout (paste into docs/BENCHMARKS.md).
# Usage: scripts/bench-mvp.sh [RUNS] [hop|watch|converge|growth|all] [extra skewless-bench flags...]
#   `all` (the default) is hop, watch and converge, without extra flags;
#   growth takes longer and runs only when named (`--max-objects N` bounds it).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
shift || true
scenario=${1:-all}
shift || true
cargo build --release -q -p skewless -p skewless-bench
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
cp target/release/skewless target/release/skewless-bench "$bin/"
echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') at $(git rev-parse --short HEAD)$([ -z "$(git status --porcelain -- crates ':(exclude)crates/bench' Cargo.toml Cargo.lock)" ] || echo ' plus uncommitted changes'):"
echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/^Mem:/{print $2}') GiB RAM, load average $(cut -d' ' -f1-3 /proc/loadavg) before the run,"
echo "$(rustc --version | cut -d' ' -f1-2), $(command -v nginx >/dev/null && nginx -v 2>&1 | sed 's|nginx version: ||' || echo 'no nginx'), SQLite file on $(df --output=source "${TMPDIR:-/tmp}" | tail -1)."
echo
run() {
    echo "### skewless-bench $1"
    echo
    "$bin/skewless-bench" "$@" --binary "$bin/skewless"
    echo
    echo "(load average after: $(cut -d' ' -f1-3 /proc/loadavg))"
    echo
}
case "$scenario" in
    hop) run hop --runs "$runs" "$@" ;;
    watch) run watch --runs "$runs" "$@" ;;
    converge) run converge "$@" ;;
    growth) run growth --runs "$runs" "$@" ;;
    all)
        command -v nginx >/dev/null || { echo "nginx is missing (Debian: apt-get install nginx)" >&2; exit 1; }
        [ $# -eq 0 ] || { echo "extra flags need one scenario" >&2; exit 2; }
        run hop --runs "$runs"
        run watch --runs "$runs"
        run converge
        ;;
    *) echo "unknown scenario $scenario (hop, watch, converge, growth, all)" >&2; exit 2 ;;
esac
