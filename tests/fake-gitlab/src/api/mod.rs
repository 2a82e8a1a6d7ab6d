//! REST API under `/api/v4`: request parsing (query string, form and JSON
//! bodies, like Grape), errors in GitLab's shapes, authentication, pagination.

mod group_projects;
mod groups;
mod merge_requests;
mod mr_lists;
mod notes;
mod pipelines;
mod projects;
pub(crate) mod render;
mod render_ci;
mod statuses;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::model::Id;
use crate::server::AppState;
use crate::state::State;

/// All parameters of a request, in arrival order: query string first, then
/// the body (form or JSON). Later values win for single-valued lookups.
#[derive(Clone, Debug, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn from_query(q: &str) -> Self {
        let mut p = Params::default();
        p.extend_form(q.as_bytes());
        p
    }

    fn extend_form(&mut self, body: &[u8]) {
        self.0.extend(form_urlencoded::parse(body).into_owned());
    }

    fn extend_json(&mut self, key: Option<&str>, v: &Value) {
        match (key, v) {
            (None, Value::Object(m)) => {
                for (k, v) in m {
                    self.extend_json(Some(k), v);
                }
            }
            (Some(k), Value::Array(items)) => {
                for it in items {
                    self.extend_json(Some(k), it);
                }
            }
            (Some(k), Value::String(s)) => self.0.push((k.to_string(), s.clone())),
            (Some(_), Value::Null) | (None, _) => {}
            (Some(k), other) => self.0.push((k.to_string(), other.to_string())),
        }
    }

    /// Last value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn string(&self, key: &str) -> Option<String> {
        self.get(key).map(str::to_string)
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// All values of `key` or `key[]`.
    pub(crate) fn list(&self, key: &str) -> Vec<String> {
        let arr = format!("{key}[]");
        self.0
            .iter()
            .filter(|(k, _)| *k == key || *k == arr)
            .flat_map(|(_, v)| v.split(',').map(str::to_string).collect::<Vec<_>>())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// Grape's `requires`: `{"error":"a is missing, b is missing"}`.
    pub(crate) fn require(&self, keys: &[&str]) -> Result<(), ApiError> {
        let missing: Vec<String> = keys
            .iter()
            .filter(|k| self.get(k).is_none())
            .map(|k| format!("{k} is missing"))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ApiError::grape(missing.join(", ")))
        }
    }

    pub(crate) fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ApiError::grape(format!("{key} is invalid"))),
        }
    }

    pub(crate) fn id(&self, key: &str) -> Result<Option<Id>, ApiError> {
        match self.int(key)? {
            None => Ok(None),
            Some(v) => Id::try_from(v)
                .map(Some)
                .map_err(|_| ApiError::grape(format!("{key} is invalid"))),
        }
    }

    pub(crate) fn float(&self, key: &str) -> Result<Option<f64>, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ApiError::grape(format!("{key} is invalid"))),
        }
    }

    pub(crate) fn boolean(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some("true" | "1" | "yes" | "t" | "on") => Ok(Some(true)),
            Some("false" | "0" | "no" | "f" | "off") => Ok(Some(false)),
            Some(_) => Err(ApiError::grape(format!("{key} is invalid"))),
        }
    }

    /// Grape `values:` validation.
    pub(crate) fn one_of(&self, key: &str, allowed: &[&str]) -> Result<Option<String>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) if allowed.contains(&v) => Ok(Some(v.to_string())),
            Some(_) => Err(ApiError::grape(format!(
                "{key} does not have a valid value"
            ))),
        }
    }
}

/// An error response with GitLab's body shape.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub body: Value,
}

impl ApiError {
    /// `{"message": msg}`.
    pub(crate) fn message(status: StatusCode, msg: impl Into<Value>) -> Self {
        ApiError {
            status,
            body: json!({ "message": msg.into() }),
        }
    }

