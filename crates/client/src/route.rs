//! Topic routes: fetching them from the name servers, caching them, and turning them into the
//! queue lists producers write to and consumers read from.
//!
//! ```text
//! GET_ROUTEINFO_BY_TOPIC ─▶ TopicRouteData ─┬─▶ PublishInfo  (writable queues of masters, round robin)
//!                                            └─▶ subscribe_queues (readable queues of every broker)
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_common::names::AUTO_CREATE_TOPIC;
use ferromq_common::perm;
use ferromq_proto::body::{MessageQueue, TopicRouteData};
use ferromq_proto::codes::{request, response};
use ferromq_proto::headers::GetRouteInfoRequestHeader;
use ferromq_proto::RemotingCommand;
use parking_lot::Mutex;

use crate::rpc::{decode_body, expect_success, Rpc};
use crate::ClientError;

/// How long a cached route is trusted (Java clients refresh every 30 s).
pub const ROUTE_TTL: Duration = Duration::from_secs(30);

/// Queue count a producer asks for when a topic is auto-created (Java `defaultTopicQueueNums`).
pub const DEFAULT_TOPIC_QUEUE_NUMS: i32 = 4;

/// Asks the name servers (in turn) for the route of `topic`.
///
/// Returns the route, [`ClientError::Broker`] with `TOPIC_NOT_EXIST` (17) when no name server
/// knows the topic, or the transport error when none answered.
pub async fn fetch_route(rpc: &Rpc, topic: &str) -> Result<TopicRouteData, ClientError> {
    let header = GetRouteInfoRequestHeader {
        topic: topic.to_owned(),
        accept_standard_json_only: None,
    };
    let resp = expect_success(
        rpc.call_namesrv(RemotingCommand::request(
            request::GET_ROUTEINFO_BY_TOPIC,
            &header,
        ))
        .await?,
    )?;
    decode_body(&resp, "GET_ROUTEINFO_BY_TOPIC")
}

/// The writable queues of a topic, in Java's order, with a round-robin cursor
/// (Java `TopicPublishInfo`).
#[derive(Debug)]
pub struct PublishInfo {
    /// The topic the queues belong to.
    pub topic: String,
    /// Queues a producer may send to.
    pub queues: Vec<MessageQueue>,
    /// True when the list came from the route's `orderTopicConf`.
    pub order_topic: bool,
    /// True when the topic had no route and the list was derived from `TBW102`.
    pub from_default_topic: bool,
    cursor: AtomicUsize,
}

impl PublishInfo {
    /// Builds the queue list of `topic` from its route (Java `topicRouteData2TopicPublishInfo`):
    /// the route's `orderTopicConf` when present, otherwise queues `0..writeQueueNums` of every
    /// writable queue data whose broker has a master, sorted by broker name.
    pub fn from_route(topic: &str, route: &TopicRouteData) -> Self {
        let mut queues = Vec::new();
        let conf = route.order_topic_conf.as_deref().filter(|c| !c.is_empty());
        if let Some(conf) = conf {
            for item in conf.split(';') {
                let Some((broker, nums)) = item.split_once(':') else {
                    continue;
                };
                let nums = nums.trim().parse::<i32>().unwrap_or(0);
                queues.extend((0..nums).map(|i| MessageQueue::new(topic, broker, i)));
            }
        } else {
            let mut datas: Vec<_> = route.queue_datas.iter().collect();
            datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
            for qd in datas {
                if !perm::is_writeable(qd.perm) {
                    continue;
                }
                let has_master = route
                    .broker_datas
                    .iter()
                    .find(|bd| bd.broker_name == qd.broker_name)
                    .is_some_and(|bd| bd.master_addr().is_some());
                if has_master {
                    queues.extend(
                        (0..qd.write_queue_nums)
                            .map(|i| MessageQueue::new(topic, &qd.broker_name, i)),
                    );
                }
            }
        }
        PublishInfo {
            topic: topic.to_owned(),
            queues,
            order_topic: conf.is_some(),
            from_default_topic: false,
            cursor: AtomicUsize::new(rand::random::<u16>() as usize),
        }
    }

