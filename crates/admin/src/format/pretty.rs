//! fastjson's `PrettyFormat` output (fastjson 1.2.83, what `RemotingSerializable.toJson(true)`
//! prints), for the bodies mqadmin prints as JSON.
//!
//! The quirks copied, from fastjson's serializers:
//! * indentation is one tab per level; no space after `:`;
//! * a bean (`JavaBeanSerializer`) opens with a newline, puts each property on its own line and
//!   closes on its own line;
//! * a list (`ListSerializer`) puts each item on its own line; an empty one is `[]`;
//! * a map (`MapSerializer`) puts a newline before each **string** key but none before a
//!   non-string key, so `HashMap<Long, String>` prints as `{0:"a:1"` followed by a newline and
//!   the closing brace; an empty map is `{}`.

use std::fmt::Write;

use ferromq_proto::body::{BrokerData, QueueData, TopicRouteData};

/// One value to print.
#[derive(Debug, Clone)]
pub enum Node {
    /// A Java bean: properties in the given (alphabetical) order.
    Bean(Vec<(String, Node)>),
    /// A map with string keys.
    Map(Vec<(String, Node)>),
    /// A map with number keys (written bare, as fastjson does by default).
    NumberMap(Vec<(i64, Node)>),
    /// A list or set.
    List(Vec<Node>),
    /// A string (quoted and escaped on output).
    Str(String),
    /// A number or boolean, written as is.
    Raw(String),
}

impl Node {
    /// Renders the value as fastjson's pretty format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out
    }

    fn write(&self, out: &mut String, indent: usize) {
        match self {
            Node::Bean(fields) if fields.is_empty() => out.push_str("{}"),
            Node::Bean(fields) => {
                out.push('{');
                newline(out, indent + 1);
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                        newline(out, indent + 1);
                    }
                    write_str(out, name);
                    out.push(':');
                    value.write(out, indent + 1);
                }
                newline(out, indent);
                out.push('}');
            }
            Node::Map(entries) => {
                out.push('{');
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, indent + 1);
                    write_str(out, key);
                    out.push(':');
                    value.write(out, indent + 1);
                }
                if !entries.is_empty() {
                    newline(out, indent);
                }
                out.push('}');
            }
            Node::NumberMap(entries) => {
                out.push('{');
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{key}:");
                    value.write(out, indent + 1);
                }
                if !entries.is_empty() {
                    newline(out, indent);
                }
                out.push('}');
            }
            Node::List(items) if items.is_empty() => out.push_str("[]"),
            Node::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, indent + 1);
                    item.write(out, indent + 1);
                }
                newline(out, indent);
                out.push(']');
            }
            Node::Str(s) => write_str(out, s),
            Node::Raw(s) => out.push_str(s),
        }
    }
}

fn newline(out: &mut String, indent: usize) {
    out.push('\n');
    out.extend(std::iter::repeat_n('\t', indent));
}

fn write_str(out: &mut String, s: &str) {
    out.push_str(&serde_json::Value::String(s.to_owned()).to_string());
}

/// A serde_json value as a node (objects become beans when non-empty, like the Java beans they
/// stand for).
pub fn from_value(v: &serde_json::Value) -> Node {
    use serde_json::Value;
    match v {
        Value::Null => Node::Raw("null".into()),
        Value::Bool(b) => Node::Raw(b.to_string()),
        Value::Number(n) => Node::Raw(n.to_string()),
        Value::String(s) => Node::Str(s.clone()),
        Value::Array(items) => Node::List(items.iter().map(from_value).collect()),
        Value::Object(map) => Node::Bean(
            map.iter()
                .map(|(k, v)| (k.clone(), from_value(v)))
                .collect(),
        ),
    }
}

fn raw(v: impl ToString) -> Node {
    Node::Raw(v.to_string())
}

/// `BrokerData` as its Java bean.
pub fn broker_data(bd: &BrokerData) -> Node {
    let mut fields = vec![
        (
            "brokerAddrs".to_owned(),
            Node::NumberMap(
                bd.broker_addrs
                    .iter()
                    .map(|(id, a)| (*id, Node::Str(a.clone())))
                    .collect(),
            ),
        ),
        ("brokerName".to_owned(), Node::Str(bd.broker_name.clone())),
        ("cluster".to_owned(), Node::Str(bd.cluster.clone())),
        (
            "enableActingMaster".to_owned(),
            raw(bd.enable_acting_master),
        ),
    ];
    if let Some(zone) = &bd.zone_name {
        fields.push(("zoneName".to_owned(), Node::Str(zone.clone())));
    }
    Node::Bean(fields)
}

