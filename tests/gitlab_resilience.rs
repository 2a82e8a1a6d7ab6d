//! `GitLabForge` under failure: injected 5xx, 429 with `Retry-After`, timeouts,
//! refused connections, undecodable answers; and no token in tracing output.

mod common;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::forge_world::*;
use fake_gitlab::Rule;
use srcgit::forge::gitlab::{ClientOptions, GitLabForge};
use srcgit::forge::{Forge, ForgeError, ProjectRef};
use srcgit::ids::{PipelineId, ProjectPath};

fn rpms() -> ProjectRef {
    ProjectRef::Path(ProjectPath(RPMS.into()))
}

#[tokio::test]
async fn three_500s_then_success() {
    let w = world();
    let forge = GitLabForge::connect(w.options(BOT_TOKEN)).await.unwrap();
    let rule = w.gl.inject(
        Rule::new("GET", r"/projects/[^/]+$")
            .internal_error()
            .times(3),
    );
    let before = forge.requests_sent();
    let project = forge.project(&rpms()).await.unwrap();
    assert_eq!(project.path.0, RPMS);
    assert_eq!(w.gl.rule_hits(rule), 3);
    assert_eq!(forge.requests_sent() - before, 4, "3 failures + 1 success");
}

#[tokio::test]
async fn rate_limited_request_waits_for_retry_after() {
    let w = world();
    let opts = ClientOptions {
        max_backoff: Duration::from_secs(5),
        ..w.options(BOT_TOKEN)
    };
    let forge = GitLabForge::connect(opts).await.unwrap();
    let rule =
        w.gl.inject(Rule::new("GET", r"/projects/[^/]+$").rate_limited(1));
    let started = Instant::now();
    forge.project(&rpms()).await.unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(950) && waited < Duration::from_secs(3),
        "Retry-After: 1, not the 5 s cap nor the 20 ms backoff: {waited:?}"
    );
    assert_eq!(w.gl.rule_hits(rule), 1);
}

#[tokio::test]
async fn retry_after_is_capped_and_persistent_429_is_rate_limited() {
    let w = world();
    let opts = ClientOptions {
        max_retries: 2,
        ..w.options(BOT_TOKEN)
    };
    let forge = GitLabForge::connect(opts).await.unwrap();
    w.gl.inject(
        Rule::new("GET", r"/projects/[^/]+$")
            .rate_limited(60)
            .always(),
    );
    let started = Instant::now();
    let err = forge.project(&rpms()).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "Retry-After capped at max_backoff"
    );
    match &err {
        ForgeError::RateLimited { retry_after, .. } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(60)))
        }
        other => panic!("{other:?}"),
    }
    assert!(err.is_retriable());
}

#[tokio::test]
async fn persistent_502_is_a_server_error_after_max_retries() {
    let w = world();
    let opts = ClientOptions {
        max_retries: 2,
        ..w.options(BOT_TOKEN)
    };
    let forge = GitLabForge::connect(opts).await.unwrap();
    let rule =
        w.gl.inject(Rule::new("GET", "/pipelines/").bad_gateway().always());
    let before = forge.requests_sent();
    let err = forge.pipeline(w.id(RPMS), PipelineId(7)).await.unwrap_err();
    assert!(
        matches!(err, ForgeError::Server { status: 502, .. }),
        "{err:?}"
    );
    assert!(err.is_retriable());
    assert_eq!(
        (forge.requests_sent() - before, w.gl.rule_hits(rule)),
        (3, 3)
    );
    assert!(
        err.to_string().starts_with("GET pipeline 7 of project "),
        "{err}"
    );
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let w = world();
    let forge = GitLabForge::connect(w.options(BOT_TOKEN)).await.unwrap();
    let rule = w.gl.inject(
        Rule::new("GET", "/pipelines/").reply_json(422, &serde_json::json!({"message": "nope"})),
    );
    let before = forge.requests_sent();
    let err = forge.pipeline(w.id(RPMS), PipelineId(7)).await.unwrap_err();
    assert!(
        matches!(&err, ForgeError::Rejected { status: 422, message, .. } if message == "nope"),
        "{err:?}"
    );
    assert_eq!(
        (forge.requests_sent() - before, w.gl.rule_hits(rule)),
        (1, 1)
    );
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retried() {
    let w = world();
    let slow = || {
        Rule::new("GET", r"/projects/[^/]+$")
            .delay(Duration::from_secs(3))
            .pass_through()
    };
    let opts = |max_retries| ClientOptions {
        request_timeout: Duration::from_millis(500),
        max_retries,
        ..w.options(BOT_TOKEN)
    };
    let forge = GitLabForge::connect(opts(3)).await.unwrap();
    w.gl.inject(slow());
    let before = forge.requests_sent();
    forge.project(&rpms()).await.unwrap();
    assert_eq!(
        forge.requests_sent() - before,
        2,
        "timed out once, then answered"
    );

    let forge = GitLabForge::connect(opts(1)).await.unwrap();
    w.gl.inject(slow().always());
    let err = forge.project(&rpms()).await.unwrap_err();
    let timed_out =
        matches!(&err, ForgeError::Transport { message, .. } if message.contains("timed out"));
    assert!(timed_out, "{err:?}");
    assert!(err.is_retriable());
}

#[tokio::test]
async fn refused_connections_are_transport_errors() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let opts = ClientOptions {
        base_url: format!("http://127.0.0.1:{port}"),
        token: BOT_TOKEN.into(),
        request_timeout: Duration::from_secs(1),
        max_retries: 2,
        max_backoff: Duration::from_millis(10),
    };
    let err = GitLabForge::connect(opts).await.unwrap_err();
    assert!(matches!(err, ForgeError::Transport { .. }), "{err:?}");
    assert!(!err.to_string().contains(BOT_TOKEN));
}

