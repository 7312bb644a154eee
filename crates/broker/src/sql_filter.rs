//! SQL92 subscriptions on the broker (RocketMQ's `ConsumerFilterManager` and
//! `ExpressionMessageFilter`): each (group, topic) expression is compiled once with
//! [`ferromq_filter`] and kept while it stays the same, and pulls then carry only the messages
//! whose properties (user properties and `TAGS`) make it TRUE.

use std::collections::HashMap;
use std::sync::Arc;

use ferromq_filter::{EncodedProperties, Filter, ParseError};
use parking_lot::RwLock;

/// group → topic → (expression, its compiled form); nested so that a pull looks its filter up
/// by `&str` without building a key.
type Compiled = HashMap<String, HashMap<String, (String, Arc<Filter>)>>;

/// Compiled expressions by (group, topic).
#[derive(Default)]
pub struct FilterCache {
    compiled: RwLock<Compiled>,
}

/// Most groups kept; past it the table starts again (a subscription's filter is compiled again
/// on its next pull, which costs microseconds).
const MAX_GROUPS: usize = 100_000;

impl FilterCache {
    /// The compiled form of `expression` for `group` on `topic`, compiling it when it is new or
    /// changed.
    pub fn get(
        &self,
        group: &str,
        topic: &str,
        expression: &str,
    ) -> Result<Arc<Filter>, ParseError> {
        if let Some((expr, f)) = self.compiled.read().get(group).and_then(|t| t.get(topic)) {
            if expr == expression {
                return Ok(Arc::clone(f));
            }
        }
        let filter = Arc::new(Filter::compile(expression)?);
        let mut map = self.compiled.write();
        if map.len() >= MAX_GROUPS {
            map.clear();
        }
        map.entry(group.to_owned()).or_default().insert(
            topic.to_owned(),
            (expression.to_owned(), Arc::clone(&filter)),
        );
        Ok(filter)
    }
}

/// True when a stored message with this properties string passes `filter`.
pub fn matches(filter: &Filter, properties: &str) -> bool {
    filter.matches(&EncodedProperties::new(properties))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_once_per_expression_and_again_when_it_changes() {
        let cache = FilterCache::default();
        let a = cache.get("G", "T", "a > 5").unwrap();
        let again = cache.get("G", "T", "a > 5").unwrap();
        assert!(Arc::ptr_eq(&a, &again));
        let changed = cache.get("G", "T", "a > 6").unwrap();
        assert!(!Arc::ptr_eq(&a, &changed));
        assert!(matches(&changed, "a\u{1}7\u{2}"));
        assert!(!matches(&changed, "a\u{1}6\u{2}"));
        assert!(cache.get("G", "T", "a >").is_err());
    }
}
