//! `updateTopic` (Java `UpdateTopicSubCommand`): create or change a topic on one broker or on
//! every master of a cluster, optionally registering it as an ordered topic.

use std::collections::BTreeMap;
use std::fmt;

use ferromq_client::admin::ORDER_TOPIC_CONFIG;
use ferromq_client::AdminClient;
use ferromq_proto::body::TopicConfig;

use crate::cluster::{broker_name_of, master_addrs, CLUSTER_ERROR};
use crate::format::java_map;
use crate::AdminError;

/// Where a topic command applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One broker, by address (`-b`).
    Broker(String),
    /// Every master of a cluster (`-c`).
    Cluster(String),
}

/// The options of `updateTopic`, with the tool's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateTopicOptions {
    /// `-b` or `-c`.
    pub target: Target,
    /// `-t`.
    pub topic: String,
    /// `-r` (default 8).
    pub read_queue_nums: i32,
    /// `-w` (default 8).
    pub write_queue_nums: i32,
    /// `-p` (default 6).
    pub perm: i32,
    /// `-o`.
    pub order: bool,
    /// `-u`: unit topic.
    pub unit: bool,
    /// `-s`: has unit subscription.
    pub has_unit_sub: bool,
    /// `-a` parsed (`+key=value`, `-key`).
    pub attributes: BTreeMap<String, String>,
}

impl UpdateTopicOptions {
    /// Defaults for `topic` on `target`: 8 read and 8 write queues, perm 6.
    pub fn new(target: Target, topic: impl Into<String>) -> Self {
        UpdateTopicOptions {
            target,
            topic: topic.into(),
            read_queue_nums: 8,
            write_queue_nums: 8,
            perm: 6,
            order: false,
            unit: false,
            has_unit_sub: false,
            attributes: BTreeMap::new(),
        }
    }

    /// The `TopicConfig` sent to the brokers.
    pub fn topic_config(&self) -> TopicConfig {
        let mut c = TopicConfig::new(self.topic.trim());
        c.read_queue_nums = self.read_queue_nums;
        c.write_queue_nums = self.write_queue_nums;
        c.perm = self.perm;
        c.order = self.order;
        c.topic_sys_flag = i32::from(self.unit) | (i32::from(self.has_unit_sub) << 1);
        c.attributes = self.attributes.clone();
        c
    }
}

/// Java `AttributeParser.parseToMap`: `+a=b,+c=d,-e`.
pub fn parse_attributes(text: &str) -> Result<BTreeMap<String, String>, AdminError> {
    let mut out = BTreeMap::new();
    if text.is_empty() {
        return Ok(out);
    }
    let bad = |reason: String| AdminError::InvalidArgument { reason };
    for kv in text.split(',') {
        let (key, value) = match kv.split_once('=') {
            Some((k, v)) => {
                if !k.contains('+') {
                    return Err(bad(format!("add/alter attribute format is wrong: {k}")));
                }
                (k, v)
            }
            None => {
                if !kv.contains('-') {
                    return Err(bad(format!("delete attribute format is wrong: {kv}")));
                }
                (kv, "")
            }
        };
        if out.insert(key.to_owned(), value.to_owned()).is_some() {
            return Err(bad(format!("key duplication: {key}")));
        }
    }
    Ok(out)
}

/// What `updateTopic` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateTopicReport {
    /// The configuration sent.
    pub config: TopicConfig,
    /// The target.
    pub target: Target,
    /// Broker addresses the topic was created on, in order.
    pub created_on: Vec<String>,
    /// The `ORDER_TOPIC_CONFIG` value registered for `-o true`.
    pub order_conf: Option<String>,
    /// `-c` named a cluster the name server does not know (Java prints an error and goes on).
    pub cluster_missing: bool,
}

/// Java `TopicConfig.toString()`.
pub fn topic_config_line(c: &TopicConfig) -> String {
    let perm = format!(
        "{}{}{}",
        if c.perm & 4 != 0 { 'R' } else { '-' },
        if c.perm & 2 != 0 { 'W' } else { '-' },
        if c.perm & 1 != 0 { 'X' } else { '-' }
    );
    format!(
        "TopicConfig [topicName={}, readQueueNums={}, writeQueueNums={}, perm={}, topicFilterType={}, topicSysFlag={}, order={}, attributes={}]",
        c.topic_name,
        c.read_queue_nums,
        c.write_queue_nums,
        perm,
        c.topic_filter_type,
        c.topic_sys_flag,
        c.order,
        java_map(&c.attributes)
    )
}

