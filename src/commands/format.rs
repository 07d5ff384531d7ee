//! docker's output conventions: tables laid out like Go's tabwriter (min width 10, padding
//! 3), human durations ("About a minute ago") and sizes ("4.86MB").

/// Lay out rows like docker's `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`.
pub fn table<S: AsRef<str>>(header: &[&str], rows: &[Vec<S>]) -> String {
    let ncol = header.len();
    let mut widths = vec![0usize; ncol];
    let body = rows
        .iter()
        .map(|r| r.iter().map(AsRef::as_ref).collect::<Vec<&str>>());
    let widen = |widths: &mut Vec<usize>, row: &[&str]| {
        for (i, cell) in row.iter().enumerate().take(ncol) {
            widths[i] = widths[i].max(cell.chars().count() + 3).max(10);
        }
    };
    widen(&mut widths, header);
    for row in body.clone() {
        widen(&mut widths, &row);
    }
    let mut out = String::new();
    let mut line = String::new();
    for row in std::iter::once(header.to_vec()).chain(body) {
        line.clear();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i] - cell.chars().count();
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub fn cells(rows: &[serde_json::Value], cols: &[&str]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| {
            cols.iter()
                .map(|c| r[c].as_str().unwrap_or("").to_string())
                .collect()
        })
        .collect()
}

/// go-units HumanDuration.
pub fn human_duration(secs: f64) -> String {
    let seconds = secs as i64;
    if seconds < 1 {
        return "Less than a second".into();
    }
    if seconds == 1 {
        return "1 second".into();
    }
    if seconds < 60 {
        return format!("{seconds} seconds");
    }
    let minutes = (secs / 60.0) as i64;
    if minutes == 1 {
        return "About a minute".into();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    let hours = (secs / 3600.0 + 0.5) as i64;
    if hours == 1 {
        return "About an hour".into();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", (secs / 3600.0) as i64 / 24 / 365)
}

/// Seconds since `rfc3339` (0 when it cannot be read).
pub fn since(rfc3339: &str) -> f64 {
    match parse_rfc3339(rfc3339) {
        Some(t) => (now_unix() - t).max(0.0),
        None => 0.0,
    }
}

pub fn now_unix() -> f64 {
    crate::time::now_unix()
}

/// Unix seconds of an RFC 3339 time.
pub fn parse_rfc3339(s: &str) -> Option<f64> {
    crate::image::parse_rfc3339(s).map(|ns| ns as f64 / 1e9)
}

/// go-units HumanSizeWithPrecision(size, 3): decimal units, 3 significant digits.
pub fn human_size(size: u64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut v = size as f64;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    format!("{}{}", format_g3(v), UNITS[i])
}

/// C's "%.3g" for 0 <= v < 1000.
fn format_g3(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    let s = format!("{v:.digits$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    // Rounding may carry into a fourth digit (999.6 → "1000"): %g then switches to 1e+03.
    if s.len() > 3 && !s.contains('.') && v >= 999.5 {
        return "1e+03".into();
    }
    s
}

/// Go's strconv.Quote for the printable text docker puts in COMMAND.
pub fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// docker's Ellipsis: at most `max` characters, the last one "…" when cut.
pub fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_docker() {
        assert_eq!(human_duration(0.3), "Less than a second");
        assert_eq!(human_duration(1.0), "1 second");
        assert_eq!(human_duration(3.0), "3 seconds");
        assert_eq!(human_duration(65.0), "About a minute");
        assert_eq!(human_duration(600.0), "10 minutes");
        assert_eq!(human_duration(3700.0), "About an hour");
        assert_eq!(human_duration(5.0 * 3600.0), "5 hours");
        assert_eq!(human_duration(3.0 * 86400.0), "3 days");
    }

    #[test]
    fn sizes_read_like_docker() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(1_234), "1.23kB");
        assert_eq!(human_size(2_150_000), "2.15MB");
        assert_eq!(human_size(12_300_000), "12.3MB");
        assert_eq!(human_size(123_000_000), "123MB");
        assert_eq!(human_size(2_100_000), "2.1MB");
    }

    #[test]
    fn rfc3339_round_trip() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse_rfc3339("2000-03-01T00:00:01.5Z"), Some(951868801.5));
        assert_eq!(
            parse_rfc3339("2000-03-01T01:00:01+01:00"),
            Some(951868801.0)
        );
    }

    #[test]
    fn table_pads_like_tabwriter() {
        let t = table(
            &["A", "LONGER HEADER", "C"],
            &[vec!["x".to_string(), "y".into(), "z".into()]],
        );
        assert_eq!(
            t,
            table(&["A", "LONGER HEADER", "C"], &[vec!["x", "y", "z"]])
        );
        assert_eq!(
            t,
            "A         LONGER HEADER   C\nx         y               z\n"
        );
    }

    #[test]
    fn command_is_quoted_and_cut_at_20() {
        assert_eq!(
            go_quote(&ellipsis("httpd -f -p 80 -h /usr/local", 20)),
            "\"httpd -f -p 80 -h /…\""
        );
        assert_eq!(go_quote("sh -c \"x\""), "\"sh -c \\\"x\\\"\"");
    }
}
