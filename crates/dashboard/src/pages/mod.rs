//! The pages and the JSON API they call, one module per page.
//!
//! | page | API |
//! |---|---|
//! | `/` overview | `GET /api/overview`, `GET /api/charts/rates` |
//! | `/topics`, `/topics/view?topic=` | `GET /api/topics`, `POST /api/topics` (create / queues / perm), `POST /api/topics/send` |
//! | `/groups`, `/groups/view?group=` | `GET /api/groups`, `GET /api/charts/lag`, `POST /api/groups/reset`, `POST /api/groups/skip`, `POST /api/groups/delete` |
//! | `/producers` | `GET /api/producers?group=&topic=` |
//! | `/messages`, `/messages/view` | `GET /api/messages?by=key|id|queue&...`, `POST /api/messages/resend` |
//! | `/dlq` | `GET /api/dlq?group=`, `POST /api/dlq/resend`, `POST /api/dlq/resend-all`, `POST /api/dlq/delete` |
//! | `/config` | `GET /api/config` |

mod config;
mod dlq;
mod groups;
mod messages;
mod overview;
mod topics;

use axum::routing::{get, post};
use axum::Router;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::error::ApiError;
use crate::Dashboard;

/// `base` with every page and API route.
pub(crate) fn routes(base: Router<Dashboard>) -> Router<Dashboard> {
    base.route("/", get(overview::page))
        .route("/api/overview", get(overview::api))
        .route("/api/charts/rates", get(overview::rates))
        .route("/topics", get(topics::list_page))
        .route("/topics/view", get(topics::view_page))
        .route(
            "/api/topics",
            get(topics::list_api).post(topics::update_api),
        )
        .route("/api/topics/send", post(topics::send_api))
        .route("/groups", get(groups::list_page))
        .route("/groups/view", get(groups::view_page))
        .route("/api/groups", get(groups::list_api))
        .route("/api/charts/lag", get(groups::lag_api))
        .route("/api/groups/reset", post(groups::reset_api))
        .route("/api/groups/skip", post(groups::skip_api))
        .route("/api/groups/delete", post(groups::delete_api))
        .route("/producers", get(config::producers_page))
        .route("/api/producers", get(config::producers_api))
        .route("/messages", get(messages::search_page))
        .route("/messages/view", get(messages::view_page))
        .route("/api/messages", get(messages::search_api))
        .route("/api/messages/resend", post(messages::resend_api))
        .route("/dlq", get(dlq::page))
        .route("/api/dlq", get(dlq::api))
        .route("/api/dlq/resend", post(dlq::resend_api))
        .route("/api/dlq/resend-all", post(dlq::resend_all_api))
        .route("/api/dlq/delete", post(dlq::delete_api))
        .route("/config", get(config::page))
        .route("/api/config", get(config::api))
}

/// A JSON field given as a string (what the pages send) or a number (what scripts send).
pub(crate) fn text_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(D::Error::custom(format!(
            "expected a string or a number, not {other}"
        ))),
    }
}

/// The trimmed value of a required field; 400 naming it when it is missing or blank.
pub(crate) fn required<'a>(v: &'a Option<String>, name: &str) -> Result<&'a str, ApiError> {
    match v.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(ApiError::bad_request(format!("{name} is required"))),
    }
}

/// A number field: `default` when missing or blank, 400 when not a number in `range`.
pub(crate) fn number<T>(
    v: &Option<String>,
    name: &str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ApiError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(text) = v.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(default);
    };
    match text.parse::<T>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(ApiError::bad_request(format!(
            "{name} must be a number from {} to {}, not {text:?}",
            range.start(),
            range.end()
        ))),
    }
}

/// The JSON answer of an action: `{"ok": true, "message": text}` plus `extra` fields.
pub(crate) fn done(message: impl Into<String>, extra: Value) -> axum::Json<Value> {
    let mut v = serde_json::json!({ "ok": true, "message": message.into() });
    if let (Some(obj), Value::Object(more)) = (v.as_object_mut(), extra) {
        obj.extend(more);
    }
    axum::Json(v)
}
