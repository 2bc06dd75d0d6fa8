"""The audit log through the package: `v.audit.query(...)` and `v.audit.verify()` in both modes,
`close()` committing an embedded vault's queued entries, and the policy matrix (each capability
x a token whose glob matches / does not match the resource).

Embedded, sled allows one opener of a directory per process, so `as_token` / `as_root` (from
test_tokens) close the vault under test and open it again as the other caller: those reopens
rely on `close()` committing the entries still queued.
"""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any, Callable

import pytest
from conftest import KEY, SVC, TOKEN, Harness, fresh_secret, parse_ts, raises
from test_tokens import as_root, as_token, forbidden, hash_of, refused

import vault

NAME = "OANDA_API_KEY"
HEX64 = re.compile(r"^[0-9a-f]{64}$")
ENTRY_FIELDS = [
    "seq",
    "writer",
    "time",
    "request_id",
    "actor_id",
    "actor_name",
    "op",
    "path",
    "outcome",
    "client",
    "prev",
    "hash",
]


def all_entries(v: vault.Vault, **filters: Any) -> list[vault.AuditEntry]:
    """Every entry matching `filters`, newest first, following `next` to the end."""
    out: list[vault.AuditEntry] = []
    after: str | None = None
    while True:
        page = v.audit.query(limit=1000, after=after, **filters)
        out.extend(page)
        after = page.next
        if after is None:
            return out


def operations(entries: list[vault.AuditEntry]) -> list[vault.AuditEntry]:
    """The entries of the operations under test: without the audit's own reads."""
    return [e for e in entries if not e.op.startswith("audit.")]


def me(h: Harness) -> str:
    """The trusted caller's actor id (and name)."""
    return "root" if h.mode == "remote" else "embedded"


def test_each_operation_has_one_entry_with_its_actor_and_outcome(h: Harness) -> None:
    secret = fresh_secret()
    path = f"credentials/{SVC}/{NAME}"
    h.v.credentials.put(NAME, secret, SVC)
    assert h.v.credentials.get(NAME, SVC).value == secret
    reader = h.v.tokens.create(
        "reader", [{"path": f"credentials/{SVC}/OTHER_*", "capabilities": ["read"]}]
    )
    r = as_token(h, reader.token)
    forbidden(lambda: r.credentials.get(NAME, SVC), "read", path, reader.token, secret)
    r.close()
    bogus = "vault_sk_" + "Z" * 48
    refused(vault.Unauthorized, lambda: as_token(h, bogus).credentials.get(NAME, SVC), bogus)

    root = as_root(h)
    everything = all_entries(root)
    entries = operations(everything)
    caller = me(h)
    got = sorted((e.op, e.actor_id, e.actor_name, e.outcome, e.path) for e in entries)
    want = sorted(
        [
            ("credentials.put", caller, caller, "ok", path),
            ("credentials.get", caller, caller, "ok", path),
            ("tokens.create", caller, caller, "ok", f"tokens/{reader.id}"),
            ("credentials.get", reader.id, "reader", "forbidden", path),
            ("auth", "anonymous", "", "unauthorized", "auth"),
        ]
    )
    assert got == want
    # newest first: the put is the oldest of them, the failed authentication the newest
    assert [e.op for e in entries][0] == "auth" and [e.op for e in entries][-1] == "credentials.put"

    for e in everything:
        assert isinstance(e, vault.AuditEntry)
        assert list(e.to_dict()) == ENTRY_FIELDS
        assert e.seq >= 1 and e.writer and HEX64.match(e.hash) and HEX64.match(e.prev), e
        parse_ts(e.time)
        if h.mode == "remote":
            assert e.client == "127.0.0.1"
            assert e.request_id is not None and e.request_id.startswith("req_"), e
        else:
            assert e.client == "embedded" and e.request_id is None
    # each writer's entries form a chain: prev is the hash of the entry before
    by_writer: dict[str, list[vault.AuditEntry]] = {}
    for e in everything:
        by_writer.setdefault(e.writer, []).append(e)
    for chain in by_writer.values():
        chain.sort(key=lambda e: e.seq)
        assert chain[0].seq == 1 and chain[0].prev == "0" * 64
        for older, newer in zip(chain, chain[1:]):
            assert (newer.seq, newer.prev) == (older.seq + 1, older.hash)

    # the actor filter takes the id or the name
    by_id = operations(all_entries(root, actor=reader.id))
    by_name = operations(all_entries(root, actor="reader"))
    assert [e.hash for e in by_id] == [e.hash for e in by_name]
    assert [(e.op, e.outcome) for e in by_id] == [("credentials.get", "forbidden")]

    # never a value, a token or a token's hash
    everything = all_entries(root)
    shown = json.dumps([e.to_dict() for e in everything]) + repr(everything)
    for planted in (secret, reader.token, hash_of(reader.token), bogus, TOKEN):
        assert planted not in shown, planted

    report = root.audit.verify()
    assert isinstance(report, vault.AuditReport)
    assert report.valid and report.first_bad is None, report
    assert report.entries >= len(everything)
    assert repr(report) == f"AuditReport(valid=True, entries={report.entries}, first_bad=None)"


