//! `reelguard daemon`: scheduled scans until SIGINT or SIGTERM, and the
//! dashboard and the API beside them (`[http]`).

use clap::Args;

use super::Context;
use crate::daemon;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  reelguard daemon\n  reelguard daemon --log-format json    # one JSON object per log line\n  sudo systemctl start reelguard      # the packaged service runs it"
)]
pub struct DaemonArgs {}

pub async fn run(context: &Context, _args: DaemonArgs) -> anyhow::Result<()> {
    let pipeline = super::scan::open_pipeline(context).await?;
    daemon::refuse_a_newer_catalogue(&pipeline.store).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stop_tx = std::sync::Arc::new(stop_tx);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let signalled = stop_tx.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
            _ = terminate.recv() => tracing::info!("SIGTERM received"),
        }
        eprintln!("reelguard daemon: stopping (running jobs finish or are released)");
        let _ = signalled.send(true);
    });
    let http = if context.config.http.enabled {
        let server = super::serve::bind(context, &context.config.http.listen).await?;
        Some(tokio::spawn(server.run(stop_rx.clone())))
    } else {
        None
    };
    eprintln!(
        "reelguard daemon: running with {} worker(s); stop with Ctrl-C or SIGTERM",
        pipeline.daemon_config().workers
    );
    let ran = daemon::run_daemon(pipeline, stop_rx).await;
    // The dashboard stops with the daemon, also when it stopped on an error.
    let _ = stop_tx.send(true);
    if let Some(http) = http {
        http.await??;
    }
    ran
}
