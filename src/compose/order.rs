//! The order services start in: each after what it `depends_on` (by name among equals, so
//! the order is stable), or the cycle that makes an order impossible.

use super::model::Service;
use std::collections::{BTreeMap, BTreeSet};

/// Service names, dependencies first; Err names a cycle as `a -> b -> a`.
pub fn start_order(services: &BTreeMap<String, Service>) -> Result<Vec<String>, String> {
    let mut done: Vec<String> = Vec::new();
    let mut seen = BTreeSet::new();
    for name in services.keys() {
        visit(name, services, &mut Vec::new(), &mut seen, &mut done)?;
    }
    Ok(done)
}

fn visit(
    name: &str,
    services: &BTreeMap<String, Service>,
    stack: &mut Vec<String>,
    seen: &mut BTreeSet<String>,
    done: &mut Vec<String>,
) -> Result<(), String> {
    if let Some(at) = stack.iter().position(|s| s == name) {
        let mut cycle: Vec<String> = stack[at..].to_vec();
        cycle.push(name.to_string());
        return Err(cycle.join(" -> "));
    }
    if !seen.insert(name.to_string()) {
        return Ok(());
    }
    stack.push(name.to_string());
    if let Some(s) = services.get(name) {
        for dep in s.depends_on.keys() {
            visit(dep, services, stack, seen, done)?;
        }
    }
    stack.pop();
    if services.contains_key(name) {
        done.push(name.to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::Condition;

    fn services(deps: &[(&str, &[&str])]) -> BTreeMap<String, Service> {
        deps.iter()
            .map(|(n, d)| {
                let s = Service {
                    name: n.to_string(),
                    depends_on: d
                        .iter()
                        .map(|d| (d.to_string(), Condition::Started))
                        .collect(),
                    ..Service::default()
                };
                (n.to_string(), s)
            })
            .collect()
    }

    #[test]
    fn dependencies_start_first() {
        let s = services(&[("a", &["c"]), ("b", &[]), ("c", &["b"])]);
        assert_eq!(start_order(&s).unwrap(), ["b", "c", "a"]);
    }

    #[test]
    fn a_cycle_is_named() {
        let s = services(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"])]);
        assert_eq!(start_order(&s).unwrap_err(), "a -> b -> c -> a");
    }
}
