//! `/messages`: find messages by key (`queryMsgByKey`), by id (`queryMsgById`, offset id or
//! unique key) or by queue and offset (`queryMsgByOffset`, and the messages after it);
//! `/messages/view?topic=&id=`: one message in full, with a resend button.
//!
//! The detail page is a list of [`Section`]s (facts, properties, body, consumers, trace) so more views slot in
//! without touching the others.

use axum::extract::{Query, State};
use axum::response::Html;
use axum::Json;
use ferromq_admin::message::{
    message_track_detail, pull_one_queue, query_msg_by_id, query_msg_by_key, query_msg_trace_by_id,
    resend,
};
use ferromq_admin::AdminClient;
use ferromq_proto::body::MessageQueue;
use ferromq_proto::message::MessageExt;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{done, number, required};
use crate::error::{ApiError, ApiResult, PageResult};
use crate::html::{self, esc, url};
use crate::Dashboard;

/// How many messages a search shows at most.
const MAX_RESULTS: i32 = 64;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Search {
    by: Option<String>,
    topic: Option<String>,
    key: Option<String>,
    id: Option<String>,
    broker: Option<String>,
    queue: Option<String>,
    offset: Option<String>,
}

/// The body as text (invalid UTF-8 replaced), cut to `max` characters when given.
pub(crate) fn body_text(msg: &MessageExt, max: Option<usize>) -> String {
    let text = String::from_utf8_lossy(&msg.body);
    match max {
        Some(n) if text.chars().count() > n => {
            let mut s: String = text.chars().take(n).collect();
            s.push('…');
            s
        }
        _ => text.into_owned(),
    }
}

/// A link to the message's detail page.
pub(crate) fn view_link(msg: &MessageExt) -> String {
    let id = msg.offset_msg_id();
    html::link(
        &format!("/messages/view?topic={}&id={}", url(&msg.topic), url(&id)),
        &id,
    )
}

/// One table row per message: id, unique key, keys, tags, queue, offset, stored, body preview.
pub(crate) fn message_rows(msgs: &[MessageExt]) -> Vec<Vec<String>> {
    msgs.iter()
        .map(|m| {
            vec![
                view_link(m),
                esc(&m.msg_id()),
                esc(m.keys().unwrap_or("")),
                esc(m.tags().unwrap_or("")),
                format!("{}:{}", esc(&m.store_host.to_string()), m.queue_id),
                m.queue_offset.to_string(),
                html::time(m.store_timestamp),
                format!("<code>{}</code>", esc(&body_text(m, Some(80)))),
            ]
        })
        .collect()
}

/// Column titles of [`message_rows`].
pub(crate) const MESSAGE_COLUMNS: &[&str] = &[
    "Offset id",
    "Unique key",
    "Keys",
    "Tags",
    "Store host:queue",
    "Queue offset",
    "Stored",
    "Body",
];

/// The messages of `mq` from `offset` on (at most `max`), pulled from its broker's master.
pub(crate) async fn pull_queue(
    admin: &AdminClient,
    mq: &MessageQueue,
    offset: i64,
    max: i32,
) -> Result<Vec<MessageExt>, ApiError> {
    let route = admin.topic_route(&mq.topic).await?;
    let addr = route
        .broker_datas
        .iter()
        .find(|b| b.broker_name == mq.broker_name)
        .and_then(|b| {
            b.master_addr()
                .or_else(|| b.broker_addrs.values().next().map(String::as_str))
        })
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "broker {} is not in the route of {}",
                mq.broker_name, mq.topic
            ))
        })?
        .to_owned();
    Ok(pull_one_queue(admin, &addr, mq, "*", offset, max)
        .await?
        .messages)
}

async fn search(d: &Dashboard, s: &Search) -> Result<Vec<MessageExt>, ApiError> {
    let c = d.cluster()?;
    let topic = required(&s.topic, "topic")?;
    match s.by.as_deref().unwrap_or("key") {
        "key" => {
            let key = required(&s.key, "key")?;
            Ok(
                query_msg_by_key(&c.admin, None, topic, key, MAX_RESULTS, 0, i64::MAX)
                    .await?
                    .messages,
            )
        }
        "id" => {
            let id = required(&s.id, "id")?;
            Ok(vec![query_msg_by_id(&c.admin, None, topic, id).await?])
        }
        "queue" => {
            let broker = s
                .broker
                .as_deref()
                .map(str::trim)
                .filter(|b| !b.is_empty())
                .unwrap_or(&c.target.broker_name);
            let queue = number(&s.queue, "queue", 0, 0..=i32::MAX)?;
            let offset = number(&s.offset, "offset", 0, 0..=i64::MAX)?;
            let mq = MessageQueue::new(topic, broker, queue);
            pull_queue(&c.admin, &mq, offset, 32).await
        }
        other => Err(ApiError::bad_request(format!(
            "by must be key, id or queue, not {other:?}"
        ))),
    }
}

