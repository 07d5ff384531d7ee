//! Kubernetes resource quantities: `128Mi`, `1G`, `33554432`, `0.5`, `500m`, `1e3`. Memory
//! becomes bytes and CPU nano-CPUs (kiste's `--cpus` unit); kiste's limits go out the other
//! way as plain byte counts and millicores.

/// A quantity refused: the text, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad quantity \"{text}\": {reason}")]
pub struct QuantityError {
    pub text: String,
    pub reason: &'static str,
}

/// The quantity as a number of units (a fraction allowed): `1.5Gi` → 1610612736.
fn value(text: &str) -> Result<f64, QuantityError> {
    let bad = |reason| QuantityError {
        text: text.to_string(),
        reason,
    };
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(t.len());
    let (number, suffix) = t.split_at(split);
    if number.is_empty() || number.starts_with('-') {
        return Err(bad("expected a non-negative number with an optional unit"));
    }
    let n: f64 = number
        .parse()
        .map_err(|_| bad("expected a non-negative number with an optional unit"))?;
    let factor = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        s if s.starts_with(['e', 'E']) => {
            let exp: i32 = s[1..]
                .parse()
                .map_err(|_| bad("the exponent is not an integer"))?;
            10f64.powi(exp)
        }
        _ => {
            return Err(bad(
                "unknown unit (known: m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei)",
            ))
        }
    };
    let v = n * factor;
    if !v.is_finite() || v > i64::MAX as f64 {
        return Err(bad("too large"));
    }
    Ok(v)
}

/// The quantity as YAML holds it: a string or a bare number.
pub fn text_of(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A memory quantity in bytes (rounded up, as Kubernetes does).
pub fn memory_bytes(text: &str) -> Result<i64, QuantityError> {
    Ok(value(text)?.ceil() as i64)
}

/// A CPU quantity in nano-CPUs: `500m` → 500000000.
pub fn nano_cpus(text: &str) -> Result<i64, QuantityError> {
    Ok((value(text)? * 1e9).round() as i64)
}

/// Nano-CPUs as Kubernetes writes CPUs: `500m`, or whole CPUs as `2`.
pub fn cpu_text(nano: i64) -> String {
    let milli = (nano + 999_999) / 1_000_000;
    if milli % 1000 == 0 {
        (milli / 1000).to_string()
    } else {
        format!("{milli}m")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units_are_decimal_or_binary() {
        assert_eq!(memory_bytes("33554432").unwrap(), 33554432);
        assert_eq!(memory_bytes("32Mi").unwrap(), 33554432);
        assert_eq!(memory_bytes("1G").unwrap(), 1_000_000_000);
        assert_eq!(memory_bytes("1.5Gi").unwrap(), 1610612736);
        assert_eq!(memory_bytes("1e3").unwrap(), 1000);
    }

    #[test]
    fn cpus_in_millicores_or_whole() {
        assert_eq!(nano_cpus("500m").unwrap(), 500_000_000);
        assert_eq!(nano_cpus("0.25").unwrap(), 250_000_000);
        assert_eq!(nano_cpus("2").unwrap(), 2_000_000_000);
        assert_eq!(cpu_text(500_000_000), "500m");
        assert_eq!(cpu_text(2_000_000_000), "2");
        assert_eq!(cpu_text(1_500_000_000), "1500m");
    }

    #[test]
    fn unknown_units_and_signs_are_refused() {
        let e = memory_bytes("12Zi").unwrap_err();
        assert_eq!(e.text, "12Zi");
        assert!(e.to_string().contains("unknown unit"), "{e}");
        assert!(memory_bytes("-1").is_err());
        assert!(memory_bytes("Mi").is_err());
        assert!(nano_cpus("1.2.3").is_err());
    }
}
