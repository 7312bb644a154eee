//! The replicated state: per broker set, its replicas, master, epochs and syncStateSet
//! (RocketMQ's `ReplicasInfoManager`, `BrokerReplicaInfo`, `SyncStateInfo`).
//!
//! Everything here is deterministic: a [`Command`] carries whatever the leader knew that the
//! log cannot (which replicas are alive, in what order of preference), so every node applies
//! the same command to the same state with the same [`Outcome`]. Validation happens at apply
//! time, not before proposing, so two racing requests cannot both pass a check against the same
//! old state: the second one is judged against the state the first one left.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::body::{BrokerMemberGroup, SyncStateSet};
use crate::codes::response as code;

/// The first id the controller hands out in a broker set (`MixAll.FIRST_BROKER_CONTROLLER_ID`).
pub const FIRST_BROKER_ID: i64 = 1;

/// One registered replica.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replica {
    /// Address the broker serves on (`ip:port`).
    pub address: String,
    /// `brokerAddr;timestamp` given when the id was applied for; proves ownership on re-apply.
    pub register_check_code: String,
}

/// One broker set (all replicas of a `brokerName`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerSet {
    /// Cluster the set belongs to.
    pub cluster_name: String,
    /// Broker id → replica.
    pub replicas: BTreeMap<i64, Replica>,
    /// Id the next new replica should apply for.
    pub next_broker_id: i64,
    /// Current master, if any.
    pub master_broker_id: Option<i64>,
    /// Bumped on every master change, including "no master any more".
    pub master_epoch: i32,
    /// Replicas in sync with the master.
    pub sync_state_set: BTreeSet<i64>,
    /// Bumped on every syncStateSet change.
    pub sync_state_set_epoch: i32,
}

impl BrokerSet {
    /// Address of replica `id`.
    pub fn address_of(&self, id: i64) -> Option<&str> {
        self.replicas.get(&id).map(|r| r.address.as_str())
    }

    /// Address of the master, if there is one.
    pub fn master_address(&self) -> Option<&str> {
        self.master_broker_id.and_then(|id| self.address_of(id))
    }

    /// The syncStateSet with its epoch, as sent on the wire.
    pub fn sync_state(&self) -> SyncStateSet {
        SyncStateSet {
            sync_state_set: self.sync_state_set.clone(),
            sync_state_set_epoch: self.sync_state_set_epoch,
        }
    }

    /// Every replica's id and address.
    pub fn member_group(&self, broker_name: &str) -> BrokerMemberGroup {
        BrokerMemberGroup {
            broker_addrs: self
                .replicas
                .iter()
                .map(|(id, r)| (*id, r.address.clone()))
                .collect(),
            broker_name: broker_name.to_owned(),
            cluster: self.cluster_name.clone(),
        }
    }
}

/// A state change, as written to the Raft log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// CONTROLLER_APPLY_BROKER_ID.
    ApplyBrokerId {
        /// Cluster.
        cluster_name: String,
        /// Broker set.
        broker_name: String,
        /// Id asked for.
        broker_id: i64,
        /// `brokerAddr;timestamp`.
        register_check_code: String,
    },
    /// CONTROLLER_REGISTER_BROKER: records a changed address and reports the live master.
    RegisterBroker {
        /// Broker set.
        broker_name: String,
        /// Registered id.
        broker_id: i64,
        /// Current address.
        broker_address: String,
        /// Replicas the leader saw alive.
        alive: BTreeSet<i64>,
    },
    /// CONTROLLER_ALTER_SYNC_STATE_SET, fenced by both epochs.
    AlterSyncStateSet {
        /// Broker set.
        broker_name: String,
        /// Master that asks.
        master_broker_id: i64,
        /// Master epoch it knows.
        master_epoch: i32,
        /// New set and the set epoch it was derived from.
        new_set: SyncStateSet,
        /// Replicas the leader saw alive.
        alive: BTreeSet<i64>,
    },
    /// CONTROLLER_ELECT_MASTER, or the leader's own re-election of a set whose master died.
    ElectMaster {
        /// Broker set.
        broker_name: String,
        /// Candidate named by the request; `None` when the controller triggered the election.
        broker_id: Option<i64>,
        /// Only `broker_id` may win.
        designate: bool,
        /// Live replicas, best candidate first (highest epoch, then offset, then lowest
        /// priority value).
        alive: Vec<i64>,
        /// `enableElectUncleanMaster`: fall back to live replicas outside the syncStateSet.
        unclean: bool,
    },
    /// CLEAN_BROKER_DATA: forget a whole set (`ids` `None`) or some replicas.
    CleanBrokerData {
        /// Broker set.
        broker_name: String,
        /// Replicas to forget; `None` for the whole set.
        ids: Option<BTreeSet<i64>>,
        /// Skip the "still alive" checks.
        clean_living: bool,
        /// Replicas the leader saw alive.
        alive: BTreeSet<i64>,
    },
}

