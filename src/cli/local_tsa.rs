//! `reelguard local-tsa` (hidden): serves the local RFC 3161 TSA for tests
//! and the demo, printing its URL and CA file first.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::InputError;
use crate::testkit::tsa::{LocalTsa, TsaFiles};

#[derive(Debug, Args)]
pub struct LocalTsaArgs {
    /// Where the TSA keeps its test CA, keys and certificates
    #[arg(long)]
    pub dir: PathBuf,
    /// Loopback address to listen on (port 0: any free port)
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
}

pub async fn run(args: LocalTsaArgs) -> anyhow::Result<()> {
    if !args.listen.ip().is_loopback() {
        return Err(InputError(format!(
            "--listen {}: the local TSA listens on loopback addresses only",
            args.listen
        ))
        .into());
    }
    let files = TsaFiles::create(&args.dir)?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let tsa = LocalTsa::start(listener, files)?;
    println!("url: {}", tsa.url());
    println!("ca: {}", tsa.files.ca_cert.display());
    std::io::stdout().flush()?;
    tokio::signal::ctrl_c().await?;
    Ok(())
}
