//! The line of a key path (`services.web.depends_on`) in a compose file's text, for
//! error messages: serde_yaml's values carry no positions, so the block-style text is
//! walked by indentation. Flow style (`{a: 1}`) finds the nearest enclosing key.

/// 1-based line of the deepest segment of `path` found in `text` (None if not even the
/// first is there).
pub fn line_of(text: &str, path: &[&str]) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut from = 0;
    let mut parent_indent: Option<usize> = None;
    let mut found = None;
    for seg in path {
        let mut hit = None;
        let index: Option<usize> = seg.parse().ok();
        let mut items = 0;
        let mut item_indent = None;
        for (n, line) in lines.iter().enumerate().skip(from) {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = line.len() - trimmed.len();
            if parent_indent.is_some_and(|p| indent <= p) {
                break;
            }
            if let Some(want) = index {
                // A list item by position: the n-th `- ` at the list's own indentation.
                if trimmed.starts_with("- ") && *item_indent.get_or_insert(indent) == indent {
                    if items == want {
                        hit = Some((n, indent));
                        break;
                    }
                    items += 1;
                }
                continue;
            }
            let item = trimmed.trim_start_matches("- ").trim_start();
            let key = item
                .strip_prefix(['"', '\''])
                .unwrap_or(item)
                .split([':', '"', '\''])
                .next()
                .unwrap_or("");
            let is_key = key == *seg
                && item[key.len()..]
                    .trim_start_matches(['"', '\''])
                    .starts_with(':');
            let is_item = trimmed.starts_with("- ") && item.trim_matches(['"', '\'']) == *seg;
            if is_key || is_item {
                hit = Some((n, indent));
                break;
            }
        }
        let Some((n, indent)) = hit else { break };
        found = Some(n + 1);
        from = n + 1;
        parent_indent = Some(indent);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "name: x\nservices:\n  db:\n    image: a\n  web:\n    image: b\n    depends_on:\n      - db\n      - cache\n";

    #[test]
    fn finds_nested_keys_and_list_items() {
        assert_eq!(line_of(FILE, &["services", "web", "image"]), Some(6));
        assert_eq!(
            line_of(FILE, &["services", "web", "depends_on", "cache"]),
            Some(9)
        );
        assert_eq!(line_of(FILE, &["services", "db"]), Some(3));
        assert_eq!(
            line_of(FILE, &["services", "web", "depends_on", "1"]),
            Some(9)
        );
    }

    #[test]
    fn missing_segment_gives_the_deepest_found() {
        assert_eq!(line_of(FILE, &["services", "web", "nope"]), Some(5));
        assert_eq!(line_of(FILE, &["volumes"]), None);
    }
}
