//! A project's `last_activity_at`, moved the way GitLab moves it: `Event#reset_project_activity`
//! touches the project only when its `last_activity_at` is at least an hour old
//! (`RESET_PROJECT_ACTIVITY_INTERVAL = 1.hour`, with `WHERE last_activity_at <= 1.hour.ago`),
//! so a second push within the hour leaves it where it was.
//!
//! Simplification: only pushes (git HTTP, `push_from`) and merges count as activity here;
//! GitLab also counts MR, note and issue events.

use std::time::Duration;

use crate::model::Id;
use crate::state::State;

/// GitLab's `Event::RESET_PROJECT_ACTIVITY_INTERVAL`.
pub(crate) const RESET_INTERVAL: Duration = Duration::from_secs(3600);

/// A push (or merge) happened in `project` now.
pub(crate) fn pushed(st: &mut State, project: Id) {
    let now = st.now();
    if let Some(p) = st.projects.get_mut(&project)
        && p.last_activity_at.after(RESET_INTERVAL) <= now
    {
        p.last_activity_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;

    #[test]
    fn the_interval_is_an_hour() {
        let t = Timestamp::from_millis(0);
        assert_eq!(t.after(RESET_INTERVAL).millis(), 3_600_000);
    }
}
