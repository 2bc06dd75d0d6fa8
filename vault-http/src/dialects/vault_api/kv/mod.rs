//! KV v2 at `/v1/secret/`: `data/`, `metadata/`, `delete/`, `undelete/`, `destroy/` and
//! `subkeys/` over the vault's credentials. A KV path is `<service>/<key>` (credential `key` of
//! `service`); the value mapping and the read rule are vault-core's
//! ([`vault_core::credentials::kv`]). Handlers parse, call vault-core, and answer in Vault's
//! shapes; every operation is the credential operation, checked and audited by vault-core.
//! The metadata, list and version operations are in [`metadata`].

mod metadata;

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use vault_core::credentials::kv::{self, KvRead};
use vault_core::credentials::{VersionInfo, VersionOp, VersionState};
use vault_core::prelude::*;
use vault_core::{
    CredentialKey, CredentialPut, Error, JsonObject, Origin, ServiceName, Timestamp, Vault,
};

use super::error::CAS_MISMATCH;
use super::{
    CallerVault, Raw, VaultError, json_response, no_content, parse_object, unknown_fields_warning,
    wrap,
};
use crate::server::extract::{self, ApiPath, parse_query};

type VaultResult = Result<Response, VaultError>;

/// Most versions one `delete`/`undelete`/`destroy` request may name.
const MAX_VERSIONS_PER_REQUEST: usize = 100;
/// Largest page of a KV list (and its default).
const MAX_LIST: usize = 1000;

/// The query parameters KV endpoints read (others are ignored, as Vault does).
#[derive(Deserialize, Default)]
struct KvQuery {
    version: Option<String>,
    list: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

/// A boolean as Go's `strconv.ParseBool` reads it (`?list=True`, `?list=1`, ...).
pub(super) fn parse_bool(field: &str, v: &str) -> Result<bool, Error> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(Error::invalid(field, "expected a boolean")),
    }
}

fn parse_u64(field: &str, v: &str) -> Result<u64, Error> {
    v.parse::<u64>()
        .map_err(|_| Error::invalid(field, "expected a non-negative integer"))
}

/// The `<service>/<key>` of a KV path, both checked as names (so `..`, control characters and
/// deeper paths are refused).
fn secret_path(rest: &[&str]) -> Result<(ServiceName, CredentialKey), Error> {
    match rest {
        [service, key] => Ok((ServiceName::new(*service)?, CredentialKey::new(*key)?)),
        _ => Err(Error::invalid(
            "path",
            "a KV path here is <service>/<key>: exactly two names",
        )),
    }
}

/// A 400 with Vault's own text, for the errors clients match on (the operation that failed was
/// already audited by vault-core).
fn bad_request(message: &str) -> Response {
    json_response(StatusCode::BAD_REQUEST, &json!({ "errors": [message] }))
}

/// Whether a request lists: the `LIST` verb, or `GET` with `?list=<bool>` true.
fn is_listing(method: &Method, q: &KvQuery) -> Result<bool, Error> {
    if method.as_str() == "LIST" {
        return Ok(true);
    }
    let flag = q
        .list
        .as_deref()
        .map(|v| parse_bool("list", v))
        .transpose()?;
    Ok(*method == Method::GET && flag == Some(true))
}

/// The answer for the mount itself (`/v1/secret`, `/v1/secret/`): a LIST there would list
/// every service, which this server does not do (400); anything else is 404.
fn mount_root(listing: bool) -> VaultError {
    if listing {
        Error::invalid(
            "path",
            "listing every service is not supported: list secret/metadata/<service>",
        )
        .into()
    } else {
        Error::NotFound("no such KV endpoint".into()).into()
    }
}

/// `ANY /v1/secret`: see [`mount_root`].
pub async fn dispatch_root(CallerVault(..): CallerVault, method: Method, uri: Uri) -> VaultResult {
    let q: KvQuery = parse_query(uri.query().unwrap_or(""))?;
    Err(mount_root(is_listing(&method, &q)?))
}

