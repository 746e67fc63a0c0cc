//! Documents derived from what the whole control plane serves, built on
//! first use and cached by the pair of generations (local registry, peer
//! data): peer-aggregated `/apis` and the OpenAPI documents.

use std::sync::Arc;

use skewless_peerproxy::merge::merge_groups;

use crate::merged::Merged;
use crate::openapi::{OpenApiDocs, peer_only_resources};
use crate::state::State;

/// The merged `/apis` document: this server's groups plus every peer's;
/// and the core group, merged likewise.
pub(crate) fn merged(state: &State) -> Arc<Merged> {
    state.merged.get(state.generations(), || {
        let catalog = state.catalog();
        let mut local = catalog.aggregated_apis().items;
        state.aggregator.add_to_discovery(&mut local);
        let local_core = catalog.aggregated_core().items;
        match &state.proxy {
            Some(proxy) => (
                merge_groups(&state.server_id, &local, &proxy.peer_groups()),
                merge_groups(&state.server_id, &local_core, &proxy.peer_core()),
            ),
            None => (local, local_core),
        }
    })
}

/// The OpenAPI documents: the local catalog plus resources only peers
/// serve and extension servers' documents.
pub(crate) fn openapi(state: &State) -> Arc<OpenApiDocs> {
    state
        .openapi
        .get(state.generations(), || {
            let catalog = state.catalog();
            let routes = state.aggregator.routes();
            // Extension servers' group/versions are in the merged view
            // too; their own documents describe them.
            let extra = if state.proxy.is_some() {
                peer_only_resources(&catalog, &merged(state).groups)
                    .into_iter()
                    .filter(|r| !routes.contains_key(&(r.group.clone(), r.version.clone())))
                    .collect()
            } else {
                Vec::new()
            };
            OpenApiDocs::build(&catalog, extra, &state.registry.crds(), &routes)
        })
        .0
}
