//! Headless Chromium through its command line: a screenshot (PNG) or a PDF
//! of a page, each in a fresh profile directory, killed after a timeout.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The Chromium binary: the configured one, else `chromium` or
/// `chromium-browser` on PATH. None when none is installed.
pub fn find(configured: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = configured {
        return path.is_file().then(|| path.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|p| p.is_file())
}

/// What to make of a page.
#[derive(Clone, Copy, Debug)]
pub enum Output {
    Screenshot,
    Pdf,
}

/// Renders `url` into the file `out` and returns its bytes.
pub async fn render(
    binary: &Path,
    url: &str,
    output: Output,
    out: &Path,
    timeout_s: f64,
) -> anyhow::Result<Vec<u8>> {
    let profile = tempfile::tempdir()?;
    let mut command = tokio::process::Command::new(binary);
    command
        .arg("--headless")
        .arg("--no-sandbox")
        .arg("--disable-gpu")
        .arg("--hide-scrollbars")
        .arg("--no-first-run")
        .arg("--disable-extensions")
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--window-size=1280,2000");
    match output {
        Output::Screenshot => command.arg(format!("--screenshot={}", out.display())),
        Output::Pdf => command
            .arg(format!("--print-to-pdf={}", out.display()))
            .arg("--no-pdf-header-footer"),
    };
    command
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let child = command
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot start {}: {e}", binary.display()))?;
    let result =
        tokio::time::timeout(Duration::from_secs_f64(timeout_s), child.wait_with_output()).await;
    let output_result = match result {
        Ok(result) => result?,
        Err(_) => anyhow::bail!(
            "chromium did not finish within {timeout_s} s (evidence.chromium_timeout_s)"
        ),
    };
    let bytes = std::fs::read(out).ok().filter(|b| !b.is_empty());
    match bytes {
        Some(bytes) => Ok(bytes),
        None => {
            let stderr = String::from_utf8_lossy(&output_result.stderr);
            let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
            anyhow::bail!(
                "chromium wrote no {} ({}; {})",
                out.display(),
                output_result.status,
                last.unwrap_or("no message")
            )
        }
    }
}
