//! Request-side rules, pure: the instance URL srcgit accepts, the mapping of
//! `CommitState` onto the crate's status state, and GitLab's 255-byte limits on a
//! commit status' `description` and `target_url`, and which writes may be repeated
//! blindly after an unknown outcome.

use url::Url;

use gitlab::api::projects::repository::commits::CommitStatusState;

use crate::forge::StatusUpdate;
use crate::ids::CommitState;

/// GitLab's limit on a commit status' `description` and `target_url` (bytes).
const STATUS_FIELD_MAX: usize = 255;

/// Validates the instance URL: http(s), no credentials, no query or fragment.
pub(crate) fn parse_base_url(raw: &str) -> Result<Url, String> {
    let url =
        Url::parse(raw.trim_end_matches('/')).map_err(|e| format!("invalid GitLab URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "GitLab URL must be http or https, not {}",
            url.scheme()
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("GitLab URL must not contain credentials".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("GitLab URL must not have a query or fragment".into());
    }
    Ok(url)
}

/// The crate's twin of srcgit's `CommitState`.
pub(crate) fn commit_status_state(state: CommitState) -> CommitStatusState {
    match state {
        CommitState::Pending => CommitStatusState::Pending,
        CommitState::Running => CommitStatusState::Running,
        CommitState::Success => CommitStatusState::Success,
        CommitState::Failed => CommitStatusState::Failed,
        CommitState::Canceled => CommitStatusState::Canceled,
        CommitState::Skipped => CommitStatusState::Skipped,
    }
}

/// Cuts `text` to at most `max` bytes on a character boundary, ending with `…` if cut.
fn truncate_bytes(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let limit = max.saturating_sub('…'.len_utf8());
    let end = (0..=limit)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    format!("{}…", &text[..end])
}

/// The `description` and `target_url` to send: the description cut to GitLab's 255
/// bytes; a `target_url` over 255 bytes dropped with a warning (GitLab would refuse the
/// whole status, and a status without a link beats no status).
pub(crate) fn status_fields(status: &StatusUpdate) -> (Option<String>, Option<&str>) {
    let description = status
        .description
        .as_deref()
        .map(|d| truncate_bytes(d, STATUS_FIELD_MAX));
    let target_url = status.target_url.as_deref().filter(|url| {
        let fits = url.len() <= STATUS_FIELD_MAX;
        if !fits {
            tracing::warn!(
                name = %status.name,
                len = url.len(),
                "status target_url longer than 255 bytes, not sent"
            );
        }
        fits
    });
    (description, target_url)
}

/// Whether a request may be sent again blindly when its outcome is unknown (a 5xx or a
/// lost answer). Everything is, except the two creations whose repeat adds a second
/// object instead of meeting the first: `POST …/merge_requests/:iid/notes` (a second
/// comment) and `POST …/merge_requests/:iid/pipelines` (a second pipeline). Every other
/// write converges on its own: a repeated fork or MR creation gets 409 and the caller
/// adopts what exists; a repeated status gets 400 `Cannot transition status` or
/// replaces an identical finished one; `PUT`s set the same values again.
pub(crate) fn repeat_is_safe(method: &http::Method, path: &str) -> bool {
    if method != http::Method::POST {
        return true;
    }
    let mut segments = path.trim_end_matches('/').rsplit('/');
    let last = segments.next().unwrap_or_default();
    let iid = segments.next().unwrap_or_default();
    let collection = segments.next().unwrap_or_default();
    let creates_a_twin = matches!(last, "notes" | "pipelines")
        && !iid.is_empty()
        && iid.bytes().all(|b| b.is_ascii_digit())
        && collection == "merge_requests";
    !creates_a_twin
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_checked() {
        let url = parse_base_url("http://127.0.0.1:8080/").unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(
            parse_base_url("https://example.com/gitlab/")
                .unwrap()
                .path(),
            "/gitlab"
        );
        assert!(parse_base_url("ftp://example.com").is_err());
        assert!(parse_base_url("https://u:p@example.com").is_err());
        assert!(parse_base_url("https://example.com/?private_token=x").is_err());
        assert!(parse_base_url("example.com").is_err());
    }

    #[test]
    fn only_note_and_mr_pipeline_creation_are_not_repeated_blindly() {
        use http::Method;
        let post = |p| repeat_is_safe(&Method::POST, p);
        assert!(!post("/api/v4/projects/7/merge_requests/3/notes"));
        assert!(!post("/api/v4/projects/g%2Fp/merge_requests/3/pipelines"));
        assert!(post("/api/v4/projects/7/merge_requests"));
        assert!(post("/api/v4/projects/7/fork"));
        assert!(post("/api/v4/projects/7/statuses/abc"));
        assert!(post("/api/v4/projects/7/pipelines/3/retry"));
        assert!(post("/api/v4/projects/7/merge_requests/x/notes"));
        assert!(repeat_is_safe(
            &Method::GET,
            "/api/v4/projects/7/merge_requests/3/notes"
        ));
        assert!(repeat_is_safe(
            &Method::PUT,
            "/api/v4/projects/7/merge_requests/3/notes/9"
        ));
    }

    #[test]
    fn long_status_fields_are_cut_on_char_boundaries() {
        assert_eq!(truncate_bytes("short", 255), "short");
        let cut = truncate_bytes(&"é".repeat(200), 255);
        assert!(cut.len() <= 255 && cut.ends_with('…'), "{}", cut.len());
        let status = StatusUpdate {
            state: CommitState::Running,
            name: "n".into(),
            target_url: Some(format!("https://x/{}", "a".repeat(300))),
            description: Some("d".repeat(300)),
            pipeline_id: None,
            git_ref: None,
        };
        let (description, target_url) = status_fields(&status);
        assert_eq!(description.map(|d| d.len()), Some(255));
        assert_eq!(target_url, None);
        let short = StatusUpdate {
            target_url: Some("https://x/1".into()),
            ..status
        };
        assert_eq!(status_fields(&short).1, Some("https://x/1"));
    }
}
