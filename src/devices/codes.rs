//! Carrying codes to and from the locks. A code is `set` only once the
//! provider shows it on the device, and `removed` only once the device no
//! longer shows it (SPEC §3.5, §3.7). No row lock is held across a call.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::access::alerts::{alert_staff, FailedStep, StaffAlert};
use crate::access::audit::{self, Actor, Subject};
use crate::access::codes::state::{self, begin_removal};
use crate::access::jobs::{ConfirmCode, ExpireCode, ProgramCode, RemoveCode, RemoveDeviceCode, UpdateCode};
use crate::access::model::{CodeState, ProviderKind};
use crate::context::JobContext;
use crate::jobs::{queue, JobError, Run};
use crate::lock_providers::{CodeRequest, Created, Device, DeviceCode, DeviceCodeStatus, LockProvider, ProviderError};

/// How long after an accepted create the first confirmation poll runs.
const FIRST_POLL_DELAY: chrono::Duration = chrono::Duration::seconds(2);
/// How long an accepted code may take to land on a lock: until then, a code
/// missing from the device is not yet believed gone.
const LANDING_WINDOW: chrono::Duration = chrono::Duration::hours(2);
/// After a removal job died, when it is tried again (for ever, with one
/// alert): a code that may still open a door is never given up on.
const REMOVAL_RETRY_AFTER: chrono::Duration = chrono::Duration::hours(1);

/// A code with what a provider needs to reach its lock.
struct CodeOnLock {
    id: Uuid,
    lock_id: Uuid,
    booking_id: Option<Uuid>,
    booking_ref: Option<String>,
    provider: ProviderKind,
    device_id: String,
    code: String,
    state: CodeState,
    valid_from: DateTime<Utc>,
    valid_until: Option<DateTime<Utc>>,
    provider_ref: Option<String>,
    sent_at: Option<DateTime<Utc>>,
}

impl CodeOnLock {
    fn device(&self) -> Device {
        Device { lock_id: self.lock_id, device_id: self.device_id.clone() }
    }

    fn request(&self) -> CodeRequest {
        CodeRequest {
            code_id: self.id,
            name: code_name(self.booking_ref.as_deref(), self.id),
            code: self.code.clone(),
            valid_from: self.valid_from,
            valid_until: self.valid_until,
        }
    }

    /// This code among what the device reports: by the provider's id, or by
    /// the unique name doorman gave it.
    fn find_in<'a>(&self, listed: &'a [DeviceCode]) -> Option<&'a DeviceCode> {
        find_on_device(listed, self.provider_ref.as_deref(), self.booking_ref.as_deref(), self.id)
    }

    fn subject(&self) -> Subject {
        Subject {
            lock_id: Some(self.lock_id),
            code_id: Some(self.id),
            booking_id: self.booking_id,
            ..Default::default()
        }
    }
}

/// doorman's code `code_id` among what a device reports: by the provider's
/// id, or by the unique name doorman gave it.
pub(crate) fn find_on_device<'a>(
    listed: &'a [DeviceCode],
    provider_ref: Option<&str>,
    booking_ref: Option<&str>,
    code_id: Uuid,
) -> Option<&'a DeviceCode> {
    let name = code_name(booking_ref, code_id);
    listed
        .iter()
        .find(|d| provider_ref == Some(d.provider_ref.as_str()))
        .or_else(|| listed.iter().find(|d| d.name == name))
}

/// The name a code carries on the device: unique, at most 20 characters,
/// with the booking reference when there is one (`BK-10234-1a2b3c4d`).
pub fn code_name(booking_ref: Option<&str>, code_id: Uuid) -> String {
    let short = &code_id.simple().to_string()[..8];
    match booking_ref {
        Some(reference) => format!("{}-{short}", reference.chars().take(11).collect::<String>()),
        None => format!("doorman-{short}"),
    }
}

