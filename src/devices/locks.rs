//! Looking after the locks themselves (issue 7): their health, what is
//! really on them (reconciliation), who opened them, and the backup codes
//! kept on them for a guest whose own code did not get on in time.

use chrono::{DateTime, Duration, Timelike, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::observe::{record_listing, ObserveError, ObservedCode};
use crate::access::alerts::{alert_staff, StaffAlert, Suspicious};
use crate::access::arrivals::{record_denials, Denial};
use crate::access::audit::{self, Actor, Subject};
use crate::access::codes::drift::{self, Drift};
use crate::access::codes::mask;
use crate::access::codes::state::{self, Guard};
use crate::access::jobs::{DeliverCodes, ExpireCode, UpdateCode};
use crate::access::lifecycle::{begin_removal, create_manual_code, ManualCode};
use crate::access::model::{CodeKind, CodeState, ProviderKind};
use crate::access::AccessError;
use crate::context::JobContext;
use crate::jobs::{queue, Job, JobError, Run};
use crate::lock_providers::{
    BackupCode, Device, DeviceCode, DeviceCodeStatus, DeviceConstraints, DeviceStatus, Providers, UsageEvent,
};

/// Battery below this share is reported.
const LOW_BATTERY: i32 = 20;
/// How often every lock's health is looked at.
const LOCK_CHECK_EVERY: Duration = Duration::minutes(30);
/// How often the locks are asked who opened them.
const ACTIVITY_EVERY: Duration = Duration::minutes(10);
/// Usage is read again this far back each time: a lock that was offline
/// reports late, and the event id deduplicates what was already read.
const ACTIVITY_OVERLAP: Duration = Duration::hours(1);
/// Reconciliation runs every night at this hour (UTC).
const RECONCILE_HOUR_UTC: u32 = 3;

/// A lock as these jobs see it.
struct LockRow {
    id: Uuid,
    property_id: Uuid,
    name: String,
    provider: ProviderKind,
    provider_device_id: String,
}

impl LockRow {
    fn device(&self) -> Device {
        Device { lock_id: self.id, device_id: self.provider_device_id.clone() }
    }
}

async fn active_locks(db: &PgPool) -> sqlx::Result<Vec<LockRow>> {
    sqlx::query_as!(
        LockRow,
        r#"SELECT id, property_id, name, provider AS "provider: ProviderKind", provider_device_id
           FROM locks WHERE status = 'active' ORDER BY id"#
    )
    .fetch_all(db)
    .await
}

async fn lock_row(db: &PgPool, lock_id: Uuid) -> sqlx::Result<Option<LockRow>> {
    sqlx::query_as!(
        LockRow,
        r#"SELECT id, property_id, name, provider AS "provider: ProviderKind", provider_device_id
           FROM locks WHERE id = $1"#,
        lock_id
    )
    .fetch_optional(db)
    .await
}

// ---------------------------------------------------------------- health

/// Asks the provider how the device is and stores the answer on the lock
/// (`GET /api/v1/locks/{id}`, `/status`). An unreachable device is stored as
/// offline.
pub async fn refresh_status(
    db: &PgPool,
    providers: &Providers,
    lock_id: Uuid,
) -> Result<DeviceStatus, crate::lock_providers::ProviderError> {
    let lock = lock_row(db, lock_id)
        .await
        .map_err(|e| crate::lock_providers::ProviderError::Retryable(format!("database: {e}")))?
        .ok_or_else(|| crate::lock_providers::ProviderError::Permanent("no such lock".into()))?;
    let provider = providers.get(lock.provider)?;
    let status = provider.device_status(&lock.device()).await;
    let mut conn =
        db.acquire().await.map_err(|e| crate::lock_providers::ProviderError::Retryable(format!("database: {e}")))?;
    let stored = match &status {
        Ok(s) => store_status(&mut conn, lock_id, s).await,
        // Not called: the account's state is the finding, not the device's.
        Err(crate::lock_providers::ProviderError::AccountDown { .. }) => Ok(()),
        Err(_) => {
            sqlx::query!("UPDATE locks SET device_online = false, status_checked_at = now() WHERE id = $1", lock_id)
                .execute(&mut *conn)
                .await
                .map(|_| ())
        }
    };
    if let Err(e) = stored {
        tracing::warn!(%lock_id, error = %e, "storing a lock's status");
    }
    status
}

/// Stores what the device reported about itself on the lock; a lock
/// whose account is learned here, and is down, is told to staff
/// (`accounts::lock_learned`).
pub async fn store_status(conn: &mut PgConnection, lock_id: Uuid, status: &DeviceStatus) -> sqlx::Result<()> {
    let learned = sqlx::query_scalar!(
        r#"UPDATE locks l SET device_online = $2, battery_percent = $3, battery_low = $4, keypad_battery_low = $5,
             device_constraints = COALESCE($6, device_constraints), status_checked_at = now(),
             provider_account_id = COALESCE($7, l.provider_account_id)
         FROM (SELECT provider_account_id FROM locks WHERE id = $1 FOR UPDATE) old
         WHERE l.id = $1
         RETURNING l.provider_account_id IS DISTINCT FROM old.provider_account_id AS "learned!""#,
        lock_id,
        status.online,
        status.battery_percent,
        status.battery_low || status.battery_percent.is_some_and(|b| b < LOW_BATTERY),
        status.keypad_battery_low,
        status.constraints.as_ref().map(|c| serde_json::to_value(c).expect("constraints serialize")),
        status.account_id,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if learned == Some(true) {
        if let Err(e) = crate::access::accounts::lock_learned(conn, lock_id).await {
            tracing::warn!(%lock_id, error = %e, "telling staff of a lock on an account that is down");
        }
    }
    Ok(())
}

/// `CheckLocks`: every active lock's state, stored; an offline lock, a low
/// battery or a low keypad battery is told to staff once a day while it
/// lasts. Runs again later.
pub async fn check_locks(ctx: &JobContext) -> Result<(), JobError> {
    let today = Utc::now().date_naive();
    for lock in active_locks(&ctx.db).await? {
        if ctx.providers.get(lock.provider).is_err() {
            continue;
        }
        let (lock_id, name, day) = (lock.id, lock.name.clone(), today);
        let mut problems = Vec::new();
        match refresh_status(&ctx.db, &ctx.providers, lock.id).await {
            Ok(status) if !status.online => problems.push(StaffAlert::LockOffline { lock_id, lock: name, day }),
            Ok(status) => {
                if status.battery_low || status.battery_percent.is_some_and(|b| b < LOW_BATTERY) {
                    let percent = status.battery_percent;
                    problems.push(StaffAlert::LowBattery { lock_id, lock: name.clone(), day, percent });
                }
                if status.keypad_battery_low == Some(true) {
                    problems.push(StaffAlert::LowKeypadBattery { lock_id, lock: name, day });
                }
            }
            // The account's own alert names this lock.
            Err(crate::lock_providers::ProviderError::AccountDown { .. }) => {}
            Err(e) => {
                let error = e.to_string();
                problems.push(StaffAlert::LockUnreachable { lock_id, lock: name, day, error, codes_waiting: false });
            }
        }
        for alert in problems {
            let mut tx = ctx.db.begin().await?;
            alert_staff(&mut tx, lock.property_id, alert).await?;
            tx.commit().await?;
        }
    }
    let mut conn = ctx.db.acquire().await?;
    // Backup pools that lost a code (assigned, or it failed) are topped up.
    let pools = sqlx::query_scalar!("SELECT id FROM locks WHERE status = 'active' AND backup_codes > 0")
        .fetch_all(&mut *conn)
        .await?;
    for lock_id in pools {
        queue::enqueue(&mut conn, &FillBackupPool { lock_id }, Utc::now()).await?;
    }
    queue::enqueue(&mut conn, &CheckLocks {}, Utc::now() + LOCK_CHECK_EVERY).await?;
    Ok(())
}

// -------------------------------------------------------- reconciliation

/// What one reconciliation found and did.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Reconciliation {
    /// The lock.
    pub lock_id: Uuid,
    /// Codes the device reports.
    pub on_device: usize,
    /// Codes on the device doorman did not set (reported, never removed
    /// automatically), by the provider's id.
    pub orphans: Vec<String>,
    /// doorman's codes that were `set` but are gone from the device: being
    /// programmed again.
    pub reprogrammed: Vec<Uuid>,
    /// Codes on the device with another window than doorman's: being
    /// updated.
    pub window_fixed: Vec<Uuid>,
    /// Codes that were being programmed and are now on the device.
    pub confirmed: Vec<Uuid>,
    /// Codes doorman took off that are on the device again (a late
    /// landing): being removed again.
    pub removal_restarted: Vec<Uuid>,
    /// Codes doorman had as set that the provider now reports it could not
    /// keep on the device: `failed`, staff told.
    pub failed_on_device: Vec<Uuid>,
    /// The codes as the device shows them.
    pub codes: Vec<ObservedCode>,
}

impl Reconciliation {
    fn drifted(&self) -> usize {
        self.reprogrammed.len()
            + self.window_fixed.len()
            + self.removal_restarted.len()
            + self.confirmed.len()
            + self.failed_on_device.len()
    }
}

/// doorman's codes on a lock, each with the moment it last changed: a job
/// that settles a code while the lock is being listed changes that moment,
/// and the guarded state changes then leave the code alone.
struct OurCode {
    id: Uuid,
    state: CodeState,
    provider_ref: Option<String>,
    valid_from: DateTime<Utc>,
    valid_until: Option<DateTime<Utc>>,
    booking_id: Option<Uuid>,
    updated_at: DateTime<Utc>,
    booking_ref: Option<String>,
}

impl OurCode {
    fn view(&self) -> drift::Ours {
        drift::Ours { state: self.state, valid_from: self.valid_from, valid_until: self.valid_until }
    }

    fn guard(&self, lock_id: Uuid) -> Guard {
        let subject = Subject {
            lock_id: Some(lock_id),
            code_id: Some(self.id),
            booking_id: self.booking_id,
            ..Default::default()
        };
        Guard { code_id: self.id, updated_at: self.updated_at, subject }
    }
}

async fn our_codes(db: &PgPool, lock_id: Uuid) -> sqlx::Result<Vec<OurCode>> {
    sqlx::query_as!(
        OurCode,
        r#"SELECT c.id, c.state AS "state: CodeState", c.provider_ref, c.valid_from, c.valid_until, c.booking_id,
               c.updated_at, b.external_ref AS "booking_ref?"
           FROM access_codes c LEFT JOIN bookings b ON b.id = c.booking_id
           WHERE c.lock_id = $1 AND (c.state <> 'removed' OR c.removed_at > now() - interval '30 days')"#,
        lock_id
    )
    .fetch_all(db)
    .await
}

/// What the lock shows of a code, as the drift decision reads it.
fn on_device(device: &DeviceCode) -> drift::OnDevice {
    drift::OnDevice {
        provider_ref: device.provider_ref.clone(),
        on_lock: matches!(device.status, DeviceCodeStatus::Set | DeviceCodeStatus::Scheduled),
        failed: match &device.status {
            DeviceCodeStatus::Failed(reason) => Some(reason.clone()),
            _ => None,
        },
        valid_from: device.valid_from,
        valid_until: device.valid_until,
    }
}

/// Compares what is on the lock with doorman's codes (SPEC §3.10): orphans
/// reported, missing codes programmed again, wrong windows updated, codes
/// that came back after their removal removed again; each drift audited.
#[tracing::instrument(skip_all, fields(%lock_id))]
pub async fn reconcile(db: &PgPool, providers: &Providers, lock_id: Uuid) -> Result<Reconciliation, ObserveError> {
    let lock = lock_row(db, lock_id).await?.ok_or(AccessError::NotFound { entity: "lock" })?;
    let provider = providers.get(lock.provider).map_err(|_| ObserveError::NotConfigured(lock.provider))?;
    let ours = our_codes(db, lock_id).await?;
    let listed = provider.list_codes(&lock.device()).await?;
    let mut report = Reconciliation { lock_id, on_device: listed.len(), ..Reconciliation::default() };
    let now = Utc::now();
    let mut tx = db.begin().await?;
    for code in &ours {
        let found = super::find_on_device(&listed, code.provider_ref.as_deref(), code.booking_ref.as_deref(), code.id);
        let decided = drift::drift(&code.view(), found.map(on_device).as_ref(), now);
        act_on(&mut tx, &lock, code, found, decided, &mut report).await?;
    }
    tx.commit().await?;
    report.codes = record_listing(db, lock_id, listed).await?;
    report.orphans = report.codes.iter().filter(|c| !c.managed).map(|c| c.provider_ref.clone()).collect();
    record_reconciled(db, &lock, &report).await?;
    Ok(report)
}

/// Applies one code's drift through the core's state changes, and notes it.
async fn act_on(
    tx: &mut PgConnection,
    lock: &LockRow,
    code: &OurCode,
    found: Option<&DeviceCode>,
    decided: Drift,
    report: &mut Reconciliation,
) -> Result<(), AccessError> {
    let guard = code.guard(lock.id);
    match decided {
        Drift::None => {}
        Drift::Missing => {
            if state::reprogram_missing(tx, &guard).await? {
                report.reprogrammed.push(code.id);
            }
        }
        Drift::FailedOnDevice(reason) => {
            if state::fail_on_device(tx, &guard, &reason).await? {
                let alert = StaffAlert::CodeFailedOnDevice { code_id: code.id, lock: lock.name.clone(), reason };
                alert_staff(tx, lock.property_id, alert).await?;
                report.failed_on_device.push(code.id);
            }
        }
        Drift::Window => {
            let details = json!({
                "on_lock": { "valid_from": found.and_then(|d| d.valid_from), "valid_until": found.and_then(|d| d.valid_until) },
                "expected": { "valid_from": code.valid_from, "valid_until": code.valid_until },
            });
            state::fix_window(tx, &guard, details).await?;
            report.window_fixed.push(code.id);
        }
        Drift::Landed(provider_ref) => {
            if state::mark_landed(tx, &guard, &provider_ref).await? {
                report.confirmed.push(code.id);
            }
        }
        Drift::Returned(provider_ref) => {
            if state::restart_removal(tx, &guard, &provider_ref).await? {
                report.removal_restarted.push(code.id);
            }
        }
    }
    Ok(())
}

/// The lock's reconciliation time and its audited summary.
async fn record_reconciled(db: &PgPool, lock: &LockRow, report: &Reconciliation) -> Result<(), AccessError> {
    let mut conn = db.acquire().await?;
    sqlx::query!("UPDATE locks SET reconciled_at = now() WHERE id = $1", lock.id).execute(&mut *conn).await?;
    let details = json!({
        "on_device": report.on_device,
        "orphans": report.orphans.len(),
        "reprogrammed": report.reprogrammed.len(),
        "window_fixed": report.window_fixed.len(),
        "confirmed": report.confirmed.len(),
        "removal_restarted": report.removal_restarted.len(),
        "failed_on_device": report.failed_on_device.len(),
    });
    let subject = Subject { property_id: Some(lock.property_id), lock_id: Some(lock.id), ..Default::default() };
    audit::record(&mut *conn, Actor::System, "lock.reconciled", subject, details).await?;
    if report.drifted() > 0 {
        let (lock_id, drift, orphans) = (lock.id, report.drifted(), report.orphans.len());
        tracing::warn!(%lock_id, drift, orphans, "lock reconciled: drift found");
    }
    Ok(())
}

/// `ReconcileLock`: one lock, on demand or as part of the nightly run.
pub async fn reconcile_job(ctx: &JobContext, lock_id: Uuid) -> Result<(), JobError> {
    match reconcile(&ctx.db, &ctx.providers, lock_id).await {
        Ok(_) => Ok(()),
        Err(ObserveError::Provider(e)) => Err(e.into()),
        Err(ObserveError::Access(e)) => Err(e.into()),
        Err(e @ ObserveError::NotConfigured(_)) => Err(JobError::Permanent(anyhow::Error::new(e))),
    }
}

/// `ReconcileLocks`: queues the reconciliation of every active lock, and
/// itself for the next night.
pub async fn reconcile_all(ctx: &JobContext) -> Result<(), JobError> {
    let mut tx = ctx.db.begin().await?;
    let now = Utc::now();
    for lock in active_locks(&ctx.db).await? {
        if ctx.providers.get(lock.provider).is_ok() {
            queue::enqueue(&mut tx, &ReconcileLock { lock_id: lock.id }, now).await?;
        }
    }
    queue::enqueue(&mut tx, &ReconcileLocks {}, next_nightly_run(now)).await?;
    tx.commit().await?;
    Ok(())
}

/// The next time the nightly reconciliation runs after `now`.
pub fn next_nightly_run(now: DateTime<Utc>) -> DateTime<Utc> {
    let today = now
        .with_hour(RECONCILE_HOUR_UTC)
        .and_then(|t| t.with_minute(0))
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(now);
    if today > now {
        today
    } else {
        today + Duration::days(1)
    }
}

// ----------------------------------------------------------------- usage

/// `CheckLockActivity`: asks every lock who opened it since last time.
pub async fn check_activity(ctx: &JobContext) -> Result<(), JobError> {
    for lock in active_locks(&ctx.db).await? {
        let Ok(provider) = ctx.providers.get(lock.provider) else { continue };
        let polled_at = Utc::now();
        let seen_until = sqlx::query_scalar!("SELECT activity_seen_until FROM locks WHERE id = $1", lock.id)
            .fetch_one(&ctx.db)
            .await?;
        let since = seen_until.map_or(polled_at - Duration::days(1), |t| t - ACTIVITY_OVERLAP);
        match provider.usage_since(&lock.device(), since).await {
            Ok(events) => {
                record_usage(&ctx.db, lock.id, &events).await?;
                sqlx::query!("UPDATE locks SET activity_seen_until = $2 WHERE id = $1", lock.id, polled_at)
                    .execute(&ctx.db)
                    .await?;
            }
            // Told once for the account: not a warning every ten minutes.
            Err(e @ crate::lock_providers::ProviderError::AccountDown { .. }) => {
                tracing::debug!(lock_id = %lock.id, error = %e, "a lock's activity is not read while its account is down")
            }
            // One lock that cannot be read does not stop the others.
            Err(e) => tracing::warn!(lock_id = %lock.id, error = %e, "reading a lock's activity"),
        }
    }
    let mut conn = ctx.db.acquire().await?;
    queue::enqueue(&mut conn, &CheckLockActivity {}, Utc::now() + ACTIVITY_EVERY).await?;
    Ok(())
}

/// Records unlocks with a code: `code.used` in the audit trail once per
/// provider event, and the first use of a guest's code marks the guest as
/// arrived. An unlock with a code doorman does not know is audited too.
/// Returns how many events were new.
pub async fn record_usage(db: &PgPool, lock_id: Uuid, events: &[UsageEvent]) -> Result<usize, AccessError> {
    let mut tx = db.begin().await?;
    let property_id =
        sqlx::query_scalar!("SELECT property_id FROM locks WHERE id = $1", lock_id).fetch_optional(&mut *tx).await?;
    let Some(property_id) = property_id else {
        return Ok(0);
    };
    let (denied, unlocks): (Vec<&UsageEvent>, Vec<&UsageEvent>) = events.iter().partition(|e| e.denied);
    let mut new = 0;
    for event in unlocks {
        let code = used_code(&mut tx, lock_id, event).await?;
        if !insert_event(&mut tx, lock_id, event, code.as_ref()).await? {
            continue;
        }
        new += 1;
        match code {
            Some(code) => record_code_use(&mut tx, property_id, lock_id, &code, event).await?,
            None => {
                let subject = Subject { property_id: Some(property_id), lock_id: Some(lock_id), ..Default::default() };
                let details = json!({ "provider_ref": event.provider_ref, "occurred_at": event.occurred_at });
                audit::record(&mut *tx, Actor::System, "lock.used_by_unknown_code", subject, details).await?;
            }
        }
    }
    // Refused entries (wrong codes) are counted by the core (SPEC §12),
    // after the unlocks: a guest who got in after them needs no help.
    let denials: Vec<Denial> = denied
        .iter()
        .map(|e| Denial {
            event_id: e.event_id.clone(),
            provider_ref: e.provider_ref.clone(),
            occurred_at: e.occurred_at,
        })
        .collect();
    new += record_denials(&mut tx, lock_id, &denials).await?;
    tx.commit().await?;
    Ok(new)
}

/// The code an unlock was made with, as doorman knows it.
struct UsedCode {
    id: Uuid,
    kind: CodeKind,
    booking_id: Option<Uuid>,
    state: CodeState,
}

/// doorman's code behind a provider event, by the provider's id.
async fn used_code(conn: &mut PgConnection, lock_id: Uuid, event: &UsageEvent) -> sqlx::Result<Option<UsedCode>> {
    let Some(provider_ref) = &event.provider_ref else {
        return Ok(None);
    };
    sqlx::query_as!(
        UsedCode,
        r#"SELECT id, kind AS "kind: CodeKind", booking_id, state AS "state: CodeState" FROM access_codes
           WHERE lock_id = $1 AND provider_ref = $2 ORDER BY created_at DESC LIMIT 1"#,
        lock_id,
        provider_ref
    )
    .fetch_optional(&mut *conn)
    .await
}

/// Stores a provider event once; whether it was new.
async fn insert_event(
    conn: &mut PgConnection,
    lock_id: Uuid,
    event: &UsageEvent,
    code: Option<&UsedCode>,
) -> sqlx::Result<bool> {
    let inserted = sqlx::query!(
        "INSERT INTO lock_events (lock_id, event_id, code_id, provider_ref, occurred_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT DO NOTHING",
        lock_id,
        event.event_id,
        code.map(|c| c.id),
        event.provider_ref,
        event.occurred_at
    )
    .execute(&mut *conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// `code.used`, an alert if nobody should have had the code, and the
/// guest's arrival on the first use of their code.
async fn record_code_use(
    conn: &mut PgConnection,
    property_id: Uuid,
    lock_id: Uuid,
    code: &UsedCode,
    event: &UsageEvent,
) -> Result<(), AccessError> {
    let subject =
        Subject { lock_id: Some(lock_id), code_id: Some(code.id), booking_id: code.booking_id, ..Default::default() };
    let details = json!({ "occurred_at": event.occurred_at, "event_id": event.event_id });
    audit::record(&mut *conn, Actor::System, "code.used", subject, details).await?;
    // A code nobody should have, or one that should be off the lock.
    let suspicious = match (code.kind, code.state) {
        (CodeKind::Backup, _) => Some(Suspicious::Backup),
        (_, CodeState::Removing | CodeState::Removed) => Some(Suspicious::Revoked),
        _ => None,
    };
    if let Some(what) = suspicious {
        let lock = sqlx::query_scalar!("SELECT name FROM locks WHERE id = $1", lock_id).fetch_one(&mut *conn).await?;
        let alert =
            StaffAlert::SuspiciousUse { lock_id, lock, event_id: event.event_id.clone(), what, at: event.occurred_at };
        alert_staff(conn, property_id, alert).await?;
    }
    if let (CodeKind::Guest, Some(booking_id)) = (code.kind, code.booking_id) {
        mark_arrived(conn, booking_id, subject, event.occurred_at).await?;
    }
    Ok(())
}

/// The first use of a guest's code: the guest has arrived.
async fn mark_arrived(
    conn: &mut PgConnection,
    booking_id: Uuid,
    subject: Subject,
    at: DateTime<Utc>,
) -> Result<(), AccessError> {
    let arrived =
        sqlx::query!("UPDATE bookings SET arrived_at = $2 WHERE id = $1 AND arrived_at IS NULL", booking_id, at)
            .execute(&mut *conn)
            .await?;
    if arrived.rows_affected() == 1 {
        audit::record(&mut *conn, Actor::System, "booking.arrived", subject, json!({ "arrived_at": at })).await?;
        // SPEC §12: a late arrival is told to staff where the property asks.
        crate::access::arrivals::on_arrival(conn, booking_id, at).await?;
        // Rules triggered by the arrival (SPEC §11) now have their time.
        let messages = crate::access::journey::schedule_for_booking(conn, booking_id, Utc::now()).await?;
        messages.enqueue(conn).await?;
    }
    Ok(())
}

// ------------------------------------------------------------ backup codes

/// `FillBackupPool`: keeps the lock's `backup_codes` backup codes on it.
pub async fn fill_backup_pool(ctx: &JobContext, lock_id: Uuid) -> Result<(), JobError> {
    let mut tx = ctx.db.begin().await?;
    let lock =
        sqlx::query!("SELECT property_id, name, backup_codes, status FROM locks WHERE id = $1 FOR UPDATE", lock_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(lock) = lock else {
        return Ok(());
    };
    if lock.status != "active" {
        return Ok(());
    }
    let have = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM access_codes
           WHERE lock_id = $1 AND kind = 'backup' AND state = ANY($2)"#,
        lock_id,
        CodeState::WORKING as &[CodeState]
    )
    .fetch_one(&mut *tx)
    .await?;
    let manual = ManualCode {
        kind: CodeKind::Backup,
        booking_ref: None,
        staff_id: None,
        valid_from: None,
        valid_until: None,
        label: Some("backup".into()),
    };
    for _ in have..i64::from(lock.backup_codes) {
        match create_manual_code(&mut tx, lock_id, &manual, Actor::System, Utc::now()).await {
            Ok(_) => {}
            Err(AccessError::LockFull { .. }) => {
                let alert = StaffAlert::BackupsDoNotFit { lock_id, lock: lock.name.clone() };
                alert_staff(&mut tx, lock.property_id, alert).await?;
                break;
            }
            Err(e) => return Err(e.into()),
        }
    }
    tx.commit().await?;
    Ok(())
}

/// A guest code that is not on its lock in time.
struct Unset {
    id: Uuid,
    lock_id: Uuid,
    booking_id: Option<Uuid>,
    provider_ref: Option<String>,
    valid_from: DateTime<Utc>,
    valid_until: Option<DateTime<Utc>>,
    provider: ProviderKind,
    device_id: String,
    lock: String,
    device_constraints: Option<serde_json::Value>,
}

/// Why a guest's code is replaced by a backup code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replace {
    /// It is not on the lock in time (`pending`, `programming`, `failed`).
    NotSetInTime,
    /// It is `set`, yet refused at the door again and again, even after it
    /// was sent to the guest again (SPEC §12).
    RefusedAtTheDoor,
}

impl Replace {
    /// The states a code replaced for this reason is in.
    fn states(self) -> &'static [CodeState] {
        match self {
            Self::NotSetInTime => CodeState::UNSET,
            Self::RefusedAtTheDoor => &[CodeState::Set],
        }
    }

    /// Why it is removed, for the audit trail.
    fn reason(self) -> &'static str {
        match self {
            Self::NotSetInTime => "replaced by a backup code: not on the lock in time",
            Self::RefusedAtTheDoor => "replaced by a backup code: refused at the door",
        }
    }
}

