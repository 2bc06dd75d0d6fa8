//! Shared plumbing of the typed record modules: store key layout, sealed JSON records, and the
//! optimistic read-modify-commit loop.

use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::Action;
use crate::context::{Capability, Ctx};
use crate::crypto::Barrier;
use crate::error::{Error, Result};
use crate::page::{Page, PageRequest, Unreadable};
use crate::store::{Condition, Write};

/// How many times a write retries after losing a race to another writer (without
/// compare-and-set) before giving up with `conflict`.
pub(crate) const MAX_ATTEMPTS: usize = 64;

/// `<family>/h/<service>/<name>`: the head (latest version) of a record.
pub(crate) fn head_key(family: &str, service: &str, name: &str) -> Vec<u8> {
    format!("{family}/h/{service}/{name}").into_bytes()
}

/// `<family>/h/<service>/`: prefix of every head of a service.
pub(crate) fn head_prefix(family: &str, service: &str) -> Vec<u8> {
    format!("{family}/h/{service}/").into_bytes()
}

/// `<family>/v/<service>/<name>/`: prefix of every kept version of one record.
pub(crate) fn versions_prefix(family: &str, service: &str, name: &str) -> Vec<u8> {
    format!("{family}/v/{service}/{name}/").into_bytes()
}

/// `<family>/v/<service>/<name>/<version as u64 BE>`: one kept version.
pub(crate) fn version_key(family: &str, service: &str, name: &str, version: u64) -> Vec<u8> {
    let mut k = versions_prefix(family, service, name);
    k.extend_from_slice(&version.to_be_bytes());
    k
}

/// The name part of a head key under `prefix`.
pub(crate) fn name_from_key(prefix: &[u8], key: &[u8]) -> Result<String> {
    let rest = key
        .strip_prefix(prefix)
        .ok_or_else(|| Error::Internal("scan returned a key outside its prefix".into()))?;
    String::from_utf8(rest.to_vec()).map_err(|_| Error::Integrity)
}

/// Serializes `record` to JSON and seals it for `key`.
pub(crate) fn seal_json<T: Serialize>(
    barrier: &Barrier,
    key: &[u8],
    record: &T,
) -> Result<Vec<u8>> {
    let plain = Zeroizing::new(
        serde_json::to_vec(record).map_err(|e| Error::Internal(format!("encode record: {e}")))?,
    );
    barrier.seal(key, &plain)
}

/// Decodes an opened record's JSON; a record that opens but does not decode is `integrity`.
pub(crate) fn decode_json<T: DeserializeOwned>(plain: &[u8]) -> Result<T> {
    serde_json::from_slice(plain).map_err(|_| Error::Integrity)
}

/// One page of the heads under `prefix` (a family's `<family>/h/<service>/`), opening nothing:
/// each head's store key and name, in order, and the `next` cursor when more follow. `limit`
/// and `after` are checked here (`invalid` naming them).
pub(crate) async fn page_of_heads(
    barrier: &Barrier,
    prefix: &[u8],
    page: &PageRequest,
) -> Result<(Vec<(Vec<u8>, String)>, Option<String>)> {
    let limit = page.checked_limit()?;
    let after = match page.checked_after()? {
        Some(a) if crate::page::is_cursor(a) => Some(open_cursor(barrier, prefix, a)?),
        Some(a) => Some(a.to_string()),
        None => None,
    }
    .map(|a| {
        let mut k = prefix.to_vec();
        k.extend_from_slice(a.as_bytes());
        k
    });
    let mut keys = barrier
        .scan_keys(prefix, after.as_deref(), limit + 1)
        .await?;
    let more = keys.len() > limit;
    keys.truncate(limit);
    let named: Vec<(Vec<u8>, String)> = keys
        .into_iter()
        .map(|k| {
            // A name that is not UTF-8 can only come from a damaged store: it is listed as
            // unreadable under its lossy form.
            let name =
                String::from_utf8_lossy(k.get(prefix.len()..).unwrap_or_default()).into_owned();
            (k, name)
        })
        .collect();
    let next = if more {
        named.last().map(|(_, n)| n.clone())
    } else {
        None
    };
    Ok((named, next))
}

