//! What answers a request on this server: the generic REST verbs over
//! storage ([`rest`]), watches, discovery and OpenAPI, `Table` output, and
//! the resources whose behaviour is not plain storage.

pub(crate) mod admission;
pub(crate) mod crd;
pub(crate) mod derived;
pub(crate) mod discovery;
pub(crate) mod rest;
pub(crate) mod reviews;
pub(crate) mod special;
pub(crate) mod table;
pub(crate) mod watch;
