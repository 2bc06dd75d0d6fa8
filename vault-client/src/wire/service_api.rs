//! The `/api/vault/*` dialect (the service API the trading engine already uses): paths,
//! request bodies and queries, response bodies and the error body.
//!
//! Field order is part of the wire: response structs list their fields in the order the
//! original service sent them (alphabetical for every object, except the credential read),
//! so the bytes stay exactly as clients have seen them.

mod audit;
mod constructs;
mod guards;
mod jobs;
mod lifecycle;
mod tokens;

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use vault_core::{
    Action, ChangedBy, ConfigChange, ConfigDiff, ConfigPut, ConfigRollback, ConfigSettings,
    ConfigWatch, ConfigWritten, CredentialInfo, CredentialKey, CredentialWritten, Error, Health,
    HealthStatus, JsonObject, Page, PageRequest, ServiceName, StrategyConfig, StrategyId,
    Timestamp, Unreadable, WatchedChange,
};

pub use audit::{
    AUDIT, AUDIT_EXPORT, AUDIT_VERIFY, AuditListReply, AuditQueryParams, AuditUnreadableWire,
    AuditVerifyReply, ExportFormat, ExportParams,
};
pub use constructs::{
    CONSTRUCT, CONSTRUCT_EXPORT, CONSTRUCT_FILE, CONSTRUCT_FILES, CONSTRUCT_IMPORT,
    CONSTRUCT_TRANSCRIPT, CONSTRUCTS, CapsulePutBody, CapsuleReply, CapsuleWrittenReply,
    ConstructListReply, ConstructPageQuery, ConstructSummaryWire, ConstructUnreadableWire,
    ConstructVersionQuery, EntryAppendedReply, ExportReply, FILE_CREATED_HEADER,
    FILE_SHA256_HEADER, FILE_UPDATED_HEADER, FILE_VERSION_HEADER, FileDeletedReply, FileInfoWire,
    FileListReply, FilePutQuery, FileWrittenReply, ImportReply, TranscriptQueryParams,
    TranscriptReply, file_headers, file_info_from_headers,
};
pub use guards::{
    GUARD_BUDGET_LLM, GUARD_DECIDE, GUARD_DECISIONS, GUARD_EXECUTION, GUARD_EXECUTIONS,
    GUARD_OVERRIDES, GUARD_POLICY, GUARD_POLICY_DIFF, GUARD_POLICY_ROLLBACK, GUARD_PROPOSALS,
    GUARD_PROPOSALS_SWEEP, GUARD_STATE, LlmAdmitBody, PolicyPutQuery, PolicyRollbackBody,
    admission_reply, decision_from_reply, decision_reply, from_document, object, success,
};
pub use jobs::{
    JOB, JOB_RELEASE, JOB_RENEW, JOBS, JOBS_CLAIM, JOBS_SWEEP, JobClaimBody, JobCreateBody,
    JobCreatedReply, JobListReply, JobReleaseBody, JobRenewBody, JobReply, JobUnreadableWire,
    JobWire, JobsClaimedReply, JobsSweptReply,
};
pub use lifecycle::{
    CREDENTIAL_ROTATE, CREDENTIAL_SETTINGS, CREDENTIAL_VERSION_OP, CREDENTIAL_VERSIONS,
    CREDENTIALS_DUE, CredentialGetQuery, CredentialSettingsBody, CredentialSettingsReply,
    CredentialVersionsReply, RotateBody, ServiceOnlyQuery, VersionChangedReply, VersionWire,
    VersionsQuery,
};
pub use tokens::{
    RuleBody, TOKEN, TOKEN_SELF, TOKENS, TokenCreateBody, TokenCreatedReply, TokenInfoWire,
    TokenListReply, TokenPageQuery, TokenRevokedReply, TokenSelfReply, TokenUnreadableWire, Ttl,
};