/// Gives the guest of `code_id` (a guest code not `set` in time) a backup
/// code for its lock: one doorman keeps on the lock, or one pulled from the
/// provider's pool. The unset code is removed. Returns the backup code's id,
/// or `None` when the lock has none.
pub async fn assign_backup(ctx: &JobContext, code_id: Uuid) -> Result<Option<Uuid>, JobError> {
    replace_with_backup(ctx, code_id, Replace::NotSetInTime).await
}

/// Replaces the guest code `code_id` with a backup code for its lock, as
/// [`assign_backup`] does, for the reason `why`; the code must be in one
/// of the states of that reason. The guest is sent the backup code; staff
/// are told here for [`Replace::NotSetInTime`], by the caller otherwise.
pub async fn replace_with_backup(ctx: &JobContext, code_id: Uuid, why: Replace) -> Result<Option<Uuid>, JobError> {
    let unset = sqlx::query_as!(
        Unset,
        r#"SELECT c.id, c.lock_id, c.booking_id, c.provider_ref, c.valid_from, c.valid_until,
               l.provider AS "provider: ProviderKind", l.provider_device_id AS device_id, l.name AS lock,
               l.device_constraints
           FROM access_codes c JOIN locks l ON l.id = c.lock_id
           WHERE c.id = $1 AND c.kind = 'guest' AND c.state = ANY($2)"#,
        code_id,
        why.states() as &[CodeState]
    )
    .fetch_optional(&ctx.db)
    .await?;
    let Some(unset) = unset else {
        return Ok(None);
    };
    if let Some(backup_id) = take_kept_backup(ctx, &unset, why).await? {
        return Ok(Some(backup_id));
    }
    let pool = unset
        .device_constraints
        .clone()
        .and_then(|c| serde_json::from_value::<DeviceConstraints>(c).ok())
        .is_some_and(|c| c.backup_pool);
    let Some(provider_ref) = unset.provider_ref.clone().filter(|_| pool) else {
        return Ok(None);
    };
    let provider = ctx.providers.get(unset.provider)?;
    let device = Device { lock_id: unset.lock_id, device_id: unset.device_id.clone() };
    match provider.pull_backup_code(&device, &provider_ref).await {
        Ok(Some(backup)) => {
            let taken = take_pulled_backup(ctx, &unset, &backup, why).await;
            if !matches!(taken, Ok(Some(_))) {
                // Not stored (the code landed meanwhile, or its value is in
                // use, or the database failed): a pulled backup must not stay
                // on the lock unknown to doorman.
                if let Err(e) = provider.remove_code(&device, &backup.provider_ref).await {
                    tracing::error!(%code_id, error = %e, "a pulled backup code could not be given back; reconciliation will report it");
                }
            }
            taken
        }
        Ok(None) => Ok(None),
        Err(e) => {
            tracing::warn!(%code_id, error = %e, "pulling a backup code");
            Ok(None)
        }
    }
}

