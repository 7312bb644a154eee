//! `/groups`: every consumer group with its clients and backlog, and a backlog chart;
//! `/groups/view?group=`: backlog per queue (`consumerProgress`), the clients
//! (`consumerConnection`), and forms to reset the offsets by time (`resetOffsetByTime`), skip the
//! backlog (`skipAccumulatedMessage`) and delete the group (`deleteSubGroup`).

use std::collections::BTreeSet;

use axum::extract::{Query, State};
use axum::response::Html;
use axum::Json;
use ferromq_admin::consumer::{
    consumer_connection, consumer_progress, delete_sub_group, group_list,
};
use ferromq_admin::offset::{parse_timestamp, reset_offset_by_time};
use ferromq_admin::topic::Target;
use ferromq_common::names;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{done, required};
use crate::error::{ApiError, ApiResult, PageResult};
use crate::html::{self, esc, url};
use crate::Dashboard;

pub(crate) async fn list_page(State(d): State<Dashboard>) -> PageResult {
    let c = d.cluster()?;
    let report = group_list(&c.admin).await?;
    let rows: Vec<Vec<String>> = report
        .groups
        .iter()
        .map(|g| {
            vec![
                html::link(&format!("/groups/view?group={}", url(&g.group)), &g.group),
                g.count.to_string(),
                esc(&g
                    .consume_type
                    .as_ref()
                    .map_or("-".into(), |t| format!("{t:?}"))),
                esc(&g
                    .message_model
                    .as_ref()
                    .map_or("-".into(), |m| format!("{m:?}"))),
                g.consume_tps.to_string(),
                g.diff_total.to_string(),
            ]
        })
        .collect();
    let body = format!(
        "{table}<h2>Backlog over time</h2>{chart}",
        table = html::table(
            "groups",
            &[
                "Group",
                "Clients",
                "Consume type",
                "Model",
                "TPS",
                "Backlog"
            ],
            &rows
        ),
        chart = html::chart(
            "chart-lag",
            "Messages behind, per group",
            "/api/charts/lag",
            "msgs"
        ),
    );
    Ok(Html(html::layout("Consumer groups", "/groups", &body)))
}

/// `GET /api/groups`: every group with its clients and backlog.
pub(crate) async fn list_api(State(d): State<Dashboard>) -> ApiResult {
    let report = group_list(&d.cluster()?.admin).await?;
    let groups: Vec<Value> = report
        .groups
        .iter()
        .map(|g| {
            json!({
                "group": g.group,
                "clients": g.count,
                "consumeTps": g.consume_tps,
                "backlog": g.diff_total,
            })
        })
        .collect();
    Ok(Json(json!({ "groups": groups })))
}

#[derive(Debug, Deserialize)]
pub(crate) struct GroupQuery {
    group: Option<String>,
}

/// `GET /api/charts/lag[?group=]`: each group's backlog over the last half hour.
pub(crate) async fn lag_api(State(d): State<Dashboard>, Query(q): Query<GroupQuery>) -> ApiResult {
    let group = q.group.as_deref().map(str::trim).filter(|g| !g.is_empty());
    Ok(Json(d.cluster()?.history.lag(group)))
}

