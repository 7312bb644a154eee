//! Why a page or an API call failed, and the HTTP status it becomes.
//!
//! User errors (a bad field, an unknown topic or group) are 4xx with the reason; a broker or
//! name server that cannot be reached or refuses is 502 with its reason. Nothing a user types
//! becomes a 500.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use ferromq_admin::AdminError;
use ferromq_client::ClientError;
use ferromq_proto::codes::response;

use crate::html;

/// A failure with the status it answers with and a reason for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, in words.
    pub reason: String,
}

impl ApiError {
    /// 400 with `reason`.
    pub fn bad_request(reason: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            reason: reason.into(),
        }
    }

    /// 404 with `reason`.
    pub fn not_found(reason: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            reason: reason.into(),
        }
    }

    /// 503: the dashboard runs without a name server to ask.
    pub fn unavailable(reason: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            reason: reason.into(),
        }
    }
}

/// The status of a broker's or name server's refusal: codes that mean "no such thing" are 404,
/// refusals of the request 400 or 403, anything else (system error, busy) 502.
fn status_of_code(code: i32) -> StatusCode {
    match code {
        response::TOPIC_NOT_EXIST
        | response::SUBSCRIPTION_GROUP_NOT_EXIST
        | response::QUERY_NOT_FOUND
        | response::CONSUMER_NOT_ONLINE
        | response::NO_MESSAGE => StatusCode::NOT_FOUND,
        response::NO_PERMISSION => StatusCode::FORBIDDEN,
        response::MESSAGE_ILLEGAL | response::INVALID_PARAMETER => StatusCode::BAD_REQUEST,
        _ => StatusCode::BAD_GATEWAY,
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        let reason = e.to_string();
        let status = ApiError::status_of(&e);
        ApiError { status, reason }
    }
}

impl From<ClientError> for ApiError {
    fn from(e: ClientError) -> Self {
        ApiError {
            status: client_status(&e),
            reason: e.to_string(),
        }
    }
}

impl ApiError {
    fn status_of(e: &AdminError) -> StatusCode {
        match e {
            AdminError::InvalidArgument { .. } => StatusCode::BAD_REQUEST,
            AdminError::NotFound { .. } => StatusCode::NOT_FOUND,
            AdminError::Client { source } => client_status(source),
            AdminError::Partial { source, .. } => ApiError::status_of(source),
        }
    }
}

fn client_status(e: &ClientError) -> StatusCode {
    match e {
        ClientError::Broker { code, .. } => status_of_code(*code),
        ClientError::InvalidAddress { .. }
        | ClientError::Name { .. }
        | ClientError::InvalidArgument { .. }
        | ClientError::InvalidRecallHandle { .. } => StatusCode::BAD_REQUEST,
        ClientError::NoRoute { .. } => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_GATEWAY,
    }
}

/// API answers are JSON: `{"error": reason}`.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.reason })),
        )
            .into_response()
    }
}

/// A page that failed: the same status, the reason on an HTML page with the navigation.
#[derive(Debug)]
pub struct PageError(pub ApiError);

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        PageError(e)
    }
}

impl From<AdminError> for PageError {
    fn from(e: AdminError) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let body = format!(
            "<div class=\"error\" id=\"page-error\">{} {}</div>",
            self.0.status.as_u16(),
            html::esc(&self.0.reason)
        );
        (self.0.status, Html(html::layout("Error", "", &body))).into_response()
    }
}

/// Result of a page handler.
pub type PageResult = Result<Html<String>, PageError>;

/// Result of an API handler.
pub type ApiResult = Result<Json<serde_json::Value>, ApiError>;
