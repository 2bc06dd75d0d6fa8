# Run: .venv/bin/python vault-py/bench/bench_get.py [--seconds 2] [--threads 4]
#      (after scripts/test-python.sh; VAULT_HTTP_BIN overrides
#      target/<host triple>/debug/vault-http)
"""Calls per second of ``credentials.get``: embedded vs remote (a local vault-http), on one
thread and on several (the GIL is released during each call, so threads add throughput).

Prints figures only; not part of the tests. The package is built in the dev profile by
``pip install ./vault-py`` (see pyproject.toml): build with ``maturin build --release`` and a
release ``vault-http`` for figures worth quoting.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import vault

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("VAULT_HTTP_BIN", REPO / "target" / "debug" / "vault-http"))
KEY = "42" * 32
TOKEN = "bench-token-" + "x" * 32


def rate(v: vault.Vault, seconds: float, threads: int) -> float:
    """Completed credentials.get calls per second over `seconds`, from `threads` threads."""
    counts = [0] * threads
    stop = time.perf_counter() + seconds

    def loop(i: int) -> None:
        n = 0
        while time.perf_counter() < stop:
            v.credentials.get("OANDA_API_KEY", service="fxshinobi")
            n += 1
        counts[i] = n

    start = time.perf_counter()
    ts = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


def bench(name: str, v: vault.Vault, seconds: float, threads: int) -> None:
    v.credentials.put("OANDA_API_KEY", "abc123", service="fxshinobi")
    for _ in range(100):  # warm up
        v.credentials.get("OANDA_API_KEY", service="fxshinobi")
    one = rate(v, seconds, 1)
    many = rate(v, seconds, threads)
    print(f"{name:9} 1 thread: {one:10,.0f} calls/s   {threads} threads: {many:10,.0f} calls/s")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--threads", type=int, default=4)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        with vault.open(Path(tmp) / "embedded", encryption_key=KEY) as v:
            bench("embedded", v, args.seconds, args.threads)

        env = dict(os.environ, VVAULT_SERVICE_TOKEN=TOKEN, VVAULT_ENCRYPTION_KEY=KEY)
        cmd = [str(BIN), "serve", "--addr", "127.0.0.1:0", "--data", str(Path(tmp) / "srv")]
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True
        )
        try:
            assert proc.stdout is not None
            m = None
            for line in proc.stdout:
                m = re.search(r"listening on (http://\S+)", line)
                if m:
                    break
            if not m:
                raise SystemExit(f"{BIN} did not start")
            with vault.connect(m.group(1), token=TOKEN) as v:
                bench("remote", v, args.seconds, args.threads)
        finally:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
