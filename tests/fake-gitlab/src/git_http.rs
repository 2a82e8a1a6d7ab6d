//! Git smart HTTP (`info/refs`, `git-upload-pack`, `git-receive-pack`) served
//! by running `git http-backend` as a CGI, with GitLab's authentication rules
//! (HTTP Basic, any username, a PAT or `gitlab-ci-token:<job token>` as
//! password) and GitLab's post-receive behaviour (MR head update + pipeline).

use std::collections::BTreeMap;
use std::process::Stdio;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use futures_util::StreamExt;
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::git::{Git, git_command};
use crate::model::{AccessLevel, Id, ImportStatus};
use crate::server::AppState;
use crate::state::State;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Service {
    UploadPack,
    ReceivePack,
}

/// A recognised git request.
struct GitPath {
    project_path: String,
    /// `info/refs`, `git-upload-pack` or `git-receive-pack`.
    suffix: &'static str,
    service: Service,
}

fn parse(path: &str, query: Option<&str>) -> Option<GitPath> {
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .ok()?;
    let p = decoded.trim_start_matches('/');
    let (repo, suffix, service) = if let Some(r) = p.strip_suffix("/info/refs") {
        let svc = form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .find(|(k, _)| k == "service")
            .map(|(_, v)| v.to_string())?;
        let s = match svc.as_str() {
            "git-upload-pack" => Service::UploadPack,
            "git-receive-pack" => Service::ReceivePack,
            _ => return None,
        };
        (r, "info/refs", s)
    } else if let Some(r) = p.strip_suffix("/git-upload-pack") {
        (r, "git-upload-pack", Service::UploadPack)
    } else if let Some(r) = p.strip_suffix("/git-receive-pack") {
        (r, "git-receive-pack", Service::ReceivePack)
    } else {
        return None;
    };
    let repo = repo.strip_suffix(".git").unwrap_or(repo);
    (!repo.is_empty()).then(|| GitPath {
        project_path: repo.to_string(),
        suffix,
        service,
    })
}

fn text(status: StatusCode, body: &str) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn unauthorized() -> Response {
    let mut r = text(
        StatusCode::UNAUTHORIZED,
        "HTTP Basic: Access denied. If a password was provided for Git authentication, the password was incorrect or you're required to use a token instead of a password.\n",
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"GitLab\""),
    );
    r
}

fn not_found() -> Response {
    text(
        StatusCode::NOT_FOUND,
        "The project you were looking for could not be found or you don't have permission to view it.\n",
    )
}

