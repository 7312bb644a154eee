//! How the consumers of a clustering group share a topic's queues (Java
//! `AllocateMessageQueueStrategy` and its implementations). Every consumer runs the same
//! strategy over the same sorted queue and client-id lists, so each queue gets exactly one
//! owner without any coordination.

use std::collections::{BTreeMap, BTreeSet};

use ferromq_proto::body::MessageQueue;

/// A queue allocation strategy.
pub trait AllocateStrategy: Send + Sync + 'static {
    /// RocketMQ's name of the strategy (`AVG`, `AVG_BY_CIRCLE`, ...).
    fn name(&self) -> &str;

    /// The queues of `mq_all` that `current_cid` should consume. `mq_all` and `cid_all` are
    /// sorted; a client id missing from `cid_all` gets nothing.
    fn allocate(
        &self,
        group: &str,
        current_cid: &str,
        mq_all: &[MessageQueue],
        cid_all: &[String],
    ) -> Vec<MessageQueue>;
}

fn index_of(cid_all: &[String], current: &str) -> Option<usize> {
    cid_all.iter().position(|c| c == current)
}

/// Contiguous blocks, the first `mq % cid` consumers one queue more (Java
/// `AllocateMessageQueueAveragely`, the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct Averagely;

impl AllocateStrategy for Averagely {
    fn name(&self) -> &str {
        "AVG"
    }

    fn allocate(
        &self,
        _group: &str,
        current_cid: &str,
        mq_all: &[MessageQueue],
        cid_all: &[String],
    ) -> Vec<MessageQueue> {
        let Some(index) = index_of(cid_all, current_cid) else {
            return Vec::new();
        };
        if mq_all.is_empty() {
            return Vec::new();
        }
        let (n, c) = (mq_all.len(), cid_all.len());
        let m = n % c;
        let average = if n <= c {
            1
        } else if m > 0 && index < m {
            n / c + 1
        } else {
            n / c
        };
        let start = if m > 0 && index < m {
            index * average
        } else {
            index * average + m
        };
        let range = average.min(n.saturating_sub(start));
        (0..range)
            .map(|i| mq_all[(start + i) % n].clone())
            .collect()
    }
}

/// Every `cid`-th queue starting at the consumer's index (Java
/// `AllocateMessageQueueAveragelyByCircle`).
#[derive(Debug, Clone, Copy, Default)]
pub struct AveragelyByCircle;

impl AllocateStrategy for AveragelyByCircle {
    fn name(&self) -> &str {
        "AVG_BY_CIRCLE"
    }

    fn allocate(
        &self,
        _group: &str,
        current_cid: &str,
        mq_all: &[MessageQueue],
        cid_all: &[String],
    ) -> Vec<MessageQueue> {
        let Some(index) = index_of(cid_all, current_cid) else {
            return Vec::new();
        };
        (index..mq_all.len())
            .filter(|i| i % cid_all.len() == index)
            .map(|i| mq_all[i].clone())
            .collect()
    }
}

/// A consistent-hash ring of the client ids, `virtual_nodes` points each, hashed with the first
/// four bytes of MD5 (Java `AllocateMessageQueueConsistentHash` with `ConsistentHashRouter` and
/// its `MD5Hash`); a queue belongs to the first node at or after the hash of its Java
/// `toString()`.
#[derive(Debug, Clone, Copy)]
pub struct ConsistentHash {
    /// Virtual nodes per client (Java default 10).
    pub virtual_nodes: usize,
}

impl Default for ConsistentHash {
    fn default() -> Self {
        ConsistentHash { virtual_nodes: 10 }
    }
}

/// Java `MD5Hash.hash`: the first four digest bytes as a big-endian number.
fn md5_hash(key: &str) -> u64 {
    let d = md5::compute(key.as_bytes());
    u64::from(u32::from_be_bytes([d[0], d[1], d[2], d[3]]))
}

/// Java `MessageQueue.toString()`.
pub fn java_queue_string(mq: &MessageQueue) -> String {
    format!(
        "MessageQueue [topic={}, brokerName={}, queueId={}]",
        mq.topic, mq.broker_name, mq.queue_id
    )
}

impl AllocateStrategy for ConsistentHash {
    fn name(&self) -> &str {
        "CONSISTENT_HASH"
    }

