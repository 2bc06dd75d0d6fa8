//! Credential rotation through the public API, on a memory store with a manual clock:
//! `rotate_every`, the due listing, health's overdue count, generated values; and, for every
//! lifecycle operation, its capability and that a planted value reaches neither the audit log,
//! nor an error, nor the store in the clear.

use std::time::Duration;

use vault_core::prelude::*;
use vault_core::{
    Capability, Charset, CredentialSettings, GeneratePolicy, HealthStatus, PageRequest,
    RotateEvery, Rule, TokenCreate, Vault, VersionOp,
};

use super::support::{ckey, contains, cput, dump, memory_vault, svc};

async fn put_versions(v: &Vault, n: u64) {
    for i in 1..=n {
        v.credentials()
            .put(cput("s", "K", format!("planted-value-{i}")))
            .await
            .expect("put");
    }
}

fn every(s: &str) -> RotateEvery {
    RotateEvery::parse(s).expect("valid period")
}

#[tokio::test]
async fn cred_rotation_due_listing_health_and_generated_values() {
    let (v, clock, _) = memory_vault().await;
    let (k, s) = (ckey("K"), svc("s"));
    let mut put = cput("s", "K", "planted-initial");
    put.rotate_every = Some(every("7d"));
    v.credentials().put(put).await.expect("put");
    v.credentials()
        .put(cput("s", "OTHER", "x"))
        .await
        .expect("no rotation");
    let info = &v
        .credentials()
        .list(&s, PageRequest::first())
        .await
        .expect("list")[0];
    assert_eq!(info.rotate_every.map(|r| r.to_string()), Some("7d".into()));
    assert!(!info.due);

    // Due means now - updated_at >= rotate_every: not one millisecond before.
    clock.advance(Duration::from_secs(7 * 86_400) - Duration::from_millis(1));
    assert!(
        v.credentials()
            .due(&s, PageRequest::first())
            .await
            .expect("due")
            .is_empty()
    );
    let h = v.health().await;
    assert_eq!((h.status, h.overdue_credentials), (HealthStatus::Ok, 0));
    clock.advance(Duration::from_millis(1));
    let due = v
        .credentials()
        .due(&s, PageRequest::first())
        .await
        .expect("due");
    assert_eq!(
        due.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(),
        ["K"]
    );
    assert!(due[0].due);
    let h = v.health().await;
    assert_eq!(
        (h.status, h.overdue_credentials),
        (HealthStatus::Degraded, 1)
    );
    assert!(h.message.contains("1 credential"), "{}", h.message);

    // Rotation: a new generated value; the old one stays readable; no longer due.
    let policy = GeneratePolicy {
        length: 40,
        charset: Charset::Hex,
    };
    let w = v
        .credentials()
        .rotate(&k, &s, policy)
        .await
        .expect("rotate");
    assert_eq!(w.version, 2);
    let c = v.credentials().get(&k, None).await.expect("get");
    let value = c.value.expose_secret();
    assert_eq!(value.len(), 40);
    assert!(
        value
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_eq!(
        v.credentials()
            .get_version(&k, None, 1)
            .await
            .expect("v1")
            .value
            .expose_secret(),
        "planted-initial"
    );
    assert!(
        v.credentials()
            .due(&s, PageRequest::first())
            .await
            .expect("due")
            .is_empty()
    );
    assert_eq!(v.health().await.status, HealthStatus::Ok);
    // Two generated values differ.
    v.credentials()
        .rotate(&k, &s, policy)
        .await
        .expect("rotate");
    let again = v.credentials().get(&k, None).await.expect("get");
    assert_ne!(again.value.expose_secret(), value);

    // Clearing rotate_every takes it out of the due index; deleting the credential too.
    clock.advance(Duration::from_secs(30 * 86_400));
    assert_eq!(v.health().await.overdue_credentials, 1);
    let cleared = CredentialSettings {
        max_versions: None,
        rotate_every: Some(None),
    };
    let info = v
        .credentials()
        .set_settings(&k, &s, cleared)
        .await
        .expect("clear");
    assert_eq!((info.rotate_every, info.due), (None, false));
    assert_eq!(v.health().await.overdue_credentials, 0);
    let set = CredentialSettings {
        max_versions: None,
        rotate_every: Some(Some(every("12h"))),
    };
    v.credentials()
        .set_settings(&k, &s, set)
        .await
        .expect("set");
    assert_eq!(v.health().await.overdue_credentials, 1);
    v.credentials().delete(&k, None).await.expect("delete");
    assert_eq!(v.health().await.status, HealthStatus::Ok);
}

#[tokio::test]
async fn cred_due_listing_is_paged() {
    let (v, clock, _) = memory_vault().await;
    for k in ["A", "B", "C"] {
        let mut put = cput("s", k, "x");
        put.rotate_every = Some(every("1h"));
        v.credentials().put(put).await.expect("put");
    }
    clock.advance(Duration::from_secs(3600));
    let s = svc("s");
    let first = v
        .credentials()
        .due(&s, PageRequest::new(Some(2), None))
        .await
        .expect("page 1");
    assert_eq!(
        first.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(),
        ["A", "B"]
    );
    assert_eq!(first.next.as_deref(), Some("B"));
    let rest = v
        .credentials()
        .due(&s, PageRequest::new(Some(2), first.next.clone()))
        .await
        .expect("page 2");
    assert_eq!(
        rest.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(),
        ["C"]
    );
    assert_eq!(rest.next, None);
}

/// Health counts only what is due, across services and past one scan batch (1024 entries),
/// and no due entry outlives a cleared period or a deleted credential.
#[tokio::test]
async fn cred_health_counts_the_overdue_of_every_service() {
    let (v, clock, store) = memory_vault().await;
    for (s, k, every_) in [("a", "H1", "1h"), ("b", "H2", "2h"), ("a", "H3", "3h")] {
        let mut put = cput(s, k, "x");
        put.rotate_every = Some(every(every_));
        v.credentials().put(put).await.expect("put");
    }
    clock.advance(Duration::from_secs(2 * 3600));
    assert_eq!(v.health().await.overdue_credentials, 2);
    let due_b = v
        .credentials()
        .due(&svc("b"), PageRequest::first())
        .await
        .expect("due");
    assert_eq!(
        due_b.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(),
        ["H2"]
    );
    for i in 0..1030 {
        let mut put = cput("many", &format!("K{i:04}"), "x");
        put.rotate_every = Some(every("1h"));
        v.credentials().put(put).await.expect("put");
    }
    clock.advance(Duration::from_secs(3600));
    assert_eq!(v.health().await.overdue_credentials, 1033);
    // Clearing and deleting leave no entry behind in either index.
    let clear = CredentialSettings {
        max_versions: None,
        rotate_every: Some(None),
    };
    v.credentials()
        .set_settings(&ckey("H1"), &svc("a"), clear)
        .await
        .expect("clear");
    v.credentials()
        .delete(&ckey("H2"), None)
        .await
        .expect("delete");
    assert_eq!(v.health().await.overdue_credentials, 1031);
    let left = |prefix: &'static [u8]| {
        let store = store.clone();
        async move {
            store
                .scan(prefix, None, usize::MAX)
                .await
                .expect("scan")
                .len()
        }
    };
    assert_eq!(
        (left(b"cred/d/").await, left(b"cred/t/").await),
        (1031, 1031)
    );
}

