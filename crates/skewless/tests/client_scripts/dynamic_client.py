"""The Python kubernetes DynamicClient (legacy discovery only) through the
1.35 server: finds MutatingAdmissionPolicy by kind, creates, lists, watches
(ADDED, DELETED) and deletes one. Arguments: kubeconfig, a MAP as JSON."""

import json
import sys
import threading

from kubernetes import config, dynamic

client = dynamic.DynamicClient(config.new_client_from_config(config_file=sys.argv[1]))
api = client.resources.get(
    api_version="admissionregistration.k8s.io/v1", kind="MutatingAdmissionPolicy"
)
assert api.name == "mutatingadmissionpolicies" and not api.namespaced, (api.name, api.namespaced)
with open(sys.argv[2]) as f:
    body = json.load(f)
name = body["metadata"]["name"]

created = api.create(body=body)
assert created.metadata.uid, created
names = [i.metadata.name for i in api.get().items]
assert names == [name], names

# A watch without a resourceVersion starts with the existing objects
# (ADDED), so its first event proves it is established before the delete.
seen = []
established = threading.Event()


def watcher():
    for event in api.watch(timeout=60):
        seen.append((event["type"], event["object"].metadata.name))
        established.set()
        if event["type"] == "DELETED":
            return


t = threading.Thread(target=watcher, daemon=True)
t.start()
assert established.wait(60), "the watch saw nothing"
api.delete(name=name)
t.join(60)
assert ("ADDED", name) in seen and ("DELETED", name) in seen, seen
assert [i.metadata.name for i in api.get().items] == []
print("dynamic client passed")