/// `ANY /v1/secret/{*path}`: routes by the path's first segment and the method (PUT ≡ POST;
/// LIST or `GET ?list=<bool>` lists).
pub async fn dispatch(
    CallerVault(vault, origin): CallerVault,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    ApiPath(path, ..): ApiPath<String, super::VaultApi>,
    extract::RawBody(body, ..): Raw,
) -> VaultResult {
    let q: KvQuery = parse_query(uri.query().unwrap_or(""))?;
    let listing = is_listing(&method, &q)?;
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let Some((&op, rest)) = segs.split_first() else {
        return Err(mount_root(listing));
    };
    let write = method == Method::POST || method == Method::PUT;
    let kv = Kv { vault, origin };
    match op {
        "metadata" if listing => kv.list(rest, &q).await,
        "data" => {
            let (service, key) = secret_path(rest)?;
            match method {
                Method::GET => kv.read(service, key, &q).await,
                Method::DELETE => kv.delete_latest(service, key).await,
                Method::PATCH => kv.patch(service, key, &headers, &body).await,
                _ if write => kv.write(service, key, &body).await,
                _ => Err(method_not_allowed()),
            }
        }
        "metadata" => {
            let (service, key) = secret_path(rest)?;
            match method {
                Method::GET => kv.read_metadata(service, key).await,
                Method::DELETE => kv.delete_metadata(service, key).await,
                _ if write => kv.write_metadata(service, key, &body).await,
                _ => Err(method_not_allowed()),
            }
        }
        "subkeys" if method == Method::GET => {
            let (service, key) = secret_path(rest)?;
            kv.subkeys(service, key, &q).await
        }
        "delete" | "undelete" | "destroy" if write => {
            let (service, key) = secret_path(rest)?;
            let change = match op {
                "delete" => VersionOp::Delete,
                "undelete" => VersionOp::Undelete,
                _ => VersionOp::Destroy,
            };
            kv.change_versions(service, key, change, &body).await
        }
        "subkeys" | "delete" | "undelete" | "destroy" => Err(method_not_allowed()),
        _ => Err(Error::NotFound("no such KV endpoint".into()).into()),
    }
}

fn method_not_allowed() -> VaultError {
    Error::MethodNotAllowed("method not allowed on this KV endpoint".into()).into()
}

/// `created_time` and friends: RFC 3339 UTC, `""` when absent.
fn time(t: Option<Timestamp>) -> String {
    t.map(|t| t.to_string()).unwrap_or_default()
}

/// A credential's metadata as KV `custom_metadata` (`null` when empty).
fn custom_metadata(m: &JsonObject) -> Value {
    if m.is_empty() {
        Value::Null
    } else {
        Value::Object(m.clone())
    }
}

/// The version metadata of KV answers.
fn version_metadata(info: &VersionInfo, custom: Value) -> Value {
    json!({
        "created_time": time(info.created_at),
        "custom_metadata": custom,
        "deletion_time": time(info.deleted_at),
        "destroyed": info.state == VersionState::Destroyed,
        "version": info.version,
    })
}

/// The `data` object of a write body: 400 when missing or not an object.
fn body_data(body: &JsonObject) -> Result<&JsonObject, Error> {
    match body.get("data") {
        None | Some(Value::Null) => Err(Error::invalid("data", "no data provided")),
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(Error::invalid("data", "expected a JSON object")),
    }
}

/// `options.cas` of a write body (a number, or a number in a string as Vault accepts).
fn body_cas(body: &JsonObject) -> Result<Option<u64>, Error> {
    let options = match body.get("options") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(o)) => o,
        Some(_) => return Err(Error::invalid("options", "expected a JSON object")),
    };
    match options.get("cas") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| Error::invalid("options.cas", "expected a non-negative integer")),
        Some(Value::String(s)) => parse_u64("options.cas", s).map(Some),
        Some(_) => Err(Error::invalid(
            "options.cas",
            "expected a non-negative integer",
        )),
    }
}

/// One request's KV operations: the caller's vault and the request's origin.
struct Kv {
    vault: Vault,
    origin: Origin,
}

impl Kv {
    pub(super) fn ok(&self, data: Value, warnings: Vec<String>) -> Response {
        json_response(StatusCode::OK, &wrap(&self.origin, data, warnings))
    }

