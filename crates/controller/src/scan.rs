//! Background work of a node: the heartbeat expiry sweep (every `scanNotActiveBrokerInterval`,
//! on every node) and, on the leader, the dead-master scan (every `scanInactiveMasterInterval`,
//! and at once when a replica expires or its connection closes) that elects a new master for
//! every set whose master is gone while some replica is alive (RocketMQ's
//! `DLedgerController.scanInactiveMasterAndTriggerReelect` and
//! `ControllerManager.onBrokerInactive`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::DEFAULT_BROKER_TIMEOUT_MS;

use crate::error::RequestError;
use crate::handlers::elect_and_notify;
use crate::replicas::Outcome;
use crate::shared::Shared;

/// Runs until the node shuts down.
pub(crate) async fn run(shared: Arc<Shared>) {
    let (expiry, check) = {
        let c = shared.config.read();
        (
            c.scan_not_active_broker_interval(),
            c.scan_inactive_master_interval(),
        )
    };
    let mut next_expiry = tokio::time::Instant::now() + expiry;
    let mut next_check = tokio::time::Instant::now() + check;
    loop {
        let mut check_now = false;
        tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            _ = tokio::time::sleep_until(next_expiry.min(next_check)) => {}
            _ = shared.wake_scan.notified() => check_now = true,
        }
        let now = tokio::time::Instant::now();
        if now >= next_expiry {
            let expired = shared.heartbeats.lock().expire(Instant::now());
            for k in &expired {
                tracing::warn!(
                    cluster = %k.cluster_name, broker = %k.broker_name, id = k.broker_id,
                    "broker heartbeat expired"
                );
            }
            check_now |= !expired.is_empty();
            next_expiry = now + shared.config.read().scan_not_active_broker_interval();
        }
        if now >= next_check || check_now {
            reelect_dead_masters(&shared).await;
            next_check = now + shared.config.read().scan_inactive_master_interval();
        }
    }
}

/// How long after start a node gives a master it never heard from before judging it dead: a
/// controller that just (re)started and became leader must not depose a live master only
/// because that master's first heartbeat has not arrived yet (brokers beat every second; this
/// is RocketMQ's default broker heartbeat timeout).
const STARTUP_GRACE: Duration = Duration::from_millis(DEFAULT_BROKER_TIMEOUT_MS);

/// On the leader: elects a new master for every set whose master is not alive.
async fn reelect_dead_masters(shared: &Shared) {
    if !shared.is_leader() || shared.ensure_leader().await.is_err() {
        return;
    }
    let now = Instant::now();
    let in_grace = now.saturating_duration_since(shared.started) < STARTUP_GRACE;
    let names = {
        let state = shared.state.read();
        let hb = shared.heartbeats.lock();
        state.table.needing_reelection(|cluster, name, id| {
            hb.is_active(cluster, name, id, now) || (in_grace && !hb.ever_seen(cluster, name, id))
        })
    };
    let tries = shared.config.read().elect_master_max_retry_count.max(1);
    for name in names {
        for attempt in 1..=tries {
            match elect_and_notify(shared, &name, None, false).await {
                Ok(Outcome::Elected {
                    changed: true,
                    master_broker_id,
                    master_epoch,
                    ..
                }) => {
                    tracing::info!(
                        broker = %name, master = master_broker_id, epoch = master_epoch,
                        "master was inactive: new master elected"
                    );
                    break;
                }
                Ok(Outcome::MasterLost) => {
                    tracing::warn!(broker = %name, "master inactive and no replica in sync is alive: set has no master");
                    break;
                }
                Ok(other) => {
                    tracing::debug!(broker = %name, outcome = ?other, "re-election changed nothing");
                    break;
                }
                Err(RequestError::NotLeader { .. }) => return,
                Err(e) => {
                    tracing::warn!(broker = %name, attempt, error = %e, "re-election failed");
                }
            }
        }
    }
}
