//! The HTTP layer under the `gitlab` crate: our own `reqwest::Client` with timeouts,
//! retries (capped, jittered exponential backoff; `Retry-After` on 429/503), a
//! same-origin-only redirect policy, the `PRIVATE-TOKEN` header and a request counter.
//! It implements the crate's public `RestClient` + `AsyncClient` traits; every non-2xx
//! answer becomes an [`HttpError`], so the crate never parses error bodies itself.
//!
//! The token lives only in a sensitive `HeaderValue`: it is never formatted, logged or
//! put in a URL.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use gitlab::api::{ApiError, AsyncClient, RestClient};
use http::header::{HeaderValue, RETRY_AFTER};
use http::request::{Builder as RequestBuilder, Parts};
use http::{Response, StatusCode};
use url::Url;

use super::errors::{HttpError, flatten_message};
use super::request::repeat_is_safe;
use super::retry::{Backoff, INITIAL_BACKOFF, jittered, parse_retry_after};

/// Redirects followed (same origin only) before giving up.
const MAX_REDIRECTS: usize = 5;

/// How many times and how long to retry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    /// Retries after the first attempt.
    pub(crate) max_retries: u32,
    /// Upper bound of any single delay, `Retry-After` included.
    pub(crate) max_backoff: Duration,
}

/// Our `gitlab::api::AsyncClient`.
pub(crate) struct HttpClient {
    client: reqwest::Client,
    api_base: Url,
    token: HeaderValue,
    policy: RetryPolicy,
    sent: AtomicU64,
}

/// One attempt that did not produce a 2xx answer.
struct Failure {
    error: HttpError,
    retriable: bool,
    /// GitLab may have done the work (5xx, a timeout or a connection lost after the
    /// request was sent): only requests that are safe to repeat blindly are retried.
    outcome_unknown: bool,
}

impl HttpClient {
    /// A client for the instance at `base` (`http(s)://host[/prefix]`); the token is
    /// trimmed (a trailing newline from a token file) and marked sensitive.
    pub(crate) fn new(
        base: &Url,
        token: &str,
        timeout: Duration,
        policy: RetryPolicy,
    ) -> Result<HttpClient, String> {
        let mut token = HeaderValue::from_str(token.trim())
            .map_err(|_| "the token is not a valid header value".to_owned())?;
        token.set_sensitive(true);
        let mut root = base.clone();
        if !root.path().ends_with('/') {
            root.set_path(&format!("{}/", root.path()));
        }
        let api_base = root
            .join("api/v4/")
            .map_err(|e| format!("invalid base URL: {e}"))?;
        let client = reqwest::Client::builder()
            .user_agent(concat!("srcgit/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(same_origin_redirects())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {}", error_chain(&e)))?;
        Ok(HttpClient {
            client,
            api_base,
            token,
            policy,
            sent: AtomicU64::new(0),
        })
    }

    /// `…/api/v4/`.
    pub(crate) fn api_base(&self) -> &Url {
        &self.api_base
    }

    /// HTTP requests sent so far, retries included.
    pub(crate) fn requests_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Sends the request, retrying retriable failures per the policy.
    async fn send(&self, parts: &Parts, body: Bytes) -> Result<Response<Bytes>, HttpError> {
        let url = Url::parse(&parts.uri.to_string()).map_err(|e| HttpError::Invalid {
            message: e.to_string(),
        })?;
        let mut backoff = Backoff::new(INITIAL_BACKOFF, self.policy.max_backoff);
        let repeatable = repeat_is_safe(&parts.method, url.path());
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let failure = match self.attempt(parts, &url, body.clone(), attempt).await {
                Ok(rsp) => return Ok(rsp),
                Err(failure) => failure,
            };
            if !failure.retriable
                || attempt > self.policy.max_retries
                || (failure.outcome_unknown && !repeatable)
            {
                return Err(failure.error);
            }
            let delay = match &failure.error {
                HttpError::Status {
                    retry_after: Some(after),
                    ..
                } => (*after).min(self.policy.max_backoff),
                _ => jittered(
                    backoff.next().unwrap_or(self.policy.max_backoff),
                    fastrand::f64(),
                    self.policy.max_backoff,
                ),
            };
            tracing::warn!(
                method = %parts.method,
                path = url.path(),
                attempt,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                error = %failure.error,
                "GitLab request failed, retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// One HTTP exchange.
    async fn attempt(
        &self,
        parts: &Parts,
        url: &Url,
        body: Bytes,
        attempt: u32,
    ) -> Result<Response<Bytes>, Failure> {
        self.sent.fetch_add(1, Ordering::Relaxed);
        let request = self
            .client
            .request(parts.method.clone(), url.clone())
            .headers(parts.headers.clone())
            .header("PRIVATE-TOKEN", self.token.clone())
            .body(body);
        let rsp = request.send().await.map_err(transport_failure)?;
        let status = rsp.status();
        let headers = rsp.headers().clone();
        let data = rsp.bytes().await.map_err(transport_failure)?;
        let request_id = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if status.is_success() {
            tracing::debug!(method = %parts.method, path = url.path(), status = status.as_u16(), attempt, request.id = request_id, "GitLab request");
        } else {
            tracing::info!(method = %parts.method, path = url.path(), status = status.as_u16(), attempt, request.id = request_id, "GitLab refused or failed a request");
        }
        if status.is_success() {
            let mut out = Response::new(data);
            *out.status_mut() = status;
            *out.headers_mut() = headers;
            return Ok(out);
        }
        let retry_after = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        Err(Failure {
            error: HttpError::Status {
                status: status.as_u16(),
                message: status_message(status, &headers, &data),
                retry_after,
            },
            retriable: status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error(),
            outcome_unknown: status.is_server_error(),
        })
    }
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("api_base", &self.api_base.as_str())
            .field("policy", &self.policy)
            .field("requests_sent", &self.requests_sent())
            .finish_non_exhaustive()
    }
}

impl RestClient for HttpClient {
    type Error = HttpError;

