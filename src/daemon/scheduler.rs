//! When each source scans next. Pure: the caller passes the time, so tests
//! drive it with a controllable clock.
//!
//! Policy:
//! - a source that has never run is due at once;
//! - a run missed while the daemon was down is made up once, at start-up
//!   (not once per missed slot);
//! - time zones follow the IANA rules (chrono-tz). On a daylight-saving
//!   change, a local time that does not exist (02:30 on the spring change in
//!   Europe/Berlin) does not fire that day, and a local time that happens
//!   twice (02:30 on the autumn change) fires once, at its first occurrence.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::crontab::next_fire;
use crate::source_config::SourceConfig;

struct Entry {
    schedule: cron::Schedule,
    tz: Tz,
    /// The schedule text and time zone the entry was built from.
    key: (String, String),
    next: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct Scheduler {
    entries: BTreeMap<String, Entry>,
}

impl Scheduler {
    pub fn new() -> Scheduler {
        Scheduler::default()
    }

    /// Adds or updates a source. `last_run` and `stored_next` are what the
    /// store remembers; an unchanged source keeps its planned time.
    pub fn upsert(
        &mut self,
        source: &SourceConfig,
        last_run: Option<DateTime<Utc>>,
        stored_next: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let key = (source.schedule.clone(), source.timezone.clone());
        if self.entries.get(&source.name).is_some_and(|e| e.key == key) {
            return Ok(());
        }
        let (schedule, tz) = source.cron()?;
        let next = match (last_run, stored_next) {
            (None, _) => Some(now),
            (Some(_), Some(next)) if next <= now => Some(now),
            (Some(_), Some(next)) if self.entries.contains_key(&source.name) => {
                // The schedule changed: plan from now.
                next_fire(&schedule, tz, now).or(Some(next))
            }
            (Some(_), Some(next)) => Some(next),
            (Some(_), None) => next_fire(&schedule, tz, now),
        };
        self.entries.insert(
            source.name.clone(),
            Entry {
                schedule,
                tz,
                key,
                next,
            },
        );
        Ok(())
    }

    /// Forgets sources that are not in `names`.
    pub fn retain(&mut self, names: &[String]) {
        self.entries.retain(|name, _| names.contains(name));
    }

    /// The sources due at `now`; each is planned again for its first slot after `now`.
    pub fn due(&mut self, now: DateTime<Utc>) -> Vec<String> {
        let mut due = Vec::new();
        for (name, entry) in &mut self.entries {
            if entry.next.is_some_and(|next| next <= now) {
                due.push(name.clone());
                entry.next = next_fire(&entry.schedule, entry.tz, now);
            }
        }
        due
    }

    /// When a source runs next.
    pub fn next_of(&self, name: &str) -> Option<DateTime<Utc>> {
        self.entries.get(name).and_then(|e| e.next)
    }