    /// Grape parameter validation: 400 `{"error": msg}`.
    pub(crate) fn grape(msg: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            body: json!({ "error": msg.into() }),
        }
    }

    /// `404 <Thing> Not Found`.
    pub(crate) fn not_found(thing: &str) -> Self {
        Self::message(StatusCode::NOT_FOUND, format!("404 {thing} Not Found"))
    }

    /// ActiveRecord::RecordNotFound: `404 Not found`.
    pub(crate) fn record_not_found() -> Self {
        Self::message(StatusCode::NOT_FOUND, "404 Not found")
    }

    pub(crate) fn forbidden() -> Self {
        Self::message(StatusCode::FORBIDDEN, "403 Forbidden")
    }

    pub(crate) fn unauthorized() -> Self {
        Self::message(StatusCode::UNAUTHORIZED, "401 Unauthorized")
    }

    pub(crate) fn internal(msg: impl std::fmt::Display) -> Self {
        eprintln!("fake-gitlab: internal error: {msg}");
        Self::message(
            StatusCode::INTERNAL_SERVER_ERROR,
            "500 Internal Server Error",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.status, &self.body, Vec::new())
    }
}

pub(crate) type ApiResult = Result<Response, ApiError>;

/// Extra response headers.
pub(crate) type Headers = Vec<(HeaderName, String)>;

pub(crate) fn json_response(
    status: StatusCode,
    body: &Value,
    headers: Vec<(HeaderName, String)>,
) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // GitLab's correlation id, on every answer (what operators quote to GitLab admins)
    static REQUEST_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let id = REQUEST_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if let Ok(v) = HeaderValue::from_str(&format!("01FAKE{id:020}")) {
        h.insert(HeaderName::from_static("x-request-id"), v);
    }
    for (k, v) in headers {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    }
    resp
}

pub(crate) fn ok(body: Value) -> ApiResult {
    Ok(json_response(StatusCode::OK, &body, Vec::new()))
}

pub(crate) fn created(body: Value) -> ApiResult {
    Ok(json_response(StatusCode::CREATED, &body, Vec::new()))
}

/// A parsed API request.
pub(crate) struct ApiReq {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub params: Params,
}

impl<S: Send + Sync> FromRequest<S> for ApiReq {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|_| ApiError::message(StatusCode::BAD_REQUEST, "400 Bad request"))?;
        let mut params = Params::from_query(parts.uri.query().unwrap_or(""));
        let ctype = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if !bytes.is_empty() {
            if ctype.starts_with("application/json") {
                let v: Value = serde_json::from_slice(&bytes).map_err(|e| {
                    ApiError::message(StatusCode::BAD_REQUEST, format!("400 Bad request - {e}"))
                })?;
                params.extend_json(None, &v);
            } else if ctype.starts_with("multipart/") {
                return Err(ApiError::message(
                    StatusCode::BAD_REQUEST,
                    "400 Bad request - multipart bodies are not supported by fake-gitlab",
                ));
            } else {
                params.extend_form(&bytes);
            }
        }
        Ok(ApiReq {
            method: parts.method,
            uri: parts.uri,
            headers: parts.headers,
            params,
        })
    }
}

/// The token a request carries (`PRIVATE-TOKEN`, `Authorization: Bearer`, or
/// the `private_token`/`access_token` parameter).
pub(crate) fn request_token(headers: &HeaderMap, params: &Params) -> Option<String> {
    if let Some(t) = headers.get("private-token").and_then(|v| v.to_str().ok()) {
        return Some(t.trim().to_string());
    }
    if let Some(t) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
    {
        return Some(t.trim().to_string());
    }
    params
        .string("private_token")
        .or_else(|| params.string("access_token"))
}

