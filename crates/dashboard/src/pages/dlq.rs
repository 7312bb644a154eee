//! `/dlq`: the dead-letter topics (`%DLQ%<group>`) with their sizes; `/dlq?group=`: the latest
//! dead letters of a group, each with a resend and a delete button, and "resend all". A resend
//! looks the message up by id and sends it again (`queryMsgById -s true`), to the topic it was
//! first sent to, where the group consumes it again; a delete (`deleteDlqMessage`) hides it from
//! the DLQ for good, optionally after resending it.

use axum::extract::{Query, State};
use axum::response::Html;
use axum::Json;
use ferromq_admin::message::{
    delete_dead_letter, dlq_tombstones, pull_one_queue, query_msg_by_id, resend,
};
use ferromq_admin::topic::{topic_status, TopicListReport};
use ferromq_common::names;
use ferromq_proto::message::MessageExt;
use serde::Deserialize;
use serde_json::{json, Value};

use super::messages::{message_rows, resend_one, MESSAGE_COLUMNS};
use super::{done, required};
use crate::error::{ApiError, ApiResult, PageResult};
use crate::html::{self, esc, url};
use crate::{Cluster, Dashboard};

/// Dead letters shown per queue (the newest).
const SHOWN_PER_QUEUE: i64 = 32;
/// At most this many dead letters are resent by one "resend all".
const RESEND_ALL_MAX: usize = 1000;

#[derive(Debug, Deserialize)]
pub(crate) struct DlqQuery {
    group: Option<String>,
    id: Option<String>,
    /// `POST /api/dlq/delete`: resend the message before deleting it.
    #[serde(default)]
    resend: bool,
}

/// The address to read `broker_name`'s queues from: its master, else any slave.
async fn broker_addr(c: &Cluster, topic: &str, broker_name: &str) -> Result<String, ApiError> {
    let route = c.admin.topic_route(topic).await?;
    route
        .broker_datas
        .iter()
        .find(|b| b.broker_name == broker_name)
        .and_then(|b| {
            b.master_addr()
                .or_else(|| b.broker_addrs.values().next().map(String::as_str))
        })
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "broker {broker_name} is not in the route of {topic}"
            ))
        })
}

/// How many dead letters of `topic` were deleted (on the masters of its route).
async fn deleted_count(c: &Cluster, topic: &str) -> i64 {
    let Ok(route) = c.admin.topic_route(topic).await else {
        return 0;
    };
    let mut n = 0;
    for b in &route.broker_datas {
        if let Some(addr) = b.master_addr() {
            if let Ok(t) = dlq_tombstones(&c.admin, addr).await {
                n += t.count(topic) as i64;
            }
        }
    }
    n
}

/// The dead letters of `topic`: the `newest` last ones of each queue (every one from the
/// queue's min offset when `None`), at most `limit` in all.
async fn dead_letters(
    c: &Cluster,
    topic: &str,
    newest: Option<i64>,
    limit: usize,
) -> Result<Vec<MessageExt>, ApiError> {
    let status = topic_status(&c.admin, topic, None).await?;
    let mut out = Vec::new();
    for (mq, o) in &status.queues {
        let mut offset = match newest {
            Some(n) => o.min_offset.max(o.max_offset - n),
            None => o.min_offset,
        };
        let addr = broker_addr(c, topic, &mq.broker_name).await?;
        // Deleted dead letters are left out by the broker: a pull may find none and still
        // move on.
        while offset < o.max_offset && out.len() < limit {
            let got = pull_one_queue(&c.admin, &addr, mq, "*", offset, 32).await?;
            if got.next_begin_offset <= offset {
                break;
            }
            offset = got.next_begin_offset;
            out.extend(got.messages);
        }
    }
    out.truncate(limit);
    Ok(out)
}

