//! `KVTable`: string pairs, used for GET_BROKER_RUNTIME_INFO, GET_KVLIST_BY_NAMESPACE and the
//! REGISTER_BROKER response.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::JsonBody;

/// String keys to string values (Java `KVTable`); every value is a string, numbers included.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct KVTable {
    pub table: BTreeMap<String, String>,
}

impl JsonBody for KVTable {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::test_support::{every_prefix_fails, round_trip};

    #[test]
    fn kv_table_pinned_bytes() {
        let mut kv = KVTable::default();
        kv.table.insert("putTps".into(), "0.0 0.0 0.0".into());
        kv.table.insert("brokerVersionDesc".into(), "V5_3_3".into());
        kv.table.insert("msgPutTotalTodayNow".into(), "42".into());
        let expected = br#"{"table":{"brokerVersionDesc":"V5_3_3","msgPutTotalTodayNow":"42","putTps":"0.0 0.0 0.0"}}"#;
        assert_eq!(kv.to_json(), expected);
        assert_eq!(KVTable::from_json(expected).unwrap(), kv);
        every_prefix_fails::<KVTable>(expected);
        round_trip(&KVTable::default());
        assert_eq!(KVTable::default().to_json(), br#"{"table":{}}"#);
    }

    #[test]
    fn unknown_keys_are_ignored_and_escapes_survive() {
        let kv =
            KVTable::from_json(br#"{"other":[1,{2:3}],"table":{"k":"a\"b\\c\u00e9"}}"#).unwrap();
        assert_eq!(kv.table["k"], "a\"b\\c\u{e9}");
        round_trip(&kv);
    }
}
