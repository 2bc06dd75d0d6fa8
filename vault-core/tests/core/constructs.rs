//! Constructs (capsules, identity files, listing, export/import, policy, planted content)
//! through the public `Vault` API; transcripts are in `construct_transcripts`.

use serde_json::json;
use vault_core::constructs::MAX_FILE_BYTES;
use vault_core::prelude::*;
use vault_core::store::SharedStore;
use vault_core::{
    Action, Capability, ConstructId, FileName, JsonObject, NewEntry, PageRequest, TranscriptQuery,
    Vault,
};

use super::support::{contains, dump, memory_vault};

pub(super) fn cid(s: &str) -> ConstructId {
    ConstructId::new(s).expect("valid construct id")
}

fn fname(s: &str) -> FileName {
    FileName::new(s).expect("valid file name")
}

fn doc(v: serde_json::Value) -> JsonObject {
    v.as_object().cloned().expect("an object")
}

async fn all_audit(v: &Vault) -> String {
    let mut export = v.audit().export().await.expect("export");
    let mut out = String::new();
    loop {
        let batch = export.next_batch().await.expect("batch");
        if batch.is_empty() {
            return out;
        }
        out.push_str(&format!("{batch:?}"));
    }
}

#[tokio::test]
async fn construct_capsule_is_versioned_with_compare_and_set() {
    let (v, _, _) = memory_vault().await;
    let c = v.constructs();
    let w = c
        .put_capsule(
            &cid("nova"),
            doc(json!({"name": "Nova", "tone": "warm"})),
            None,
        )
        .await
        .expect("put");
    assert_eq!((w.action, w.version), (Action::Created, 1));
    let w = c
        .put_capsule(
            &cid("nova"),
            doc(json!({"name": "Nova", "tone": "dry"})),
            Some(1),
        )
        .await
        .expect("cas put");
    assert_eq!((w.action, w.version), (Action::Updated, 2));
    let e = c
        .put_capsule(&cid("nova"), doc(json!({"stale": true})), Some(1))
        .await
        .expect_err("stale cas");
    assert_eq!(e.code(), "conflict");
    let e = c
        .put_capsule(&cid("nova"), doc(json!({})), Some(0))
        .await
        .expect_err("must not exist");
    assert_eq!(e.code(), "conflict");
    let latest = c.get_capsule(&cid("nova"), None).await.expect("get");
    assert_eq!(
        (latest.version, latest.document["tone"].as_str()),
        (2, Some("dry"))
    );
    let v1 = c.get_capsule(&cid("nova"), Some(1)).await.expect("v1");
    assert_eq!(v1.document["tone"], "warm");
    for missing in [Some(0), Some(3)] {
        let e = c
            .get_capsule(&cid("nova"), missing)
            .await
            .expect_err("no such version");
        assert_eq!(e.code(), "not_found");
    }
    let e = c.get_capsule(&cid("ghost"), None).await.expect_err("none");
    assert_eq!(e.code(), "not_found");
}

#[tokio::test]
async fn fail_construct_capsule_too_deep_or_too_large() {
    let (v, _, _) = memory_vault().await;
    let mut deep = json!(1);
    for _ in 0..40 {
        deep = json!([deep]);
    }
    let e = v
        .constructs()
        .put_capsule(&cid("x"), doc(json!({ "d": deep })), None)
        .await
        .expect_err("deep");
    assert_eq!(e.field(), Some("capsule"));
    let big = "x".repeat(vault_core::constructs::MAX_CAPSULE_BYTES);
    let e = v
        .constructs()
        .put_capsule(&cid("x"), doc(json!({ "big": big })), None)
        .await
        .expect_err("large");
    assert_eq!(e.field(), Some("capsule"));
}