fn search_forms(s: &Search) -> String {
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    let form = |id: &str, by: &str, fields: String, button: &str| {
        format!(
            "<form method=\"get\" action=\"/messages\" id=\"{id}\" class=\"search\">\
             <input type=\"hidden\" name=\"by\" value=\"{by}\">{fields}\
             <button type=\"submit\">{button}</button></form>"
        )
    };
    let topic = html::input("topic", "Topic", &v(&s.topic));
    [
        form(
            "by-key",
            "key",
            format!("{topic}{}", html::input("key", "Key", &v(&s.key))),
            "Find by key",
        ),
        form(
            "by-id",
            "id",
            format!(
                "{topic}{}",
                html::input("id", "Message id or unique key", &v(&s.id))
            ),
            "Find by id",
        ),
        form(
            "by-queue",
            "queue",
            format!(
                "{topic}{}{}{}",
                html::input("broker", "Broker name", &v(&s.broker)),
                html::input("queue", "Queue", &v(&s.queue)),
                html::input("offset", "From offset", &v(&s.offset))
            ),
            "Browse queue",
        ),
    ]
    .concat()
}

pub(crate) async fn search_page(State(d): State<Dashboard>, Query(s): Query<Search>) -> PageResult {
    d.cluster()?;
    let mut body = search_forms(&s);
    if s.topic.as_deref().is_some_and(|t| !t.trim().is_empty()) && s.by.is_some() {
        match search(&d, &s).await {
            Ok(msgs) => {
                body.push_str(&format!("<h2>Found {}</h2>", msgs.len()));
                body.push_str(&html::table(
                    "results",
                    MESSAGE_COLUMNS,
                    &message_rows(&msgs),
                ));
            }
            Err(e) => body.push_str(&format!(
                "<div class=\"error\" id=\"search-error\">{}</div>",
                esc(&e.reason)
            )),
        }
    }
    Ok(Html(html::layout("Messages", "/messages", &body)))
}

fn message_json(m: &MessageExt) -> Value {
    json!({
        "topic": m.topic,
        "offsetMsgId": m.offset_msg_id(),
        "msgId": m.msg_id(),
        "keys": m.keys(),
        "tags": m.tags(),
        "queueId": m.queue_id,
        "queueOffset": m.queue_offset,
        "storeHost": m.store_host.to_string(),
        "storeTimestamp": m.store_timestamp,
        "bornTimestamp": m.born_timestamp,
        "reconsumeTimes": m.reconsume_times,
        "properties": m.properties.iter().collect::<std::collections::BTreeMap<_, _>>(),
        "body": body_text(m, None),
    })
}

/// `GET /api/messages?by=key|id|queue&topic=...`: the messages found.
pub(crate) async fn search_api(State(d): State<Dashboard>, Query(s): Query<Search>) -> ApiResult {
    let msgs = search(&d, &s).await?;
    Ok(Json(
        json!({ "messages": msgs.iter().map(message_json).collect::<Vec<_>>() }),
    ))
}

/// One part of the detail page.
struct Section {
    title: &'static str,
    html: String,
}

