"""Tokens with scoped policies: `v.tokens.create/list/revoke/self`, and a vault seen through a
token (remote: `vault.connect(token=...)`; embedded: `vault.open(token=...)`), in both modes.

The issue's example: a scanner token reads the read-only exchange key and nothing else; an
executor token reads the trading key and the configs, and nothing else. A token string or a
planted secret never shows in an error message, a repr, a listing or `self()`.

Embedded, sled allows one opener of a directory per process, so `as_token` / `as_root` close
the vault under test and open it again as the other caller.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import timedelta
from functools import partial
from typing import Any, Callable

import pytest
from conftest import KEY, SVC, Harness, fresh_secret, parse_ts, raises

import vault

READONLY = "BITVAVO_READONLY_KEY"
TRADE = "BITVAVO_TRADE_KEY"
ALL_CAPABILITIES = [
    "read",
    "write",
    "delete",
    "list",
    "admin",
    "propose",
    "execute",
    "override",
    "invoke",
]
SCANNER: list[vault.Rule] = [
    {"path": f"credentials/{SVC}/BITVAVO_READONLY_*", "capabilities": ["read"]}
]
EXECUTOR: list[vault.Rule] = [
    {"path": f"credentials/{SVC}/BITVAVO_TRADE_*", "capabilities": ["read"]},
    {"path": f"configs/{SVC}/*", "capabilities": ["read", "list"]},
]


def as_token(h: Harness, token: str) -> vault.Vault:
    """The vault under test seen through `token`."""
    if h.server is not None:
        return vault.connect(h.server.url, token=token)
    h.v.close()
    h.v = vault.open(h.data, encryption_key=KEY, token=token)
    return h.v


def as_root(h: Harness) -> vault.Vault:
    """The vault under test as its trusted caller (remote: the service token)."""
    if h.server is None:
        h.v.close()
        h.v = vault.open(h.data, encryption_key=KEY)
    return h.v


def refused(cls: type[vault.VaultError], fn: Callable[[], Any], *planted: str) -> vault.VaultError:
    """`raises`, and none of the planted strings (tokens, secret values) in the error."""
    err = raises(cls, fn)
    for p in planted:
        assert p not in str(err) and p not in repr(err), f"{p!r} leaked into {err!r}"
    return err


def forbidden(fn: Callable[[], Any], capability: str, path: str, *planted: str) -> None:
    """`Forbidden` naming the capability and the path, and never the token's rules."""
    err = refused(vault.Forbidden, fn, *planted)
    assert f"may not {capability} {path}" in str(err), str(err)
    assert "BITVAVO_READONLY_*" not in str(err) and "BITVAVO_TRADE_*" not in str(err), str(err)


def hash_of(token: str) -> str:
    """What the vault stores of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def seed(v: vault.Vault) -> tuple[str, str]:
    """The example's two keys (random values, returned) and one config, written as root."""
    readonly, trade = fresh_secret(), fresh_secret()
    v.credentials.put(READONLY, readonly, SVC)
    v.credentials.put(TRADE, trade, SVC)
    v.configs.put(SVC, "default", params={"fast": 12})
    return readonly, trade


