//! The `metav1.Status` wire type and [`ApiError`], the one error type that
//! every failed API request is expressed in. Each variant knows its HTTP
//! code, its `reason`, its `details` and upstream's exact message shape, so
//! `kubectl` prints the same `Error from server (NotFound): ...` line against
//! skewless as against kube-apiserver.
//!
//! This is the single place where errors become HTTP status bodies: handlers
//! return `Result<_, ApiError>` and never hand-build error JSON. The module
//! must never write responses or pick headers itself (apart from exposing
//! `retry_after_seconds` for the server's `Retry-After`), and never leaks
//! internal error chains into `message` beyond what upstream would show.
//!
//! The wire type is in `types`, the error and its mapping in `api_error`.

mod api_error;
mod types;

pub use api_error::ApiError;
pub use types::{CONTINUE_EXPIRED_MSG, Status, StatusCause, StatusDetails};

#[cfg(test)]
mod tests;
