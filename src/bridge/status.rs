//! Mapping GitLab pipeline and job statuses of the dist-git MR onto external commit
//! statuses of the source-git MR, and the rules GitLab enforces on status transitions.
//! Pure; every mapping is an exhaustive `match` tested as a matrix. The status words
//! themselves ([`CiStatus`], [`CommitState`]) are shared vocabulary in [`crate::ids`].

pub use crate::ids::{CiStatus, CommitState};

/// The status mirrored for the whole downstream pipeline.
pub fn pipeline_state(status: CiStatus) -> CommitState {
    match status {
        CiStatus::Created
        | CiStatus::WaitingForResource
        | CiStatus::Preparing
        | CiStatus::Pending
        | CiStatus::Scheduled
        | CiStatus::Manual
        | CiStatus::Unknown => CommitState::Pending,
        CiStatus::Running | CiStatus::Canceling | CiStatus::WaitingForCallback => {
            CommitState::Running
        }
        CiStatus::Success => CommitState::Success,
        CiStatus::Failed => CommitState::Failed,
        CiStatus::Canceled => CommitState::Canceled,
        CiStatus::Skipped => CommitState::Skipped,
    }
}

/// The status mirrored for one downstream job. A failed job that may fail does not fail
/// the source-git pipeline (external statuses count as `allow_failure: false`), so it is
/// shown as `success` with a description that says it failed.
pub fn job_state(status: CiStatus, allow_failure: bool) -> CommitState {
    match status {
        CiStatus::Failed if allow_failure => CommitState::Success,
        // a manual job that was not started is not waiting for anything
        CiStatus::Manual => CommitState::Skipped,
        other => pipeline_state(other),
    }
}

/// A short description for a job status.
pub fn job_description(status: CiStatus, allow_failure: bool) -> String {
    match status {
        CiStatus::Failed if allow_failure => "failed (allowed to fail)".to_string(),
        CiStatus::Manual => "manual job, not started".to_string(),
        other => other.as_str().replace('_', " "),
    }
}

/// Whether to post `next` when `last` is what was posted for the same status name: only
/// changes, and only transitions GitLab accepts (it answers 400 `Cannot transition status
/// via …` to `pending` twice, `running` twice or `pending` after `running`). A final state
/// ends the external job, so any other state may follow it (GitLab starts a new job).
pub fn may_post(last: Option<CommitState>, next: CommitState) -> bool {
    match (last, next) {
        (None, _) => true,
        (Some(last), _) if last.is_final() => last != next,
        (Some(CommitState::Pending), CommitState::Pending) => false,
        (Some(CommitState::Running), CommitState::Pending | CommitState::Running) => false,
        (Some(_), _) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CiStatus as C;
    use CommitState as S;

    const ALL: [CiStatus; 14] = [
        C::Created,
        C::WaitingForResource,
        C::Preparing,
        C::Pending,
        C::Running,
        C::Success,
        C::Failed,
        C::Canceling,
        C::Canceled,
        C::Skipped,
        C::Manual,
        C::Scheduled,
        C::WaitingForCallback,
        C::Unknown,
    ];

    #[test]
    fn pipeline_matrix() {
        let expected = [
            S::Pending,
            S::Pending,
            S::Pending,
            S::Pending,
            S::Running,
            S::Success,
            S::Failed,
            S::Running,
            S::Canceled,
            S::Skipped,
            S::Pending,
            S::Pending,
            S::Running,
            S::Pending,
        ];
        for (status, want) in ALL.iter().zip(expected) {
            assert_eq!(pipeline_state(*status), want, "{status:?}");
        }
        let finished: Vec<_> = ALL.iter().filter(|s| s.pipeline_finished()).collect();
        assert_eq!(
            finished,
            [&C::Success, &C::Failed, &C::Canceled, &C::Skipped]
        );
    }

    #[test]
    fn job_matrix() {
        let expected = [
            S::Pending,
            S::Pending,
            S::Pending,
            S::Pending,
            S::Running,
            S::Success,
            S::Failed,
            S::Running,
            S::Canceled,
            S::Skipped,
            S::Skipped,
            S::Pending,
            S::Running,
            S::Pending,
        ];
        for (status, want) in ALL.iter().zip(expected) {
            assert_eq!(job_state(*status, false), want, "{status:?}");
        }
        assert_eq!(job_state(C::Failed, true), S::Success);
        assert_eq!(job_description(C::Failed, true), "failed (allowed to fail)");
        assert_eq!(
            job_description(C::WaitingForResource, false),
            "waiting for resource"
        );
    }

    #[test]
    fn transitions_follow_gitlabs_state_machine() {
        let states = [
            S::Pending,
            S::Running,
            S::Success,
            S::Failed,
            S::Canceled,
            S::Skipped,
        ];
        // rows: last posted (None first), columns: next
        let table: [(Option<S>, [bool; 6]); 7] = [
            (None, [true, true, true, true, true, true]),
            (Some(S::Pending), [false, true, true, true, true, true]),
            (Some(S::Running), [false, false, true, true, true, true]),
            (Some(S::Success), [true, true, false, true, true, true]),
            (Some(S::Failed), [true, true, true, false, true, true]),
            (Some(S::Canceled), [true, true, true, true, false, true]),
            (Some(S::Skipped), [true, true, true, true, true, false]),
        ];
        for (last, row) in table {
            for (next, want) in states.iter().zip(row) {
                assert_eq!(may_post(last, *next), want, "{last:?} -> {next:?}");
            }
        }
    }

    #[test]
    fn unknown_statuses_do_not_fail_parsing() {
        let s: CiStatus = serde_json::from_str("\"brand_new_status\"").unwrap();
        assert_eq!(s, C::Unknown);
        let s: CiStatus = serde_json::from_str("\"waiting_for_resource\"").unwrap();
        assert_eq!(s, C::WaitingForResource);
    }
}