def test_scanner_and_executor_see_only_their_own_keys(h: Harness) -> None:
    readonly, trade = seed(h.v)
    scanner = h.v.tokens.create("scanner", SCANNER, ttl="30d")
    executor = h.v.tokens.create("executor", EXECUTOR)
    tokens = (scanner.token, executor.token)
    for t, name, rules in [(scanner, "scanner", SCANNER), (executor, "executor", EXECUTOR)]:
        assert t.token.startswith("vault_sk_") and len(t.token) == len("vault_sk_") + 48
        assert t.id.startswith("tok_") and t.name == name and t.rules == rules
        assert t.created_at is not None
        assert t.token not in repr(t) and "token=[REDACTED]" in repr(t)
    assert scanner.expires_at is not None and executor.expires_at is None
    assert scanner.created_at is not None
    ttl = parse_ts(scanner.expires_at) - parse_ts(scanner.created_at)
    assert ttl == timedelta(days=30)
    planted = (*tokens, trade)

    # The scanner reads its key (with or without the service) and nothing else.
    s = as_token(h, scanner.token)
    assert s.credentials.get(READONLY, SVC).value == readonly
    assert s.credentials.get(READONLY).value == readonly
    forbidden(lambda: s.credentials.get(TRADE, SVC), "read", f"credentials/{SVC}/{TRADE}", *planted)
    refused(vault.Forbidden, lambda: s.credentials.get(TRADE), *planted)
    for key in (READONLY, TRADE):
        path = f"credentials/{SVC}/{key}"
        forbidden(partial(s.credentials.put, key, "overwritten", SVC), "write", path, *planted)
        forbidden(partial(s.credentials.delete, key, SVC), "delete", path, *planted)
    forbidden(lambda: s.credentials.list(SVC), "list", f"credentials/{SVC}/*", *planted)
    forbidden(lambda: s.configs.list(SVC), "list", f"configs/{SVC}/*", *planted)
    forbidden(lambda: s.configs.get(SVC, "default"), "read", f"configs/{SVC}/default", *planted)
    forbidden(lambda: s.configs.history(SVC, "default"), "read", f"configs/{SVC}/default")
    forbidden(
        lambda: s.configs.put(SVC, "default", enabled=False),
        "write",
        f"configs/{SVC}/default",
        *planted,
    )
    forbidden(s.tokens.list, "admin", "tokens/*", *planted)
    refused(vault.Forbidden, lambda: s.tokens.create("child", SCANNER), *planted)
    refused(vault.Forbidden, lambda: s.tokens.revoke(executor.id), *planted)
    s.close()

    # The executor: the mirror image.
    e = as_token(h, executor.token)
    planted = (*tokens, readonly)
    assert e.credentials.get(TRADE, SVC).value == trade
    forbidden(
        lambda: e.credentials.get(READONLY, SVC), "read", f"credentials/{SVC}/{READONLY}", *planted
    )
    for key in (READONLY, TRADE):
        path = f"credentials/{SVC}/{key}"
        forbidden(partial(e.credentials.put, key, "overwritten", SVC), "write", path, *planted)
        forbidden(partial(e.credentials.delete, key, SVC), "delete", path, *planted)
    forbidden(lambda: e.credentials.list(SVC), "list", f"credentials/{SVC}/*", *planted)
    assert [c.strategy_id for c in e.configs.list(SVC)] == ["default"]
    assert e.configs.get(SVC, "default").params == {"fast": 12}
    forbidden(
        lambda: e.configs.put(SVC, "default", enabled=False),
        "write",
        f"configs/{SVC}/default",
        *planted,
    )
    forbidden(e.tokens.list, "admin", "tokens/*", *planted)
    e.close()

    # Nothing the refused calls tried happened.
    root = as_root(h)
    assert root.credentials.get(READONLY, SVC).value == readonly
    assert root.credentials.get(TRADE, SVC).value == trade
    assert root.configs.get(SVC, "default").version == 1


def test_self_shows_the_caller_and_never_a_token(h: Harness) -> None:
    me = h.v.tokens.self()
    assert me.id == me.name == ("root" if h.mode == "remote" else "embedded")
    assert me.rules == [{"path": "**", "capabilities": ALL_CAPABILITIES}]
    assert me.created_at is None and me.expires_at is None and not me.revoked

    scanner = h.v.tokens.create("scanner", SCANNER, ttl=3600)
    s = as_token(h, scanner.token)
    me = s.tokens.self()
    assert (me.id, me.name, me.rules) == (scanner.id, "scanner", SCANNER)
    assert (me.created_at, me.expires_at) == (scanner.created_at, scanner.expires_at)
    assert not me.revoked
    d = me.to_dict()
    assert set(d) == {
        "id",
        "name",
        "rules",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked",
    }
    shown = repr(me) + json.dumps(d)
    assert scanner.token not in shown and hash_of(scanner.token) not in shown
    # authenticating it (remote: the request; embedded: the open) marked it used
    assert me.last_used_at is not None
    parse_ts(me.last_used_at)


def test_list_pages_tokens_and_never_shows_one(h: Harness) -> None:
    created = [h.v.tokens.create(name, SCANNER) for name in ("one", "two", "three")]
    page = h.v.tokens.list()
    assert sorted(t.id for t in page) == sorted(c.id for c in created)
    assert [t.id for t in page] == sorted(t.id for t in page)
    assert page.next is None and page.unreadable == []
    by_id = {t.id: t for t in page}
    for c in created:
        t = by_id[c.id]
        assert (t.name, t.rules, t.revoked, t.created_at) == (c.name, SCANNER, False, c.created_at)
    shown = repr(page) + json.dumps([t.to_dict() for t in page])
    for c in created:
        assert c.token not in shown and hash_of(c.token) not in shown

    first = h.v.tokens.list(limit=2)
    assert len(first) == 2 and first.next == first[1].id
    rest = h.v.tokens.list(limit=2, after=first.next)
    assert [t.id for t in [*first, *rest]] == [t.id for t in page] and rest.next is None

    revoked = h.v.tokens.revoke(created[0].id)
    assert revoked.id == created[0].id and repr(revoked) == f"TokenRevoked(id='{revoked.id}')"
    assert h.v.tokens.revoke(created[0].id).id == created[0].id  # again: not an error
    assert [t.revoked for t in h.v.tokens.list() if t.id == created[0].id] == [True]