/// `GET` health (no token).
pub const HEALTH: &str = "/api/vault/health";
/// `GET` list (`?service=`), `POST` put.
pub const CREDENTIALS: &str = "/api/vault/credentials";
/// `GET` read, `DELETE` (`?service=` optional).
pub const CREDENTIAL: &str = "/api/vault/credentials/{key}";
/// `GET` list of a service's latest configs, `POST` put.
pub const CONFIGS: &str = "/api/vault/configs/{service}";
/// `GET` one config (`?version=` optional), `DELETE` it keeping its history
/// (`?expected_version=` optional).
pub const CONFIG: &str = "/api/vault/configs/{service}/{strategy_id}";
/// `GET` a config's history, newest first (`?limit=&after=`).
pub const CONFIG_HISTORY: &str = "/api/vault/configs/{service}/{strategy_id}/history";
/// `GET` the changes between two versions of a config (`?from=&to=`).
pub const CONFIG_DIFF: &str = "/api/vault/configs/{service}/{strategy_id}/diff";
/// `GET` long-poll: wait for the service's configs to change (`?since=&timeout=`).
pub const CONFIG_WATCH: &str = "/api/vault/configs/{service}/watch";
/// `POST` a new version with the content of an earlier one.
pub const CONFIG_ROLLBACK: &str = "/api/vault/configs/{service}/{strategy_id}/rollback";
/// `GET` a service's configs settings, `POST` to set them.
pub const CONFIG_SETTINGS: &str = "/api/vault/config-settings/{service}";

// ---- requests ----

/// Body of `POST` [`CREDENTIALS`].
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialPutBody<'a> {
    /// The credential's name.
    pub key: Cow<'a, str>,
    /// Its service.
    pub service: Cow<'a, str>,
    /// The secret value.
    pub value: Cow<'a, str>,
    /// Metadata; absent or `null` keeps the previous version's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Cow<'a, JsonObject>>,
    /// Compare-and-set version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<u64>,
    /// Versions to keep (1 to 100); absent keeps the previous setting (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_versions: Option<u64>,
    /// How often the value should change (`12h`, `7d`, `30d`; 1h to 3650d); absent keeps the
    /// previous setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotate_every: Option<Cow<'a, str>>,
}

/// Body of `POST` [`CONFIGS`]. Absent fields keep the previous version's values.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigPutBody<'a> {
    /// The strategy's id.
    pub strategy_id: Cow<'a, str>,
    /// New parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Cow<'a, JsonObject>>,
    /// New symbols.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbols: Option<Cow<'a, [String]>>,
    /// New risk limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_limits: Option<Cow<'a, JsonObject>>,
    /// Enable or disable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Compare-and-set version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<u64>,
    /// Why: recorded with the version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<Cow<'a, str>>,
}

impl<'a> ConfigPutBody<'a> {
    /// The body of `put`, borrowing from it.
    pub fn from_put(put: &'a ConfigPut) -> Self {
        ConfigPutBody {
            strategy_id: Cow::Borrowed(put.strategy_id.as_str()),
            params: put.params.as_ref().map(Cow::Borrowed),
            symbols: put.symbols.as_deref().map(Cow::Borrowed),
            risk_limits: put.risk_limits.as_ref().map(Cow::Borrowed),
            enabled: put.enabled,
            expected_version: put.expected_version,
            comment: put.comment.as_deref().map(Cow::Borrowed),
        }
    }

    /// The core request this body stands for (the strategy id checked here, where it enters).
    pub fn into_put(self) -> vault_core::Result<ConfigPut> {
        Ok(ConfigPut {
            strategy_id: StrategyId::new(self.strategy_id.into_owned())?,
            params: self.params.map(Cow::into_owned),
            symbols: self.symbols.map(Cow::into_owned),
            risk_limits: self.risk_limits.map(Cow::into_owned),
            enabled: self.enabled,
            expected_version: self.expected_version,
            comment: self.comment.map(Cow::into_owned),
        })
    }
}

/// Query of [`CREDENTIAL`] (read, delete): an optional service.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceQuery {
    /// The service; required when the key exists under several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// Query of `GET` [`CREDENTIALS`]: a required service and the page.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredServiceQuery {
    /// The service to list.
    pub service: String,
    /// Page size (default 100, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Continue after this key (a previous page's `next`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

impl RequiredServiceQuery {
    /// The query listing `page` of `service`.
    pub fn new(service: &ServiceName, page: &PageRequest) -> Self {
        RequiredServiceQuery {
            service: service.to_string(),
            limit: page.limit,
            after: page.after.clone(),
        }
    }

    /// The page this query asks for.
    pub fn page(&self) -> PageRequest {
        PageRequest::new(self.limit, self.after.clone())
    }
}

/// Query of `GET` [`CONFIGS`]: the page. Unknown parameters are ignored here (as they always
/// were on this route).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PageQuery {
    /// Page size (default 100, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Continue after this strategy id (a previous page's `next`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