def test_query_filters_and_pages(h: Harness) -> None:
    for i in range(3):
        h.v.credentials.put(f"KEY_{i}", fresh_secret(), SVC)
        time.sleep(0.01)  # distinct milliseconds, for the time filters
    h.v.configs.put(SVC, "default", params={"fast": 12})
    h.v.credentials.get("KEY_0", SVC)
    raises(vault.NotFound, lambda: h.v.credentials.get("MISSING", SVC))
    puts = [f"credentials/{SVC}/KEY_{i}" for i in (2, 1, 0)]

    page = h.v.audit.query(op="credentials.put")
    assert isinstance(page, vault.Page) and page.next is None and page.unreadable == []
    assert [e.path for e in page] == puts
    assert {(e.actor_id, e.outcome) for e in page} == {(me(h), "ok")}
    assert [(e.op, e.path) for e in h.v.audit.query(outcome="not_found")] == [
        ("credentials.get", f"credentials/{SVC}/MISSING")
    ]
    assert [e.op for e in h.v.audit.query(path_prefix=f"configs/{SVC}/")] == ["configs.put"]
    assert [
        e.op for e in h.v.audit.query(op="credentials.get", path_prefix=f"credentials/{SVC}/K")
    ] == ["credentials.get"]
    mine = operations(all_entries(h.v, actor=me(h)))
    assert len(mine) == 6 and {e.actor_id for e in mine} == {me(h)}
    assert h.v.audit.query(actor="nobody") == []

    # since (inclusive) and until (exclusive): RFC 3339 strings or timezone-aware datetimes
    middle = page[1].time
    at = parse_ts(middle)
    elsewhere = at.astimezone(timezone(timedelta(hours=2)))
    for since in (middle, at, elsewhere):
        assert [e.path for e in h.v.audit.query(op="credentials.put", since=since)] == puts[:2]
    for until in (middle, at, elsewhere):
        assert [e.path for e in h.v.audit.query(op="credentials.put", until=until)] == puts[2:]
    assert h.v.audit.query(until="2000-01-01T00:00:00Z") == []
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    assert h.v.audit.query(op="credentials.put", since=later) == []

    # pages: limit, and next as the following page's after
    first = h.v.audit.query(op="credentials.put", limit=2)
    assert [e.path for e in first] == puts[:2] and first.next is not None
    rest = h.v.audit.query(op="credentials.put", limit=2, after=first.next)
    assert [e.path for e in rest] == puts[2:] and rest.next is None
    one_by_one: list[str] = []
    after: str | None = None
    while True:
        p = h.v.audit.query(op="credentials.put", limit=1, after=after)
        assert len(p) <= 1
        one_by_one.extend(e.path for e in p)
        after = p.next
        if after is None:
            break
    assert one_by_one == puts

    # bad arguments name their field
    def field(**kw: Any) -> str | None:
        return raises(vault.InvalidInput, lambda: h.v.audit.query(**kw)).field

    assert field(limit=0) == "limit"
    assert field(limit=1001) == "limit"
    assert field(after="not-a-cursor") == "after"
    assert field(since="yesterday") == "since"
    assert field(until="2026-13-01T00:00:00Z") == "until"
    assert field(since=datetime(2026, 1, 1)) == "since"  # naive: ambiguous
    assert field(since=later, until=at) == "since"
    assert field(actor="x" * 2000) == "actor"
    wrong_types: list[Any] = [1_700_000_000, 1.5, at.date(), [middle]]
    for wrong in wrong_types:
        with pytest.raises(TypeError):
            h.v.audit.query(since=wrong)
    with pytest.raises(TypeError):
        h.v.audit.query("credentials.put")  # type: ignore[call-arg]


