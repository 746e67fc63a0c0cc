//! Checks a write must pass besides validation, once the object it would
//! store (and the one it replaces) is known:
//!
//! - **RBAC escalation**: a Role or ClusterRole may grant only what its
//!   writer holds, a binding may bind only a role whose rules its writer
//!   holds (or the writer may `escalate` / `bind`), as upstream;
//! - **identity leases**: the Leases by which API servers find each other
//!   (label `apiserver.kubernetes.io/identity`) are written and deleted
//!   only by the servers themselves and `system:masters`; an ordinary user
//!   deleting one would make a peer vanish and its resources answer 404.

use serde_json::Value;
use skewless_apimachinery::request_info::GroupResource;
use skewless_apimachinery::status::ApiError;

use crate::authn::{APISERVER_USER, MASTERS_GROUP};
use crate::controllers::identity::{IDENTITY_LABEL, IDENTITY_VALUE};
use crate::handlers::rest::request::{Request, store_error};
use crate::object;
use crate::rbac;
use crate::storage;

fn is_identity_lease(req: &Request<'_>, obj: &Value) -> bool {
    req.resource.group == "coordination.k8s.io"
        && req.resource.resource == "leases"
        && req.namespace() == "kube-system"
        && object::labels(obj).get(IDENTITY_LABEL).map(String::as_str) == Some(IDENTITY_VALUE)
}

/// Refuses writes of API server identity leases by anyone but the servers
/// and `system:masters`. `objects` are the stored and the new version
/// (either may be absent).
pub(crate) fn identity_lease(
    req: &Request<'_>,
    objects: &[Option<&Value>],
) -> Result<(), ApiError> {
    let user = req.user;
    if user.in_group(MASTERS_GROUP) || user.name == APISERVER_USER {
        return Ok(());
    }
    for obj in objects.iter().flatten() {
        if is_identity_lease(req, obj) {
            return Err(ApiError::Forbidden {
                resource: GroupResource::new("coordination.k8s.io", "leases"),
                name: object::name(obj).to_owned(),
                message: "API server identity leases are written only by the API servers and system:masters".into(),
            });
        }
    }
    Ok(())
}

/// The RBAC API's escalation checks for a role or binding about to be
/// stored.
pub(crate) async fn rbac_escalation(req: &Request<'_>, obj: &Value) -> Result<(), ApiError> {
    if req.resource.group != rbac::GROUP || req.user.in_group(MASTERS_GROUP) {
        return Ok(());
    }
    let write = rbac::Write {
        authz: &req.api.authz,
        rbac: &req.api.rbac,
        user: req.user,
        resource: &req.resource.resource,
        namespace: req.namespace(),
        name: object::name(obj),
    };
    match req.resource.resource.as_str() {
        "roles" | "clusterroles" => write.check_role(obj),
        "rolebindings" | "clusterrolebindings" => {
            let role_ref = |field: &str| {
                obj.pointer(&format!("/roleRef/{field}"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            };
            let (role_resource, role_namespace) = match role_ref("kind") {
                "ClusterRole" => ("clusterroles", ""),
                _ => ("roles", req.namespace()),
            };
            let role_name = role_ref("name");
            let key = storage::object_key(rbac::GROUP, role_resource, role_namespace, role_name);
            let role = req
                .api
                .store
                .get(&key)
                .await
                .map_err(|e| {
                    store_error(
                        e,
                        &GroupResource::new(rbac::GROUP, role_resource),
                        role_name,
                    )
                })?
                .and_then(|kv| serde_json::from_slice::<Value>(&kv.value).ok());
            write.check_binding(role_resource, role_name, role.as_ref())
        }
        _ => Ok(()),
    }
}