pub(crate) async fn page(State(d): State<Dashboard>, Query(q): Query<DlqQuery>) -> PageResult {
    let c = d.cluster()?;
    let Some(group) = q.group.as_deref().map(str::trim).filter(|g| !g.is_empty()) else {
        let topics = match ferromq_admin::topic::topic_list(&c.admin, false).await? {
            TopicListReport::Plain(t) => t,
            TopicListReport::Cluster(rows) => rows.into_iter().map(|r| r.topic).collect(),
        };
        let mut rows = Vec::new();
        for t in topics.iter().filter(|t| names::is_dlq_topic(t)) {
            let group = &t[names::DLQ_GROUP_TOPIC_PREFIX.len()..];
            let count = match topic_status(&c.admin, t, None).await {
                Ok(s) => (s
                    .queues
                    .iter()
                    .map(|(_, o)| o.max_offset - o.min_offset)
                    .sum::<i64>()
                    - deleted_count(c, t).await)
                    .max(0)
                    .to_string(),
                Err(e) => e.to_string(),
            };
            rows.push(vec![
                html::link(&format!("/dlq?group={}", url(group)), group),
                esc(t),
                esc(&count),
            ]);
        }
        let body = html::table("dlq-topics", &["Group", "Topic", "Dead letters"], &rows);
        return Ok(Html(html::layout("Dead letters", "/dlq", &body)));
    };
    let topic = names::dlq_topic(group);
    let msgs = dead_letters(c, &topic, Some(SHOWN_PER_QUEUE), usize::MAX).await?;
    let mut rows = message_rows(&msgs);
    for (row, m) in rows.iter_mut().zip(&msgs) {
        let fields = format!(
            "{}{}",
            html::hidden("group", group),
            html::hidden("id", &m.offset_msg_id())
        );
        let resend = html::api_form(
            &format!("resend-{}", m.offset_msg_id()),
            "/api/dlq/resend",
            &fields,
            "Resend",
            false,
        );
        let delete = html::api_form(
            &format!("delete-{}", m.offset_msg_id()),
            "/api/dlq/delete",
            &fields,
            "Delete",
            false,
        )
        .replace(
            "<form ",
            "<form data-confirm=\"Delete this dead letter for good?\" ",
        );
        row.push(format!("{resend}{delete}"));
    }
    let mut columns = MESSAGE_COLUMNS.to_vec();
    columns.push("");
    let all = html::api_form(
        "resend-all",
        "/api/dlq/resend-all",
        &html::hidden("group", group),
        "Resend all",
        false,
    )
    .replace(
        "<form ",
        "<form data-confirm=\"Resend every dead letter of this group?\" ",
    );
    let body = format!(
        "<p>Topic <code>{t}</code>: the newest {SHOWN_PER_QUEUE} per queue.</p>{all}{table}",
        t = esc(&topic),
        table = html::table("dead-letters", &columns, &rows),
    );
    Ok(Html(html::layout(
        &format!("Dead letters of {group}"),
        "/dlq",
        &body,
    )))
}

/// `GET /api/dlq?group=`: the newest dead letters of the group.
pub(crate) async fn api(State(d): State<Dashboard>, Query(q): Query<DlqQuery>) -> ApiResult {
    let c = d.cluster()?;
    let group = required(&q.group, "group")?;
    let msgs = dead_letters(
        c,
        &names::dlq_topic(group),
        Some(SHOWN_PER_QUEUE),
        usize::MAX,
    )
    .await?;
    let list: Vec<Value> = msgs
        .iter()
        .map(|m| json!({"offsetMsgId": m.offset_msg_id(), "msgId": m.msg_id(), "keys": m.keys()}))
        .collect();
    Ok(Json(json!({ "messages": list })))
}

/// `POST /api/dlq/resend {group, id}`: resends one dead letter.
pub(crate) async fn resend_api(State(d): State<Dashboard>, Json(q): Json<DlqQuery>) -> ApiResult {
    let group = required(&q.group, "group")?;
    let id = required(&q.id, "id")?;
    let r = resend_one(&d, &names::dlq_topic(group), id).await?;
    Ok(done(
        format!("resent {id} to {}", r["topic"].as_str().unwrap_or("")),
        r,
    ))
}

/// `POST /api/dlq/resend-all {group}`: resends every dead letter of the group (at most
/// [`RESEND_ALL_MAX`]); one that fails is reported and the others still go.
pub(crate) async fn resend_all_api(
    State(d): State<Dashboard>,
    Json(q): Json<DlqQuery>,
) -> ApiResult {
    let c = d.cluster()?;
    let group = required(&q.group, "group")?;
    let msgs = dead_letters(c, &names::dlq_topic(group), None, RESEND_ALL_MAX).await?;
    let mut failed = Vec::new();
    for m in &msgs {
        if let Err(e) = resend(&c.admin, &m.offset_msg_id(), m).await {
            failed.push(json!({"id": m.offset_msg_id(), "error": e.to_string()}));
        }
    }
    let sent = msgs.len() - failed.len();
    Ok(done(
        format!("resent {sent} of {} dead letters of {group}", msgs.len()),
        json!({ "resent": sent, "failed": failed }),
    ))
}

/// `POST /api/dlq/delete {group, id, resend?}`: deletes one dead letter (`deleteDlqMessage`),
/// resending it to its first topic before when `resend` is true.
pub(crate) async fn delete_api(State(d): State<Dashboard>, Json(q): Json<DlqQuery>) -> ApiResult {
    let c = d.cluster()?;
    let group = required(&q.group, "group")?;
    let id = required(&q.id, "id")?;
    let m = query_msg_by_id(&c.admin, None, &names::dlq_topic(group), id).await?;
    let resent = if q.resend {
        let r = resend(&c.admin, id, &m).await?;
        Some(json!({"topic": r.result.queue.topic, "msgId": r.result.msg_id}))
    } else {
        None
    };
    let (broker, deleted) = delete_dead_letter(&c.admin, &m, None).await?;
    Ok(done(
        format!("deleted {id} from {}", deleted.topic),
        json!({
            "broker": broker,
            "topic": deleted.topic,
            "queueId": deleted.queue_id,
            "queueOffset": deleted.queue_offset,
            "msgId": deleted.msg_id,
            "alreadyDeleted": deleted.already_deleted,
            "resent": resent,
        }),
    ))
}