/// `ProgramCode`: sends a pending code to its lock.
pub async fn program(ctx: &JobContext, code_id: Uuid) -> Result<(), JobError> {
    if !state::start_programming(&mut *ctx.db.acquire().await?, code_id).await? {
        return Ok(());
    }
    let code = load(ctx, code_id).await?;
    let provider = ctx.providers.get(code.provider).map_err(JobError::from)?;
    match provider.create_code(&code.device(), &code.request()).await {
        Ok(Created::Set { provider_ref }) => mark_set(ctx, &code, &provider_ref).await,
        Ok(Created::Accepted { provider_ref }) => {
            let mut tx = ctx.db.begin().await?;
            let first_poll = Utc::now() + FIRST_POLL_DELAY;
            state::await_confirmation(&mut tx, code_id, provider_ref.as_deref(), first_poll).await?;
            tx.commit().await?;
            Ok(())
        }
        Err(e) => Err(note_error(ctx, code_id, e).await),
    }
}

/// `ConfirmCode`: polls until an accepted code shows on the device.
pub async fn confirm(ctx: &JobContext, code_id: Uuid) -> Result<(), JobError> {
    let code = load(ctx, code_id).await?;
    if code.state != CodeState::Programming {
        return Ok(());
    }
    let provider = ctx.providers.get(code.provider).map_err(JobError::from)?;
    let listed = match provider.list_codes(&code.device()).await {
        Ok(listed) => listed,
        Err(e) => return Err(note_error(ctx, code_id, e).await),
    };
    // A create retried after a lost answer may have left a second copy that
    // the lock refused as a duplicate: the one that is on the lock wins.
    let name = code_name(code.booking_ref.as_deref(), code.id);
    let found = match code.find_in(&listed) {
        Some(DeviceCode { status: DeviceCodeStatus::Failed(_), .. }) => listed
            .iter()
            .find(|d| d.name == name && matches!(d.status, DeviceCodeStatus::Set | DeviceCodeStatus::Scheduled))
            .or(code.find_in(&listed)),
        found => found,
    };
    match found {
        Some(DeviceCode { status: DeviceCodeStatus::Set | DeviceCodeStatus::Scheduled, provider_ref, .. }) => {
            mark_set(ctx, &code, &provider_ref.clone()).await
        }
        Some(DeviceCode { status: DeviceCodeStatus::Failed(reason), .. }) => {
            let error = ProviderError::Permanent(format!("the provider could not put the code on the lock: {reason}"));
            Err(note_error(ctx, code_id, error).await)
        }
        Some(_) => Err(JobError::retry("the provider is still putting the code on the lock")),
        None => Err(JobError::retry("accepted by the provider, not on the lock yet")),
    }
}

/// `UpdateCode`: moves a code's window on its lock.
pub async fn update(ctx: &JobContext, code_id: Uuid) -> Result<(), JobError> {
    let code = load(ctx, code_id).await?;
    match (code.state, &code.provider_ref) {
        (CodeState::Programming, _) => Err(JobError::retry("waiting until the code is on the lock")),
        (CodeState::Set, Some(provider_ref)) => {
            let provider = ctx.providers.get(code.provider).map_err(JobError::from)?;
            match provider.update_code(&code.device(), provider_ref, &code.request()).await {
                Ok(()) => {
                    let mut conn = ctx.db.acquire().await?;
                    let details = json!({ "valid_from": code.valid_from, "valid_until": code.valid_until });
                    audit::record(&mut *conn, Actor::System, "code.window_updated_on_lock", code.subject(), details)
                        .await?;
                    Ok(())
                }
                Err(e) => Err(note_error(ctx, code_id, e).await),
            }
        }
        // Pending codes are programmed with their current window; codes on
        // their way out need no new one.
        _ => Ok(()),
    }
}

/// `RemoveCode`: asks the device to drop the code, and counts it removed
/// only when the device no longer shows it.
pub async fn remove(ctx: &JobContext, code_id: Uuid) -> Result<(), JobError> {
    let code = load(ctx, code_id).await?;
    if code.state != CodeState::Removing {
        return Ok(());
    }
    let provider = ctx.providers.get(code.provider).map_err(JobError::from)?;
    let device = code.device();
    let listed = match provider.list_codes(&device).await {
        Ok(listed) => listed,
        Err(e) => return Err(note_error(ctx, code_id, e).await),
    };
    let Some(found) = code.find_in(&listed) else {
        return removed_unless_landing(ctx, provider.as_ref(), &code).await;
    };
    if found.status == DeviceCodeStatus::Removing {
        return Err(JobError::retry("the provider is taking the code off the lock"));
    }
    if let Err(e) = provider.remove_code(&device, &found.provider_ref).await {
        return Err(note_error(ctx, code_id, e).await);
    }
    if gone(provider.as_ref(), &device, &code).await {
        return mark_removed(ctx, &code).await;
    }
    Err(JobError::retry("removal requested; the lock still shows the code"))
}

