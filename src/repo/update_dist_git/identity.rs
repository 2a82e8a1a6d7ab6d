//! Who commits when srcgit runs like `git commit` (in dist-git, or in source-git for
//! update-source-git): the `GIT_AUTHOR_*` / `GIT_COMMITTER_*` environment, else
//! `user.name` / `user.email`, and git's date forms.

use crate::repo::git::{Identity, Repo};

/// Author and committer like `git commit`: `GIT_{AUTHOR,COMMITTER}_{NAME,EMAIL,DATE}`,
/// else `user.name` / `user.email` and the current time. `label` names the repository in
/// the error (`dist-git`, `source-git`).
pub(crate) fn identity_from_env(repo: &Repo, label: &str) -> Result<(Identity, Identity), String> {
    let config = repo.git2().config().ok();
    let from_config = |key: &str| config.as_ref().and_then(|c| c.get_string(key).ok());
    let one = |kind: &str| -> Result<Identity, String> {
        let var = |field: &str| {
            std::env::var(format!("GIT_{kind}_{field}"))
                .ok()
                .filter(|v| !v.is_empty())
        };
        let name = var("NAME").or_else(|| from_config("user.name"));
        let email = var("EMAIL")
            .or_else(|| from_config("user.email"))
            .or_else(|| std::env::var("EMAIL").ok());
        let (Some(name), Some(email)) = (name, email) else {
            return Err(format!(
                "cannot commit in {label}: tell git who you are (git config user.name / user.email)"
            ));
        };
        let (time, offset_minutes) = match var("DATE") {
            Some(date) => parse_git_date(&date)
                .ok_or_else(|| format!("GIT_{kind}_DATE={date:?} is not a date git understands"))?,
            None => (now_seconds(), 0),
        };
        Ok(Identity {
            name,
            email,
            time,
            offset_minutes,
        })
    };
    Ok((one("AUTHOR")?, one("COMMITTER")?))
}

fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// git's raw date forms: `<epoch> <+hhmm>`, `@<epoch> <+hhmm>`, `@<epoch>`, and ISO 8601
/// `YYYY-MM-DD[T ]HH:MM:SS[Z|±HH:MM|±HHMM]`.
pub fn parse_git_date(date: &str) -> Option<(i64, i32)> {
    let date = date.trim();
    let offset = |tz: &str| -> Option<i32> {
        let (sign, digits) = match tz.as_bytes().first()? {
            b'+' => (1, &tz[1..]),
            b'-' => (-1, &tz[1..]),
            _ => return None,
        };
        let digits: String = digits.chars().filter(|c| *c != ':').collect();
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let hours: i32 = digits[..2].parse().ok()?;
        let minutes: i32 = digits[2..].parse().ok()?;
        Some(sign * (hours * 60 + minutes))
    };
    let raw = date.strip_prefix('@').unwrap_or(date);
    let mut parts = raw.split_whitespace();
    if let Some(Ok(epoch)) = parts.next().map(str::parse::<i64>) {
        return match parts.next() {
            Some(tz) => Some((epoch, offset(tz)?)),
            None => Some((epoch, 0)),
        };
    }
    parse_iso8601(date, offset)
}

fn parse_iso8601(date: &str, offset: impl Fn(&str) -> Option<i32>) -> Option<(i64, i32)> {
    if date.len() < 19 {
        return None;
    }
    let num = |s: &str| s.parse::<i64>().ok();
    let (y, mo, d) = (num(&date[0..4])?, num(&date[5..7])?, num(&date[8..10])?);
    let (h, mi, s) = (
        num(&date[11..13])?,
        num(&date[14..16])?,
        num(&date[17..19])?,
    );
    let tz = date[19..].trim();
    let off = match tz {
        "" | "Z" => 0,
        _ => offset(tz)?,
    };
    // days since the epoch (civil calendar, Howard Hinnant's algorithm)
    let (y2, m2) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((
        days * 86_400 + h * 3600 + mi * 60 + s - i64::from(off) * 60,
        off,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_dates() {
        assert_eq!(parse_git_date("1767225600 +0000"), Some((1_767_225_600, 0)));
        assert_eq!(
            parse_git_date("@1767225600 -0130"),
            Some((1_767_225_600, -90))
        );
        assert_eq!(
            parse_git_date("2026-01-01T00:00:00Z"),
            Some((1_767_225_600, 0))
        );
        assert_eq!(
            parse_git_date("2026-01-01 01:00:00 +01:00"),
            Some((1_767_225_600, 60))
        );
        assert_eq!(parse_git_date("yesterday"), None);
    }
}
