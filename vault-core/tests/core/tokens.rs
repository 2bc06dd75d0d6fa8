//! Tokens with scoped policies, through the embedded API: a vault opened with a token obeys
//! its rules exactly as the server would.

use std::time::Duration;

use vault_core::prelude::*;
use vault_core::store::Write;
use vault_core::{Capability, ConfigPut, PageRequest, Rule, TokenCreate, Vault};

use super::support::{ckey, contains, cput, dump, memory_vault, sid, svc};

fn rule(path: &str, caps: &[Capability]) -> Rule {
    Rule {
        path: path.into(),
        capabilities: caps.to_vec(),
    }
}

fn create(name: &str, rules: Vec<Rule>) -> TokenCreate {
    TokenCreate {
        name: name.into(),
        rules,
        ttl: None,
        llm: Default::default(),
    }
}

/// The trading engine's services: two broker keys and a config.
async fn seeded() -> (
    Vault,
    vault_core::ManualClock,
    vault_core::store::SharedStore,
) {
    let (v, clock, store) = memory_vault().await;
    for k in ["BITVAVO_READONLY_KEY", "BITVAVO_TRADE_KEY"] {
        v.credentials()
            .put(cput("fxshinobi", k, format!("value-of-{k}")))
            .await
            .expect("seed");
    }
    v.configs()
        .put(&svc("fxshinobi"), ConfigPut::new(sid("default")))
        .await
        .expect("config");
    (v, clock, store)
}

async fn token_vault(root: &Vault, rules: Vec<Rule>) -> (Vault, String, String) {
    let created = root
        .tokens()
        .create(create("t", rules))
        .await
        .expect("create");
    let v = root
        .with_token(created.token.expose_secret())
        .await
        .expect("with_token");
    (
        v,
        created.token.expose_secret().to_string(),
        created.info.id,
    )
}

fn code<T: std::fmt::Debug>(r: vault_core::Result<T>) -> String {
    r.expect_err("must fail").code().to_string()
}

#[tokio::test]
async fn scanner_reads_only_its_key_and_executor_is_the_mirror_image() {
    let (root, _, _) = seeded().await;
    let s = svc("fxshinobi");
    let (scanner, _, _) = token_vault(
        &root,
        vec![rule(
            "credentials/fxshinobi/BITVAVO_READONLY_*",
            &[Capability::Read],
        )],
    )
    .await;
    let c = scanner
        .credentials()
        .get(&ckey("BITVAVO_READONLY_KEY"), Some(&s))
        .await
        .expect("scanner reads the read-only key");
    assert_eq!(c.value.expose_secret(), "value-of-BITVAVO_READONLY_KEY");
    // Without a service too: resolution stays within what it may read.
    scanner
        .credentials()
        .get(&ckey("BITVAVO_READONLY_KEY"), None)
        .await
        .expect("resolved");
    let err = scanner
        .credentials()
        .get(&ckey("BITVAVO_TRADE_KEY"), Some(&s))
        .await
        .expect_err("trade key");
    assert_eq!(err.code(), "forbidden");
    assert!(
        err.to_string()
            .contains("may not read credentials/fxshinobi/BITVAVO_TRADE_KEY"),
        "{err}"
    );
    assert!(
        !err.to_string().contains("READONLY_*"),
        "rules are not shown"
    );
    assert_eq!(
        code(
            scanner
                .credentials()
                .get(&ckey("BITVAVO_TRADE_KEY"), None)
                .await
        ),
        "forbidden"
    );
    assert_eq!(
        code(
            scanner
                .credentials()
                .put(cput("fxshinobi", "BITVAVO_READONLY_KEY", "x"))
                .await
        ),
        "forbidden"
    );
    assert_eq!(
        code(
            scanner
                .credentials()
                .delete(&ckey("BITVAVO_READONLY_KEY"), Some(&s))
                .await
        ),
        "forbidden"
    );
    assert_eq!(
        code(scanner.configs().get(&s, &sid("default"), None).await),
        "forbidden"
    );
    assert_eq!(
        code(scanner.configs().list(&s, PageRequest::first()).await),
        "forbidden"
    );

    let (executor, _, _) = token_vault(
        &root,
        vec![
            rule("credentials/fxshinobi/BITVAVO_TRADE_*", &[Capability::Read]),
            rule("configs/fxshinobi/*", &[Capability::Read, Capability::List]),
        ],
    )
    .await;
    executor
        .credentials()
        .get(&ckey("BITVAVO_TRADE_KEY"), Some(&s))
        .await
        .expect("executor reads the trade key");
    assert_eq!(
        code(
            executor
                .credentials()
                .get(&ckey("BITVAVO_READONLY_KEY"), Some(&s))
                .await
        ),
        "forbidden"
    );
    executor
        .configs()
        .get(&s, &sid("default"), None)
        .await
        .expect("config");
    assert_eq!(
        executor
            .configs()
            .list(&s, PageRequest::first())
            .await
            .expect("list")
            .items
            .len(),
        1
    );
    assert_eq!(
        code(
            executor
                .configs()
                .put(&s, ConfigPut::new(sid("default")))
                .await
        ),
        "forbidden"
    );
}

