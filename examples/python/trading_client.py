# Run it (after `bash scripts/test-python.sh` or `pip install ./vault-py`):
#   embedded: VVAULT_ENCRYPTION_KEY=<64 hex digits> \
#             python examples/python/trading_client.py --embedded ./vault-data --seed
#   remote:   VVAULT_SERVICE_TOKEN=<token> python examples/python/trading_client.py \
#             --url http://127.0.0.1:8000 --cache-file ./trading.cache
# (VAULT_DATA / VAULT_URL / VAULT_CACHE_FILE may replace the flags.)
"""Startup of a trading engine against the vault.

1. health check, 2. fetch this engine's strategy configs, 3. fetch its broker credential,
4. decide how to start: ``live`` with configs and a credential, ``paper`` when the vault is
down but last-known-good configs are cached (``stale``), or refuse to start (exit 2) with no
configs at all. The same code runs embedded or remote: only the constructor differs.
``--seed`` writes demo configs and a demo credential first.
"""

from __future__ import annotations

import argparse
import os
import sys

import vault

SERVICE = "fxshinobi"
BROKER_KEY = "OANDA_API_KEY"


def open_vault(args: argparse.Namespace) -> vault.Vault:
    """Embedded when a data directory is given, remote otherwise."""
    if args.embedded:
        key: str | None = os.environ.get("VVAULT_ENCRYPTION_KEY") or None
        return vault.open(args.embedded, encryption_key=key)
    return vault.connect(
        args.url,
        token=os.environ.get("VVAULT_SERVICE_TOKEN"),
        timeout=args.timeout,
        cache_file=args.cache_file or None,
    )


def seed(v: vault.Vault) -> None:
    """Demo data: two strategies and a broker credential."""
    v.configs.put(
        SERVICE,
        "default",
        params={"fast_ma": 12, "slow_ma": 26},
        symbols=["EUR_USD", "GBP_USD"],
        risk_limits={"max_position": 10000, "max_daily_loss": 250.0},
        enabled=True,
    )
    v.configs.put(SERVICE, "scalper", params={"tick": 1}, symbols=["USD_JPY"], enabled=False)
    v.credentials.put(
        BROKER_KEY, "demo-oanda-key", service=SERVICE, metadata={"account_type": "practice"}
    )
    print("seeded demo configs and credential")


def start(v: vault.Vault) -> int:
    """The engine's startup sequence; returns the process exit code."""
    print(f"vault: {v.mode}")
    try:
        print(f"health: {v.health().status}")
    except vault.Unavailable:
        print("health: unavailable")

    configs: list[vault.StrategyConfig]
    try:
        configs = v.configs.list(SERVICE)
    except vault.Unavailable:
        configs = []
    if not configs:
        print("no strategy configs: refusing to start")
        return 2
    for c in configs:
        state = "enabled" if c.enabled else "disabled"
        stale = " (stale)" if c.stale else ""
        print(f"strategy {c.strategy_id} v{c.version} {state} symbols={','.join(c.symbols)}{stale}")

    try:
        cred = v.credentials.get(BROKER_KEY, service=SERVICE)
        # The value goes to the broker client only; never print or log it.
        broker_token = cred.value
        print(f"broker credential {cred.key} v{cred.version} loaded ({len(broker_token)} chars)")
        live = not any(c.stale for c in configs)
    except vault.Unavailable:
        print("broker credential unavailable: vault down")
        live = False
    except vault.NotFound:
        print("broker credential missing")
        live = False

    print(f"mode: {'live' if live else 'paper'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--embedded", metavar="DIR", default=os.environ.get("VAULT_DATA"))
    p.add_argument("--url", default=os.environ.get("VAULT_URL"))
    p.add_argument("--cache-file", default=os.environ.get("VAULT_CACHE_FILE"))
    p.add_argument("--timeout", type=float, default=3.0)
    p.add_argument("--seed", action="store_true")
    args = p.parse_args(argv)
    if bool(args.embedded) == bool(args.url):
        p.error("give exactly one of --embedded DIR or --url URL (or VAULT_DATA / VAULT_URL)")
    try:
        with open_vault(args) as v:
            if args.seed:
                seed(v)
            return start(v)
    except vault.VaultError as e:
        print(f"vault error [{e.code}]: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
