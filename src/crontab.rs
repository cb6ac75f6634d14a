//! Cron expressions: parsing (a classic 5-field crontab gets a seconds field
//! of 0) and the next firing time in an IANA time zone. Shared by source
//! schedules and alert digests. A leaf module: pure, given the time.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

pub use cron::Schedule;

/// Parses a cron expression (5 fields, or 6–7 with seconds and year).
pub fn parse(expression: &str) -> Result<Schedule, cron::error::Error> {
    let fields = expression.split_whitespace().count();
    let full = if fields == 5 {
        format!("0 {expression}")
    } else {
        expression.to_string()
    };
    Schedule::from_str(&full)
}

/// The first time after `after` that `schedule` fires in `tz`.
pub fn next_fire(schedule: &Schedule, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let mut times = schedule.after(&after.with_timezone(&tz));
    let first = times.next()?.with_timezone(&Utc);
    Some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_fields_get_seconds_and_fire_in_the_zone() {
        let schedule = parse("0 9 * * *").unwrap();
        let after = DateTime::parse_from_rfc3339("2026-01-01T00:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let next = next_fire(&schedule, chrono_tz::Asia::Shanghai, after).unwrap();
        assert_eq!(next.to_rfc3339(), "2026-01-01T01:00:00+00:00");
        assert!(parse("every hour").is_err());
    }
}