#[tokio::test]
async fn construct_files_are_versioned_hashed_listed_and_deleted() {
    let (v, _, _) = memory_vault().await;
    let c = v.constructs();
    let id = cid("nova");
    let w = c
        .put_file(&id, &fname("persona.md"), b"abc".to_vec(), None)
        .await
        .expect("put");
    assert_eq!((w.action, w.version, w.size), (Action::Created, 1, 3));
    // SHA-256("abc").
    assert_eq!(
        w.sha256,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    c.put_file(&id, &fname("persona.md"), b"second".to_vec(), Some(1))
        .await
        .expect("v2");
    let e = c
        .put_file(&id, &fname("persona.md"), b"x".to_vec(), Some(1))
        .await
        .expect_err("stale");
    assert_eq!(e.code(), "conflict");
    c.put_file(&id, &fname("voice.wav"), vec![0, 159, 255, 0], None)
        .await
        .expect("binary");
    let f = c
        .get_file(&id, &fname("persona.md"), None)
        .await
        .expect("get");
    assert_eq!((f.content.as_slice(), f.info.version), (&b"second"[..], 2));
    let f1 = c
        .get_file(&id, &fname("persona.md"), Some(1))
        .await
        .expect("v1");
    assert_eq!(f1.content, b"abc");
    assert_eq!(f1.info.sha256, w.sha256);
    assert!(
        !format!("{f1:?}").contains("abc\""),
        "Debug shows no content"
    );
    let bin = c
        .get_file(&id, &fname("voice.wav"), None)
        .await
        .expect("bin");
    assert_eq!(bin.content, [0, 159, 255, 0]);

    let page = c.list_files(&id, PageRequest::first()).await.expect("list");
    let names: Vec<&str> = page.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["persona.md", "voice.wav"]);
    assert_eq!(page[0].version, 2);
    let listed = c.list(PageRequest::first()).await.expect("constructs");
    assert_eq!(listed[0].file_count, 2);

    c.delete_file(&id, &fname("persona.md"))
        .await
        .expect("delete");
    for version in [None, Some(1)] {
        let e = c
            .get_file(&id, &fname("persona.md"), version)
            .await
            .expect_err("deleted");
        assert_eq!(e.code(), "not_found");
    }
    let e = c
        .delete_file(&id, &fname("persona.md"))
        .await
        .expect_err("twice");
    assert_eq!(e.code(), "not_found");
    // A new file of the same name starts again at version 1.
    let w = c
        .put_file(&id, &fname("persona.md"), b"reborn".to_vec(), None)
        .await
        .expect("again");
    assert_eq!((w.action, w.version), (Action::Created, 1));
    let listed = c.list(PageRequest::first()).await.expect("constructs");
    assert_eq!(listed[0].file_count, 2);
}

#[tokio::test]
async fn fail_construct_file_over_ten_mib_is_invalid_and_ten_mib_fits() {
    let (v, _, _) = memory_vault().await;
    let c = v.constructs();
    let e = c
        .put_file(
            &cid("n"),
            &fname("big.bin"),
            vec![7; MAX_FILE_BYTES + 1],
            None,
        )
        .await
        .expect_err("too large");
    assert_eq!((e.code(), e.field()), ("invalid", Some("file")));
    let w = c
        .put_file(&cid("n"), &fname("big.bin"), vec![7; MAX_FILE_BYTES], None)
        .await
        .expect("exactly the limit");
    assert_eq!(w.size, MAX_FILE_BYTES as u64);
}

async fn populated(v: &Vault, id: &str) {
    let c = v.constructs();
    c.put_capsule(
        &cid(id),
        doc(json!({"name": "Nova", "planted": "planted-capsule-7f3a"})),
        None,
    )
    .await
    .expect("capsule");
    c.put_file(
        &cid(id),
        &fname("persona.md"),
        b"planted-file-7f3a".to_vec(),
        None,
    )
    .await
    .expect("file");
    c.put_file(&cid(id), &fname("blob.bin"), vec![0, 1, 2, 255], None)
        .await
        .expect("file 2");
    for i in 0..5 {
        c.append(
            &cid(id),
            NewEntry::new("user", format!("planted-entry-7f3a {i}")),
        )
        .await
        .expect("append");
    }
}

