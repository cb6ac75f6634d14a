//! Time as reelguard stores and shows it, and the lease helpers every job
//! runner shares (the daemon's workers, `scan`, the alert outbox).
//!
//! A leaf module: it imports nothing from the rest of the crate. The store
//! writes every time as [`stored`] text (RFC 3339, UTC, milliseconds, so
//! times of one column sort as text) and reads any RFC 3339 text back.

use chrono::{DateTime, SecondsFormat, Utc};

/// Now. The one place outside tests that reads the wall clock for stored times.
pub fn now() -> DateTime<Utc> {
    Utc::now()
}

/// `time` as stored: RFC 3339, UTC, milliseconds (`2026-01-01T00:00:00.000Z`).
pub fn stored(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `time` to the second (`2026-01-01T00:00:00Z`), as shown for works,
/// artifacts and timestamps.
pub fn to_seconds(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Reads RFC 3339 text in any offset and precision.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `now` plus `seconds` (fractions kept to the millisecond).
pub fn after(now: DateTime<Utc>, seconds: f64) -> DateTime<Utc> {
    now + chrono::Duration::milliseconds((seconds.max(0.0) * 1000.0) as i64)
}

/// This process's lease owner name: `pid:random`.
pub fn owner_id() -> String {
    format!("{}:{}", std::process::id(), uuid::Uuid::now_v7().simple())
}

/// Whether the process named in a lease owner is still running on this
/// machine (an owner that names no process is not).
pub fn owner_alive(owner: &str) -> bool {
    match owner.split(':').next().and_then(|p| p.parse::<u32>().ok()) {
        Some(pid) => std::path::Path::new("/proc").join(pid.to_string()).exists(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_times_round_trip_and_both_precisions_parse() {
        let t = parse("2026-01-01T08:00:00.250+08:00").unwrap();
        assert_eq!(stored(t), "2026-01-01T00:00:00.250Z");
        assert_eq!(to_seconds(t), "2026-01-01T00:00:00Z");
        assert_eq!(parse(&stored(t)), Some(t));
        assert!(parse("2026-01-01T00:00:00Z").is_some());
        assert!(parse("yesterday").is_none());
        assert_eq!(stored(after(t, 1.5)), "2026-01-01T00:00:01.750Z");
    }

    #[test]
    fn this_process_is_alive_and_a_name_without_a_pid_is_not() {
        assert!(owner_alive(&owner_id()));
        assert!(!owner_alive("nobody"));
    }
}
