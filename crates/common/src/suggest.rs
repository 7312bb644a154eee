//! "Did you mean": the closest of a set of names to a mistyped one (edit distance, ignoring
//! case), for unknown commands and configuration keys.

/// The candidate closest to `word`, when it is close enough to be what was meant: at most a
/// third of the word's length in edits (at least 1, at most 3). Ties go to the first candidate.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let w: Vec<char> = word.to_lowercase().chars().collect();
    let limit = (w.len() / 3).clamp(1, 3);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let cand: Vec<char> = c.to_lowercase().chars().collect();
        let d = distance(&w, &cand);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Levenshtein distance.
fn distance(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let swap = prev[j] + usize::from(ca != cb);
            cur[j + 1] = swap.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_are_suggested_and_strangers_are_not() {
        let commands = ["updateTopic", "deleteTopic", "topicList", "topicRoute"];
        assert_eq!(closest("updateTopik", commands), Some("updateTopic"));
        assert_eq!(closest("TOPICLIST", commands), Some("topicList"));
        assert_eq!(closest("topicRoutes", commands), Some("topicRoute"));
        assert_eq!(
            closest("flushDiskTyp", ["flushDiskType", "flushIntervalCommitLog"]),
            Some("flushDiskType")
        );
        assert_eq!(closest("zzz", commands), None);
        assert_eq!(closest("clusterList", commands), None);
    }
}