/// Resolves the user; `Ok(None)` when no token was sent. A wrong token is 401,
/// a `read_api`-only token on a write is 403 `insufficient_scope`.
pub(crate) fn auth_optional(st: &State, req: &ApiReq) -> Result<Option<Id>, ApiError> {
    let Some(t) = request_token(&req.headers, &req.params) else {
        return Ok(None);
    };
    let tok = st.token(&t).ok_or_else(ApiError::unauthorized)?;
    let read = matches!(req.method, Method::GET | Method::HEAD);
    let ok = tok.scopes.iter().any(|s| s == "api")
        || (read && tok.scopes.iter().any(|s| s == "read_api"));
    if !ok {
        return Err(ApiError {
            status: StatusCode::FORBIDDEN,
            body: json!({
                "error": "insufficient_scope",
                "error_description": "The request requires higher privileges than provided by the access token.",
                "scope": "api"
            }),
        });
    }
    Ok(Some(tok.user_id))
}

/// Like [`auth_optional`] but 401 without a token.
pub(crate) fn auth(st: &State, req: &ApiReq) -> Result<Id, ApiError> {
    auth_optional(st, req)?.ok_or_else(ApiError::unauthorized)
}

/// Resolves `:id` (numeric or URL-encoded path) to a project the user can see;
/// 404 `Project Not Found` otherwise.
pub(crate) fn project_for(st: &State, key: &str, user: Option<Id>) -> Result<Id, ApiError> {
    let p = st
        .find_project(key)
        .ok_or_else(|| ApiError::not_found("Project"))?;
    if st.can_read(user, p.id) {
        Ok(p.id)
    } else {
        Err(ApiError::not_found("Project"))
    }
}

/// Applies GitLab offset pagination to `items`, returning the page and headers.
pub(crate) fn paginate<T>(
    st: &State,
    req: &ApiReq,
    items: Vec<T>,
) -> Result<(Vec<T>, Headers), ApiError> {
    let page = req.params.int("page")?.unwrap_or(1).max(1) as usize;
    let per_page = match req.params.int("per_page")?.unwrap_or(20) {
        n if n < 1 => 20,
        n => n.min(100),
    } as usize;
    let total = items.len();
    let total_pages = total.div_ceil(per_page).max(1);
    let start = (page - 1).saturating_mul(per_page);
    let out: Vec<T> = items.into_iter().skip(start).take(per_page).collect();
    let next = (page < total_pages).then_some(page + 1);
    let prev = (page > 1).then(|| (page - 1).min(total_pages));
    let link_for = |n: usize| {
        let mut q: Vec<(String, String)> =
            form_urlencoded::parse(req.uri.query().unwrap_or("").as_bytes())
                .into_owned()
                .filter(|(k, _)| k != "page" && k != "per_page" && k != "private_token")
                .collect();
        q.push(("page".into(), n.to_string()));
        q.push(("per_page".into(), per_page.to_string()));
        let qs = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(q)
            .finish();
        format!("{}{}?{}", st.base_url, req.uri.path(), qs)
    };
    let mut links = Vec::new();
    if let Some(p) = prev {
        links.push(format!("<{}>; rel=\"prev\"", link_for(p)));
    }
    if let Some(n) = next {
        links.push(format!("<{}>; rel=\"next\"", link_for(n)));
    }
    links.push(format!("<{}>; rel=\"first\"", link_for(1)));
    links.push(format!("<{}>; rel=\"last\"", link_for(total_pages)));
    let s = |o: Option<usize>| o.map(|v| v.to_string()).unwrap_or_default();
    let headers = vec![
        (HeaderName::from_static("x-page"), page.to_string()),
        (HeaderName::from_static("x-per-page"), per_page.to_string()),
        (HeaderName::from_static("x-next-page"), s(next)),
        (HeaderName::from_static("x-prev-page"), s(prev)),
        (HeaderName::from_static("x-total"), total.to_string()),
        (
            HeaderName::from_static("x-total-pages"),
            total_pages.to_string(),
        ),
        (header::LINK, links.join(", ")),
    ];
    Ok((out, headers))
}

