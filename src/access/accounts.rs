//! Provider accounts (SPEC §12): a Seam connected account, or the one Nuki
//! account behind `NUKI_API_TOKEN`. When one stops working, every lock on
//! it is out of reach at once: staff hear it in one alert naming every lock
//! affected and what to do, the device jobs for those locks wait (keyed by
//! [`wait_key`]) instead of failing, and one "back" message says when it
//! works again, which wakes them.
//!
//! The state is a row of `provider_accounts`, shared by every instance and
//! kept across restarts: only the change that moves it tells staff, so a
//! repeated event or a second instance tells nobody again. Which locks an
//! account holds: every Nuki lock; for Seam, the `connected_account_id`
//! the device reads and discovery report, stored on the lock
//! (`locks.provider_account_id`).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::alerts::{alert_staff, StaffAlert};
use super::model::{AccountState, ProviderKind};
use super::AccessResult;
use crate::jobs::queue;

/// The account id of Nuki's one account: the API token's.
pub const NUKI_ACCOUNT: &str = "api_token";

/// A provider account that does not work now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountDown {
    /// Its provider.
    pub provider: ProviderKind,
    /// Seam's `connected_account_id`, or [`NUKI_ACCOUNT`].
    pub account_id: String,
    /// How it is.
    pub state: AccountState,
    /// Since when.
    pub since: DateTime<Utc>,
}

impl AccountDown {
    /// What is wrong and what to do, for a job's last error and the logs.
    pub fn describe(&self) -> String {
        format!("{}: not called until it works again ({})", account_name(self.provider, &self.account_id), self.todo())
    }

    /// What staff do about it.
    pub fn todo(&self) -> &'static str {
        what_to_do(self.provider, self.state)
    }
}

/// What a job waiting for the account waits for (`JobError::Wait`).
pub fn wait_key(provider: ProviderKind, account_id: &str) -> String {
    format!("provider_account:{provider}:{account_id}")
}

/// How staff know the account: "the Seam account 8e3a…", "the Nuki account
/// of NUKI_API_TOKEN".
pub fn account_name(provider: ProviderKind, account_id: &str) -> String {
    match provider {
        ProviderKind::Nuki => "the Nuki account of NUKI_API_TOKEN".to_owned(),
        other => format!("the {} account {account_id}", display(other)),
    }
}

/// What to do to bring the account back.
pub fn what_to_do(provider: ProviderKind, state: AccountState) -> &'static str {
    match (provider, state) {
        (ProviderKind::Nuki, _) => "renew NUKI_API_TOKEN in Nuki Web (API, generate a token) and restart doorman",
        (_, AccountState::ReauthorizationRequested) => {
            "have the account's owner sign in again through Seam (a new Connect Webview for this account)"
        }
        _ => "reconnect the account in Seam (Seam Console, Connected accounts, or a new Connect Webview)",
    }
}

fn display(provider: ProviderKind) -> &'static str {
    match provider {
        ProviderKind::Nuki => "Nuki",
        ProviderKind::Seam => "Seam",
        ProviderKind::Simulated => "simulated",
    }
}

/// The account of `provider`'s `account_id` when it does not work.
pub async fn account_down(
    db: impl PgExecutor<'_>,
    provider: ProviderKind,
    account_id: &str,
) -> AccessResult<Option<AccountDown>> {
    let row = sqlx::query!(
        r#"SELECT state AS "state: AccountState", since FROM provider_accounts
           WHERE provider = $1 AND account_id = $2 AND state <> 'connected'"#,
        provider.as_str(),
        account_id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| AccountDown { provider, account_id: account_id.to_owned(), state: r.state, since: r.since }))
}

/// The account of the lock `lock_id` when it does not work.
pub async fn lock_account_down(db: impl PgExecutor<'_>, lock_id: Uuid) -> AccessResult<Option<AccountDown>> {
    let row = sqlx::query!(
        r#"SELECT l.provider AS "provider: ProviderKind", a.account_id, a.state AS "state: AccountState", a.since
           FROM locks l JOIN provider_accounts a ON a.provider = l.provider AND a.account_id = l.account_key
           WHERE l.id = $1 AND a.state <> 'connected'"#,
        lock_id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| AccountDown { provider: r.provider, account_id: r.account_id, state: r.state, since: r.since }))
}