/// What applying a [`Command`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Nothing to report (blank and membership entries).
    Nothing,
    /// Refused with a RocketMQ response code; the state is unchanged.
    Refused {
        /// Response code.
        code: i32,
        /// Why.
        remark: String,
    },
    /// The id now belongs to the applicant.
    BrokerIdApplied,
    /// Registration accepted.
    Registered {
        /// The live master (id, address, master epoch), if any.
        master: Option<(i64, String, i32)>,
        /// Current syncStateSet.
        sync_state: SyncStateSet,
    },
    /// The syncStateSet changed.
    SyncStateSetAltered {
        /// Its new epoch.
        new_epoch: i32,
    },
    /// A master was elected (`changed`), or the old one is still the best (`!changed`, answered
    /// as CONTROLLER_MASTER_STILL_EXIST).
    Elected {
        /// True when the master changed.
        changed: bool,
        /// Master id.
        master_broker_id: i64,
        /// Master address.
        master_address: String,
        /// Master epoch after the election.
        master_epoch: i32,
        /// syncStateSet after the election.
        sync_state: SyncStateSet,
        /// Members, for role-change notices.
        members: BrokerMemberGroup,
    },
    /// The set or some replicas were forgotten.
    Cleaned,
    /// The controller-triggered election found no candidate: the set now has no master
    /// (CONTROLLER_MASTER_NOT_AVAILABLE).
    MasterLost,
}

fn refuse(code: i32, remark: impl Into<String>) -> Outcome {
    Outcome::Refused {
        code,
        remark: remark.into(),
    }
}

/// All broker sets, by broker name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaTable {
    /// Broker name → set.
    pub sets: BTreeMap<String, BrokerSet>,
}

impl ReplicaTable {
    /// The set named `broker_name`.
    pub fn get(&self, broker_name: &str) -> Option<&BrokerSet> {
        self.sets.get(broker_name)
    }

    /// The id a new replica of `broker_name` should apply for.
    pub fn next_broker_id(&self, broker_name: &str) -> i64 {
        self.sets
            .get(broker_name)
            .map_or(FIRST_BROKER_ID, |s| s.next_broker_id)
    }

