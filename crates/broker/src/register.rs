//! Registration with every name server: at start, every `registerNameServerPeriod`, and at once
//! (with only the changed topics) after a topic is created or changed.

use std::sync::Arc;
use std::time::Duration;

use std::collections::BTreeMap;

use ferromq_proto::body::{RegisterBrokerBody, TopicConfigSerializeWrapper};
use ferromq_proto::codes::{request, response};
use ferromq_proto::headers::{
    BrokerIdentityHeader, RegisterBrokerRequestHeader, RegisterBrokerResponseHeader,
};
use ferromq_proto::RemotingCommand;

use crate::Broker;

impl Broker {
    /// Registers with every name server. `topics` limits the body to those topics (an
    /// incremental registration the name server merges); `None` sends all.
    ///
    /// With `enableSplitRegistration` a full registration goes out as requests of
    /// `splitRegistrationSize` topics each, one after another, all with the same data version
    /// (RocketMQ's `BrokerController.registerBrokerAll`); with `compressedRegister` each body is
    /// in RocketMQ's zlib form.
    pub async fn register_all(self: &Arc<Self>, topics: Option<&[String]>) {
        // In controller mode the name servers hear of this broker once its role is known.
        if self.config.enable_controller_mode && self.controller_broker_id().is_none() {
            return;
        }
        let started = std::time::Instant::now();
        let mut wrapper = match topics {
            Some(t) => self.topics.snapshot_of(t),
            None => self.topics.snapshot(),
        };
        // A broker that is not fully read-write advertises its topics with its own permission
        // (RocketMQ's BrokerController.registerBrokerAll).
        let broker_perm = self.live.broker_permission();
        if broker_perm & ferromq_common::perm::READ_WRITE != ferromq_common::perm::READ_WRITE {
            for config in wrapper.topic_config_table.values_mut() {
                config.perm &= broker_perm;
            }
        }
        let split = self.config.enable_split_registration && topics.is_none();
        let parts = split_wrapper(
            wrapper,
            split.then_some(self.config.split_registration_size),
        );
        let (mut requests, mut bytes) = (0usize, 0usize);
        for part in parts {
            let body = RegisterBrokerBody {
                topic_config_serialize_wrapper: part,
                ..Default::default()
            }
            .encode(self.config.compressed_register);
            bytes += body.len();
            requests += 1;
            self.register_body(bytes::Bytes::from(body)).await;
        }
        tracing::debug!(
            requests,
            bytes,
            compressed = self.config.compressed_register,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "registered with the name servers"
        );
    }

    /// Sends one REGISTER_BROKER body to every name server at once and waits for all answers.
    async fn register_body(self: &Arc<Self>, body: bytes::Bytes) {
        let header = RegisterBrokerRequestHeader {
            broker_name: self.config.broker_name.clone(),
            broker_addr: self.config.broker_addr(),
            cluster_name: self.config.broker_cluster_name.clone(),
            ha_server_addr: self.advertised_ha_addr(),
            broker_id: self.registered_broker_id(),
            heartbeat_timeout_millis: Some(self.config.channel_expired_timeout as i64),
            enable_acting_master: Some(false),
            // Java brokers leave this false even for a zlib body, which a Java name server then
            // fails to read; saying true lets both Java and FerroMQ name servers decode it.
            compressed: Some(self.config.compressed_register),
            body_crc32: Some(ferromq_common::hash::crc32_masked(&body)),
        };
        let timeout = Duration::from_millis(self.config.register_broker_timeout_mills.max(1));
        let calls = self.config.namesrv_list().into_iter().map(|addr| {
            let mut cmd = RemotingCommand::request(request::REGISTER_BROKER, &header).with_body(body.clone());
            self.sign_for_namesrv(&mut cmd);
            let client = self.namesrv.clone();
            let b = Arc::clone(self);
            async move {
                match client.invoke(&addr, cmd, timeout).await {
                    Ok(r) if r.code == response::SUCCESS => {
                        // A slave learns where its master is from the answer.
                        if let Ok(h) = r.decode_header::<RegisterBrokerResponseHeader>() {
                            b.master_learned(h.master_addr, h.ha_server_addr);
                        }
                    }
                    Ok(r) => tracing::warn!(namesrv = %addr, code = r.code, remark = ?r.remark, "register broker refused"),
                    Err(e) => tracing::warn!(namesrv = %addr, error = %e, "register broker failed"),
                }
            }
        });
        let handles: Vec<_> = calls.map(tokio::spawn).collect();
        for h in handles {
            let _ = h.await;
        }
    }