    fn rest_endpoint(&self, endpoint: &str) -> Result<Url, ApiError<HttpError>> {
        Ok(self.api_base.join(endpoint)?)
    }
}

#[async_trait]
impl AsyncClient for HttpClient {
    async fn rest_async(
        &self,
        request: RequestBuilder,
        body: Vec<u8>,
    ) -> Result<Response<Bytes>, ApiError<HttpError>> {
        let request = request.body(()).map_err(|e| {
            ApiError::client(HttpError::Invalid {
                message: e.to_string(),
            })
        })?;
        let (parts, ()) = request.into_parts();
        self.send(&parts, Bytes::from(body))
            .await
            .map_err(ApiError::client)
    }
}

/// The message of a non-2xx answer: GitLab's, flattened; the reason phrase for an HTML
/// error page (a proxy's 502); for a redirect we refused to follow, where it went.
fn status_message(status: StatusCode, headers: &http::HeaderMap, body: &[u8]) -> String {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let reason = status.canonical_reason().unwrap_or("");
    if status.is_redirection() {
        let location = header(http::header::LOCATION).unwrap_or("?");
        return format!("redirect to {location} not followed (another origin)");
    }
    if header(http::header::CONTENT_TYPE).is_some_and(|t| t.starts_with("text/html")) {
        return reason.to_owned();
    }
    flatten_message(body, reason)
}

/// Connection errors and timeouts are retriable; anything else reqwest reports (a
/// malformed answer, a redirect loop) is not.
fn transport_failure(err: reqwest::Error) -> Failure {
    let err = err.without_url();
    let retriable = err.is_timeout() || err.is_connect() || err.is_request() || err.is_body();
    let message = if err.is_timeout() {
        format!("timed out ({})", error_chain(&err))
    } else {
        error_chain(&err)
    };
    Failure {
        error: HttpError::Transport { message },
        retriable,
        // a failed connect never reached GitLab; anything later may have
        outcome_unknown: !err.is_connect(),
    }
}

/// An error and its causes, `: `-separated, without the URL.
fn error_chain(err: &reqwest::Error) -> String {
    let mut text = String::new();
    let mut cur: Option<&dyn std::error::Error> = Some(err);
    while let Some(e) = cur {
        let part = e.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
        cur = e.source();
    }
    text
}

/// Follows redirects only within the original origin (scheme, host, port): the token is
/// a custom header reqwest does not strip, so it must never travel to another host.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let Some(first) = attempt.previous().first() else {
            return attempt.stop();
        };
        if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error("too many redirects")
        } else if attempt.url().origin() == first.origin() {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

#[cfg(test)]
mod tests {
    use http::HeaderMap;
    use http::header::{CONTENT_TYPE, LOCATION};

    use super::*;

    fn headers(pairs: &[(http::header::HeaderName, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn status_messages() {
        let html = headers(&[(CONTENT_TYPE, "text/html")]);
        let page = b"<html><center><h1>502 Bad Gateway</h1></center></html>";
        assert_eq!(
            status_message(StatusCode::BAD_GATEWAY, &html, page),
            "Bad Gateway"
        );
        let json = headers(&[(CONTENT_TYPE, "application/json")]);
        let body = br#"{"message":"404 Project Not Found"}"#;
        assert_eq!(
            status_message(StatusCode::NOT_FOUND, &json, body),
            "404 Project Not Found"
        );
        let moved = headers(&[(LOCATION, "https://elsewhere.example/api/v4/user")]);
        assert_eq!(
            status_message(StatusCode::FOUND, &moved, b""),
            "redirect to https://elsewhere.example/api/v4/user not followed (another origin)"
        );
    }
}