    fn allocate(
        &self,
        _group: &str,
        current_cid: &str,
        mq_all: &[MessageQueue],
        cid_all: &[String],
    ) -> Vec<MessageQueue> {
        if index_of(cid_all, current_cid).is_none() {
            return Vec::new();
        }
        let mut ring: BTreeMap<u64, &str> = BTreeMap::new();
        for cid in cid_all {
            for i in 0..self.virtual_nodes {
                ring.insert(md5_hash(&format!("{cid}-{i}")), cid);
            }
        }
        mq_all
            .iter()
            .filter(|mq| {
                let h = md5_hash(&java_queue_string(mq));
                let owner = ring
                    .range(h..)
                    .next()
                    .or_else(|| ring.iter().next())
                    .map(|(_, c)| *c);
                owner == Some(current_cid)
            })
            .cloned()
            .collect()
    }
}

/// A fixed list, whatever the group looks like (Java `AllocateMessageQueueByConfig`).
#[derive(Debug, Clone, Default)]
pub struct ByConfig {
    /// The queues this consumer takes.
    pub queues: Vec<MessageQueue>,
}

impl AllocateStrategy for ByConfig {
    fn name(&self) -> &str {
        "CONFIG"
    }

    fn allocate(
        &self,
        _group: &str,
        _current_cid: &str,
        _mq_all: &[MessageQueue],
        _cid_all: &[String],
    ) -> Vec<MessageQueue> {
        self.queues.clone()
    }
}

/// Only queues of brokers named `<room>@<name>` in the consumer's rooms, shared in blocks with
/// the remainder dealt one each (Java `AllocateMessageQueueByMachineRoom`).
#[derive(Debug, Clone, Default)]
pub struct ByMachineRoom {
    /// Machine rooms this group consumes from.
    pub consume_idcs: BTreeSet<String>,
}

impl AllocateStrategy for ByMachineRoom {
    fn name(&self) -> &str {
        "MACHINE_ROOM"
    }

    fn allocate(
        &self,
        _group: &str,
        current_cid: &str,
        mq_all: &[MessageQueue],
        cid_all: &[String],
    ) -> Vec<MessageQueue> {
        let Some(index) = index_of(cid_all, current_cid) else {
            return Vec::new();
        };
        let pre: Vec<&MessageQueue> = mq_all
            .iter()
            .filter(|mq| {
                let parts: Vec<&str> = mq.broker_name.split('@').collect();
                parts.len() == 2 && self.consume_idcs.contains(parts[0])
            })
            .collect();
        let c = cid_all.len();
        let per = pre.len() / c;
        let rem = pre.len() % c;
        let mut out: Vec<MessageQueue> = pre[per * index..per * index + per]
            .iter()
            .map(|q| (*q).clone())
            .collect();
        if rem > index {
            out.push(pre[index + per * c].clone());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(n: i32) -> Vec<MessageQueue> {
        let mut v: Vec<_> = (0..n)
            .map(|i| MessageQueue::new("TopicTest", "broker-a", i))
            .collect();
        v.sort();
        v
    }

    fn cids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("CID_PREFIX{i}")).collect()
    }

    fn ids(qs: &[MessageQueue]) -> Vec<i32> {
        qs.iter().map(|q| q.queue_id).collect()
    }

    /// Every queue goes to exactly one consumer.
    fn assert_partition(s: &dyn AllocateStrategy, mqs: &[MessageQueue], cids: &[String]) {
        let mut all: Vec<MessageQueue> = cids
            .iter()
            .flat_map(|c| s.allocate("g", c, mqs, cids))
            .collect();
        all.sort();
        assert_eq!(all, mqs, "{} with {} consumers", s.name(), cids.len());
    }