def test_reading_the_log_needs_read_on_audit(h: Harness) -> None:
    secret = fresh_secret()
    h.v.credentials.put(NAME, secret, SVC)
    nosy = h.v.tokens.create("nosy", [{"path": "**", "capabilities": ["list", "write", "admin"]}])
    auditor = h.v.tokens.create("auditor", [{"path": "audit", "capabilities": ["read"]}])

    n = as_token(h, nosy.token)
    forbidden(n.audit.query, "read", "audit", nosy.token, secret)
    forbidden(n.audit.verify, "read", "audit", nosy.token, secret)
    n.close()

    a = as_token(h, auditor.token)
    seen = {(e.op, e.actor_id, e.outcome) for e in all_entries(a)}
    assert ("audit.query", nosy.id, "forbidden") in seen
    assert ("audit.verify", nosy.id, "forbidden") in seen
    assert [e.op for e in a.audit.query(op="credentials.put")] == ["credentials.put"]
    report = a.audit.verify()
    assert report.valid and report.first_bad is None
    # the auditor reads the log, not the secrets
    forbidden(lambda: a.credentials.get(NAME, SVC), "read", f"credentials/{SVC}/{NAME}", secret)
    a.close()
    assert [e.actor_name for e in all_entries(as_root(h), op="audit.verify", outcome="ok")] == [
        "auditor"
    ]


def test_audit_of_a_closed_vault_is_invalid(h: Harness) -> None:
    audit = h.v.audit
    assert repr(audit) == "<vault audit>"
    h.v.close()
    for call in (audit.query, audit.verify):
        err = raises(vault.InvalidInput, call)
        assert "closed" in str(err)


def test_close_commits_the_queued_entries_and_frees_the_directory_at_once(tmp_path: Path) -> None:
    """A read's entry waits up to 100 ms for the flusher; `close()` commits it and stops the
    flusher, so reopening at once neither finds the directory in use nor misses an entry."""
    data = tmp_path / "data"
    secret = fresh_secret()
    with vault.open(data, encryption_key=KEY) as v:
        v.credentials.put(NAME, secret, SVC)
    rounds = 20
    for _ in range(rounds):
        v = vault.open(data, encryption_key=KEY)
        assert v.credentials.get(NAME, SVC).value == secret
        v.close()
        assert v.closed
        v.close()  # twice: nothing more
    with vault.open(data, encryption_key=KEY) as v:
        gets = all_entries(v, op="credentials.get")
        assert len(gets) == rounds
        assert {(e.actor_id, e.outcome, e.client) for e in gets} == {("embedded", "ok", "embedded")}
        assert len({e.writer for e in gets}) == rounds  # one opened vault each
        assert v.audit.verify().valid


