use super::naming::{api_prefix, group_camel, tag};

#[test]
fn names_follow_upstream() {
    assert_eq!(group_camel(""), "Core");
    assert_eq!(group_camel("apps"), "Apps");
    assert_eq!(
        group_camel("rbac.authorization.k8s.io"),
        "RbacAuthorization"
    );
    assert_eq!(
        group_camel("flowcontrol.apiserver.k8s.io"),
        "FlowcontrolApiserver"
    );
    assert_eq!(group_camel("stable.example.com"), "StableExampleCom");
    assert_eq!(tag("", "v1"), "core_v1");
    assert_eq!(
        tag("rbac.authorization.k8s.io", "v1"),
        "rbacAuthorization_v1"
    );
    assert_eq!(tag("apps", "v1"), "apps_v1");
    assert_eq!(api_prefix("", "v1"), "/api/v1");
    assert_eq!(api_prefix("batch", "v1"), "/apis/batch/v1");
}
