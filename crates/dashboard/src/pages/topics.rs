//! `/topics`: every topic, a form to create one; `/topics/view?topic=`: its queues
//! (`topicStatus`), route (`topicRoute`), forms to change its queue counts and permission
//! (`updateTopic`, `updateTopicPerm`) and to send a test message.

use axum::extract::{Query, State};
use axum::response::Html;
use axum::Json;
use ferromq_admin::topic::{
    topic_list, topic_route, topic_status, update_topic, update_topic_perm, Target,
    TopicListReport, UpdateTopicOptions,
};
use ferromq_client::{Message, Producer};
use ferromq_common::names;
use serde::Deserialize;
use serde_json::json;

use super::{done, number, required};
use crate::error::{ApiError, ApiResult, PageResult};
use crate::html::{self, esc, url};
use crate::{Cluster, Dashboard};

/// Producer group of the dashboard's test messages.
pub(crate) const DASHBOARD_PRODUCER_GROUP: &str = "FERROMQ_DASHBOARD_PRODUCER";

async fn topic_names(c: &Cluster) -> Result<Vec<String>, ApiError> {
    Ok(match topic_list(&c.admin, false).await? {
        TopicListReport::Plain(t) => t,
        TopicListReport::Cluster(rows) => rows.into_iter().map(|r| r.topic).collect(),
    })
}

fn is_internal(topic: &str) -> bool {
    names::is_system_topic(topic)
        || names::is_retry_topic(topic)
        || names::is_dlq_topic(topic)
        || topic == names::AUTO_CREATE_TOPIC
}

pub(crate) async fn list_page(State(d): State<Dashboard>) -> PageResult {
    let c = d.cluster()?;
    let mut names = topic_names(c).await?;
    names.sort();
    let row = |t: &String| vec![html::link(&format!("/topics/view?topic={}", url(t)), t)];
    let user: Vec<Vec<String>> = names.iter().filter(|t| !is_internal(t)).map(row).collect();
    let internal: Vec<Vec<String>> = names.iter().filter(|t| is_internal(t)).map(row).collect();
    let form = html::api_form(
        "create-topic",
        "/api/topics",
        &format!(
            "{}{}{}{}{}",
            html::input("topic", "Topic", ""),
            html::input("readQueueNums", "Read queues", "8"),
            html::input("writeQueueNums", "Write queues", "8"),
            html::input("perm", "Perm (2 R, 4 W, 6 RW)", "6"),
            html::input(
                "broker",
                "Broker address (empty: every master of the cluster)",
                ""
            ),
        ),
        "Create or update topic",
        true,
    );
    let body = format!(
        "<h2>Create a topic</h2>{form}<h2>Topics ({n})</h2>{user}\
         <details><summary>Internal topics ({m}): retry, dead-letter and system</summary>{internal}</details>",
        n = user.len(),
        m = internal.len(),
        user = html::table("topics", &["Topic"], &user),
        internal = html::table("internal-topics", &["Topic"], &internal),
    );
    Ok(Html(html::layout("Topics", "/topics", &body)))
}

/// `GET /api/topics`: every topic name.
pub(crate) async fn list_api(State(d): State<Dashboard>) -> ApiResult {
    let names = topic_names(d.cluster()?).await?;
    Ok(Json(json!({ "topics": names })))
}

#[derive(Debug, Deserialize)]
pub(crate) struct TopicQuery {
    topic: Option<String>,
}

