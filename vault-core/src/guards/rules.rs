//! The guards themselves: pure functions of the policy, the stored facts, the proposal and the
//! time, so that every decision is reproducible from what it read.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::policy::{GuardPolicy, Scope};
use super::{ProposalOrigin, Side, TradingState, Violation, decimal};

/// Executions an asset record remembers for cooldown and anti-flip (the newest that count).
pub(crate) const RECENT_KEPT: usize = 64;

/// `grd/s/<account>/a/<base>`: what the guards of one asset read and every claim on it
/// rewrites (so two claims on one asset are ordered by their commits).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct AssetRecord {
    /// The newest executions that count (may have filled), oldest first.
    #[serde(default)]
    pub(crate) recent: Vec<Recent>,
    /// Signed notional per instrument (buy +, sell -) of the executions that count: claimed
    /// notional until a fill is reported, then the filled notional.
    #[serde(default, with = "decimal::map")]
    pub(crate) positions: BTreeMap<String, Decimal>,
}

/// One execution as cooldown and anti-flip see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Recent {
    pub(crate) id: String,
    pub(crate) instrument: String,
    pub(crate) side: Side,
    /// When it was claimed (ms).
    pub(crate) at: i64,
}

impl AssetRecord {
    pub(crate) fn position(&self, instrument: &str) -> Decimal {
        self.positions
            .get(instrument)
            .copied()
            .unwrap_or(Decimal::ZERO)
    }

    /// Adds `delta` to the position in `instrument` (dropping it at zero).
    pub(crate) fn add_position(&mut self, instrument: &str, delta: Decimal) {
        let p = self.position(instrument) + delta;
        if p.is_zero() {
            self.positions.remove(instrument);
        } else {
            self.positions.insert(instrument.to_string(), p.normalize());
        }
    }

    /// Records a claim.
    pub(crate) fn claimed(&mut self, recent: Recent, signed: Decimal) {
        self.add_position(&recent.instrument, signed);
        self.recent.push(recent);
        if self.recent.len() > RECENT_KEPT {
            let extra = self.recent.len() - RECENT_KEPT;
            self.recent.drain(..extra);
        }
    }

    /// Forgets execution `id` for cooldown and anti-flip (it was rejected, cancelled or failed
    /// before submit).
    pub(crate) fn forget(&mut self, id: &str) {
        self.recent.retain(|r| r.id != id);
    }

    /// The newest execution that counts within `scope` of `instrument`.
    fn newest(&self, scope: Scope, instrument: &str) -> Option<&Recent> {
        self.recent
            .iter()
            .rev()
            .find(|r| scope == Scope::Asset || r.instrument == instrument)
    }
}

/// The signed notional of a side.
pub(crate) fn signed(side: Side, notional: Decimal) -> Decimal {
    match side {
        Side::Buy => notional,
        Side::Sell => -notional,
    }
}

/// Whether a proposal opens or increases a position (else it reduces or closes one). A
/// proposal that flips through zero opens.
pub(crate) fn opens(position: Decimal, side: Side, notional: Decimal) -> bool {
    match side {
        Side::Buy => !(position.is_sign_negative() && !position.is_zero() && notional <= -position),
        Side::Sell => !(position.is_sign_positive() && !position.is_zero() && notional <= position),
    }
}

/// What one evaluation read.
pub(crate) struct Facts<'a> {
    pub(crate) policy: &'a GuardPolicy,
    /// The stricter of the account's and the global state.
    pub(crate) state: TradingState,
    pub(crate) asset: &'a AssetRecord,
    /// Executions claimed today (UTC), when the policy caps them.
    pub(crate) trades_today: u32,
    pub(crate) now_ms: i64,
}

/// The proposal as the guards see it (normalized).
pub(crate) struct Checked<'a> {
    pub(crate) instrument: &'a str,
    pub(crate) side: Side,
    pub(crate) notional: Decimal,
    pub(crate) confidence: f64,
    pub(crate) origin: ProposalOrigin,
    pub(crate) expires_at_ms: i64,
}

