//! # vault-core
//!
//! The embeddable vault: one storage contract ([`store::Store`]), envelope encryption of every
//! record ([`crypto`]), and the families built on them — encrypted, versioned
//! [`credentials`], versioned strategy [`configs`] with compare-and-set and history, and the
//! [`constructs`] of a chat app's AI personas (capsules, identity files, transcripts). Every
//! operation passes one choke point ([`context`]) that sees who is calling. Adapters
//! (`vault-http`, `vault-client`, `vault-py`, `vault-node`) are thin layers over [`VaultApi`].
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use vault_core::prelude::*;
//! use vault_core::{CredentialPut, Vault, crypto::{KeyMaterial, RootKeySource}, store::MemoryStore};
//!
//! let vault = Vault::builder()
//!     .store(Arc::new(MemoryStore::new()))
//!     .key(RootKeySource::Key(KeyMaterial::generate()?))
//!     .open()
//!     .await?;
//! let (service, key) = ("fxshinobi".parse()?, "OANDA_API_KEY".parse()?);
//! vault.credentials().put(CredentialPut::new(service, key, "abc123")).await?;
//! let cred = vault.credentials().get(&"OANDA_API_KEY".parse()?, None).await?;
//! assert_eq!(cred.value.expose_secret(), "abc123");
//! assert_eq!(format!("{:?}", cred.value), "[REDACTED]");
//! # Ok::<(), vault_core::Error>(())
//! # }).unwrap();
//! ```

pub mod api;
pub mod audit;
pub mod clock;
pub mod configs;
pub mod constructs;
pub mod context;
pub mod credentials;
pub mod crypto;
pub mod data_dir;
pub mod error;
pub mod guards;
pub mod inference;
pub mod jobs;
mod locks;
pub mod names;
pub mod page;
mod records;
pub mod store;
pub mod tokens;
pub mod vault;

pub use api::{Action, Health, HealthStatus, JsonObject, MAX_JSON_DEPTH, VaultApi, VaultHandle};
pub use audit::{AuditApi, AuditEntry, AuditFilter, AuditQuery, VerifyReport};
pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use configs::{
    ChangeOp, ChangedBy, ConfigChange, ConfigDiff, ConfigHistory, ConfigPut, ConfigRollback,
    ConfigSettings, ConfigWatch, ConfigWritten, ConfigsApi, StrategyConfig, WatchedChange,
};
pub use constructs::{
    Capsule, CapsuleWritten, ConstructExport, ConstructFile, ConstructSummary, ConstructsApi,
    EntryAppended, ExportedCapsule, ExportedFile, FileDeleted, FileInfo, FileWritten, ImportReport,
    NewEntry, Order, TranscriptEntry, TranscriptPage, TranscriptQuery,
};
pub use context::{Caller, Capability, Operation, Origin};
pub use credentials::{
    Charset, Credential, CredentialDeleted, CredentialInfo, CredentialPut, CredentialSettings,
    CredentialVersions, CredentialWritten, CredentialsApi, GeneratePolicy, RotateEvery,
    VersionInfo, VersionOp, VersionState,
};
pub use error::{Error, ErrorCode, Result};
pub use guards::{
    Decision, DecisionOutcome, DecisionRecord, Execution, ExecutionState, ExecutionUpdate,
    GuardPolicy, Guards, GuardsApi, OverrideCreate, OverrideRecord, PolicyPut, PolicyRecord,
    PolicyWritten, Proposal, ProposalOrigin, ProposalRecord, ProposalState, Side, StateChange,
    StateRecord, TradingState, Violation,
};
pub use jobs::{
    Job, JobClaim, JobCreate, JobCreated, JobLease, JobOutcome, JobRelease, JobState, JobsApi,
    SweepReport,
};
pub use names::{
    AccountId, ConstructId, CredentialKey, FileName, InstanceId, JobId, ServiceName, StrategyId,
};
pub use page::{Page, PageRequest, Unreadable};
pub use tokens::{
    LlmLimits, Policy, Rule, TokenCreate, TokenCreated, TokenInfo, TokenRevoked, TokensApi,
};
pub use vault::{Vault, VaultBuilder};

/// The traits a caller needs in scope to use a vault: `use vault_core::prelude::*;`.
pub mod prelude {
    pub use crate::api::VaultApi;
    pub use crate::audit::AuditApi;
    pub use crate::configs::ConfigsApi;
    pub use crate::constructs::ConstructsApi;
    pub use crate::credentials::CredentialsApi;
    pub use crate::guards::GuardsApi;
    pub use crate::jobs::JobsApi;
    pub use crate::tokens::TokensApi;
}
