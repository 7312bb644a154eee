//! `updateTopicPerm` (Java `UpdateTopicPermSubCommand`): change a topic's permission on one
//! master or on every master of a cluster.

use std::fmt;

use ferromq_client::AdminClient;
use ferromq_proto::body::route::MASTER_ID;
use ferromq_proto::body::{QueueData, TopicConfig, TopicRouteData};

use super::update::topic_config_line;
use super::Target;
use crate::cluster::{broker_name_of, master_addrs, CLUSTER_ERROR};
use crate::AdminError;

/// Why `updateTopicPerm -b` changed nothing (Java prints a line and exits normally).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermSkip {
    /// `-b` is not the master address of a broker in the topic's route.
    NotMaster,
    /// The route already has the requested perm on that broker.
    SamePerm,
}

/// One broker the new perm was sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermChange {
    /// Broker address.
    pub addr: String,
    /// The perm the route had for the broker.
    pub old_perm: i32,
}

/// The data of `updateTopicPerm`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateTopicPermReport {
    /// `-b` or `-c`.
    pub target: Target,
    /// `-p`.
    pub perm: i32,
    /// Brokers updated, in order.
    pub changes: Vec<PermChange>,
    /// The configuration sent with `-b` (printed after the success line).
    pub config: Option<TopicConfig>,
    /// `-b` changed nothing, and why.
    pub skipped: Option<PermSkip>,
    /// `-c` named a cluster the name server does not know.
    pub cluster_missing: bool,
}

fn queue_data<'a>(route: &'a TopicRouteData, broker_name: &str) -> Option<&'a QueueData> {
    route
        .queue_datas
        .iter()
        .find(|q| q.broker_name == broker_name)
}

/// The config to send to `addr`: the broker's own (GET_TOPIC_CONFIG 351), so that its queue
/// counts, order flag and attributes survive, with the new perm. Java builds it from the
/// route's first queue data instead, which resets queue counts that differ between brokers and
/// drops attributes; that is its fallback here, when the broker does not have the topic.
async fn config_for(
    admin: &AdminClient,
    addr: &str,
    topic: &str,
    fallback: &QueueData,
    perm: i32,
) -> Result<TopicConfig, AdminError> {
    let mut config = match admin.topic_config(addr, topic).await? {
        Some(c) => c,
        None => {
            let mut c = TopicConfig::new(topic);
            c.read_queue_nums = fallback.read_queue_nums;
            c.write_queue_nums = fallback.write_queue_nums;
            c.topic_sys_flag = fallback.topic_sys_flag;
            c
        }
    };
    config.perm = perm;
    Ok(config)
}

/// Runs `updateTopicPerm`: NS 105 for the topic, then UPDATE_AND_CREATE_TOPIC (17) with the new
/// perm to the `-b` master (which must be the master of a broker in the route, and whose route
/// perm must differ), or (after NS 106) to every master of the `-c` cluster. The old perm is the
/// route's, as Java compares it: after `wipeWritePerm` the route and the broker differ, and
/// this command is how write permission comes back. A failure after some brokers succeeded is
/// [`AdminError::Partial`].
pub async fn update_topic_perm(
    admin: &AdminClient,
    target: &Target,
    topic: &str,
    perm: i32,
) -> Result<UpdateTopicPermReport, AdminError> {
    let topic = topic.trim();
    let route = admin.topic_route(topic).await?;
    let first = route
        .queue_datas
        .first()
        .ok_or_else(|| AdminError::NotFound {
            message: format!("No queue data in the route of topic {topic}"),
        })?;
    let mut report = UpdateTopicPermReport {
        target: target.clone(),
        perm,
        changes: Vec::new(),
        config: None,
        skipped: None,
        cluster_missing: false,
    };
    match target {
        Target::Broker(addr) => {
            let broker_name = route
                .broker_datas
                .iter()
                .find(|bd| bd.broker_addrs.get(&MASTER_ID) == Some(addr))
                .map(|bd| bd.broker_name.as_str());
            let Some(broker_name) = broker_name else {
                report.skipped = Some(PermSkip::NotMaster);
                return Ok(report);
            };
            let own = queue_data(&route, broker_name);
            let old_perm = own.map_or(0, |q| q.perm);
            if old_perm == perm {
                report.skipped = Some(PermSkip::SamePerm);
                return Ok(report);
            }
            let config = config_for(admin, addr, topic, own.unwrap_or(first), perm).await?;
            admin.create_topic(addr, &config).await?;
            report.changes.push(PermChange {
                addr: addr.clone(),
                old_perm,
            });
            report.config = Some(config);
        }
        Target::Cluster(cluster) => {
            let info = admin.cluster_info().await?;
            let Some(masters) = master_addrs(&info, cluster) else {
                report.cluster_missing = true;
                return Ok(report);
            };
            for addr in masters {
                let own = broker_name_of(&info, &addr).and_then(|n| queue_data(&route, &n));
                let qd = own.unwrap_or(first);
                let sent = async {
                    let config = config_for(admin, &addr, topic, qd, perm).await?;
                    admin.create_topic(&addr, &config).await?;
                    Ok::<_, AdminError>(())
                };
                sent.await.map_err(|e| e.after(report.to_string()))?;
                report.changes.push(PermChange {
                    addr,
                    old_perm: qd.perm,
                });
            }
        }
    }
    Ok(report)
}

