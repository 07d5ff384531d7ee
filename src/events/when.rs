//! `--since`/`--until` as docker's CLI reads them (its `GetTimestamp`): a Go duration back
//! from now (`10m`, `1h30m`), an RFC 3339 time with a zone, a date or date-time without
//! one (the local zone: `2026-12-02`, `2026-12-02T08`, `2026-12-02T08:01:02.5`), or unix
//! seconds with optional nanoseconds (`1796196378.25`). The result is nanoseconds since
//! the epoch, so that comparisons with event times are exact.

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("failed to parse value as time or duration: \"{0}\"")]
pub struct TimeError(pub String);

/// Nanoseconds since the epoch for `value`, durations counted back from `now_ns`.
pub fn parse_time(value: &str, now_ns: i128) -> Result<i128, TimeError> {
    let bad = || TimeError(value.to_string());
    if value != "0" {
        if let Ok(d) = dockerfile_parser::parse_go_duration(value) {
            return Ok(now_ns - d.as_nanos() as i128);
        }
    }
    if let Some(ns) = crate::time::parse_rfc3339(value) {
        return Ok(ns);
    }
    if let Some(ns) = civil(value) {
        return Ok(ns);
    }
    if value.contains('-') {
        return Err(bad());
    }
    unix(value).ok_or_else(bad)
}

/// A date or date-time, with a `Z`/`±hh:mm` zone or in the local zone; hours and
/// minutes alone are completed with zeros as Go's layouts `15` and `15:04` read them.
fn civil(value: &str) -> Option<i128> {
    let (body, zone) = split_zone(value);
    let full = match body.split_once('T') {
        None => format!("{body}T00:00:00"),
        Some((date, time)) => match time.matches(':').count() {
            0 => format!("{date}T{time}:00:00"),
            1 => format!("{date}T{time}:00"),
            _ => body.to_string(),
        },
    };
    let dt: DateTime = full.parse().ok()?;
    let tz = match zone {
        Some(off) => TimeZone::fixed(off),
        None => TimeZone::system(),
    };
    Some(
        tz.to_ambiguous_timestamp(dt)
            .compatible()
            .ok()?
            .as_nanosecond(),
    )
}

/// `Z` or `±hh:mm` at the end of a value with a date part.
fn split_zone(value: &str) -> (&str, Option<Offset>) {
    if let Some(b) = value.strip_suffix(['Z', 'z']) {
        return (b, Some(Offset::UTC));
    }
    if value.len() > 16 {
        let (b, z) = value.split_at(value.len() - 6);
        let sign = match z.as_bytes()[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return (value, None),
        };
        if let Some((h, m)) = z[1..].split_once(':') {
            if let (Ok(h), Ok(m)) = (h.parse::<i32>(), m.parse::<i32>()) {
                if let Ok(off) = Offset::from_seconds(sign * (h * 3600 + m * 60)) {
                    return (b, Some(off));
                }
            }
        }
    }
    (value, None)
}

/// docker's `parseTimestamp`: `SECONDS[.FRACTION]`, the fraction scaled to nanoseconds.
fn unix(value: &str) -> Option<i128> {
    let (s, frac) = match value.split_once('.') {
        Some((s, f)) => (s, Some(f)),
        None => (value, None),
    };
    let secs: i64 = s.parse().ok()?;
    let nanos = match frac {
        None => 0,
        Some(f) if f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()) => {
            return None
        }
        Some(f) => f.parse::<i128>().ok()? * 10i128.pow(9 - f.len() as u32),
    };
    Some(secs as i128 * 1_000_000_000 + nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i128 = 1_796_196_378_000_000_000;

    #[test]
    fn durations_count_back_from_now() {
        assert_eq!(parse_time("10m", NOW), Ok(NOW - 600_000_000_000));
        assert_eq!(parse_time("1h30m", NOW), Ok(NOW - 5_400_000_000_000));
    }

    #[test]
    fn unix_seconds_with_and_without_fraction() {
        assert_eq!(parse_time("0", NOW), Ok(0));
        assert_eq!(
            parse_time("1796196378.7", NOW),
            Ok(1_796_196_378_700_000_000)
        );
        assert_eq!(parse_time("1796196378", NOW), Ok(NOW));
    }

    #[test]
    fn rfc3339_with_zones_and_shortened_forms() {
        assert_eq!(parse_time("2026-12-02T07:26:18Z", NOW), Ok(NOW));
        assert_eq!(parse_time("2026-12-02T08:26:18+01:00", NOW), Ok(NOW));
        assert_eq!(
            parse_time("2026-12-02T07:26Z", NOW),
            Ok(NOW - 18_000_000_000)
        );
        assert!(parse_time("2026-12-02", NOW).is_ok());
        assert!(parse_time("2026-12-02T07", NOW).is_ok());
    }

    #[test]
    fn garbage_is_dockers_message() {
        assert_eq!(
            parse_time("garbage", NOW).unwrap_err().to_string(),
            "failed to parse value as time or duration: \"garbage\""
        );
        assert!(parse_time("2026-13-45", NOW).is_err());
    }
}