#[tokio::test]
async fn each_capability_is_granted_only_where_its_glob_matches() {
    let (root, _, _) = seeded().await;
    let s = svc("fxshinobi");
    let other = svc("other");
    root.credentials()
        .put(cput("other", "K", "v"))
        .await
        .expect("seed other");
    for cap in [
        Capability::Read,
        Capability::Write,
        Capability::Delete,
        Capability::List,
    ] {
        let (t, _, _) = token_vault(&root, vec![rule("credentials/fxshinobi/**", &[cap])]).await;
        let read = t
            .credentials()
            .get(&ckey("BITVAVO_READONLY_KEY"), Some(&s))
            .await;
        let write = t.credentials().put(cput("fxshinobi", "NEW", "v")).await;
        let list = t.credentials().list(&s, PageRequest::first()).await;
        let denied_elsewhere = [
            code(t.credentials().get(&ckey("K"), Some(&other)).await),
            code(t.credentials().put(cput("other", "K", "w")).await),
            code(t.credentials().list(&other, PageRequest::first()).await),
            code(t.credentials().delete(&ckey("K"), Some(&other)).await),
        ];
        assert!(
            denied_elsewhere.iter().all(|c| c == "forbidden"),
            "{cap:?}: {denied_elsewhere:?}"
        );
        assert_eq!(read.is_ok(), cap == Capability::Read, "{cap:?} read");
        assert_eq!(write.is_ok(), cap == Capability::Write, "{cap:?} write");
        assert_eq!(list.is_ok(), cap == Capability::List, "{cap:?} list");
        if cap == Capability::Delete {
            t.credentials()
                .delete(&ckey("BITVAVO_TRADE_KEY"), Some(&s))
                .await
                .expect("delete allowed");
            root.credentials()
                .put(cput("fxshinobi", "BITVAVO_TRADE_KEY", "again"))
                .await
                .expect("restore");
        } else {
            assert_eq!(
                code(
                    t.credentials()
                        .delete(&ckey("BITVAVO_TRADE_KEY"), Some(&s))
                        .await
                ),
                "forbidden"
            );
        }
        // Admin is for tokens only: none of these may manage tokens.
        assert_eq!(
            code(t.tokens().create(create("x", vec![])).await),
            "forbidden"
        );
    }
}

#[tokio::test]
async fn a_listing_leaves_out_what_the_token_may_not_read() {
    let (root, _, _) = seeded().await;
    let (t, _, _) = token_vault(
        &root,
        vec![
            rule("credentials/fxshinobi/*", &[Capability::List]),
            rule(
                "credentials/fxshinobi/BITVAVO_READONLY_*",
                &[Capability::Read],
            ),
        ],
    )
    .await;
    let page = t
        .credentials()
        .list(&svc("fxshinobi"), PageRequest::first())
        .await
        .expect("list");
    assert_eq!(
        page.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(),
        ["BITVAVO_READONLY_KEY"]
    );
}

