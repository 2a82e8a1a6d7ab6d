//! Classifying failed requests: the error the HTTP layer hands to the `gitlab` crate,
//! GitLab's error bodies flattened to one line of text, and the mapping of both onto
//! [`ForgeError`]. Pure; never sees the token.

use std::time::Duration;

use gitlab::api::ApiError;
use serde_json::Value;

use crate::forge::ForgeError;

/// Longest message kept from an error body (HTML error pages can be large).
const MAX_MESSAGE_CHARS: usize = 500;

/// What the HTTP layer reports to the `gitlab` crate when a request did not succeed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    /// A non-2xx answer (after retries, where they apply).
    #[error("HTTP {status}: {message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// GitLab's message, flattened.
        message: String,
        /// The answer's `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
    /// No answer: connection failure or timeout (after retries).
    #[error("{message}")]
    Transport {
        /// The cause.
        message: String,
    },
    /// The request could not be built, so it was never sent.
    #[error("request not sent: {message}")]
    Invalid {
        /// The cause.
        message: String,
    },
}

/// GitLab's error message as one line: `{"message": "text"}` → `text`;
/// `{"message": {"field": ["a", "b"]}}` → `field: a, b; …` (fields sorted); `{"message": ["a"]}` → `a`;
/// `{"error": "e", "error_description": "d"}` → `e: d`; any other JSON compact; a
/// non-JSON body as text; an empty body → `reason` (the HTTP reason phrase).
pub(crate) fn flatten_message(body: &[u8], reason: &str) -> String {
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(value) => flatten_value(&value),
        Err(_) => String::from_utf8_lossy(body).trim().to_owned(),
    };
    if text.is_empty() {
        reason.to_owned()
    } else {
        truncate(&text, MAX_MESSAGE_CHARS)
    }
}

/// [`flatten_message`] for an already parsed body.
pub(crate) fn flatten_value(value: &Value) -> String {
    if let Some(message) = value.get("message") {
        return match message {
            Value::Object(fields) => {
                let mut parts: Vec<_> = fields
                    .iter()
                    .map(|(field, msgs)| format!("{field}: {}", value_text(msgs)))
                    .collect();
                parts.sort();
                parts.join("; ")
            }
            Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join("; "),
            other => value_text(other),
        };
    }
    if let Some(error) = value.get("error") {
        return match value.get("error_description").and_then(Value::as_str) {
            Some(description) => format!("{}: {description}", value_text(error)),
            None => value_text(error),
        };
    }
    value_text(value)
}