/// The device does not show the code. One the provider accepted may still
/// land: drop it by its id if it has one, otherwise wait out the landing
/// window before believing the lock never got it.
async fn removed_unless_landing(
    ctx: &JobContext,
    provider: &dyn LockProvider,
    code: &CodeOnLock,
) -> Result<(), JobError> {
    if let Some(provider_ref) = &code.provider_ref {
        if let Err(e) = provider.remove_code(&code.device(), provider_ref).await {
            return Err(note_error(ctx, code.id, e).await);
        }
        // An accepted removal is not a removal: believe the listing. (With
        // its id, the provider drops even a code it has not applied yet.)
        if gone(provider, &code.device(), code).await {
            return mark_removed(ctx, code).await;
        }
        return Err(JobError::retry("removal requested; waiting until the lock confirms it"));
    }
    match code.sent_at {
        Some(sent) if Utc::now() - sent < LANDING_WINDOW => {
            // One look when the window has passed, not a backoff that runs
            // out of attempts first.
            let wait =
                (sent + LANDING_WINDOW - Utc::now()).to_std().unwrap_or_default() + std::time::Duration::from_secs(1);
            Err(JobError::retry_after("the provider accepted the code recently; waiting to see whether it lands", wait))
        }
        _ => mark_removed(ctx, code).await,
    }
}

/// `RemoveDeviceCode`: takes a code doorman did not set off a lock, after
/// staff confirmed it (`/audit`), and checks it is gone.
pub async fn remove_device_code(ctx: &JobContext, lock_id: Uuid, provider_ref: &str) -> Result<(), JobError> {
    let lock = crate::access::locks::get_lock(&ctx.db, lock_id).await?;
    let provider = ctx.providers.get(lock.provider).map_err(JobError::from)?;
    let device = Device { lock_id, device_id: lock.provider_device_id };
    provider.remove_code(&device, provider_ref).await.map_err(JobError::from)?;
    let listed = provider.list_codes(&device).await.map_err(JobError::from)?;
    if listed.iter().any(|c| c.provider_ref == provider_ref) {
        return Err(JobError::retry("removal requested; the lock still shows the code"));
    }
    let mut tx = ctx.db.begin().await?;
    sqlx::query!("DELETE FROM device_codes WHERE lock_id = $1 AND provider_ref = $2", lock_id, provider_ref)
        .execute(&mut *tx)
        .await?;
    let subject = Subject { property_id: Some(lock.property_id), lock_id: Some(lock_id), ..Default::default() };
    audit::record(&mut *tx, Actor::System, "lock.orphan_removed", subject, json!({ "provider_ref": provider_ref }))
        .await?;
    tx.commit().await?;
    Ok(())
}

