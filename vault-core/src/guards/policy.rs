//! The guard policy document: its fields and defaults, its checks, instrument names, and its
//! canonical JSON and hash.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::decimal;
use crate::error::{Error, Result};

/// Most allowlist entries or per-instrument limits in one policy.
pub const MAX_POLICY_ENTRIES: usize = 1000;
/// Longest instrument (or allowlist entry, or asset), in bytes.
pub const MAX_INSTRUMENT_LEN: usize = 64;
/// Longest cooldown or anti-flip window, in seconds (30 days).
pub const MAX_WINDOW_S: u64 = 30 * 24 * 3600;

/// An account's guard policy. Omitted fields take their defaults, except the allowlist, whose
/// absence denies everything. Decimals are strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardPolicy {
    /// Instruments that may be traded: exact (`EUR_USD`) or an explicit `BASE/*`; empty denies
    /// everything.
    #[serde(default)]
    pub allowlist: Vec<String>,
    /// Largest resulting position, in quote notional.
    #[serde(default)]
    pub max_position_notional: PositionLimits,
    /// Lowest confidence that passes (inclusive), in [0, 1]. Default 0.70.
    #[serde(default = "default_min_confidence")]
    pub min_confidence: f64,
    /// Seconds after an execution on an asset before another discretionary one. Default 3600.
    #[serde(default = "default_cooldown_s")]
    pub cooldown_s: u64,
    /// Seconds after an execution on an asset during which the opposite side is refused
    /// (0: flips allowed). Default 14400.
    #[serde(default = "default_anti_flip_s")]
    pub anti_flip_s: u64,
    /// Seconds a proposal stays valid when it names no `expires_at` (at most 3600). Default
    /// 300.
    #[serde(default = "default_proposal_ttl_s")]
    pub proposal_ttl_s: u64,
    /// Most executions per UTC day (none: no cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_trades_per_day: Option<u32>,
    /// Realized loss in a UTC day that trips the account to `REDUCING` (none: no breaker).
    #[serde(
        default,
        with = "decimal::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_daily_loss: Option<Decimal>,
    /// LLM-call budgets.
    #[serde(default)]
    pub llm_calls: LlmCalls,
    /// Most overrides granted per UTC day. Default 3.
    #[serde(default = "default_max_overrides")]
    pub max_overrides_per_day: u32,
    /// What cooldown and anti-flip are kept for: the asset (default: `BTC/USDT` and `BTC/USDC`
    /// are one) or the instrument.
    #[serde(default)]
    pub scope: Scope,
}

/// Position limits: per instrument, else the default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PositionLimits {
    /// The limit of instruments not listed (none: such instruments may not open or increase a
    /// position at all).
    #[serde(
        default,
        with = "decimal::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub default: Option<Decimal>,
    /// Limits per instrument.
    #[serde(default, with = "decimal::map")]
    pub per_instrument: BTreeMap<String, Decimal>,
}

/// LLM-call budgets of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmCalls {
    /// Calls per hour. Default 20.
    #[serde(default = "default_hourly")]
    pub hourly: u32,
    /// Calls per day. Default 200.
    #[serde(default = "default_daily")]
    pub daily: u32,
    /// `calendar` (UTC hour and day buckets, the default) or `rolling` (the last 3600 s and
    /// 86400 s).
    #[serde(default)]
    pub window: Window,
}

impl Default for LlmCalls {
    fn default() -> Self {
        LlmCalls {
            hourly: default_hourly(),
            daily: default_daily(),
            window: Window::default(),
        }
    }
}

/// How budget windows are cut.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Window {
    /// UTC hour and day buckets: predictable resets.
    #[default]
    Calendar,
    /// The last hour and day, counted back from now.
    Rolling,
}

/// What cooldown and anti-flip are kept for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// The base asset (`BTC` of `BTC/USDT`).
    #[default]
    Asset,
    /// The instrument.
    Instrument,
}

