//! Registration with every name server: at start, every `registerNameServerPeriod`, and at once
//! (with only the changed topics) after a topic is created or changed.

use std::sync::Arc;
use std::time::Duration;

use ferromq_proto::body::{JsonBody, RegisterBrokerBody};
use ferromq_proto::codes::{request, response};
use ferromq_proto::headers::{
    BrokerIdentityHeader, RegisterBrokerRequestHeader, RegisterBrokerResponseHeader,
};
use ferromq_proto::RemotingCommand;

use crate::Broker;

const REGISTER_TIMEOUT: Duration = Duration::from_secs(3);

impl Broker {
    /// Registers with every name server. `topics` limits the body to those topics (an
    /// incremental registration the name server merges); `None` sends all.
    pub async fn register_all(self: &Arc<Self>, topics: Option<&[String]>) {
        // In controller mode the name servers hear of this broker once its role is known.
        if self.config.enable_controller_mode && self.controller_broker_id().is_none() {
            return;
        }
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
        let body = RegisterBrokerBody {
            topic_config_serialize_wrapper: wrapper,
            ..Default::default()
        }
        .to_json();
        let crc = ferromq_common::hash::crc32_masked(&body);
        let header = RegisterBrokerRequestHeader {
            broker_name: self.config.broker_name.clone(),
            broker_addr: self.config.broker_addr(),
            cluster_name: self.config.broker_cluster_name.clone(),
            ha_server_addr: self.advertised_ha_addr(),
            broker_id: self.registered_broker_id(),
            heartbeat_timeout_millis: Some(self.config.channel_expired_timeout as i64),
            enable_acting_master: Some(false),
            compressed: Some(false),
            body_crc32: Some(crc),
        };
        let body = bytes::Bytes::from(body);
        let calls = self.config.namesrv_list().into_iter().map(|addr| {
            let mut cmd = RemotingCommand::request(request::REGISTER_BROKER, &header).with_body(body.clone());
            self.sign_for_namesrv(&mut cmd);
            let client = self.namesrv.clone();
            let b = Arc::clone(self);
            async move {
                match client.invoke(&addr, cmd, REGISTER_TIMEOUT).await {
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
