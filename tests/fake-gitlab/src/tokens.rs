//! Seeding token metadata that only `GET /personal_access_tokens/self` shows.

use crate::server::FakeGitLab;
use crate::specs::SeedError;

impl FakeGitLab {
    /// Sets the expiry date (`YYYY-MM-DD`, `None`: never) that
    /// `GET /personal_access_tokens/self` reports for `token`. The fake keeps accepting
    /// the token after that date.
    pub fn set_token_expiry(&self, token: &str, expires_at: Option<&str>) -> Result<(), SeedError> {
        let mut st = self.shared.lock_state();
        let found = st
            .tokens
            .iter_mut()
            .find(|t| t.value == token)
            .ok_or_else(|| SeedError("no such token".into()))?;
        found.expires_at = expires_at.map(str::to_string);
        Ok(())
    }
}
