//! The credential lifecycle routes of the `/api/vault/*` dialect: versions listing, one
//! version's read and operations (delete, undelete, destroy), rotation, settings and the due
//! listing. No body or reply here has a place for a value; the value of a version is read with
//! `GET` [`CREDENTIAL`](super::CREDENTIAL) `?version=N` (a [`CredentialReply`](super::CredentialReply)).

use serde::{Deserialize, Serialize};
use vault_core::{
    CredentialKey, CredentialSettings, CredentialVersions, GeneratePolicy, Result, ServiceName,
    Timestamp, VersionInfo, VersionState,
};

use super::CredentialInfoWire;

/// `GET` the kept versions of a credential, metadata only (`?service=S[&limit=&after=]`).
pub const CREDENTIAL_VERSIONS: &str = "/api/vault/credentials/{key}/versions";
/// `POST` an operation on one version: `{op}` is `delete`, `undelete` or `destroy`
/// (`?service=S`).
pub const CREDENTIAL_VERSION_OP: &str = "/api/vault/credentials/{key}/versions/{version}/{op}";
/// `POST` a new generated value (`?service=S`, body [`RotateBody`]).
pub const CREDENTIAL_ROTATE: &str = "/api/vault/credentials/{key}/rotate";
/// `POST` the credential's lifecycle settings (`?service=S`, body [`CredentialSettingsBody`]).
pub const CREDENTIAL_SETTINGS: &str = "/api/vault/credentials/{key}/settings";
/// `GET` the credentials of a service overdue for rotation (`?service=S[&limit=&after=]`).
pub const CREDENTIALS_DUE: &str = "/api/vault/credentials-due";

// ---- requests ----

/// Query of `GET` [`CREDENTIAL`](super::CREDENTIAL): an optional service and version.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialGetQuery {
    /// The service; required when the key exists under several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The version to read; the current one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

/// Query of the routes on one credential of a given service (version operations, rotate,
/// settings).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceOnlyQuery {
    /// The service.
    pub service: String,
}

/// Query of `GET` [`CREDENTIAL_VERSIONS`].
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionsQuery {
    /// The service.
    pub service: String,
    /// Page size (default 100, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Continue with versions older than this one (a previous page's `next`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
}

/// Body of `POST` [`CREDENTIAL_ROTATE`]: both fields optional (`{}` = 32 alphanumeric
/// characters).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    /// Number of characters (8 to 4096, default 32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<usize>,
    /// `alphanumeric` (default), `hex`, `base64url` or `ascii_printable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charset: Option<String>,
}

impl RotateBody {
    /// The body of `policy`.
    pub fn from_policy(policy: &GeneratePolicy) -> Self {
        RotateBody {
            length: Some(policy.length),
            charset: Some(policy.charset.as_str().to_string()),
        }
    }

    /// The core policy this body stands for (the charset checked here, where it enters).
    pub fn into_policy(self) -> Result<GeneratePolicy> {
        let default = GeneratePolicy::default();
        Ok(GeneratePolicy {
            length: self.length.unwrap_or(default.length),
            charset: match self.charset {
                Some(c) => vault_core::Charset::parse(&c)?,
                None => default.charset,
            },
        })
    }
}

/// Body of `POST` [`CREDENTIAL_SETTINGS`]: absent fields are left as they are.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialSettingsBody {
    /// Versions kept (1 to 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_versions: Option<u64>,
    /// A period (`12h`, `7d`, `30d`, `2w`; 1h to 3650d), or `off` to clear it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotate_every: Option<String>,
}

impl CredentialSettingsBody {
    /// The body of `settings`.
    pub fn from_settings(settings: &CredentialSettings) -> Self {
        CredentialSettingsBody {
            max_versions: settings.max_versions,
            rotate_every: settings
                .rotate_every
                .map(|r| r.map_or_else(|| "off".to_string(), |p| p.to_string())),
        }
    }

    /// The core settings this body stands for (`rotate_every` parsed here, where it enters).
    pub fn into_settings(self) -> Result<CredentialSettings> {
        Ok(CredentialSettings {
            max_versions: self.max_versions,
            rotate_every: self
                .rotate_every
                .as_deref()
                .map(CredentialSettings::parse_rotate_every)
                .transpose()?,
        })
    }
}

// ---- responses ----

/// One version on the wire (never its value).
#[derive(Debug, Serialize, Deserialize)]
pub struct VersionWire {
    /// When it was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    /// When it was soft-deleted or destroyed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
    /// `active`, `deleted` or `destroyed`.
    pub state: VersionState,
    /// Version number.
    pub version: u64,
}