impl fmt::Display for UpdateTopicPermReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cluster_missing {
            f.write_str(CLUSTER_ERROR)?;
        }
        match self.skipped {
            Some(PermSkip::NotMaster) => writeln!(
                f,
                "updateTopicPerm error broker not exit or broker is not master!."
            )?,
            Some(PermSkip::SamePerm) => writeln!(f, "new perm equals to the old one!")?,
            None => {}
        }
        for c in &self.changes {
            writeln!(
                f,
                "update topic perm from {} to {} in {} success.",
                c.old_perm, self.perm, c.addr
            )?;
        }
        if let Some(config) = &self.config {
            writeln!(f, "{}.", topic_config_line(config))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(target: Target) -> UpdateTopicPermReport {
        UpdateTopicPermReport {
            target,
            perm: 4,
            changes: Vec::new(),
            config: None,
            skipped: None,
            cluster_missing: false,
        }
    }

    #[test]
    fn broker_success_prints_the_change_and_the_config() {
        let mut config = TopicConfig::new("T");
        config.perm = 4;
        config.read_queue_nums = 2;
        config.write_queue_nums = 2;
        let r = UpdateTopicPermReport {
            changes: vec![PermChange {
                addr: "a:1".into(),
                old_perm: 6,
            }],
            config: Some(config),
            ..report(Target::Broker("a:1".into()))
        };
        assert_eq!(
            r.to_string(),
            "update topic perm from 6 to 4 in a:1 success.\n\
             TopicConfig [topicName=T, readQueueNums=2, writeQueueNums=2, perm=R--, topicFilterType=SINGLE_TAG, topicSysFlag=0, order=false, attributes={}].\n"
        );
    }

    #[test]
    fn cluster_prints_one_line_per_master() {
        let r = UpdateTopicPermReport {
            changes: vec![
                PermChange {
                    addr: "a:1".into(),
                    old_perm: 6,
                },
                PermChange {
                    addr: "b:1".into(),
                    old_perm: 6,
                },
            ],
            ..report(Target::Cluster("C".into()))
        };
        assert_eq!(
            r.to_string(),
            "update topic perm from 6 to 4 in a:1 success.\nupdate topic perm from 6 to 4 in b:1 success.\n"
        );
    }

    #[test]
    fn skips_and_unknown_cluster_print_javas_lines() {
        let mut r = report(Target::Broker("a:1".into()));
        r.skipped = Some(PermSkip::SamePerm);
        assert_eq!(r.to_string(), "new perm equals to the old one!\n");
        r.skipped = Some(PermSkip::NotMaster);
        assert_eq!(
            r.to_string(),
            "updateTopicPerm error broker not exit or broker is not master!.\n"
        );
        let mut r = report(Target::Cluster("X".into()));
        r.cluster_missing = true;
        assert_eq!(r.to_string(), CLUSTER_ERROR);
    }
}
