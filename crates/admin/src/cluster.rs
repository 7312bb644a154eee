//! `clusterList` (Java `ClusterListSubCommand`) and the cluster lookups other commands share
//! (Java `CommandUtil`).

use std::fmt;

use ferromq_client::AdminClient;
use ferromq_proto::body::{ClusterInfo, KVTable};

use crate::format::{left, right};
use crate::AdminError;

/// What `CommandUtil` prints when a cluster name is unknown (without a newline, as Java does).
pub const CLUSTER_ERROR: &str =
    "[error] Make sure the specified clusterName exists or the name server connected to is correct.";

/// Master addresses of `cluster`, sorted; `None` when the cluster is unknown
/// (`fetchMasterAddrByClusterName`).
pub fn master_addrs(info: &ClusterInfo, cluster: &str) -> Option<Vec<String>> {
    let names = info.cluster_addr_table.get(cluster)?;
    let mut addrs: Vec<String> = names
        .iter()
        .filter_map(|n| info.broker_addr_table.get(n))
        .filter_map(|bd| bd.master_addr().map(str::to_owned))
        .collect();
    addrs.sort();
    addrs.dedup();
    Some(addrs)
}

/// Master and slave addresses of `cluster`, sorted; `None` when the cluster is unknown
/// (`fetchMasterAndSlaveAddrByClusterName`).
pub fn all_addrs(info: &ClusterInfo, cluster: &str) -> Option<Vec<String>> {
    let names = info.cluster_addr_table.get(cluster)?;
    let mut addrs: Vec<String> = names
        .iter()
        .filter_map(|n| info.broker_addr_table.get(n))
        .flat_map(|bd| bd.broker_addrs.values().cloned())
        .collect();
    addrs.sort();
    addrs.dedup();
    Some(addrs)
}

/// The broker name that owns `addr` (`fetchBrokerNameByAddr`).
pub fn broker_name_of(info: &ClusterInfo, addr: &str) -> Option<String> {
    info.broker_addr_table
        .iter()
        .find(|(_, bd)| bd.broker_addrs.values().any(|a| a == addr))
        .map(|(name, _)| name.clone())
}

/// The cluster whose broker set holds `broker_name`.
pub fn cluster_of(info: &ClusterInfo, broker_name: &str) -> Option<String> {
    info.cluster_addr_table
        .iter()
        .find(|(_, names)| names.contains(broker_name))
        .map(|(c, _)| c.clone())
}

/// One broker address of the cluster table with its runtime info.
#[derive(Debug)]
pub struct BrokerRow {
    /// Cluster name.
    pub cluster: String,
    /// Broker name.
    pub broker_name: String,
    /// Broker id (0 = master).
    pub broker_id: i64,
    /// `ip:port`.
    pub addr: String,
    /// GET_BROKER_RUNTIME_INFO, or why it failed.
    pub runtime: Result<KVTable, String>,
}

/// The data of `clusterList`.
#[derive(Debug)]
pub struct ClusterList {
    /// One row per broker address, clusters then broker names sorted, ids ascending.
    pub rows: Vec<BrokerRow>,
    /// Print the `-m` table (message totals) instead of the base table.
    pub more_stats: bool,
    /// When the data was gathered (epoch ms), for the `#Hour` column.
    pub now_ms: i64,
}