/// `(username, password)` of a Basic `Authorization` header.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let b64 = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// Why a git request is refused.
enum Denied {
    /// 401 with `WWW-Authenticate` (git retries with credentials).
    Unauthorized,
    /// 404 (authenticated but cannot see the project).
    NotFound,
    /// 403 with this text.
    Forbidden(&'static str),
}

impl Denied {
    fn response(self) -> Response {
        match self {
            Denied::Unauthorized => unauthorized(),
            Denied::NotFound => not_found(),
            Denied::Forbidden(msg) => text(StatusCode::FORBIDDEN, msg),
        }
    }
}

/// Who is pushing/fetching, and what they may do.
struct Grant {
    project: Id,
    user: Option<(Id, String)>,
}

fn authorize(st: &State, gp: &GitPath, headers: &HeaderMap) -> Result<Grant, Denied> {
    let creds = basic_credentials(headers);
    // (user id, username, may write with this credential)
    let who: Option<(Id, String, bool)> = match &creds {
        None => None,
        Some((u, p)) => {
            if let Some(t) = st.token(p) {
                let name = st
                    .users
                    .get(&t.user_id)
                    .map(|x| x.username.clone())
                    .unwrap_or_default();
                let read = t
                    .scopes
                    .iter()
                    .any(|s| matches!(s.as_str(), "api" | "read_repository" | "write_repository"));
                if !read {
                    return Err(Denied::Forbidden(
                        "The token does not have the required scope (read_repository).\n",
                    ));
                }
                let write = t
                    .scopes
                    .iter()
                    .any(|s| matches!(s.as_str(), "api" | "write_repository"));
                Some((t.user_id, name, write))
            } else if u == "gitlab-ci-token"
                && let Some(j) = st.job_by_token(p)
            {
                let name = st
                    .users
                    .get(&j.user_id)
                    .map(|x| x.username.clone())
                    .unwrap_or_default();
                Some((j.user_id, name, false))
            } else {
                return Err(Denied::Unauthorized);
            }
        }
    };
    let Some(project) = st.find_project(&gp.project_path).map(|p| p.id) else {
        return Err(if who.is_some() {
            Denied::NotFound
        } else {
            Denied::Unauthorized
        });
    };
    if !st.can_read(who.as_ref().map(|w| w.0), project) {
        return Err(if who.is_some() {
            Denied::NotFound
        } else {
            Denied::Unauthorized
        });
    }
    if gp.service == Service::ReceivePack {
        let Some((uid, _, write)) = &who else {
            return Err(Denied::Unauthorized);
        };
        if !write || !st.can(*uid, project, AccessLevel::Developer) {
            return Err(Denied::Forbidden(
                "You are not allowed to push code to this project.\n",
            ));
        }
        if st.projects.get(&project).is_some_and(|p| {
            matches!(
                p.import_status,
                ImportStatus::Scheduled | ImportStatus::Started
            )
        }) {
            return Err(Denied::Forbidden(
                "The repository is temporarily read-only. Please try again later.\n",
            ));
        }
    }
    Ok(Grant {
        project,
        user: who.map(|(id, name, _)| (id, name)),
    })
}

/// Whether a path/query is a git smart-HTTP request.
pub(crate) fn recognizes(path: &str, query: Option<&str>) -> bool {
    parse(path, query).is_some()
}

/// Serves a git request (see [`recognizes`]).
pub(crate) async fn handle(app: AppState, req: Request) -> Response {
    let Some(gp) = parse(req.uri().path(), req.uri().query()) else {
        return not_found();
    };
    let headers = req.headers().clone();
    let app2 = app.clone();
    let auth = tokio::task::spawn_blocking(move || {
        let st = app2.lock_state();
        authorize(&st, &gp, &headers).map(|g| (g, gp))
    })
    .await;
    let (grant, gp) = match auth {
        Ok(Ok(x)) => x,
        Ok(Err(denied)) => return denied.response(),
        Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e}\n")),
    };
    run_backend(app, req, grant, gp).await.unwrap_or_else(|e| {
        eprintln!("fake-gitlab: git http-backend failed: {e}");
        text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "git http-backend failed\n",
        )
    })
}

async fn run_backend(
    app: AppState,
    req: Request,
    grant: Grant,
    gp: GitPath,
) -> std::io::Result<Response> {
    let is_push = gp.service == Service::ReceivePack && gp.suffix == "git-receive-pack";
    let (root, before) = {
        let app = app.clone();
        let project = grant.project;
        tokio::task::spawn_blocking(move || {
            let st = app.lock_state();
            let before = if is_push {
                st.git.heads(project)
            } else {
                BTreeMap::new()
            };
            (st.git.root().to_path_buf(), before)
        })
        .await
        .map_err(std::io::Error::other)?
    };
    let (parts, body) = req.into_parts();
    let h = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let mut cmd = tokio::process::Command::from(git_command());
    cmd.arg("http-backend")
        .env("GIT_PROJECT_ROOT", &root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env(
            "PATH_INFO",
            format!("/{}/{}", Git::repo_dir_name(grant.project), gp.suffix),
        )
        .env("REQUEST_METHOD", parts.method.as_str())
        .env("QUERY_STRING", parts.uri.query().unwrap_or(""))
        .env("CONTENT_TYPE", h("content-type").unwrap_or_default())
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some((_, name)) = &grant.user {
        cmd.env("REMOTE_USER", name);
    }
    if let Some(len) = h("content-length") {
        cmd.env("CONTENT_LENGTH", len);
    }
    if let Some(enc) = h("content-encoding") {
        cmd.env("HTTP_CONTENT_ENCODING", enc);
    }
    if let Some(proto) = h("git-protocol") {
        cmd.env("HTTP_GIT_PROTOCOL", proto);
    }
    let mut child = cmd.spawn()?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| std::io::Error::other("no stdin"))?;
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| std::io::Error::other("no stdout"))?;
    let mut stderr = child
        .stderr
        .take()
        .ok_or_else(|| std::io::Error::other("no stderr"))?;
    // Stream the request body into the CGI.
    tokio::spawn(async move {
        let mut body = body;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { break };
            if let Some(data) = frame.data_ref()
                && stdin.write_all(data).await.is_err()
            {
                break;
            }
        }
        let _ = stdin.shutdown().await;
    });
    let err_task = tokio::spawn(async move {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s).await;
        s
    });
    // CGI headers.
    let mut head = Vec::new();
    let mut buf = [0u8; 8192];
    let split = loop {
        if let Some(pos) = find_header_end(&head) {
            break pos;
        }
        let n = stdout.read(&mut buf).await?;
        if n == 0 {
            break (head.len(), head.len());
        }
        head.extend_from_slice(&buf[..n]);
    };
    let leftover = Bytes::copy_from_slice(&head[split.1..]);
    let mut builder = Response::builder().status(StatusCode::OK);
    for line in String::from_utf8_lossy(&head[..split.0]).lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        if k.eq_ignore_ascii_case("status") {
            let code = v
                .split_whitespace()
                .next()
                .and_then(|c| c.parse().ok())
                .unwrap_or(500);
            builder = builder.status(code);
        } else {
            builder = builder.header(k.trim(), v);
        }
    }
    if is_push {
        // Buffer the (small) push report so that MR updates are in place
        // before the client sees the push succeed, as with GitLab's hooks.
        let mut rest = leftover.to_vec();
        stdout.read_to_end(&mut rest).await?;
        let status = child.wait().await?;
        let errs = err_task.await.unwrap_or_default();
        if !status.success() {
            eprintln!("fake-gitlab: http-backend exited {status}: {errs}");
        }
        let (project, pusher) = (grant.project, grant.user.map(|u| u.0));
        let app2 = app.clone();
        tokio::task::spawn_blocking(move || after_push(&app2, project, pusher, &before))
            .await
            .map_err(std::io::Error::other)?;
        return builder
            .body(Body::from(rest))
            .map_err(std::io::Error::other);
    }
    tokio::spawn(async move {
        let status = child.wait().await;
        let errs = err_task.await.unwrap_or_default();
        if !status.is_ok_and(|s| s.success()) {
            eprintln!("fake-gitlab: http-backend failed: {errs}");
        }
    });
    let tail = futures_util::stream::unfold(stdout, |mut out| async move {
        let mut chunk = vec![0u8; 64 * 1024];
        match out.read(&mut chunk).await {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                chunk.truncate(n);
                Some((Ok::<Bytes, std::io::Error>(Bytes::from(chunk)), out))
            }
        }
    });
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(leftover) })
        .chain(tail);
    builder
        .body(Body::from_stream(stream))
        .map_err(std::io::Error::other)
}