/// `QueueData` as its Java bean.
pub fn queue_data(qd: &QueueData) -> Node {
    Node::Bean(vec![
        ("brokerName".to_owned(), Node::Str(qd.broker_name.clone())),
        ("perm".to_owned(), raw(qd.perm)),
        ("readQueueNums".to_owned(), raw(qd.read_queue_nums)),
        ("topicSysFlag".to_owned(), raw(qd.topic_sys_flag)),
        ("writeQueueNums".to_owned(), raw(qd.write_queue_nums)),
    ])
}

/// `TopicRouteData.toJson(true)`, what `mqadmin topicRoute` prints.
pub fn topic_route(route: &TopicRouteData) -> String {
    let mut fields = vec![
        (
            "brokerDatas".to_owned(),
            Node::List(route.broker_datas.iter().map(broker_data).collect()),
        ),
        (
            "filterServerTable".to_owned(),
            Node::Map(
                route
                    .filter_server_table
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            Node::List(v.iter().cloned().map(Node::Str).collect()),
                        )
                    })
                    .collect(),
            ),
        ),
    ];
    if let Some(conf) = &route.order_topic_conf {
        fields.push(("orderTopicConf".to_owned(), Node::Str(conf.clone())));
    }
    fields.push((
        "queueDatas".to_owned(),
        Node::List(route.queue_datas.iter().map(queue_data).collect()),
    ));
    if let Some(mapping) = &route.topic_queue_mapping_by_broker {
        fields.push((
            "topicQueueMappingByBroker".to_owned(),
            Node::Map(
                mapping
                    .iter()
                    .map(|(k, v)| (k.clone(), from_value(v)))
                    .collect(),
            ),
        ));
    }
    Node::Bean(fields).render()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn route_prints_like_fastjson_pretty() {
        let route = TopicRouteData {
            broker_datas: vec![BrokerData {
                broker_addrs: BTreeMap::from([(0, "127.0.0.1:10911".to_string())]),
                broker_name: "broker-a".into(),
                cluster: "DefaultCluster".into(),
                enable_acting_master: false,
                zone_name: None,
            }],
            queue_datas: vec![QueueData {
                broker_name: "broker-a".into(),
                perm: 6,
                read_queue_nums: 8,
                topic_sys_flag: 0,
                write_queue_nums: 8,
            }],
            ..Default::default()
        };
        let expected = "{\n\
            \t\"brokerDatas\":[\n\
            \t\t{\n\
            \t\t\t\"brokerAddrs\":{0:\"127.0.0.1:10911\"\n\
            \t\t\t},\n\
            \t\t\t\"brokerName\":\"broker-a\",\n\
            \t\t\t\"cluster\":\"DefaultCluster\",\n\
            \t\t\t\"enableActingMaster\":false\n\
            \t\t}\n\
            \t],\n\
            \t\"filterServerTable\":{},\n\
            \t\"queueDatas\":[\n\
            \t\t{\n\
            \t\t\t\"brokerName\":\"broker-a\",\n\
            \t\t\t\"perm\":6,\n\
            \t\t\t\"readQueueNums\":8,\n\
            \t\t\t\"topicSysFlag\":0,\n\
            \t\t\t\"writeQueueNums\":8\n\
            \t\t}\n\
            \t]\n\
            }";
        assert_eq!(topic_route(&route), expected);
    }

    #[test]
    fn maps_with_several_keys() {
        let n = Node::NumberMap(vec![
            (0, Node::Str("a:1".into())),
            (1, Node::Str("b:1".into())),
        ]);
        assert_eq!(n.render(), "{0:\"a:1\",1:\"b:1\"\n}");
        let m = Node::Map(vec![("k".into(), Node::List(vec![Node::Str("v".into())]))]);
        assert_eq!(m.render(), "{\n\t\"k\":[\n\t\t\"v\"\n\t]\n}");
        assert_eq!(Node::Map(vec![]).render(), "{}");
        assert_eq!(Node::NumberMap(vec![]).render(), "{}");
    }
}
