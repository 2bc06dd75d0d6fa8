//! Authentication shared by every dialect: who a request's token says the caller is (the root
//! token, or a `vault_sk_` token with its policy), with failed attempts slowed per client
//! address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use axum::http::HeaderMap;
use vault_core::crypto::constant_time_eq;
use vault_core::tokens::TOKEN_PREFIX;
use vault_core::{Caller, Error, Origin, Result};

use super::AppState;

/// Failed authentications an address may make in a burst (default; `VAULT_AUTH_FAILURE_BURST`).
pub const FAILURE_BURST: u32 = 10;
/// Failed authentications an address regains per second.
pub const FAILURE_REFILL_PER_SEC: f64 = 1.0;
/// Addresses tracked before idle ones are forgotten.
const MAX_TRACKED: usize = 10_000;

/// A token bucket of failed attempts per client address. While an address's bucket is empty,
/// its authentication attempts (right or wrong) are answered `rate_limited` without checking
/// the token, so guessing gets no faster than the refill rate. The price: clients sharing an
/// address with a guesser (behind one proxy) are slowed with it; raise
/// `VAULT_AUTH_FAILURE_BURST` there, or fix the misconfigured client.
#[derive(Debug)]
pub struct FailureLimiter {
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl Default for FailureLimiter {
    fn default() -> Self {
        FailureLimiter::new(FAILURE_BURST)
    }
}

impl FailureLimiter {
    /// A limiter allowing `burst` failures per address, regaining one per second.
    pub fn new(burst: u32) -> Self {
        FailureLimiter {
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn level(&self, entry: (f64, Instant), now: Instant) -> f64 {
        let (tokens, at) = entry;
        (tokens + now.duration_since(at).as_secs_f64() * FAILURE_REFILL_PER_SEC).min(self.burst)
    }

    /// `rate_limited` (with the seconds to wait) while `peer` has no attempts left.
    fn check(&self, peer: IpAddr) -> Result<()> {
        let buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(entry) = buckets.get(&peer) else {
            return Ok(());
        };
        let level = self.level(*entry, Instant::now());
        if level >= 1.0 {
            return Ok(());
        }
        let wait = ((1.0 - level) / FAILURE_REFILL_PER_SEC).ceil();
        Err(Error::RateLimited {
            message: "too many failed authentications from this address; retry later".into(),
            // `wait` is at most 1 / refill seconds: small and positive.
            retry_after_secs: wait.max(1.0) as u64,
        })
    }

    /// Spends one attempt of `peer`.
    fn fail(&self, peer: IpAddr) {
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_TRACKED {
            // Forget addresses whose bucket has refilled: they carry no state.
            buckets.retain(|_, e| self.level(*e, now) < self.burst);
            if buckets.len() >= MAX_TRACKED {
                // Still full (an attacker with very many addresses): start over rather than
                // grow without bound; each address then gets one fresh burst.
                buckets.clear();
            }
        }
        let level = buckets
            .get(&peer)
            .map_or(self.burst, |e| self.level(*e, now));
        buckets.insert(peer, ((level - 1.0).max(0.0), now));
    }
}

/// The tokens a request presents: `Authorization: Bearer <t>` and `X-Service-Token: <t>`.
pub fn presented_tokens(headers: &HeaderMap) -> Vec<&[u8]> {
    let mut out = Vec::new();
    for v in headers.get_all(axum::http::header::AUTHORIZATION) {
        let b = v.as_bytes();
        if b.len() > 7 && b[..7].eq_ignore_ascii_case(b"bearer ") {
            out.push(b[7..].trim_ascii());
        }
    }
    for v in headers.get_all("x-service-token") {
        out.push(v.as_bytes().trim_ascii());
    }
    out
}

/// The request id header: taken from the request when it is a plain id (1 to 128 of
/// `[A-Za-z0-9._:-]`), made up otherwise, and sent back on the response.
pub const REQUEST_ID: &str = "x-request-id";

/// Where a request comes from, for the audit log: its request id and the peer address. A
/// request id that looks like a token (a `vault_sk_` one, or the service token) is not kept:
/// the log never holds a token, even one a client put in the wrong header.
pub fn origin(headers: &HeaderMap, peer: Option<IpAddr>, service_token: &[u8]) -> Origin {
    let given = headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| {
            (1..=128).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
                && !id.starts_with(TOKEN_PREFIX)
                && !constant_time_eq(id.as_bytes(), service_token)
        })
        .map(str::to_string);
    let request_id = given.or_else(|| {
        vault_core::crypto::random_base62(16)
            .ok()
            .map(|r| format!("req_{r}"))
    });
    Origin::new(
        request_id,
        peer.map_or_else(|| "unknown".to_string(), |p| p.to_string()),
    )
}

/// The caller a request's token identifies: the root token (compared in constant time) is
/// [`Caller::Root`]; a `vault_sk_` token that is live (known, not revoked, not expired) is
/// [`Caller::Token`] with its policy. No token, or another one, is `unauthorized` (saying
/// whether a known token expired or was revoked, never echoing it); more than one token in a
/// request is `invalid`; an address that failed too often is `rate_limited`. Every failed
/// attempt spends one of the address's attempts and is logged with the peer address, never
/// the presented value. Every `unauthorized` answer is audited (vault-core records those of
/// `vault_sk_` tokens; the others are recorded here, actor `anonymous`).
pub async fn authenticate(
    headers: &HeaderMap,
    state: &AppState,
    peer: Option<IpAddr>,
    origin: &Origin,
) -> Result<Caller> {
    authenticate_tokens(presented_tokens(headers), state, peer, origin).await
}

/// [`authenticate`] for the tokens a dialect found in its own headers (the Vault-compatible
/// dialect reads `X-Vault-Token` first): the same checks, limits and audit.
pub async fn authenticate_tokens(
    presented: Vec<&[u8]>,
    state: &AppState,
    peer: Option<IpAddr>,
    origin: &Origin,
) -> Result<Caller> {
    let vault = state.vault()?.with_origin(origin.clone());
    // Checked before anything is looked at or recorded: an address out of attempts gets 429
    // and adds nothing to the audit log.
    if let Some(ip) = peer {
        state.auth_failures().check(ip)?;
    }
    match presented.len() {
        0 => {
            // A request without a token spends an attempt like a wrong one, so that it cannot
            // flood the audit log faster than the limiter allows.
            if let Some(ip) = peer {
                state.auth_failures().fail(ip);
            }
            vault.record_failed_auth("unauthorized").await?;
            return Err(Error::Unauthorized(
                "missing service token: send Authorization: Bearer <token> or X-Service-Token"
                    .into(),
            ));
        }
        1 => {}
        n => {
            return Err(Error::invalid(
                "authorization",
                format!(
                    "send exactly one token (Authorization: Bearer or X-Service-Token), not {n}"
                ),
            ));
        }
    }
    let presented = presented[0];
    let expected = state.token().expose_secret().as_bytes();
    if constant_time_eq(presented, expected) {
        return Ok(Caller::Root);
    }
    let denied = match std::str::from_utf8(presented) {
        Ok(t) if t.starts_with(TOKEN_PREFIX) => {
            match vault.tokens().authenticate(t).await {
                Ok(caller) => return Ok(caller),
                Err(e @ Error::Unauthorized(_)) => e,
                // The store or the vault failed, not the caller: no attempt spent.
                Err(e) => return Err(e),
            }
        }
        _ => {
            vault.record_failed_auth("unauthorized").await?;
            Error::Unauthorized("invalid service token".into())
        }
    };
    if let Some(ip) = peer {
        state.auth_failures().fail(ip);
    }
    tracing::warn!(
        target: "vault_http::auth",
        peer = %peer.map_or_else(|| "unknown".to_string(), |p| p.to_string()),
        reason = %denied,
        "authentication failed"
    );
    Err(denied)
}

/// The id of the caller a request was authenticated as (`root`, `tok_...`), put on the
/// response for the request log. Public, never a secret.
#[derive(Debug, Clone)]
pub struct CallerId(pub String);