/// Turns a backup code doorman keeps on the lock into the guest's code.
async fn take_kept_backup(ctx: &JobContext, unset: &Unset, why: Replace) -> Result<Option<Uuid>, JobError> {
    let mut tx = ctx.db.begin().await?;
    let backup = sqlx::query_scalar!(
        "SELECT id FROM access_codes WHERE lock_id = $1 AND kind = 'backup' AND state = 'set'
         ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED",
        unset.lock_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(backup_id) = backup else {
        return Ok(None);
    };
    if !retire(&mut tx, unset, why).await? {
        return Ok(None);
    }
    sqlx::query!(
        "UPDATE access_codes SET kind = 'guest', booking_id = $2, valid_from = $3, valid_until = $4, label = 'backup',
             updated_at = now()
         WHERE id = $1",
        backup_id,
        unset.booking_id,
        unset.valid_from,
        unset.valid_until
    )
    .execute(&mut *tx)
    .await?;
    let now = Utc::now();
    queue::enqueue(&mut tx, &UpdateCode { code_id: backup_id }, now).await?;
    if let Some(until) = unset.valid_until {
        queue::enqueue(&mut tx, &ExpireCode { code_id: backup_id }, until).await?;
    }
    queue::enqueue(&mut tx, &FillBackupPool { lock_id: unset.lock_id }, now).await?;
    assigned(&mut tx, unset, backup_id, "kept on the lock", why).await?;
    tx.commit().await?;
    Ok(Some(backup_id))
}

/// Stores a code pulled from the provider's backup pool as the guest's code.
async fn take_pulled_backup(
    ctx: &JobContext,
    unset: &Unset,
    backup: &BackupCode,
    why: Replace,
) -> Result<Option<Uuid>, JobError> {
    let mut tx = ctx.db.begin().await?;
    if !retire(&mut tx, unset, why).await? {
        return Ok(None);
    }
    // A pool code seen on the lock before it was pulled was an orphan; it
    // is doorman's now.
    sqlx::query!(
        "UPDATE device_codes SET managed = true WHERE lock_id = $1 AND provider_ref = $2",
        unset.lock_id,
        backup.provider_ref
    )
    .execute(&mut *tx)
    .await?;
    let inserted = sqlx::query_scalar!(
        "INSERT INTO access_codes (lock_id, code, kind, booking_id, label, valid_from, valid_until, state, provider_ref,
             set_at, created_by)
         VALUES ($1, $2, 'guest', $3, 'backup', $4, $5, 'set', $6, now(), 'system')
         RETURNING id",
        unset.lock_id,
        backup.code,
        unset.booking_id,
        unset.valid_from,
        unset.valid_until,
        backup.provider_ref
    )
    .fetch_one(&mut *tx)
    .await;
    let backup_id = match inserted {
        Ok(id) => id,
        Err(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()) => {
            tracing::warn!(lock_id = %unset.lock_id, "the pulled backup code's value is already in use on this lock");
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(until) = unset.valid_until {
        queue::enqueue(&mut tx, &ExpireCode { code_id: backup_id }, until).await?;
    }
    assigned(&mut tx, unset, backup_id, "from the provider's pool", why).await?;
    tx.commit().await?;
    Ok(Some(backup_id))
}

/// Starts removing the code being replaced; `false` when its state changed
/// meanwhile (it got on the lock after all: nothing to replace).
async fn retire(tx: &mut PgConnection, unset: &Unset, why: Replace) -> Result<bool, JobError> {
    let state = sqlx::query_scalar!(
        r#"SELECT state AS "state: CodeState" FROM access_codes WHERE id = $1 FOR UPDATE"#,
        unset.id
    )
    .fetch_one(&mut *tx)
    .await?;
    if !why.states().contains(&state) {
        return Ok(false);
    }
    begin_removal(&mut *tx, unset.id, Actor::System, why.reason()).await?;
    Ok(true)
}

/// Audits the swap, sends the guest their codes again and tells staff.
async fn assigned(
    tx: &mut PgConnection,
    unset: &Unset,
    backup_id: Uuid,
    source: &str,
    why: Replace,
) -> Result<(), JobError> {
    let subject = Subject {
        lock_id: Some(unset.lock_id),
        code_id: Some(backup_id),
        booking_id: unset.booking_id,
        ..Default::default()
    };
    let details = json!({ "replaces": unset.id, "source": source });
    audit::record(&mut *tx, Actor::System, "code.backup_assigned", subject, details).await?;
    let Some(booking_id) = unset.booking_id else {
        return Ok(());
    };
    let deliver = DeliverCodes { booking_id, key: format!("backup:{backup_id}") };
    queue::enqueue(&mut *tx, &deliver, Utc::now()).await?;
    if why != Replace::NotSetInTime {
        return Ok(());
    }
    let row = sqlx::query!(
        "SELECT b.external_ref, b.property_id, g.name AS guest, c.code FROM bookings b JOIN guests g ON g.id = b.guest_id
         JOIN access_codes c ON c.id = $2 WHERE b.id = $1",
        booking_id,
        backup_id
    )
    .fetch_one(&mut *tx)
    .await?;
    let alert = StaffAlert::BackupGiven {
        code_id: unset.id,
        guest: row.guest,
        reference: row.external_ref,
        lock: unset.lock.clone(),
        masked: mask(&row.code),
        source: source.to_owned(),
    };
    alert_staff(&mut *tx, row.property_id, alert).await?;
    Ok(())
}

/// Every lock's online state and battery; alerts staff, runs again later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckLocks {}

impl Job for CheckLocks {
    const KIND: &'static str = "check_locks";

    fn dedupe_key(&self) -> Option<String> {
        Some(Self::KIND.to_owned())
    }
}

/// A recurring lock job must not stop for good: the next round is queued
/// as usual.
async fn run_again_later<J: Job>(conn: &mut PgConnection, job: &J, error: &JobError) -> Result<(), JobError> {
    tracing::error!(job = J::KIND, error = %error, "a recurring lock job died; it runs again later");
    queue::enqueue(conn, job, Utc::now() + Duration::minutes(30)).await?;
    Ok(())
}

impl Run<JobContext> for CheckLocks {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        check_locks(ctx).await
    }

    async fn on_dead(&self, _: &JobContext, conn: &mut PgConnection, error: &JobError) -> Result<(), JobError> {
        run_again_later(conn, self, error).await
    }
}

/// Who opened each lock with which code; runs again later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckLockActivity {}

impl Job for CheckLockActivity {
    const KIND: &'static str = "check_lock_activity";

    fn dedupe_key(&self) -> Option<String> {
        Some(Self::KIND.to_owned())
    }
}

impl Run<JobContext> for CheckLockActivity {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        check_activity(ctx).await
    }

    async fn on_dead(&self, _: &JobContext, conn: &mut PgConnection, error: &JobError) -> Result<(), JobError> {
        run_again_later(conn, self, error).await
    }
}