fn violation(rule: &str, details: serde_json::Value) -> Violation {
    Violation {
        rule: rule.to_string(),
        details: match details {
            serde_json::Value::Object(m) => m,
            _ => crate::JsonObject::new(),
        },
    }
}

/// Seconds left until `until_ms`, rounded up.
fn remaining_s(now_ms: i64, until_ms: i64) -> i64 {
    (until_ms - now_ms + 999) / 1000
}

/// Every guard in order (state, expiry, allowlist, confidence, position, cooldown, anti-flip,
/// daily trades); returns every violation.
pub(crate) fn evaluate(f: &Facts<'_>, p: &Checked<'_>) -> Vec<Violation> {
    let mut out = Vec::new();
    let discretionary = p.origin == ProposalOrigin::Discretionary;
    let position = f.asset.position(p.instrument);
    let opening = opens(position, p.side, p.notional);
    if !discretionary && opening {
        out.push(violation(
            "RISK_EXIT_NOT_REDUCING",
            json!({"position": decimal::text(&position), "notional": decimal::text(&p.notional)}),
        ));
    }
    match f.state {
        TradingState::Halted if discretionary => out.push(violation("TRADING_HALTED", json!({}))),
        TradingState::Reducing if opening => {
            out.push(violation("TRADING_STATE_REDUCING", json!({})))
        }
        _ => {}
    }
    if f.now_ms >= p.expires_at_ms {
        out.push(violation(
            "PROPOSAL_EXPIRED",
            json!({"expired_at": crate::clock::Timestamp::from_millis(p.expires_at_ms)}),
        ));
    }
    if !f.policy.allows(p.instrument) {
        out.push(violation(
            "NOT_ALLOWLISTED",
            json!({"instrument": p.instrument}),
        ));
    }
    if discretionary && p.confidence < f.policy.min_confidence {
        out.push(violation(
            "CONFIDENCE_BELOW_MINIMUM",
            json!({"confidence": p.confidence, "min": f.policy.min_confidence}),
        ));
    }
    if opening {
        let resulting = (position + signed(p.side, p.notional)).abs();
        let max = f.policy.position_limit(p.instrument);
        if resulting > max {
            out.push(violation(
                "POSITION_LIMIT_EXCEEDED",
                json!({"resulting_notional": decimal::text(&resulting), "max": decimal::text(&max)}),
            ));
        }
    }
    if discretionary && let Some(last) = f.asset.newest(f.policy.scope, p.instrument) {
        let until = last.at.saturating_add(secs_ms(f.policy.cooldown_s));
        if f.now_ms < until {
            out.push(violation(
                "COOLDOWN_ACTIVE",
                json!({"remaining_s": remaining_s(f.now_ms, until), "last_execution_id": last.id}),
            ));
        }
        let until = last.at.saturating_add(secs_ms(f.policy.anti_flip_s));
        if last.side != p.side && f.now_ms < until {
            out.push(violation(
                "ANTI_FLIP_ACTIVE",
                json!({"last_side": last.side.as_str(), "remaining_s": remaining_s(f.now_ms, until)}),
            ));
        }
    }
    if let Some(max) = f.policy.max_trades_per_day
        && f.trades_today >= max
    {
        out.push(violation(
            "MAX_TRADES_PER_DAY",
            json!({"trades": f.trades_today, "max": max}),
        ));
    }
    out
}

