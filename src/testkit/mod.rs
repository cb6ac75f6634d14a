//! Local stand-ins for the outside world, for `make demo` and the tests:
//! every one listens on 127.0.0.1 only.

pub mod mock_platform;
pub mod postgres;
pub mod smtp_sink;
pub mod tls;
pub mod tsa;

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context as _};

/// Runs the `openssl` tool in `dir` (for the test CAs and the local TSA).
fn openssl(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .context("cannot run `openssl`; install it with `apt-get install openssl`")?;
    if !output.status.success() {
        bail!(
            "openssl {} failed: {}",
            args.first().unwrap_or(&""),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}