def test_a_revoked_token_is_refused_from_its_next_call(h: Harness) -> None:
    readonly, _ = seed(h.v)
    keeper = h.v.tokens.create(
        "keeper",
        [
            {"path": "tokens/*", "capabilities": ["admin"]},
            {"path": f"credentials/{SVC}/{READONLY}", "capabilities": ["read"]},
        ],
    )
    scanner = h.v.tokens.create("scanner", SCANNER)

    # Revoked by root. Remote: a client that already worked is refused from its next request.
    s = None
    if h.mode == "remote":
        s = as_token(h, scanner.token)
        assert s.credentials.get(READONLY, SVC).value == readonly
    as_root(h).tokens.revoke(scanner.id)
    if s is not None:
        err = refused(
            vault.Unauthorized, lambda: s.credentials.get(READONLY, SVC), scanner.token, readonly
        )
        assert "revoked" in str(err)
        refused(vault.Unauthorized, s.tokens.self, scanner.token)
    # A new handle with it: embedded, `open` itself refuses it; remote, its first call.
    err = refused(
        vault.Unauthorized,
        lambda: as_token(h, scanner.token).credentials.get(READONLY, SVC),
        scanner.token,
        readonly,
    )
    assert "revoked" in str(err)

    # A handle opened with a token that is then revoked (here by itself, through the same
    # handle) is refused from its next call, whatever the call.
    k = as_token(h, keeper.token)
    assert k.credentials.get(READONLY, SVC).value == readonly
    assert k.tokens.revoke(keeper.id).id == keeper.id
    calls: list[Callable[[], object]] = [
        lambda: k.credentials.get(READONLY, SVC),
        k.tokens.self,
        k.tokens.list,
        lambda: k.tokens.create("child", SCANNER),
    ]
    for call in calls:
        refused(vault.Unauthorized, call, keeper.token, readonly)
    assert [t.revoked for t in as_root(h).tokens.list()] == [True, True]


def test_an_expired_token_is_refused(h: Harness) -> None:
    readonly, _ = seed(h.v)
    short = h.v.tokens.create("short", SCANNER, ttl=timedelta(seconds=1))
    assert short.created_at is not None and short.expires_at is not None
    assert parse_ts(short.expires_at) - parse_ts(short.created_at) == timedelta(seconds=1)
    time.sleep(1.2)
    err = refused(
        vault.Unauthorized,
        lambda: as_token(h, short.token).credentials.get(READONLY, SVC),
        short.token,
        readonly,
    )
    assert "expired" in str(err)


def test_an_unknown_token_is_refused_without_echoing_it(h: Harness) -> None:
    h.v.tokens.create("real", SCANNER)
    for bogus in ("vault_sk_" + "Q" * 48, "not-a-token-at-all-" + "z" * 20):

        def call(token: str = bogus) -> object:
            return as_token(h, token).credentials.get(READONLY, SVC)

        refused(vault.Unauthorized, call, bogus)


def test_a_token_cannot_mint_a_broader_token(h: Harness) -> None:
    seed(h.v)
    minter = h.v.tokens.create(
        "minter",
        [
            {"path": "tokens/*", "capabilities": ["admin"]},
            {"path": f"credentials/{SVC}/BITVAVO_*", "capabilities": ["read", "list"]},
        ],
        ttl="1h",
    )
    m = as_token(h, minter.token)
    broader: list[tuple[list[vault.Rule], str]] = [
        (
            [{"path": f"credentials/{SVC}/*", "capabilities": ["read"]}],
            f"rules[0] (read on credentials/{SVC}/*)",
        ),
        (
            [
                {"path": f"credentials/{SVC}/BITVAVO_READONLY_*", "capabilities": ["read"]},
                {"path": f"credentials/{SVC}/BITVAVO_KEY", "capabilities": ["read", "write"]},
            ],
            f"rules[1] (write on credentials/{SVC}/BITVAVO_KEY)",
        ),
        ([{"path": "tokens/**", "capabilities": ["admin"]}], "rules[0] (admin on tokens/**)"),
        ([{"path": "**", "capabilities": ["read"]}], "rules[0] (read on **)"),
    ]
    for rules, named in broader:
        err = refused(vault.Forbidden, partial(m.tokens.create, "child", rules), minter.token)
        assert named in str(err), str(err)
    assert [t.id for t in m.tokens.list()] == [minter.id]

    # Within its rules it may; the child does not outlive it.
    child = m.tokens.create("child", SCANNER, ttl="30d")
    assert child.expires_at == minter.expires_at
    assert child.token not in repr(m.tokens.list())
    c = as_token(h, child.token)
    assert c.tokens.self().id == child.id
    c.credentials.get(READONLY, SVC)