    /// Tells every name server this broker is leaving (best effort, at shutdown).
    pub async fn unregister_all(&self) {
        let header = BrokerIdentityHeader {
            broker_name: self.config.broker_name.clone(),
            broker_addr: self.config.broker_addr(),
            cluster_name: self.config.broker_cluster_name.clone(),
            broker_id: self.registered_broker_id(),
        };
        for addr in self.config.namesrv_list() {
            let mut cmd = RemotingCommand::request(request::UNREGISTER_BROKER, &header);
            self.sign_for_namesrv(&mut cmd);
            if let Err(e) = self
                .namesrv
                .invoke(&addr, cmd, Duration::from_secs(1))
                .await
            {
                tracing::debug!(namesrv = %addr, error = %e, "unregister broker failed");
            }
        }
    }

    /// Signs a request to a name server with `innerClientAuthenticationCredentials`, when set:
    /// a name server with ACL 2.0 wants registrations signed.
    fn sign_for_namesrv(&self, cmd: &mut RemotingCommand) {
        if let Some(c) = &self.config.auth.inner_credentials {
            ferromq_proto::acl::sign(cmd, &c.access_key, &c.secret_key);
        }
    }

    /// Asks the registration loop to send the given topics now.
    pub fn topics_changed(&self, topics: Vec<String>) {
        let _ = self.register_tx.send(topics);
    }
}

/// Cuts `wrapper` into parts of at most `size` topics, each with the whole data version; the
/// static-topic mapping infos ride with the last part, as in Java. `None`, or a table that fits,
/// gives the wrapper back whole.
fn split_wrapper(
    mut wrapper: TopicConfigSerializeWrapper,
    size: Option<usize>,
) -> Vec<TopicConfigSerializeWrapper> {
    let size = match size {
        Some(size) if size > 0 && wrapper.topic_config_table.len() > size => size,
        _ => return vec![wrapper],
    };
    let mut parts = Vec::with_capacity(wrapper.topic_config_table.len() / size + 1);
    let mut table = std::mem::take(&mut wrapper.topic_config_table).into_iter();
    loop {
        let chunk: BTreeMap<_, _> = table.by_ref().take(size).collect();
        if chunk.is_empty() {
            break;
        }
        parts.push(TopicConfigSerializeWrapper {
            data_version: wrapper.data_version,
            topic_config_table: chunk,
            ..Default::default()
        });
    }
    if let Some(last) = parts.last_mut() {
        last.topic_queue_mapping_info_map = wrapper.topic_queue_mapping_info_map;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferromq_proto::body::{DataVersion, TopicConfig};

    fn wrapper(n: usize) -> TopicConfigSerializeWrapper {
        let mut w = TopicConfigSerializeWrapper {
            data_version: DataVersion::new(1_700_000_000_000),
            ..Default::default()
        };
        for i in 0..n {
            let name = format!("t{i:04}");
            w.topic_config_table
                .insert(name.clone(), TopicConfig::new(name));
        }
        w.topic_queue_mapping_info_map
            .insert("t0001".into(), serde_json::json!({"topic": "t0001"}));
        w
    }

    #[test]
    fn split_registration_covers_every_topic_once() {
        let whole = wrapper(2_001);
        let parts = split_wrapper(whole.clone(), Some(800));
        assert_eq!(
            parts
                .iter()
                .map(|p| p.topic_config_table.len())
                .collect::<Vec<_>>(),
            [800, 800, 401]
        );
        let mut seen = BTreeMap::new();
        for p in &parts {
            assert_eq!(p.data_version, whole.data_version);
            seen.extend(p.topic_config_table.clone());
        }
        assert_eq!(seen, whole.topic_config_table);
        assert!(parts[0].topic_queue_mapping_info_map.is_empty());
        assert_eq!(
            parts[2].topic_queue_mapping_info_map,
            whole.topic_queue_mapping_info_map
        );
    }

    #[test]
    fn no_split_when_off_or_small() {
        assert_eq!(split_wrapper(wrapper(10), None).len(), 1);
        assert_eq!(split_wrapper(wrapper(800), Some(800)).len(), 1);
        assert_eq!(split_wrapper(wrapper(0), Some(800)).len(), 1);
    }
}