/// Gathers `clusterList`: NS 106, then GET_BROKER_RUNTIME_INFO (28) from every broker address.
/// A broker that does not answer still gets a row (Java prints its stack trace and zeros).
pub async fn cluster_list(
    admin: &AdminClient,
    cluster: Option<&str>,
    more_stats: bool,
) -> Result<ClusterList, AdminError> {
    let info = admin.cluster_info().await?;
    let clusters: Vec<String> = match cluster.filter(|c| !c.is_empty()) {
        Some(c) => vec![c.to_owned()],
        None => info.cluster_addr_table.keys().cloned().collect(),
    };
    let mut rows = Vec::new();
    for cluster in clusters {
        let Some(names) = info.cluster_addr_table.get(&cluster) else {
            continue;
        };
        for name in names {
            let Some(bd) = info.broker_addr_table.get(name) else {
                continue;
            };
            for (id, addr) in &bd.broker_addrs {
                let runtime = admin
                    .broker_runtime_info(addr)
                    .await
                    .map_err(|e| e.to_string());
                rows.push(BrokerRow {
                    cluster: cluster.clone(),
                    broker_name: name.clone(),
                    broker_id: *id,
                    addr: addr.clone(),
                    runtime,
                });
            }
        }
    }
    Ok(ClusterList {
        rows,
        more_stats,
        now_ms: ferromq_common::now_millis(),
    })
}

/// Java `Double.parseDouble` of the first space-separated number, 0 when absent or bad.
fn first_number(v: Option<&String>) -> f64 {
    v.and_then(|s| s.split(' ').next())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0.0)
}

impl ClusterList {
    fn write_base(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}  {}  {}  {} {}  {}  {}  {}  {}  {}  {}  {}",
            left("#Cluster Name", 22),
            left("#Broker Name", 22),
            left("#BID", 4),
            left("#Addr", 22),
            left("#Version", 16),
            right("#InTPS(LOAD)", 16),
            right("#OutTPS(LOAD)", 30),
            left("#Timer(Progress)", 22),
            left("#PCWait(ms)", 11),
            left("#Hour", 12),
            left("#SPACE", 8),
            left("#ACTIVATED", 10),
        )?;
        for row in &self.rows {
            let c = BaseColumns::of(row, self.now_ms);
            writeln!(
                f,
                "{}  {}  {}  {} {}  {}  {}  {}  {}  {}  {}  {}",
                left(&row.cluster, 22),
                left(&row.broker_name, 22),
                left(&row.broker_id.to_string(), 4),
                left(&row.addr, 22),
                left(&c.version, 16),
                right(&c.in_tps, 16),
                right(&c.out_tps, 30),
                left(&c.timer, 22),
                right(&c.page_cache_wait, 11),
                left(&format!("{:2.2}", c.hours), 12),
                left(&format!("{:.4}", c.space), 8),
                right(&c.active.to_string(), 10),
            )?;
        }
        Ok(())
    }

    fn write_more(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}  {} {} {} {} {}",
            left("#Cluster Name", 16),
            left("#Broker Name", 32),
            right("#InTotalYest", 14),
            right("#OutTotalYest", 14),
            right("#InTotalToday", 14),
            right("#OutTotalToday", 14),
        )?;
        for row in &self.rows {
            let totals = row.runtime.as_ref().map(message_totals).unwrap_or([0; 4]);
            writeln!(
                f,
                "{}  {} {:>14} {:>14} {:>14} {:>14}",
                left(&row.cluster, 16),
                left(&row.broker_name, 32),
                totals[0],
                totals[1],
                totals[2],
                totals[3],
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for ClusterList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.more_stats {
            self.write_more(f)
        } else {
            self.write_base(f)
        }
    }
}

/// In/out totals of yesterday and today; computed in Java's order, stopping (and leaving zeros)
/// at the first value that does not parse.
fn message_totals(kv: &KVTable) -> [i64; 4] {
    let get = |k: &str| kv.table.get(k).and_then(|v| v.trim().parse::<i64>().ok());
    let mut out = [0; 4];
    let pairs = [
        ("msgPutTotalTodayMorning", "msgPutTotalYesterdayMorning"),
        ("msgGetTotalTodayMorning", "msgGetTotalYesterdayMorning"),
        ("msgPutTotalTodayNow", "msgPutTotalTodayMorning"),
        ("msgGetTotalTodayNow", "msgGetTotalTodayMorning"),
    ];
    for (slot, (a, b)) in out.iter_mut().zip(pairs) {
        match (get(a), get(b)) {
            (Some(a), Some(b)) => *slot = a - b,
            _ => break,
        }
    }
    out
}

