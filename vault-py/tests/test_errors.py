"""The error tree: one class per vault-core code, `.code` and `.field`, and how errors arrive
in each mode (bad input, wrong argument types, codes only a server can send)."""

from __future__ import annotations

import ast
import json
from typing import Any, Callable

import pytest
from conftest import REPO, SVC, TOKEN, CannedServer, Harness, raises

import vault
from vault import _native

STUB = REPO / "vault-py" / "python" / "vault" / "_native.pyi"

ERROR_CLASSES = {
    "not_found": vault.NotFound,
    "conflict": vault.Conflict,
    "invalid": vault.InvalidInput,
    "unauthorized": vault.Unauthorized,
    "forbidden": vault.Forbidden,
    "guard_rejected": vault.GuardRejected,
    "already_executed": vault.AlreadyExecuted,
    "proposal_mismatch": vault.ProposalMismatch,
    "rate_limited": vault.RateLimited,
    "budget_exhausted": vault.BudgetExhausted,
    "wrong_key": vault.WrongKey,
    "integrity": vault.IntegrityError,
    "payload_too_large": vault.PayloadTooLarge,
    "method_not_allowed": vault.MethodNotAllowed,
    "backend_unavailable": vault.BackendUnavailable,
    "unavailable": vault.Unavailable,
    "internal": vault.InternalError,
}


def error_subclasses(names: dict[str, object]) -> dict[str, type[vault.VaultError]]:
    """The `VaultError` subclasses among `names` (not `VaultError` itself)."""
    return {
        name: obj
        for name, obj in names.items()
        if isinstance(obj, type)
        and issubclass(obj, vault.VaultError)
        and obj is not vault.VaultError
    }


def exported_error_classes() -> dict[str, type[vault.VaultError]]:
    """Every `VaultError` subclass `vault` exports (`__all__`), by name."""
    return error_subclasses({name: getattr(vault, name) for name in vault.__all__})


def stub_classes() -> dict[str, list[str]]:
    """The classes `_native.pyi` declares, with the names of their bases."""
    tree = ast.parse(STUB.read_text())
    return {
        node.name: [ast.unparse(b) for b in node.bases]
        for node in tree.body
        if isinstance(node, ast.ClassDef)
    }


def test_error_classes_and_codes() -> None:
    assert issubclass(vault.VaultError, Exception)
    for code, cls in ERROR_CLASSES.items():
        assert issubclass(cls, vault.VaultError)
        assert cls.code == code
        assert cls.__module__ == "vault"
        assert cls.__doc__
    # sibling classes are distinct
    assert len(set(ERROR_CLASSES.values())) == len(ERROR_CLASSES)
    # this hand-written table is the full list, in vault-core's order
    assert tuple(ERROR_CLASSES) == vault.ERROR_CODES
    # bad input is a ValueError too; a payload too large is bad input
    assert issubclass(vault.InvalidInput, ValueError)
    assert issubclass(vault.PayloadTooLarge, vault.InvalidInput)
    others = set(ERROR_CLASSES.values()) - {vault.InvalidInput, vault.PayloadTooLarge}
    assert not any(issubclass(cls, ValueError) for cls in others)
    assert vault.VaultError.field is None


def test_error_codes_and_classes_do_not_drift() -> None:
    """vault-core's code list (`ERROR_CODES`), the classes `vault` exports and the classes the
    stub declares are the same set, both ways."""
    codes = vault.ERROR_CODES
    assert len(codes) == len(set(codes)) == 17
    assert vault.ERROR_CODES is _native.ERROR_CODES and "ERROR_CODES" in vault.__all__
    exported = exported_error_classes()
    declared = stub_classes()
    stub_text = STUB.read_text()

    # every code has exactly one class: exported from `vault`, declared in the stub
    for code in codes:
        matching = [cls for cls in exported.values() if cls.code == code]
        assert len(matching) == 1, f"code {code!r}: classes {matching}"
        cls = matching[0]
        assert getattr(vault, cls.__name__) is cls
        assert getattr(_native, cls.__name__) is cls
        assert cls.__name__ in declared, f"{cls.__name__} is not declared in {STUB.name}"
        assert declared[cls.__name__] == [b.__name__ for b in cls.__bases__], cls
        assert f"``{code}``" in stub_text, f"{STUB.name} never names code {code!r}"

    # the reverse: every exported VaultError subclass, and every one the native module or the
    # stub has, stands for a code in ERROR_CODES
    for name, cls in exported.items():
        assert cls.code in codes, f"vault.{name} has code {cls.code!r}, not in ERROR_CODES"
    assert set(error_subclasses(vars(_native))) == set(exported)
    assert set(error_subclasses(vars(vault))) == set(exported)

    def is_error(name: str) -> bool:
        return name == "VaultError" or any(is_error(b) for b in declared.get(name, []))

    in_stub = {name for name in declared if name != "VaultError" and is_error(name)}
    assert in_stub == set(exported)


