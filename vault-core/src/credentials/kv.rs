//! The KV v2 view of credentials (HashiCorp Vault's KV secrets engine, version 2): a KV secret
//! *is* a credential, so one store, one encryption, one audit log and one policy model serve
//! both APIs.
//!
//! - Paths: the KV path `<service>/<key>` is credential `key` of `service` (both checked as
//!   names, so `..` and `/` inside a name are refused); its policy path is
//!   `credentials/<service>/<key>`.
//! - Values: a KV secret's data is a JSON object, a credential's value a string. [`encode`] and
//!   [`decode`] map one onto the other without loss: `{"value": "<text>"}` alone is stored as
//!   the plain text (so a KV secret written that way is the same credential the service API
//!   reads, and a service-API credential reads through KV as `{"value": ...}`); any other
//!   object is stored as its JSON text. A stored value that is the JSON text of an object reads
//!   back as that object, anything else as `{"value": <text>}`; the one case where the two would
//!   meet (a lone `value` whose text is itself a JSON object) is stored as JSON text, so
//!   `decode(encode(d)) == d` for every object `d`.
//! - Versions, compare-and-set, `max_versions`, soft delete, undelete and destroy are the
//!   credential's own (see [`super::lifecycle`]).
//!
//! What this adds to the credential operations is the reading rule KV clients depend on:
//! [`read`] tells a missing secret apart from a version that exists but is deleted or
//! destroyed, with that version's info.

use crate::JsonObject;
use crate::crypto::SecretString;
use crate::error::{Error, Result};
use crate::names::{CredentialKey, ServiceName};

use super::{Credential, CredentialsApi, VersionInfo, VersionState};

/// The field a single-value KV secret keeps its value in (`{"value": "..."}`).
pub const VALUE_FIELD: &str = "value";

/// The credential value a KV secret's `data` is stored as (see the module doc). The result is
/// checked by the credential rules on put (non-empty, at most
/// [`MAX_VALUE_BYTES`](super::MAX_VALUE_BYTES)).
pub fn encode(data: &JsonObject) -> Result<SecretString> {
    if data.len() == 1
        && let Some(serde_json::Value::String(text)) = data.get(VALUE_FIELD)
        && !is_json_object(text)
    {
        return Ok(SecretString::new(text.clone()));
    }
    crate::api::check_json_depth("data", data)?;
    let json = serde_json::to_string(data).map_err(|_| Error::invalid("data", "is not JSON"))?;
    Ok(SecretString::new(json))
}

/// The KV `data` of a stored credential value (see the module doc).
pub fn decode(value: &SecretString) -> JsonObject {
    let text = value.expose_secret();
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text) {
        return map;
    }
    let mut map = JsonObject::new();
    map.insert(
        VALUE_FIELD.to_string(),
        serde_json::Value::String(text.to_string()),
    );
    map
}

fn is_json_object(text: &str) -> bool {
    matches!(
        serde_json::from_str::<serde_json::Value>(text),
        Ok(serde_json::Value::Object(_))
    )
}

/// What reading one version of a KV secret found.
#[derive(Debug)]
pub enum KvRead {
    /// The version is served: the credential (its value is the KV data, see [`decode`]).
    Found(Box<Credential>),
    /// The version exists but is soft-deleted or destroyed: its info, never a value.
    Gone(VersionInfo),
}

/// Reads version `version` (the current one when `None` or `Some(0)`, as KV v2 does) of
/// credential `key` of `service`. `not_found` when the credential or that version does not
/// exist (never written, pruned, or the credential deleted); [`KvRead::Gone`] when it exists
/// but is deleted or destroyed. Both reads go through the choke point as `read`s of the
/// credential.
pub async fn read(
    credentials: &dyn CredentialsApi,
    service: &ServiceName,
    key: &CredentialKey,
    version: Option<u64>,
) -> Result<KvRead> {
    let version = version.filter(|v| *v > 0);
    let got = match version {
        None => credentials.get(key, Some(service)).await,
        Some(v) => credentials.get_version(key, Some(service), v).await,
    };
    match got {
        Ok(c) => Ok(KvRead::Found(Box::new(c))),
        Err(Error::NotFound(msg)) => {
            // Versions are listed newest first, older than `after`: `after = v + 1` starts at v.
            let after = version.map(|v| v.saturating_add(1));
            let listed = credentials.versions(key, service, Some(1), after).await?;
            match listed.versions.into_iter().next() {
                Some(info)
                    if version.is_none_or(|v| v == info.version)
                        && info.state != VersionState::Active =>
                {
                    Ok(KvRead::Gone(info))
                }
                _ => Err(Error::NotFound(msg)),
            }
        }
        Err(e) => Err(e),
    }
}

/// The info of version `version` of credential `key` of `service` (a `read` of the
/// credential); `not_found` when it is not kept.
pub async fn version_info(
    credentials: &dyn CredentialsApi,
    service: &ServiceName,
    key: &CredentialKey,
    version: u64,
) -> Result<VersionInfo> {
    let listed = credentials
        .versions(key, service, Some(1), Some(version.saturating_add(1)))
        .await?;
    listed
        .versions
        .into_iter()
        .next()
        .filter(|v| v.version == version)
        .ok_or_else(|| Error::NotFound(format!("Credential '{key}' has no kept version {version}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: serde_json::Value) -> JsonObject {
        match v {
            serde_json::Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn a_lone_value_is_stored_as_plain_text() {
        let d = obj(json!({"value": "sk-planted"}));
        let stored = encode(&d).expect("encode");
        assert_eq!(stored.expose_secret(), "sk-planted");
        assert_eq!(decode(&stored), d);
    }

    #[test]
    fn other_objects_are_stored_as_json_text() {
        let d = obj(json!({"user": "admin", "password": "s3cr3t", "n": 1, "o": {"x": null}}));
        let stored = encode(&d).expect("encode");
        assert_eq!(
            stored.expose_secret(),
            r#"{"n":1,"o":{"x":null},"password":"s3cr3t","user":"admin"}"#
        );
        assert_eq!(decode(&stored), d);
    }

    #[test]
    fn plain_credentials_read_as_a_lone_value() {
        for text in ["abc", "[1,2]", "42", "\"q\"", " {not json"] {
            let got = decode(&SecretString::new(text.to_string()));
            assert_eq!(got, obj(json!({ "value": text })), "{text}");
        }
    }

    #[test]
    fn every_object_round_trips() {
        let cases = [
            json!({}),
            json!({"value": "{\"a\":1}"}),
            json!({"value": " {\"a\":1}"}),
            json!({"value": 5}),
            json!({"value": "x", "other": "y"}),
            json!({"a": [1, {"b": true}], "value": null}),
        ];
        for d in cases {
            let d = obj(d);
            assert_eq!(decode(&encode(&d).expect("encode")), d, "{d:?}");
        }
    }

    #[test]
    fn fail_data_nested_too_deep() {
        let mut v = json!("leaf");
        for _ in 0..100 {
            v = json!({ "n": v });
        }
        let e = encode(&obj(v)).expect_err("too deep");
        assert_eq!(e.field(), Some("data"));
    }
}