async fn detail_sections(d: &Dashboard, m: &MessageExt) -> Vec<Section> {
    let mut out = Vec::new();
    let facts = [
        ("Topic", m.topic.clone()),
        ("Offset id", m.offset_msg_id()),
        ("Unique key", m.msg_id()),
        ("Keys", m.keys().unwrap_or("").to_owned()),
        ("Tags", m.tags().unwrap_or("").to_owned()),
        ("Queue", m.queue_id.to_string()),
        ("Queue offset", m.queue_offset.to_string()),
        (
            "Born",
            format!("{} from {}", html::time(m.born_timestamp), m.born_host),
        ),
        (
            "Stored",
            format!("{} on {}", html::time(m.store_timestamp), m.store_host),
        ),
        ("Reconsume times", m.reconsume_times.to_string()),
        ("Body size", format!("{} bytes", m.body.len())),
    ];
    let rows: Vec<Vec<String>> = facts.iter().map(|(k, v)| vec![esc(k), esc(v)]).collect();
    out.push(Section {
        title: "Message",
        html: html::table("message-facts", &["", ""], &rows),
    });
    let props: Vec<Vec<String>> = m
        .properties
        .iter()
        .map(|(k, v)| vec![esc(k), esc(v)])
        .collect();
    out.push(Section {
        title: "Properties",
        html: html::table("message-properties", &["Name", "Value"], &props),
    });
    out.push(Section {
        title: "Body",
        html: format!(
            "<pre id=\"message-body\">{}</pre>",
            esc(&body_text(m, None))
        ),
    });
    if let Ok(c) = d.cluster() {
        let tracks = match message_track_detail(&c.admin, m).await {
            Ok(t) => {
                let rows: Vec<Vec<String>> = t
                    .iter()
                    .map(|t| vec![esc(&t.consumer_group), esc(t.track_type.as_str())])
                    .collect();
                html::table("message-tracks", &["Consumer group", "State"], &rows)
            }
            Err(e) => format!("<p class=\"note\">{}</p>", esc(&e.to_string())),
        };
        out.push(Section {
            title: "Consumed by",
            html: tracks,
        });
    }
    if let Ok(c) = d.cluster() {
        out.push(Section {
            title: "Trace",
            html: trace_table(&c.admin, &m.msg_id()).await,
        });
    }
    out.push(Section {
        title: "Resend",
        html: html::api_form(
            "resend-message",
            "/api/messages/resend",
            &format!(
                "{}{}",
                html::hidden("topic", &m.topic),
                html::hidden("id", &m.offset_msg_id())
            ),
            "Resend this message",
            false,
        ),
    });
    out
}

/// The message's life as recorded in the default trace topic (`RMQ_SYS_TRACE_TOPIC`), by the
/// clients that trace and by the broker with `brokerTraceEnable`: the same records as
/// `mqadmin queryMsgTraceById`, in time order.
async fn trace_table(admin: &AdminClient, msg_id: &str) -> String {
    let topic = ferromq_common::names::TRACE_TOPIC;
    match query_msg_trace_by_id(admin, topic, msg_id, 64, 0, i64::MAX).await {
        Ok(report) => {
            let mut views = report.views;
            views.sort_by_key(|v| v.record.timestamp);
            let rows: Vec<Vec<String>> = views
                .iter()
                .map(|v| {
                    let r = &v.record;
                    vec![
                        esc(&html::time(r.timestamp)),
                        esc(r.trace_type.as_str()),
                        esc(&r.topic),
                        esc(&r.group),
                        esc(&v.client_host),
                        esc(v.status()),
                        esc(&format!("{} ms", r.cost_time)),
                        esc(&r.retry_times.to_string()),
                    ]
                })
                .collect();
            html::table(
                "message-trace",
                &[
                    "Time", "Type", "Topic", "Group", "Client", "Status", "Cost", "Retries",
                ],
                &rows,
            )
        }
        Err(e) => format!(
            "<p class=\"note\" id=\"message-trace\">no trace in {}: {}</p>",
            esc(topic),
            esc(&e.to_string())
        ),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct MessageRef {
    topic: Option<String>,
    id: Option<String>,
}

pub(crate) async fn view_page(
    State(d): State<Dashboard>,
    Query(q): Query<MessageRef>,
) -> PageResult {
    let c = d.cluster()?;
    let topic = required(&q.topic, "topic")?;
    let id = required(&q.id, "id")?;
    let m = query_msg_by_id(&c.admin, None, topic, id).await?;
    let mut body = String::new();
    for s in detail_sections(&d, &m).await {
        body.push_str(&format!("<h2>{}</h2>{}", esc(s.title), s.html));
    }
    Ok(Html(html::layout(
        &format!("Message {id}"),
        "/messages",
        &body,
    )))
}

/// Looks the message up and resends it (`queryMsgById -s true`); a dead letter goes back to
/// the topic it was first sent to.
pub(crate) async fn resend_one(d: &Dashboard, topic: &str, id: &str) -> Result<Value, ApiError> {
    let c = d.cluster()?;
    let m = query_msg_by_id(&c.admin, None, topic, id).await?;
    let r = resend(&c.admin, id, &m).await?;
    Ok(json!({
        "originalId": id,
        "topic": r.result.queue.topic,
        "msgId": r.result.msg_id,
        "status": r.result.status.as_str(),
    }))
}

/// `POST /api/messages/resend` `{topic, id}`.
pub(crate) async fn resend_api(State(d): State<Dashboard>, Json(q): Json<MessageRef>) -> ApiResult {
    let topic = required(&q.topic, "topic")?;
    let id = required(&q.id, "id")?;
    let r = resend_one(&d, topic, id).await?;
    Ok(done(
        format!("resent {id} to {}", r["topic"].as_str().unwrap_or("")),
        r,
    ))
}