/// The associated data of the page cursors of the listing under `prefix`: a cursor opens only
/// for the listing that gave it.
fn cursor_key(prefix: &[u8]) -> Vec<u8> {
    let mut k = b"page-cursor\0".to_vec();
    k.extend_from_slice(prefix);
    k
}

/// An opaque cursor standing for `name` in the listing under `prefix` (see
/// [`CURSOR_MARK`](crate::page::CURSOR_MARK)): sealed, so it shows nothing of the name.
pub(crate) fn seal_cursor(barrier: &Barrier, prefix: &[u8], name: &str) -> Result<String> {
    use base64::Engine as _;
    let sealed = barrier.seal(&cursor_key(prefix), name.as_bytes())?;
    Ok(format!(
        "{}{}",
        crate::page::CURSOR_MARK,
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed)
    ))
}

/// The name an opaque cursor of the listing under `prefix` stands for; `invalid` (field
/// `after`) when it is not one (forged, of another listing, or of another vault).
pub(crate) fn open_cursor(barrier: &Barrier, prefix: &[u8], cursor: &str) -> Result<String> {
    use base64::Engine as _;
    let bad = || Error::invalid("after", "is not a cursor of this listing");
    let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.trim_start_matches(crate::page::CURSOR_MARK))
        .map_err(|_| bad())?;
    let plain = barrier
        .open_unstored(&cursor_key(prefix), &sealed)
        .map_err(|_| bad())?;
    String::from_utf8(plain.to_vec()).map_err(|_| bad())
}

/// Which listed items a caller sees: those on whose resource path (`<resource>/<name>`) it
/// has `capability`.
pub(crate) struct Visible<'a> {
    pub(crate) capability: Capability,
    pub(crate) resource: &'a str,
}

