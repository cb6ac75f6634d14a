//! Probes and metrics: `/healthz` (the process answers), `/readyz` (the
//! database answers), `/metrics` (Prometheus text format: the queue, jobs,
//! scans, matches and alerts from the database; HTTP request latency per
//! route from this process).
//!
//! The text format is a few lines per family, written here rather than
//! through a metrics crate: every number but the latencies is read from
//! the database at scrape time, so there is no registry to keep.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS_S: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// Request latencies of this process, per (method, route, status class).
#[derive(Default)]
pub struct Metrics {
    latencies: Mutex<BTreeMap<(String, String, u16), Histogram>>,
}

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS_S.len()],
    count: u64,
    sum_s: f64,
}

impl Metrics {
    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut latencies = self.latencies.lock().expect("metrics lock");
        let h = latencies
            .entry((method.to_string(), route.to_string(), status))
            .or_default();
        for (count, bound) in h.counts.iter_mut().zip(BUCKETS_S) {
            if seconds <= bound {
                *count += 1;
            }
        }
        h.count += 1;
        h.sum_s += seconds;
    }
}

/// Times every request, by its route's pattern (not its path, so ids do
/// not make new series).
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(request).await;
    let status = response.status().as_u16() / 100 * 100;
    state
        .metrics
        .observe(&method, &route, status, started.elapsed().as_secs_f64());
    response
}

/// `GET /healthz`: the process answers.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: the database answers.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => "ready\n".into_response(),
        Err(e) => {
            tracing::warn!("readyz: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: the database does not answer ({e})\n"),
            )
                .into_response()
        }
    }
}

fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `GET /metrics`: Prometheus text format.
pub async fn prometheus(State(state): State<AppState>) -> Response {
    let counts = match state.store.metric_counts().await {
        Ok(counts) => counts,
        Err(e) => {
            tracing::warn!("metrics: {e}");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the database does not answer: {e}\n"),
            )
                .into_response();
        }
    };
    let depths = state.store.queue_depths().await.unwrap_or_default();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP reelguard_queue_depth Jobs waiting or running, per kind."
    );
    let _ = writeln!(out, "# TYPE reelguard_queue_depth gauge");
    for d in &depths {
        let _ = writeln!(
            out,
            "reelguard_queue_depth{{kind=\"{}\",state=\"queued\"}} {}",
            d.kind, d.queued
        );
        let _ = writeln!(
            out,
            "reelguard_queue_depth{{kind=\"{}\",state=\"running\"}} {}",
            d.kind, d.running
        );
    }
    let _ = writeln!(out, "# HELP reelguard_jobs Jobs in the queue, per kind and state (done and failed ones included).");
    let _ = writeln!(out, "# TYPE reelguard_jobs gauge");
    for (kind, job_state, n) in &counts.jobs {
        let _ = writeln!(
            out,
            "reelguard_jobs{{kind=\"{kind}\",state=\"{job_state}\"}} {n}"
        );
    }
    let _ = writeln!(out, "# HELP reelguard_scans Scans per source and status.");
    let _ = writeln!(out, "# TYPE reelguard_scans gauge");
    for (source, status, n, _) in &counts.scans {
        let _ = writeln!(
            out,
            "reelguard_scans{{source=\"{}\",status=\"{status}\"}} {n}",
            label(source)
        );
    }
    let _ = writeln!(
        out,
        "# HELP reelguard_scans_with_errors Scans that met errors, per source and status."
    );
    let _ = writeln!(out, "# TYPE reelguard_scans_with_errors gauge");
    for (source, status, _, errors) in &counts.scans {
        let _ = writeln!(
            out,
            "reelguard_scans_with_errors{{source=\"{}\",status=\"{status}\"}} {errors}",
            label(source)
        );
    }
    let _ = writeln!(out, "# HELP reelguard_matches Matches per review status.");
    let _ = writeln!(out, "# TYPE reelguard_matches gauge");
    for (status, n) in &counts.matches {
        let _ = writeln!(out, "reelguard_matches{{status=\"{status}\"}} {n}");
    }
    let _ = writeln!(out, "# HELP reelguard_alerts Alert outbox rows per state.");
    let _ = writeln!(out, "# TYPE reelguard_alerts gauge");
    for (alert_state, n) in &counts.alerts {
        let _ = writeln!(out, "reelguard_alerts{{state=\"{alert_state}\"}} {n}");
    }
    let _ = writeln!(out, "# HELP reelguard_http_request_duration_seconds HTTP request latency of this process, per route.");
    let _ = writeln!(
        out,
        "# TYPE reelguard_http_request_duration_seconds histogram"
    );
    let latencies = state
        .metrics
        .latencies
        .lock()
        .expect("metrics lock")
        .clone();
    for ((method, route, status), h) in &latencies {
        let labels = format!(
            "method=\"{method}\",route=\"{}\",status=\"{status}\"",
            label(route)
        );
        for (bound, count) in BUCKETS_S.iter().zip(h.counts) {
            let _ = writeln!(
                out,
                "reelguard_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "reelguard_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(
            out,
            "reelguard_http_request_duration_seconds_sum{{{labels}}} {}",
            h.sum_s
        );
        let _ = writeln!(
            out,
            "reelguard_http_request_duration_seconds_count{{{labels}}} {}",
            h.count
        );
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
