//! `/config`: the local broker's configuration (`getBrokerConfig`), its store figures (from
//! `brokerStatus`) and the name server's configuration (`getNamesrvConfig`); and `/producers`:
//! a producer group's connections on a topic (`producerConnection`).

use axum::extract::{Query, State};
use axum::response::Html;
use axum::Json;
use ferromq_admin::broker::{broker_status, BrokerSelector};
use ferromq_admin::broker_config::broker_config;
use ferromq_admin::namesrv::namesrv_config;
use ferromq_admin::producer::producer_connection;
use serde::Deserialize;
use serde_json::{json, Value};

use super::required;
use crate::error::{ApiError, ApiResult, PageResult};
use crate::html::{self, esc};
use crate::Dashboard;

/// Runtime keys that describe the store.
const STORE_KEYS: &[&str] = &[
    "commitLogMinOffset",
    "commitLogMaxOffset",
    "commitLogDiskRatio",
    "putMessageSizeTotal",
    "earliestMessageTimeStamp",
    "dispatchBehindBytes",
    "pageCacheLockTimeMills",
    "bootTimestamp",
    "runtime",
];

pub(crate) async fn page(State(d): State<Dashboard>) -> PageResult {
    let c = d.cluster()?;
    let selector = BrokerSelector::Addr(c.target.broker_addr.clone());
    let mut body = String::new();
    let status = broker_status(&c.admin, &selector).await?;
    for (addr, runtime) in &status.brokers {
        let rows: Vec<Vec<String>> = match runtime {
            Ok(t) => STORE_KEYS
                .iter()
                .filter_map(|k| t.table.get(*k).map(|v| vec![esc(k), esc(v)]))
                .collect(),
            Err(e) => vec![vec!["error".into(), esc(e)]],
        };
        body.push_str(&format!(
            "<h2>Store of {}</h2>{}",
            esc(addr),
            html::table("store", &["Key", "Value"], &rows)
        ));
    }
    let report = broker_config(&c.admin, &selector).await?;
    for s in &report.sections {
        let rows: Vec<Vec<String>> = s
            .config
            .iter()
            .flat_map(|p| p.iter())
            .map(|(k, v)| vec![esc(k), esc(v)])
            .collect();
        body.push_str(&format!(
            "<h2>Broker config {}</h2>{}",
            esc(s.heading.trim()),
            html::table("broker-config", &["Key", "Value"], &rows)
        ));
    }
    match namesrv_config(&c.admin).await {
        Ok(ns) => body.push_str(&format!(
            "<h2>Name servers</h2><pre id=\"namesrv-config\">{}</pre>",
            esc(&ns.to_string())
        )),
        Err(e) => body.push_str(&format!("<p class=\"note\">{}</p>", esc(&e.to_string()))),
    }
    Ok(Html(html::layout("Config", "/config", &body)))
}

/// `GET /api/config`: the local broker's configuration.
pub(crate) async fn api(State(d): State<Dashboard>) -> ApiResult {
    let c = d.cluster()?;
    let selector = BrokerSelector::Addr(c.target.broker_addr.clone());
    let report = broker_config(&c.admin, &selector).await?;
    let sections: Vec<Value> = report
        .sections
        .iter()
        .map(|s| {
            let map: serde_json::Map<String, Value> = s
                .config
                .iter()
                .flat_map(|p| p.iter())
                .map(|(k, v)| (k.to_owned(), Value::from(v)))
                .collect();
            json!({"heading": s.heading.trim(), "config": map})
        })
        .collect();
    Ok(Json(json!({ "brokers": sections })))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ProducerQuery {
    group: Option<String>,
    topic: Option<String>,
}

async fn producers(d: &Dashboard, q: &ProducerQuery) -> Result<Vec<Vec<String>>, ApiError> {
    let c = d.cluster()?;
    let group = required(&q.group, "group")?;
    let topic = required(&q.topic, "topic")?;
    let r = producer_connection(&c.admin, group, topic).await?;
    Ok(r.connection
        .connection_set
        .iter()
        .map(|k| {
            vec![
                k.client_id.clone(),
                k.client_addr.clone(),
                k.language.clone(),
                k.version.to_string(),
            ]
        })
        .collect())
}

pub(crate) async fn producers_page(
    State(d): State<Dashboard>,
    Query(q): Query<ProducerQuery>,
) -> PageResult {
    d.cluster()?;
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    let mut body = format!(
        "<form method=\"get\" action=\"/producers\" class=\"search\" id=\"producer-search\">{}{}\
         <button type=\"submit\">Show connections</button></form>",
        html::input("group", "Producer group", &v(&q.group)),
        html::input("topic", "Topic", &v(&q.topic)),
    );
    if q.group.is_some() || q.topic.is_some() {
        match producers(&d, &q).await {
            Ok(rows) => {
                let rows: Vec<Vec<String>> = rows
                    .iter()
                    .map(|r| r.iter().map(|s| esc(s)).collect())
                    .collect();
                body.push_str(&html::table(
                    "producers",
                    &["Client id", "Address", "Language", "Version"],
                    &rows,
                ));
            }
            Err(e) => body.push_str(&format!(
                "<div class=\"error\" id=\"search-error\">{}</div>",
                esc(&e.reason)
            )),
        }
    }
    Ok(Html(html::layout("Producers", "/producers", &body)))
}

/// `GET /api/producers?group=&topic=`: the group's producer connections.
pub(crate) async fn producers_api(
    State(d): State<Dashboard>,
    Query(q): Query<ProducerQuery>,
) -> ApiResult {
    let rows = producers(&d, &q).await?;
    let list: Vec<Value> = rows
        .iter()
        .map(|r| json!({"clientId": r[0], "clientAddr": r[1], "language": r[2], "version": r[3]}))
        .collect();
    Ok(Json(json!({ "connections": list })))
}