#[tokio::test]
async fn cred_lifecycle_never_puts_a_value_in_audit_errors_or_store() {
    let (v, clock, store) = memory_vault().await;
    let planted = "planted-lifecycle-0xbeef";
    let mut put = cput("s", "K", planted);
    put.rotate_every = Some(every("1h"));
    v.credentials().put(put).await.expect("put");
    v.credentials()
        .put(cput("s", "K", planted))
        .await
        .expect("put");
    let (k, s) = (ckey("K"), svc("s"));
    let c = v.credentials();
    let mut shown = String::new();
    shown += &format!("{:?}", c.versions(&k, &s, None, None).await);
    shown += &format!("{:?}", c.change_version(&k, &s, 1, VersionOp::Delete).await);
    shown += &format!(
        "{:?}",
        c.get_version(&k, Some(&s), 1).await.map(|c| c.version)
    );
    shown += &format!(
        "{:?}",
        c.change_version(&k, &s, 1, VersionOp::Destroy).await
    );
    shown += &format!(
        "{:?}",
        c.change_version(&k, &s, 1, VersionOp::Undelete).await
    );
    shown += &format!("{:?}", c.rotate(&k, &s, GeneratePolicy::default()).await);
    clock.advance(Duration::from_secs(7200));
    shown += &format!("{:?}", c.due(&s, PageRequest::first()).await);
    shown += &format!(
        "{:?}",
        c.set_settings(&k, &s, CredentialSettings::default()).await
    );
    shown += &format!("{:?}", v.health().await);
    assert!(!shown.contains(planted), "{shown}");
    // The value the rotation generated is a secret too.
    let generated = c.get(&k, None).await.expect("get").value;
    let generated = generated.expose_secret().to_string();
    assert!(!shown.contains(&generated));
    v.flush().await.expect("flush");
    let mut export = v.audit().export().await.expect("export");
    let mut ops = Vec::new();
    loop {
        let batch = export.next_batch().await.expect("batch");
        if batch.is_empty() {
            break;
        }
        for e in batch {
            let line = e.to_json_line().expect("json");
            assert!(
                !line.contains(planted) && !line.contains(&generated),
                "{line}"
            );
            ops.push(e.op);
        }
    }
    for op in [
        "credentials.versions",
        "credentials.delete_version",
        "credentials.get_version",
        "credentials.destroy_version",
        "credentials.undelete_version",
        "credentials.rotate",
        "credentials.due",
        "credentials.set_settings",
    ] {
        assert!(ops.iter().any(|o| o == op), "{op} not audited: {ops:?}");
    }
    for (key, val) in dump(&store).await {
        for secret in [planted.as_bytes(), generated.as_bytes()] {
            assert!(!contains(&key, secret) && !contains(&val, secret));
        }
    }
}