/// Stores that a device of `provider` belongs to `account_id` (learned
/// from a device read or discovery), and tells the staff of its property
/// when that account is down (see [`lock_learned`]).
pub async fn learn_account(
    conn: &mut PgConnection,
    provider: ProviderKind,
    device_id: &str,
    account_id: &str,
) -> AccessResult<()> {
    let learned = sqlx::query_scalar!(
        "UPDATE locks SET provider_account_id = $3
         WHERE provider = $1 AND provider_device_id = $2 AND provider_account_id IS DISTINCT FROM $3
         RETURNING id",
        provider.as_str(),
        device_id,
        account_id
    )
    .fetch_all(&mut *conn)
    .await?;
    for lock_id in learned {
        lock_learned(&mut *conn, lock_id).await?;
    }
    Ok(())
}

/// The lock `lock_id` was just found to be on its account. When that
/// account is down, its outage is told to the staff of every property with
/// a lock on it, with the locks known now: an account event that came
/// before doorman knew which locks the account holds told nobody. Staff
/// who were told already are not told again (the alert's key is the
/// outage's).
pub async fn lock_learned(conn: &mut PgConnection, lock_id: Uuid) -> AccessResult<()> {
    let Some(down) = lock_account_down(&mut *conn, lock_id).await? else { return Ok(()) };
    let locks = affected_locks(&mut *conn, down.provider, &down.account_id).await?;
    let alert = |locks: Vec<(String, String)>| StaffAlert::AccountDown {
        provider: down.provider.as_str().to_owned(),
        account_id: down.account_id.clone(),
        state: down.state.as_str().to_owned(),
        since: down.since,
        locks,
    };
    tell_properties(conn, &locks, alert).await
}