fn default_min_confidence() -> f64 {
    0.70
}
fn default_cooldown_s() -> u64 {
    3600
}
fn default_anti_flip_s() -> u64 {
    4 * 3600
}
fn default_proposal_ttl_s() -> u64 {
    300
}
fn default_max_overrides() -> u32 {
    3
}
fn default_hourly() -> u32 {
    20
}
fn default_daily() -> u32 {
    200
}

impl Default for GuardPolicy {
    /// The policy of an account with none set: every default, and the empty allowlist (deny
    /// everything).
    fn default() -> Self {
        GuardPolicy {
            allowlist: Vec::new(),
            max_position_notional: PositionLimits::default(),
            min_confidence: default_min_confidence(),
            cooldown_s: default_cooldown_s(),
            anti_flip_s: default_anti_flip_s(),
            proposal_ttl_s: default_proposal_ttl_s(),
            max_trades_per_day: None,
            max_daily_loss: None,
            llm_calls: LlmCalls::default(),
            max_overrides_per_day: default_max_overrides(),
            scope: Scope::default(),
        }
    }
}

/// `instrument` normalized: uppercase, `_` and `-` read as `/`. `invalid` (naming `field`) when
/// empty, too long, or with characters other than letters, digits and `/ : .`.
pub(crate) fn normalize_instrument(field: &str, instrument: &str) -> Result<String> {
    if instrument.is_empty() || instrument.len() > MAX_INSTRUMENT_LEN {
        return Err(Error::invalid(
            field,
            format!("must be 1 to {MAX_INSTRUMENT_LEN} characters"),
        ));
    }
    let mut out = String::with_capacity(instrument.len());
    for c in instrument.chars() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | ':' | '.' => out.push(c.to_ascii_uppercase()),
            '/' | '_' | '-' => out.push('/'),
            _ => {
                return Err(Error::invalid(
                    field,
                    format!(
                        "{instrument:?} has {c:?}: use letters, digits and / _ - : . \
                         (e.g. EUR_USD or BTC/USDT)"
                    ),
                ));
            }
        }
    }
    if out.starts_with('/') || out.ends_with('/') || out.contains("//") {
        return Err(Error::invalid(
            field,
            format!("{instrument:?} is not BASE/QUOTE (e.g. EUR_USD or BTC/USDT)"),
        ));
    }
    Ok(out)
}

/// The base of a normalized instrument (`BTC` of `BTC/USDT`; the whole name without `/`).
pub(crate) fn base_of(instrument: &str) -> &str {
    instrument.split('/').next().unwrap_or(instrument)
}