/// `(end of headers, start of body)` in a CGI response.
fn find_header_end(b: &[u8]) -> Option<(usize, usize)> {
    if let Some(p) = b.windows(4).position(|w| w == b"\r\n\r\n") {
        return Some((p, p + 4));
    }
    b.windows(2).position(|w| w == b"\n\n").map(|p| (p, p + 2))
}

/// GitLab's post-receive: the first push sets the default branch of an empty
/// project; moved branches refresh the MRs using them.
fn after_push(app: &AppState, project: Id, pusher: Option<Id>, before: &BTreeMap<String, String>) {
    let mut st = app.lock_state();
    crate::server::advance(&mut st);
    let after = st.git.heads(project);
    if before.is_empty()
        && let Some(first) = after.keys().next().cloned()
    {
        let default = st
            .projects
            .get(&project)
            .and_then(|p| p.default_branch.clone());
        if default.as_ref().is_none_or(|d| !after.contains_key(d)) {
            if let Err(e) = st.git.set_head(project, &first) {
                eprintln!("fake-gitlab: {e}");
            }
            if let Some(p) = st.projects.get_mut(&project) {
                p.default_branch = Some(first);
            }
        }
    }
    if after != *before {
        crate::activity::pushed(&mut st, project);
    }
    let Some(pusher) = pusher else { return };
    for (branch, new) in &after {
        let old = before.get(branch);
        if old != Some(new) {
            crate::mrs::on_branch_pushed(
                &mut st,
                project,
                branch,
                old.map(String::as_str),
                new,
                pusher,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_git_paths() {
        let g = parse(
            "/group/sub/proj.git/info/refs",
            Some("service=git-receive-pack"),
        )
        .unwrap();
        assert_eq!(g.project_path, "group/sub/proj");
        assert_eq!(g.service, Service::ReceivePack);
        let g = parse("/group/proj/git-upload-pack", None).unwrap();
        assert_eq!(
            (g.project_path.as_str(), g.suffix),
            ("group/proj", "git-upload-pack")
        );
        assert!(parse("/api/v4/projects/1", None).is_none());
        assert!(parse("/g/p.git/info/refs", Some("service=evil")).is_none());
    }
}
