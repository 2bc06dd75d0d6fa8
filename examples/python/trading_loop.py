# Run it from the repository root (after `pip install ./vault-py`, or `./scripts/test-python.sh`
# and `. .venv/bin/activate`):
#   embedded, in a directory of its own:
#     python examples/python/trading_loop.py --embedded "$(mktemp -d)"
#   remote, against the README's dev server (`cargo run --release -p vault-http -- serve`):
#     export VAULT_TOKEN=$(cat vault-data/service.token)
#     python examples/python/trading_loop.py
# --account (default demo-acct), --cycles (default 4), --url (VAULT_URL).
"""A trading loop whose money moves only through the vault's guards.

Each cycle: admit one LLM call against the account's budget (the "model" that scores the
market), scan a fake market, propose a trade per signal, let the guards decide and claim it,
execute the claimed ones against a fake broker, and report the fills (with realized P&L) back.
The guards refuse what the policy forbids (an instrument off the allowlist, a trade inside the
cooldown of its asset, a budget spent); every refusal says which rule and the numbers behind it.
The same code runs embedded or remote: only the constructor differs.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import warnings
from collections import Counter
from decimal import Decimal
from typing import Literal

try:
    import vault
except ImportError:
    sys.exit("error: the `vault` package is not installed here: pip install ./vault-py")

DEFAULT_URL = "http://127.0.0.1:8000"
INSTRUMENTS = ["EUR_USD", "GBP_USD", "BTC/USDT", "DOGE/USDT"]
POLICY = {
    # DOGE is not allowlisted: every proposal on it is refused (NOT_ALLOWLISTED).
    "allowlist": ["EUR_USD", "GBP_USD", "BTC/*"],
    "max_position_notional": {"default": "10000", "per_instrument": {"EUR_USD": "5000"}},
    "min_confidence": 0.7,
    "cooldown_s": 3600,
    "anti_flip_s": 14400,
    "max_trades_per_day": 20,
    "max_daily_loss": "500",
    # Three model calls a day: the fourth cycle finds the budget spent.
    "llm_calls": {"hourly": 3, "daily": 3},
}


class FakeBroker:
    """Fills most orders, rejects some; the client order id is the vault's execution id."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def send(
        self, client_order_id: str, notional: str
    ) -> tuple[Literal["filled", "rejected"], str | None, str | None]:
        """(state, filled notional, realized P&L) of an order."""
        if self.rng.random() < 0.2:
            return "rejected", None, None
        pnl = Decimal(self.rng.randint(-40, 60))
        return "filled", notional, str(pnl)


def open_vault(args: argparse.Namespace) -> vault.Vault:
    """Embedded when a data directory is given, remote otherwise."""
    if args.embedded:
        key = os.environ.get("VVAULT_ENCRYPTION_KEY") or None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the dev-mode notice of a keyless directory
            return vault.open(args.embedded, encryption_key=key)
    token = os.environ.get("VAULT_TOKEN") or os.environ.get("VVAULT_SERVICE_TOKEN")
    if not token:
        raise SystemExit("error: no service token in VAULT_TOKEN")
    return vault.connect(args.url, token=token)


Side = Literal["buy", "sell"]


def scan(rng: random.Random) -> list[tuple[str, Side, float]]:
    """The fake market's signals: (instrument, side, confidence)."""
    sides: list[Side] = ["buy", "sell"]
    return [
        (inst, rng.choice(sides), round(rng.uniform(0.5, 0.99), 2))
        for inst in INSTRUMENTS
        if rng.random() < 0.8
    ]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--embedded", default=os.environ.get("VAULT_DATA"))
    p.add_argument("--url", default=os.environ.get("VAULT_URL", DEFAULT_URL))
    p.add_argument("--account", default="demo-acct")
    p.add_argument("--cycles", type=int, default=4)
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    rng = random.Random(args.seed)
    broker = FakeBroker(rng)
    try:
        v = open_vault(args)
    except vault.VaultError as e:
        print(f"error: {e.code}: {e}", file=sys.stderr)
        return 1
    g = v.guards
    acct = args.account
    run = f"{rng.getrandbits(32):08x}"  # proposal ids unique to this run
    written = g.put_policy(acct, POLICY, comment="trading_loop example")
    print(f"policy v{written.version} {written.policy_hash[:19]}…")
    refused: Counter[str] = Counter()
    claimed = filled = 0
    for cycle in range(1, args.cycles + 1):
        admission = g.admit_llm_call(acct, model="scorer")
        if not admission.admitted:
            window = admission.exhausted_window
            resets = window.resets_at if window else "?"
            print(f"cycle {cycle}: LLM budget spent ({admission.exhausted}, resets {resets})")
            refused["LLM_BUDGET_" + str(admission.exhausted).upper()] += 1
            continue
        for i, (inst, side, confidence) in enumerate(scan(rng)):
            notional = str(100 * rng.randint(1, 20))
            d = g.decide(acct, f"{run}-c{cycle}-{i}", inst, side, notional, confidence)
            ex = d.execution
            if not d.allowed or ex is None:
                rules = ", ".join(
                    v["rule"] + "".join(f" {k}={val}" for k, val in v.items() if k != "rule")
                    for v in d.violations
                )
                print(f"cycle {cycle}: {side} {notional} {inst} refused: {rules}")
                refused.update(v["rule"] for v in d.violations)
                continue
            claimed += 1
            g.update_execution(acct, ex.execution_id, "submitted")
            outcome, fill, pnl = broker.send(ex.execution_id, ex.notional)
            done = g.update_execution(acct, ex.execution_id, outcome, fill=fill, realized_pnl=pnl)
            filled += done.state == "filled"
            print(
                f"cycle {cycle}: {side} {notional} {inst} claimed {ex.execution_id}: {done.state}"
            )
    trading = g.get_state(acct)
    print(f"claimed {claimed}, filled {filled}, state {trading.state}")
    print("refused: " + (", ".join(f"{r}={n}" for r, n in sorted(refused.items())) or "none"))
    v.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