impl GuardPolicy {
    /// Checks every field (`invalid` naming it) and returns the policy normalized: instruments
    /// uppercase with `/`, decimals without trailing zeros.
    pub(crate) fn checked(mut self) -> Result<GuardPolicy> {
        if self.allowlist.len() > MAX_POLICY_ENTRIES {
            return Err(Error::invalid(
                "allowlist",
                format!("at most {MAX_POLICY_ENTRIES} entries"),
            ));
        }
        let mut allow = Vec::with_capacity(self.allowlist.len());
        for (i, entry) in self.allowlist.iter().enumerate() {
            let field = format!("allowlist[{i}]");
            let normalized = match entry.strip_suffix("/*") {
                Some(base) => {
                    let base = normalize_instrument(&field, base)?;
                    if base.contains('/') {
                        return Err(Error::invalid(
                            field,
                            "a wildcard is BASE/* (every instrument of one base)",
                        ));
                    }
                    format!("{base}/*")
                }
                None if entry.contains('*') => {
                    return Err(Error::invalid(
                        field,
                        "the only wildcard is BASE/* (e.g. BTC/*); there is no implicit one",
                    ));
                }
                None => normalize_instrument(&field, entry)?,
            };
            if !allow.contains(&normalized) {
                allow.push(normalized);
            }
        }
        allow.sort();
        self.allowlist = allow;
        let limits = &mut self.max_position_notional;
        if let Some(d) = limits.default {
            limits.default = Some(non_negative("max_position_notional.default", d)?);
        }
        if limits.per_instrument.len() > MAX_POLICY_ENTRIES {
            return Err(Error::invalid(
                "max_position_notional.per_instrument",
                format!("at most {MAX_POLICY_ENTRIES} entries"),
            ));
        }
        let mut per = BTreeMap::new();
        for (k, v) in std::mem::take(&mut limits.per_instrument) {
            let field = format!("max_position_notional.per_instrument.{k}");
            let inst = normalize_instrument(&field, &k)?;
            per.insert(inst, non_negative(&field, v)?);
        }
        limits.per_instrument = per;
        if !self.min_confidence.is_finite() || !(0.0..=1.0).contains(&self.min_confidence) {
            return Err(Error::invalid(
                "min_confidence",
                "must be a number in [0, 1]",
            ));
        }
        for (field, v) in [
            ("cooldown_s", self.cooldown_s),
            ("anti_flip_s", self.anti_flip_s),
        ] {
            if v > MAX_WINDOW_S {
                return Err(Error::invalid(
                    field,
                    format!("must be at most {MAX_WINDOW_S} (30 days)"),
                ));
            }
        }
        if self.proposal_ttl_s == 0 || self.proposal_ttl_s > super::MAX_PROPOSAL_TTL_S {
            return Err(Error::invalid(
                "proposal_ttl_s",
                format!("must be 1 to {}", super::MAX_PROPOSAL_TTL_S),
            ));
        }
        if let Some(d) = self.max_daily_loss {
            self.max_daily_loss = Some(non_negative("max_daily_loss", d)?);
        }
        if self.llm_calls.hourly > 10_000_000 || self.llm_calls.daily > 10_000_000 {
            return Err(Error::invalid("llm_calls", "caps must be at most 10000000"));
        }
        if self.max_overrides_per_day > 1000 {
            return Err(Error::invalid(
                "max_overrides_per_day",
                "must be at most 1000",
            ));
        }
        Ok(self)
    }

    /// Whether the allowlist admits the normalized `instrument`.
    pub(crate) fn allows(&self, instrument: &str) -> bool {
        let base = base_of(instrument);
        self.allowlist.iter().any(|a| match a.strip_suffix("/*") {
            Some(b) => b == base && instrument.contains('/'),
            None => a == instrument,
        })
    }

    /// The limit of the normalized `instrument` (none: nothing may open).
    pub(crate) fn position_limit(&self, instrument: &str) -> Decimal {
        self.max_position_notional
            .per_instrument
            .get(instrument)
            .copied()
            .or(self.max_position_notional.default)
            .unwrap_or(Decimal::ZERO)
    }

    /// The canonical JSON: every field (defaults filled), keys sorted, no whitespace, decimals
    /// as strings, durations as integer seconds.
    pub(crate) fn canonical(&self) -> Result<String> {
        let v = serde_json::to_value(self)
            .map_err(|e| Error::Internal(format!("encode policy: {e}")))?;
        let mut out = String::new();
        write_canonical(&v, &mut out);
        Ok(out)
    }

    /// `sha256:<hex>` of [`GuardPolicy::canonical`].
    pub(crate) fn hash(&self) -> Result<String> {
        Ok(format!(
            "sha256:{}",
            crate::crypto::sha256_hex(self.canonical()?.as_bytes())?
        ))
    }
}

fn non_negative(field: &str, d: Decimal) -> Result<Decimal> {
    if d.is_sign_negative() && !d.is_zero() {
        return Err(Error::invalid(field, "must not be negative"));
    }
    Ok(d.normalize())
}

