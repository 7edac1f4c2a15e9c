//! What happens on the physical locks, as jobs: putting codes on locks and
//! taking them off (`codes`), the lock checks, the nightly reconciliation,
//! the unlock log and the backup pools (`locks`), and what a device listing
//! tells doorman (`observe`), and the devices a provider account holds
//! (`discovery`), and a backup code for a guest whose code is refused at
//! the door (`wrong_codes`). The state changes themselves belong to
//! `access`; this folder calls the providers and then the core.

pub mod accounts;
pub mod codes;
pub mod discovery;
pub mod events;
pub mod locks;
pub mod observe;
pub mod readiness;
pub mod wrong_codes;

pub use codes::code_name;
pub(crate) use codes::find_on_device;
pub use locks::{CheckLockActivity, CheckLocks, FillBackupPool, ReconcileLock, ReconcileLocks};