/// Paging a listing one record at a time: a page that ends on a record the token may not
/// read gives an opaque cursor as `next`, never that record's name; following the cursors
/// lists exactly what the token may read. A forged cursor, or one of another listing, is
/// refused.
#[tokio::test]
async fn page_cursors_never_name_a_record_the_token_may_not_read() {
    let (root, _, _) = seeded().await;
    for k in [
        "A_SECRET_ONE",
        "B_SECRET_TWO",
        "C_VISIBLE",
        "D_SECRET_THREE",
    ] {
        root.credentials()
            .put(cput("fx", k, "v"))
            .await
            .expect("put");
    }
    let (t, _, _) = token_vault(
        &root,
        vec![
            rule("credentials/fx/*", &[Capability::List]),
            rule("credentials/fx/C_*", &[Capability::Read]),
            rule("configs/fx/*", &[Capability::List]),
        ],
    )
    .await;
    let (mut seen, mut nexts, mut after) = (Vec::new(), Vec::new(), None);
    loop {
        let page = t
            .credentials()
            .list(&svc("fx"), PageRequest::new(Some(1), after.clone()))
            .await
            .expect("list");
        seen.extend(page.iter().map(|c| c.key.to_string()));
        match page.next.clone() {
            Some(n) => {
                nexts.push(n.clone());
                after = Some(n);
            }
            None => break,
        }
    }
    assert_eq!(seen, ["C_VISIBLE"]);
    assert_eq!(nexts.len(), 3, "{nexts:?}");
    assert!(nexts.iter().all(|n| !n.contains("SECRET")), "{nexts:?}");
    assert!(
        nexts[0].starts_with('~') && nexts[1].starts_with('~'),
        "{nexts:?}"
    );
    assert_eq!(
        nexts[2], "C_VISIBLE",
        "a page ending on a visible record names it"
    );
    // The root sees every name as plain cursors.
    let page = root
        .credentials()
        .list(&svc("fx"), PageRequest::new(Some(1), None))
        .await
        .expect("list");
    assert_eq!(page.next.as_deref(), Some("A_SECRET_ONE"));

    let mut forged = nexts[0].clone();
    forged.push('A');
    for bad in [forged, "~AAAA".to_string()] {
        let e = t
            .credentials()
            .list(&svc("fx"), PageRequest::new(Some(1), Some(bad)))
            .await
            .expect_err("forged");
        assert_eq!((e.code(), e.field()), ("invalid", Some("after")));
    }
    let e = t
        .configs()
        .list(
            &svc("fx"),
            PageRequest::new(Some(1), Some(nexts[0].clone())),
        )
        .await
        .expect_err("another listing's cursor");
    assert_eq!(e.field(), Some("after"));
}

#[tokio::test]
async fn tokens_mint_only_within_their_own_rules_and_never_outlive_their_creator() {
    let (root, clock, _) = seeded().await;
    let admin_rules = vec![
        rule("tokens/*", &[Capability::Admin]),
        rule("credentials/fxshinobi/BITVAVO_*", &[Capability::Read]),
    ];
    let created = root
        .tokens()
        .create(TokenCreate {
            ttl: Some(Duration::from_secs(3600)),
            ..create("ops", admin_rules)
        })
        .await
        .expect("create");
    let ops = root
        .with_token(created.token.expose_secret())
        .await
        .expect("ops");
    let err = ops
        .tokens()
        .create(create(
            "broader",
            vec![
                rule(
                    "credentials/fxshinobi/BITVAVO_READONLY_*",
                    &[Capability::Read],
                ),
                rule("credentials/fxshinobi/*", &[Capability::Read]),
            ],
        ))
        .await
        .expect_err("broader");
    assert_eq!(err.code(), "forbidden");
    assert!(err.to_string().contains("rules[1]"), "{err}");
    let err = ops
        .tokens()
        .create(create(
            "writer",
            vec![rule(
                "credentials/fxshinobi/BITVAVO_KEY",
                &[Capability::Write],
            )],
        ))
        .await
        .expect_err("more capabilities");
    assert!(err.to_string().contains("write"), "{err}");
    let child = ops
        .tokens()
        .create(create(
            "scanner",
            vec![rule(
                "credentials/fxshinobi/BITVAVO_READONLY_*",
                &[Capability::Read],
            )],
        ))
        .await
        .expect("a narrower token");
    assert_eq!(child.info.expires_at, created.info.expires_at);
    let child_vault = root
        .with_token(child.token.expose_secret())
        .await
        .expect("child");
    clock.advance(Duration::from_secs(3600));
    let err = child_vault
        .credentials()
        .get(&ckey("BITVAVO_READONLY_KEY"), None)
        .await
        .expect_err("expired with its creator");
    assert_eq!(err.code(), "unauthorized");
    assert!(err.to_string().contains("expired"));
    assert_eq!(
        code(root.with_token(created.token.expose_secret()).await),
        "unauthorized"
    );
}