    /// `GET data/<s>/<k>[?version=N]`: 200 with the data; 404 `{"errors":[]}` when missing;
    /// 404 with the wrapper and `data: null` when the version is deleted or destroyed.
    async fn read(self, service: ServiceName, key: CredentialKey, q: &KvQuery) -> VaultResult {
        let version = q
            .version
            .as_deref()
            .map(|v| parse_u64("version", v))
            .transpose()?;
        match kv::read(self.vault.credentials(), &service, &key, version).await? {
            KvRead::Found(c) => {
                let data = kv::decode(&c.value);
                let info = VersionInfo {
                    version: c.version,
                    created_at: Some(c.updated_at),
                    state: VersionState::Active,
                    deleted_at: None,
                };
                let metadata = version_metadata(&info, custom_metadata(&c.metadata));
                Ok(self.ok(json!({"data": data, "metadata": metadata}), vec![]))
            }
            KvRead::Gone(info) => {
                let custom = self.custom(&service, &key).await;
                let metadata = version_metadata(&info, custom);
                let body = wrap(
                    &self.origin,
                    json!({"data": null, "metadata": metadata}),
                    vec![],
                );
                Ok(json_response(StatusCode::NOT_FOUND, &body))
            }
        }
    }

    /// The credential's metadata as `custom_metadata`, `null` when it cannot be read.
    async fn custom(&self, service: &ServiceName, key: &CredentialKey) -> Value {
        match self.vault.credentials().info(key, service).await {
            Ok(i) => custom_metadata(&i.metadata),
            Err(_) => Value::Null,
        }
    }

    /// `POST|PUT data/<s>/<k>` `{"data":{...},"options":{"cas":N}}`: a new version.
    async fn write(self, service: ServiceName, key: CredentialKey, body: &[u8]) -> VaultResult {
        let body = parse_object(body)?;
        let warnings: Vec<String> = unknown_fields_warning(&body, &["data", "options"])
            .into_iter()
            .collect();
        let data = body_data(&body)?;
        let cas = body_cas(&body)?;
        self.put(service, key, data, cas, warnings).await
    }

    /// Writes `data` as the next version (compare-and-set on `cas`) and answers its metadata.
    async fn put(
        self,
        service: ServiceName,
        key: CredentialKey,
        data: &JsonObject,
        cas: Option<u64>,
        warnings: Vec<String>,
    ) -> VaultResult {
        let mut put = CredentialPut::new(service.clone(), key.clone(), kv::encode(data)?);
        put.expected_version = cas;
        let written = match self.vault.credentials().put(put).await {
            Ok(w) => w,
            Err(Error::Conflict(_)) if cas.is_some() => return Ok(bad_request(CAS_MISMATCH)),
            Err(e) => return Err(e.into()),
        };
        let creds = self.vault.credentials();
        let (info, custom) = match creds.info(&key, &service).await {
            Ok(i) if i.version == written.version => (
                VersionInfo {
                    version: i.version,
                    created_at: Some(i.updated_at),
                    state: VersionState::Active,
                    deleted_at: None,
                },
                custom_metadata(&i.metadata),
            ),
            // A caller that may write but not read: the version it wrote (stored: never
            // answered as refused), without its time or metadata, which it may not see.
            Err(Error::Forbidden(_)) => (
                VersionInfo {
                    version: written.version,
                    created_at: None,
                    state: VersionState::Active,
                    deleted_at: None,
                },
                Value::Null,
            ),
            // Another write came in between: that version's own info.
            _ => (
                kv::version_info(creds, &service, &key, written.version).await?,
                self.custom(&service, &key).await,
            ),
        };
        Ok(self.ok(version_metadata(&info, custom), warnings))
    }