impl PageQuery {
    /// The query of `page`.
    pub fn new(page: &PageRequest) -> Self {
        PageQuery {
            limit: page.limit,
            after: page.after.clone(),
        }
    }

    /// The page this query asks for.
    pub fn page(self) -> PageRequest {
        PageRequest::new(self.limit, self.after)
    }
}

/// Body of `POST` [`CONFIG_SETTINGS`].
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigSettingsBody {
    /// Versions kept of each config of the service (1 to 100000).
    pub max_versions: u64,
}

/// Query of [`CONFIG`]: an optional version.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionQuery {
    /// The version to read; the latest when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

/// Body of `POST` [`CONFIG_ROLLBACK`].
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackBody {
    /// The version whose content the new version takes.
    pub to_version: u64,
    /// Why (default `rollback to version N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Compare-and-set on the latest version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<u64>,
}

impl From<ConfigRollback> for RollbackBody {
    fn from(r: ConfigRollback) -> Self {
        RollbackBody {
            to_version: r.to_version,
            comment: r.comment,
            expected_version: r.expected_version,
        }
    }
}

impl From<RollbackBody> for ConfigRollback {
    fn from(b: RollbackBody) -> Self {
        ConfigRollback {
            to_version: b.to_version,
            comment: b.comment,
            expected_version: b.expected_version,
        }
    }
}

/// Query of `DELETE` [`CONFIG`].
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigDeleteQuery {
    /// Compare-and-set on the latest version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<u64>,
}

/// Query of [`CONFIG_WATCH`].
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchQuery {
    /// The revision to watch from (a get's, a list's or the last watch's); the current one
    /// when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<u64>,
    /// Seconds to wait at most (0 to 60; default 30).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
}

/// The wait of a watch whose query gave no `timeout`.
pub const WATCH_DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl WatchQuery {
    /// The wait asked for (the default when absent); `invalid` (field `timeout`) over the
    /// maximum.
    pub fn wait(&self) -> vault_core::Result<std::time::Duration> {
        let wait = self
            .timeout
            .map_or(WATCH_DEFAULT_TIMEOUT, std::time::Duration::from_secs);
        vault_core::configs::check_watch_timeout(wait)?;
        Ok(wait)
    }
}

/// Query of [`CONFIG_DIFF`]: both versions are required.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    /// The version the changes start from.
    pub from: u64,
    /// The version they lead to.
    pub to: u64,
}

/// Query of [`CONFIG_HISTORY`].
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// Page size (default 100, at most 1000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Continue with versions older than this one (a previous page's `next`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
}

// ---- responses ----

/// The error body of every `/api/vault/*` error.
#[derive(Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The stable code.
    pub code: String,
    /// A sentence for people; never a secret.
    pub error: String,
    /// For `invalid`: the input field that was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Always `false`.
    pub success: bool,
}

/// Body of [`HEALTH`] (200 when ok/degraded, 503 when down).
#[derive(Debug, Serialize, Deserialize)]
pub struct HealthReply {
    /// Component name to state.
    pub components: BTreeMap<String, String>,
    /// A sentence for people.
    pub message: String,
    /// Credentials overdue for rotation, of every service (present only when some are: the
    /// status is then `degraded`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub overdue_credentials: u64,
    /// Always `vvault` (the name clients of the original service check).
    pub service: String,
    /// `ok`, `degraded` or `down`.
    pub status: HealthStatus,
    /// When the report was made.
    pub timestamp: Timestamp,
    /// The server's version.
    pub version: String,
}

impl From<Health> for HealthReply {
    fn from(h: Health) -> Self {
        HealthReply {
            components: h.components,
            message: h.message,
            overdue_credentials: h.overdue_credentials,
            service: "vvault".to_string(),
            status: h.status,
            timestamp: h.timestamp,
            version: h.version,
        }
    }
}

