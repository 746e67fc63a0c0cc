"""kr8s (asyncio API) through the 1.35 server: finds
mutatingadmissionpolicies in its API resources, gets them by resource name
(resolved through discovery), creates one through a class made with
new_class from what discovery says, watches (ADDED, DELETED) and deletes it. Arguments: kubeconfig,
a MAP as JSON."""

import asyncio
import json
import sys

import kr8s.asyncio
from kr8s.asyncio.objects import new_class


async def main():
    api = await kr8s.asyncio.api(kubeconfig=sys.argv[1])
    resources = await api.api_resources()
    found = [r for r in resources if r["name"] == "mutatingadmissionpolicies"]
    assert found and found[0]["kind"] == "MutatingAdmissionPolicy", found
    assert [o async for o in api.get("mutatingadmissionpolicies")] == []

    with open(sys.argv[2]) as f:
        body = json.load(f)
    name = body["metadata"]["name"]
    # The class takes its plural and scope from discovery (kr8s's own
    # guess at the plural would be "mutatingadmissionpolicys").
    _, plural, namespaced = await api.lookup_kind(
        "MutatingAdmissionPolicy.admissionregistration.k8s.io/v1"
    )
    assert (plural, namespaced) == ("mutatingadmissionpolicies", False), (plural, namespaced)
    MutatingAdmissionPolicy = new_class(
        kind="MutatingAdmissionPolicy",
        version="admissionregistration.k8s.io/v1",
        namespaced=namespaced,
        plural=plural,
    )
    policy = await MutatingAdmissionPolicy(body, api=api)
    await policy.create()
    listed = [o.name async for o in api.get("mutatingadmissionpolicies")]
    assert listed == [name], listed
    got = await MutatingAdmissionPolicy.get(name, api=api)
    assert got.raw["spec"]["failurePolicy"] == body["spec"]["failurePolicy"], got.raw

    # A watch without a resourceVersion starts with the existing objects
    # (ADDED), so its first event proves it is established before the delete.
    seen = []

    async def watch():
        async for event, obj in api.watch("mutatingadmissionpolicies"):
            seen.append((event, obj.name))
            if event == "ADDED":
                await policy.delete()
            if event == "DELETED":
                return

    await asyncio.wait_for(watch(), 60)
    assert ("ADDED", name) in seen and ("DELETED", name) in seen, seen
    assert [o async for o in api.get("mutatingadmissionpolicies")] == []
    print("kr8s passed")


asyncio.run(main())
