//! Project creation and forking (asynchronous import like GitLab's).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::clock::Timestamp;
use crate::git::GitError;
use crate::model::*;
use crate::state::{IdKind, State};

/// Inputs for a new project.
pub(crate) struct NewProject {
    pub namespace_id: Id,
    pub path: String,
    pub name: String,
    pub default_branch: String,
    pub visibility: Visibility,
    pub description: Option<String>,
    pub creator_id: Id,
    pub forked_from_id: Option<Id>,
    pub import_status: ImportStatus,
}

/// Creates the project record and its empty bare repository.
pub(crate) fn create_project(st: &mut State, np: NewProject) -> Result<Id, GitError> {
    let id = st.next_id(IdKind::Project);
    let ns_path = st
        .namespaces
        .get(&np.namespace_id)
        .map(|n| n.full_path.clone())
        .unwrap_or_default();
    st.git.init(id, &np.default_branch)?;
    let now = st.now();
    st.projects.insert(
        id,
        Project {
            id,
            name: np.name,
            path_with_namespace: format!("{ns_path}/{}", np.path),
            path: np.path,
            namespace_id: np.namespace_id,
            default_branch: Some(np.default_branch),
            visibility: np.visibility,
            description: np.description,
            forked_from_id: np.forked_from_id,
            import_status: np.import_status,
            created_at: now,
            creator_id: np.creator_id,
            members: BTreeMap::new(),
            ci: None,
            ci_variables: Vec::new(),
            allow_fork_pipelines_in_parent: true,
            import_finishes_at: None,
            last_activity_at: now,
        },
    );
    Ok(id)
}

/// Why a fork was refused.
#[derive(Debug)]
pub(crate) enum ForkError {
    /// 404 `"404 <thing> Not Found"`.
    NotFound(&'static str),
    /// 409 with the validation hash (`{"name":["has already been taken"],…}`).
    Conflict(Value),
    /// Repository problem (500).
    Git(GitError),
}

/// Forks `parent` into namespace `ns` (default: the user's own). With
/// `immediate`, the repository is copied now; otherwise the fork starts as
/// `import_status: scheduled` and is copied after the configured delay.
pub(crate) fn fork(
    st: &mut State,
    parent: Id,
    user: Id,
    ns: Option<Id>,
    path: Option<String>,
    name: Option<String>,
    immediate: bool,
) -> Result<Id, ForkError> {
    let ns = match ns {
        Some(n) => n,
        None => st
            .users
            .get(&user)
            .map(|u| u.namespace_id)
            .ok_or(ForkError::NotFound("Target Namespace"))?,
    };
    if !st.namespaces.contains_key(&ns) || !st.can_create_in_namespace(user, ns) {
        return Err(ForkError::NotFound("Target Namespace"));
    }
    let p = st
        .projects
        .get(&parent)
        .cloned()
        .ok_or(ForkError::NotFound("Project"))?;
    let path = path.unwrap_or_else(|| p.path.clone());
    let name = name.unwrap_or_else(|| p.name.clone());
    let mut errors = serde_json::Map::new();
    let siblings: Vec<&Project> = st
        .projects
        .values()
        .filter(|q| q.namespace_id == ns)
        .collect();
    if siblings.iter().any(|q| q.name.eq_ignore_ascii_case(&name)) {
        errors.insert("name".into(), json!(["has already been taken"]));
    }
    if siblings.iter().any(|q| q.path.eq_ignore_ascii_case(&path)) {
        errors.insert("path".into(), json!(["has already been taken"]));
    }
    if !errors.is_empty() {
        return Err(ForkError::Conflict(Value::Object(errors)));
    }
    let id = create_project(
        st,
        NewProject {
            namespace_id: ns,
            path,
            name,
            default_branch: p.default_branch.clone().unwrap_or_else(|| "main".into()),
            visibility: p.visibility,
            description: p.description.clone(),
            creator_id: user,
            forked_from_id: Some(parent),
            import_status: ImportStatus::Scheduled,
        },
    )
    .map_err(ForkError::Git)?;
    let finishes = st.now().after(st.settings.fork_import_delay);
    if let Some(f) = st.projects.get_mut(&id) {
        // The fork's `.gitlab-ci.yml` is the parent's.
        f.ci = p.ci.clone();
        f.import_finishes_at = Some(finishes);
    }
    if immediate || st.settings.fork_import_delay.is_zero() {
        finish_import(st, id).map_err(ForkError::Git)?;
    }
    Ok(id)
}

fn finish_import(st: &mut State, id: Id) -> Result<(), GitError> {
    let Some(p) = st.projects.get(&id).cloned() else {
        return Ok(());
    };
    if let Some(parent) = p.forked_from_id {
        st.git.mirror_from(id, parent)?;
        if let Some(b) = &p.default_branch
            && st.git.heads(id).contains_key(b)
        {
            st.git.set_head(id, b)?;
        }
    }
    if let Some(pm) = st.projects.get_mut(&id) {
        pm.import_status = ImportStatus::Finished;
    }
    Ok(())
}

/// Advances scheduled fork imports: `scheduled` → `started` halfway → `finished`.
pub(crate) fn progress_imports(st: &mut State) {
    let now = st.now();
    let pending: Vec<(Id, (Timestamp, Timestamp))> = st
        .projects
        .values()
        .filter(|p| {
            matches!(
                p.import_status,
                ImportStatus::Scheduled | ImportStatus::Started
            )
        })
        .filter_map(|p| p.import_finishes_at.map(|f| (p.id, (p.created_at, f))))
        .collect();
    for (id, (created, finishes)) in pending {
        if now >= finishes {
            if let Err(e) = finish_import(st, id) {
                eprintln!("fake-gitlab: fork import of project {id} failed: {e}");
            }
        } else if now.millis() >= (created.millis() + finishes.millis()) / 2
            && let Some(p) = st.projects.get_mut(&id)
        {
            p.import_status = ImportStatus::Started;
        }
    }
}