impl From<HealthReply> for Health {
    fn from(h: HealthReply) -> Self {
        Health {
            status: h.status,
            components: h.components,
            message: h.message,
            version: h.version,
            timestamp: h.timestamp,
            overdue_credentials: h.overdue_credentials,
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Body of a successful `GET` [`CREDENTIAL`] (fields in this order on the wire).
#[derive(Debug, Serialize, Deserialize)]
pub struct CredentialReply<'a> {
    /// Always `true`.
    pub success: bool,
    /// The credential's name.
    pub key: CredentialKey,
    /// Its service.
    pub service: ServiceName,
    /// The secret value.
    pub value: Cow<'a, str>,
    /// Metadata.
    #[serde(default)]
    pub metadata: Cow<'a, JsonObject>,
    /// Current version.
    #[serde(default)]
    pub version: u64,
    /// When version 1 was written (older servers may omit it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    /// When this version was written.
    pub updated_at: Timestamp,
}

/// Body of a successful `POST` [`CREDENTIALS`].
#[derive(Debug, Serialize, Deserialize)]
pub struct CredentialWrittenReply {
    /// Created or updated.
    pub action: Action,
    /// The credential's name.
    pub key: CredentialKey,
    /// A sentence for people.
    pub message: String,
    /// Its service.
    pub service: ServiceName,
    /// Always `true`.
    pub success: bool,
    /// The version written.
    pub version: u64,
}

impl From<CredentialWritten> for CredentialWrittenReply {
    fn from(w: CredentialWritten) -> Self {
        let message = match w.action {
            Action::Created => "Credential created successfully",
            // A credential put never deletes.
            Action::Updated | Action::Deleted => "Credential updated successfully",
        };
        CredentialWrittenReply {
            action: w.action,
            key: w.key,
            message: message.to_string(),
            service: w.service,
            success: true,
            version: w.version,
        }
    }
}

impl From<CredentialWrittenReply> for CredentialWritten {
    fn from(r: CredentialWrittenReply) -> Self {
        CredentialWritten {
            service: r.service,
            key: r.key,
            action: r.action,
            version: r.version,
        }
    }
}

/// A credential as listed (never its value). The lifecycle fields are sent only when they
/// differ from their defaults (so a credential that never used them lists exactly as before),
/// and default when absent.
#[derive(Debug, Serialize, Deserialize)]
pub struct CredentialInfoWire {
    /// When version 1 was written.
    pub created_at: Timestamp,
    /// Whether rotation is overdue (`now - updated_at >= rotate_every`); sent only when true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub due: bool,
    /// When rotation is due, when `rotate_every` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<Timestamp>,
    /// The credential's name.
    pub key: CredentialKey,
    /// Versions kept; sent only when not the default (10).
    #[serde(
        default = "default_max_versions",
        skip_serializing_if = "is_default_max_versions"
    )]
    pub max_versions: u64,
    /// Metadata.
    pub metadata: JsonObject,
    /// The oldest version kept; sent only once older versions were pruned (absent: 1).
    #[serde(default = "first_version", skip_serializing_if = "is_first_version")]
    pub oldest_version: u64,
    /// How often the value should change, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotate_every: Option<vault_core::RotateEvery>,
    /// Its service.
    pub service: ServiceName,
    /// State of the current version: `deleted` or `destroyed`; absent when `active`.
    #[serde(default = "active", skip_serializing_if = "is_active")]
    pub state: vault_core::VersionState,
    /// When the current version was written.
    pub updated_at: Timestamp,
    /// Current version.
    pub version: u64,
}

fn default_max_versions() -> u64 {
    vault_core::credentials::KEPT_VERSIONS
}

fn first_version() -> u64 {
    1
}

fn is_default_max_versions(n: &u64) -> bool {
    *n == default_max_versions()
}

fn is_first_version(n: &u64) -> bool {
    *n == 1
}

fn is_active(s: &vault_core::VersionState) -> bool {
    *s == vault_core::VersionState::Active
}

fn active() -> vault_core::VersionState {
    vault_core::VersionState::Active
}

impl From<CredentialInfo> for CredentialInfoWire {
    fn from(c: CredentialInfo) -> Self {
        CredentialInfoWire {
            created_at: c.created_at,
            due: c.due,
            due_at: c.due_at,
            key: c.key,
            max_versions: c.max_versions,
            metadata: c.metadata,
            oldest_version: c.oldest_version,
            rotate_every: c.rotate_every,
            service: c.service,
            state: c.state,
            updated_at: c.updated_at,
            version: c.version,
        }
    }
}

impl From<CredentialInfoWire> for CredentialInfo {
    fn from(c: CredentialInfoWire) -> Self {
        CredentialInfo {
            service: c.service,
            key: c.key,
            metadata: c.metadata,
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
            oldest_version: c.oldest_version,
            max_versions: c.max_versions,
            state: c.state,
            rotate_every: c.rotate_every,
            due_at: c.due_at,
            due: c.due,
        }
    }
}