#[tokio::test]
async fn construct_export_import_round_trip_into_a_second_vault() {
    let (a, _, _) = memory_vault().await;
    populated(&a, "nova").await;
    let exported = a.constructs().export(&cid("nova")).await.expect("export");
    assert_eq!(exported.files.len(), 2);
    assert_eq!(exported.transcript.len(), 5);
    assert!(
        !format!("{exported:?}").contains("planted"),
        "Debug shows counts only"
    );
    // Through JSON, as it travels.
    let json = serde_json::to_vec(&exported).expect("json");
    let doc_back: vault_core::ConstructExport = serde_json::from_slice(&json).expect("parse");

    let (b, _, _) = memory_vault().await;
    let report = b
        .constructs()
        .import(doc_back.clone())
        .await
        .expect("import");
    assert_eq!(
        (
            report.capsule_version,
            report.files,
            report.transcript_entries
        ),
        (1, 2, 5)
    );
    let cap = b
        .constructs()
        .get_capsule(&cid("nova"), None)
        .await
        .expect("capsule");
    assert_eq!(cap.document["planted"], "planted-capsule-7f3a");
    let f = b
        .constructs()
        .get_file(&cid("nova"), &fname("blob.bin"), None)
        .await
        .expect("file");
    assert_eq!(f.content, [0, 1, 2, 255]);
    let t = b
        .constructs()
        .transcript(&cid("nova"), TranscriptQuery::default())
        .await
        .expect("transcript");
    let a_t = a
        .constructs()
        .transcript(&cid("nova"), TranscriptQuery::default())
        .await
        .expect("transcript a");
    assert_eq!(t.entries, a_t.entries);
    // Exporting the import gives the same content.
    let again = b.constructs().export(&cid("nova")).await.expect("export b");
    assert_eq!(again.transcript, exported.transcript);
    assert_eq!(again.files, exported.files);

    // Importing over an existing id is a conflict naming it, and writes nothing.
    let before = dump_len(&b).await;
    let e = b.constructs().import(doc_back).await.expect_err("exists");
    assert_eq!(e.code(), "conflict");
    assert!(e.to_string().contains("'nova'"), "{e}");
    assert_eq!(dump_len(&b).await, before);
}

async fn dump_len(v: &Vault) -> u64 {
    let c = v.constructs();
    let t = c
        .transcript(&cid("nova"), TranscriptQuery::default())
        .await
        .expect("t")
        .total;
    let f = c
        .list_files(&cid("nova"), PageRequest::first())
        .await
        .expect("f")
        .len() as u64;
    t * 1000 + f
}

#[tokio::test]
async fn fail_construct_import_of_a_tampered_document_writes_nothing() {
    let (a, _, _) = memory_vault().await;
    populated(&a, "nova").await;
    let good = a.constructs().export(&cid("nova")).await.expect("export");
    let (b, _, _) = memory_vault().await;
    let mut bad_hash = good.clone();
    bad_hash.files[0].sha256 = "0".repeat(64);
    let mut bad_b64 = good.clone();
    bad_b64.files[0].content_base64 = "@@@".into();
    let mut bad_seq = good.clone();
    bad_seq.transcript[2].seq = 9;
    let mut bad_format = good.clone();
    bad_format.format = "other".into();
    let mut dup = good.clone();
    dup.files[1].name = dup.files[0].name.clone();
    for (doc, field) in [
        (bad_hash, "files[0].sha256"),
        (bad_b64, "files[0].content_base64"),
        (bad_seq, "transcript[2].seq"),
        (bad_format, "format"),
        (dup, "files[1].name"),
    ] {
        let e = b.constructs().import(doc).await.expect_err(field);
        assert_eq!((e.code(), e.field()), ("invalid", Some(field)));
    }
    let listed = b
        .constructs()
        .list(PageRequest::first())
        .await
        .expect("list");
    assert!(listed.is_empty());
}

/// Three files of 10 MiB (40 MiB as base64) are more than one export document may carry
/// (32 MiB); two fit.
#[tokio::test]
async fn fail_construct_export_over_the_bound_is_invalid() {
    let (v, _, _) = memory_vault().await;
    let c = v.constructs();
    for i in 0..3 {
        c.put_file(
            &cid("huge"),
            &fname(&format!("f{i}.bin")),
            vec![1; MAX_FILE_BYTES],
            None,
        )
        .await
        .expect("file");
    }
    let e = c.export(&cid("huge")).await.expect_err("too large");
    assert_eq!((e.code(), e.field()), ("invalid", Some("export")));
    c.delete_file(&cid("huge"), &fname("f2.bin"))
        .await
        .expect("delete");
    let doc = c.export(&cid("huge")).await.expect("two fit");
    assert_eq!(doc.files.len(), 2);
}

