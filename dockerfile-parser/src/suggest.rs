//! "Did you mean …?" suggestions for near-miss names (instructions, flags,
//! mount options), based on a case-insensitive edit distance.

fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest candidate within a small edit distance, if any.
pub(crate) fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    if word.is_empty() || word.len() > 64 {
        return None;
    }
    let w = word.to_lowercase();
    let max = if w.chars().count() <= 3 { 1 } else { 2 };
    let close = candidates
        .iter()
        .map(|c| (distance(&w, &c.to_lowercase()), *c))
        .filter(|(d, _)| *d <= max)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c);
    // A truncated name (`--plat`) is also a near miss.
    close.or_else(|| {
        (w.chars().count() >= 3)
            .then(|| {
                candidates
                    .iter()
                    .find(|c| c.to_lowercase().starts_with(&w))
                    .copied()
            })
            .flatten()
    })
}