def test_invalid_input_field_names_the_input(h: Harness) -> None:
    v = h.v
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("key", lambda: v.credentials.get("../x", SVC)),
        ("service", lambda: v.credentials.list("a/b")),
        ("strategy_id", lambda: v.configs.get(SVC, "..")),
        ("value", lambda: v.credentials.put("K", "", SVC)),
        ("limit", lambda: v.configs.history(SVC, "s1", limit=0)),
    ]
    v.configs.put(SVC, "s1")
    for field, call in cases:
        err = raises(vault.InvalidInput, call)
        assert err.field == field, (field, err)
        assert isinstance(err, ValueError)
        assert f"invalid {field}" in str(err)
    # other errors carry no field
    err = raises(vault.NotFound, lambda: v.credentials.get("MISSING", SVC))
    assert err.field is None


@pytest.mark.parametrize("bad", ["../x", "", "a/b", ".hidden", "sp ace", "x" * 129])
def test_invalid_names(h: Harness, bad: str) -> None:
    v = h.v
    calls: list[tuple[str, Callable[[], Any]]] = [
        ("key", lambda: v.credentials.put(bad, "value", SVC)),
        ("service", lambda: v.credentials.put("KEY", "value", bad)),
        ("key", lambda: v.credentials.get(bad, SVC)),
        ("service", lambda: v.credentials.get("KEY", bad)),
        ("service", lambda: v.credentials.list(bad)),
        ("key", lambda: v.credentials.delete(bad, SVC)),
        ("service", lambda: v.configs.put(bad, "s1")),
        ("strategy_id", lambda: v.configs.put(SVC, bad)),
        ("strategy_id", lambda: v.configs.get(SVC, bad)),
        ("service", lambda: v.configs.list(bad)),
        ("service", lambda: v.configs.history(bad, "s1")),
        ("strategy_id", lambda: v.configs.history(SVC, bad)),
    ]
    for field, call in calls:
        err = raises(vault.InvalidInput, call)
        assert err.code == "invalid"
        assert err.field == field
        if bad:
            assert bad not in str(err), "the message must not echo the rejected value"


def test_oversized_request(h: Harness) -> None:
    """Too big for the vault: the same `InvalidInput` (field `config`) in both modes; the remote
    client applies vault-core's rule before sending, so the server's body limit is not reached
    (its `PayloadTooLarge` is checked through the fixed-reply server in this file)."""
    v = h.v
    big = {"blob": "p" * (1100 * 1024)}
    with pytest.raises(vault.InvalidInput) as info:
        v.configs.put(SVC, "big", params=big)
    err = info.value
    assert isinstance(err, ValueError)
    assert "p" * 100 not in str(err)
    assert type(err) is vault.InvalidInput
    assert (err.code, err.field) == ("invalid", "config")
    raises(vault.NotFound, lambda: v.configs.get(SVC, "big"))


def test_wrong_argument_types_are_type_errors(h: Harness) -> None:
    v = h.v
    with pytest.raises(TypeError):
        v.credentials.put("K", "v", SVC, metadata=["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        v.credentials.put("K", "v", SVC, metadata={1: "non-str key"})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        v.credentials.put("K", "v", SVC, metadata={"x": object()})
    with pytest.raises(TypeError):
        v.configs.put(SVC, "s1", symbols="EUR_USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        v.credentials.put("K", b"bytes", SVC)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        v.configs.put(SVC, "s1", params={"x": float("nan")})
    with pytest.raises(OverflowError):
        v.credentials.put("K", "v", SVC, expected_version=-1)
    assert v.credentials.list(SVC) == []


# ---------------------------------------------------------------- codes only a server sends


def error_body(code: str, message: str, field: str | None = None) -> bytes:
    body: dict[str, Any] = {"success": False, "error": message, "code": code}
    if field is not None:
        body["field"] = field
    return json.dumps(body).encode()


@pytest.mark.parametrize("code", vault.ERROR_CODES)
def test_every_code_from_a_server_raises_its_class(
    canned_server: Callable[[str, bytes], CannedServer], code: str
) -> None:
    """A server's error body becomes the class of its code, for every code (including those
    this vault-http does not send yet, e.g. `guard_rejected`), with `.field` for `invalid`."""
    field = "limit" if code == "invalid" else None
    server = canned_server("400 Bad Request", error_body(code, "told by the server", field))
    v = vault.connect(server.url, token=TOKEN, timeout=5)
    err = raises(ERROR_CLASSES[code], lambda: v.credentials.get("K", SVC))
    assert err.code == code
    assert err.field == field
    assert server.requests == 1


def test_unknown_code_from_a_newer_server_is_a_plain_vault_error(
    canned_server: Callable[[str, bytes], CannedServer],
) -> None:
    body = error_body("from_the_future", "slow down", field="ignored")
    server = canned_server("429 Too Many Requests", body)
    v = vault.connect(server.url, token=TOKEN, timeout=5)
    with pytest.raises(vault.VaultError) as info:
        v.credentials.get("K", SVC)
    err = info.value
    assert type(err) is vault.VaultError
    assert err.code == "from_the_future"
    assert vault.VaultError.code == "error"  # the instance's code, not the class's
    assert err.field is None
    assert str(err) == "slow down"
    assert not isinstance(err, ValueError)
