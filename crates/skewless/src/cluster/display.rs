//! How `skewless cluster` shows commands the user can paste.

use std::path::PathBuf;

/// How to show commands to the user: the binary as they invoked it, and
/// `--state-dir` only when it is not the default.
#[derive(Debug, Clone)]
pub(super) struct Display {
    pub(super) state_dir: PathBuf,
}

impl Display {
    /// `skewless cluster <sub>` as the user can paste it.
    pub(super) fn command(&self, sub: &str) -> String {
        let exe = std::env::args()
            .next()
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| "skewless".into());
        // `cargo run` passes an absolute path: show it relative to here.
        let exe = std::env::current_dir()
            .ok()
            .and_then(|cwd| {
                std::path::Path::new(&exe)
                    .strip_prefix(&cwd)
                    .ok()
                    .map(|p| p.display().to_string())
            })
            .filter(|p| p.contains('/'))
            .unwrap_or(exe);
        let mut cmd = format!("{exe} cluster {sub}");
        if self.state_dir != std::path::Path::new(".skewless") {
            cmd.push_str(&format!(" --state-dir {}", self.state_dir.display()));
        }
        cmd
    }
}