/// The bound counts the transcript as JSON: content of control characters (six bytes each
/// once escaped) cannot make an export six times the bound, which its own import would refuse.
#[tokio::test]
async fn fail_construct_export_counts_transcript_content_as_escaped_json() {
    let (v, _, _) = memory_vault().await;
    let c = v.constructs();
    let escaped = "\u{1}".repeat(64 * 1024);
    // 100 entries: 6.4 MiB of content, 38 MiB of JSON.
    for _ in 0..100 {
        c.append(&cid("esc"), NewEntry::new("user", escaped.clone()))
            .await
            .expect("append");
    }
    let e = c.export(&cid("esc")).await.expect_err("too large as JSON");
    assert_eq!((e.code(), e.field()), ("invalid", Some("export")));
}

/// Export needs read on every file; the refusal never names a file the token cannot list.
#[tokio::test]
async fn fail_construct_export_refusal_names_no_file() {
    let (v, _, _) = memory_vault().await;
    populated(&v, "nova").await;
    let created = v
        .tokens()
        .create(vault_core::TokenCreate {
            name: "no-files".into(),
            rules: vec![
                vault_core::Rule {
                    path: "constructs/nova".into(),
                    capabilities: vec![Capability::Read],
                },
                vault_core::Rule {
                    path: "constructs/nova/transcript".into(),
                    capabilities: vec![Capability::Read],
                },
            ],
            ttl: None,
            llm: Default::default(),
        })
        .await
        .expect("token");
    let t = v
        .with_token(created.token.expose_secret())
        .await
        .expect("with_token");
    let e = t
        .constructs()
        .export(&cid("nova"))
        .await
        .expect_err("no files");
    assert_eq!(e.code(), "forbidden");
    assert!(!e.to_string().contains("persona"), "{e}");
    assert!(
        e.to_string().contains("every file of constructs/nova"),
        "{e}"
    );
}

#[tokio::test]
async fn construct_token_scoped_to_one_construct_cannot_read_another() {
    let (v, _, _) = memory_vault().await;
    populated(&v, "alpha").await;
    populated(&v, "beta").await;
    let created = v
        .tokens()
        .create(vault_core::TokenCreate {
            name: "alpha-only".into(),
            rules: vec![vault_core::Rule {
                path: "constructs/alpha/**".into(),
                capabilities: vec![Capability::Read, Capability::List, Capability::Write],
            }],
            ttl: None,
            llm: Default::default(),
        })
        .await
        .expect("token");
    let t = v
        .with_token(created.token.expose_secret())
        .await
        .expect("with_token");
    let c = t.constructs();
    c.get_capsule(&cid("alpha"), None)
        .await
        .expect("own capsule");
    c.get_file(&cid("alpha"), &fname("persona.md"), None)
        .await
        .expect("own file");
    c.transcript(&cid("alpha"), TranscriptQuery::default())
        .await
        .expect("own transcript");
    c.export(&cid("alpha")).await.expect("own export");
    for e in [
        c.get_capsule(&cid("beta"), None)
            .await
            .expect_err("capsule"),
        c.get_file(&cid("beta"), &fname("persona.md"), None)
            .await
            .expect_err("file"),
        c.transcript(&cid("beta"), TranscriptQuery::default())
            .await
            .expect_err("transcript"),
        c.append(&cid("beta"), NewEntry::new("user", "x"))
            .await
            .expect_err("append"),
        c.export(&cid("beta")).await.expect_err("export"),
    ] {
        assert_eq!(e.code(), "forbidden", "{e}");
    }
    // Its listing shows its own construct only.
    let listed = c.list(PageRequest::first()).await.expect("list");
    let ids: Vec<&str> = listed.iter().map(|s| s.construct_id.as_str()).collect();
    assert_eq!(ids, ["alpha"]);
    // A token that may list everything sees only what it may list.
    let lister = v
        .tokens()
        .create(vault_core::TokenCreate {
            name: "lister".into(),
            rules: vec![vault_core::Rule {
                path: "constructs/*".into(),
                capabilities: vec![Capability::List],
            }],
            ttl: None,
            llm: Default::default(),
        })
        .await
        .expect("token");
    let l = v
        .with_token(lister.token.expose_secret())
        .await
        .expect("lister");
    let listed = l
        .constructs()
        .list(PageRequest::first())
        .await
        .expect("list");
    assert_eq!(listed.len(), 2);
    let e = l
        .constructs()
        .get_capsule(&cid("alpha"), None)
        .await
        .expect_err("list is not read");
    assert_eq!(e.code(), "forbidden");
    // Export needs read on every file too.
    let capsule_only = v
        .tokens()
        .create(vault_core::TokenCreate {
            name: "capsule".into(),
            rules: vec![vault_core::Rule {
                path: "constructs/alpha".into(),
                capabilities: vec![Capability::Read],
            }],
            ttl: None,
            llm: Default::default(),
        })
        .await
        .expect("token");
    let cap = v
        .with_token(capsule_only.token.expose_secret())
        .await
        .expect("token vault");
    let e = cap
        .constructs()
        .export(&cid("alpha"))
        .await
        .expect_err("files");
    assert_eq!(e.code(), "forbidden");
}