pub(crate) async fn view_page(
    State(d): State<Dashboard>,
    Query(q): Query<TopicQuery>,
) -> PageResult {
    let c = d.cluster()?;
    let topic = required(&q.topic, "topic")?;
    let route = topic_route(&c.admin, topic, false).await?.route;
    let status = topic_status(&c.admin, topic, None).await?;
    let queues: Vec<Vec<String>> = status
        .queues
        .iter()
        .map(|(mq, o)| {
            vec![
                esc(&mq.broker_name),
                mq.queue_id.to_string(),
                o.min_offset.to_string(),
                o.max_offset.to_string(),
                html::time(o.last_update_timestamp),
            ]
        })
        .collect();
    let route_rows: Vec<Vec<String>> = route
        .queue_datas
        .iter()
        .map(|q| {
            let addrs = route
                .broker_datas
                .iter()
                .find(|b| b.broker_name == q.broker_name)
                .map(|b| {
                    b.broker_addrs
                        .iter()
                        .map(|(id, a)| format!("{id}: {a}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            vec![
                esc(&q.broker_name),
                esc(&addrs),
                q.read_queue_nums.to_string(),
                q.write_queue_nums.to_string(),
                q.perm.to_string(),
            ]
        })
        .collect();
    let first = route.queue_datas.first();
    let (r, w, p) = first.map_or((8, 8, 6), |q| {
        (q.read_queue_nums, q.write_queue_nums, q.perm)
    });
    let edit = html::api_form(
        "edit-topic",
        "/api/topics",
        &format!(
            "{}{}{}{}",
            html::hidden("topic", topic),
            html::input("readQueueNums", "Read queues", &r.to_string()),
            html::input("writeQueueNums", "Write queues", &w.to_string()),
            html::input("perm", "Perm", &p.to_string()),
        ),
        "Update queues and perm",
        true,
    );
    let perm = html::api_form(
        "edit-perm",
        "/api/topics",
        &format!(
            "{}{}{}",
            html::hidden("topic", topic),
            html::hidden("mode", "perm"),
            html::input("perm", "Perm only (2 R, 4 W, 6 RW)", &p.to_string()),
        ),
        "Update perm",
        true,
    );
    let send = html::api_form(
        "send-message",
        "/api/topics/send",
        &format!(
            "{}{}{}<label>Body <textarea name=\"body\"></textarea></label>",
            html::hidden("topic", topic),
            html::input("tags", "Tags", ""),
            html::input("keys", "Keys (space separated)", ""),
        ),
        "Send test message",
        false,
    );
    let body = format!(
        "<p>Put TPS {tps:.1} · <a href=\"/messages?by=queue&amp;topic={t}\">browse messages</a></p>\
         <h2>Queues</h2>{queues}<h2>Route</h2>{route}\
         <h2>Change</h2>{edit}{perm}<h2>Send a test message</h2>{send}",
        tps = status.put_tps,
        t = esc(&url(topic)),
        queues = html::table(
            "topic-queues",
            &["Broker", "Queue", "Min offset", "Max offset", "Last stored"],
            &queues
        ),
        route = html::table(
            "topic-route",
            &["Broker", "Addresses", "Read queues", "Write queues", "Perm"],
            &route_rows
        ),
    );
    Ok(Html(html::layout(
        &format!("Topic {topic}"),
        "/topics",
        &body,
    )))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateTopic {
    topic: Option<String>,
    #[serde(default, deserialize_with = "super::text_or_number")]
    read_queue_nums: Option<String>,
    #[serde(default, deserialize_with = "super::text_or_number")]
    write_queue_nums: Option<String>,
    #[serde(default, deserialize_with = "super::text_or_number")]
    perm: Option<String>,
    broker: Option<String>,
    mode: Option<String>,
}

fn target(c: &Cluster, broker: &Option<String>) -> Target {
    match broker.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        Some(addr) => Target::Broker(addr.to_owned()),
        None => Target::Cluster(c.target.cluster.clone()),
    }
}

/// `POST /api/topics`: creates or updates a topic (`updateTopic`), or with `mode: "perm"`
/// changes only its permission (`updateTopicPerm`).
pub(crate) async fn update_api(
    State(d): State<Dashboard>,
    Json(req): Json<UpdateTopic>,
) -> ApiResult {
    let c = d.cluster()?;
    let topic = required(&req.topic, "topic")?;
    let perm = number(&req.perm, "perm", 6, 0..=7)?;
    let target = target(c, &req.broker);
    if req.mode.as_deref() == Some("perm") {
        let report = update_topic_perm(&c.admin, &target, topic, perm).await?;
        return Ok(done(report.to_string(), json!({})));
    }
    let mut opts = UpdateTopicOptions::new(target, topic);
    opts.read_queue_nums = number(&req.read_queue_nums, "readQueueNums", 8, 1..=1024)?;
    opts.write_queue_nums = number(&req.write_queue_nums, "writeQueueNums", 8, 1..=1024)?;
    opts.perm = perm;
    let report = update_topic(&c.admin, &opts).await?;
    if report.cluster_missing {
        return Err(ApiError::not_found(format!(
            "cluster {} has no masters",
            c.target.cluster
        )));
    }
    Ok(done(report.to_string(), json!({ "topic": topic })))
}

#[derive(Debug, Deserialize)]
pub(crate) struct SendTest {
    topic: Option<String>,
    tags: Option<String>,
    keys: Option<String>,
    body: Option<String>,
}

/// `POST /api/topics/send`: sends one message with the given tags, keys and body.
pub(crate) async fn send_api(State(d): State<Dashboard>, Json(req): Json<SendTest>) -> ApiResult {
    let c = d.cluster()?;
    let topic = required(&req.topic, "topic")?;
    let body = req.body.clone().unwrap_or_default();
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "body is required (RocketMQ refuses empty bodies)",
        ));
    }
    let mut msg = Message::new(topic, body.into_bytes());
    if let Some(tags) = req.tags.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        msg = msg.with_tags(tags);
    }
    for key in req.keys.as_deref().unwrap_or("").split_whitespace() {
        msg = msg.with_key(key);
    }
    let producer = Producer::builder(DASHBOARD_PRODUCER_GROUP)
        .namesrv_addr(c.target.namesrv.clone())
        .instance_name(format!("dashboard-{}", std::process::id()))
        .build()?;
    let sent = producer.send(msg).await;
    producer.shutdown().await;
    let r = sent?;
    Ok(done(
        format!(
            "sent: status {}, msgId {}, queue {}:{}, offset {}",
            r.status.as_str(),
            r.msg_id,
            r.queue.broker_name,
            r.queue.queue_id,
            r.queue_offset
        ),
        json!({ "msgId": r.msg_id, "offsetMsgId": r.offset_msg_id }),
    ))
}