/// A credential a listing found but could not read (e.g. it failed its integrity check).
#[derive(Debug, Serialize, Deserialize)]
pub struct CredentialUnreadableWire {
    /// The error code reading it gave (`integrity`).
    pub error: String,
    /// The credential's name.
    pub key: String,
    /// Its service.
    pub service: ServiceName,
}

/// Body of a successful `GET` [`CREDENTIALS`].
#[derive(Debug, Serialize, Deserialize)]
pub struct CredentialListReply {
    /// The credentials of this page, ordered by key.
    pub credentials: Vec<CredentialInfoWire>,
    /// Present when more credentials follow: the `after` of the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// The service listed.
    pub service: ServiceName,
    /// Always `true`.
    pub success: bool,
    /// Credentials of this page that could not be read; present only when there are some.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<CredentialUnreadableWire>,
}

impl CredentialListReply {
    /// The body answering `page` of `service`.
    pub fn new(service: ServiceName, page: Page<CredentialInfo>) -> Self {
        CredentialListReply {
            credentials: page.items.into_iter().map(Into::into).collect(),
            next: page.next,
            unreadable: page
                .unreadable
                .into_iter()
                .map(|u| CredentialUnreadableWire {
                    error: u.error.code().to_string(),
                    key: u.name,
                    service: service.clone(),
                })
                .collect(),
            service,
            success: true,
        }
    }

    /// The page this body stands for.
    pub fn into_page(self) -> Page<CredentialInfo> {
        Page {
            items: self.credentials.into_iter().map(Into::into).collect(),
            unreadable: self
                .unreadable
                .into_iter()
                .map(|u| unreadable(u.key, &u.error))
                .collect(),
            next: self.next,
            revision: None,
        }
    }
}

/// An unreadable item as a client rebuilds it from its code.
fn unreadable(name: String, code: &str) -> Unreadable {
    Unreadable {
        error: Error::from_wire(
            code,
            format!("record '{name}' could not be read ({code})"),
            None,
        ),
        name,
    }
}

/// Body of a successful `DELETE` [`CREDENTIAL`].
#[derive(Debug, Serialize, Deserialize)]
pub struct CredentialDeletedReply {
    /// Always `deleted`.
    pub action: String,
    /// The credential's name.
    pub key: CredentialKey,
    /// The service it was under.
    pub service: ServiceName,
    /// Always `true`.
    pub success: bool,
}

/// A strategy config on the wire.
#[derive(Debug, Serialize, Deserialize)]
pub struct ConfigWire {
    /// Who wrote this version (absent for versions written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<ChangedBy>,
    /// The comment given with this version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// When version 1 was written (older servers may omit it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    /// Present (`true`) only on the version a delete wrote.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// Whether the strategy is enabled.
    pub enabled: bool,
    /// Parameters.
    #[serde(default)]
    pub params: JsonObject,
    /// Risk limits.
    #[serde(default)]
    pub risk_limits: JsonObject,
    /// The service (older servers may omit it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceName>,
    /// The strategy's id.
    pub strategy_id: StrategyId,
    /// Symbols.
    #[serde(default)]
    pub symbols: Vec<String>,
    /// When this version was written.
    pub updated_at: Timestamp,
    /// Version number.
    pub version: u64,
}

impl From<StrategyConfig> for ConfigWire {
    fn from(c: StrategyConfig) -> Self {
        ConfigWire {
            changed_by: c.changed_by,
            comment: c.comment,
            created_at: Some(c.created_at),
            deleted: c.deleted,
            enabled: c.enabled,
            params: c.params,
            risk_limits: c.risk_limits,
            service: Some(c.service),
            strategy_id: c.strategy_id,
            symbols: c.symbols,
            updated_at: c.updated_at,
            version: c.version,
        }
    }
}

impl ConfigWire {
    /// The config this stands for, read at the service's `revision`; `service` fills in when
    /// the server omitted it.
    pub fn into_config(self, service: &ServiceName, revision: u64) -> StrategyConfig {
        StrategyConfig {
            service: self.service.unwrap_or_else(|| service.clone()),
            strategy_id: self.strategy_id,
            params: self.params,
            symbols: self.symbols,
            risk_limits: self.risk_limits,
            enabled: self.enabled,
            version: self.version,
            created_at: self.created_at.unwrap_or(self.updated_at),
            updated_at: self.updated_at,
            changed_by: self.changed_by,
            comment: self.comment,
            deleted: self.deleted,
            revision,
            stale: false,
        }
    }
}

