//! `allocateMQ` (Java `AllocateMQSubCommand`): how the averaging strategy would share a topic's
//! queues among the given client ids, computed here without asking any broker.

use std::collections::BTreeMap;
use std::fmt;

use ferromq_client::allocate::{AllocateStrategy, Averagely};
use ferromq_client::AdminClient;
use ferromq_common::java_string_hash;
use ferromq_proto::body::{MessageQueue, TopicRouteData};

use crate::message::java_hash_order;
use crate::AdminError;

/// Runs `allocateMQ -t <topic> -i <ip1,ip2,..>`: NS 105, then the allocation.
pub async fn allocate_mq(
    admin: &AdminClient,
    topic: &str,
    ip_list: &str,
) -> Result<AllocateReport, AdminError> {
    let topic = topic.trim();
    let route = admin.topic_route(topic).await?;
    Ok(allocate(topic, &route, ip_list.trim()))
}

/// Java's `MessageQueue.hashCode`.
fn mq_hash(mq: &MessageQueue) -> i32 {
    let mut h: i32 = 1;
    h = h
        .wrapping_mul(31)
        .wrapping_add(java_string_hash(&mq.broker_name));
    h = h.wrapping_mul(31).wrapping_add(mq.queue_id);
    h.wrapping_mul(31).wrapping_add(java_string_hash(&mq.topic))
}

/// The allocation for every id of `ip_list` (split on `,`, kept as given). As in Java, the
/// queues are taken in the iteration order of the `HashSet` Java builds from the route, and
/// the ids in the order given, so the result is what the Java tool computes.
pub fn allocate(topic: &str, route: &TopicRouteData, ip_list: &str) -> AllocateReport {
    let ips: Vec<String> = ip_list.split(',').map(str::to_owned).collect();
    let sorted = ferromq_client::route::subscribe_queues(topic, route);
    let hashes: Vec<i32> = sorted.iter().map(mq_hash).collect();
    let mq_all: Vec<MessageQueue> = java_hash_order(&hashes, 16)
        .into_iter()
        .map(|i| sorted[i].clone())
        .collect();
    let mut result = BTreeMap::new();
    for ip in &ips {
        result.insert(ip.clone(), Averagely.allocate("aa", ip, &mq_all, &ips));
    }
    AllocateReport { ips, result }
}

/// Java `RebalanceResult`: client id → its queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocateReport {
    /// The ids as given (duplicates collapse into one entry, as in Java's map).
    pub ips: Vec<String>,
    /// Each id's queues.
    pub result: BTreeMap<String, Vec<MessageQueue>>,
}

impl fmt::Display for AllocateReport {
    /// `{"result":{"ip":[{"brokerName":..,"queueId":..,"topic":..},..],..}}` and a line break,
    /// the ids in Java `HashMap` order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keys: Vec<&String> = Vec::new();
        for ip in &self.ips {
            if !keys.contains(&ip) {
                keys.push(ip);
            }
        }
        let hashes: Vec<i32> = keys.iter().map(|k| java_string_hash(k)).collect();
        let mut out = String::from("{\"result\":{");
        for (n, i) in java_hash_order(&hashes, 16).into_iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            let key = keys[i];
            out.push_str(&serde_json::to_string(key).map_err(|_| fmt::Error)?);
            out.push(':');
            let queues = self.result.get(key).map(Vec::as_slice).unwrap_or(&[]);
            out.push_str(&serde_json::to_string(queues).map_err(|_| fmt::Error)?);
        }
        out.push_str("}}");
        writeln!(f, "{out}")
    }
}

#[cfg(test)]
mod tests {
    use ferromq_proto::body::QueueData;

    use super::*;

    fn route(brokers: &[&str], queues: i32) -> TopicRouteData {
        TopicRouteData {
            queue_datas: brokers
                .iter()
                .map(|b| QueueData {
                    broker_name: (*b).to_owned(),
                    read_queue_nums: queues,
                    write_queue_nums: queues,
                    perm: 6,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn every_queue_has_one_owner() {
        let r = allocate(
            "T",
            &route(&["broker-a", "broker-b"], 4),
            "10.0.0.1,10.0.0.2,10.0.0.3",
        );
        let mut all: Vec<&MessageQueue> = r.result.values().flatten().collect();
        assert_eq!(all.len(), 8);
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 8);
        let sizes: Vec<usize> = r.ips.iter().map(|ip| r.result[ip].len()).collect();
        assert_eq!(sizes, [3, 3, 2]);
    }

    #[test]
    fn json_is_fastjson_shaped() {
        let r = allocate("T", &route(&["broker-a"], 2), "c1");
        let text = r.to_string();
        // HashSet order of the two queues by Java's MessageQueue.hashCode.
        let q0 = MessageQueue::new("T", "broker-a", 0);
        let q1 = MessageQueue::new("T", "broker-a", 1);
        let b0 = (mq_hash(&q0) ^ ((mq_hash(&q0) as u32) >> 16) as i32) & 15;
        let b1 = (mq_hash(&q1) ^ ((mq_hash(&q1) as u32) >> 16) as i32) & 15;
        let (first, second) = if b0 <= b1 { (0, 1) } else { (1, 0) };
        assert_eq!(
            text,
            format!(
                "{{\"result\":{{\"c1\":[{{\"brokerName\":\"broker-a\",\"queueId\":{first},\"topic\":\"T\"}},{{\"brokerName\":\"broker-a\",\"queueId\":{second},\"topic\":\"T\"}}]}}}}\n"
            )
        );
    }

    #[test]
    fn java_message_queue_hash() {
        // new MessageQueue("T", "a", 0).hashCode() = 31 * (31 * (31 + 97) + 0) + 84.
        assert_eq!(
            mq_hash(&MessageQueue::new("T", "a", 0)),
            31 * (31 * 128) + 84
        );
    }
}