    #[test]
    fn averagely_matches_rocketmq() {
        let s = Averagely;
        let mqs = queues(10);
        let c = cids(4);
        // Java: 10 queues over 4 consumers -> 3, 3, 2, 2 contiguous.
        let got: Vec<Vec<i32>> = c
            .iter()
            .map(|x| ids(&s.allocate("g", x, &mqs, &c)))
            .collect();
        assert_eq!(got, [vec![0, 1, 2], vec![3, 4, 5], vec![6, 7], vec![8, 9]]);
        // More consumers than queues: one each, the rest idle.
        let c = cids(5);
        let got: Vec<Vec<i32>> = c
            .iter()
            .map(|x| ids(&s.allocate("g", x, &queues(3), &c)))
            .collect();
        assert_eq!(got, [vec![0], vec![1], vec![2], vec![], vec![]]);
        assert!(s.allocate("g", "stranger", &mqs, &c).is_empty());
        for n in 1..=12 {
            for k in 1..=6 {
                assert_partition(&s, &queues(n), &cids(k));
            }
        }
    }

    #[test]
    fn by_circle_matches_rocketmq() {
        let s = AveragelyByCircle;
        let mqs = queues(10);
        let c = cids(4);
        let got: Vec<Vec<i32>> = c
            .iter()
            .map(|x| ids(&s.allocate("g", x, &mqs, &c)))
            .collect();
        assert_eq!(got, [vec![0, 4, 8], vec![1, 5, 9], vec![2, 6], vec![3, 7]]);
        for n in 1..=12 {
            for k in 1..=6 {
                assert_partition(&s, &queues(n), &cids(k));
            }
        }
    }

    #[test]
    fn consistent_hash_matches_rocketmq() {
        // MD5("abc") = 900150983cd24fb0..., so Java's MD5Hash gives 0x90015098.
        let d = md5::compute(b"abc");
        assert_eq!(
            md5_hash("abc"),
            u64::from(u32::from_be_bytes([d[0], d[1], d[2], d[3]]))
        );
        assert_eq!(md5_hash("abc"), 0x9001_5098);
        assert_eq!(
            java_queue_string(&MessageQueue::new("T", "b", 3)),
            "MessageQueue [topic=T, brokerName=b, queueId=3]"
        );
        let s = ConsistentHash::default();
        let mqs = queues(8);
        let c = cids(3);
        let got: Vec<Vec<i32>> = c
            .iter()
            .map(|x| ids(&s.allocate("g", x, &mqs, &c)))
            .collect();
        assert_eq!(got, EXPECTED_CONSISTENT_HASH_8_3);
        for n in 1..=12 {
            for k in 1..=6 {
                assert_partition(&s, &queues(n), &cids(k));
            }
        }
    }

    /// Computed with a line-for-line Python port of Java's `ConsistentHashRouter` + `MD5Hash`
    /// for 8 queues of `TopicTest@broker-a` and consumers `CID_PREFIX0..2`.
    const EXPECTED_CONSISTENT_HASH_8_3: [&[i32]; 3] = [&[0, 1, 3, 4], &[5, 7], &[2, 6]];

    #[test]
    fn by_config_returns_the_configured_queues() {
        let s = ByConfig {
            queues: vec![MessageQueue::new("TopicTest", "broker-a", 5)],
        };
        assert_eq!(ids(&s.allocate("g", "any", &queues(10), &cids(3))), [5]);
    }

    #[test]
    fn by_machine_room_matches_rocketmq() {
        let mut mqs = Vec::new();
        for (room, broker) in [("IDC1", "a"), ("IDC2", "b"), ("IDC3", "c")] {
            for i in 0..4 {
                mqs.push(MessageQueue::new("T", format!("{room}@{broker}"), i));
            }
        }
        mqs.push(MessageQueue::new("T", "plain", 0));
        mqs.sort();
        let s = ByMachineRoom {
            consume_idcs: ["IDC1".to_owned(), "IDC2".to_owned()].into(),
        };
        let c = cids(3);
        let got: Vec<Vec<String>> = c
            .iter()
            .map(|x| {
                s.allocate("g", x, &mqs, &c)
                    .iter()
                    .map(|q| format!("{}/{}", q.broker_name, q.queue_id))
                    .collect()
            })
            .collect();
        // 8 queues in the rooms, 3 consumers: blocks of 2, remainder 2 dealt to the first two.
        assert_eq!(
            got,
            [
                vec!["IDC1@a/0", "IDC1@a/1", "IDC2@b/2"],
                vec!["IDC1@a/2", "IDC1@a/3", "IDC2@b/3"],
                vec!["IDC2@b/0", "IDC2@b/1"],
            ]
        );
    }
}
