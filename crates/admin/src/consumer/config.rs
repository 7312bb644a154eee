//! `getConsumerConfig` (Java `GetConsumerConfigSubCommand`): a consumer group's configuration
//! on every broker that has it.

use std::fmt;

use ferromq_client::AdminClient;
use ferromq_proto::body::{GroupRetryPolicy, SubscriptionGroupConfig};
use serde_json::Value;

use crate::cluster::cluster_of;
use crate::format::{java_map, or_null};
use crate::AdminError;

/// One broker's copy of the group's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerConfigEntry {
    /// The cluster of the broker (`None` prints `null`, as Java does).
    pub cluster: Option<String>,
    /// The broker name.
    pub broker_name: String,
    /// The group's configuration there.
    pub config: SubscriptionGroupConfig,
}

/// The data of `getConsumerConfig`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerConfigReport {
    /// One entry per broker name that has the group, broker names sorted.
    pub entries: Vec<ConsumerConfigEntry>,
}

/// Runs `getConsumerConfig`: NS 106, then GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201) to one address
/// of every broker (the master, else a slave: Java's `selectBrokerAddr`), keeping the brokers
/// that have `group`. Any broker failing fails the command, as in Java.
pub async fn consumer_config(
    admin: &AdminClient,
    group: &str,
) -> Result<ConsumerConfigReport, AdminError> {
    let group = group.trim();
    let info = admin.cluster_info().await?;
    let mut entries = Vec::new();
    for (broker_name, bd) in &info.broker_addr_table {
        let Some(addr) = bd
            .master_addr()
            .or_else(|| bd.broker_addrs.values().next().map(String::as_str))
        else {
            continue;
        };
        let mut wrapper = admin.all_subscription_group(addr).await?;
        if let Some(config) = wrapper.subscription_group_table.remove(group) {
            entries.push(ConsumerConfigEntry {
                cluster: cluster_of(&info, broker_name),
                broker_name: broker_name.clone(),
                config,
            });
        }
    }
    Ok(ConsumerConfigReport { entries })
}

/// The `Field`s of Java's `SubscriptionGroupConfig` in declaration order with the `toString()`
/// of each value (`subscriptionDataSet` is not kept by FerroMQ and is null, printed empty).
pub fn config_fields(c: &SubscriptionGroupConfig) -> Vec<(&'static str, String)> {
    vec![
        ("groupName", c.group_name.clone()),
        ("consumeEnable", c.consume_enable.to_string()),
        (
            "consumeFromMinEnable",
            c.consume_from_min_enable.to_string(),
        ),
        (
            "consumeBroadcastEnable",
            c.consume_broadcast_enable.to_string(),
        ),
        (
            "consumeMessageOrderly",
            c.consume_message_orderly.to_string(),
        ),
        ("retryQueueNums", c.retry_queue_nums.to_string()),
        ("retryMaxTimes", c.retry_max_times.to_string()),
        (
            "groupRetryPolicy",
            retry_policy_string(&c.group_retry_policy),
        ),
        ("brokerId", c.broker_id.to_string()),
        (
            "whichBrokerWhenConsumeSlowly",
            c.which_broker_when_consume_slowly.to_string(),
        ),
        (
            "notifyConsumerIdsChangedEnable",
            c.notify_consumer_ids_changed_enable.to_string(),
        ),
        ("groupSysFlag", c.group_sys_flag.to_string()),
        ("consumeTimeoutMinute", c.consume_timeout_minute.to_string()),
        ("subscriptionDataSet", String::new()),
        ("attributes", java_map(&c.attributes)),
    ]
}

/// Guava `toStringHelper` output of Java's `GroupRetryPolicy` and the policies it holds.
fn retry_policy_string(p: &GroupRetryPolicy) -> String {
    let number =
        |v: &Value, key: &str, default: i64| v.get(key).and_then(Value::as_i64).unwrap_or(default);
    let exponential = p.exponential_retry_policy.as_ref().map(|v| {
        format!(
            "ExponentialRetryPolicy{{initial={}, max={}, multiplier={}}}",
            number(v, "initial", 5_000),
            number(v, "max", 7_200_000),
            number(v, "multiplier", 2)
        )
    });
    let customized = p.customized_retry_policy.as_ref().map(|v| {
        let next = v
            .get("next")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|n| n.as_i64().unwrap_or_default().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        format!("CustomizedRetryPolicy{{next=[{next}]}}")
    });
    format!(
        "GroupRetryPolicy{{type={}, exponentialRetryPolicy={}, customizedRetryPolicy={}}}",
        p.kind,
        or_null(exponential.as_deref()),
        or_null(customized.as_deref())
    )
}

impl fmt::Display for ConsumerConfigReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.entries {
            writeln!(
                f,
                "============================={}:{}=============================",
                or_null(e.cluster.as_deref()),
                e.broker_name
            )?;
            for (name, value) in config_fields(&e.config) {
                writeln!(f, "{name:<40}=  {value}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_every_java_field_in_declaration_order() {
        let r = ConsumerConfigReport {
            entries: vec![ConsumerConfigEntry {
                cluster: Some("DefaultCluster".into()),
                broker_name: "broker-a".into(),
                config: SubscriptionGroupConfig::new("G"),
            }],
        };
        let text = r.to_string();
        let mut lines = text.lines();
        assert_eq!(
            lines.next().unwrap(),
            "=============================DefaultCluster:broker-a============================="
        );
        let expected = [
            ("groupName", "G"),
            ("consumeEnable", "true"),
            ("consumeFromMinEnable", "true"),
            ("consumeBroadcastEnable", "true"),
            ("consumeMessageOrderly", "false"),
            ("retryQueueNums", "1"),
            ("retryMaxTimes", "16"),
            (
                "groupRetryPolicy",
                "GroupRetryPolicy{type=CUSTOMIZED, exponentialRetryPolicy=null, customizedRetryPolicy=null}",
            ),
            ("brokerId", "0"),
            ("whichBrokerWhenConsumeSlowly", "1"),
            ("notifyConsumerIdsChangedEnable", "true"),
            ("groupSysFlag", "0"),
            ("consumeTimeoutMinute", "15"),
            ("subscriptionDataSet", ""),
            ("attributes", "{}"),
        ];
        for (name, value) in expected {
            assert_eq!(lines.next().unwrap(), format!("{name:<40}=  {value}"));
        }
        assert_eq!(lines.next(), None);
    }

    #[test]
    fn retry_policies_render_like_guava() {
        let mut p = GroupRetryPolicy {
            kind: "EXPONENTIAL".into(),
            exponential_retry_policy: Some(serde_json::json!({"initial":1000,"max":60000})),
            ..Default::default()
        };
        assert_eq!(
            retry_policy_string(&p),
            "GroupRetryPolicy{type=EXPONENTIAL, exponentialRetryPolicy=ExponentialRetryPolicy{initial=1000, max=60000, multiplier=2}, customizedRetryPolicy=null}"
        );
        p.customized_retry_policy = Some(serde_json::json!({"next":[1000,5000]}));
        assert!(retry_policy_string(&p)
            .ends_with("customizedRetryPolicy=CustomizedRetryPolicy{next=[1000, 5000]}}"));
    }

    #[test]
    fn unknown_cluster_prints_null() {
        let r = ConsumerConfigReport {
            entries: vec![ConsumerConfigEntry {
                cluster: None,
                broker_name: "b".into(),
                config: SubscriptionGroupConfig::new("G"),
            }],
        };
        assert!(r
            .to_string()
            .starts_with("=============================null:b="));
    }
}
