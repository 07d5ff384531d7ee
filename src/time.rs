//! Timestamps and durations, on the `jiff` crate: RFC 3339 times as docker writes them
//! in image configs, records and logs (UTC, nanoseconds), and the values `--since`
//! accepts (an RFC 3339 time, unix seconds, or a Go duration back from now such as
//! `1h30m`, parsed by the Dockerfile parser's Go-duration parser). Nothing here reads a
//! clock but [`now_rfc3339`], [`now_unix`] and [`parse_since`].

use jiff::Timestamp;

/// Now in UTC with nanoseconds, like docker writes it: `2026-11-26T11:20:00.123456789Z`.
pub fn now_rfc3339() -> String {
    let now = Timestamp::now();
    format_rfc3339(now.as_second(), now.subsec_nanosecond() as u32)
}

/// Formats seconds since the epoch (UTC); nanoseconds are omitted when zero.
pub fn format_rfc3339(secs: i64, nanos: u32) -> String {
    let Ok(t) = Timestamp::new(secs, nanos as i32) else {
        return "0001-01-01T00:00:00Z".to_string();
    };
    if nanos == 0 {
        t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        t.strftime("%Y-%m-%dT%H:%M:%S.%fZ").to_string()
    }
}

/// Parses an RFC 3339 time (`Z` or a numeric offset) to nanoseconds since the epoch.
pub fn parse_rfc3339(s: &str) -> Option<i128> {
    s.parse::<Timestamp>().ok().map(|t| t.as_nanosecond())
}

/// Seconds since the epoch, now.
pub fn now_unix() -> f64 {
    Timestamp::now().as_nanosecond() as f64 / 1e9
}

/// `--since`/`--until`: an RFC 3339 time, unix seconds (`1700000000.5`), or a Go duration
/// back from `now` (`90s`, `10m`, `1h30m`). Unix seconds, None when unreadable.
pub fn parse_since(s: &str, now: f64) -> Option<f64> {
    if let Some(ns) = parse_rfc3339(s) {
        return Some(ns as f64 / 1e9);
    }
    if let Ok(t) = s.parse::<f64>() {
        return Some(t);
    }
    let back = dockerfile_parser::parse_go_duration(s).ok()?;
    Some(now - back.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_rfc3339(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_rfc3339(951_782_400, 5),
            "2000-02-29T00:00:00.000000005Z"
        );
        assert_eq!(
            format_rfc3339(1_795_692_000, 123_456_789),
            "2026-11-26T11:20:00.123456789Z"
        );
    }

    #[test]
    fn parses_what_it_formats_and_offsets() {
        let s = now_rfc3339();
        let n = parse_rfc3339(&s).unwrap();
        assert_eq!(
            format_rfc3339((n / 1_000_000_000) as i64, (n % 1_000_000_000) as u32),
            s
        );
        assert_eq!(
            parse_rfc3339("2026-11-26T12:20:00+01:00"),
            parse_rfc3339("2026-11-26T11:20:00Z")
        );
        assert_eq!(
            parse_rfc3339("2026-11-26T11:20:00.5Z").unwrap() % 1_000_000_000,
            500_000_000
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn since_takes_times_unix_seconds_and_go_durations() {
        let now = 10_000.0;
        assert_eq!(parse_since("1h30m", now), Some(now - 5400.0));
        assert_eq!(parse_since("90s", now), Some(now - 90.0));
        assert_eq!(parse_since("1.5h", now), Some(now - 5400.0));
        assert_eq!(parse_since("1700000000.5", now), Some(1_700_000_000.5));
        assert_eq!(parse_since("1970-01-01T01:00:00Z", now), Some(3600.0));
        assert_eq!(parse_since("soon", now), None);
    }
}