#[tokio::test]
async fn a_revoked_token_is_refused_from_the_next_operation_and_stays_revoked() {
    let (root, _, store) = seeded().await;
    let (t, token, id) =
        token_vault(&root, vec![rule("credentials/**", &[Capability::Read])]).await;
    t.credentials()
        .get(&ckey("BITVAVO_TRADE_KEY"), None)
        .await
        .expect("works");
    let before = dump(&store)
        .await
        .into_iter()
        .filter(|(k, _)| k.starts_with(b"tok/h/"))
        .collect::<Vec<_>>();
    let revoked = root.tokens().revoke(&id).await.expect("revoke");
    assert_eq!(revoked.id, id);
    root.tokens().revoke(&id).await.expect("again: idempotent");
    let err = t
        .credentials()
        .get(&ckey("BITVAVO_TRADE_KEY"), None)
        .await
        .expect_err("revoked");
    assert_eq!(err.code(), "unauthorized");
    assert!(err.to_string().contains("revoked"));
    assert_eq!(code(root.with_token(&token).await), "unauthorized");
    // Writing the head from before the revocation back does not revive it.
    let writes = before.into_iter().map(|(k, v)| Write::Put(k, v)).collect();
    assert!(store.commit(vec![], writes).await.expect("write back"));
    assert_eq!(code(root.with_token(&token).await), "integrity");
    let info = root
        .tokens()
        .list(PageRequest::first())
        .await
        .expect("list");
    assert_eq!(info.unreadable.len(), 1);
}

#[tokio::test]
async fn the_token_is_shown_once_and_stored_only_as_its_hash() {
    let (root, clock, store) = seeded().await;
    let created = root
        .tokens()
        .create(create(
            "scanner",
            vec![rule("credentials/**", &[Capability::Read])],
        ))
        .await
        .expect("create");
    let token = created.token.expose_secret().to_string();
    assert!(
        token.starts_with("vault_sk_") && token.len() == 9 + 48,
        "{token}"
    );
    assert!(token[9..].bytes().all(|b| b.is_ascii_alphanumeric()));
    assert!(created.info.id.starts_with("tok_") && created.info.id.len() == 16);
    assert_eq!(format!("{:?}", created.token), "[REDACTED]");
    let t = root.with_token(&token).await.expect("auth");
    assert_eq!(t.caller().id(), created.info.id);
    let me = t.tokens().get_self().await.expect("self");
    assert_eq!(
        (me.id.as_str(), me.name.as_str()),
        (created.info.id.as_str(), "scanner")
    );
    assert!(me.last_used_at.is_some());
    // last_used_at moves at most once a minute.
    let first_use = me.last_used_at;
    clock.advance(Duration::from_secs(30));
    root.with_token(&token).await.expect("auth");
    assert_eq!(
        t.tokens().get_self().await.expect("self").last_used_at,
        first_use
    );
    clock.advance(Duration::from_secs(31));
    root.with_token(&token).await.expect("auth");
    assert_ne!(
        t.tokens().get_self().await.expect("self").last_used_at,
        first_use
    );

    let listed = root
        .tokens()
        .list(PageRequest::first())
        .await
        .expect("list");
    assert_eq!(listed.items.len(), 1);
    let json = serde_json::to_string(&listed.items).expect("json");
    assert!(!json.contains(&token[9..]));
    // In the store: the SHA-256 as the lookup key, never the token.
    let hash = vault_core::crypto::sha256_hex(token.as_bytes()).expect("hash");
    let all = dump(&store).await;
    assert!(all.iter().any(|(k, _)| contains(k, hash.as_bytes())));
    for (k, v) in &all {
        assert!(!contains(k, &token.as_bytes()[9..]) && !contains(v, &token.as_bytes()[9..]));
    }
    // Root and embedded callers see themselves.
    assert_eq!(root.tokens().get_self().await.expect("self").id, "embedded");
}