/// The computed columns of one base-table row.
struct BaseColumns {
    version: String,
    in_tps: String,
    out_tps: String,
    timer: String,
    page_cache_wait: String,
    hours: f64,
    space: f64,
    active: bool,
}

impl BaseColumns {
    fn of(row: &BrokerRow, now_ms: i64) -> Self {
        let Ok(kv) = &row.runtime else {
            // Java's defaults when the runtime call threw.
            return BaseColumns {
                version: String::new(),
                in_tps: format!("{:9.2}(,ms)", 0.0),
                out_tps: format!("{:9.2}(,ms|,ms)", 0.0),
                timer: "0-0(0.0w, 0.0, 0.0)".to_owned(),
                page_cache_wait: String::new(),
                hours: 0.0,
                space: 0.0,
                active: false,
            };
        };
        let t = &kv.table;
        let s = |k: &str| t.get(k).cloned().unwrap_or_else(|| "null".to_owned());
        let n = |k: &str| t.get(k).cloned().unwrap_or_else(|| "N".to_owned());
        // Timer figures parse in order; the first failure leaves the rest at zero.
        let mut timer = [0f64; 5];
        for (slot, key) in timer.iter_mut().zip([
            "timerReadBehind",
            "timerOffsetBehind",
            "timerCongestNum",
            "timerEnqueueTps",
            "timerDequeueTps",
        ]) {
            match t.get(key).and_then(|v| v.trim().parse::<f64>().ok()) {
                Some(v) => *slot = v,
                None => break,
            }
        }
        let hours = t
            .get("earliestMessageTimeStamp")
            .filter(|v| !v.is_empty())
            .and_then(|v| v.trim().parse::<i64>().ok())
            .map_or(0.0, |ts| (now_ms - ts) as f64 / 1000.0 / 60.0 / 60.0);
        BaseColumns {
            version: s("brokerVersionDesc"),
            in_tps: format!(
                "{:9.2}({},{}ms)",
                first_number(t.get("putTps")),
                s("sendThreadPoolQueueSize"),
                s("sendThreadPoolQueueHeadWaitTimeMills")
            ),
            out_tps: format!(
                "{:9.2}({},{}ms|{},{}ms)",
                first_number(t.get("getTransferredTps")),
                s("pullThreadPoolQueueSize"),
                s("pullThreadPoolQueueHeadWaitTimeMills"),
                n("ackThreadPoolQueueSize"),
                n("ackThreadPoolQueueHeadWaitTimeMills")
            ),
            timer: format!(
                "{}-{}({:.1}w, {:.1}, {:.1})",
                timer[0] as i64,
                timer[1] as i64,
                timer[2] / 10000.0,
                timer[3],
                timer[4]
            ),
            page_cache_wait: s("pageCacheLockTimeMills"),
            hours,
            space: t
                .get("commitLogDiskRatio")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0.0),
            active: t
                .get("brokerActive")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use ferromq_proto::body::BrokerData;

    use super::*;

    pub(crate) fn info() -> ClusterInfo {
        let bd = |name: &str, addrs: &[(i64, &str)]| BrokerData {
            broker_addrs: addrs.iter().map(|(i, a)| (*i, a.to_string())).collect(),
            broker_name: name.into(),
            cluster: "C".into(),
            ..Default::default()
        };
        ClusterInfo {
            broker_addr_table: BTreeMap::from([
                (
                    "b1".into(),
                    bd("b1", &[(0, "10.0.0.1:10911"), (1, "10.0.0.2:10911")]),
                ),
                ("b2".into(), bd("b2", &[(1, "10.0.0.3:10911")])),
            ]),
            cluster_addr_table: BTreeMap::from([(
                "C".into(),
                BTreeSet::from(["b1".into(), "b2".into()]),
            )]),
        }
    }

    #[test]
    fn lookups_follow_command_util() {
        let info = info();
        assert_eq!(master_addrs(&info, "C").unwrap(), ["10.0.0.1:10911"]);
        assert_eq!(all_addrs(&info, "C").unwrap().len(), 3);
        assert!(master_addrs(&info, "X").is_none());
        assert_eq!(
            broker_name_of(&info, "10.0.0.3:10911").as_deref(),
            Some("b2")
        );
        assert_eq!(cluster_of(&info, "b1").as_deref(), Some("C"));
    }

    fn kv(pairs: &[(&str, &str)]) -> KVTable {
        KVTable {
            table: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn base_table_matches_java_format() {
        let runtime = kv(&[
            ("brokerVersionDesc", "V5_3_3"),
            ("brokerActive", "true"),
            ("putTps", "12.5 10.0 9.0"),
            ("getTransferredTps", "3.25 1 1"),
            ("sendThreadPoolQueueSize", "0"),
            ("sendThreadPoolQueueHeadWaitTimeMills", "0"),
            ("pullThreadPoolQueueSize", "1"),
            ("pullThreadPoolQueueHeadWaitTimeMills", "2"),
            ("pageCacheLockTimeMills", "0"),
            ("earliestMessageTimeStamp", "1700000000000"),
            ("commitLogDiskRatio", "0.25"),
        ]);
        let list = ClusterList {
            rows: vec![BrokerRow {
                cluster: "DefaultCluster".into(),
                broker_name: "broker-a".into(),
                broker_id: 0,
                addr: "127.0.0.1:10911".into(),
                runtime: Ok(runtime),
            }],
            more_stats: false,
            now_ms: 1_700_000_000_000 + 5_400_000,
        };
        let text = list.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "#Cluster Name           #Broker Name            #BID  #Addr                  #Version              #InTPS(LOAD)                   #OutTPS(LOAD)  #Timer(Progress)        #PCWait(ms)  #Hour         #SPACE    #ACTIVATED"
        );
        assert_eq!(
            lines[1],
            "DefaultCluster          broker-a                0     127.0.0.1:10911        V5_3_3                12.50(0,0ms)               3.25(1,2ms|N,Nms)  0-0(0.0w, 0.0, 0.0)               0  1.50          0.2500          true"
        );
    }

    #[test]
    fn unreachable_broker_prints_java_defaults() {
        let list = ClusterList {
            rows: vec![BrokerRow {
                cluster: "C".into(),
                broker_name: "b".into(),
                broker_id: 1,
                addr: "a:1".into(),
                runtime: Err("connect refused".into()),
            }],
            more_stats: false,
            now_ms: 0,
        };
        let line = list.to_string().lines().nth(1).unwrap().to_owned();
        assert!(line.contains("     0.00(,ms)"), "{line}");
        assert!(line.ends_with("     false"), "{line}");
    }

    #[test]
    fn more_stats_table() {
        let runtime = kv(&[
            ("msgPutTotalYesterdayMorning", "10"),
            ("msgPutTotalTodayMorning", "30"),
            ("msgPutTotalTodayNow", "35"),
            ("msgGetTotalYesterdayMorning", "5"),
            ("msgGetTotalTodayMorning", "25"),
            ("msgGetTotalTodayNow", "26"),
        ]);
        let list = ClusterList {
            rows: vec![BrokerRow {
                cluster: "C".into(),
                broker_name: "b".into(),
                broker_id: 0,
                addr: "a:1".into(),
                runtime: Ok(runtime),
            }],
            more_stats: true,
            now_ms: 0,
        };
        let text = list.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "#Cluster Name     #Broker Name                       #InTotalYest  #OutTotalYest  #InTotalToday #OutTotalToday");
        assert_eq!(lines[1], "C                 b                                            20             20              5              1");
    }
}
