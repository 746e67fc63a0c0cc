"""A tiny kopf operator for the client matrix: handlers on a CRD's objects
(widgets.example.com) and on mutatingadmissionpolicies, which only the
1.36 server serves while the operator talks to the 1.35 one. Each creation
handler marks its object with an annotation; every event of a policy is
appended to the file named by $MATRIX_EVENTS."""

import os

import kopf

HANDLED = "matrix.skewless.test/handled-by"


def record(line):
    with open(os.environ["MATRIX_EVENTS"], "a") as f:
        f.write(line + "\n")


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_):
    # No Events API traffic: the test reads the objects and the file.
    settings.posting.enabled = False
    settings.watching.server_timeout = 60


@kopf.on.create("example.com", "v1", "widgets")
def widget_created(name, patch, **_):
    patch.metadata.annotations[HANDLED] = "kopf"
    record(f"widget created {name}")


@kopf.on.create("admissionregistration.k8s.io", "v1", "mutatingadmissionpolicies")
def policy_created(name, patch, **_):
    patch.metadata.annotations[HANDLED] = "kopf"
    record(f"policy created {name}")


@kopf.on.event("admissionregistration.k8s.io", "v1", "mutatingadmissionpolicies")
def policy_event(type, name, **_):
    # No type: the object was in the operator's first list.
    record(f"policy event {type or 'LISTED'} {name}")