#[tokio::test]
async fn bad_tokens_and_bad_requests_are_refused_clearly() {
    let (root, _, _) = seeded().await;
    for presented in [
        "",
        "vault_sk_",
        "vault_sk_short",
        "not-a-token-at-all-but-long-enough-000000000000000000000",
        &format!("vault_sk_{}", "A".repeat(48)),
        &format!("vault_sk_{}!", "A".repeat(47)),
    ] {
        let err = root.with_token(presented).await.expect_err("refused");
        assert_eq!(err.code(), "unauthorized", "{presented}");
        assert!(presented.len() < 10 || !err.to_string().contains(presented));
    }
    let e = root
        .tokens()
        .create(create("bad name/x", vec![]))
        .await
        .expect_err("name");
    assert_eq!(e.field(), Some("name"));
    // Names the audit log gives other actors cannot be taken by a token.
    for reserved in ["root", "embedded", "anonymous", "tok_AAAAAAAAAAAA"] {
        let e = root
            .tokens()
            .create(create(reserved, vec![rule("audit", &[Capability::Read])]))
            .await
            .expect_err(reserved);
        assert_eq!(e.field(), Some("name"), "{reserved}");
        assert!(e.to_string().contains("reserved"), "{e}");
    }
    let e = root
        .tokens()
        .create(create(
            "ok",
            vec![rule("credentials//x", &[Capability::Read])],
        ))
        .await
        .expect_err("path");
    assert_eq!(e.field(), Some("rules[0].path"));
    let e = root
        .tokens()
        .create(TokenCreate {
            ttl: Some(Duration::ZERO),
            ..create("ok", vec![])
        })
        .await
        .expect_err("ttl");
    assert_eq!(e.field(), Some("ttl"));
    let e = root.tokens().revoke("tok_../../x").await.expect_err("id");
    assert_eq!(e.field(), Some("id"));
    assert_eq!(
        code(root.tokens().revoke("tok_AAAAAAAAAAAA").await),
        "not_found"
    );
    let e = serde_json::from_str::<Rule>(r#"{"path":"a","capabilities":["fly"]}"#)
        .expect_err("unknown capability");
    assert!(e.to_string().contains("unknown capability"), "{e}");
}

#[tokio::test]
async fn a_token_managing_one_token_lists_only_that_one() {
    let (root, _, _) = seeded().await;
    let a = root.tokens().create(create("a", vec![])).await.expect("a");
    root.tokens().create(create("b", vec![])).await.expect("b");
    let (one, _, _) = token_vault(
        &root,
        vec![rule(&format!("tokens/{}", a.info.id), &[Capability::Admin])],
    )
    .await;
    let page = one.tokens().list(PageRequest::first()).await.expect("list");
    assert_eq!(
        page.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        [a.info.id.as_str()]
    );
}

#[tokio::test]
async fn a_well_formed_token_that_was_never_issued_is_refused_next_to_real_ones() {
    let (root, _, _) = seeded().await;
    let issued = root
        .tokens()
        .create(create("real", vec![rule("**", &[Capability::Read])]))
        .await
        .expect("create");
    let mut other = issued.token.expose_secret().to_string();
    // Same shape, one character changed: never issued.
    let last = other.pop().expect("non-empty");
    other.push(if last == 'a' { 'b' } else { 'a' });
    assert_eq!(code(root.with_token(&other).await), "unauthorized");
}
