//! k-anonymity for reports about groups of people (usage analytics by department, the career skill
//! heat-map): no figure may describe fewer than `k` people (`usage.min_group_size`).

/// A figure about `part` of a group of `total` people may be shown when none of the numbers it reveals
/// describes fewer than `k` people: the group has at least `k` members, and both the part and the rest
/// are none or at least `k` (a rest of one would single that person out).
pub fn publishable(total: i64, part: i64, k: i64) -> bool {
    let rest = (total - part).max(0);
    total >= k && (part == 0 || part >= k) && (rest == 0 || rest >= k)
}

/// Groups after pooling: those shown on their own, and — when some were too small — the pool that
/// gathers them, with whether the pool itself may be shown.
#[derive(Debug, PartialEq)]
pub struct Pooled<G> {
    pub shown: Vec<G>,
    pub pool: Option<(G, bool)>,
}

/// Gathers the groups that may not be shown (`shows` false) into one pool, starting from `empty`. While
/// the pool may not be shown either, the smallest shown group (by `size`) joins it, so the small groups
/// cannot be recovered by subtracting the shown ones from a total; when nothing can be shown, the pool
/// is marked hidden.
pub fn pool<G>(
    groups: Vec<G>,
    empty: G,
    shows: impl Fn(&G) -> bool,
    size: impl Fn(&G) -> i64,
    merge: impl Fn(&mut G, G),
) -> Pooled<G> {
    let mut shown = Vec::new();
    let mut pool = empty;
    let mut pooled = 0usize;
    for group in groups {
        if shows(&group) {
            shown.push(group);
        } else {
            merge(&mut pool, group);
            pooled += 1;
        }
    }
    while pooled > 0 && !shows(&pool) {
        let Some(smallest) = shown
            .iter()
            .enumerate()
            .min_by_key(|(_, g)| size(g))
            .map(|(i, _)| i)
        else {
            break;
        };
        merge(&mut pool, shown.remove(smallest));
        pooled += 1;
    }
    let pool = (pooled > 0).then(|| {
        let ok = shows(&pool);
        (pool, ok)
    });
    Pooled { shown, pool }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_figure_about_fewer_than_k_people_is_not_publishable() {
        assert!(publishable(10, 5, 5));
        assert!(
            publishable(10, 0, 5),
            "none of them is a figure about all ten"
        );
        assert!(publishable(5, 5, 5));
        assert!(!publishable(4, 4, 5), "too small a group");
        assert!(!publishable(10, 3, 5), "three people");
        assert!(!publishable(10, 7, 5), "the other three people");
    }

    fn run(groups: &[(&'static str, i64)], k: i64) -> Pooled<(Vec<&'static str>, i64)> {
        pool(
            groups.iter().map(|(n, s)| (vec![*n], *s)).collect(),
            (Vec::new(), 0),
            |g| g.1 >= k,
            |g| g.1,
            |p, g| {
                p.0.extend(g.0);
                p.1 += g.1;
            },
        )
    }

    #[test]
    fn small_groups_are_pooled_and_the_smallest_shown_group_joins_a_pool_too_small() {
        let pooled = run(&[("a", 10), ("b", 2), ("c", 6), ("d", 1)], 5);
        assert_eq!(pooled.shown, vec![(vec!["a"], 10)]);
        assert_eq!(pooled.pool, Some(((vec!["b", "d", "c"], 9), true)));
    }

    #[test]
    fn nothing_to_pool_means_no_pool_and_nothing_showable_means_a_hidden_pool() {
        assert_eq!(run(&[("a", 5), ("b", 7)], 5).pool, None);
        let pooled = run(&[("a", 1), ("b", 2)], 5);
        assert!(pooled.shown.is_empty());
        assert_eq!(pooled.pool, Some(((vec!["a", "b"], 3), false)));
    }
}