/// A JSON value as plain text: strings unquoted, arrays joined with `, `.
fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join(", "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The first `max` characters of `text`, with `…` when something was cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Classifies an HTTP status (404 → `NotFound`, 401/403 → `Forbidden`, 409 →
/// `Conflict`, 429 → `RateLimited`, 5xx → `Server`, anything else → `Rejected`).
pub(crate) fn from_status(
    what: &str,
    status: u16,
    message: String,
    retry_after: Option<Duration>,
) -> ForgeError {
    let what = what.to_owned();
    match status {
        404 => ForgeError::NotFound { what },
        401 => ForgeError::Unauthorized { what, message },
        403 => ForgeError::Forbidden { what, message },
        409 => ForgeError::Conflict { what, message },
        429 => ForgeError::RateLimited { what, retry_after },
        500..=599 => ForgeError::Server { what, status },
        _ => ForgeError::Rejected {
            what,
            status,
            message,
        },
    }
}

/// A request srcgit refused to send (status 0: GitLab never saw it).
pub(crate) fn not_sent(what: &str, message: impl Into<String>) -> ForgeError {
    ForgeError::Rejected {
        what: what.to_owned(),
        status: 0,
        message: format!("request not sent: {}", message.into()),
    }
}

/// An answer srcgit cannot read.
pub(crate) fn decode(what: &str, message: String) -> ForgeError {
    ForgeError::Decode {
        what: what.to_owned(),
        message,
    }
}

/// A builder result, or `Rejected { status: 0 }` (the request was not sent).
pub(crate) fn built<T, E: std::fmt::Display>(
    what: &str,
    result: Result<T, E>,
) -> Result<T, ForgeError> {
    result.map_err(|e| not_sent(what, e.to_string()))
}

/// Whether a 404 is about the project itself rather than the thing asked for in it.
pub(crate) fn project_missing(err: &ApiError<HttpError>) -> bool {
    matches!(err, ApiError::Client { source: HttpError::Status { status: 404, message, .. } }
        if message.contains("Project Not Found"))
}

/// Maps what a `gitlab` crate query returned onto [`ForgeError`]. With our HTTP layer
/// every non-2xx answer arrives as `ApiError::Client`; the crate's own status variants
/// are mapped too (see [`from_crate_status`]), for completeness.
pub(crate) fn to_forge_error(what: &str, err: ApiError<HttpError>) -> ForgeError {
    match err {
        ApiError::Client { source } => from_http_error(what, source),
        ApiError::Json { source } | ApiError::DataType { source, .. } => {
            decode(what, source.to_string())
        }
        ApiError::GitlabService { status, data } if status.is_success() => {
            let body = flatten_message(&data, "empty");
            decode(
                what,
                format!("HTTP {status} with a body that is not JSON: {body}"),
            )
        }
        ApiError::Auth { .. } => ForgeError::Unauthorized {
            what: what.to_owned(),
            message: "the token cannot be sent as an HTTP header".to_owned(),
        },
        ApiError::UrlParse { .. } | ApiError::Body { .. } | ApiError::UnsupportedUrlBase { .. } => {
            not_sent(what, err.to_string())
        }
        other => from_crate_status(what, other),
    }
}

fn from_http_error(what: &str, err: HttpError) -> ForgeError {
    match err {
        HttpError::Status {
            status,
            message,
            retry_after,
        } => from_status(what, status, message, retry_after),
        HttpError::Transport { message } => ForgeError::Transport {
            what: what.to_owned(),
            message,
        },
        HttpError::Invalid { message } => not_sent(what, message),
    }
}

/// The crate's own classification of an HTTP error (unused with our client, which
/// reports every non-2xx answer itself).
fn from_crate_status(what: &str, err: ApiError<HttpError>) -> ForgeError {
    match err {
        ApiError::GitlabService { status, data } => {
            let message = flatten_message(&data, status.canonical_reason().unwrap_or(""));
            from_status(what, status.as_u16(), message, None)
        }
        ApiError::GitlabWithStatus { status, msg } => from_status(what, status.as_u16(), msg, None),
        ApiError::GitlabObjectWithStatus { status, obj } => {
            let message = flatten_value(&serde_json::json!({ "message": obj }));
            from_status(what, status.as_u16(), message, None)
        }
        ApiError::GitlabUnrecognizedWithStatus { status, obj } => {
            from_status(what, status.as_u16(), flatten_value(&obj), None)
        }
        ApiError::GitlabRateLimited { retry_after, .. } => ForgeError::RateLimited {
            what: what.to_owned(),
            retry_after: Some(retry_after),
        },
        ApiError::MovedPermanently { location } => {
            let to = location.as_deref().unwrap_or("an unknown location");
            let message = format!("moved permanently to {to}");
            ForgeError::Rejected {
                what: what.to_owned(),
                status: 301,
                message,
            }
        }
        other => decode(what, other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn flat(v: Value) -> String {
        flatten_message(v.to_string().as_bytes(), "Bad Request")
    }

    #[test]
    fn string_messages_are_kept() {
        let body = json!({"message": "Cannot transition status via :run from :running (Reason(s): Status cannot transition via \"run\")"});
        assert_eq!(
            flat(body),
            "Cannot transition status via :run from :running (Reason(s): Status cannot transition via \"run\")"
        );
        assert_eq!(
            flat(json!({"message": "404 Project Not Found"})),
            "404 Project Not Found"
        );
    }

    #[test]
    fn hash_messages_become_field_lists() {
        let body =
            json!({"message": {"state": ["Cannot transition status via :enqueue from :pending"]}});
        assert_eq!(
            flat(body),
            "state: Cannot transition status via :enqueue from :pending"
        );
        let body =
            json!({"message": {"title": ["can't be blank", "is too short"], "base": ["nope"]}});
        assert_eq!(
            flat(body),
            "base: nope; title: can't be blank, is too short"
        );
    }

    #[test]
    fn array_messages_are_joined() {
        let body = json!({"message": ["Another open merge request already exists for this source branch: !5"]});
        assert_eq!(
            flat(body),
            "Another open merge request already exists for this source branch: !5"
        );
    }

    #[test]
    fn error_shapes_and_other_json() {
        let body = json!({"error": "insufficient_scope", "error_description": "needs api", "scope": "api"});
        assert_eq!(flat(body), "insufficient_scope: needs api");
        assert_eq!(flat(json!({"error": "id is invalid"})), "id is invalid");
        assert_eq!(flat(json!({"weird": 1})), r#"{"weird":1}"#);
    }

    #[test]
    fn non_json_bodies_are_raw_text() {
        assert_eq!(
            flatten_message(b"Retry later\n", "Too Many Requests"),
            "Retry later"
        );
        assert_eq!(
            flatten_message(b"", "Too Many Requests"),
            "Too Many Requests"
        );
        assert_eq!(flatten_message(b"  ", "Bad Gateway"), "Bad Gateway");
        let long = "é".repeat(600);
        let got = flatten_message(long.as_bytes(), "");
        assert_eq!(got.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(got.ends_with('…'));
    }

    #[test]
    fn statuses_are_classified() {
        let class = |status| from_status("GET x", status, "m".into(), None);
        assert!(matches!(class(404), ForgeError::NotFound { .. }));
        assert!(matches!(class(401), ForgeError::Unauthorized { .. }));
        assert!(matches!(class(403), ForgeError::Forbidden { .. }));
        assert!(matches!(class(409), ForgeError::Conflict { .. }));
        assert!(matches!(class(429), ForgeError::RateLimited { .. }));
        assert!(matches!(class(502), ForgeError::Server { status: 502, .. }));
        assert!(matches!(
            class(400),
            ForgeError::Rejected { status: 400, .. }
        ));
        assert!(matches!(
            class(422),
            ForgeError::Rejected { status: 422, .. }
        ));
        assert!(class(503).is_retriable() && !class(422).is_retriable());
    }

    #[test]
    fn client_errors_keep_what_and_message() {
        let err = ApiError::client(HttpError::Status {
            status: 400,
            message: "bad".into(),
            retry_after: None,
        });
        let mapped = to_forge_error("POST status", err);
        assert_eq!(
            mapped.to_string(),
            "POST status: GitLab refused it with HTTP 400 (bad)"
        );
        let err = ApiError::client(HttpError::Transport {
            message: "timed out".into(),
        });
        assert!(to_forge_error("GET x", err).is_retriable());
    }
}