/// The account stopped working at `at` (`reason`: what the provider said).
/// The first report tells the staff of every property with a lock on it,
/// in one alert naming every such lock; a later report of the same outage
/// (or one older than the account's last change) changes nothing. Returns
/// whether this report was the first.
pub async fn account_failed(
    conn: &mut PgConnection,
    provider: ProviderKind,
    account_id: &str,
    state: AccountState,
    reason: &str,
    at: DateTime<Utc>,
) -> AccessResult<bool> {
    let since = sqlx::query_scalar!(
        "INSERT INTO provider_accounts (provider, account_id, state, since, reason) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (provider, account_id) DO UPDATE
             SET state = EXCLUDED.state, since = EXCLUDED.since, reason = EXCLUDED.reason, updated_at = now()
             WHERE provider_accounts.state = 'connected' AND provider_accounts.since < EXCLUDED.since
         RETURNING since",
        provider.as_str(),
        account_id,
        state.as_str(),
        at,
        reason
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(since) = since else { return Ok(false) };
    tracing::warn!(%provider, account_id, %state, "a lock provider account stopped working");
    let locks = affected_locks(&mut *conn, provider, account_id).await?;
    let alert = |locks: Vec<(String, String)>| StaffAlert::AccountDown {
        provider: provider.as_str().to_owned(),
        account_id: account_id.to_owned(),
        state: state.as_str().to_owned(),
        since,
        locks,
    };
    tell_properties(conn, &locks, alert).await?;
    Ok(true)
}

/// The account works again at `at`: the first report after an outage tells
/// staff once and wakes the jobs that waited for it. Returns whether it
/// was down.
pub async fn account_works(
    conn: &mut PgConnection,
    provider: ProviderKind,
    account_id: &str,
    at: DateTime<Utc>,
) -> AccessResult<bool> {
    let down_since = sqlx::query_scalar!(
        "UPDATE provider_accounts a SET state = 'connected', since = $3, reason = '', updated_at = now()
         FROM (SELECT since FROM provider_accounts WHERE provider = $1 AND account_id = $2 FOR UPDATE) old
         WHERE a.provider = $1 AND a.account_id = $2 AND a.state <> 'connected' AND a.since < $3
         RETURNING old.since",
        provider.as_str(),
        account_id,
        at
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(down_since) = down_since else { return Ok(false) };
    tracing::info!(%provider, account_id, "a lock provider account works again");
    let woken = queue::wake(&mut *conn, &wait_key(provider, account_id)).await?;
    tracing::info!(jobs = woken, "the jobs that waited for the account go on");
    let locks = affected_locks(&mut *conn, provider, account_id).await?;
    let alert = |locks: Vec<(String, String)>| StaffAlert::AccountBack {
        provider: provider.as_str().to_owned(),
        account_id: account_id.to_owned(),
        down_since,
        locks,
    };
    tell_properties(conn, &locks, alert).await?;
    Ok(true)
}

/// A lock on an account: its name, its property's name and id.
struct AffectedLock {
    lock: String,
    property: String,
    property_id: Uuid,
}

async fn affected_locks(
    conn: &mut PgConnection,
    provider: ProviderKind,
    account_id: &str,
) -> AccessResult<Vec<AffectedLock>> {
    Ok(sqlx::query_as!(
        AffectedLock,
        "SELECT l.name AS lock, p.name AS property, l.property_id
         FROM locks l JOIN properties p ON p.id = l.property_id
         WHERE l.provider = $1 AND l.account_key = $2
         ORDER BY p.name, l.room_id IS NOT NULL, l.name",
        provider.as_str(),
        account_id
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// One alert, naming every lock, to the staff of each property with one of
/// them: the same words and once-only key everywhere, so someone who looks
/// after several of them gets it once.
async fn tell_properties(
    conn: &mut PgConnection,
    locks: &[AffectedLock],
    alert: impl Fn(Vec<(String, String)>) -> StaffAlert,
) -> AccessResult<()> {
    if locks.is_empty() {
        tracing::warn!("no doorman lock is known on this provider account: nobody to tell");
        return Ok(());
    }
    let named: Vec<(String, String)> = locks.iter().map(|l| (l.lock.clone(), l.property.clone())).collect();
    let mut properties: Vec<Uuid> = locks.iter().map(|l| l.property_id).collect();
    properties.sort();
    properties.dedup();
    for property_id in properties {
        alert_staff(&mut *conn, property_id, alert(named.clone())).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_account_has_its_own_wait_and_its_own_remedy() {
        assert_eq!(wait_key(ProviderKind::Seam, "acc-1"), "provider_account:seam:acc-1");
        assert_ne!(wait_key(ProviderKind::Seam, "acc-1"), wait_key(ProviderKind::Seam, "acc-2"));
        assert!(what_to_do(ProviderKind::Nuki, AccountState::Refused).contains("NUKI_API_TOKEN"));
        assert!(what_to_do(ProviderKind::Seam, AccountState::Disconnected).contains("reconnect"));
        assert!(what_to_do(ProviderKind::Seam, AccountState::ReauthorizationRequested).contains("sign in again"));
        assert_eq!(account_name(ProviderKind::Nuki, NUKI_ACCOUNT), "the Nuki account of NUKI_API_TOKEN");
    }

    /// One outage is one alert, its return one more; the next outage of
    /// the same account is told again.
    #[test]
    fn an_outage_and_its_end_are_told_once_each() {
        let at = |minute: u32| chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, 4, 18, minute, 0).unwrap();
        let down = |since| StaffAlert::AccountDown {
            provider: "seam".into(),
            account_id: "acc-1".into(),
            state: "disconnected".into(),
            since,
            locks: vec![("Room 201".into(), "Riverside".into())],
        };
        let back = |down_since| StaffAlert::AccountBack {
            provider: "seam".into(),
            account_id: "acc-1".into(),
            down_since,
            locks: vec![],
        };
        assert_eq!(down(at(1)).problem(), down(at(1)).problem());
        assert_ne!(down(at(1)).problem(), down(at(30)).problem(), "a later outage");
        assert_ne!(down(at(1)).problem(), back(at(1)).problem());
        assert!(down(at(1)).problem().starts_with("provider.account_disconnected:seam:acc-1:"));
    }
}
