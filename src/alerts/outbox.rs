//! Delivering the outbox: lease a due batch, send it, record the answer.
//!
//! Run by the daemon (a loop beside the workers), by `reelguard scan`
//! before it returns, and by `reelguard alerts send`.
//!
//! Exactly once, and what "once" can mean: a batch is leased (`sending`)
//! before anything is sent and marked `delivered` with the server's answer
//! right after. If the process dies in between, the batch is sent again on
//! the next start (its owner is gone) or when its lease expires — but only
//! because no answer was recorded. For webhooks the `Idempotency-Key`
//! header lets the receiver drop that second copy. SMTP has no such key: a
//! crash after the server answered 250 to DATA and before our commit (a
//! window of one SQLite write) can deliver a message twice; a crash before
//! the 250 (the server still processing) means the server, committing with
//! its reply, kept nothing, and the resend is the only copy.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use tokio::sync::watch;

use super::{email, webhook, MatchAlert};
use crate::config::Config;
use crate::daemon::{owner_alive, owner_id, time_string};
use crate::store::{AlertRecord, Store};

/// The frame pair evidence capture stores for a match (its first, the
/// middle of the best segment), shown inline in alert emails.
const CAPTURED_FRAME_PAIR: &str = "frames/pair-1.png";

/// Counts of one delivery round.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Messages sent (a digest counts once).
    pub sent: usize,
    /// Messages that failed and wait for a retry.
    pub retrying: usize,
    /// Messages that failed for good (attempts used up).
    pub failed: usize,
}

pub struct Outbox {
    store: Arc<Store>,
    config: Config,
    owner: String,
    http: reqwest::Client,
    /// Where captured evidence files are, when known.
    blobs: Option<crate::evidence::Blobs>,
}

impl Outbox {
    pub fn new(store: Arc<Store>, config: Config) -> Outbox {
        Outbox {
            store,
            config,
            owner: owner_id(),
            http: reqwest::Client::new(),
            blobs: None,
        }
    }

    /// Shows the frame pair evidence capture stored under `data_dir` in
    /// alert emails (when the capture finished before the alert is sent).
    pub fn with_captures(mut self, data_dir: &Path) -> Outbox {
        self.blobs = Some(crate::evidence::Blobs::new(data_dir));
        self
    }

    /// The captured frame pair of a match, if its capture is done.
    async fn captured_frame_pair(&self, match_id: &str) -> Option<Vec<u8>> {
        let blobs = self.blobs.as_ref()?;
        let capture = self.store.capture(match_id).await.ok()?;
        let file = capture
            .files
            .iter()
            .find(|f| f.path == CAPTURED_FRAME_PAIR)?;
        match blobs.get(&file.sha256) {
            Ok(png) => Some(png),
            Err(e) => {
                tracing::warn!(match_id, "the alert goes without its frame pair: {e:#}");
                None
            }
        }
    }

    /// How long a batch stays leased: the longest a send can take, and a minute.
    fn lease(&self) -> chrono::Duration {
        let seconds = self.config.smtp.timeout_s.max(30.0) + 60.0;
        chrono::Duration::milliseconds((seconds * 1000.0) as i64)
    }

    /// Puts back batches whose sending process died.
    pub async fn release_dead_leases(&self) -> anyhow::Result<u64> {
        let released = self.store.release_alert_leases(owner_alive).await?;
        if released > 0 {
            tracing::info!(
                released,
                "alerts of a process that stopped mid-send are queued again"
            );
        }
        Ok(released)
    }

    /// Sends every batch that is due now, one after the other.
    pub async fn deliver_due(&self) -> anyhow::Result<Delivered> {
        self.deliver(None).await
    }

