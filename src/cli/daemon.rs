//! `reelguard daemon`: scheduled scans until SIGINT or SIGTERM.

use clap::Args;

use super::Context;
use crate::daemon;

#[derive(Debug, Args)]
pub struct DaemonArgs {}

pub async fn run(context: &Context, _args: DaemonArgs) -> anyhow::Result<()> {
    let pipeline = super::scan::open_pipeline(context).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
            _ = terminate.recv() => tracing::info!("SIGTERM received"),
        }
        eprintln!("reelguard daemon: stopping (running jobs finish or are released)");
        let _ = stop_tx.send(true);
    });
    eprintln!(
        "reelguard daemon: running with {} worker(s); stop with Ctrl-C or SIGTERM",
        pipeline.daemon_config().workers
    );
    daemon::run_daemon(pipeline, stop_rx).await
}
