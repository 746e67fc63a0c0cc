//! Authorization: may this user do this? `AlwaysAllow` for now; RBAC will
//! implement the same trait.

use skewless_apimachinery::request_info::RequestInfo;
use skewless_apimachinery::status::ApiError;

use crate::authn::UserInfo;

/// Decides whether a request may proceed; a denial is a 403 Status.
pub(crate) trait Authorizer: Send + Sync {
    fn authorize(&self, user: &UserInfo, info: &RequestInfo) -> Result<(), ApiError>;
}

/// Allows everything (kube-apiserver's `--authorization-mode=AlwaysAllow`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AlwaysAllow;

impl Authorizer for AlwaysAllow {
    fn authorize(&self, _user: &UserInfo, _info: &RequestInfo) -> Result<(), ApiError> {
        Ok(())
    }
}