/// JSON with object keys sorted (whatever map order serde_json was built with).
fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                write_canonical(&m[k.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(json: &str) -> Result<GuardPolicy> {
        serde_json::from_str::<GuardPolicy>(json)
            .map_err(|e| Error::invalid("policy", e.to_string()))?
            .checked()
    }

    #[test]
    fn omitted_fields_take_defaults_and_the_allowlist_denies_everything() {
        let p = policy("{}").expect("empty policy");
        assert!(p.allowlist.is_empty());
        assert!(!p.allows("EUR/USD"));
        assert_eq!(
            (p.cooldown_s, p.anti_flip_s, p.proposal_ttl_s),
            (3600, 14400, 300)
        );
        assert_eq!(p.min_confidence, 0.70);
        assert_eq!(p.max_overrides_per_day, 3);
        assert_eq!(p.position_limit("EUR/USD"), Decimal::ZERO);
    }

    #[test]
    fn the_issue_example_parses_and_wildcards_are_explicit() {
        let p = policy(
            r#"{"allowlist": ["EUR_USD", "BTC/*"], "max_position_notional":
            {"default": "10000", "per_instrument": {"EUR_USD": "5000"}}, "min_confidence": 0.7,
            "cooldown_s": 3600, "anti_flip_s": 14400, "proposal_ttl_s": 300,
            "max_trades_per_day": 20, "max_daily_loss": "500", "llm_calls": {"hourly": 50,
            "daily": 500}, "max_overrides_per_day": 3}"#,
        )
        .expect("example");
        assert!(p.allows("EUR/USD"));
        assert!(p.allows("BTC/USDT") && p.allows("BTC/USDC"));
        assert!(!p.allows("ETH/USDT") && !p.allows("EUR/GBP") && !p.allows("BTC"));
        assert_eq!(p.position_limit("EUR/USD"), Decimal::from(5000));
        assert_eq!(p.position_limit("BTC/USDT"), Decimal::from(10000));
    }

    #[test]
    fn bad_fields_are_named() {
        for (json, field) in [
            (r#"{"allowlist": ["BTC*"]}"#, "allowlist[0]"),
            (r#"{"allowlist": ["a b"]}"#, "allowlist[0]"),
            (r#"{"min_confidence": 1.5}"#, "min_confidence"),
            (r#"{"proposal_ttl_s": 0}"#, "proposal_ttl_s"),
            (r#"{"proposal_ttl_s": 3601}"#, "proposal_ttl_s"),
            (r#"{"max_daily_loss": "-1"}"#, "max_daily_loss"),
            (
                r#"{"max_position_notional": {"default": "-5"}}"#,
                "max_position_notional.default",
            ),
        ] {
            let e = policy(json).expect_err(json);
            assert_eq!(e.field(), Some(field), "{json}: {e}");
        }
        let e = policy(r#"{"allowlist": [], "surprise": 1}"#).expect_err("unknown field");
        assert!(e.to_string().contains("surprise"), "{e}");
        let e = policy(r#"{"max_daily_loss": 500}"#).expect_err("a number, not a string");
        assert_eq!(e.code(), "invalid");
    }

    #[test]
    fn the_hash_is_of_the_canonical_form() {
        let a = policy(r#"{"allowlist": ["eur_usd", "BTC/*"], "max_daily_loss": "500.00"}"#)
            .expect("a");
        let b =
            policy(r#"{"max_daily_loss": "500", "allowlist": ["BTC/*", "EUR/USD"]}"#).expect("b");
        assert_eq!(a.hash().expect("hash"), b.hash().expect("hash"));
        assert!(a.hash().expect("hash").starts_with("sha256:"));
        let c = policy(r#"{"allowlist": ["EUR/USD"]}"#).expect("c");
        assert_ne!(a.hash().expect("hash"), c.hash().expect("hash"));
        let canonical = a.canonical().expect("canonical");
        assert!(
            canonical.contains(r#""max_daily_loss":"500""#),
            "{canonical}"
        );
        assert!(!canonical.contains(' '), "{canonical}");
    }
}
