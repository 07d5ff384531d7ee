//! Go `time.ParseDuration` syntax (`300ms`, `1m30s`, `1.5h`) for HEALTHCHECK
//! options, returning [`std::time::Duration`]; negative values are errors.

use std::time::Duration;

/// Parse a Go duration string. Returns an error for negative durations.
pub fn parse_go_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("time: invalid duration {}", crate::quote::go_quote(s));
    let mut rest = s;
    let mut neg = false;
    if let Some(r) = rest.strip_prefix('-') {
        neg = true;
        rest = r;
    } else if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..num_len];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(bad());
        }
        let v: f64 = num.parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => {
                return Err(format!(
                    "time: missing unit in duration {}",
                    crate::quote::go_quote(s)
                ))
            }
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    crate::quote::go_quote(unit),
                    crate::quote::go_quote(s)
                ))
            }
        };
        total += v * scale;
    }
    if total > 9.223_372_036_854_775e18 {
        return Err(bad());
    }
    if neg && total > 0.0 {
        return Err(format!("duration {s} cannot be negative"));
    }
    Ok(Duration::from_nanos(total.round() as u64))
}
