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

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use tokio::sync::watch;

use super::AlertSettings;
use super::{email, webhook, MatchAlert};
use crate::clock::{owner_alive, owner_id};
use crate::domain::CaptureState;
use crate::evidence::capture::CaptureEnv;
use crate::evidence::{bundle, CaptureSettings};
use crate::secret::{redact_recipient, redact_urls_in_text, Secret};
use crate::store::{AlertRecord, CaptureRecord, Store};
use crate::timestamp::Stamper;

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
    config: AlertSettings,
    /// For the evidence bundle attached to alert emails.
    capture: CaptureSettings,
    owner: String,
    /// The data directory, where captured evidence is, when known.
    data_dir: Option<PathBuf>,
}

impl Outbox {
    pub fn new(store: Arc<Store>, config: AlertSettings, capture: CaptureSettings) -> Outbox {
        Outbox {
            store,
            config,
            capture,
            owner: owner_id(),
            data_dir: None,
        }
    }

    /// Shows the frame pair that evidence capture stored under `data_dir`
    /// inline in alert emails, and attaches the evidence bundle.
    pub fn with_captures(mut self, data_dir: &Path) -> Outbox {
        self.data_dir = Some(data_dir.to_path_buf());
        self
    }

    /// The captured frame pair of a match, if its capture is done.
    fn captured_frame_pair(&self, data_dir: &Path, capture: &CaptureRecord) -> Option<Vec<u8>> {
        let file = capture
            .files
            .iter()
            .find(|f| f.path == CAPTURED_FRAME_PAIR)?;
        match self.capture.blobs_in(data_dir).get(&file.sha256) {
            Ok(png) => Some(png),
            Err(e) => {
                tracing::warn!(match_id = %capture.match_id, "the alert goes without its frame pair: {e:#}");
                None
            }
        }
    }