/// One page of a family's listing: the heads under `prefix` (see [`page_of_heads`]) that the
/// caller may see (`visible`; the others are left out before anything is opened), each read
/// on its own by `read` (head key, name). A record that does not open or decode is reported in
/// [`Page::unreadable`] and the others are listed; one deleted since the scan (`Ok(None)`) is
/// skipped; a store failure fails the listing.
pub(crate) async fn read_page<T, F, Fut>(
    ctx: &Ctx,
    prefix: &[u8],
    page: &PageRequest,
    visible: Visible<'_>,
    read: F,
) -> Result<Page<T>>
where
    // Owned arguments, not an async closure over borrows: the futures stay `Send` for the
    // object-safe family traits.
    F: Fn(Vec<u8>, String) -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let (heads, next) = page_of_heads(ctx.barrier(), prefix, page).await?;
    // The page ends on a record the caller may not see: its name would tell it one.
    let next = match next {
        Some(n) if !ctx.allows(visible.capability, &format!("{}/{n}", visible.resource)) => {
            Some(seal_cursor(ctx.barrier(), prefix, &n)?)
        }
        other => other,
    };
    let mut out = Page {
        next,
        ..Page::default()
    };
    for (head, name) in heads {
        if !ctx.allows(visible.capability, &format!("{}/{name}", visible.resource)) {
            continue;
        }
        match read(head, name.clone()).await {
            Ok(Some(item)) => out.items.push(item),
            Ok(None) => {}
            Err(error @ Error::Integrity) => out.unreadable.push(Unreadable { name, error }),
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The head of a record as read: its raw sealed bytes (for the commit condition) and value.
pub(crate) struct Head<T> {
    pub(crate) raw: Vec<u8>,
    pub(crate) record: T,
}

/// Reads and opens the head at `key`.
pub(crate) async fn read_head<T: DeserializeOwned>(
    barrier: &Barrier,
    key: &[u8],
) -> Result<Option<Head<T>>> {
    match barrier.read(key).await? {
        Some(opened) => Ok(Some(Head {
            record: decode_json(&opened.plain)?,
            raw: opened.sealed,
        })),
        None => Ok(None),
    }
}

/// Optimistic concurrency: `plan` reads the current head and returns the writes to make (or an
/// error); the writes commit only if the head is unchanged. A lost race retries, unless the
/// caller asked for compare-and-set (`cas`), which then fails with `conflict`.
pub(crate) async fn commit_unless_changed<T, R, F>(
    barrier: &std::sync::Arc<Barrier>,
    head: &[u8],
    cas: bool,
    what: impl Fn() -> String,
    mut plan: F,
) -> Result<R>
where
    T: DeserializeOwned,
    F: FnMut(Option<Head<T>>) -> Result<(Vec<Write>, R)>,
{
    for lost in 0..MAX_ATTEMPTS {
        let current = read_head::<T>(barrier, head).await?;
        let condition = Condition::unchanged(head, current.as_ref().map(|h| h.raw.as_slice()));
        let (writes, outcome) = plan(current)?;
        if barrier
            .commit_after_losses(vec![condition], writes, lost)
            .await?
        {
            return Ok(outcome);
        }
        if cas {
            return Err(Error::Conflict(format!(
                "{} was changed concurrently; read it again and retry",
                what()
            )));
        }
    }
    Err(Error::Conflict(format!(
        "{} is under heavy concurrent writes; retry",
        what()
    )))
}

/// A stored record that carries its version number.
pub(crate) trait Versioned {
    fn version(&self) -> u64;
}

/// What a versioned write is about to write: the previous record (if any), the new version
/// number and whether it creates the record.
pub(crate) struct NextVersion<T> {
    pub(crate) prev: Option<T>,
    pub(crate) version: u64,
    pub(crate) action: Action,
}

/// A write of the next version of a record: [`commit_unless_changed`] plus the version rules
/// (next number, `expected_version` compare-and-set, created or updated) shared by every
/// versioned family.
pub(crate) async fn write_next_version<T, R, F>(
    barrier: &std::sync::Arc<Barrier>,
    head: &[u8],
    expected_version: Option<u64>,
    what: impl Fn() -> String,
    mut plan: F,
) -> Result<R>
where
    T: DeserializeOwned + Versioned,
    F: FnMut(NextVersion<T>) -> Result<(Vec<Write>, R)>,
{
    commit_unless_changed(
        barrier,
        head,
        expected_version.is_some(),
        &what,
        |current: Option<Head<T>>| {
            let prev = current.map(|h| h.record);
            let current_version = prev.as_ref().map_or(0, Versioned::version);
            check_expected(&what(), expected_version, current_version)?;
            let action = if current_version == 0 {
                Action::Created
            } else {
                Action::Updated
            };
            plan(NextVersion {
                prev,
                version: current_version + 1,
                action,
            })
        },
    )
    .await
}

/// Checks a compare-and-set expectation against the current version (0 = absent).
pub(crate) fn check_expected(what: &str, expected: Option<u64>, current: u64) -> Result<()> {
    match expected {
        Some(e) if e != current => Err(Error::Conflict(if current == 0 {
            format!("{what} does not exist (expected version {e})")
        } else {
            format!("{what} is at version {current}, not the expected version {e}")
        })),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_keys_sort_numerically() {
        let a = version_key("cfg", "s", "x", 9);
        let b = version_key("cfg", "s", "x", 10);
        let c = version_key("cfg", "s", "x", 256);
        assert!(a < b && b < c);
        assert!(a.starts_with(b"cfg/v/s/x/"));
    }

    #[test]
    fn expected_version_mismatch_is_conflict() {
        assert!(check_expected("config 'a'", None, 3).is_ok());
        assert!(check_expected("config 'a'", Some(3), 3).is_ok());
        assert!(check_expected("config 'a'", Some(0), 0).is_ok());
        let e = check_expected("config 'a'", Some(2), 3).expect_err("stale");
        assert_eq!(e.code(), "conflict");
        assert!(e.to_string().contains("version 3"));
        assert_eq!(
            check_expected("config 'a'", Some(1), 0).map_err(|e| e.code().to_string()),
            Err("conflict".to_string())
        );
    }
}