pub(crate) async fn view_page(
    State(d): State<Dashboard>,
    Query(q): Query<GroupQuery>,
) -> PageResult {
    let c = d.cluster()?;
    let group = required(&q.group, "group")?;
    let mut topics = BTreeSet::new();
    let progress = match consumer_progress(&c.admin, group, None, false, None).await {
        Ok(p) => {
            let rows: Vec<Vec<String>> = p
                .queues
                .iter()
                .map(|(mq, o)| {
                    topics.insert(mq.topic.clone());
                    vec![
                        esc(&mq.topic),
                        esc(&mq.broker_name),
                        mq.queue_id.to_string(),
                        o.broker_offset.to_string(),
                        o.consumer_offset.to_string(),
                        (o.broker_offset - o.consumer_offset).to_string(),
                        html::time(o.last_timestamp),
                    ]
                })
                .collect();
            format!(
                "<p>Consume TPS {:.1}</p>{}",
                p.consume_tps,
                html::table(
                    "group-queues",
                    &[
                        "Topic",
                        "Broker",
                        "Queue",
                        "Broker offset",
                        "Consumer offset",
                        "Backlog",
                        "Last consumed"
                    ],
                    &rows
                )
            )
        }
        Err(e) => format!("<p class=\"note\">{}</p>", esc(&e.to_string())),
    };
    let clients = match consumer_connection(&c.admin, group, None).await {
        Ok(r) => {
            for t in r.connection.subscription_table.keys() {
                topics.insert(t.clone());
            }
            let rows: Vec<Vec<String>> = r
                .connection
                .connection_set
                .iter()
                .map(|k| {
                    vec![
                        esc(&k.client_id),
                        esc(&k.client_addr),
                        esc(&k.language),
                        k.version.to_string(),
                    ]
                })
                .collect();
            let subs: Vec<Vec<String>> = r
                .connection
                .subscription_table
                .values()
                .map(|s| vec![esc(&s.topic), esc(&s.sub_string)])
                .collect();
            format!(
                "<p>{:?}, {:?}</p>{}<h3>Subscriptions</h3>{}",
                r.connection.consume_type,
                r.connection.message_model,
                html::table(
                    "group-clients",
                    &["Client id", "Address", "Language", "Version"],
                    &rows
                ),
                html::table("group-subscriptions", &["Topic", "Expression"], &subs),
            )
        }
        Err(e) => format!(
            "<p class=\"note\">no client online: {}</p>",
            esc(&e.to_string())
        ),
    };
    let topic_options: String = topics
        .iter()
        .filter(|t| !names::is_retry_topic(t))
        .map(|t| format!("<option value=\"{0}\">{0}</option>", esc(t)))
        .collect();
    let topic_select =
        format!("<label>Topic <select name=\"topic\">{topic_options}</select></label>");
    let reset = html::api_form(
        "reset-offset",
        "/api/groups/reset",
        &format!(
            "{}{topic_select}{}",
            html::hidden("group", group),
            html::input(
                "timestamp",
                "Time (now, epoch ms, or yyyy-MM-dd#HH:mm:ss:SSS UTC)",
                "0"
            ),
        ),
        "Reset offsets",
        true,
    );
    let skip = html::api_form(
        "skip-backlog",
        "/api/groups/skip",
        &format!("{}{topic_select}", html::hidden("group", group)),
        "Skip backlog",
        true,
    );
    let delete = html::api_form(
        "delete-group",
        "/api/groups/delete",
        &html::hidden("group", group),
        "Delete group",
        false,
    )
    .replace(
        "<form ",
        "<form data-confirm=\"Delete this consumer group?\" ",
    );
    let body = format!(
        "<h2>Backlog per queue</h2>{progress}<h2>Clients</h2>{clients}\
         <h2>Backlog over time</h2>{chart}\
         <h2>Reset offsets by time</h2>{reset}<h2>Skip the backlog</h2>{skip}\
         <h2>Delete</h2>{delete}",
        chart = html::chart(
            "chart-group-lag",
            "Messages behind",
            &format!("/api/charts/lag?group={}", url(group)),
            "msgs"
        ),
    );
    Ok(Html(html::layout(
        &format!("Consumer group {group}"),
        "/groups",
        &body,
    )))
}

#[derive(Debug, Deserialize)]
pub(crate) struct Reset {
    group: Option<String>,
    topic: Option<String>,
    #[serde(default, deserialize_with = "super::text_or_number")]
    timestamp: Option<String>,
}

async fn reset(d: &Dashboard, req: &Reset, timestamp: i64) -> ApiResult {
    let c = d.cluster()?;
    let group = required(&req.group, "group")?;
    let topic = required(&req.topic, "topic")?;
    let table = reset_offset_by_time(&c.admin, group, topic, timestamp, true).await?;
    if table.offsets.is_empty() {
        return Err(ApiError::not_found(format!(
            "no queue of {topic} had offsets of {group} to reset"
        )));
    }
    let offsets: Vec<Value> = table
        .offsets
        .iter()
        .map(|(mq, o)| json!({"brokerName": mq.broker_name, "queueId": mq.queue_id, "offset": o}))
        .collect();
    Ok(done(table.to_string(), json!({ "offsets": offsets })))
}

/// `POST /api/groups/reset`: `resetOffsetByTime -f true`: the broker moves the committed
/// offsets and tells the group's running consumers to move.
pub(crate) async fn reset_api(State(d): State<Dashboard>, Json(req): Json<Reset>) -> ApiResult {
    let text = required(&req.timestamp, "timestamp")?;
    let ts = parse_timestamp(text, ferromq_common::now_millis())?;
    reset(&d, &req, ts).await
}

/// `POST /api/groups/skip`: `skipAccumulatedMessage`: offsets to the end of every queue.
pub(crate) async fn skip_api(State(d): State<Dashboard>, Json(req): Json<Reset>) -> ApiResult {
    reset(&d, &req, -1).await
}

/// `POST /api/groups/delete`: `deleteSubGroup -c <cluster>` (also drops its retry and
/// dead-letter topics, as RocketMQ does with a cluster).
pub(crate) async fn delete_api(State(d): State<Dashboard>, Json(req): Json<Reset>) -> ApiResult {
    let c = d.cluster()?;
    let group = required(&req.group, "group")?;
    let target = Target::Cluster(c.target.cluster.clone());
    let report = delete_sub_group(&c.admin, &target, group, false).await?;
    Ok(done(report.to_string(), json!({})))
}