/// Compare what is on one lock with doorman's codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileLock {
    /// The lock.
    pub lock_id: Uuid,
}

impl Job for ReconcileLock {
    const KIND: &'static str = "reconcile_lock";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.lock_id))
    }
}

impl Run<JobContext> for ReconcileLock {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        reconcile_job(ctx, self.lock_id).await
    }
}

/// Every night: queue the reconciliation of every lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileLocks {}

impl Job for ReconcileLocks {
    const KIND: &'static str = "reconcile_locks";

    fn dedupe_key(&self) -> Option<String> {
        Some(Self::KIND.to_owned())
    }
}

impl Run<JobContext> for ReconcileLocks {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        reconcile_all(ctx).await
    }

    async fn on_dead(&self, _: &JobContext, conn: &mut PgConnection, error: &JobError) -> Result<(), JobError> {
        tracing::error!(error = %error, "the nightly reconciliation died; it runs again tomorrow");
        queue::enqueue(conn, self, next_nightly_run(Utc::now())).await?;
        Ok(())
    }
}

/// Keep the lock's backup codes on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FillBackupPool {
    /// The lock.
    pub lock_id: Uuid,
}

impl Job for FillBackupPool {
    const KIND: &'static str = "fill_backup_pool";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.lock_id))
    }
}