    /// The evidence bundle of a match for its alert email, or why there is
    /// none. It is exported once, to `<data_dir>/alerts/evidence-MATCH.zip`,
    /// and that file is reused by retries and digests; captures whose files
    /// alone exceed the attachment limit are not exported at all.
    async fn evidence_bundle(
        &self,
        data_dir: &Path,
        capture: &CaptureRecord,
    ) -> Result<PathBuf, String> {
        let match_id = &capture.match_id;
        let export_hint =
            format!("export it with `reelguard evidence export {match_id} -o claim.zip`");
        if capture.state != CaptureState::Done {
            return Err(format!(
                "the evidence capture is {}; {export_hint} once it is done",
                capture.state
            ));
        }
        let limit = self.config.alerts.max_attachment_bytes;
        let captured: u64 = capture.files.iter().map(|f| f.size).sum();
        let encoded = email::encoded_len(captured);
        if encoded > limit {
            return Err(format!(
                "the captured files alone are {captured} bytes ({encoded} encoded for email), over the {limit}-byte attachment limit; {export_hint}"
            ));
        }
        let dir = data_dir.join("alerts");
        let path = dir.join(format!("evidence-{match_id}.zip"));
        if path.is_file() {
            return Ok(path);
        }
        let export = async {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let partial = tempfile::NamedTempFile::new_in(&dir)
                .with_context(|| format!("cannot write in {}", dir.display()))?;
            let env = CaptureEnv {
                store: &self.store,
                settings: &self.capture,
                data_dir,
                media_dir: &self.capture.media_dir_in(data_dir),
            };
            let stamper = Stamper::new(&self.capture.timestamp)?;
            bundle::export(&env, &stamper, match_id, partial.path()).await?;
            partial
                .persist(&path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            anyhow::Ok(())
        };
        match export.await {
            Ok(()) => Ok(path),
            Err(e) => {
                tracing::warn!(
                    match_id,
                    "the alert goes without the evidence bundle: {e:#}"
                );
                Err(format!(
                    "the evidence bundle could not be exported ({e:#}); {export_hint}"
                ))
            }
        }
    }

    /// How long a batch stays leased: the longest a send can take (with
    /// exporting evidence bundles: Chromium's report and a timestamp), and
    /// a minute.
    fn lease(&self) -> chrono::Duration {
        let export = 2.0 * self.capture.evidence.chromium_timeout_s
            + self.capture.timestamp.timeout_s * f64::from(self.capture.timestamp.retries + 1);
        let seconds = self.config.smtp.timeout_s.max(30.0) + export + 60.0;
        chrono::Duration::milliseconds((seconds * 1000.0) as i64)
    }

    /// Alerts of matches found since this time wait for their capture.
    fn capture_wait_since(&self, now: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
        let wait = chrono::Duration::milliseconds(
            (self.config.alerts.evidence_wait_s.max(0.0) * 1000.0) as i64,
        );
        now - wait
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
        // A round sends what was due when it started: a batch that fails
        // and comes due again meanwhile waits for the next round.
        let now = Utc::now();
        loop {
            if stop.is_some_and(|s| *s.borrow()) {
                return Ok(delivered);
            }
            let batch = self
                .store
                .claim_alert_batch(
                    &self.owner,
                    Utc::now() + self.lease(),
                    now,
                    self.capture_wait_since(now),
                )
                .await?;
            let Some(first) = batch.first() else {
                return Ok(delivered);
            };
            let (name, attempts) = (first.batch.clone(), first.attempts);
            match self.send_batch(&batch).await {
                Ok(answer) => {
                    let answer = redact_urls_in_text(&answer);
                    let recipient = redact_recipient(&first.recipient);
                    self.store
                        .mark_alerts_delivered(&name, &self.owner, &answer, Utc::now())
                        .await?;
                    tracing::info!(batch = %name, recipient = %recipient, channel = %first.channel, answer = %answer, "alert delivered");
                    delivered.sent += 1;
                }
                Err(error) => {
                    // What is stored and logged never carries a URL's secrets.
                    let message = redact_urls_in_text(&format!(
                        "attempt {attempts} to {} via {}: {error:#}",
                        redact_recipient(&first.recipient),
                        first.channel
                    ));
                    let alerts = &self.config.alerts;
                    let retry_at = (attempts < i64::from(alerts.max_attempts)).then(|| {
                        let delay = chrono::Duration::from_std(alerts.retry_delay(attempts))
                            .unwrap_or(chrono::Duration::hours(1));
                        Utc::now() + delay
                    });
                    match retry_at {
                        Some(at) => {
                            tracing::warn!(batch = %name, retry_at = %crate::clock::stored(at), "alert not delivered: {message}");
                            delivered.retrying += 1;
                        }
                        None => {
                            tracing::error!(batch = %name, "alert given up: {message}");
                            delivered.failed += 1;
                        }
                    }
                    self.store
                        .mark_alerts_failed(&name, &self.owner, &message, retry_at)
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
            let dashboard = &self.config.alerts.dashboard_url;
            let mut alert = match &row.location_candidate_id {
                None => MatchAlert::from_record(&record, dashboard),
                Some(candidate_id) => {
                    let location =
                        self.store
                            .get_candidate(candidate_id)
                            .await
                            .with_context(|| {
                                format!(
                                    "new location {candidate_id} of match {} (alert {})",
                                    row.match_id, row.id
                                )
                            })?;
                    MatchAlert::new_location(&record, &location, row.created_at, dashboard)
                }
            };
            if let (Some(data_dir), "email") = (&self.data_dir, first.channel.as_str()) {
                let capture = self.store.capture(&record.id).await?;
                alert.frame_png = self.captured_frame_pair(data_dir, &capture);
                alert.bundle = self.evidence_bundle(data_dir, &capture).await;
            }
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
            .find(|h| h.channel() == first.channel && h.is_recipient(&first.recipient))
            .with_context(|| {
                format!(
                    "no [[alerts.webhooks]] entry is {} any more; restore it to deliver this alert",
                    redact_recipient(&first.recipient)
                )
            })?;
        let secret = match &hook.secret_env {
            Some(var) => Some(Secret::from_env(var).with_context(|| {
                format!("alerts.webhooks.secret_env: environment variable {var} is not set")
            })?),
            None => None,
        };
        let request = webhook::build_request(
            hook,
            secret.as_ref().map(Secret::expose),
            &alerts,
            &first.batch,
            Utc::now().timestamp_millis(),
        )?;
        let timeout = Duration::from_secs_f64(self.config.smtp.timeout_s);
        webhook::send(hook, &request, timeout).await
    }
}
