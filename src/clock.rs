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

/// `now` plus `seconds` (fractions kept to the millisecond; a negative
/// delay counts as none, so this never goes back in time).
pub fn after(now: DateTime<Utc>, seconds: f64) -> DateTime<Utc> {
    now + chrono::Duration::milliseconds((seconds.max(0.0) * 1000.0) as i64)
}

/// This machine's name (`/proc/sys/kernel/hostname`), or `localhost`.
/// Read once per process: lease checks ask for it once per lease.
pub fn host_name() -> String {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|name| name.trim().to_string())
            .filter(|name| !name.is_empty() && !name.contains(':'))
            .unwrap_or_else(|| "localhost".to_string())
    })
    .clone()
}

/// This process's lease owner name: `host:pid:random`.
pub fn owner_id() -> String {
    format!(
        "{}:{}:{}",
        host_name(),
        std::process::id(),
        uuid::Uuid::now_v7().simple()
    )
}

/// Whether the process named in a lease owner may still be running: false
/// only for an owner of this machine whose process is gone (or that names
/// no process). A process of another machine cannot be seen from here; its
/// leases are taken over when they expire. Owners written before hosts
/// were named (`pid:random`) are read as this machine's.
pub fn owner_alive(owner: &str) -> bool {
    let parts: Vec<&str> = owner.split(':').collect();
    let pid = match parts.as_slice() {
        [pid, _] => pid,
        [host, pid, _] if *host == host_name() => pid,
        [_, _, _] => return true,
        _ => return false,
    };
    match pid.parse::<u32>() {
        Ok(pid) => std::path::Path::new("/proc").join(pid.to_string()).exists(),
        Err(_) => false,
    }
}

/// A moment of a video, seconds from its start, as `m:ss.s`.
pub fn video_time(seconds: f64) -> String {
    let seconds = seconds.max(0.0);
    let minutes = (seconds / 60.0).floor();
    format!("{}:{:04.1}", minutes as u64, seconds - minutes * 60.0)
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
        assert!(!owner_alive(&format!("{}:4294967295:x", host_name())));
        assert!(owner_alive("another-host:1:x"), "judged by its lease");
        assert!(owner_alive(&format!("{}:x", std::process::id())));
    }

    #[test]
    fn video_time_is_minutes_and_seconds() {
        assert_eq!(video_time(3.04), "0:03.0");
        assert_eq!(video_time(75.3), "1:15.3");
    }
}
