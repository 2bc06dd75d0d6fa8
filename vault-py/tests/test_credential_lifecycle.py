"""The credential lifecycle of `v.credentials`, in both modes: versions, version N, soft delete,
undelete, destroy, rotation, settings, the due listing, and bad input."""

from __future__ import annotations

import string

import pytest
from conftest import SVC, Harness, raises

import vault

PLANTED = "planted-py-lifecycle-0xabc"


def seed(v: vault.Vault) -> None:
    for i in range(1, 4):
        v.credentials.put("K", f"{PLANTED}-{i}", SVC)


def test_versions_listing_and_reading_version_n(h: Harness) -> None:
    v = h.v
    seed(v)
    page = v.credentials.versions("K", SVC)
    assert isinstance(page, vault.CredentialVersions)
    assert (page.current_version, page.oldest_version, page.max_versions) == (3, 1, 10)
    assert [i.version for i in page.versions] == [3, 2, 1]
    assert all(i.state == "active" and i.created_at for i in page.versions)
    assert PLANTED not in repr(page) + repr(page.versions)
    first = v.credentials.versions("K", SVC, limit=2)
    assert ([i.version for i in first.versions], first.next) == ([3, 2], 2)
    rest = v.credentials.versions("K", SVC, limit=2, after=first.next)
    assert ([i.version for i in rest.versions], rest.next) == ([1], None)
    assert v.credentials.get("K", SVC, version=1).value == f"{PLANTED}-1"
    assert v.credentials.get("K", version=2).version == 2


def test_soft_delete_undelete_destroy(h: Harness) -> None:
    v = h.v
    seed(v)
    info = v.credentials.delete_version("K", SVC, 1)
    assert isinstance(info, vault.VersionInfo)
    assert (info.version, info.state) == (1, "deleted") and info.deleted_at
    err = raises(vault.NotFound, lambda: v.credentials.get("K", SVC, version=1))
    assert "deleted" in str(err) and PLANTED not in str(err)
    assert v.credentials.undelete_version("K", SVC, 1).state == "active"
    assert v.credentials.get("K", SVC, version=1).value == f"{PLANTED}-1"
    # The current version soft-deleted: a plain get is NotFound too.
    v.credentials.delete_version("K", SVC, 3)
    raises(vault.NotFound, lambda: v.credentials.get("K", SVC))
    assert v.credentials.list(SVC)[0].state == "deleted"
    v.credentials.undelete_version("K", SVC, 3)
    assert v.credentials.destroy_version("K", SVC, 2).state == "destroyed"
    raises(vault.NotFound, lambda: v.credentials.get("K", SVC, version=2))
    raises(vault.NotFound, lambda: v.credentials.undelete_version("K", SVC, 2))
    raises(vault.NotFound, lambda: v.credentials.delete_version("K", SVC, 9))
    assert [i.state for i in v.credentials.versions("K", SVC).versions] == [
        "active",
        "destroyed",
        "active",
    ]


def test_rotate_and_settings(h: Harness) -> None:
    v = h.v
    v.credentials.put("K", PLANTED, SVC, rotate_every="7d", max_versions=5)
    w = v.credentials.rotate("K", SVC, length=24, charset="hex")
    assert isinstance(w, vault.CredentialWritten)
    assert (w.action, w.version) == ("updated", 2)
    assert PLANTED not in repr(w)
    value = v.credentials.get("K", SVC).value
    assert len(value) == 24 and set(value) <= set(string.hexdigits.lower())
    assert v.credentials.get("K", SVC, version=1).value == PLANTED
    assert len(v.credentials.get("K", SVC).value) == 24
    assert len(v.credentials.rotate("NEW", SVC).__repr__()) > 0  # created when missing
    assert len(v.credentials.get("NEW", SVC).value) == 32
    info = v.credentials.list(SVC)[0]
    assert (info.key, info.rotate_every, info.max_versions, info.due) == ("K", "7d", 5, False)
    assert info.due_at is not None
    info = v.credentials.set_settings("K", SVC, max_versions=1, rotate_every="off")
    assert isinstance(info, vault.CredentialInfo)
    assert (info.max_versions, info.oldest_version, info.rotate_every) == (1, 2, None)
    raises(vault.NotFound, lambda: v.credentials.get("K", SVC, version=1))
    assert v.credentials.due(SVC) == []
    assert v.health().overdue_credentials == 0


def test_lifecycle_bad_input_names_the_field_and_changes_nothing(h: Harness) -> None:
    v = h.v
    seed(v)
    before = [(i.version, i.state) for i in v.credentials.versions("K", SVC).versions]
    cases = [
        (lambda: v.credentials.get("K", SVC, version=0), "version"),
        (lambda: v.credentials.destroy_version("K", SVC, 0), "version"),
        (lambda: v.credentials.versions("K", SVC, limit=0), "limit"),
        (lambda: v.credentials.rotate("K", SVC, charset="emoji"), "charset"),
        (lambda: v.credentials.rotate("K", SVC, length=7), "length"),
        (lambda: v.credentials.set_settings("K", SVC, max_versions=0), "max_versions"),
        (lambda: v.credentials.set_settings("K", SVC, rotate_every="1y"), "rotate_every"),
        (lambda: v.credentials.set_settings("K", SVC, rotate_every="9" * 40), "rotate_every"),
        (lambda: v.credentials.put("K", "x", SVC, rotate_every="soon"), "rotate_every"),
        (lambda: v.credentials.put("K", "x", SVC, max_versions=101), "max_versions"),
        (lambda: v.credentials.due(SVC, limit=0), "limit"),
    ]
    for call, field in cases:
        assert raises(vault.InvalidInput, call).field == field
    with pytest.raises(OverflowError):
        v.credentials.delete_version("K", SVC, -1)
    after = [(i.version, i.state) for i in v.credentials.versions("K", SVC).versions]
    assert after == before
    assert v.credentials.get("K", SVC).version == 3