    /// Sets whose master is not alive while some replica is (RocketMQ's
    /// `scanNeedReelectBrokerSets`). `alive(cluster, broker_name, id)` asks the heartbeat table.
    pub fn needing_reelection(&self, alive: impl Fn(&str, &str, i64) -> bool) -> Vec<String> {
        self.sets
            .iter()
            .filter(|(name, set)| {
                set.master_broker_id
                    .is_some_and(|m| !alive(&set.cluster_name, name, m))
                    && set
                        .replicas
                        .keys()
                        .any(|id| alive(&set.cluster_name, name, *id))
            })
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Applies `cmd`. Refusals leave the table unchanged.
    pub fn apply(&mut self, cmd: &Command) -> Outcome {
        match cmd {
            Command::ApplyBrokerId {
                cluster_name,
                broker_name,
                broker_id,
                register_check_code,
            } => self.apply_broker_id(cluster_name, broker_name, *broker_id, register_check_code),
            Command::RegisterBroker {
                broker_name,
                broker_id,
                broker_address,
                alive,
            } => self.register(broker_name, *broker_id, broker_address, alive),
            Command::AlterSyncStateSet {
                broker_name,
                master_broker_id,
                master_epoch,
                new_set,
                alive,
            } => self.alter_sync_state_set(
                broker_name,
                *master_broker_id,
                *master_epoch,
                new_set,
                alive,
            ),
            Command::ElectMaster {
                broker_name,
                broker_id,
                designate,
                alive,
                unclean,
            } => self.elect(broker_name, *broker_id, *designate, alive, *unclean),
            Command::CleanBrokerData {
                broker_name,
                ids,
                clean_living,
                alive,
            } => self.clean(broker_name, ids.as_ref(), *clean_living, alive),
        }
    }

    fn apply_broker_id(
        &mut self,
        cluster_name: &str,
        broker_name: &str,
        broker_id: i64,
        check_code: &str,
    ) -> Outcome {
        let address = check_code.split(';').next().unwrap_or_default().to_owned();
        let replica = Replica {
            address,
            register_check_code: check_code.to_owned(),
        };
        match self.sets.get_mut(broker_name) {
            None if broker_id == FIRST_BROKER_ID => {
                let mut set = BrokerSet {
                    cluster_name: cluster_name.to_owned(),
                    next_broker_id: FIRST_BROKER_ID,
                    ..Default::default()
                };
                add_replica(&mut set, broker_id, replica);
                self.sets.insert(broker_name.to_owned(), set);
                Outcome::BrokerIdApplied
            }
            None => refuse(
                code::CONTROLLER_BROKER_ID_INVALID,
                format!(
                    "Broker-set: {broker_name} hasn't been registered in controller, but broker try to apply brokerId: {broker_id}"
                ),
            ),
            Some(set) => match set.replicas.get(&broker_id) {
                None => {
                    add_replica(set, broker_id, replica);
                    Outcome::BrokerIdApplied
                }
                Some(r) if r.register_check_code == check_code => Outcome::BrokerIdApplied,
                Some(_) => refuse(
                    code::CONTROLLER_BROKER_ID_INVALID,
                    format!("Fail to apply brokerId: {broker_id} in broker-set: {broker_name}"),
                ),
            },
        }
    }

    fn register(
        &mut self,
        broker_name: &str,
        broker_id: i64,
        address: &str,
        alive: &BTreeSet<i64>,
    ) -> Outcome {
        let Some(set) = self.sets.get_mut(broker_name) else {
            return refuse(
                code::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED,
                format!("Broker-set: {broker_name} hasn't been registered in controller"),
            );
        };
        let Some(replica) = set.replicas.get_mut(&broker_id) else {
            return refuse(
                code::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED,
                format!(
                    "BrokerId: {broker_id} hasn't been registered in broker-set: {broker_name}"
                ),
            );
        };
        if replica.address != address {
            replica.address = address.to_owned();
        }
        let master = set
            .master_broker_id
            .filter(|m| alive.contains(m))
            .and_then(|m| Some((m, set.address_of(m)?.to_owned(), set.master_epoch)));
        Outcome::Registered {
            master,
            sync_state: set.sync_state(),
        }
    }

    fn alter_sync_state_set(
        &mut self,
        broker_name: &str,
        master_broker_id: i64,
        master_epoch: i32,
        new_set: &SyncStateSet,
        alive: &BTreeSet<i64>,
    ) -> Outcome {
        let Some(set) = self.sets.get_mut(broker_name) else {
            return refuse(
                code::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED,
                "Broker metadata is not existed",
            );
        };
        if set.sync_state_set == new_set.sync_state_set {
            return refuse(
                code::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED,
                "The newSyncStateSet is equal with oldSyncStateSet, no needed to update syncStateSet",
            );
        }
        if set.master_broker_id != Some(master_broker_id) {
            return refuse(
                code::CONTROLLER_INVALID_MASTER,
                format!(
                    "Rejecting alter syncStateSet request because the current leader is:{{{}}}, not {{{master_broker_id}}}",
                    display_id(set.master_broker_id)
                ),
            );
        }
        if master_epoch != set.master_epoch {
            return refuse(
                code::CONTROLLER_FENCED_MASTER_EPOCH,
                format!(
                    "Rejecting alter syncStateSet request because the current master epoch is:{{{}}}, not {{{master_epoch}}}",
                    set.master_epoch
                ),
            );
        }
        if new_set.sync_state_set_epoch != set.sync_state_set_epoch {
            return refuse(
                code::CONTROLLER_FENCED_SYNC_STATE_SET_EPOCH,
                format!(
                    "Rejecting alter syncStateSet request because the current syncStateSet epoch is:{{{}}}, not {{{}}}",
                    set.sync_state_set_epoch, new_set.sync_state_set_epoch
                ),
            );
        }
        for id in &new_set.sync_state_set {
            if !set.replicas.contains_key(id) {
                return refuse(
                    code::CONTROLLER_INVALID_REPLICAS,
                    format!("Rejecting alter syncStateSet request because the replicas {{{id}}} don't exist"),
                );
            }
            if !alive.contains(id) {
                return refuse(
                    code::CONTROLLER_BROKER_NOT_ALIVE,
                    format!("Rejecting alter syncStateSet request because the replicas {{{id}}} don't alive"),
                );
            }
        }
        if !new_set.sync_state_set.contains(&master_broker_id) {
            return refuse(
                code::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED,
                format!("Rejecting alter syncStateSet request because the newSyncStateSet don't contains origin leader {{{master_broker_id}}}"),
            );
        }
        set.sync_state_set = new_set.sync_state_set.clone();
        set.sync_state_set_epoch += 1;
        Outcome::SyncStateSetAltered {
            new_epoch: set.sync_state_set_epoch,
        }
    }

    fn elect(
        &mut self,
        broker_name: &str,
        broker_id: Option<i64>,
        designate: bool,
        alive: &[i64],
        unclean: bool,
    ) -> Outcome {
        let Some(set) = self.sets.get_mut(broker_name) else {
            return refuse(
                code::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED,
                "Broker hasn't been registered",
            );
        };
        let requested = broker_id.filter(|id| *id != -1);
        let old = set.master_broker_id;
        // The very first election of a set takes the broker that asks (RocketMQ does the same:
        // the first broker to start becomes master), provided it is registered.
        let mut winner = if set.master_epoch == 0 {
            requested.filter(|id| set.replicas.contains_key(id))
        } else {
            None
        };
        if winner.is_none() {
            let prefer = if designate { requested } else { None };
            winner = pick(alive, &set.sync_state_set, old, prefer);
            if winner.is_none() && unclean {
                let all: BTreeSet<i64> = set.replicas.keys().copied().collect();
                winner = pick(alive, &all, old, prefer);
            }
        }
        match winner {
            Some(m) if Some(m) == old => Outcome::Elected {
                changed: false,
                master_broker_id: m,
                master_address: set.address_of(m).unwrap_or_default().to_owned(),
                master_epoch: set.master_epoch,
                sync_state: set.sync_state(),
                members: set.member_group(broker_name),
            },
            Some(m) => {
                set.master_broker_id = Some(m);
                set.master_epoch += 1;
                set.sync_state_set = [m].into_iter().collect();
                set.sync_state_set_epoch += 1;
                Outcome::Elected {
                    changed: true,
                    master_broker_id: m,
                    master_address: set.address_of(m).unwrap_or_default().to_owned(),
                    master_epoch: set.master_epoch,
                    sync_state: set.sync_state(),
                    members: set.member_group(broker_name),
                }
            }
            None if requested.is_none() => {
                // The controller found the master dead and nobody to replace it: drop the master
                // (bumping the epoch) but keep the syncStateSet, so the first of its members to
                // come back can still be elected.
                set.master_broker_id = None;
                set.master_epoch += 1;
                Outcome::MasterLost
            }
            None => refuse(
                code::CONTROLLER_ELECT_MASTER_FAILED,
                "Failed to elect a new master",
            ),
        }
    }
}

impl ReplicaTable {
    /// RocketMQ's `ReplicasInfoManager.cleanBrokerData`. Unlike RocketMQ, forgetting the
    /// master also drops it as master (bumping the master epoch), so no set points at a
    /// replica that no longer exists.
    fn clean(
        &mut self,
        broker_name: &str,
        ids: Option<&BTreeSet<i64>>,
        clean_living: bool,
        alive: &BTreeSet<i64>,
    ) -> Outcome {
        let Some(set) = self.sets.get_mut(broker_name) else {
            return refuse(
                code::CONTROLLER_INVALID_CLEAN_BROKER_METADATA,
                format!("Broker {broker_name} is not existed,clean broker data failure."),
            );
        };
        let ids = ids.filter(|i| !i.is_empty());
        if !clean_living {
            match ids {
                None if set.master_broker_id.is_some() => {
                    return refuse(
                        code::CONTROLLER_INVALID_CLEAN_BROKER_METADATA,
                        format!("Broker {broker_name} is still alive, clean up failure"),
                    )
                }
                None => {}
                Some(ids) => {
                    if let Some(id) = ids.iter().find(|id| alive.contains(id)) {
                        return refuse(
                            code::CONTROLLER_INVALID_CLEAN_BROKER_METADATA,
                            format!(
                                "Broker [{broker_name},  {id}] is still alive, clean up failure"
                            ),
                        );
                    }
                }
            }
        }
        let Some(ids) = ids else {
            self.sets.remove(broker_name);
            return Outcome::Cleaned;
        };
        for id in ids {
            set.replicas.remove(id);
            set.sync_state_set.remove(id);
            if set.master_broker_id == Some(*id) {
                set.master_broker_id = None;
                set.master_epoch += 1;
            }
        }
        if set.replicas.is_empty() {
            self.sets.remove(broker_name);
        }
        Outcome::Cleaned
    }
}

/// RocketMQ's `DefaultElectPolicy.tryElect` over `candidates`, with `alive` in order of
/// preference.
fn pick(
    alive: &[i64],
    candidates: &BTreeSet<i64>,
    old: Option<i64>,
    prefer: Option<i64>,
) -> Option<i64> {
    let usable: Vec<i64> = alive
        .iter()
        .copied()
        .filter(|id| candidates.contains(id))
        .collect();
    if usable.is_empty() {
        return None;
    }
    if let Some(old) = old.filter(|o| usable.contains(o)) {
        if prefer.is_none() || prefer == Some(old) {
            return Some(old);
        }
    }
    match prefer {
        Some(p) => usable.contains(&p).then_some(p),
        None => usable.first().copied(),
    }
}

fn add_replica(set: &mut BrokerSet, id: i64, replica: Replica) {
    set.replicas.insert(id, replica);
    // RocketMQ increments by one per added replica; never hand out an id already taken.
    set.next_broker_id = (set.next_broker_id + 1).max(id + 1);
}

fn display_id(id: Option<i64>) -> String {
    id.map_or_else(|| "null".to_owned(), |i| i.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_with_three() -> ReplicaTable {
        let mut t = ReplicaTable::default();
        for id in 1..=3 {
            let out = t.apply(&Command::ApplyBrokerId {
                cluster_name: "c".into(),
                broker_name: "b".into(),
                broker_id: id,
                register_check_code: format!("10.0.0.{id}:10911;1"),
            });
            assert_eq!(out, Outcome::BrokerIdApplied);
        }
        t
    }

    fn elect(t: &mut ReplicaTable, id: Option<i64>, alive: &[i64]) -> Outcome {
        t.apply(&Command::ElectMaster {
            broker_name: "b".into(),
            broker_id: id,
            designate: false,
            alive: alive.to_vec(),
            unclean: false,
        })
    }

    fn alter(t: &mut ReplicaTable, master: i64, me: i32, set: &[i64], se: i32) -> Outcome {
        t.apply(&Command::AlterSyncStateSet {
            broker_name: "b".into(),
            master_broker_id: master,
            master_epoch: me,
            new_set: SyncStateSet {
                sync_state_set: set.iter().copied().collect(),
                sync_state_set_epoch: se,
            },
            alive: [1, 2, 3].into_iter().collect(),
        })
    }

    #[test]
    fn ids_are_handed_out_in_order_and_owned_by_check_code() {
        let mut t = table_with_three();
        assert_eq!(t.next_broker_id("b"), 4);
        assert_eq!(t.next_broker_id("other"), FIRST_BROKER_ID);
        let stolen = t.apply(&Command::ApplyBrokerId {
            cluster_name: "c".into(),
            broker_name: "b".into(),
            broker_id: 2,
            register_check_code: "evil:1;2".into(),
        });
        assert!(matches!(stolen, Outcome::Refused { code: 2014, .. }));
        let unknown_set = t.apply(&Command::ApplyBrokerId {
            cluster_name: "c".into(),
            broker_name: "x".into(),
            broker_id: 2,
            register_check_code: "a:1;2".into(),
        });
        assert!(matches!(unknown_set, Outcome::Refused { code: 2014, .. }));
    }

    #[test]
    fn first_election_takes_the_asker_then_failover_takes_an_in_sync_replica() {
        let mut t = table_with_three();
        let Outcome::Elected {
            master_broker_id: 1,
            master_epoch: 1,
            changed: true,
            ..
        } = elect(&mut t, Some(1), &[2, 1, 3])
        else {
            panic!("first election");
        };
        assert_eq!(
            alter(&mut t, 1, 1, &[1, 2], 1),
            Outcome::SyncStateSetAltered { new_epoch: 2 }
        );
        // Stale syncStateSet epoch, stale master epoch, wrong master.
        assert!(matches!(
            alter(&mut t, 1, 1, &[1, 2, 3], 1),
            Outcome::Refused { code: 2001, .. }
        ));
        assert!(matches!(
            alter(&mut t, 1, 0, &[1, 2, 3], 2),
            Outcome::Refused { code: 2000, .. }
        ));
        assert!(matches!(
            alter(&mut t, 2, 1, &[1, 2, 3], 2),
            Outcome::Refused { code: 2002, .. }
        ));
        assert!(matches!(
            alter(&mut t, 1, 1, &[2, 3], 2),
            Outcome::Refused { code: 2013, .. }
        ));
        // Master 1 died; 3 is alive but not in sync, 2 is: 2 wins.
        let Outcome::Elected {
            master_broker_id: 2,
            master_epoch: 2,
            sync_state,
            ..
        } = elect(&mut t, None, &[3, 2])
        else {
            panic!("failover");
        };
        assert_eq!(sync_state.sync_state_set, [2].into_iter().collect());
        assert_eq!(sync_state.sync_state_set_epoch, 3);
        // Still alive old master: nothing changes.
        assert!(matches!(
            elect(&mut t, None, &[2, 3]),
            Outcome::Elected { changed: false, .. }
        ));
        // Nobody in sync alive: the master is dropped, epoch bumped.
        assert_eq!(elect(&mut t, None, &[3]), Outcome::MasterLost);
        let set = t.get("b").unwrap();
        assert_eq!((set.master_broker_id, set.master_epoch), (None, 3));
        // Unclean election may take 3.
        let out = t.apply(&Command::ElectMaster {
            broker_name: "b".into(),
            broker_id: None,
            designate: false,
            alive: vec![3],
            unclean: true,
        });
        assert!(matches!(
            out,
            Outcome::Elected {
                master_broker_id: 3,
                master_epoch: 4,
                ..
            }
        ));
    }

    #[test]
    fn reelection_scan_needs_a_dead_master_and_a_live_replica() {
        let mut t = table_with_three();
        elect(&mut t, Some(1), &[1]);
        assert!(t.needing_reelection(|_, _, _| true).is_empty());
        assert_eq!(
            t.needing_reelection(|_, _, id| id == 2),
            vec!["b".to_owned()]
        );
        assert!(t.needing_reelection(|_, _, _| false).is_empty());
    }

    #[test]
    fn cleaning_checks_liveness_and_forgets_replicas() {
        let mut t = table_with_three();
        elect(&mut t, Some(1), &[1]);
        let clean = |ids: Option<&[i64]>, living: bool, alive: &[i64]| Command::CleanBrokerData {
            broker_name: "b".into(),
            ids: ids.map(|i| i.iter().copied().collect()),
            clean_living: living,
            alive: alive.iter().copied().collect(),
        };
        assert!(matches!(
            t.apply(&clean(None, false, &[])),
            Outcome::Refused { code: 2009, .. }
        ));
        assert!(matches!(
            t.apply(&clean(Some(&[2]), false, &[2])),
            Outcome::Refused { code: 2009, .. }
        ));
        assert_eq!(
            t.apply(&clean(Some(&[1, 3]), false, &[2])),
            Outcome::Cleaned
        );
        let set = t.get("b").unwrap();
        assert_eq!(set.replicas.keys().copied().collect::<Vec<_>>(), vec![2]);
        assert_eq!((set.master_broker_id, set.master_epoch), (None, 2));
        assert_eq!(t.apply(&clean(None, true, &[2])), Outcome::Cleaned);
        assert!(t.get("b").is_none());
        assert!(matches!(
            t.apply(&clean(None, true, &[])),
            Outcome::Refused { code: 2009, .. }
        ));
    }

    #[test]
    fn unknown_broker_sets_are_refused() {
        let mut t = ReplicaTable::default();
        assert!(matches!(
            elect(&mut t, Some(1), &[1]),
            Outcome::Refused { code: 2010, .. }
        ));
        assert!(matches!(
            alter(&mut t, 1, 1, &[1], 0),
            Outcome::Refused { code: 2013, .. }
        ));
        let reg = t.apply(&Command::RegisterBroker {
            broker_name: "b".into(),
            broker_id: 1,
            broker_address: "a".into(),
            alive: BTreeSet::new(),
        });
        assert!(matches!(reg, Outcome::Refused { code: 2010, .. }));
    }
}