/// A config a listing found but could not read (e.g. it failed its integrity check).
#[derive(Debug, Serialize, Deserialize)]
pub struct ConfigUnreadableWire {
    /// The error code reading it gave (`integrity`).
    pub error: String,
    /// Its service.
    pub service: ServiceName,
    /// The strategy's id.
    pub strategy_id: String,
}

/// Body of a successful `GET` [`CONFIGS`].
#[derive(Debug, Serialize, Deserialize)]
pub struct ConfigListReply {
    /// The latest version of each strategy of this page, ordered by strategy id.
    pub configs: Vec<ConfigWire>,
    /// Present when more configs follow: the `after` of the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// The service's configs revision, read before the configs (pass it to a watch; 0 from
    /// a server that keeps none).
    #[serde(default)]
    pub revision: u64,
    /// The service listed.
    pub service: ServiceName,
    /// Always `true`.
    pub success: bool,
    /// Configs of this page that could not be read; present only when there are some.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<ConfigUnreadableWire>,
}

impl ConfigListReply {
    /// The body answering `page` of `service`.
    pub fn new(service: ServiceName, page: Page<StrategyConfig>) -> Self {
        ConfigListReply {
            configs: page.items.into_iter().map(Into::into).collect(),
            next: page.next,
            revision: page.revision.unwrap_or(0),
            unreadable: page
                .unreadable
                .into_iter()
                .map(|u| ConfigUnreadableWire {
                    error: u.error.code().to_string(),
                    service: service.clone(),
                    strategy_id: u.name,
                })
                .collect(),
            service,
            success: true,
        }
    }

    /// The page this body stands for (`service` fills in where the server omitted it).
    pub fn into_page(self, service: &ServiceName) -> Page<StrategyConfig> {
        Page {
            items: self
                .configs
                .into_iter()
                .map(|c| c.into_config(service, self.revision))
                .collect(),
            unreadable: self
                .unreadable
                .into_iter()
                .map(|u| unreadable(u.strategy_id, &u.error))
                .collect(),
            next: self.next,
            revision: Some(self.revision),
        }
    }
}

/// Body of a successful `GET` or `POST` [`CONFIG_SETTINGS`].
#[derive(Debug, Serialize, Deserialize)]
pub struct ConfigSettingsReply {
    /// Versions kept of each config of the service.
    pub max_versions: u64,
    /// The service.
    pub service: ServiceName,
    /// Always `true`.
    pub success: bool,
}

impl ConfigSettingsReply {
    /// The body of `settings` of `service`.
    pub fn new(service: ServiceName, settings: ConfigSettings) -> Self {
        ConfigSettingsReply {
            max_versions: settings.max_versions,
            service,
            success: true,
        }
    }
}

impl From<ConfigSettingsReply> for ConfigSettings {
    fn from(r: ConfigSettingsReply) -> Self {
        ConfigSettings {
            max_versions: r.max_versions,
        }
    }
}

/// Body of a successful `GET` [`CONFIG`].
#[derive(Debug, Serialize, Deserialize)]
pub struct ConfigReply {
    /// The config.
    pub config: ConfigWire,
    /// The service's configs revision when it was read (pass it to a watch).
    #[serde(default)]
    pub revision: u64,
    /// Its service.
    pub service: ServiceName,
    /// Always `true`.
    pub success: bool,
}

/// Body of a successful `POST` [`CONFIGS`].
#[derive(Debug, Serialize, Deserialize)]
pub struct ConfigWrittenReply {
    /// Created, updated or (a config's delete) deleted.
    pub action: Action,
    /// The service.
    pub service: ServiceName,
    /// The strategy's id.
    pub strategy_id: StrategyId,
    /// Always `true`.
    pub success: bool,
    /// The version written.
    pub version: u64,
}

impl From<ConfigWritten> for ConfigWrittenReply {
    fn from(w: ConfigWritten) -> Self {
        ConfigWrittenReply {
            action: w.action,
            service: w.service,
            strategy_id: w.strategy_id,
            success: true,
            version: w.version,
        }
    }
}

impl From<ConfigWrittenReply> for ConfigWritten {
    fn from(r: ConfigWrittenReply) -> Self {
        ConfigWritten {
            service: r.service,
            strategy_id: r.strategy_id,
            action: r.action,
            version: r.version,
        }
    }
}