impl From<VersionInfo> for VersionWire {
    fn from(v: VersionInfo) -> Self {
        VersionWire {
            created_at: v.created_at,
            deleted_at: v.deleted_at,
            state: v.state,
            version: v.version,
        }
    }
}

impl From<VersionWire> for VersionInfo {
    fn from(v: VersionWire) -> Self {
        VersionInfo {
            version: v.version,
            created_at: v.created_at,
            state: v.state,
            deleted_at: v.deleted_at,
        }
    }
}

/// Body of a successful `GET` [`CREDENTIAL_VERSIONS`].
#[derive(Debug, Serialize, Deserialize)]
pub struct CredentialVersionsReply {
    /// The current version.
    pub current_version: u64,
    /// The credential's name.
    pub key: CredentialKey,
    /// Versions kept.
    pub max_versions: u64,
    /// When older versions follow: the `after` of the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
    /// The oldest version kept.
    pub oldest_version: u64,
    /// Its service.
    pub service: ServiceName,
    /// Always `true`.
    pub success: bool,
    /// The versions of this page, newest first.
    pub versions: Vec<VersionWire>,
}

impl From<CredentialVersions> for CredentialVersionsReply {
    fn from(v: CredentialVersions) -> Self {
        CredentialVersionsReply {
            current_version: v.current_version,
            key: v.key,
            max_versions: v.max_versions,
            next: v.next,
            oldest_version: v.oldest_version,
            service: v.service,
            success: true,
            versions: v.versions.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<CredentialVersionsReply> for CredentialVersions {
    fn from(r: CredentialVersionsReply) -> Self {
        CredentialVersions {
            service: r.service,
            key: r.key,
            current_version: r.current_version,
            oldest_version: r.oldest_version,
            max_versions: r.max_versions,
            versions: r.versions.into_iter().map(Into::into).collect(),
            next: r.next,
        }
    }
}

/// Body of a successful `POST` [`CREDENTIAL_VERSION_OP`].
#[derive(Debug, Serialize, Deserialize)]
pub struct VersionChangedReply {
    /// The operation done: `delete`, `undelete` or `destroy`.
    pub action: String,
    /// The credential's name.
    pub key: CredentialKey,
    /// Its service.
    pub service: ServiceName,
    /// Always `true`.
    pub success: bool,
    /// The version's new state.
    pub version: VersionWire,
}

/// Body of a successful `POST` [`CREDENTIAL_SETTINGS`].
#[derive(Debug, Serialize, Deserialize)]
pub struct CredentialSettingsReply {
    /// The credential as listed, with its settings.
    pub credential: CredentialInfoWire,
    /// Always `true`.
    pub success: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_credential_without_lifecycle_fields_keeps_its_old_bytes_both_ways() {
        let old = r#"{"created_at":"2026-11-22T09:00:00.000Z","key":"K","metadata":{},"service":"s","updated_at":"2026-11-22T09:00:00.000Z","version":3}"#;
        let wire: CredentialInfoWire = serde_json::from_str(old).expect("an older server's item");
        let info = vault_core::CredentialInfo::from(wire);
        assert_eq!(
            (info.max_versions, info.oldest_version, info.state, info.due),
            (10, 1, VersionState::Active, false)
        );
        assert_eq!((info.rotate_every, info.due_at), (None, None));
        let back = serde_json::to_string(&CredentialInfoWire::from(info)).expect("json");
        assert_eq!(back, old);
    }

    #[test]
    fn bodies_turn_into_core_requests_checked_where_they_enter() {
        let e = RotateBody {
            length: None,
            charset: Some("emoji".into()),
        }
        .into_policy()
        .expect_err("charset");
        assert_eq!(e.field(), Some("charset"));
        assert_eq!(
            RotateBody::default().into_policy().ok(),
            Some(GeneratePolicy::default())
        );
        let s = CredentialSettingsBody {
            max_versions: None,
            rotate_every: Some("off".into()),
        }
        .into_settings()
        .expect("off");
        assert_eq!(s.rotate_every, Some(None));
        let round = CredentialSettingsBody::from_settings(&s);
        assert_eq!(round.rotate_every.as_deref(), Some("off"));
        let e = CredentialSettingsBody {
            max_versions: None,
            rotate_every: Some("1y".into()),
        }
        .into_settings()
        .expect_err("1y");
        assert_eq!(e.field(), Some("rotate_every"));
    }
}