    /// The next queue, round robin; on a retry (`last_broker` set) the next queue on another
    /// broker when there is one (Java `selectOneMessageQueue(lastBrokerName)`).
    pub fn select(&self, last_broker: Option<&str>) -> Option<&MessageQueue> {
        let n = self.queues.len();
        if n == 0 {
            return None;
        }
        if let Some(last) = last_broker {
            for _ in 0..n {
                let q = &self.queues[self.cursor.fetch_add(1, Ordering::Relaxed) % n];
                if q.broker_name != last {
                    return Some(q);
                }
            }
        }
        Some(&self.queues[self.cursor.fetch_add(1, Ordering::Relaxed) % n])
    }
}

/// Readable queues of every broker of `topic` (Java `topicRouteData2TopicSubscribeInfo`),
/// sorted by broker name then queue id.
pub fn subscribe_queues(topic: &str, route: &TopicRouteData) -> Vec<MessageQueue> {
    let mut queues: Vec<_> = route
        .queue_datas
        .iter()
        .filter(|qd| perm::is_readable(qd.perm))
        .flat_map(|qd| {
            (0..qd.read_queue_nums).map(move |i| MessageQueue::new(topic, &qd.broker_name, i))
        })
        .collect();
    queues.sort();
    queues
}

struct Cached {
    route: Arc<TopicRouteData>,
    publish: Arc<PublishInfo>,
    fetched: Instant,
}

/// A cache of routes, shared by the producer and the consumer of one client.
pub struct RouteCache {
    rpc: Rpc,
    ttl: Duration,
    entries: Mutex<HashMap<String, Cached>>,
}

impl RouteCache {
    /// A cache over `rpc`'s name servers, keeping routes for [`ROUTE_TTL`].
    pub fn new(rpc: Rpc) -> Self {
        RouteCache {
            rpc,
            ttl: ROUTE_TTL,
            entries: Mutex::default(),
        }
    }

    /// The route of `topic`, from the cache when fresh.
    pub async fn route(&self, topic: &str) -> Result<Arc<TopicRouteData>, ClientError> {
        if let Some(r) = self.fresh(topic, |c| Arc::clone(&c.route)) {
            return Ok(r);
        }
        self.refresh(topic).await.map(|(route, _)| route)
    }

    /// Fetches the route of `topic` now and caches it.
    pub async fn refresh(
        &self,
        topic: &str,
    ) -> Result<(Arc<TopicRouteData>, Arc<PublishInfo>), ClientError> {
        let route = Arc::new(fetch_route(&self.rpc, topic).await?);
        let publish = Arc::new(PublishInfo::from_route(topic, &route));
        self.entries.lock().insert(
            topic.to_owned(),
            Cached {
                route: Arc::clone(&route),
                publish: Arc::clone(&publish),
                fetched: Instant::now(),
            },
        );
        Ok((route, publish))
    }

    /// The queues a producer may send `topic` to.
    ///
    /// When no name server knows the topic, the queues of `TBW102` are used instead, each
    /// broker's count capped at [`DEFAULT_TOPIC_QUEUE_NUMS`], so that the broker auto-creates
    /// the topic on the first send (Java producer behaviour). Such a list is not cached, so the
    /// real route is picked up as soon as the broker has registered the new topic.
    pub async fn publish_info(&self, topic: &str) -> Result<Arc<PublishInfo>, ClientError> {
        // A route with no writable queue (e.g. its master just died) is asked for again at
        // once, as Java's `tryToFindTopicPublishInfo` does: a new master may be there already.
        if let Some(p) = self
            .fresh(topic, |c| Arc::clone(&c.publish))
            .filter(|p| !p.queues.is_empty())
        {
            return Ok(p);
        }
        match self.refresh(topic).await {
            Ok((_, publish)) => Ok(publish),
            Err(ClientError::Broker {
                code: response::TOPIC_NOT_EXIST,
                ..
            }) => {
                let mut route =
                    fetch_route(&self.rpc, AUTO_CREATE_TOPIC)
                        .await
                        .map_err(|e| match e {
                            ClientError::Broker {
                                code: response::TOPIC_NOT_EXIST,
                                ..
                            } => ClientError::NoRoute {
                                topic: topic.to_owned(),
                                reason: "the name servers know neither it nor TBW102",
                            },
                            other => other,
                        })?;
                for qd in &mut route.queue_datas {
                    qd.read_queue_nums = qd.read_queue_nums.min(DEFAULT_TOPIC_QUEUE_NUMS);
                    qd.write_queue_nums = qd.write_queue_nums.min(DEFAULT_TOPIC_QUEUE_NUMS);
                }
                let mut publish = PublishInfo::from_route(topic, &route);
                publish.from_default_topic = true;
                self.remember_brokers(topic, route);
                Ok(Arc::new(publish))
            }
            Err(e) => Err(e),
        }
    }