fn created_line(addr: &str) -> String {
    format!("create topic to {addr} success.\n")
}

/// Runs `updateTopic`.
///
/// `-b`: UPDATE_AND_CREATE_TOPIC (17) to the broker; with `-o true` the broker's entry is merged
/// into the topic's `ORDER_TOPIC_CONFIG` value. `-c`: NS 106, then 17 to every master of the
/// cluster; with `-o true` PUT_KV_CONFIG `ORDER_TOPIC_CONFIG` = `broker:writeQueues;...`.
/// A failure after some brokers succeeded is [`AdminError::Partial`].
pub async fn update_topic(
    admin: &AdminClient,
    opts: &UpdateTopicOptions,
) -> Result<UpdateTopicReport, AdminError> {
    let config = opts.topic_config();
    ferromq_common::validate_topic(&config.topic_name)
        .map_err(ferromq_client::ClientError::from)?;
    let mut report = UpdateTopicReport {
        config: config.clone(),
        target: opts.target.clone(),
        created_on: Vec::new(),
        order_conf: None,
        cluster_missing: false,
    };
    match &opts.target {
        Target::Broker(addr) => {
            admin.create_topic(addr, &config).await?;
            report.created_on.push(addr.clone());
            if opts.order {
                let order = async {
                    let info = admin.cluster_info().await?;
                    let name = broker_name_of(&info, addr).ok_or_else(|| AdminError::NotFound {
                        message: CLUSTER_ERROR["[error] ".len()..].to_owned(),
                    })?;
                    let conf = format!("{name}:{}", config.write_queue_nums);
                    // Merge with the other brokers' entries (Java `createOrUpdateOrderConf(.., false)`).
                    let old = admin
                        .get_kv_config(ORDER_TOPIC_CONFIG, &config.topic_name)
                        .await
                        .ok()
                        .flatten();
                    let mut entries: BTreeMap<String, String> = old
                        .iter()
                        .flat_map(|o| o.split(';'))
                        .filter(|e| !e.is_empty())
                        .map(|e| (e.split(':').next().unwrap_or(e).to_owned(), e.to_owned()))
                        .collect();
                    entries.insert(name, conf.clone());
                    let merged = entries.into_values().collect::<Vec<_>>().join(";");
                    admin
                        .put_kv_config(ORDER_TOPIC_CONFIG, &config.topic_name, &merged)
                        .await?;
                    Ok::<_, AdminError>(conf)
                };
                report.order_conf = Some(order.await.map_err(|e| e.after(created_line(addr)))?);
            }
        }
        Target::Cluster(cluster) => {
            let info = admin.cluster_info().await?;
            let masters = master_addrs(&info, cluster);
            report.cluster_missing = masters.is_none();
            let mut done = String::new();
            for addr in masters.unwrap_or_default() {
                admin
                    .create_topic(&addr, &config)
                    .await
                    .map_err(|e| AdminError::from(e).after(done.clone()))?;
                done.push_str(&created_line(&addr));
                report.created_on.push(addr);
            }
            if opts.order {
                let names = info
                    .cluster_addr_table
                    .get(cluster)
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| {
                        AdminError::NotFound {
                            message: CLUSTER_ERROR["[error] ".len()..].to_owned(),
                        }
                        .after(done.clone())
                    })?;
                let conf = names
                    .iter()
                    .map(|n| format!("{n}:{}", config.write_queue_nums))
                    .collect::<Vec<_>>()
                    .join(";");
                admin
                    .put_kv_config(ORDER_TOPIC_CONFIG, &config.topic_name, &conf)
                    .await
                    .map_err(|e| AdminError::from(e).after(done.clone()))?;
                report.order_conf = Some(conf);
            }
        }
    }
    Ok(report)
}

