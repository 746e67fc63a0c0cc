//! CustomResourceDefinitions at run time: every server watches CRDs in
//! storage and serves the established ones within a second; the server
//! holding the controller lease also maintains their status (NamesAccepted,
//! Established) and carries out their deletion (every custom object, then
//! the CRD).

use skewless_apimachinery::catalog::ResourceInfo;

/// A printer column of a custom resource version.
#[derive(Debug, Clone)]
pub struct PrinterColumn {
    pub name: String,
    pub type_: String,
    pub format: String,
    pub description: String,
    pub priority: i64,
    pub json_path: String,
}

/// Where the scale subresource reads and writes.
#[derive(Debug, Clone)]
pub struct ScalePaths {
    pub spec_replicas: String,
    pub status_replicas: String,
    pub label_selector: Option<String>,
}

/// One served version of one custom resource.
#[derive(Debug)]
pub struct ServedCrd {
    /// The CRD's name (`<plural>.<group>`).
    pub crd_name: String,
    pub info: ResourceInfo,
    pub schema: Option<serde_json::Value>,
    pub columns: Vec<PrinterColumn>,
    pub scale: Option<ScalePaths>,
    pub deprecation_warning: Option<String>,
}
