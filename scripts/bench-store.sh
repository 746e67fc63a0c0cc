#!/usr/bin/env bash
# The storage benchmark: both engines, several runs each, as Markdown tables
# on stdout (paste into docs/BENCHMARKS.md). Usage: scripts/bench-store.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
cargo build --release -q -p skewless-store --bin skewless-store
tool=target/release/skewless-store
work=$(mktemp -d)
etcd_pid=""
cleanup() {
    [ -z "$etcd_pid" ] || { kill "$etcd_pid" 2>/dev/null || true; wait "$etcd_pid" 2>/dev/null || true; }
    rm -rf "$work"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cp=$(port); pp=$(port)
etcd --name bench --data-dir "$work/etcd" \
    --listen-client-urls "http://127.0.0.1:$cp" --advertise-client-urls "http://127.0.0.1:$cp" \
    --listen-peer-urls "http://127.0.0.1:$pp" --initial-advertise-peer-urls "http://127.0.0.1:$pp" \
    --initial-cluster "bench=http://127.0.0.1:$pp" --logger=zap --log-level=error >"$work/etcd.log" 2>&1 &
etcd_pid=$!
for _ in $(seq 1 100); do
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$cp/health', timeout=1)" 2>/dev/null && break
    sleep 0.1
done
echo "SQLite (file on $(df --output=source "$work" | tail -1), synchronous=FULL):"
echo
"$tool" bench --db "$work/bench.db" --runs "$runs"
echo
echo "etcd $(etcd --version | head -1 | awk '{print $3}') (single member, data dir on the same disk):"
echo
"$tool" bench --etcd "http://127.0.0.1:$cp" --runs "$runs"