#[tokio::test]
async fn construct_listing_shows_ids_and_counts_paginated() {
    let (v, _, _) = memory_vault().await;
    for id in ["c3", "c1", "c2"] {
        v.constructs()
            .append(&cid(id), NewEntry::new("user", "hi"))
            .await
            .expect("append");
    }
    populated(&v, "c0").await;
    let p = v
        .constructs()
        .list(PageRequest::new(Some(2), None))
        .await
        .expect("page 1");
    let ids: Vec<&str> = p.iter().map(|s| s.construct_id.as_str()).collect();
    assert_eq!(ids, ["c0", "c1"]);
    assert_eq!(
        (p[0].capsule_version, p[0].file_count, p[0].transcript_count),
        (1, 2, 5)
    );
    assert_eq!(
        (p[1].capsule_version, p[1].file_count, p[1].transcript_count),
        (0, 0, 1)
    );
    let p2 = v
        .constructs()
        .list(PageRequest::new(Some(2), p.next.clone()))
        .await
        .expect("page 2");
    let ids: Vec<&str> = p2.iter().map(|s| s.construct_id.as_str()).collect();
    assert_eq!(ids, ["c2", "c3"]);
    assert_eq!(p2.next, None);
}

/// Planted content (capsule, file, transcript entry) never reaches the store in the clear,
/// nor the audit log, nor an error message.
#[tokio::test]
async fn construct_planted_content_never_reaches_the_store_or_the_audit_log() {
    let (v, _, store) = memory_vault().await;
    populated(&v, "nova").await;
    v.constructs().export(&cid("nova")).await.expect("export");
    v.flush().await.expect("flush");
    assert_clean(&store).await;
    let audit = all_audit(&v).await;
    assert!(
        audit.contains("constructs.put_file"),
        "operations are audited"
    );
    assert!(!audit.contains("planted"), "{audit}");
    // An error about a construct names it, never its content.
    let e = v
        .constructs()
        .put_capsule(
            &cid("nova"),
            doc(json!({"planted": "planted-capsule-7f3a"})),
            Some(7),
        )
        .await
        .expect_err("stale");
    assert!(!e.to_string().contains("planted"), "{e}");
}

async fn assert_clean(store: &SharedStore) {
    for (k, val) in dump(store).await {
        for needle in [&b"planted"[..], b"7f3a", b"Nova"] {
            assert!(!contains(&k, needle), "in a key");
            assert!(
                !contains(&val, needle),
                "in the value of {}",
                String::from_utf8_lossy(&k)
            );
        }
    }
}

/// The same on sled: grep every file of the data directory for the planted bytes.
#[cfg(feature = "sled")]
#[tokio::test]
async fn construct_planted_content_never_reaches_the_sled_data_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let (v, _) = Vault::open_dir(dir.path(), None).await.expect("open");
        populated(&v, "nova").await;
        v.close().await.expect("close");
    }
    let mut files = 0;
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(p) = stack.pop() {
        for entry in std::fs::read_dir(&p).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).expect("read");
            files += 1;
            assert!(
                !contains(&bytes, b"planted"),
                "planted bytes in {}",
                path.display()
            );
        }
    }
    assert!(files > 0);
    let (v, _) = Vault::open_dir(dir.path(), None).await.expect("reopen");
    let f = v
        .constructs()
        .get_file(&cid("nova"), &fname("persona.md"), None)
        .await
        .expect("still there");
    assert_eq!(f.content, b"planted-file-7f3a");
}