/// `ExpireCode`: at the end of a code's validity, starts its removal; if the
/// window moved later, waits for the new end.
pub async fn expire(ctx: &JobContext, code_id: Uuid) -> Result<(), JobError> {
    let mut tx = ctx.db.begin().await?;
    let row = sqlx::query!(
        r#"SELECT state AS "state: CodeState", valid_until FROM access_codes WHERE id = $1 FOR UPDATE"#,
        code_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(());
    };
    match (row.state, row.valid_until) {
        (CodeState::Removing | CodeState::Removed, _) | (_, None) => return Ok(()),
        (_, Some(until)) if until > Utc::now() => {
            queue::enqueue(&mut tx, &ExpireCode { code_id }, until).await?;
        }
        _ => {
            begin_removal(&mut tx, code_id, Actor::System, "validity ended (check-out)").await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// A programming job died: the code is `failed`, audited; staff are told.
pub async fn gave_up_programming(conn: &mut PgConnection, code_id: Uuid, error: &str) -> Result<(), JobError> {
    let action = if state::mark_failed(conn, code_id, error).await? {
        "code.failed"
    } else {
        let subject = Subject { code_id: Some(code_id), ..Default::default() };
        audit::record(&mut *conn, Actor::System, "code.update_failed", subject, json!({ "error": error })).await?;
        "code.update_failed"
    };
    tracing::error!(%code_id, error, "{action}: staff attention needed");
    let step = if action == "code.failed" { FailedStep::Program } else { FailedStep::Reprogram };
    alert_about_code(conn, code_id, step, error).await
}

/// Tells the staff of the code's property, once per problem.
async fn alert_about_code(
    conn: &mut PgConnection,
    code_id: Uuid,
    step: FailedStep,
    error: &str,
) -> Result<(), JobError> {
    let row = sqlx::query!(
        r#"SELECT l.property_id, l.name AS lock, c.code, c.kind, b.external_ref AS "booking?"
           FROM access_codes c JOIN locks l ON l.id = c.lock_id LEFT JOIN bookings b ON b.id = c.booking_id
           WHERE c.id = $1"#,
        code_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(());
    };
    let alert = StaffAlert::CodeJobFailed {
        code_id,
        step,
        kind: row.kind,
        masked: crate::access::codes::mask(&row.code),
        booking: row.booking,
        lock: row.lock,
        error: error.to_owned(),
    };
    alert_staff(conn, row.property_id, alert).await?;
    Ok(())
}

/// A removal job died: the code stays `removing` (it may still be on the
/// lock), the failure is audited and staff are told.
pub async fn gave_up_removing(conn: &mut PgConnection, code_id: Uuid, error: &str) -> Result<(), JobError> {
    let subject = crate::access::codes::note_error(&mut *conn, code_id, error).await?;
    audit::record(&mut *conn, Actor::System, "code.removal_failed", subject, json!({ "error": error })).await?;
    tracing::error!(%code_id, error, "a code could not be removed from its lock: staff attention needed");
    alert_about_code(conn, code_id, FailedStep::Remove, error).await?;
    queue::enqueue(conn, &RemoveCode { code_id }, Utc::now() + REMOVAL_RETRY_AFTER).await?;
    Ok(())
}

/// An update of a code's window died: the code keeps its state (it may be
/// on the lock with its old window); staff are told.
pub async fn gave_up_updating(conn: &mut PgConnection, code_id: Uuid, error: &str) -> Result<(), JobError> {
    let subject = Subject { code_id: Some(code_id), ..Default::default() };
    audit::record(&mut *conn, Actor::System, "code.update_failed", subject, json!({ "error": error })).await?;
    alert_about_code(conn, code_id, FailedStep::Update, error).await
}

async fn load(ctx: &JobContext, code_id: Uuid) -> Result<CodeOnLock, JobError> {
    sqlx::query_as!(
        CodeOnLock,
        r#"SELECT c.id, c.lock_id, c.booking_id, b.external_ref AS "booking_ref?", l.provider AS "provider: ProviderKind",
               l.provider_device_id AS device_id, c.code, c.state AS "state: CodeState", c.valid_from, c.valid_until,
               c.provider_ref, c.sent_at
           FROM access_codes c
           JOIN locks l ON l.id = c.lock_id
           LEFT JOIN bookings b ON b.id = c.booking_id
           WHERE c.id = $1"#,
        code_id
    )
    .fetch_optional(&ctx.db)
    .await?
    .ok_or_else(|| JobError::permanent(format!("code {code_id} no longer exists")))
}

/// `programming` → `set`. When the code was revoked while it was being
/// programmed, it has just landed on the lock: its removal starts again.
async fn mark_set(ctx: &JobContext, code: &CodeOnLock, provider_ref: &str) -> Result<(), JobError> {
    let mut tx = ctx.db.begin().await?;
    if !state::mark_set(&mut tx, code.id, code.subject(), provider_ref).await? {
        state::restart_revoked_removal(&mut tx, code.id, code.subject(), provider_ref).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn mark_removed(ctx: &JobContext, code: &CodeOnLock) -> Result<(), JobError> {
    let mut tx = ctx.db.begin().await?;
    state::mark_removed(&mut tx, code.id, code.subject()).await?;
    tx.commit().await?;
    Ok(())
}

async fn gone(provider: &dyn LockProvider, device: &Device, code: &CodeOnLock) -> bool {
    match provider.list_codes(device).await {
        Ok(listed) => code.find_in(&listed).is_none(),
        Err(_) => false,
    }
}

/// Keeps the provider's message on the code, and maps its class.
async fn note_error(ctx: &JobContext, code_id: Uuid, error: ProviderError) -> JobError {
    let noted = match ctx.db.acquire().await {
        Ok(mut conn) => crate::access::codes::note_error(&mut conn, code_id, &error.to_string()).await.map(drop),
        Err(e) => Err(e.into()),
    };
    if let Err(e) = noted {
        tracing::warn!(error = %e, "recording a provider error");
    }
    if matches!(error, ProviderError::Retryable(_)) {
        if let Err(e) = alert_if_unreachable(ctx, code_id, &error).await {
            tracing::warn!(error = %e, "telling staff about an unreachable lock");
        }
    }
    JobError::from(error)
}

/// How long a job for a lock of an account that does not work waits
/// before it looks again, if the account's return does not wake it first.
const ACCOUNT_WAIT: std::time::Duration = std::time::Duration::from_secs(3600);

/// Failed calls in a row after which staff hear that a lock cannot be
/// reached, without waiting for the next lock check or the check-in
/// deadline.
const UNREACHABLE_ALERT_AFTER: u32 = 3;

/// Tells staff (once a day per lock, the same alert as the lock check's)
/// that the lock of `code_id` keeps failing.
async fn alert_if_unreachable(ctx: &JobContext, code_id: Uuid, error: &ProviderError) -> Result<(), JobError> {
    let lock = sqlx::query!(
        "SELECT l.id, l.name, l.property_id FROM access_codes c JOIN locks l ON l.id = c.lock_id WHERE c.id = $1",
        code_id
    )
    .fetch_one(&ctx.db)
    .await?;
    if ctx.providers.breakers().failures(lock.id) < UNREACHABLE_ALERT_AFTER {
        return Ok(());
    }
    let alert = StaffAlert::LockUnreachable {
        lock_id: lock.id,
        lock: lock.name,
        day: Utc::now().date_naive(),
        error: error.to_string(),
        codes_waiting: true,
    };
    let mut tx = ctx.db.begin().await?;
    alert_staff(&mut tx, lock.property_id, alert).await?;
    tx.commit().await?;
    Ok(())
}

impl From<ProviderError> for JobError {
    fn from(error: ProviderError) -> Self {
        match error {
            ProviderError::Retryable(_) => Self::Retry(error.into()),
            ProviderError::RateLimited { retry_after, .. } => Self::RetryAfter(error.into(), retry_after),
            ProviderError::Permanent(_) | ProviderError::Unauthorized(_) => Self::Permanent(error.into()),
            ProviderError::AccountDown { ref account, .. } => {
                let account = account.clone();
                Self::Wait(error.into(), account, ACCOUNT_WAIT)
            }
        }
    }
}

impl Run<JobContext> for RemoveDeviceCode {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        remove_device_code(ctx, self.lock_id, &self.provider_ref).await
    }
}

impl Run<JobContext> for ProgramCode {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        program(ctx, self.code_id).await
    }

    async fn on_dead(&self, _: &JobContext, conn: &mut PgConnection, error: &JobError) -> Result<(), JobError> {
        gave_up_programming(conn, self.code_id, &format!("{error:#}")).await
    }
}

impl Run<JobContext> for ConfirmCode {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        confirm(ctx, self.code_id).await
    }

    async fn on_dead(&self, _: &JobContext, conn: &mut PgConnection, error: &JobError) -> Result<(), JobError> {
        gave_up_programming(conn, self.code_id, &format!("{error:#}")).await
    }
}

impl Run<JobContext> for UpdateCode {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        update(ctx, self.code_id).await
    }

    async fn on_dead(&self, _: &JobContext, conn: &mut PgConnection, error: &JobError) -> Result<(), JobError> {
        gave_up_updating(conn, self.code_id, &format!("{error:#}")).await
    }
}

impl Run<JobContext> for RemoveCode {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        remove(ctx, self.code_id).await
    }

    async fn on_dead(&self, _: &JobContext, conn: &mut PgConnection, error: &JobError) -> Result<(), JobError> {
        gave_up_removing(conn, self.code_id, &format!("{error:#}")).await
    }
}

impl Run<JobContext> for ExpireCode {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        expire(ctx, self.code_id).await
    }

    async fn on_dead(&self, _: &JobContext, conn: &mut PgConnection, error: &JobError) -> Result<(), JobError> {
        gave_up_removing(conn, self.code_id, &format!("{error:#}")).await
    }
}