    /// Drops the cached route of `topic`.
    pub fn invalidate(&self, topic: &str) {
        self.entries.lock().remove(topic);
    }

    /// The master address of `broker_name` from any cached route.
    pub fn master_addr(&self, broker_name: &str) -> Option<String> {
        self.addr_where(broker_name, |bd| bd.master_addr().map(str::to_owned))
    }

    /// The master address of `broker_name`, or any slave's when it has no master (reads may go
    /// to a slave).
    pub fn read_addr(&self, broker_name: &str) -> Option<String> {
        self.addr_where(broker_name, |bd| {
            bd.master_addr()
                .or_else(|| bd.broker_addrs.values().next().map(String::as_str))
                .map(str::to_owned)
        })
    }

    /// Finds an address for `broker_name` serving `topic`, fetching the topic's route when the
    /// cache has no address for it. `write` asks for the master only.
    pub async fn broker_addr(
        &self,
        topic: &str,
        broker_name: &str,
        write: bool,
    ) -> Result<String, ClientError> {
        let lookup = |c: &Self| {
            if write {
                c.master_addr(broker_name)
            } else {
                c.read_addr(broker_name)
            }
        };
        if let Some(a) = lookup(self) {
            return Ok(a);
        }
        self.refresh(topic).await?;
        lookup(self).ok_or_else(|| ClientError::NoBrokerAddress {
            broker_name: broker_name.to_owned(),
        })
    }

    /// The topics with a cached route of their own.
    pub fn cached_topics(&self) -> Vec<String> {
        self.entries
            .lock()
            .keys()
            .filter(|k| !k.starts_with('\u{0}'))
            .cloned()
            .collect()
    }

    /// Every topic that has a cached route, and the master addresses of their brokers.
    pub fn cached_master_addrs(&self) -> Vec<String> {
        let entries = self.entries.lock();
        let mut addrs: Vec<String> = entries
            .values()
            .flat_map(|c| {
                c.route
                    .broker_datas
                    .iter()
                    .filter_map(|bd| bd.master_addr().map(str::to_owned))
            })
            .collect();
        addrs.sort();
        addrs.dedup();
        addrs
    }

    fn fresh<T>(&self, topic: &str, pick: impl FnOnce(&Cached) -> T) -> Option<T> {
        let entries = self.entries.lock();
        entries
            .get(topic)
            .filter(|c| c.fetched.elapsed() < self.ttl)
            .map(pick)
    }

    fn addr_where(
        &self,
        broker_name: &str,
        pick: impl Fn(&ferromq_proto::body::BrokerData) -> Option<String>,
    ) -> Option<String> {
        // The freshest route first: after a failover an older entry (another topic's, or a
        // default-topic one) may still name the old master.
        let entries = self.entries.lock();
        let mut cached: Vec<&Cached> = entries.values().collect();
        cached.sort_by_key(|c| std::cmp::Reverse(c.fetched));
        cached
            .into_iter()
            .flat_map(|c| c.route.broker_datas.iter())
            .filter(|bd| bd.broker_name == broker_name)
            .find_map(pick)
    }

