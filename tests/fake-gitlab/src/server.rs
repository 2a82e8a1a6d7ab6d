//! Server lifecycle: a dedicated thread with its own tokio runtime serves the
//! fake on `127.0.0.1:0`, so tests may block (run `git`, a subprocess, or
//! synchronous seeding) without starving it, whatever runtime they use.

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::api::{self, ApiError, Params};
use crate::clock::Clock;
use crate::git::Git;
use crate::inject::{self, Limiter, LoggedRequest, RuleEntry, Unmatched};
use crate::state::{Settings, State};

/// Start-up options.
#[derive(Clone, Debug)]
pub struct Options {
    /// Virtual clock driving job progression, fork imports and timestamps.
    pub clock: Clock,
    /// Virtual time a fork spends in `scheduled`/`started` before `finished`.
    pub fork_import_delay: Duration,
    /// Virtual time between an MR event (create, push) and its MR pipeline.
    pub mr_pipeline_delay: Duration,
    /// Automatic throttling: at most `.0` requests per `.1` (wall-clock) per
    /// user; excess requests get Rack::Attack's 429.
    pub rate_limit: Option<(u32, Duration)>,
    /// Reported by `/version` and `CI_SERVER_VERSION`.
    pub server_version: String,
    /// Wall-clock interval of the background progression tick.
    pub tick: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            clock: Clock::system(),
            fork_import_delay: Duration::from_millis(300),
            mr_pipeline_delay: Duration::ZERO,
            rate_limit: None,
            server_version: "18.4.1".into(),
            tick: Duration::from_millis(20),
        }
    }
}

/// Everything the request handlers share.
pub(crate) struct Shared {
    state: Mutex<State>,
    pub(crate) log: Mutex<Vec<LoggedRequest>>,
    pub(crate) rules: Mutex<Vec<RuleEntry>>,
    pub(crate) limiter: Mutex<Limiter>,
    pub(crate) rate_limit: Option<(u32, Duration)>,
    pub(crate) started: Instant,
    pub(crate) next_rule: AtomicU64,
}

pub(crate) type AppState = Arc<Shared>;

impl Shared {
    /// Locks the world (a poisoned lock is recovered: state stays usable).
    pub(crate) fn lock_state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Username a request authenticates as (for the log / rate limiter) and
    /// every secret to redact from logged bodies.
    pub(crate) fn identify(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
        with_secrets: bool,
    ) -> (Option<String>, Vec<String>) {
        let st = self.lock_state();
        let params = Params::from_query(query.unwrap_or(""));
        let token = api::request_token(headers, &params)
            .or_else(|| crate::git_http::basic_credentials(headers).map(|(_, p)| p));
        let user = token.as_deref().and_then(|t| {
            st.token(t)
                .map(|t| t.user_id)
                .or_else(|| st.job_by_token(t).map(|j| j.user_id))
                .and_then(|id| st.users.get(&id))
                .map(|u| u.username.clone())
        });
        (
            user,
            if with_secrets {
                st.all_secrets()
            } else {
                Vec::new()
            },
        )
    }
}

/// Brings the world up to the current virtual time.
pub(crate) fn advance(st: &mut State) {
    crate::projects::progress_imports(st);
    crate::mrs::run_scheduled(st);
    crate::pipelines::process_all(st);
}

async fn fallback(AxState(app): AxState<AppState>, req: Request) -> Response {
    if crate::git_http::recognizes(req.uri().path(), req.uri().query()) {
        return crate::git_http::handle(app, req).await;
    }
    let mut r = ApiError::message(StatusCode::NOT_FOUND, "404 Not Found").into_response();
    r.extensions_mut().insert(Unmatched);
    r
}

async fn method_not_allowed() -> Response {
    ApiError::message(StatusCode::METHOD_NOT_ALLOWED, "405 Method Not Allowed").into_response()
}

fn build_router(shared: AppState) -> Router {
    api::router()
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            inject::middleware,
        ))
        .with_state(shared)
}

/// The running fake. Dropping it stops the server and deletes its repositories.
pub struct FakeGitLab {
    pub(crate) shared: AppState,
    url: String,
    clock: Clock,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    dir: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for FakeGitLab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeGitLab")
            .field("url", &self.url)
            .finish()
    }
}