def test_close_lets_calls_in_flight_finish_and_keeps_their_entries(tmp_path: Path) -> None:
    """A `verify()` running on another thread when `close()` is called: close waits for it,
    so its entry, queued when it finishes, is committed (not dropped with the vault)."""
    data = tmp_path / "data"
    with vault.open(data, encryption_key=KEY) as v:
        v.credentials.put(NAME, fresh_secret(), SVC)
        for _ in range(3000):  # a log long enough that verify() takes a while
            v.credentials.get(NAME, SVC)
    for _ in range(3):
        v = vault.open(data, encryption_key=KEY)
        before = len(all_entries(v, op="audit.verify"))
        reports: list[vault.AuditReport] = []
        t = threading.Thread(target=lambda audit=v.audit, out=reports: out.append(audit.verify()))
        t.start()
        time.sleep(0.02)  # verify() is under way (it takes ~100 ms here)
        v.close()
        t.join(30)
        v = vault.open(data, encryption_key=KEY)
        after = len(all_entries(v, op="audit.verify"))
        v.close()
        assert after == before + len(reports)
        if reports:  # it was in flight (else close came first: try again)
            assert reports[0].valid
            return
    pytest.fail("verify() never started before close()")


# ---- the policy matrix: each capability x a glob that matches the resource or does not ----

CAPABILITIES = ["read", "write", "delete", "list"]
MATRIX = "MATRIX_KEY"
# Reading, writing or deleting the key needs the capability on its path; listing the service's
# credentials needs `list` on a path under that service (so the miss is another service).
GLOBS = {
    "read": (f"credentials/{SVC}/MATRIX_*", f"credentials/{SVC}/OTHER_*"),
    "write": (f"credentials/{SVC}/MATRIX_*", f"credentials/{SVC}/OTHER_*"),
    "delete": (f"credentials/{SVC}/MATRIX_*", f"credentials/{SVC}/OTHER_*"),
    "list": (f"credentials/{SVC}/*", "credentials/othersvc/*"),
}
PATHS = {
    "read": f"credentials/{SVC}/{MATRIX}",
    "write": f"credentials/{SVC}/{MATRIX}",
    "delete": f"credentials/{SVC}/{MATRIX}",
    "list": f"credentials/{SVC}/*",
}


def call_with(v: vault.Vault, capability: str) -> Callable[[], Any]:
    """The call that needs `capability` on the matrix credential (or its service)."""
    calls: dict[str, Callable[[], Any]] = {
        "read": partial(v.credentials.get, MATRIX, SVC),
        "write": partial(v.credentials.put, MATRIX, "rewritten", SVC),
        "delete": partial(v.credentials.delete, MATRIX, SVC),
        "list": partial(v.credentials.list, SVC),
    }
    return calls[capability]


def test_policy_matrix(h: Harness) -> None:
    cases = [(cap, matches) for cap in CAPABILITIES for matches in (True, False)]
    created = {
        (cap, matches): h.v.tokens.create(
            f"{cap}-{'hit' if matches else 'miss'}",
            [{"path": GLOBS[cap][0 if matches else 1], "capabilities": [cap]}],
        )
        for cap, matches in cases
    }
    for cap, matches in cases:
        seeded = fresh_secret()
        as_root(h).credentials.put(MATRIX, seeded, SVC)
        token = created[(cap, matches)].token
        v = as_token(h, token)
        for tried in CAPABILITIES:
            call = call_with(v, tried)
            if tried == cap and matches:
                done = call()
                if cap == "read":
                    assert done.value == seeded
                elif cap == "write":
                    assert done.action == "updated"
                elif cap == "delete":
                    assert (done.service, done.key) == (SVC, MATRIX)
                else:
                    # listed: but an item the token may not read is left out
                    assert isinstance(done, vault.Page) and done == [] and done.next is None
            else:
                forbidden(call, tried, PATHS[tried], token, seeded)
        v.close()
        # what was refused did not happen
        root = as_root(h)
        if (cap, matches) == ("delete", True):
            raises(vault.NotFound, partial(root.credentials.get, MATRIX, SVC))
        else:
            want = "rewritten" if (cap, matches) == ("write", True) else seeded
            assert root.credentials.get(MATRIX, SVC).value == want
    # each refusal and each success is in the log under its token
    entries = operations(all_entries(as_root(h)))
    for (cap, matches), t in created.items():
        outcomes = sorted(e.outcome for e in entries if e.actor_id == t.id)
        want_outcomes = ["forbidden"] * 4 if not matches else ["forbidden"] * 3 + ["ok"]
        assert outcomes == sorted(want_outcomes), (cap, matches, outcomes)