    /// The earliest planned run.
    pub fn next_wake(&self) -> Option<DateTime<Utc>> {
        self.entries.values().filter_map(|e| e.next).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source_config::SourceKind;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn source(name: &str, schedule: &str, tz: &str) -> SourceConfig {
        let mut s = SourceConfig::new(name, SourceKind::Feed, "https://example.com/f");
        s.schedule = schedule.into();
        s.timezone = tz.into();
        s
    }

    /// Runs the scheduler over a simulated clock from `start` to `end` in
    /// steps of `step_s` seconds and returns (source, fire time) pairs.
    fn simulate(
        scheduler: &mut Scheduler,
        start: &str,
        end: &str,
        step_s: i64,
    ) -> Vec<(String, DateTime<Utc>)> {
        let mut fired = Vec::new();
        let mut now = at(start);
        while now <= at(end) {
            for name in scheduler.due(now) {
                fired.push((name, now));
            }
            now += chrono::Duration::seconds(step_s);
        }
        fired
    }

    #[test]
    fn schedules_fire_at_their_times_in_their_time_zones() {
        let mut s = Scheduler::new();
        let start = at("2026-03-02T00:00:00Z");
        let ran = Some(start);
        // Every day at 09:00 Shanghai time = 01:00 UTC.
        s.upsert(
            &source("sh", "0 0 9 * * *", "Asia/Shanghai"),
            ran,
            None,
            start,
        )
        .unwrap();
        // Every 15 minutes (5-field crontab).
        s.upsert(&source("q", "*/15 * * * *", "UTC"), ran, None, start)
            .unwrap();
        let fired = simulate(&mut s, "2026-03-02T00:00:00Z", "2026-03-03T01:00:00Z", 30);
        let sh: Vec<_> = fired
            .iter()
            .filter(|(n, _)| n == "sh")
            .map(|(_, t)| *t)
            .collect();
        assert_eq!(
            sh,
            vec![at("2026-03-02T01:00:00Z"), at("2026-03-03T01:00:00Z")]
        );
        let q = fired.iter().filter(|(n, _)| n == "q").count();
        assert_eq!(q, 25 * 4, "every quarter hour for 25 hours");
        assert!(fired
            .iter()
            .filter(|(n, _)| n == "q")
            .all(|(_, t)| t.timestamp() % 900 == 0));
    }

    #[test]
    fn never_run_sources_fire_at_once_and_missed_runs_are_made_up_once() {
        let now = at("2026-05-01T12:00:00Z");
        let mut s = Scheduler::new();
        s.upsert(&source("new", "0 0 0 * * *", "UTC"), None, None, now)
            .unwrap();
        // Last ran three days ago; its planned run (two days ago) was missed.
        s.upsert(
            &source("missed", "0 0 0 * * *", "UTC"),
            Some(at("2026-04-28T00:00:00Z")),
            Some(at("2026-04-29T00:00:00Z")),
            now,
        )
        .unwrap();
        // Planned in the future: waits.
        s.upsert(
            &source("later", "0 0 0 * * *", "UTC"),
            Some(at("2026-05-01T00:00:00Z")),
            Some(at("2026-05-02T00:00:00Z")),
            now,
        )
        .unwrap();
        assert_eq!(s.due(now), vec!["missed".to_string(), "new".to_string()]);
        assert_eq!(
            s.due(now + chrono::Duration::seconds(1)),
            Vec::<String>::new()
        );
        assert_eq!(s.next_of("missed"), Some(at("2026-05-02T00:00:00Z")));
        assert_eq!(s.next_wake(), Some(at("2026-05-02T00:00:00Z")));
    }

    #[test]
    fn daylight_saving_changes_skip_missing_times_and_fire_repeated_ones_once() {
        let mut s = Scheduler::new();
        let start = at("2026-03-28T00:00:00Z");
        s.upsert(
            &source("berlin", "0 30 2 * * *", "Europe/Berlin"),
            Some(start),
            None,
            start,
        )
        .unwrap();
        // Spring: 2026-03-29 02:00 local jumps to 03:00, so 02:30 does not exist.
        let fired = simulate(&mut s, "2026-03-28T00:00:00Z", "2026-03-31T00:00:00Z", 60);
        let times: Vec<_> = fired.iter().map(|(_, t)| *t).collect();
        assert_eq!(
            times,
            vec![
                at("2026-03-28T01:30:00Z"), // 02:30 CET
                at("2026-03-30T00:30:00Z"), // 02:30 CEST
            ]
        );
        // Autumn: 2026-10-25 02:30 local happens twice (CEST, then CET).
        let mut s = Scheduler::new();
        let start = at("2026-10-24T12:00:00Z");
        s.upsert(
            &source("berlin", "0 30 2 * * *", "Europe/Berlin"),
            Some(start),
            None,
            start,
        )
        .unwrap();
        let fired = simulate(&mut s, "2026-10-24T12:00:00Z", "2026-10-26T12:00:00Z", 60);
        let times: Vec<_> = fired.iter().map(|(_, t)| *t).collect();
        assert_eq!(
            times,
            vec![at("2026-10-25T00:30:00Z"), at("2026-10-26T01:30:00Z")]
        );
    }
}
