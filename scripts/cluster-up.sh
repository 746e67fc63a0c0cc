#!/usr/bin/env bash
# Starts a local mixed-version control plane: `skewless cluster up`, after
# installing the one build prerequisite a fresh Debian/Ubuntu machine lacks
# (protobuf-compiler: the etcd client's build runs protoc). Arguments are
# passed to `cluster up` (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v protoc >/dev/null 2>&1; then
    echo "==> installing protobuf-compiler (needed to build the etcd client)" >&2
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq protobuf-compiler >/dev/null
fi
exec cargo run --release -- cluster up "$@"