def test_create_checks_its_arguments(h: Harness) -> None:
    def ttl_of(ttl: Any) -> timedelta:
        t = h.v.tokens.create("ttl", SCANNER, ttl=ttl)
        assert t.created_at is not None and t.expires_at is not None
        return parse_ts(t.expires_at) - parse_ts(t.created_at)

    assert ttl_of(90) == timedelta(seconds=90)
    assert ttl_of(2.5) == timedelta(seconds=2.5)
    assert ttl_of(timedelta(days=2, microseconds=1000)) == timedelta(days=2, milliseconds=1)
    assert ttl_of("1h 30m") == timedelta(minutes=90)
    assert h.v.tokens.create("forever", SCANNER, ttl=None).expires_at is None

    for bad_ttl in (0, -5, float("nan"), float("inf"), "soon", "", timedelta(0), 1e30):
        refused(vault.InvalidInput, partial(h.v.tokens.create, "x", SCANNER, ttl=bad_ttl))
    assert raises(vault.InvalidInput, lambda: h.v.tokens.create("x", SCANNER, ttl=-1)).field == (
        "ttl"
    )
    err = raises(vault.InvalidInput, lambda: h.v.tokens.create("x", SCANNER, ttl=86400 * 4000))
    assert err.field == "ttl" and "3650 days" in str(err)
    wrong_types: list[Any] = [True, [60], {"s": 1}]
    for wrong_type in wrong_types:
        with pytest.raises(TypeError):
            h.v.tokens.create("x", SCANNER, ttl=wrong_type)

    def field(rules: Any, name: str = "x") -> str | None:
        return raises(vault.InvalidInput, lambda: h.v.tokens.create(name, rules)).field

    assert field([{"path": "credentials/*", "capabilities": ["peek"]}]) == (
        "rules[0].capabilities[0]"
    )
    assert field(SCANNER + [{"path": "a/b", "capabilities": ["read", "Write"]}]) == (
        "rules[1].capabilities[1]"
    )
    assert field([{"path": "credentials/*", "capabilities": []}]) == "rules[0].capabilities"
    assert field([{"path": "credentials//x", "capabilities": ["read"]}]) == "rules[0].path"
    assert field([{"path": "", "capabilities": ["read"]}]) == "rules[0].path"
    assert field([{"capabilities": ["read"]}]) == "rules[0].path"
    assert field([{"path": "a"}]) == "rules[0].capabilities"
    assert field([{"path": "a", "capabilities": ["read"], "effect": "deny"}]) == "rules[0]"
    assert field([{"path": "a", "capabilities": ["read"]}] * 65) == "rules"
    assert field(SCANNER, name="has space") == "name"
    wrong_shapes: list[Any] = [
        "credentials/*",
        {"path": "a", "capabilities": ["read"]},
        [("a", ["read"])],
        [{"path": 3, "capabilities": ["read"]}],
        [{"path": "a", "capabilities": "read"}],
        [{"path": "a", "capabilities": [1]}],
    ]
    for wrong_shape in wrong_shapes:
        with pytest.raises(TypeError):
            h.v.tokens.create("x", wrong_shape)
    # tuples are sequences too; an empty rule list is a token that may do nothing
    as_tuples: Any = ({"path": "a/*", "capabilities": ("read", "list")},)
    t = h.v.tokens.create("tuple", as_tuples)
    assert t.rules == [{"path": "a/*", "capabilities": ["read", "list"]}]
    assert h.v.tokens.create("nothing", []).rules == []

    assert raises(vault.InvalidInput, lambda: h.v.tokens.revoke("tok_bad")).field == "id"
    raises(vault.NotFound, lambda: h.v.tokens.revoke("tok_" + "A" * 12))
    raises(vault.InvalidInput, lambda: h.v.tokens.list(limit=0))
    names = sorted(t.name for t in h.v.tokens.list())
    assert names == ["forever", "nothing", "ttl", "ttl", "ttl", "ttl", "tuple"]


def test_tokens_of_a_closed_vault_are_invalid(h: Harness) -> None:
    tokens = h.v.tokens
    h.v.close()
    calls: list[Callable[[], object]] = [
        tokens.self,
        tokens.list,
        lambda: tokens.create("x", SCANNER),
        lambda: tokens.revoke("tok_" + "A" * 12),
    ]
    for call in calls:
        err = raises(vault.InvalidInput, call)
        assert "closed" in str(err)
