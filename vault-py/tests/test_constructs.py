"""`v.constructs`, run against both modes: every test taking `h` runs embedded and remote."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from conftest import KEY, Harness, raises

import vault

TEN_MIB = 10 * 1024 * 1024


def test_constructs_capsule_files_transcript_round_trip(h: Harness) -> None:
    c = h.v.constructs
    w = c.put_capsule("nova", {"name": "Nova", "traits": ["warm", 1.5, None]})
    assert (w.construct_id, w.action, w.version) == ("nova", "created", 1)
    w = c.put_capsule("nova", {"name": "Nova 2"}, expected_version=1)
    assert (w.action, w.version) == ("updated", 2)
    raises(vault.Conflict, lambda: c.put_capsule("nova", {}, expected_version=1))
    cap = c.get_capsule("nova")
    assert (cap.version, cap.document) == (2, {"name": "Nova 2"})
    assert c.get_capsule("nova", 1).document["traits"] == ["warm", 1.5, None]
    assert "Nova" not in repr(cap)
    raises(vault.NotFound, lambda: c.get_capsule("ghost"))

    content = bytes(range(256)) * 4
    fw = c.put_file("nova", "voice.bin", content)
    assert (fw.action, fw.version, fw.size) == ("created", 1, 1024)
    assert fw.sha256 == hashlib.sha256(content).hexdigest()
    f = c.get_file("nova", "voice.bin")
    assert f.content == content and isinstance(f.content, bytes)
    assert (f.version, f.sha256, f.size) == (1, fw.sha256, 1024)
    c.put_file("nova", "voice.bin", b"v2", expected_version=1)
    assert c.get_file("nova", "voice.bin", 1).content == content
    files = c.list_files("nova")
    assert [x.name for x in files] == ["voice.bin"] and files.next is None
    assert files[0].version == 2
    c.delete_file("nova", "voice.bin")
    raises(vault.NotFound, lambda: c.get_file("nova", "voice.bin"))

    for i in range(1, 6):
        a = c.append("nova", "user" if i % 2 else "assistant", f"m{i}")
        assert (a.construct_id, a.seq) == ("nova", i)
    a = c.append("nova", "system", "back-dated", timestamp="2026-01-02T03:04:05Z")
    assert a.timestamp == "2026-01-02T03:04:05.000Z"
    page = c.transcript("nova", limit=4)
    assert [e.seq for e in page.entries] == [6, 5, 4, 3]
    assert (page.next, page.total, len(page)) == (3, 6, 4)
    rest = c.transcript("nova", limit=4, after=page.next)
    assert [e.seq for e in rest.entries] == [2, 1] and rest.next is None
    oldest = c.transcript("nova", order="oldest", limit=2)
    assert [(e.seq, e.role, e.content) for e in oldest.entries] == [
        (1, "user", "m1"),
        (2, "assistant", "m2"),
    ]

    listed = c.list()
    assert [s.construct_id for s in listed] == ["nova"]
    s = listed[0]
    assert (s.capsule_version, s.file_count, s.transcript_count) == (2, 0, 6)


def test_constructs_bad_input_is_invalid_with_the_field(h: Harness) -> None:
    c = h.v.constructs
    c.append("nova", "user", "hi")
    cases = [
        (lambda: c.get_capsule(".."), "construct_id"),
        (lambda: c.get_capsule("a/b"), "construct_id"),
        (lambda: c.put_file("nova", "../etc", b"x"), "file_name"),
        (lambda: c.put_file("nova", "a\nb", b"x"), "file_name"),
        (lambda: c.put_file("nova", "big.bin", b"\0" * (TEN_MIB + 1)), "file"),
        (lambda: c.append("nova", "no spaces", "x"), "role"),
        (lambda: c.append("nova", "user", "x" * (64 * 1024 + 1)), "content"),
        (lambda: c.append("nova", "user", "x", timestamp="yesterday"), "timestamp"),
        (lambda: c.transcript("nova", order="sideways"), "order"),  # type: ignore[arg-type]
        (lambda: c.transcript("nova", limit=0), "limit"),
        (lambda: c.transcript("nova", limit=1001), "limit"),
        (lambda: c.list(limit=0), "limit"),
        (lambda: c.import_({"format": "x"}), "document"),
    ]
    for fn, field in cases:
        err = raises(vault.InvalidInput, fn)
        assert err.field == field, (field, err)
    with pytest.raises(TypeError):
        c.put_capsule("nova", ["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        c.put_file("nova", "f", "a str, not bytes")  # type: ignore[arg-type]
    # Exactly 10 MiB fits.
    assert c.put_file("nova", "big.bin", b"\1" * TEN_MIB).size == TEN_MIB


def test_constructs_export_import_into_another_vault(h: Harness, tmp_path: Path) -> None:
    c = h.v.constructs
    c.put_capsule("nova", {"name": "Nova"})
    c.put_file("nova", "persona.md", b"# Nova")
    c.append("nova", "user", "hello")
    doc = c.export("nova")
    assert doc["format"] == "vault.construct.v1"
    assert [f["name"] for f in doc["files"]] == ["persona.md"]

    other = vault.open(tmp_path / "other", encryption_key=KEY)
    try:
        r = other.constructs.import_(doc)
        assert (r.construct_id, r.capsule_version, r.files, r.transcript_entries) == (
            "nova",
            1,
            1,
            1,
        )
        assert other.constructs.get_file("nova", "persona.md").content == b"# Nova"
        assert other.constructs.transcript("nova").entries[0].content == "hello"
        err = raises(vault.Conflict, lambda: other.constructs.import_(doc))
        assert "'nova'" in str(err)
        tampered = dict(doc, files=[dict(doc["files"][0], sha256="0" * 64)])
        tampered["construct_id"] = "nova2"
        err = raises(vault.InvalidInput, lambda: other.constructs.import_(tampered))
        assert err.field == "files[0].sha256"
    finally:
        other.close()


def test_constructs_planted_content_stays_out_of_errors_and_the_data_dir(h: Harness) -> None:
    planted = "planted-py-construct-51ab"
    c = h.v.constructs
    c.put_capsule("nova", {"secret": planted})
    c.put_file("nova", "k.txt", planted.encode())
    c.append("nova", "user", planted)
    err = raises(vault.Conflict, lambda: c.put_capsule("nova", {"s": planted}, expected_version=9))
    assert planted not in str(err)
    assert planted not in repr(c.get_file("nova", "k.txt"))
    assert planted not in repr(c.transcript("nova").entries)
    h.close()
    for p in h.data.rglob("*"):
        if p.is_file():
            assert planted.encode() not in p.read_bytes(), p


def test_constructs_token_scoped_to_one_construct_cannot_read_another(h: Harness) -> None:
    from test_tokens import as_token

    c = h.v.constructs
    for cid in ("alpha", "beta"):
        c.put_capsule(cid, {"who": cid})
        c.append(cid, "user", "hi")
    rules: list[vault.Rule] = [
        {"path": "constructs/alpha/**", "capabilities": ["read", "write", "list"]}
    ]
    t = h.v.tokens.create("alpha-only", rules)
    scoped = as_token(h, t.token).constructs
    assert scoped.get_capsule("alpha").document == {"who": "alpha"}
    assert scoped.transcript("alpha").total == 1
    raises(vault.Forbidden, lambda: scoped.get_capsule("beta"))
    raises(vault.Forbidden, lambda: scoped.transcript("beta"))
    raises(vault.Forbidden, lambda: scoped.append("beta", "user", "x"))
    raises(vault.Forbidden, lambda: scoped.export("beta"))
    assert [s.construct_id for s in scoped.list()] == ["alpha"]
