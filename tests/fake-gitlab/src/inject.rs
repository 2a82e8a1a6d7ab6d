//! Failure injection, rate limiting and the request log (an axum middleware
//! wrapped around every route, git included).

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State as AxState};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use regex::Regex;
use serde_json::{Value, json};

use crate::server::AppState;

/// A canned response.
#[derive(Clone, Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Extra headers (`Content-Type` included).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: String,
}

/// An injection rule: requests whose method and path match are answered with
/// [`Reply`] (or merely delayed) instead of reaching the fake, for the next N
/// matches (default 1). With [`Rule::after_work`] the fake first does the work
/// and only then answers with the reply (GitLab did it, the answer was lost);
/// with [`Rule::probability`] a match fires only sometimes, and a rule that does
/// not fire lets the next matching rule have its turn.
#[derive(Clone, Debug)]
pub struct Rule {
    method: Option<String>,
    path: Regex,
    times: Option<usize>,
    reply: Option<Reply>,
    delay: Option<Duration>,
    after_work: bool,
    probability: Option<(f64, u64)>,
}

impl Rule {
    /// Matches `method` (`"*"` for any) and a regex searched in the request
    /// path — raw (`/api/v4/projects/group%2Fproj/…`) or percent-decoded.
    /// Panics on an invalid regex (a test-authoring error).
    pub fn new(method: &str, path_regex: &str) -> Rule {
        Rule::try_new(method, path_regex)
            .unwrap_or_else(|e| panic!("invalid injection regex {path_regex:?}: {e}"))
    }

    /// Like [`Rule::new`], returning the regex error instead of panicking.
    pub fn try_new(method: &str, path_regex: &str) -> Result<Rule, regex::Error> {
        Ok(Rule {
            method: (method != "*" && !method.is_empty()).then(|| method.to_ascii_uppercase()),
            path: Regex::new(path_regex)?,
            times: Some(1),
            reply: Some(Reply {
                status: 500,
                headers: vec![("content-type".into(), "application/json".into())],
                body: json!({"message": "500 Internal Server Error"}).to_string(),
            }),
            delay: None,
            after_work: false,
            probability: None,
        })
    }

    /// Lets the request reach the fake (the work is done: the fork, MR, note,
    /// status or pipeline exists) and then answers with the reply instead of the
    /// real answer: a lost answer, as a load balancer's 502 after the backend
    /// committed, or a reset connection, looks to the client.
    pub fn after_work(mut self) -> Self {
        self.after_work = true;
        self
    }

    /// "Do the work, then fail the answer" with nginx's 502 page.
    pub fn lost_answer(self) -> Self {
        self.bad_gateway().after_work()
    }

    /// Fires on a match only with probability `p` (0..=1), drawn from a
    /// generator seeded with `seed` (reproducible runs). Unfired matches do not
    /// count towards [`Rule::times`].
    pub fn probability(mut self, p: f64, seed: u64) -> Self {
        self.probability = Some((p.clamp(0.0, 1.0), seed));
        self
    }

    /// Applies to the next `n` matching requests.
    pub fn times(mut self, n: usize) -> Self {
        self.times = Some(n);
        self
    }

    /// Applies to every matching request until removed.
    pub fn always(mut self) -> Self {
        self.times = None;
        self
    }

    /// Replies with `status` and a JSON body.
    pub fn reply_json(mut self, status: u16, body: &Value) -> Self {
        self.reply = Some(Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
        });
        self
    }

    /// Replies with `status` and a plain-text body.
    pub fn reply_text(mut self, status: u16, body: &str) -> Self {
        self.reply = Some(Reply {
            status,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: body.to_string(),
        });
        self
    }

    /// Adds a header to the reply.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Some(r) = self.reply.as_mut() {
            r.headers
                .push((name.to_ascii_lowercase(), value.to_string()));
        }
        self
    }

    /// Waits `d` (wall-clock) before answering.
    pub fn delay(mut self, d: Duration) -> Self {
        self.delay = Some(d);
        self
    }

    /// Only delays matching requests; they are then served normally.
    pub fn pass_through(mut self) -> Self {
        self.reply = None;
        self
    }

    /// `500 {"message":"500 Internal Server Error"}`.
    pub fn internal_error(self) -> Self {
        self.reply_json(500, &json!({"message": "500 Internal Server Error"}))
    }

    /// `502` with nginx's HTML page.
    pub fn bad_gateway(mut self) -> Self {
        self.reply = Some(Reply {
            status: 502,
            headers: vec![("content-type".into(), "text/html".into())],
            body: "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n".into(),
        });
        self
    }

    /// Rack::Attack throttling: `429`, plain-text `Retry later`, `Retry-After`
    /// and the `RateLimit-*` headers.
    pub fn rate_limited(self, retry_after_secs: u64) -> Self {
        let mut r = self.reply_text(429, "Retry later\n");
        if let Some(reply) = r.reply.as_mut() {
            reply
                .headers
                .extend(rate_limit_headers(retry_after_secs, 2000));
        }
        r
    }

    /// `409 {"message":"Another update to this commit status is in progress"}`.
    pub fn status_conflict(self) -> Self {
        self.reply_json(
            409,
            &json!({"message": "Another update to this commit status is in progress"}),
        )
    }

    fn matches(&self, method: &str, raw_path: &str, decoded_path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m == method)
            && (self.path.is_match(raw_path) || self.path.is_match(decoded_path))
    }
}

