//! KV v2 metadata at `/v1/secret/`: `metadata/` (read, `max_versions`, delete, list) and the
//! version operations `delete/`, `undelete/`, `destroy/`, over the credential operations.

use serde_json::{Value, json};
use vault_core::credentials::{CredentialSettings, VersionOp, VersionState};
use vault_core::prelude::*;
use vault_core::{CredentialKey, Error, PageRequest, ServiceName};

use super::{
    Kv, KvQuery, MAX_LIST, MAX_VERSIONS_PER_REQUEST, VaultResult, custom_metadata, parse_u64, time,
};
use crate::dialects::vault_api::{no_content, parse_object};

impl Kv {
    /// `POST delete|undelete|destroy/<s>/<k>` `{"versions":[N,...]}`: 204; versions (or a
    /// secret) that do not exist are skipped, as Vault does.
    pub(super) async fn change_versions(
        self,
        service: ServiceName,
        key: CredentialKey,
        change: VersionOp,
        body: &[u8],
    ) -> VaultResult {
        let body = parse_object(body)?;
        let versions = match body.get("versions") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Value::Number(n) => n.as_u64(),
                    Value::String(s) => s.parse().ok(),
                    _ => None,
                })
                .collect::<Option<Vec<u64>>>()
                .ok_or_else(|| {
                    Error::invalid("versions", "expected an array of version numbers")
                })?,
            Some(_) => {
                return Err(
                    Error::invalid("versions", "expected an array of version numbers").into(),
                );
            }
        };
        if versions.is_empty() {
            return Err(Error::invalid("versions", "No version number provided").into());
        }
        if versions.len() > MAX_VERSIONS_PER_REQUEST {
            return Err(Error::invalid(
                "versions",
                format!("at most {MAX_VERSIONS_PER_REQUEST} versions per request"),
            )
            .into());
        }
        let creds = self.vault.credentials();
        for v in versions {
            match creds.change_version(&key, &service, v, change).await {
                Ok(_) | Err(Error::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(no_content())
    }

    /// `GET metadata/<s>/<k>`: the secret's metadata and every kept version's state.
    pub(super) async fn read_metadata(
        self,
        service: ServiceName,
        key: CredentialKey,
    ) -> VaultResult {
        let creds = self.vault.credentials();
        let info = creds.info(&key, &service).await?;
        let listed = creds.versions(&key, &service, Some(MAX_LIST), None).await?;
        let versions: serde_json::Map<String, Value> = listed
            .versions
            .iter()
            .map(|v| {
                (
                    v.version.to_string(),
                    json!({
                        "created_time": time(v.created_at),
                        "deletion_time": time(v.deleted_at),
                        "destroyed": v.state == VersionState::Destroyed,
                    }),
                )
            })
            .collect();
        Ok(self.ok(
            json!({
                "cas_required": false,
                "created_time": info.created_at.to_string(),
                "current_metadata_version": 0,
                "current_version": listed.current_version,
                "custom_metadata": custom_metadata(&info.metadata),
                "delete_version_after": "0s",
                "max_versions": listed.max_versions,
                "metadata_cas_required": false,
                "oldest_version": listed.oldest_version,
                "updated_time": info.updated_at.to_string(),
                "versions": versions,
            }),
            vec![],
        ))
    }

    /// `POST|PUT metadata/<s>/<k>` `{"max_versions":N}`: 204. `cas_required: true`, a
    /// `delete_version_after` other than zero and `custom_metadata` are not supported (400).
    pub(super) async fn write_metadata(
        self,
        service: ServiceName,
        key: CredentialKey,
        body: &[u8],
    ) -> VaultResult {
        let body = parse_object(body)?;
        let max_versions = match body.get("max_versions") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_u64() {
                // 0 is the engine's default in Vault.
                Some(0) => Some(vault_core::credentials::KEPT_VERSIONS),
                Some(m) => Some(m),
                None => {
                    return Err(
                        Error::invalid("max_versions", "expected a non-negative integer").into(),
                    );
                }
            },
            Some(_) => {
                return Err(
                    Error::invalid("max_versions", "expected a non-negative integer").into(),
                );
            }
        };
        match body.get("cas_required") {
            None | Some(Value::Null | Value::Bool(false)) => {}
            Some(_) => {
                return Err(
                    Error::invalid("cas_required", "true is not supported by this server").into(),
                );
            }
        }
        match body.get("delete_version_after") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if matches!(s.as_str(), "" | "0" | "0s") => {}
            Some(Value::Number(n)) if n.as_u64() == Some(0) => {}
            Some(_) => {
                return Err(Error::invalid(
                    "delete_version_after",
                    "only 0s (never) is supported by this server",
                )
                .into());
            }
        }
        match body.get("custom_metadata") {
            None | Some(Value::Null) => {}
            Some(_) => {
                return Err(Error::invalid(
                    "custom_metadata",
                    "is not supported by this server yet (it is the credential's metadata, \
                     written with a value through the service API)",
                )
                .into());
            }
        }
        let settings = CredentialSettings {
            max_versions,
            rotate_every: None,
        };
        self.vault
            .credentials()
            .set_settings(&key, &service, settings)
            .await?;
        Ok(no_content())
    }

    /// `DELETE metadata/<s>/<k>`: the secret and every version; 204 (also when missing).
    pub(super) async fn delete_metadata(
        self,
        service: ServiceName,
        key: CredentialKey,
    ) -> VaultResult {
        match self.vault.credentials().delete(&key, Some(&service)).await {
            Ok(_) | Err(Error::NotFound(_)) => Ok(no_content()),
            Err(e) => Err(e.into()),
        }
    }

    /// `LIST metadata/<s>[?after=&limit=]`: one page of the service's secret names (at most
    /// 1000; a warning says where the next page starts); 404 `{"errors":[]}` when none.
    pub(super) async fn list(self, rest: &[&str], q: &KvQuery) -> VaultResult {
        let service = match rest {
            [] => {
                return Err(Error::invalid(
                    "path",
                    "listing every service is not supported: list secret/metadata/<service>",
                )
                .into());
            }
            [service] => ServiceName::new(*service)?,
            // A secret is a leaf: nothing is under it.
            _ => return Err(Error::NotFound("nothing to list".into()).into()),
        };
        let limit = q
            .limit
            .as_deref()
            .map(|v| parse_u64("limit", v))
            .transpose()?
            .map_or(MAX_LIST, |l| (l as usize).clamp(1, MAX_LIST));
        let page = PageRequest {
            limit: Some(limit),
            after: q.after.clone(),
        };
        let page = self.vault.credentials().list(&service, page).await?;
        let mut keys: Vec<String> = page.items.iter().map(|c| c.key.to_string()).collect();
        keys.extend(page.unreadable.iter().map(|u| u.name.clone()));
        keys.sort();
        if keys.is_empty() {
            return Err(Error::NotFound("nothing to list".into()).into());
        }
        let warnings = page
            .next
            .map(|n| vec![format!("more keys follow: list again with ?after={n}")])
            .unwrap_or_default();
        Ok(self.ok(json!({ "keys": keys }), warnings))
    }
}
