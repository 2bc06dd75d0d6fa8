"""`v.jobs`, run against both modes: every test taking `h` runs embedded and remote. Lease
expiry is driven by a manual clock in vault-core's tests; here nothing waits for time."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

from conftest import Harness, parse_ts, raises

import vault

ACCT = "acct"
PAST = "2020-01-01T00:00:00.000Z"


def test_a_job_from_create_to_done_with_the_stale_owner_refused(h: Harness) -> None:
    v = h.v
    c = v.jobs.create(ACCT, "scan", max_attempts=3)
    assert c.created is True
    assert (c.job.account, c.job.job_id, c.job.state, c.job.fencing_token) == (
        ACCT,
        "scan",
        "pending",
        0,
    )
    assert v.jobs.create(ACCT, "scan").created is False
    raises(vault.Conflict, lambda: v.jobs.create(ACCT, "scan", max_attempts=5))

    got = v.jobs.claim_due(ACCT, "a", limit=10, ttl=30)
    assert [(j.job_id, j.fencing_token, j.attempt, j.owner, j.state) for j in got] == [
        ("scan", 1, 1, "a", "leased")
    ]
    lease_end = got[0].lease_expires_at
    assert lease_end is not None and parse_ts(lease_end) > parse_ts(got[0].updated_at)
    assert v.jobs.claim_due(ACCT, "b") == []

    renewed = v.jobs.renew(ACCT, "scan", "a", 1, ttl=60)
    assert renewed.lease_expires_at is not None
    assert parse_ts(renewed.lease_expires_at) >= parse_ts(lease_end)
    # a fails and is rescheduled in the past: due at once, b takes the next attempt.
    j = v.jobs.release(ACCT, "scan", "a", 1, "failed", reschedule_at=PAST)
    assert (j.state, j.last_outcome, j.run_at) == ("pending", "failed", PAST)
    again = v.jobs.claim_due(ACCT, "b")
    assert [(x.fencing_token, x.attempt) for x in again] == [(2, 2)]
    for late in (
        lambda: v.jobs.release(ACCT, "scan", "a", 1, "done"),
        lambda: v.jobs.renew(ACCT, "scan", "a", 1),
    ):
        e = raises(vault.Conflict, late)
        assert "job 'scan' of account 'acct'" in str(e) and "stale" in str(e), str(e)
    nxt = datetime(2030, 1, 1, tzinfo=timezone.utc)
    done = v.jobs.release(ACCT, "scan", "b", 2, "done", reschedule_at=nxt)
    assert (done.state, done.attempt, done.run_at) == ("pending", 0, "2030-01-01T00:00:00.000Z")
    assert v.jobs.get(ACCT, "scan").to_dict() == done.to_dict()
    assert "fencing_token=2" in repr(done)
    assert (v.jobs.sweep(ACCT).released, v.jobs.sweep(ACCT).dead) == (0, 0)
    raises(vault.NotFound, lambda: v.jobs.get(ACCT, "nope"))


def test_bad_job_input_is_invalid_naming_the_field(h: Harness) -> None:
    v = h.v
    v.jobs.create(ACCT, "j")
    cases = [
        ("ttl", lambda: v.jobs.claim_due(ACCT, "a", ttl=0)),
        ("ttl", lambda: v.jobs.claim_due(ACCT, "a", ttl=3601)),
        ("ttl", lambda: v.jobs.claim_due(ACCT, "a", ttl=-1)),
        ("limit", lambda: v.jobs.claim_due(ACCT, "a", limit=0)),
        ("limit", lambda: v.jobs.claim_due(ACCT, "a", limit=101)),
        ("instance", lambda: v.jobs.claim_due(ACCT, "a b")),
        ("account", lambda: v.jobs.claim_due("../x", "a")),
        ("job_id", lambda: v.jobs.create(ACCT, "claim")),
        ("max_attempts", lambda: v.jobs.create(ACCT, "k", max_attempts=0)),
        ("run_at", lambda: v.jobs.create(ACCT, "k", run_at="tomorrow")),
        ("outcome", lambda: v.jobs.release(ACCT, "j", "a", 1, "maybe")),  # type: ignore[arg-type]
    ]
    for field, call in cases:
        e = raises(vault.InvalidInput, call)
        assert e.field == field, (field, str(e))
    j = v.jobs.get(ACCT, "j")
    assert (j.state, j.fencing_token) == ("pending", 0)
    assert [x.job_id for x in v.jobs.list(ACCT)] == ["j"]


def test_list_pages_by_job_id(h: Harness) -> None:
    v = h.v
    for j in ["e", "a", "c", "b", "d"]:
        v.jobs.create(ACCT, j)
    p1 = v.jobs.list(ACCT, limit=2)
    assert [j.job_id for j in p1] == ["a", "b"] and p1.next is not None
    p2 = v.jobs.list(ACCT, limit=2, after=p1.next)
    p3 = v.jobs.list(ACCT, limit=2, after=p2.next)
    assert [j.job_id for j in p2] + [j.job_id for j in p3] == ["c", "d", "e"]
    assert p3.next is None


def test_concurrent_claimers_each_get_distinct_jobs(h: Harness) -> None:
    v = h.v
    ids = [f"j{i}" for i in range(12)]
    for j in ids:
        v.jobs.create(ACCT, j)
    got: list[str] = []
    lock = threading.Lock()

    def claimer(i: int) -> None:
        jobs = v.jobs.claim_due(ACCT, f"i{i}", limit=3, ttl=60)
        with lock:
            got.extend(j.job_id for j in jobs)

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == sorted(ids)