fn rate_limit_headers(retry_after: u64, limit: u32) -> Vec<(String, String)> {
    let reset = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() + retry_after)
        .unwrap_or(0);
    vec![
        ("retry-after".into(), retry_after.to_string()),
        ("ratelimit-name".into(), "throttle_authenticated_api".into()),
        ("ratelimit-limit".into(), limit.to_string()),
        ("ratelimit-observed".into(), (limit + 1).to_string()),
        ("ratelimit-remaining".into(), "0".into()),
        ("ratelimit-reset".into(), reset.to_string()),
    ]
}

/// Identifies an injected rule (see [`FakeGitLab::inject`](crate::FakeGitLab::inject)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RuleHandle(pub(crate) u64);

pub(crate) struct RuleEntry {
    pub id: u64,
    pub rule: Rule,
    pub hits: usize,
    /// State of the rule's random generator (see [`Rule::probability`]).
    pub rng: u64,
}

impl RuleEntry {
    pub(crate) fn new(id: u64, rule: Rule) -> RuleEntry {
        let seed = rule.probability.map_or(0, |(_, seed)| seed);
        RuleEntry {
            id,
            rule,
            hits: 0,
            // splitmix64 of the seed, so that seeds 0, 1, 2… give unrelated streams
            rng: splitmix64(seed.wrapping_add(0x9e37_79b9_7f4a_7c15)) | 1,
        }
    }

    /// Whether a matching request fires this rule (always, unless it has a probability).
    fn fires(&mut self) -> bool {
        let Some((p, _)) = self.rule.probability else {
            return true;
        };
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let sample = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11;
        (sample as f64 / (1u64 << 53) as f64) < p
    }
}

fn splitmix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// What the middleware does with a request.
pub(crate) struct Matched {
    reply: Option<Reply>,
    delay: Option<Duration>,
    after_work: bool,
}

/// One request as the fake saw it.
#[derive(Clone, Debug)]
pub struct LoggedRequest {
    /// Arrival order, from 0.
    pub seq: u64,
    /// Wall-clock arrival time.
    pub at: SystemTime,
    /// Wall-clock time since the server started.
    pub elapsed: Duration,
    /// HTTP method.
    pub method: String,
    /// Raw path (percent-encoding kept).
    pub path: String,
    /// Query string, secrets replaced by `[REDACTED]`.
    pub query: Option<String>,
    /// Response status.
    pub status: u16,
    /// API request body (lossy UTF-8), secrets replaced by `[REDACTED]`;
    /// `None` for git traffic.
    pub body: Option<String>,
    /// Username the request authenticated as (if any token matched).
    pub user: Option<String>,
    /// Answered by an injection rule.
    pub injected: bool,
    /// Answered by the rate limiter.
    pub rate_limited: bool,
    /// No route matched (404 `{"message":"404 Not Found"}`).
    pub unmatched: bool,
}

/// Response extension set by the fallback for unknown routes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Unmatched;

/// Fixed-window rate limiter per user (or anonymous).
#[derive(Default)]
pub(crate) struct Limiter {
    windows: HashMap<String, (Instant, u32)>,
}

impl Limiter {
    /// `Some(seconds to wait)` when `key` exceeded `limit` in the window.
    fn check(&mut self, key: &str, limit: u32, window: Duration) -> Option<u64> {
        let now = Instant::now();
        let e = self.windows.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(e.0) >= window {
            *e = (now, 0);
        }
        e.1 += 1;
        (e.1 > limit).then(|| {
            (window.saturating_sub(now.duration_since(e.0)))
                .as_secs()
                .max(1)
        })
    }
}

fn redact(s: &str, secrets: &[String]) -> String {
    let mut out = s.to_string();
    for sec in secrets {
        if sec.len() >= 4 {
            out = out.replace(sec.as_str(), "[REDACTED]");
        }
    }
    out
}

