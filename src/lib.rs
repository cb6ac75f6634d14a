//! reelguard finds re-uploads of creators' videos and builds the evidence to
//! take them down.
//!
//! # Layout
//! - [`domain`], [`clock`], [`crontab`], [`chain`], [`source_config`],
//!   [`bounds`], [`secret`]: leaf modules every layer shares (typed statuses,
//!   stored times and leases, cron schedules, the artifact hash chain, a
//!   source's settings, the range checks of configuration numbers, secrets
//!   and URLs shown without them).
//! - [`fingerprint`], [`index`], [`matcher`]: the matching engine. Pure code:
//!   frames in, hashes out; hashes in, matches out. No I/O, no clock.
//! - [`media`]: decoding with FFmpeg into small greyscale samples (the only
//!   module that touches FFmpeg).
//! - [`store`]: the database (the only module with SQL).
//! - [`config`]: the TOML configuration.
//! - [`engine`]: wires decode → fingerprint → index → match for callers.
//! - [`ssrf`]: the guard every outbound connection goes through (crawl,
//!   media, captures, webhooks, TSAs, SMTP).
//! - [`sources`]: where candidates come from (YouTube, feeds, pages, folders,
//!   yt-dlp), the crawling HTTP client and the forwarding proxy that guards
//!   Chromium.
//! - [`daemon`]: scheduler, persisted job queue, workers and the pipeline
//!   fetch media → fingerprint → match → record.
//! - [`evidence`]: capture of a match's upload, frame pairs, the evidence
//!   bundle, its report and takedown texts, and the bundle's offline check.
//! - [`alerts`]: email and webhook alerts of new matches, through a
//!   persisted outbox.
//! - [`shapes`]: the JSON shapes the command line prints and the HTTP API
//!   answers.
//! - [`http`]: the dashboard and the HTTP API (`reelguard serve`, and the
//!   daemon), with access tokens, sessions and metrics.
//! - `testkit` (the `testkit` cargo feature, on for tests and the demo): local
//!   stand-ins on 127.0.0.1, a mock video platform, an RFC 3161 TSA and an
//!   SMTP sink, with their hidden commands.
//! - [`cli`]: the `reelguard` command line.

pub mod alerts;
pub mod blobs;
pub mod bounds;
pub mod chain;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crontab;
pub mod daemon;
pub mod domain;
pub mod engine;
pub mod evidence;
pub mod fingerprint;
pub mod fuzzing;
pub mod http;
pub mod index;
pub mod matcher;
pub mod media;
pub mod provenance;
pub mod secret;
pub mod shapes;
pub mod source_config;
pub mod sources;
pub mod ssrf;
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod timestamp;