    /// [`Outbox::deliver_due`], stopping between batches once `stop` is true.
    async fn deliver(&self, stop: Option<&watch::Receiver<bool>>) -> anyhow::Result<Delivered> {
        let mut delivered = Delivered::default();
        loop {
            if stop.is_some_and(|s| *s.borrow()) {
                return Ok(delivered);
            }
            let now = Utc::now();
            let batch = self
                .store
                .claim_alert_batch(
                    &self.owner,
                    &time_string(now + self.lease()),
                    &time_string(now),
                )
                .await?;
            let Some(first) = batch.first() else {
                return Ok(delivered);
            };
            let (name, attempts) = (first.batch.clone(), first.attempts);
            match self.send_batch(&batch).await {
                Ok(answer) => {
                    self.store
                        .mark_alerts_delivered(
                            &name,
                            &self.owner,
                            &answer,
                            &time_string(Utc::now()),
                        )
                        .await?;
                    tracing::info!(batch = %name, recipient = %first.recipient, channel = %first.channel, answer = %answer, "alert delivered");
                    delivered.sent += 1;
                }
                Err(error) => {
                    let message = format!(
                        "attempt {attempts} to {} via {}: {error:#}",
                        first.recipient, first.channel
                    );
                    let alerts = &self.config.alerts;
                    let retry_at = (attempts < i64::from(alerts.max_attempts)).then(|| {
                        let delay = chrono::Duration::from_std(alerts.retry_delay(attempts))
                            .unwrap_or(chrono::Duration::hours(1));
                        time_string(Utc::now() + delay)
                    });
                    match &retry_at {
                        Some(at) => {
                            tracing::warn!(batch = %name, retry_at = %at, "alert not delivered: {message}");
                            delivered.retrying += 1;
                        }
                        None => {
                            tracing::error!(batch = %name, "alert given up: {message}");
                            delivered.failed += 1;
                        }
                    }
                    self.store
                        .mark_alerts_failed(&name, &self.owner, &message, retry_at.as_deref())
                        .await?;
                }
            }
        }
    }

    /// Delivers until `stop`, checking for due alerts every second.
    pub async fn run(&self, mut stop: watch::Receiver<bool>) -> anyhow::Result<()> {
        self.release_dead_leases().await?;
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            if let Err(e) = self.deliver(Some(&stop)).await {
                tracing::error!("alert delivery: {e:#}");
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => {}
            }
        }
    }

    async fn send_batch(&self, batch: &[AlertRecord]) -> anyhow::Result<String> {
        let first = &batch[0];
        let mut alerts = Vec::with_capacity(batch.len());
        for row in batch {
            let record = self
                .store
                .find_match(&row.match_id)
                .await
                .with_context(|| format!("match {} of alert {}", row.match_id, row.id))?;
            let mut alert = MatchAlert::from_record(&record, &self.config.alerts.dashboard_url);
            alert.frame_png = self.captured_frame_pair(&record.id).await;
            alerts.push(alert);
        }
        if first.channel == "email" {
            anyhow::ensure!(
                !self.config.smtp.host.is_empty(),
                "smtp.host is no longer set; configure [smtp] to deliver this email"
            );
            let letter = email::compose(&alerts, self.config.alerts.max_attachment_bytes);
            let message = email::build_message(
                &letter,
                &self.config.smtp.from,
                &self.config.smtp.reply_to,
                &first.recipient,
            )?;
            return email::send(&self.config.smtp, message).await;
        }
        let hook = self
            .config
            .alerts
            .webhooks
            .iter()
            .find(|h| h.channel() == first.channel && h.recipient() == first.recipient)
            .with_context(|| {
                format!(
                    "no [[alerts.webhooks]] entry is {} any more; restore it to deliver this alert",
                    first.recipient
                )
            })?;
        let secret = match &hook.secret_env {
            Some(var) => Some(std::env::var(var).with_context(|| {
                format!("alerts.webhooks.secret_env: environment variable {var} is not set")
            })?),
            None => None,
        };
        let request = webhook::build_request(
            hook,
            secret.as_deref(),
            &alerts,
            &first.batch,
            Utc::now().timestamp_millis(),
        )?;
        let timeout = Duration::from_secs_f64(self.config.smtp.timeout_s);
        webhook::send(&self.http, hook.kind, &request, timeout).await
    }
}
