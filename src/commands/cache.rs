//! `srcgit cache prune`: removes the git caches of projects no job used for
//! `cache_max_age_days` and the cache generations that were replaced after damage, and
//! repacks caches that collected many packs.

use std::path::Path;
use std::time::{Duration, SystemTime};

use super::operator_settings;
use crate::repo::cache::Cache;

/// Runs `srcgit cache prune`; prints one line per removed cache and a summary.
pub fn cache_prune(max_age_days: Option<u32>, config: Option<&Path>) -> u8 {
    let Ok(settings) = operator_settings(config) else {
        return super::EXIT_USER_ERROR;
    };
    let max_age = max_age_days.map_or(settings.cache_max_age, |days| {
        Duration::from_secs(u64::from(days) * 86_400)
    });
    let cache = Cache::in_work_dir(&settings.work_dir);
    match cache.prune(max_age, SystemTime::now()) {
        Ok(pruned) => {
            for key in &pruned.removed {
                println!(
                    "removed {key} (unused for more than {} days)",
                    max_age.as_secs() / 86_400
                );
            }
            for generation in &pruned.removed_generations {
                println!("removed {generation} (an old generation)");
            }
            for key in &pruned.busy {
                println!("kept {key}: a job is using it");
            }
            for key in &pruned.repacked {
                println!("repacked {key} into one pack");
            }
            println!(
                "{}: {} removed, {} kept",
                cache.root().display(),
                pruned.removed.len(),
                pruned.kept.len() + pruned.busy.len()
            );
            0
        }
        Err(e) => {
            eprintln!("error: {}", crate::error_chain(&e));
            1
        }
    }
}