#[tokio::test]
async fn cred_lifecycle_operations_need_their_capability() {
    let (v, _, _) = memory_vault().await;
    put_versions(&v, 2).await;
    let (k, s) = (ckey("K"), svc("s"));
    let created = v
        .tokens()
        .create(TokenCreate {
            name: "reader".into(),
            rules: vec![Rule {
                path: "credentials/s/*".into(),
                capabilities: vec![Capability::Read, Capability::List],
            }],
            ttl: None,
            llm: Default::default(),
        })
        .await
        .expect("token");
    let reader = v
        .with_token(created.token.expose_secret())
        .await
        .expect("with_token");
    let c = reader.credentials();
    c.versions(&k, &s, None, None)
        .await
        .expect("read may list versions");
    c.due(&s, PageRequest::first())
        .await
        .expect("list may list due");
    for op in VersionOp::ALL {
        let e = c
            .change_version(&k, &s, 1, op)
            .await
            .expect_err("forbidden");
        assert_eq!(e.code(), "forbidden", "{op:?}");
    }
    let e = c
        .rotate(&k, &s, GeneratePolicy::default())
        .await
        .expect_err("rotate");
    assert_eq!(e.code(), "forbidden");
    let e = c
        .set_settings(&k, &s, CredentialSettings::default())
        .await
        .expect_err("settings");
    assert_eq!(e.code(), "forbidden");
}

/// A due page that ends on a credential the caller may not read gives a sealed cursor as its
/// `next`, never that name; the cursor continues the listing.
#[tokio::test]
async fn cred_due_listing_never_names_a_hidden_credential() {
    let (v, clock, _) = memory_vault().await;
    for k in ["A1", "B1", "C1"] {
        let mut put = cput("s", k, "x");
        put.rotate_every = Some(every("1h"));
        v.credentials().put(put).await.expect("put");
    }
    clock.advance(Duration::from_secs(3600));
    let rule = |path: &str, caps: &[Capability]| Rule {
        path: path.into(),
        capabilities: caps.to_vec(),
    };
    let created = v
        .tokens()
        .create(TokenCreate {
            name: "some".into(),
            rules: vec![
                rule("credentials/s/*", &[Capability::List]),
                rule("credentials/s/A*", &[Capability::Read]),
                rule("credentials/s/C*", &[Capability::Read]),
            ],
            ttl: None,
            llm: Default::default(),
        })
        .await
        .expect("token");
    let some = v
        .with_token(created.token.expose_secret())
        .await
        .expect("with_token");
    let s = svc("s");
    let first = some
        .credentials()
        .due(&s, PageRequest::new(Some(2), None))
        .await
        .expect("page 1");
    assert_eq!(
        first.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(),
        ["A1"]
    );
    let cursor = first.next.clone().expect("more follow");
    assert!(
        cursor.starts_with('~') && !cursor.contains("B1"),
        "{cursor}"
    );
    let rest = some
        .credentials()
        .due(&s, PageRequest::new(Some(2), Some(cursor)))
        .await
        .expect("page 2");
    assert_eq!(
        rest.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(),
        ["C1"]
    );
    assert_eq!(rest.next, None);
    // A forged cursor is refused naming `after`.
    let e = some
        .credentials()
        .due(&s, PageRequest::new(Some(2), Some("~AAAA".into())))
        .await
        .expect_err("forged");
    assert_eq!(e.field(), Some("after"));
}