fn secs_ms(s: u64) -> i64 {
    i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// The rule codes an override may lift.
pub(crate) const OVERRIDABLE: [&str; 2] = ["COOLDOWN_ACTIVE", "ANTI_FLIP_ACTIVE"];

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> GuardPolicy {
        serde_json::from_str::<GuardPolicy>(
            r#"{"allowlist": ["EUR_USD", "BTC/*"], "max_position_notional":
            {"default": "10000", "per_instrument": {"EUR_USD": "5000"}}}"#,
        )
        .expect("policy")
        .checked()
        .expect("checked")
    }

    fn proposal(instrument: &str, side: Side, notional: i64) -> Checked<'_> {
        Checked {
            instrument,
            side,
            notional: Decimal::from(notional),
            confidence: 0.9,
            origin: ProposalOrigin::Discretionary,
            expires_at_ms: 1_000_000,
        }
    }

    fn rules(v: &[Violation]) -> Vec<&str> {
        v.iter().map(|v| v.rule.as_str()).collect()
    }

    #[test]
    fn every_violation_is_returned_in_order() {
        let p = policy();
        let mut asset = AssetRecord::default();
        asset.claimed(
            Recent {
                id: "x".into(),
                instrument: "BTC/USDT".into(),
                side: Side::Buy,
                at: 0,
            },
            Decimal::from(9000),
        );
        let f = Facts {
            policy: &p,
            state: TradingState::Reducing,
            asset: &asset,
            trades_today: 0,
            now_ms: 60_000,
        };
        let mut c = proposal("BTC/USDC", Side::Buy, 20000);
        c.confidence = 0.5;
        c.expires_at_ms = 60_000;
        let v = evaluate(&f, &c);
        assert_eq!(
            rules(&v),
            [
                "TRADING_STATE_REDUCING",
                "PROPOSAL_EXPIRED",
                "CONFIDENCE_BELOW_MINIMUM",
                "POSITION_LIMIT_EXCEEDED",
                "COOLDOWN_ACTIVE"
            ]
        );
        assert_eq!(v[4].details["remaining_s"], 3540);
        assert_eq!(v[3].details["resulting_notional"], "20000");
        assert_eq!(
            v[4].to_string(),
            "COOLDOWN_ACTIVE last_execution_id=x remaining_s=3540"
        );
        // A sell within the anti-flip window after the buy, past the cooldown.
        let f = Facts {
            state: TradingState::Active,
            now_ms: 3_600_000,
            ..f
        };
        let mut sell = proposal("BTC/USDT", Side::Sell, 100);
        sell.expires_at_ms = i64::MAX;
        let v = evaluate(&f, &sell);
        assert_eq!(rules(&v), ["ANTI_FLIP_ACTIVE"]);
        assert_eq!(v[0].details["remaining_s"], 3 * 3600);
    }

    #[test]
    fn a_risk_exit_skips_cooldown_anti_flip_and_confidence_but_must_reduce() {
        let p = policy();
        let mut asset = AssetRecord::default();
        asset.claimed(
            Recent {
                id: "x".into(),
                instrument: "EUR/USD".into(),
                side: Side::Buy,
                at: 0,
            },
            Decimal::from(3000),
        );
        let f = Facts {
            policy: &p,
            state: TradingState::Halted,
            asset: &asset,
            trades_today: 0,
            now_ms: 1000,
        };
        let mut exit = proposal("EUR/USD", Side::Sell, 3000);
        exit.origin = ProposalOrigin::RiskExit;
        exit.confidence = 0.1;
        assert!(evaluate(&f, &exit).is_empty());
        exit.notional = Decimal::from(3001);
        // Selling more than is held flips through zero: that opens, so it is no risk exit.
        assert_eq!(rules(&evaluate(&f, &exit)), ["RISK_EXIT_NOT_REDUCING"]);
    }

    #[test]
    fn opening_and_reducing_follow_the_position() {
        let (b, s) = (Side::Buy, Side::Sell);
        let d = Decimal::from;
        assert!(opens(d(0), b, d(1)) && opens(d(0), s, d(1)));
        assert!(!opens(d(5), s, d(5)) && opens(d(5), s, d(6)));
        assert!(!opens(d(-5), b, d(2)) && opens(d(-5), b, d(7)));
        assert!(opens(d(5), b, d(1)));
    }
}