fn redact_query(q: &str, secrets: &[String]) -> String {
    q.split('&')
        .map(|pair| {
            let key = pair.split('=').next().unwrap_or("");
            if matches!(key, "private_token" | "access_token" | "job_token") {
                format!("{key}=[REDACTED]")
            } else {
                redact(pair, secrets)
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn build_reply(r: &Reply) -> Response {
    let mut resp = (
        StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        r.body.clone(),
    )
        .into_response();
    for (k, v) in &r.headers {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::from_str(v)) {
            resp.headers_mut().insert(k, v);
        }
    }
    resp
}

/// The middleware: log, inject, rate-limit, then serve.
pub(crate) async fn middleware(
    AxState(app): AxState<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let at = SystemTime::now();
    let method = req.method().as_str().to_string();
    let raw_path = req.uri().path().to_string();
    let decoded = percent_encoding::percent_decode_str(&raw_path)
        .decode_utf8_lossy()
        .to_string();
    let query = req.uri().query().map(str::to_string);
    let is_api = raw_path.starts_with("/api/");

    // Secrets are only needed to redact a logged query string or API body.
    let (user, secrets) = app.identify(req.headers(), query.as_deref(), is_api || query.is_some());
    let (req, body_text) = if is_api {
        let (parts, body) = req.into_parts();
        match to_bytes(body, 64 << 20).await {
            Ok(b) => {
                let text = (!b.is_empty()).then(|| String::from_utf8_lossy(&b).to_string());
                (Request::from_parts(parts, Body::from(b)), text)
            }
            Err(_) => (Request::from_parts(parts, Body::empty()), None),
        }
    } else {
        (req, None)
    };

    let Matched {
        reply,
        delay,
        after_work,
    } = app.match_rule(&method, &raw_path, &decoded);
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    let mut injected = false;
    let mut rate_limited = false;
    let resp = if let Some(r) = reply {
        injected = true;
        if after_work {
            // the work happens; its answer is dropped
            let _ = next.run(req).await;
        }
        build_reply(&r)
    } else if let Some(wait) = app.rate_limit(user.as_deref()) {
        rate_limited = true;
        let mut r = Reply {
            status: 429,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: "Retry later\n".into(),
        };
        r.headers
            .extend(rate_limit_headers(wait, app.rate_limit_value()));
        build_reply(&r)
    } else {
        next.run(req).await
    };
    let unmatched = resp.extensions().get::<Unmatched>().is_some();
    app.record(LoggedRequest {
        seq: 0,
        at,
        elapsed: start.duration_since(app.started),
        method,
        path: raw_path,
        query: query.map(|q| redact_query(&q, &secrets)),
        status: resp.status().as_u16(),
        body: body_text.map(|b| redact(&b, &secrets)),
        user,
        injected,
        rate_limited,
        unmatched,
    });
    resp
}

impl crate::server::Shared {
    fn match_rule(&self, method: &str, raw: &str, decoded: &str) -> Matched {
        let mut rules = self.rules.lock().unwrap_or_else(|p| p.into_inner());
        for e in rules.iter_mut() {
            if !e.rule.matches(method, raw, decoded) || e.rule.times.is_some_and(|t| e.hits >= t) {
                continue;
            }
            if !e.fires() {
                continue;
            }
            e.hits += 1;
            return Matched {
                reply: e.rule.reply.clone(),
                delay: e.rule.delay,
                after_work: e.rule.after_work && e.rule.reply.is_some(),
            };
        }
        Matched {
            reply: None,
            delay: None,
            after_work: false,
        }
    }

    fn rate_limit(&self, user: Option<&str>) -> Option<u64> {
        let (limit, window) = self.rate_limit?;
        let mut l = self.limiter.lock().unwrap_or_else(|p| p.into_inner());
        l.check(user.unwrap_or("<anonymous>"), limit, window)
    }

    fn rate_limit_value(&self) -> u32 {
        self.rate_limit.map(|(l, _)| l).unwrap_or(0)
    }

    fn record(&self, mut entry: LoggedRequest) {
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        entry.seq = log.len() as u64;
        if entry.unmatched {
            eprintln!(
                "fake-gitlab: no route for {} {} (answered 404 {{\"message\":\"404 Not Found\"}})",
                entry.method, entry.path
            );
        }
        log.push(entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_matches_raw_and_decoded_paths() {
        let r = Rule::new("post", r"/projects/group/proj/statuses/");
        assert!(r.matches(
            "POST",
            "/api/v4/projects/group%2Fproj/statuses/abc",
            "/api/v4/projects/group/proj/statuses/abc"
        ));
        assert!(!r.matches(
            "GET",
            "/api/v4/projects/group%2Fproj/statuses/abc",
            "/api/v4/projects/group/proj/statuses/abc"
        ));
    }

    #[test]
    fn probability_fires_about_as_often_as_asked_and_reproducibly() {
        let count = |seed| {
            let mut e = RuleEntry::new(1, Rule::new("*", "x").probability(0.2, seed));
            (0..10_000).filter(|_| e.fires()).count()
        };
        let n = count(7);
        assert!((1_800..2_200).contains(&n), "{n}");
        assert_eq!(count(7), n, "same seed, same sequence");
        assert_ne!(count(8), n);
        let mut always = RuleEntry::new(2, Rule::new("*", "x"));
        assert!((0..100).all(|_| always.fires()));
    }

    #[test]
    fn query_secrets_are_redacted() {
        let q = redact_query("private_token=abc&x=glpat-secret", &["glpat-secret".into()]);
        assert_eq!(q, "private_token=[REDACTED]&x=[REDACTED]");
    }
}
