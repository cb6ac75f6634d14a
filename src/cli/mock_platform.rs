//! `reelguard mock-platform` (hidden): serves the mock video platform for
//! tests and the demo, printing its base URL on the first line of stdout.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use super::InputError;
use crate::testkit::mock_platform::MockPlatform;

#[derive(Debug, Args)]
pub struct MockPlatformArgs {
    /// Directory with the media files and their catalog.json
    #[arg(long)]
    pub media_dir: PathBuf,
    /// Loopback address to listen on (port 0: any free port)
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
}

pub async fn run(args: MockPlatformArgs) -> anyhow::Result<()> {
    if !args.listen.ip().is_loopback() {
        return Err(InputError(format!(
            "--listen {}: the mock platform listens on loopback addresses only",
            args.listen
        ))
        .into());
    }
    let platform = MockPlatform::start(args.media_dir, args.listen)
        .await
        .map_err(|e| InputError(format!("{e:#}")))?;
    println!("{}", platform.base_url);
    std::io::stdout().flush()?;
    tokio::select! {
        _ = platform.wait() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