    /// `PATCH data/<s>/<k>` (`Content-Type: application/merge-patch+json`): the current data
    /// merged with the body's `data` (RFC 7386: `null` removes a field), written as the next
    /// version with compare-and-set on the version read (or the body's `options.cas`).
    async fn patch(
        self,
        service: ServiceName,
        key: CredentialKey,
        headers: &HeaderMap,
        body: &[u8],
    ) -> VaultResult {
        let merge = headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';').next().is_some_and(|t| {
                    t.trim()
                        .eq_ignore_ascii_case("application/merge-patch+json")
                })
            });
        if !merge {
            return Ok(json_response(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                &json!({"errors": ["PATCH requires Content-Type of application/merge-patch+json"]}),
            ));
        }
        let body = parse_object(body)?;
        let warnings: Vec<String> = unknown_fields_warning(&body, &["data", "options"])
            .into_iter()
            .collect();
        let patch = body_data(&body)?;
        let cas = body_cas(&body)?;
        let current = match kv::read(self.vault.credentials(), &service, &key, None).await? {
            KvRead::Found(c) => c,
            KvRead::Gone(_) => return Err(Error::NotFound("deleted".into()).into()),
        };
        let mut data = Value::Object(kv::decode(&current.value));
        merge_patch(&mut data, &Value::Object(patch.clone()));
        let Value::Object(data) = data else {
            return Err(Error::Internal("a merge patch of an object is an object".into()).into());
        };
        let cas = cas.unwrap_or(current.version);
        self.put(service, key, &data, Some(cas), warnings).await
    }

    /// `DELETE data/<s>/<k>`: soft-deletes the current version; 204 (also when missing).
    async fn delete_latest(self, service: ServiceName, key: CredentialKey) -> VaultResult {
        let creds = self.vault.credentials();
        let current = match creds.versions(&key, &service, Some(1), None).await {
            Ok(v) => v.current_version,
            Err(Error::NotFound(_)) => return Ok(no_content()),
            Err(e) => return Err(e.into()),
        };
        match creds
            .change_version(&key, &service, current, VersionOp::Delete)
            .await
        {
            Ok(_) | Err(Error::NotFound(_)) => Ok(no_content()),
            Err(e) => Err(e.into()),
        }
    }

    /// `GET subkeys/<s>/<k>[?version=N]`: the data's structure with every leaf `null`.
    async fn subkeys(self, service: ServiceName, key: CredentialKey, q: &KvQuery) -> VaultResult {
        let version = q
            .version
            .as_deref()
            .map(|v| parse_u64("version", v))
            .transpose()?;
        match kv::read(self.vault.credentials(), &service, &key, version).await? {
            KvRead::Found(c) => {
                let subkeys = leaves_to_null(&Value::Object(kv::decode(&c.value)));
                let info = VersionInfo {
                    version: c.version,
                    created_at: Some(c.updated_at),
                    state: VersionState::Active,
                    deleted_at: None,
                };
                let metadata = version_metadata(&info, custom_metadata(&c.metadata));
                Ok(self.ok(json!({"metadata": metadata, "subkeys": subkeys}), vec![]))
            }
            KvRead::Gone(_) => Err(Error::NotFound("deleted".into()).into()),
        }
    }
}

/// RFC 7386 JSON merge patch of `target` by `patch`.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(JsonObject::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// `value` with every non-object replaced by `null`.
fn leaves_to_null(value: &Value) -> Value {
    match value {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), leaves_to_null(v)))
                .collect(),
        ),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_flags_parse_like_go() {
        for t in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_bool("list", t).ok(), Some(true), "{t}");
        }
        for f in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_bool("list", f).ok(), Some(false), "{f}");
        }
        for bad in ["yes", "", "tRuE", "2"] {
            assert!(parse_bool("list", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut t = json!({"a": "1", "b": {"c": 1, "d": 2}, "e": 3});
        merge_patch(
            &mut t,
            &json!({"a": "2", "b": {"c": null}, "e": null, "f": [1]}),
        );
        assert_eq!(t, json!({"a": "2", "b": {"d": 2}, "f": [1]}));
    }

    #[test]
    fn fail_paths_that_are_not_two_names() {
        for bad in [
            &[][..],
            &["a"],
            &["a", "b", "c"],
            &["..", "x"],
            &["a", ".."],
            &["a", "b c"],
        ] {
            assert!(secret_path(bad).is_err(), "{bad:?}");
        }
        assert!(secret_path(&["app", "db"]).is_ok());
    }
}
