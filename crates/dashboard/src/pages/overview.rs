//! `/`: the cluster at a glance: name servers, every broker with its version, role, message
//! totals and disk use (`clusterList`), and the send / consume rate chart.

use axum::extract::State;
use axum::response::Html;
use axum::Json;
use ferromq_admin::cluster::{cluster_list, BrokerRow};
use serde_json::{json, Value};

use crate::error::{ApiResult, PageResult};
use crate::html::{self, esc};
use crate::Dashboard;

fn kv<'a>(row: &'a BrokerRow, key: &str) -> &'a str {
    row.runtime
        .as_ref()
        .ok()
        .and_then(|t| t.table.get(key))
        .map_or("-", String::as_str)
}

fn role(id: i64) -> &'static str {
    if id == 0 {
        "master"
    } else {
        "slave"
    }
}

pub(crate) async fn page(State(d): State<Dashboard>) -> PageResult {
    let c = d.cluster()?;
    let list = cluster_list(&c.admin, None, false).await?;
    let rows: Vec<Vec<String>> = list
        .rows
        .iter()
        .map(|r| {
            let state = match &r.runtime {
                Ok(_) => "<span class=\"ok\">up</span>".to_owned(),
                Err(e) => format!("<span class=\"bad\">{}</span>", esc(e)),
            };
            vec![
                esc(&r.cluster),
                esc(&r.broker_name),
                format!("{} ({})", r.broker_id, role(r.broker_id)),
                esc(&r.addr),
                esc(kv(r, "brokerVersionDesc")),
                esc(kv(r, "msgPutTotalTodayNow")),
                esc(kv(r, "msgGetTotalTodayNow")),
                esc(kv(r, "commitLogDiskRatio")),
                esc(kv(r, "runtime")),
                state,
            ]
        })
        .collect();
    let body = format!(
        "<section class=\"cards\">\
         <div class=\"card\"><b>Name servers</b><span>{ns}</span></div>\
         <div class=\"card\"><b>This broker</b><span>{name} at {addr}</span></div>\
         <div class=\"card\"><b>Cluster</b><span>{cluster}</span></div>\
         <div class=\"card\"><b>Dashboard</b><span>FerroMQ {version}</span></div></section>\
         <h2>Brokers</h2>{table}\
         <h2>Traffic</h2>{chart}",
        ns = esc(&c.target.namesrv),
        name = esc(&c.target.broker_name),
        addr = esc(&c.target.broker_addr),
        cluster = esc(&c.target.cluster),
        version = env!("CARGO_PKG_VERSION"),
        table = html::table(
            "brokers",
            &[
                "Cluster",
                "Broker",
                "Id",
                "Address",
                "Version",
                "Sent today",
                "Consumed today",
                "Disk used",
                "Up for",
                "State",
            ],
            &rows,
        ),
        chart = html::chart(
            "chart-rates",
            "Messages per second",
            "/api/charts/rates",
            "msg/s"
        ),
    );
    Ok(Html(html::layout("Overview", "/", &body)))
}

/// `GET /api/overview`: the brokers with their runtime tables.
pub(crate) async fn api(State(d): State<Dashboard>) -> ApiResult {
    let c = d.cluster()?;
    let list = cluster_list(&c.admin, None, false).await?;
    let brokers: Vec<Value> = list
        .rows
        .iter()
        .map(|r| {
            json!({
                "cluster": r.cluster,
                "brokerName": r.broker_name,
                "brokerId": r.broker_id,
                "addr": r.addr,
                "runtime": r.runtime.as_ref().map(|t| &t.table).ok(),
                "error": r.runtime.as_ref().err(),
            })
        })
        .collect();
    Ok(Json(json!({
        "namesrv": c.target.namesrv,
        "brokers": brokers,
    })))
}

/// `GET /api/charts/rates`: sent and consumed messages per second over the last half hour.
pub(crate) async fn rates(State(d): State<Dashboard>) -> ApiResult {
    Ok(Json(d.cluster()?.history.rates()))
}