/// Paginates and renders a list as a 200 response.
pub(crate) fn paged_json<T>(
    st: &State,
    req: &ApiReq,
    items: Vec<T>,
    render: impl Fn(&T) -> Value,
) -> ApiResult {
    let (page, headers) = paginate(st, req, items)?;
    let body = Value::Array(page.iter().map(render).collect());
    Ok(json_response(StatusCode::OK, &body, headers))
}

/// Runs `f` on the state (brought up to date first) on a blocking thread.
pub(crate) async fn with_state<F>(app: &AppState, f: F) -> ApiResult
where
    F: FnOnce(&mut State) -> ApiResult + Send + 'static,
{
    let app = app.clone();
    tokio::task::spawn_blocking(move || {
        let mut st = app.lock_state();
        crate::server::advance(&mut st);
        f(&mut st)
    })
    .await
    .unwrap_or_else(|e| Err(ApiError::internal(e)))
}

/// The `/api/v4` routes.
pub(crate) fn router() -> Router<AppState> {
    let p = "/api/v4/projects/{id}";
    Router::new()
        .route("/api/v4/user", get(projects::current_user))
        .route("/api/v4/version", get(projects::version))
        .route("/api/v4/merge_requests", get(mr_lists::list_mine))
        .route(
            "/api/v4/groups/{id}/merge_requests",
            get(mr_lists::list_group),
        )
        .route(
            "/api/v4/personal_access_tokens/self",
            get(groups::token_self),
        )
        .route("/api/v4/groups/{id}", get(groups::get_group))
        .route("/api/v4/groups/{id}/projects", get(group_projects::list))
        .route(
            "/api/v4/groups/{id}/members/all/{user_id}",
            get(groups::get_member_all),
        )
        .route(p, get(projects::get_project))
        .route(&format!("{p}/fork"), post(projects::fork))
        .route(&format!("{p}/forks"), get(projects::list_forks))
        .route(
            &format!("{p}/repository/branches"),
            get(projects::list_branches),
        )
        .route(
            &format!("{p}/repository/branches/{{branch}}"),
            get(projects::get_branch),
        )
        .route(
            &format!("{p}/repository/commits/{{sha}}/statuses"),
            get(statuses::list),
        )
        .route(&format!("{p}/statuses/{{sha}}"), post(statuses::create))
        .route(
            &format!("{p}/merge_requests"),
            get(merge_requests::list).post(merge_requests::create),
        )
        .route(
            &format!("{p}/merge_requests/{{iid}}"),
            get(merge_requests::get_one)
                .put(merge_requests::update)
                .delete(merge_requests::delete),
        )
        .route(
            &format!("{p}/merge_requests/{{iid}}/pipelines"),
            get(merge_requests::list_pipelines).post(merge_requests::create_pipeline),
        )
        .route(
            &format!("{p}/merge_requests/{{iid}}/notes"),
            get(notes::list).post(notes::create),
        )
        .route(
            &format!("{p}/merge_requests/{{iid}}/notes/{{note_id}}"),
            get(notes::get_one).put(notes::update).delete(notes::delete),
        )
        .route(&format!("{p}/pipelines"), get(pipelines::list))
        .route(&format!("{p}/pipelines/{{pid}}"), get(pipelines::get_one))
        .route(&format!("{p}/pipelines/{{pid}}/jobs"), get(pipelines::jobs))
        .route(
            &format!("{p}/pipelines/{{pid}}/retry"),
            post(pipelines::retry),
        )
        .route(
            &format!("{p}/pipelines/{{pid}}/cancel"),
            post(pipelines::cancel),
        )
        .route(&format!("{p}/jobs/{{job_id}}"), get(pipelines::job))
        .route(&format!("{p}/jobs/{{job_id}}/trace"), get(pipelines::trace))
        .route(
            &format!("{p}/jobs/{{job_id}}/retry"),
            post(pipelines::retry_job),
        )
        .route(
            &format!("{p}/jobs/{{job_id}}/cancel"),
            post(pipelines::cancel_job),
        )
}
