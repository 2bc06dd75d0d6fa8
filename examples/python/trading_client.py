# Run it from the repository root (after `pip install ./vault-py`, or `./scripts/test-python.sh`
# and `. .venv/bin/activate`):
#   remote, against the README's dev server (`cargo run --release -p vault-http -- serve`):
#     export VAULT_TOKEN=$(cat vault-data/service.token)
#     python examples/python/trading_client.py --seed      # --seed once, to write demo data
#   embedded, in a directory of its own (never the server's ./vault-data: it is in use):
#     python examples/python/trading_client.py --embedded "$(mktemp -d)" --seed
# Flags and their environment variables: --url (VAULT_URL, default http://127.0.0.1:8000),
# --embedded DIR (VAULT_DATA; key from VVAULT_ENCRYPTION_KEY, else a dev key file in DIR),
# --cache-file (VAULT_CACHE_FILE, default trading-vault-cache in the temp directory); the token
# comes from VAULT_TOKEN or VVAULT_SERVICE_TOKEN.
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
import tempfile
import warnings

try:
    import vault
except ImportError:
    sys.exit("error: the `vault` package is not installed here: pip install ./vault-py")

SERVICE = "fxshinobi"
BROKER_KEY = "OANDA_API_KEY"
DEFAULT_URL = "http://127.0.0.1:8000"
TOKEN_HINT = "export VAULT_TOKEN=$(cat vault-data/service.token)"


def env_token() -> str | None:
    """The service token: VAULT_TOKEN, else the server's own VVAULT_SERVICE_TOKEN."""
    for name in ("VAULT_TOKEN", "VVAULT_SERVICE_TOKEN", "VAULT_SERVICE_TOKEN"):
        if os.environ.get(name):
            return os.environ[name]
    return None


def open_vault(args: argparse.Namespace) -> vault.Vault:
    """Embedded when a data directory is given, remote otherwise."""
    if args.embedded:
        key: str | None = os.environ.get("VVAULT_ENCRYPTION_KEY") or None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            v = vault.open(args.embedded, encryption_key=key)
        for w in caught:  # the dev-mode notice (no key given), as one line
            print(f"note: {w.message}", file=sys.stderr)
        return v
    token = env_token()
    if token is None:
        raise SystemExit(f"error: no service token in VAULT_TOKEN; dev server: {TOKEN_HINT}")
    return vault.connect(
        args.url or DEFAULT_URL,
        token=token,
        timeout=args.timeout,
        cache_file=args.cache_file or os.path.join(tempfile.gettempdir(), "trading-vault-cache"),
    )


def seed(v: vault.Vault) -> None:
    """Demo data: two strategies and a broker credential."""
    v.configs.put(
        SERVICE,
        "default",
        params={"fast_ma": 12, "slow_ma": 26},
        symbols=["EUR_USD", "GBP_USD"],
        risk_limits={"max_position": 10000, "max_daily_loss": 0.02},
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
        print("no strategy configs: refusing to start (--seed writes demo ones)")
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
    p.add_argument("--url", default=os.environ.get("VAULT_URL"), help=f"default {DEFAULT_URL}")
    p.add_argument("--cache-file", default=os.environ.get("VAULT_CACHE_FILE"))
    p.add_argument("--timeout", type=float, default=3.0)
    p.add_argument("--seed", action="store_true", help="write demo configs and a credential first")
    args = p.parse_args(argv)
    if args.embedded and args.url:
        p.error("give at most one of --embedded DIR or --url URL (or VAULT_DATA / VAULT_URL)")
    try:
        with open_vault(args) as v:
            if args.seed:
                seed(v)
            return start(v)
    except vault.Unauthorized as e:
        hint = f"is VAULT_TOKEN the server's token? dev server: {TOKEN_HINT}"
        print(f"error: {e} [{e.code}]; {hint}", file=sys.stderr)
        return 1
    except vault.Unavailable as e:
        hint = "" if args.embedded else f" (is the server at {args.url or DEFAULT_URL} running?)"
        print(f"error: {e} [{e.code}]{hint}", file=sys.stderr)
        return 1
    except vault.VaultError as e:
        print(f"error: {e} [{e.code}]", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
