//! Names and texts srcgit puts into GitLab: the fork branch, the rpms MR description with
//! its machine-readable marker, the comment on the source-git MR, status names and
//! descriptions, the bot's commit identity. Pure.

use crate::ids::{MrIid, ProjectPath};
use crate::repo::git::Identity;

/// Name of the whole-pipeline status on the source-git MR.
pub const PIPELINE_STATUS_NAME: &str = "dist-git";

/// GitLab's limit for status names, descriptions and target URLs.
const STATUS_FIELD_MAX: usize = 255;

/// The identity of the commits the bot makes: `<user> (srcgit)` with GitLab's no-reply
/// address on the host of `gitlab_url`, at `time`.
pub fn bot_identity(gitlab_url: &str, username: &str, time: i64) -> Identity {
    let host = gitlab_url
        .split("://")
        .nth(1)
        .unwrap_or("gitlab")
        .split(['/', ':'])
        .next()
        .unwrap_or("gitlab");
    Identity {
        name: format!("{username} (srcgit)"),
        email: format!("{username}@users.noreply.{host}"),
        time,
        offset_minutes: 0,
    }
}

/// The bot fork's branch for source MR `iid` targeting `target_branch`.
pub fn fork_branch(target_branch: &str, iid: MrIid) -> String {
    format!("{target_branch}-src-{iid}")
}

/// The marker that ties an rpms MR to its source-git MR.
pub fn marker(source_project: &ProjectPath, iid: MrIid) -> String {
    format!("<!-- srcgit: source={source_project}!{iid} -->")
}

/// The ref under which GitLab keeps an MR's head in its target project.
pub fn mr_head_ref(iid: MrIid) -> String {
    format!("refs/merge-requests/{iid}/head")
}

/// Finds the marker in an MR description: the last one, which srcgit appends after the
/// source MR's own text (a marker quoted in that text does not count).
pub fn parse_marker(description: &str) -> Option<(ProjectPath, MrIid)> {
    let start = description.rfind("<!-- srcgit: source=")? + "<!-- srcgit: source=".len();
    let rest = &description[start..];
    let end = rest.find(" -->")?;
    let (path, iid) = rest[..end].rsplit_once('!')?;
    Some((ProjectPath(path.to_string()), MrIid(iid.parse().ok()?)))
}

/// What the rpms MR and the dist-git commit say about the source-git MR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceMr<'a> {
    /// Source-git target project path.
    pub project: &'a ProjectPath,
    /// Its iid.
    pub iid: MrIid,
    /// Its web URL.
    pub url: &'a str,
    /// Its title.
    pub title: &'a str,
    /// Its description (may be empty).
    pub description: &'a str,
}

/// The rpms MR description: the source MR's description, a link back and the marker.
pub fn rpms_mr_description(source: &SourceMr<'_>) -> String {
    let mut text = String::new();
    if !source.description.trim().is_empty() {
        text.push_str(source.description.trim_end());
        text.push_str("\n\n---\n\n");
    }
    text.push_str(&format!(
        "This merge request was created by srcgit from [{}!{}]({}). Its content is generated: \
         push changes to the source-git merge request, not here.\n\n{}\n",
        source.project,
        source.iid,
        source.url,
        marker(source.project, source.iid)
    ));
    text
}

/// The dist-git commit message (title, blank line, description); `convert` adds the
/// `From-source-git-commit` trailer.
pub fn dist_git_commit_message(source: &SourceMr<'_>) -> String {
    let body = source.description.trim();
    if body.is_empty() {
        source.title.to_string()
    } else {
        format!("{}\n\n{body}", source.title)
    }
}

/// The one comment on the source-git MR when its rpms MR is opened.
pub fn source_comment(rpms_project: &ProjectPath, rpms_iid: MrIid, rpms_url: &str) -> String {
    format!(
        "srcgit opened [{rpms_project}!{rpms_iid}]({rpms_url}) with this change converted to dist-git. \
         Its CI results appear here as the `{PIPELINE_STATUS_NAME}` statuses of this merge request's pipeline."
    )
}

/// Status name for one downstream job.
pub fn job_status_name(job_name: &str) -> String {
    truncate(
        &format!("{PIPELINE_STATUS_NAME}: {job_name}"),
        STATUS_FIELD_MAX,
    )
}

/// Cuts `text` to at most `max` bytes at a character boundary.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// A status description within GitLab's limit.
pub fn status_description(text: &str) -> String {
    truncate(text, STATUS_FIELD_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_and_marker() {
        assert_eq!(fork_branch("c10s", MrIid(7)), "c10s-src-7");
        let p = ProjectPath("redhat/centos-stream/src/quill".into());
        let m = marker(&p, MrIid(7));
        assert_eq!(
            m,
            "<!-- srcgit: source=redhat/centos-stream/src/quill!7 -->"
        );
        assert_eq!(parse_marker(&format!("text\n{m}\n")), Some((p, MrIid(7))));
        assert_eq!(parse_marker("no marker"), None);
    }

    #[test]
    fn description_links_back_and_carries_the_marker() {
        let p = ProjectPath("src/quill".into());
        let src = SourceMr {
            project: &p,
            iid: MrIid(3),
            url: "https://g/src/quill/-/merge_requests/3",
            title: "Fix",
            description: "Details.\n",
        };
        let d = rpms_mr_description(&src);
        assert!(d.starts_with("Details.\n\n---\n\n"));
        assert!(d.contains("[src/quill!3](https://g/src/quill/-/merge_requests/3)"));
        assert_eq!(parse_marker(&d), Some((p.clone(), MrIid(3))));
        let empty = SourceMr {
            description: "  ",
            ..src
        };
        assert!(rpms_mr_description(&empty).starts_with("This merge request"));
        assert_eq!(dist_git_commit_message(&empty), "Fix");
        assert_eq!(dist_git_commit_message(&src), "Fix\n\nDetails.");
    }

    #[test]
    fn fields_fit_gitlabs_limits() {
        let long = "é".repeat(200);
        assert!(job_status_name(&long).len() <= 255);
        assert_eq!(truncate("abc", 2), "ab");
        assert_eq!(truncate("é", 1), "");
    }
}