/// Body of a successful `GET` [`CONFIG_WATCH`].
#[derive(Debug, Serialize, Deserialize)]
pub struct ConfigWatchReply {
    /// The configs changed after `since`, in the order of their last change (empty at the
    /// timeout): `{"strategy_id", "version", "deleted"?}`.
    pub changes: Vec<WatchedChange>,
    /// The revision to watch from next.
    pub revision: u64,
    /// The service watched.
    pub service: ServiceName,
    /// Always `true`.
    pub success: bool,
}

impl From<ConfigWatch> for ConfigWatchReply {
    fn from(w: ConfigWatch) -> Self {
        ConfigWatchReply {
            changes: w.changes,
            revision: w.revision,
            service: w.service,
            success: true,
        }
    }
}

impl From<ConfigWatchReply> for ConfigWatch {
    fn from(r: ConfigWatchReply) -> Self {
        ConfigWatch {
            service: r.service,
            revision: r.revision,
            changes: r.changes,
        }
    }
}

/// Body of a successful `GET` [`CONFIG_HISTORY`].
#[derive(Debug, Serialize, Deserialize)]
pub struct ConfigHistoryReply {
    /// When more (older) versions exist: the `after` of the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
    /// The oldest version kept, present once older ones were pruned (absent: history starts
    /// at version 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_version: Option<u64>,
    /// The service's configs revision when it was read.
    #[serde(default)]
    pub revision: u64,
    /// The service.
    pub service: ServiceName,
    /// The strategy's id.
    pub strategy_id: StrategyId,
    /// Always `true`.
    pub success: bool,
    /// Versions, newest first.
    pub versions: Vec<ConfigWire>,
}

/// Body of a successful `GET` [`CONFIG_DIFF`].
#[derive(Debug, Serialize, Deserialize)]
pub struct ConfigDiffReply {
    /// Always `true`.
    pub success: bool,
    /// The version the changes start from.
    pub from: u64,
    /// The version they lead to.
    pub to: u64,
    /// The changes: `{"op": "add"|"remove"|"replace", "path": <JSON Pointer>, "old"?, "new"?}`.
    pub changes: Vec<ConfigChange>,
}

impl From<ConfigDiff> for ConfigDiffReply {
    fn from(d: ConfigDiff) -> Self {
        ConfigDiffReply {
            success: true,
            from: d.from,
            to: d.to,
            changes: d.changes,
        }
    }
}

impl From<ConfigDiffReply> for ConfigDiff {
    fn from(r: ConfigDiffReply) -> Self {
        ConfigDiff {
            from: r.from,
            to: r.to,
            changes: r.changes,
        }
    }
}

/// Fills the `{name}` segments of a path template with percent-encoded values, so a value can
/// never change the path (`/`, `..` and `%` are encoded).
pub fn fill_path(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    for (i, segment) in template.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        match segment
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
            .and_then(|name| values.iter().find(|(n, _)| *n == name))
        {
            Some((_, value)) => encode_segment(value, &mut out),
            None => out.push_str(segment),
        }
    }
    out
}

fn encode_segment(value: &str, out: &mut String) {
    // `.` and `..` as whole segments would be resolved away by URL normalisation.
    if matches!(value, "." | "..") {
        out.push_str(&"%2E".repeat(value.len()));
        return;
    }
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_filled_with_encoded_segments() {
        assert_eq!(
            fill_path(CREDENTIAL, &[("key", "../../etc")]),
            "/api/vault/credentials/..%2F..%2Fetc"
        );
        assert_eq!(
            fill_path(CREDENTIAL, &[("key", "..")]),
            "/api/vault/credentials/%2E%2E"
        );
        assert_eq!(
            fill_path(CONFIG, &[("service", "a b"), ("strategy_id", "x.y:z")]),
            "/api/vault/configs/a%20b/x.y%3Az"
        );
    }

    #[test]
    fn error_body_field_is_additive() {
        let with = ErrorBody {
            code: "invalid".into(),
            error: "invalid key: must not be empty".into(),
            field: Some("key".into()),
            success: false,
        };
        assert_eq!(
            serde_json::to_string(&with).expect("json"),
            r#"{"code":"invalid","error":"invalid key: must not be empty","field":"key","success":false}"#
        );
        let without = ErrorBody {
            field: None,
            code: "not_found".into(),
            error: "x".into(),
            success: false,
        };
        assert_eq!(
            serde_json::to_string(&without).expect("json"),
            r#"{"code":"not_found","error":"x","success":false}"#
        );
    }
}