    /// Keeps the broker addresses of a `TBW102`-derived route under a private key so that
    /// `master_addr` finds them, without passing the route off as the topic's own.
    fn remember_brokers(&self, topic: &str, route: TopicRouteData) {
        let key = format!("\u{0}default-route:{topic}");
        let publish = Arc::new(PublishInfo::from_route(topic, &route));
        self.entries.lock().insert(
            key,
            Cached {
                route: Arc::new(route),
                publish,
                fetched: Instant::now(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use ferromq_proto::body::{BrokerData, QueueData};

    use super::*;

    fn broker(name: &str, addrs: &[(i64, &str)]) -> BrokerData {
        BrokerData {
            broker_addrs: addrs
                .iter()
                .map(|(id, a)| (*id, a.to_string()))
                .collect::<BTreeMap<_, _>>(),
            broker_name: name.into(),
            cluster: "DefaultCluster".into(),
            ..Default::default()
        }
    }

    fn queues(name: &str, r: i32, w: i32, perm: i32) -> QueueData {
        QueueData {
            broker_name: name.into(),
            perm,
            read_queue_nums: r,
            write_queue_nums: w,
            topic_sys_flag: 0,
        }
    }

    fn two_brokers() -> TopicRouteData {
        TopicRouteData {
            broker_datas: vec![
                broker("broker-b", &[(0, "b:10911")]),
                broker("broker-a", &[(0, "a:10911"), (1, "a2:10911")]),
            ],
            queue_datas: vec![queues("broker-b", 2, 2, 6), queues("broker-a", 3, 2, 6)],
            ..Default::default()
        }
    }

    fn names(qs: &[MessageQueue]) -> Vec<String> {
        qs.iter()
            .map(|q| format!("{}/{}", q.broker_name, q.queue_id))
            .collect()
    }

    #[test]
    fn publish_queues_are_writable_master_queues_sorted_by_broker() {
        let mut route = two_brokers();
        route.queue_datas.push(queues("broker-c", 4, 4, 4)); // read-only
        route.queue_datas.push(queues("broker-d", 4, 4, 6)); // no broker data
        route.broker_datas.push(broker("broker-e", &[(1, "e:1")]));
        route.queue_datas.push(queues("broker-e", 4, 4, 6)); // slave only
        let info = PublishInfo::from_route("T", &route);
        assert_eq!(
            names(&info.queues),
            ["broker-a/0", "broker-a/1", "broker-b/0", "broker-b/1"]
        );
        assert!(info.queues.iter().all(|q| q.topic == "T"));
        assert!(!info.order_topic);
    }

    #[test]
    fn order_topic_conf_wins() {
        let mut route = two_brokers();
        route.order_topic_conf = Some("broker-b:3;broker-a:1".into());
        let info = PublishInfo::from_route("T", &route);
        assert_eq!(
            names(&info.queues),
            ["broker-b/0", "broker-b/1", "broker-b/2", "broker-a/0"]
        );
        assert!(info.order_topic);
    }

    #[test]
    fn select_is_round_robin() {
        let info = PublishInfo::from_route("T", &two_brokers());
        let picks: Vec<_> = (0..8).map(|_| info.select(None).unwrap().clone()).collect();
        for (i, q) in picks.iter().enumerate().skip(4) {
            assert_eq!(*q, picks[i - 4], "period is the queue count");
        }
        let mut first_four = picks[..4].to_vec();
        first_four.sort();
        assert_eq!(
            names(&first_four),
            ["broker-a/0", "broker-a/1", "broker-b/0", "broker-b/1"]
        );
    }

    #[test]
    fn retry_avoids_the_last_broker() {
        let info = PublishInfo::from_route("T", &two_brokers());
        for _ in 0..10 {
            assert_eq!(
                info.select(Some("broker-a")).unwrap().broker_name,
                "broker-b"
            );
            assert_eq!(
                info.select(Some("broker-b")).unwrap().broker_name,
                "broker-a"
            );
        }
        let one = TopicRouteData {
            broker_datas: vec![broker("only", &[(0, "o:1")])],
            queue_datas: vec![queues("only", 1, 1, 6)],
            ..Default::default()
        };
        let info = PublishInfo::from_route("T", &one);
        assert_eq!(
            info.select(Some("only")).unwrap().broker_name,
            "only",
            "falls back to the same broker"
        );
        let empty = PublishInfo::from_route("T", &TopicRouteData::default());
        assert!(empty.select(None).is_none());
    }

    #[test]
    fn subscribe_queues_are_readable_queues_of_every_broker() {
        let mut route = two_brokers();
        route.queue_datas.push(queues("broker-c", 1, 1, 2)); // write-only
        assert_eq!(
            names(&subscribe_queues("T", &route)),
            [
                "broker-a/0",
                "broker-a/1",
                "broker-a/2",
                "broker-b/0",
                "broker-b/1"
            ]
        );
    }
}