#[tokio::test]
async fn undecodable_answers_are_decode_errors() {
    let w = world();
    let forge = GitLabForge::connect(w.options(BOT_TOKEN)).await.unwrap();
    w.gl.inject(Rule::new("GET", "/pipelines/").reply_text(200, "<html>sign in</html>"));
    let err = forge.pipeline(w.id(RPMS), PipelineId(7)).await.unwrap_err();
    assert!(matches!(err, ForgeError::Decode { .. }), "{err:?}");
    w.gl.inject(Rule::new("GET", "/pipelines/").reply_json(200, &serde_json::json!({"id": "x"})));
    let err = forge.pipeline(w.id(RPMS), PipelineId(7)).await.unwrap_err();
    assert!(matches!(err, ForgeError::Decode { .. }), "{err:?}");
}

/// Collects every tracing event (message and fields) as text.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut text = self.0.lock().unwrap();
        span.record(&mut Fields(&mut text));
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        values.record(&mut Fields(&mut self.0.lock().unwrap()));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut text = self.0.lock().unwrap();
        event.record(&mut Fields(&mut text));
        text.push('\n');
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test(flavor = "current_thread")]
async fn tracing_events_never_contain_the_token() {
    let w = world();
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let forge = GitLabForge::connect(w.options(BOT_TOKEN)).await.unwrap();
    w.gl.inject(
        Rule::new("GET", r"/projects/[^/]+$")
            .internal_error()
            .times(2),
    );
    forge.project(&rpms()).await.unwrap();
    let _ = GitLabForge::connect(w.options("glpat-wrong-SECRET")).await;
    let text = capture.0.lock().unwrap().clone();
    assert!(
        text.contains("retrying") && text.contains("delay_ms="),
        "{text}"
    );
    assert!(
        text.contains("status=500") || text.contains("HTTP 500"),
        "{text}"
    );
    assert!(!text.contains("SECRET"), "{text}");
}

/// A one-shot HTTP server answering `302` to another origin; returns its URL and the
/// request it received.
fn redirecting_server() -> (String, std::thread::JoinHandle<String>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 8192];
        let n = stream.read(&mut buf).unwrap();
        let answer = "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.2:9/api/v4/user\r\n\
                      Content-Length: 0\r\nConnection: close\r\n\r\n";
        stream.write_all(answer.as_bytes()).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    });
    (url, handle)
}

#[tokio::test]
async fn the_token_does_not_follow_redirects_to_another_origin() {
    let (url, server) = redirecting_server();
    let opts = ClientOptions {
        base_url: url,
        token: BOT_TOKEN.into(),
        request_timeout: Duration::from_secs(2),
        max_retries: 0,
        max_backoff: Duration::from_millis(10),
    };
    let err = GitLabForge::connect(opts).await.unwrap_err();
    assert!(
        matches!(&err, ForgeError::Rejected { status: 302, .. }),
        "{err:?}"
    );
    assert!(err.message().contains("not followed"), "{err}");
    let request = server.join().unwrap().to_ascii_lowercase();
    assert!(request.starts_with("get /api/v4/user"), "{request}");
    assert!(request.contains(&format!(
        "private-token: {}",
        BOT_TOKEN.to_ascii_lowercase()
    )));
}
