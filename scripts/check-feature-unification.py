#!/usr/bin/env python3
"""Fails when two vault builds would compile a shared dependency with different features.

The server (`cargo build -p vault-http`), the Python module (maturin, vault-py), the Node addon
(napi, vault-node) and the workspace's tests (`cargo test --workspace`) each resolve features
from the packages they build. Where they disagree on a shared crate, each build recompiles that
crate and everything above it (vault-core included). `workspace-hack/Cargo.toml` asks every
shared crate for the union; this check says what to add there when that drifts.

Usage: scripts/check-feature-unification.py   (from anywhere; needs cargo)
"""

import collections
import os
import re
import subprocess
import sys

TOPS = ["vault-http", "vault-py", "vault-node"]
LINE = re.compile(r"(\S+) v(\S+)(?: \([^)]*\))? \[(.*)\]")


def features(*args: str) -> dict[tuple[str, str], set[str]]:
    cmd = ["cargo", "tree", "--locked", "--prefix", "none", "-f", "{p} [{f}]", *args]
    run = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"feature unification: `{' '.join(cmd)}` failed:\n{run.stderr}")
    out = run.stdout
    found: dict[tuple[str, str], set[str]] = collections.defaultdict(set)
    for line in out.splitlines():
        m = LINE.match(line.strip())
        if m and not m[1].startswith("vault-"):
            found[(m[1], m[2])] |= {f for f in m[3].split(",") if f}
    return found


def main() -> int:
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    builds = {top: features("-p", top, "-e", "normal,build") for top in TOPS}
    builds["cargo test --workspace"] = features("--workspace", "-e", "normal,build,dev")
    shipped = set().union(*(builds[t].keys() for t in TOPS))
    drift = []
    for crate in sorted(shipped):
        seen = {name: b[crate] for name, b in builds.items() if crate in b}
        union = set().union(*seen.values())
        if any(f != union for f in seen.values()):
            drift.append((crate, union, seen))
    if not drift:
        print(
            f"feature unification: {len(shipped)} crates, one feature set each across {len(builds)} builds"
        )
        return 0
    print(
        "feature unification: these crates are built with different features by different builds,",
        file=sys.stderr,
    )
    print(
        "so each build recompiles them and what depends on them; add them to",
        file=sys.stderr,
    )
    print("workspace-hack/Cargo.toml with the union of features:", file=sys.stderr)
    for (name, version), union, seen in drift:
        print(f"  {name} {version}: union {sorted(union)}", file=sys.stderr)
        for build, f in seen.items():
            if f != union:
                print(f"    {build} lacks {sorted(union - f)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
