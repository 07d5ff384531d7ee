//! Stable sorting for the cold paths (listings, completions, pushes and pulls): every
//! caller sorts indices through the one comparison-by-`dyn` instance of std's sort, then
//! moves its elements into place.
//!
//! Why: `slice::sort_by` and its siblings compile a copy of std's driftsort (5 to 8 KB at
//! opt-level "s") for every element type and every closure; 18 call sites made 18 copies.
//! The callers here sort tens of items, where a dynamic call per comparison costs nothing
//! that can be measured. The result is that of `slice::sort_by`: equal elements keep their
//! order.

use std::cmp::Ordering;

/// Sorts `v` by `cmp`, stably, as `slice::sort_by` does.
pub fn sort_by<T>(v: &mut [T], cmp: impl Fn(&T, &T) -> Ordering) {
    let order = order_by(v.len(), &|a, b| cmp(&v[a], &v[b]));
    permute(v, order);
}

/// Sorts `v` by the key of each element, stably, as `slice::sort_by_key` does (the key is
/// computed at each comparison).
pub fn sort_by_key<T, K: Ord>(v: &mut [T], key: impl Fn(&T) -> K) {
    sort_by(v, |a, b| key(a).cmp(&key(b)));
}

/// Sorts `v` by the key of each element, computed once per element, stably, as
/// `slice::sort_by_cached_key` does.
pub fn sort_by_cached_key<T, K: Ord>(v: &mut [T], key: impl Fn(&T) -> K) {
    let keys: Vec<K> = v.iter().map(key).collect();
    let order = order_by(v.len(), &|a, b| keys[a].cmp(&keys[b]));
    permute(v, order);
}

/// Sorts `v` in ascending order, stably, as `slice::sort` does.
pub fn sort<T: Ord>(v: &mut [T]) {
    sort_by(v, T::cmp);
}

/// The indices `0..n` in the order `cmp` puts them, equal ones in ascending order: for a
/// caller that moves its elements itself.
pub fn order_by(n: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| cmp(a, b));
    order
}

/// Rearranges `v` so that `v[i]` is the old `v[order[i]]`, following each cycle of the
/// permutation with swaps (each element is moved into its place once per cycle step).
fn permute<T>(v: &mut [T], mut order: Vec<usize>) {
    const PLACED: usize = usize::MAX;
    for start in 0..order.len() {
        let mut at = start;
        loop {
            let from = std::mem::replace(&mut order[at], PLACED);
            if from == start || from == PLACED {
                break;
            }
            v.swap(at, from);
            at = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_by_is_stable_like_std() {
        let mut ours: Vec<(u8, usize)> = [3u8, 1, 3, 0, 1, 2, 3, 0]
            .iter()
            .enumerate()
            .map(|(i, &k)| (k, i))
            .collect();
        let mut std_sorted = ours.clone();
        std_sorted.sort_by_key(|&(k, _)| k);
        sort_by_key(&mut ours, |&(k, _)| k);
        assert_eq!(ours, std_sorted);
    }

    #[test]
    fn every_permutation_of_five_is_sorted() {
        // All 120 orders of 0..5, by Heap's algorithm.
        fn heap(k: usize, a: &mut Vec<u32>, seen: &mut usize) {
            if k == 1 {
                let mut s = a.clone();
                sort(&mut s);
                assert_eq!(s, [0, 1, 2, 3, 4], "from {a:?}");
                *seen += 1;
                return;
            }
            for i in 0..k {
                heap(k - 1, a, seen);
                let j = if k.is_multiple_of(2) { i } else { 0 };
                a.swap(j, k - 1);
            }
        }
        let mut seen = 0;
        heap(5, &mut vec![0, 1, 2, 3, 4], &mut seen);
        assert_eq!(seen, 120);
    }

    #[test]
    fn cached_key_is_computed_once_per_element() {
        let calls = std::cell::Cell::new(0);
        let mut v = vec!["ccc", "a", "bb", "dddd", ""];
        sort_by_cached_key(&mut v, |s| {
            calls.set(calls.get() + 1);
            std::cmp::Reverse(s.len())
        });
        assert_eq!(v, ["dddd", "ccc", "bb", "a", ""]);
        assert_eq!(calls.get(), 5);
    }

    #[test]
    fn empty_and_single_are_left_alone() {
        let mut e: Vec<String> = Vec::new();
        sort(&mut e);
        assert!(e.is_empty());
        let mut one = vec![String::from("x")];
        sort(&mut one);
        assert_eq!(one, ["x"]);
    }
}