impl Run<JobContext> for FillBackupPool {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        fill_backup_pool(ctx, self.lock_id).await
    }
}

/// Asks the provider of a lock about to be registered about its device: a
/// device the provider does not know is refused now rather than failing
/// every code later; an unreachable one is registered all the same (no
/// status). Simulated locks are not asked.
pub async fn check_new_device(
    providers: &crate::lock_providers::Providers,
    new: &crate::access::locks::NewLock,
) -> Result<Option<DeviceStatus>, crate::access::AccessError> {
    use crate::lock_providers::{Device, ProviderError};
    if new.provider == crate::access::model::ProviderKind::Simulated {
        return Ok(None);
    }
    let Ok(provider) = providers.get(new.provider) else {
        return Ok(None);
    };
    let device = Device { lock_id: Uuid::nil(), device_id: new.provider_device_id.clone() };
    match provider.device_status(&device).await {
        Ok(reported) => Ok(Some(reported)),
        Err(ProviderError::Permanent(reason)) => {
            Err(crate::access::AccessError::invalid("provider_device_id", format!("the provider refused it: {reason}")))
        }
        Err(e) => {
            tracing::warn!(error = %e, "a new lock could not be reached; registering it anyway");
            Ok(None)
        }
    }
}

/// Registers a lock checked by [`check_new_device`]: stores it with the
/// status its provider reported, and queues the filling of its backup
/// codes. The lock as stored.
pub async fn store_new_lock(
    conn: &mut PgConnection,
    new: &crate::access::locks::NewLock,
    status: Option<&DeviceStatus>,
) -> Result<crate::access::locks::Lock, crate::access::AccessError> {
    use crate::access::locks;
    let lock = locks::create_lock(&mut *conn, new).await?;
    if let Some(status) = status {
        store_status(&mut *conn, lock.id, status).await?;
    }
    if lock.backup_codes > 0 {
        crate::jobs::queue::enqueue(&mut *conn, &super::FillBackupPool { lock_id: lock.id }, chrono::Utc::now())
            .await?;
    }
    locks::get_lock(&mut *conn, lock.id).await
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn the_nightly_run_is_the_next_three_o_clock() {
        let evening = Utc.with_ymd_and_hms(2026, 11, 21, 22, 15, 0).unwrap();
        assert_eq!(next_nightly_run(evening), Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap());
        let night = Utc.with_ymd_and_hms(2026, 11, 22, 1, 0, 0).unwrap();
        assert_eq!(next_nightly_run(night), Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap());
        let on_the_hour = Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap();
        assert_eq!(next_nightly_run(on_the_hour), Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap());
    }
}
