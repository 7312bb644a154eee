//! `/dlq`: the dead-letter topics (`%DLQ%<group>`) with their sizes; `/dlq?group=`: the latest
//! dead letters of a group, each with a resend button, and "resend all". A resend looks the
//! message up by id and sends it again (`queryMsgById -s true`), to the topic it was first sent
//! to, where the group consumes it again.

use axum::extract::{Query, State};
use axum::response::Html;
use axum::Json;
use ferromq_admin::message::resend;
use ferromq_admin::topic::{topic_status, TopicListReport};
use ferromq_common::names;
use ferromq_proto::message::MessageExt;
use serde::Deserialize;
use serde_json::{json, Value};

use super::messages::{message_rows, pull_queue, resend_one, MESSAGE_COLUMNS};
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
        while offset < o.max_offset && out.len() < limit {
            let got = pull_queue(&c.admin, mq, offset, 32).await?;
            let Some(last) = got.last() else { break };
            offset = last.queue_offset + 1;
            out.extend(got);
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
                Ok(s) => s
                    .queues
                    .iter()
                    .map(|(_, o)| o.max_offset - o.min_offset)
                    .sum::<i64>()
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
        row.push(html::api_form(
            &format!("resend-{}", m.offset_msg_id()),
            "/api/dlq/resend",
            &format!(
                "{}{}",
                html::hidden("group", group),
                html::hidden("id", &m.offset_msg_id())
            ),
            "Resend",
            false,
        ));
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
