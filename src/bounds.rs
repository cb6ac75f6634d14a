//! Leaf, pure: the range checks every configuration section uses for its
//! numbers, so that each check reads as one line of a table and every error
//! names the key, the value, the unit and the allowed range, e.g.
//! `limits.max_decode_s = inf: must be a finite number of seconds between 1 and 86400`.

use std::fmt::Display;
use std::ops::RangeInclusive;

/// Checks that `value` (a float) is finite and within `range`, in `unit`
/// ("seconds", "bytes", …; empty for a plain number).
pub fn float<T: Into<f64> + Display + Copy>(
    key: &str,
    value: T,
    range: RangeInclusive<f64>,
    unit: &str,
) -> anyhow::Result<()> {
    let number: f64 = value.into();
    // NaN fails `contains`, and infinities lie outside every finite range.
    if number.is_finite() && range.contains(&number) {
        return Ok(());
    }
    anyhow::bail!(
        "{key} = {value}: must be a finite number{} between {} and {}",
        of_unit(unit),
        range.start(),
        range.end()
    )
}

/// Checks that `value` (an integer) is within `range`, in `unit`.
pub fn int<T: PartialOrd + Display + Copy>(
    key: &str,
    value: T,
    range: RangeInclusive<T>,
    unit: &str,
) -> anyhow::Result<()> {
    if range.contains(&value) {
        return Ok(());
    }
    anyhow::bail!(
        "{key} = {value}: must be a whole number{} between {} and {}",
        of_unit(unit),
        range.start(),
        range.end()
    )
}

fn of_unit(unit: &str) -> String {
    if unit.is_empty() {
        String::new()
    } else {
        format!(" of {unit}")
    }
}

/// Common upper bounds, so sections agree on what "a lot" is.
pub const HOUR_S: f64 = 3600.0;
pub const DAY_S: f64 = 86_400.0;
pub const WEEK_S: f64 = 7.0 * DAY_S;
pub const GIB: u64 = 1 << 30;
pub const TIB: u64 = 1 << 40;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_must_be_finite_and_in_range() {
        assert!(float("a.b", 1.5, 0.0..=2.0, "seconds").is_ok());
        assert!(float("a.b", 0.12f32, 0.0..=1.0, "").is_ok());
        let e = float("a.b", f64::INFINITY, 1.0..=86_400.0, "seconds")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "a.b = inf: must be a finite number of seconds between 1 and 86400"
        );
        let e = float("a.b", f64::NAN, 0.0..=1.0, "")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "a.b = NaN: must be a finite number between 0 and 1");
        assert!(float("a.b", f64::NEG_INFINITY, f64::MIN..=f64::MAX, "").is_err());
        assert!(float("a.b", -0.5, 0.0..=1.0, "").is_err());
    }

    #[test]
    fn integers_must_be_in_range() {
        assert!(int("a.b", 3u32, 1..=10, "").is_ok());
        let e = int("a.b", 0usize, 1..=64, "").unwrap_err().to_string();
        assert_eq!(e, "a.b = 0: must be a whole number between 1 and 64");
        let e = int("a.b", u64::MAX, 10..=86_400, "seconds")
            .unwrap_err()
            .to_string();
        assert!(e.contains("of seconds between 10 and 86400"), "{e}");
    }
}