impl fmt::Display for UpdateTopicReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.target {
            Target::Broker(addr) => {
                if let Some(conf) = &self.order_conf {
                    writeln!(
                        f,
                        "set broker orderConf. isOrder={}, orderConf=[{conf}]",
                        self.config.order
                    )?;
                }
                f.write_str(&created_line(addr))?;
            }
            Target::Cluster(_) => {
                if self.cluster_missing {
                    f.write_str(CLUSTER_ERROR)?;
                }
                for addr in &self.created_on {
                    f.write_str(&created_line(addr))?;
                }
                if let Some(conf) = &self.order_conf {
                    writeln!(
                        f,
                        "set cluster orderConf. isOrder={}, orderConf=[{conf}]",
                        self.config.order
                    )?;
                }
            }
        }
        writeln!(f, "{}", topic_config_line(&self.config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_build_the_java_topic_config() {
        let mut o = UpdateTopicOptions::new(Target::Broker("127.0.0.1:10911".into()), "tp_demo_06");
        o.write_queue_nums = 6;
        o.unit = true;
        let c = o.topic_config();
        assert_eq!(
            (
                c.read_queue_nums,
                c.write_queue_nums,
                c.perm,
                c.topic_sys_flag
            ),
            (8, 6, 6, 1)
        );
        assert_eq!(
            topic_config_line(&c),
            "TopicConfig [topicName=tp_demo_06, readQueueNums=8, writeQueueNums=6, perm=RW-, topicFilterType=SINGLE_TAG, topicSysFlag=1, order=false, attributes={}]"
        );
    }

    #[test]
    fn broker_report_prints_like_java() {
        let o = UpdateTopicOptions::new(Target::Broker("127.0.0.1:10911".into()), "T");
        let report = UpdateTopicReport {
            config: o.topic_config(),
            target: o.target.clone(),
            created_on: vec!["127.0.0.1:10911".into()],
            order_conf: None,
            cluster_missing: false,
        };
        assert_eq!(
            report.to_string(),
            "create topic to 127.0.0.1:10911 success.\nTopicConfig [topicName=T, readQueueNums=8, writeQueueNums=8, perm=RW-, topicFilterType=SINGLE_TAG, topicSysFlag=0, order=false, attributes={}]\n"
        );
    }

    #[test]
    fn cluster_report_with_order_conf() {
        let mut o = UpdateTopicOptions::new(Target::Cluster("C".into()), "T");
        o.order = true;
        o.perm = 7;
        let report = UpdateTopicReport {
            config: o.topic_config(),
            target: o.target.clone(),
            created_on: vec!["a:1".into(), "b:1".into()],
            order_conf: Some("ba:8;bb:8".into()),
            cluster_missing: false,
        };
        let text = report.to_string();
        assert_eq!(
            text.lines().collect::<Vec<_>>(),
            [
                "create topic to a:1 success.",
                "create topic to b:1 success.",
                "set cluster orderConf. isOrder=true, orderConf=[ba:8;bb:8]",
                "TopicConfig [topicName=T, readQueueNums=8, writeQueueNums=8, perm=RWX, topicFilterType=SINGLE_TAG, topicSysFlag=0, order=true, attributes={}]",
            ]
        );
    }

    #[test]
    fn missing_cluster_prints_the_error_without_newline() {
        let o = UpdateTopicOptions::new(Target::Cluster("X".into()), "T");
        let report = UpdateTopicReport {
            config: o.topic_config(),
            target: o.target.clone(),
            created_on: vec![],
            order_conf: None,
            cluster_missing: true,
        };
        assert!(report.to_string().starts_with(
            "[error] Make sure the specified clusterName exists or the name server connected to is correct.TopicConfig [topicName=T"
        ));
    }

    #[test]
    fn attributes_parse_like_attribute_parser() {
        let m = parse_attributes("+a=b,+c=d,-e").unwrap();
        assert_eq!(m.get("+a").map(String::as_str), Some("b"));
        assert_eq!(m.get("-e").map(String::as_str), Some(""));
        assert!(parse_attributes("a=b").is_err());
        assert!(parse_attributes("e").is_err());
        assert!(parse_attributes("+a=1,+a=2").is_err());
        assert!(parse_attributes("").unwrap().is_empty());
    }
}