impl FakeGitLab {
    /// Starts the server on `127.0.0.1:<free port>` (usable from any runtime).
    /// Panics if the port or temporary directory cannot be set up.
    pub async fn start(opts: Options) -> FakeGitLab {
        Self::start_blocking(opts)
    }

    /// [`FakeGitLab::start`] for synchronous tests.
    pub fn start_blocking(opts: Options) -> FakeGitLab {
        let dir = tempfile::Builder::new()
            .prefix("fake-gitlab-")
            .tempdir()
            .unwrap_or_else(|e| panic!("fake-gitlab: cannot create a temporary directory: {e}"));
        let repos: PathBuf = dir.path().join("repos");
        std::fs::create_dir_all(&repos)
            .unwrap_or_else(|e| panic!("fake-gitlab: cannot create {repos:?}: {e}"));
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.set_nonblocking(true).map(|_| l))
            .unwrap_or_else(|e| panic!("fake-gitlab: cannot bind 127.0.0.1:0: {e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        let url = format!("http://127.0.0.1:{port}");
        let settings = Settings {
            fork_import_delay: opts.fork_import_delay,
            mr_pipeline_delay: opts.mr_pipeline_delay,
            server_version: opts.server_version.clone(),
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(
                opts.clock.clone(),
                Git::new(repos),
                url.clone(),
                settings,
            )),
            log: Mutex::new(Vec::new()),
            rules: Mutex::new(Vec::new()),
            limiter: Mutex::new(Limiter::default()),
            rate_limit: opts.rate_limit,
            started: Instant::now(),
            next_rule: AtomicU64::new(1),
        });
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let app = shared.clone();
        let tick = opts.tick.max(Duration::from_millis(1));
        let thread = std::thread::Builder::new()
            .name("fake-gitlab".into())
            .spawn(move || serve(app, listener, tick, stop_rx, ready_tx))
            .unwrap_or_else(|e| panic!("fake-gitlab: cannot spawn the server thread: {e}"));
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("fake-gitlab: server failed to start: {e}"),
            Err(e) => panic!("fake-gitlab: server thread died: {e}"),
        }
        FakeGitLab {
            shared,
            url,
            clock: opts.clock,
            stop: Some(stop_tx),
            thread: Some(thread),
            dir: Some(dir),
        }
    }

    /// Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `<url>/api/v4`.
    pub fn api_url(&self) -> String {
        format!("{}/api/v4", self.url)
    }

    /// The virtual clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Moves virtual time forward by `d` and processes everything that became due.
    pub fn advance(&self, d: Duration) {
        self.clock.advance(d);
        self.process();
    }

    /// Processes pipelines, imports and scheduled work up to the current virtual time.
    pub fn process(&self) {
        advance(&mut self.shared.lock_state());
    }

    /// Stops the server now (also done on drop).
    pub fn shutdown(mut self) {
        self.stop_server();
    }

    fn stop_server(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Some(d) = self.dir.take() {
            let _ = d.close();
        }
    }
}

impl Drop for FakeGitLab {
    fn drop(&mut self) {
        self.stop_server();
    }
}

fn serve(
    app: AppState,
    listener: std::net::TcpListener,
    tick: Duration,
    stop: tokio::sync::oneshot::Receiver<()>,
    ready: std::sync::mpsc::Sender<Result<(), String>>,
) {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("fake-gitlab-worker")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    rt.block_on(async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                let _ = ready.send(Err(e.to_string()));
                return;
            }
        };
        let ticker_app = app.clone();
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(tick).await;
                let a = ticker_app.clone();
                let _ = tokio::task::spawn_blocking(move || advance(&mut a.lock_state())).await;
            }
        });
        let router = build_router(app);
        let _ = ready.send(Ok(()));
        // GitLab's front ends (nginx; Workhorse, which serves git over HTTP) send with Nagle's
        // algorithm off (`tcp_nodelay on`, Go's default); with it on, a streamed git answer
        // waits out the client's delayed ACK (~40 ms a request).
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tokio::select! {
            r = axum::serve(listener, router) => {
                if let Err(e) = r {
                    eprintln!("fake-gitlab: server error: {e}");
                }
            }
            _ = stop => {}
        }
        ticker.abort();
    });
    rt.shutdown_timeout(Duration::from_millis(500));
}
