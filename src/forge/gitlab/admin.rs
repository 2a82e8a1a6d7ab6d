//! Read-only questions `srcgit doctor` asks about the bot account: who the token belongs
//! to and what it may do (`GET /user`, `GET /personal_access_tokens/self`), whether a
//! group exists (`GET /groups/:id`) and the bot's effective role in it
//! (`GET /groups/:id/members/all/:user_id`, inherited membership included).
//!
//! These are not part of the [`Forge`](crate::forge::Forge) trait: the workflow never
//! needs them, and a fake forge need not answer them.

use std::borrow::Cow;

use gitlab::api::endpoint_prelude::{Endpoint, Method};
use gitlab::api::groups::Group;
use gitlab::api::personal_access_tokens::PersonalAccessTokenSelf;
use gitlab::api::users::CurrentUser;
use serde::Deserialize;

use super::GitLabForge;
use super::errors::built;
use crate::forge::{ForgeError, ForgeResult};

/// The bot account as `GET /user` shows it to itself.
#[derive(Debug, Clone, Deserialize)]
pub struct AccountInfo {
    /// User id.
    pub id: u64,
    /// Login name (also its personal namespace).
    pub username: String,
    /// Whether it may create projects in its personal namespace.
    #[serde(default)]
    pub can_create_project: bool,
}

/// `GET /personal_access_tokens/self`.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenInfo {
    /// The token's name (not its value).
    pub name: String,
    /// Scopes, e.g. `["api"]`.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Expiry date `YYYY-MM-DD`, if any.
    pub expires_at: Option<String>,
    /// Whether GitLab considers it usable.
    #[serde(default)]
    pub active: bool,
}

/// `GET /groups/:id`, the fields doctor reads.
#[derive(Debug, Clone, Deserialize)]
pub struct GroupInfo {
    /// Group id.
    pub id: u64,
    /// Full path.
    pub full_path: String,
    /// Who may create projects in it: `noone`, `owner`, `maintainer`, `developer`, …
    pub project_creation_level: Option<String>,
}

#[derive(Debug, Deserialize)]
struct MemberDto {
    access_level: u32,
}

/// `GET /groups/:id/members/all/:user_id` (the crate only has the direct-member form).
struct GroupMemberAll<'a> {
    group: &'a str,
    user: u64,
}

impl Endpoint for GroupMemberAll<'_> {
    fn method(&self) -> Method {
        Method::GET
    }

    fn endpoint(&self) -> Cow<'static, str> {
        let group: String = url::form_urlencoded::byte_serialize(self.group.as_bytes()).collect();
        format!("groups/{group}/members/all/{}", self.user).into()
    }
}

impl GitLabForge {
    /// The token's account (a fresh `GET /user`, for `can_create_project`).
    ///
    /// # Errors
    ///
    /// Any [`ForgeError`]; `Unauthorized` for a revoked or wrong token.
    pub async fn account(&self) -> ForgeResult<AccountInfo> {
        const WHAT: &str = "GET user";
        let endpoint = built(WHAT, CurrentUser::builder().build())?;
        self.query(WHAT, &endpoint).await
    }

    /// The token itself: scopes and expiry.
    ///
    /// # Errors
    ///
    /// Any [`ForgeError`].
    pub async fn token_info(&self) -> ForgeResult<TokenInfo> {
        const WHAT: &str = "GET personal_access_tokens/self";
        let endpoint = built(WHAT, PersonalAccessTokenSelf::builder().build())?;
        self.query(WHAT, &endpoint).await
    }

    /// The group at `path`, `None` when it does not exist or the bot cannot see it.
    ///
    /// # Errors
    ///
    /// Any [`ForgeError`] but `NotFound`.
    pub async fn group(&self, path: &str) -> ForgeResult<Option<GroupInfo>> {
        let what = format!("GET group {path}");
        let endpoint = built(&what, Group::builder().group(path).build())?;
        match self.query(&what, &endpoint).await {
            Ok(group) => Ok(Some(group)),
            Err(ForgeError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The user's effective access level in a group (inherited included), `None` when
    /// not a member.
    ///
    /// # Errors
    ///
    /// Any [`ForgeError`] but `NotFound`.
    pub async fn group_access(&self, group: &str, user: u64) -> ForgeResult<Option<u32>> {
        let what = format!("GET membership of user {user} in group {group}");
        let endpoint = GroupMemberAll { group, user };
        match self.query::<MemberDto, _>(&what, &endpoint).await {
            Ok(member) => Ok(Some(member.access_level)),
            Err(ForgeError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_endpoint_escapes_the_group_path() {
        let ep = GroupMemberAll {
            group: "redhat/centos-stream/rpms",
            user: 7,
        };
        assert_eq!(ep.method(), Method::GET);
        assert_eq!(
            ep.endpoint(),
            "groups/redhat%2Fcentos-stream%2Frpms/members/all/7"
        );
    }
}
