//! The KV v2 view of credentials through the public API, on a memory store: `kv::read` tells a
//! missing secret or version from a deleted or destroyed one (with its info, never a value),
//! `Credentials::info` reads a credential without its value, and a KV write is a credential.

use vault_core::credentials::kv::{self, KvRead};
use vault_core::prelude::*;
use vault_core::{Error, JsonObject, VersionOp, VersionState};

use super::support::{ckey, cput, memory_vault, svc};

fn data(pairs: &[(&str, &str)]) -> JsonObject {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
        .collect()
}

#[tokio::test]
async fn kv_read_tells_missing_from_deleted_and_destroyed() {
    let (v, _clock, _) = memory_vault().await;
    let creds = v.credentials();
    let (s, k) = (svc("app"), ckey("db"));
    let d1 = data(&[("user", "u"), ("password", "planted-kv-1")]);
    creds
        .put(cput("app", "db", kv::encode(&d1).expect("encode")))
        .await
        .expect("put 1");
    creds
        .put(cput(
            "app",
            "db",
            kv::encode(&data(&[("value", "plain")])).expect("encode"),
        ))
        .await
        .expect("put 2");

    // Current and version 1 (0 = current, as KV v2 does).
    for (version, want, n) in [
        (None, data(&[("value", "plain")]), 2),
        (Some(0), data(&[("value", "plain")]), 2),
        (Some(1), d1.clone(), 1),
    ] {
        match kv::read(creds, &s, &k, version).await.expect("read") {
            KvRead::Found(c) => {
                assert_eq!(kv::decode(&c.value), want);
                assert_eq!(c.version, n);
            }
            KvRead::Gone(i) => panic!("gone: {i:?}"),
        }
    }
    // The lone value is the credential's plain value.
    let c = creds.get(&k, Some(&s)).await.expect("get");
    assert_eq!(c.value.expose_secret(), "plain");

    // Missing secret and missing version: not_found.
    for (key, version) in [("nope", None), ("db", Some(9))] {
        let e = kv::read(creds, &s, &ckey(key), version)
            .await
            .expect_err("missing");
        assert!(matches!(e, Error::NotFound(_)), "{e:?}");
    }

    // Deleted current, destroyed version 1: Gone with the version's info.
    creds
        .change_version(&k, &s, 2, VersionOp::Delete)
        .await
        .expect("delete");
    creds
        .change_version(&k, &s, 1, VersionOp::Destroy)
        .await
        .expect("destroy");
    for (version, n, state) in [
        (None, 2, VersionState::Deleted),
        (Some(1), 1, VersionState::Destroyed),
    ] {
        match kv::read(creds, &s, &k, version).await.expect("read") {
            KvRead::Gone(i) => {
                assert_eq!((i.version, i.state), (n, state));
                assert!(i.deleted_at.is_some());
            }
            KvRead::Found(_) => panic!("served a deleted version"),
        }
    }

    // info: the credential without its value, while its current version is deleted too.
    let info = creds.info(&k, &s).await.expect("info");
    assert_eq!(info.version, 2);
    assert_eq!(info.state, VersionState::Deleted);
    let e = creds.info(&ckey("nope"), &s).await.expect_err("missing");
    assert!(matches!(e, Error::NotFound(_)), "{e:?}");
}
