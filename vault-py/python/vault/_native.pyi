"""Type stubs of the native module ``vault._native`` (re-exported by ``vault``)."""

import os
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from types import TracebackType
from typing import Any, Literal, final

from typing_extensions import TypeAlias

from ._guards import (
    BudgetAdmission,
    BudgetWindow,
    Decision,
    DecisionRecord,
    Execution,
    OverrideRecord,
    PolicyRecord,
    PolicyWritten,
    ProposalRecord,
    StateRecord,
)
from ._page import Page
from ._rules import Rule

__all__ = [
    "open",
    "connect",
    "Vault",
    "Health",
    "Credentials",
    "Credential",
    "CredentialInfo",
    "CredentialWritten",
    "CredentialDeleted",
    "CredentialVersions",
    "VersionInfo",
    "Configs",
    "StrategyConfig",
    "ConfigWritten",
    "ConfigDiff",
    "ConfigWatch",
    "ConfigWatcher",
    "ConfigHistory",
    "ConfigSettings",
    "Constructs",
    "Capsule",
    "CapsuleWritten",
    "ConstructFile",
    "FileInfo",
    "FileWritten",
    "EntryAppended",
    "TranscriptEntry",
    "TranscriptPage",
    "ConstructSummary",
    "ImportReport",
    "Tokens",
    "TokenCreated",
    "TokenInfo",
    "TokenRevoked",
    "Jobs",
    "Job",
    "JobCreated",
    "SweepReport",
    "Guards",
    "Audit",
    "AuditEntry",
    "AuditReport",
    "AuditBadEntry",
    "Unreadable",
    "VaultError",
    "NotFound",
    "Conflict",
    "InvalidInput",
    "Unauthorized",
    "Forbidden",
    "GuardRejected",
    "AlreadyExecuted",
    "ProposalMismatch",
    "RateLimited",
    "BudgetExhausted",
    "WrongKey",
    "IntegrityError",
    "PayloadTooLarge",
    "MethodNotAllowed",
    "BackendUnavailable",
    "Unavailable",
    "InternalError",
    "ERROR_CODES",
    "__version__",
]

__version__: str

ERROR_CODES: tuple[str, ...]
"""Every stable error code, in order; each has a ``VaultError`` subclass with that ``code``."""

_JsonObject: TypeAlias = dict[str, Any]

def open(
    path: str | os.PathLike[str],
    *,
    encryption_key: str | None = None,
    passphrase: str | None = None,
    token: str | None = None,
) -> Vault:
    """Opens (creating when missing) the embedded vault in data directory ``path``, or in the
    PostgreSQL database ``path`` names when it is a ``postgres://`` URL: every process that
    opens the same database shares one vault (the key is then required; ``InvalidInput``
    without it, ``BackendUnavailable`` when the database cannot be reached).

    ``encryption_key``: 32 bytes as 64 hex digits or base64 (any other string is a passphrase);
    ``passphrase``: stretched with Argon2id. With neither: dev mode, a random key kept in
    ``<path>/root.key``, announced by a ``UserWarning`` naming that file (never the key) and
    shown by ``Vault.dev_key_file``. Raises ``WrongKey`` when the key does not open existing
    data, ``InvalidInput`` when both are given.

    ``token``: a ``vault_sk_...`` token of this vault; every call is then checked against its
    rules exactly as the server would (``Forbidden``; ``Unauthorized`` here or on any later call
    once it is revoked or expired). Without it the process is trusted: everything is allowed.
    """

def connect(
    url: str,
    *,
    token: str | None = None,
    timeout: float = 10.0,
    cache_file: str | os.PathLike[str] | None = None,
    cache_max_age: float | None = 86400.0,
    proxy: str | None = None,
    ca_file: str | os.PathLike[str] | None = None,
) -> Vault:
    """Connects to a running ``vault-http`` server at ``url`` (``http://host:port`` or
    ``https://host:port``; no request is made yet).

    ``token``: the service token (``VVAULT_SERVICE_TOKEN``); ``timeout``: seconds per request;
    ``cache_file``: optional encrypted file keeping last-known-good configs across restarts
    (credentials are never cached on disk); ``cache_max_age``: seconds after which a cached
    config is no longer served (default 24 h; ``None``: no limit). A stale config must never
    turn a strategy on.

    ``ca_file``: PEM file of CA certificates trusted for ``https://`` besides the system's roots
    (a private CA or a self-signed server certificate); an untrusted certificate is
    ``Unavailable``, an unreadable or non-PEM file ``InvalidInput`` (field ``ca_file``).
    ``proxy``: ``http://host:port`` (or ``https://``) of a proxy to send every request through.
    Without it no proxy is used: ``HTTP_PROXY``, ``HTTPS_PROXY`` and ``ALL_PROXY`` in the
    environment are ignored.
    """

@final
class Vault:
    """An open vault, embedded or remote; the same API either way. Thread-safe."""

    @property
    def credentials(self) -> Credentials:
        """Credentials: encrypted, versioned secrets of external services."""
    @property
    def configs(self) -> Configs:
        """Strategy configs: versioned, with compare-and-set."""
    @property
    def constructs(self) -> Constructs:
        """Constructs: AI personas' capsules, identity files and transcripts."""
    @property
    def tokens(self) -> Tokens:
        """Tokens with scoped policies: create, list, revoke, and the caller's own."""
    @property
    def audit(self) -> Audit:
        """The audit log: ``query`` and ``verify`` (needs ``read`` on ``audit``)."""
    @property
    def jobs(self) -> Jobs:
        """Scheduler jobs: due jobs handed to one instance at a time under a lease."""
    @property
    def guards(self) -> Guards:
        """Trading guards: policies, decide-and-claim, executions, trading states, overrides and
        the LLM-call budget, per account."""
    @property
    def mode(self) -> Literal["embedded", "remote"]:
        """``"embedded"`` or ``"remote"``."""
    @property
    def dev_key_file(self) -> str | None:
        """The dev-mode root key file an embedded vault was opened with (no key given), else
        ``None``."""
    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
    def health(self) -> Health:
        """Health of the vault and its store; remote: ``Unavailable`` when unreachable."""
    def close(self) -> None:
        """Closes the vault; later calls raise ``InvalidInput`` (a ``ValueError``). Closing twice
        is a no-op.

        Embedded: commits the audit entries still queued, then releases the data directory once
        calls already running finish, before it returns (so the directory can be opened again
        at once). Raises the vault's error when those entries cannot be committed (the vault is
        closed all the same)."""
    def __enter__(self) -> Vault: ...
    def __exit__(
        self,
        _exc_type: type[BaseException] | None = None,
        _exc_value: BaseException | None = None,
        _traceback: TracebackType | None = None,
    ) -> None: ...

@final
class Credentials:
    """The credentials of a vault: ``v.credentials``."""

    def put(
        self,
        key: str,
        value: str,
        service: str,
        *,
        metadata: _JsonObject | None = None,
        expected_version: int | None = None,
        max_versions: int | None = None,
        rotate_every: str | None = None,
    ) -> CredentialWritten:
        """Creates credential ``key`` of ``service`` or adds a version (compare-and-set with
        ``expected_version``; 0 = must not exist yet). ``metadata=None`` keeps the previous.
        ``max_versions`` (1 to 100, default 10) and ``rotate_every`` (``"12h"``, ``"7d"``,
        ``"30d"``; 1h to 3650d) set the lifecycle; ``None`` keeps them."""
    def get(
        self, key: str, service: str | None = None, *, version: int | None = None
    ) -> Credential:
        """The current version of credential ``key``, or its kept version ``version``, with its
        value. ``NotFound`` when that version is soft-deleted or destroyed."""
    def versions(
        self, key: str, service: str, *, limit: int | None = None, after: int | None = None
    ) -> CredentialVersions:
        """The kept versions, newest first, never values (paged by ``limit``/``after``)."""
    def delete_version(self, key: str, service: str, version: int) -> VersionInfo:
        """Soft-deletes a kept version (no longer served until undeleted). Idempotent."""
    def undelete_version(self, key: str, service: str, version: int) -> VersionInfo:
        """Undoes a soft delete; ``NotFound`` for a destroyed version."""
    def destroy_version(self, key: str, service: str, version: int) -> VersionInfo:
        """Erases a kept version's value from the store for good. Idempotent."""
    def rotate(
        self,
        key: str,
        service: str,
        *,
        length: int = 32,
        charset: str = "alphanumeric",
    ) -> CredentialWritten:
        """A new version with a generated value (``length`` 8 to 4096 of ``charset``); returns
        the outcome only: read the value with ``get``."""
    def set_settings(
        self,
        key: str,
        service: str,
        *,
        max_versions: int | None = None,
        rotate_every: str | None = None,
    ) -> CredentialInfo:
        """Changes ``max_versions`` (lowering it prunes at once) and ``rotate_every``
        (``"off"`` clears it); ``None`` leaves a setting as it is."""
    def due(
        self, service: str, *, limit: int | None = None, after: str | None = None
    ) -> Page[CredentialInfo]:
        """One page of the credentials of ``service`` overdue for rotation
        (``now - updated_at >= rotate_every``)."""
    def list(
        self, service: str, *, limit: int | None = None, after: str | None = None
    ) -> Page[CredentialInfo]:
        """One page of the credentials of ``service`` without their values, ordered by key: at
        most ``limit`` (default 100, at most 1000) whose keys sort after ``after`` (a previous
        page's ``next``). A ``Page`` is a list plus ``.next`` and ``.unreadable``."""
    def delete(self, key: str, service: str | None = None) -> CredentialDeleted:
        """Deletes credential ``key`` with all its versions; returns what was deleted."""

@final
class Credential:
    """A credential with its value; ``repr`` shows ``value=[REDACTED]``."""

    @property
    def service(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def value(self) -> str:
        """The secret value (an ordinary ``str`` once read: it cannot be wiped)."""
    @property
    def metadata(self) -> _JsonObject: ...
    @property
    def version(self) -> int: ...
    @property
    def created_at(self) -> str:
        """RFC 3339 UTC string."""
    @property
    def updated_at(self) -> str:
        """RFC 3339 UTC string."""

@final
class CredentialInfo:
    """A credential without its value, as ``credentials.list`` returns it."""

    @property
    def service(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def metadata(self) -> _JsonObject: ...
    @property
    def version(self) -> int: ...
    @property
    def created_at(self) -> str: ...
    @property
    def updated_at(self) -> str: ...
    @property
    def oldest_version(self) -> int: ...
    @property
    def max_versions(self) -> int: ...
    @property
    def state(self) -> Literal["active", "deleted", "destroyed"]: ...
    @property
    def rotate_every(self) -> str | None: ...
    @property
    def due_at(self) -> str | None: ...
    @property
    def due(self) -> bool: ...

@final
class VersionInfo:
    """One kept version of a credential, without its value."""

    @property
    def version(self) -> int: ...
    @property
    def created_at(self) -> str | None: ...
    @property
    def state(self) -> Literal["active", "deleted", "destroyed"]: ...
    @property
    def deleted_at(self) -> str | None: ...

@final
class CredentialVersions:
    """A page of the kept versions of a credential, newest first (``credentials.versions``)."""

    @property
    def service(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def current_version(self) -> int: ...
    @property
    def oldest_version(self) -> int: ...
    @property
    def max_versions(self) -> int: ...
    @property
    def next(self) -> int | None: ...
    @property
    def versions(self) -> list[VersionInfo]: ...
    def __len__(self) -> int: ...

@final
class CredentialWritten:
    """The outcome of ``credentials.put``."""

    @property
    def service(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def action(self) -> Literal["created", "updated"]: ...
    @property
    def version(self) -> int: ...

@final
class CredentialDeleted:
    """The outcome of ``credentials.delete``: what was deleted."""

    @property
    def service(self) -> str:
        """The service the credential was under (resolved when none was given)."""
    @property
    def key(self) -> str: ...

@final
class Configs:
    """The strategy configs of a vault: ``v.configs``."""

    def put(
        self,
        service: str,
        strategy_id: str,
        *,
        params: _JsonObject | None = None,
        symbols: list[str] | None = None,
        risk_limits: _JsonObject | None = None,
        enabled: bool | None = None,
        expected_version: int | None = None,
        comment: str | None = None,
    ) -> ConfigWritten:
        """Writes a new version; a field left ``None`` keeps the previous version's value.
        ``expected_version``: compare-and-set (0: must not exist, or was deleted).
        ``comment`` (at most 1024 bytes) is recorded with the version."""
    def get(self, service: str, strategy_id: str, version: int | None = None) -> StrategyConfig:
        """The latest version of a strategy config, or version ``version``."""
    def list(
        self, service: str, *, limit: int | None = None, after: str | None = None
    ) -> Page[StrategyConfig]:
        """One page of the latest versions of the configs of ``service``, ordered by strategy id:
        at most ``limit`` (default 100, at most 1000) whose ids sort after ``after`` (a previous
        page's ``next``). A ``Page`` is a list plus ``.next`` and ``.unreadable``."""
    def settings(self, service: str) -> ConfigSettings:
        """The configs settings of ``service`` (the defaults when none were set)."""
    def set_settings(self, service: str, *, max_versions: int) -> ConfigSettings:
        """Sets how many versions of each config of ``service`` are kept (1 to 100000, default
        1000); a put prunes older ones."""
    def history(
        self,
        service: str,
        strategy_id: str,
        *,
        limit: int | None = None,
        after: int | None = None,
    ) -> ConfigHistory:
        """The versions of a strategy config, newest first: at most ``limit`` (default 100, at
        most 1000) versions older than ``after`` (a previous page's ``next``). ``NotFound``
        when the config does not exist; never served from the cache."""
    def rollback(
        self,
        service: str,
        strategy_id: str,
        to_version: int,
        *,
        comment: str | None = None,
        expected_version: int | None = None,
    ) -> ConfigWritten:
        """Writes a new version with the content of version ``to_version`` (history is kept; a
        deleted config comes back). ``comment`` defaults to ``rollback to version N``.
        ``InvalidInput`` (field ``to_version``) for 0, ``NotFound`` when
        it is not kept."""
    def delete(
        self, service: str, strategy_id: str, *, expected_version: int | None = None
    ) -> ConfigWritten:
        """Deletes a config keeping its history (a version marked ``deleted``; action
        ``"deleted"``). It then reads as ``NotFound`` until a put or a rollback."""
    def watch(
        self, service: str, *, since: int | None = None, timeout: float = 30.0
    ) -> ConfigWatch:
        """Waits (at most ``timeout`` seconds, 0 to 60) until the configs of ``service``
        change after revision ``since`` (a get's, a list's or the last watch's ``revision``;
        ``None``: from now). Empty ``changes`` and the same revision at the timeout."""
    def watcher(
        self, service: str, *, since: int | None = None, timeout: float = 30.0
    ) -> ConfigWatcher:
        """An iterator of ``ConfigWatch``es: each ``next()`` waits for the next change."""
    def diff(
        self, service: str, strategy_id: str, from_version: int, to_version: int
    ) -> ConfigDiff:
        """The changes from version ``from_version`` to ``to_version`` (either may be the
        newer). ``InvalidInput`` for version 0, ``NotFound`` when either is not kept; never
        served from the cache."""

@final
class StrategyConfig:
    """One version of a strategy config."""

    @property
    def service(self) -> str: ...
    @property
    def strategy_id(self) -> str: ...
    @property
    def params(self) -> _JsonObject: ...
    @property
    def symbols(self) -> list[str]: ...
    @property
    def risk_limits(self) -> _JsonObject: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def version(self) -> int: ...
    @property
    def created_at(self) -> str: ...
    @property
    def updated_at(self) -> str: ...
    @property
    def stale(self) -> bool:
        """True only when served from the last-known-good cache (remote vault unreachable)."""
    @property
    def changed_by(self) -> dict[str, str] | None:
        """``{"id", "name"}`` of who wrote this version; ``None`` if not recorded."""
    @property
    def comment(self) -> str | None:
        """The comment given with this version."""
    @property
    def deleted(self) -> bool:
        """True for the version a delete wrote."""
    @property
    def revision(self) -> int:
        """The service's configs revision when this was read (for ``configs.watch``)."""
    def to_dict(self) -> dict[str, Any]:
        """Every field as a plain, JSON-able dict."""

@final
class ConfigWritten:
    """The outcome of ``configs.put``."""

    @property
    def service(self) -> str: ...
    @property
    def strategy_id(self) -> str: ...
    @property
    def action(self) -> Literal["created", "updated", "deleted"]: ...
    @property
    def version(self) -> int: ...

@final
class ConfigWatch:
    """The outcome of ``configs.watch``; ``len()`` is the number of changes."""

    @property
    def service(self) -> str: ...
    @property
    def revision(self) -> int:
        """Pass as ``since`` to the next watch."""
    @property
    def changes(self) -> list[dict[str, Any]]:
        """``{"strategy_id", "version", "deleted"}`` each, in the order of their last change."""
    def __len__(self) -> int: ...

@final
class ConfigWatcher:
    """The iterator of ``configs.watcher``."""

    @property
    def revision(self) -> int | None:
        """The revision the next ``next()`` watches from."""
    def __iter__(self) -> ConfigWatcher: ...
    def __next__(self) -> ConfigWatch: ...

@final
class ConfigHistory:
    """One page of ``configs.history``; ``len()`` is the number of versions in it."""

    @property
    def versions(self) -> list[StrategyConfig]:
        """The versions of this page, newest first."""
    @property
    def next(self) -> int | None:
        """Pass as ``after`` for the next page; ``None`` when this page reaches the oldest."""
    @property
    def oldest_version(self) -> int:
        """The oldest version kept: history starts there (1 until older ones are pruned)."""
    def __len__(self) -> int: ...

@final
class ConfigDiff:
    """The outcome of ``configs.diff``; ``len()`` is the number of changes."""

    @property
    def from_version(self) -> int:
        """The version the changes start from."""
    @property
    def to_version(self) -> int:
        """The version they lead to."""
    @property
    def changes(self) -> list[dict[str, Any]]:
        """``{"op": "add"|"remove"|"replace", "path": <JSON Pointer>, "old"?: ..., "new"?: ...}``
        each, at paths into ``params``, ``symbols``, ``risk_limits``, ``enabled`` and
        ``deleted``."""
    def __len__(self) -> int: ...

@final
class ConfigSettings:
    """The configs settings of a service."""

    @property
    def max_versions(self) -> int:
        """Versions kept of each config (the latest included)."""

@final
class Constructs:
    """The constructs of a vault (``v.constructs``): AI personas' capsules, identity files and
    transcripts. Ids and file names are 1-128 of ``[A-Za-z0-9_.:-]``, not starting with ``.``
    (``InvalidInput`` with ``.field`` ``"construct_id"`` / ``"file_name"`` otherwise)."""

    def put_capsule(
        self, construct_id: str, capsule: _JsonObject, *, expected_version: int | None = None
    ) -> CapsuleWritten:
        """Writes a new capsule version (a dict, at most 512 KiB of JSON); ``expected_version``
        is compare-and-set (0: must not exist yet), else ``Conflict``."""
    def get_capsule(self, construct_id: str, version: int | None = None) -> Capsule:
        """The capsule: latest, or version ``version``. ``NotFound`` when missing."""
    def put_file(
        self,
        construct_id: str,
        name: str,
        content: bytes,
        *,
        expected_version: int | None = None,
    ) -> FileWritten:
        """Writes a new version of an identity file (at most 10 MiB, else ``InvalidInput``
        with ``.field == "file"``)."""
    def get_file(self, construct_id: str, name: str, version: int | None = None) -> ConstructFile:
        """An identity file: latest, or version ``version``. ``NotFound`` when missing."""
    def delete_file(self, construct_id: str, name: str) -> None:
        """Deletes an identity file, every version. ``NotFound`` when missing."""
    def list_files(
        self, construct_id: str, *, limit: int | None = None, after: str | None = None
    ) -> Page[FileInfo]:
        """One page of the construct's files (no content), ordered by name."""
    def append(
        self, construct_id: str, role: str, content: str, *, timestamp: str | None = None
    ) -> EntryAppended:
        """Appends a transcript entry (role a name, content at most 64 KiB, timestamp RFC 3339
        or the vault's clock); returns its sequence number."""
    def transcript(
        self,
        construct_id: str,
        *,
        limit: int | None = None,
        after: int | None = None,
        order: Literal["newest", "oldest"] = "newest",
    ) -> TranscriptPage:
        """One page of the transcript (``limit`` 1 to 1000, default 100; ``after`` a previous
        page's ``next``). ``NotFound`` when the construct has no transcript."""
    def list(self, *, limit: int | None = None, after: str | None = None) -> Page[ConstructSummary]:
        """One page of constructs (ids and counts, never content), ordered by id."""
    def export(self, construct_id: str) -> dict[str, Any]:
        """The whole construct as one JSON-able document (format ``vault.construct.v1``)."""
    def import_(self, document: dict[str, Any]) -> ImportReport:
        """Imports an ``export`` document under its id, all or nothing; ``Conflict`` naming the
        id when it exists."""

@final
class Capsule:
    """One version of a construct's capsule (``repr`` never shows the document)."""

    @property
    def construct_id(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def created_at(self) -> str: ...
    @property
    def updated_at(self) -> str: ...
    @property
    def document(self) -> dict[str, Any]:
        """The document (a new dict on each access)."""

@final
class CapsuleWritten:
    """The outcome of ``constructs.put_capsule``."""

    @property
    def construct_id(self) -> str: ...
    @property
    def action(self) -> Literal["created", "updated"]: ...
    @property
    def version(self) -> int: ...

@final
class FileInfo:
    """An identity file as listed: everything but the content."""

    @property
    def construct_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def sha256(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def created_at(self) -> str: ...
    @property
    def updated_at(self) -> str: ...

@final
class ConstructFile:
    """One version of an identity file with its content (``repr`` never shows it)."""

    @property
    def construct_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def sha256(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def created_at(self) -> str: ...
    @property
    def updated_at(self) -> str: ...
    @property
    def content(self) -> bytes: ...

@final
class FileWritten:
    """The outcome of ``constructs.put_file``."""

    @property
    def construct_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def action(self) -> Literal["created", "updated"]: ...
    @property
    def version(self) -> int: ...
    @property
    def sha256(self) -> str: ...
    @property
    def size(self) -> int: ...

@final
class EntryAppended:
    """The outcome of ``constructs.append``."""

    @property
    def construct_id(self) -> str: ...
    @property
    def seq(self) -> int: ...
    @property
    def timestamp(self) -> str: ...

@final
class TranscriptEntry:
    """One transcript entry (``repr`` never shows the content)."""

    @property
    def seq(self) -> int: ...
    @property
    def role(self) -> str: ...
    @property
    def content(self) -> str: ...
    @property
    def timestamp(self) -> str: ...

@final
class TranscriptPage:
    """One page of ``constructs.transcript``; ``len()`` is the number of entries in it."""

    @property
    def entries(self) -> list[TranscriptEntry]: ...
    @property
    def next(self) -> int | None:
        """Pass as ``after`` for the next page; ``None`` when this page is the last."""
    @property
    def total(self) -> int: ...
    def __len__(self) -> int: ...

@final
class ConstructSummary:
    """A construct as listed: its id and counts."""

    @property
    def construct_id(self) -> str: ...
    @property
    def capsule_version(self) -> int: ...
    @property
    def file_count(self) -> int: ...
    @property
    def transcript_count(self) -> int: ...
    @property
    def created_at(self) -> str: ...

@final
class ImportReport:
    """The outcome of ``constructs.import_``."""

    @property
    def construct_id(self) -> str: ...
    @property
    def capsule_version(self) -> int: ...
    @property
    def files(self) -> int: ...
    @property
    def transcript_entries(self) -> int: ...

@final
class Guards:
    """The trading guards of a vault: ``v.guards`` (docs/guards.md). Decimals cross as ``str``
    (``decimal.Decimal`` is accepted in), times as RFC 3339 ``str``; records are ``dict``
    subclasses whose keys read as attributes."""

    def put_policy(
        self,
        account: str,
        policy: dict[str, Any],
        comment: str | None = None,
        expected_version: int | None = None,
    ) -> PolicyWritten:
        """Writes a new version of ``account``'s policy (omitted fields take their defaults).
        ``expected_version``: compare-and-set (0: none yet; ``Conflict`` when stale)."""
    def get_policy(self, account: str, version: int | None = None) -> PolicyRecord:
        """The latest version of ``account``'s policy, or ``version``; ``NotFound`` when none."""
    def rollback_policy(
        self, account: str, to_version: int, comment: str | None = None
    ) -> PolicyWritten:
        """Writes a new version with version ``to_version``'s policy."""
    def diff_policy(self, account: str, from_version: int, to_version: int) -> ConfigDiff:
        """The changes between two versions of ``account``'s policy."""
    def decide(
        self,
        account: str,
        proposal_id: str,
        instrument: str,
        side: Literal["buy", "sell"],
        notional: str | Decimal,
        confidence: float,
        origin: Literal["discretionary", "risk_exit"] = "discretionary",
        expires_at: str | datetime | None = None,
    ) -> Decision:
        """Evaluates every guard and, when all pass, claims the execution in the same commit. A
        denial is a returned ``Decision`` (``outcome="denied"``, every violation), not an
        exception; the same proposal again is ``"already_executed"`` with the first execution;
        the same id with other trade fields raises ``ProposalMismatch``."""
    def update_execution(
        self,
        account: str,
        execution_id: str,
        state: str,
        fill: str | Decimal | None = None,
        realized_pnl: str | Decimal | None = None,
    ) -> Execution:
        """Reports a change of an execution; ``Conflict`` for a move the states forbid."""
    def get_execution(self, account: str, execution_id: str) -> Execution:
        """One execution; ``NotFound`` when missing."""
    def executions(
        self, account: str, *, limit: int | None = None, after: str | None = None
    ) -> Page[Execution]:
        """One page of ``account``'s executions, by id."""
    def decisions(
        self, account: str, *, limit: int | None = None, after: str | None = None
    ) -> Page[DecisionRecord]:
        """One page of ``account``'s decisions, newest first."""
    def get_state(self, account: str) -> StateRecord:
        """The trading state of ``account`` (``"global"``: the global state)."""
    def set_state(
        self, account: str, state: Literal["ACTIVE", "REDUCING", "HALTED"], reason: str
    ) -> StateRecord:
        """Sets the trading state (latched: only this returns to ``"ACTIVE"``)."""
    def create_override(
        self, account: str, proposal_id: str, rules: Sequence[str], reason: str
    ) -> OverrideRecord:
        """Lets one proposal through cooldown and/or anti-flip (``"cooldown"``,
        ``"anti_flip"``), once; ``reason`` at least 10 characters."""
    def propose(
        self,
        account: str,
        proposal_id: str,
        instrument: str,
        side: Literal["buy", "sell"],
        notional: str | Decimal,
        confidence: float,
        origin: Literal["discretionary", "risk_exit"] = "discretionary",
        expires_at: str | datetime | None = None,
    ) -> ProposalRecord:
        """Stores a proposal to be decided later (``"pending"``); the same id with other trade
        fields raises ``ProposalMismatch``. Needs ``propose``."""
    def proposals(
        self, account: str, *, limit: int | None = None, after: str | None = None
    ) -> Page[ProposalRecord]:
        """One page of ``account``'s stored proposals, by id."""
    def expire_proposals(self, account: str) -> int:
        """Marks the pending proposals past their ``expires_at`` as ``"expired"``; how many."""
    def admit_llm_call(self, account: str, model: str | None = None) -> BudgetAdmission:
        """Admits and counts one LLM call; at the cap ``admitted`` is false and ``exhausted``
        names the window (not an exception)."""
    def llm_budget(self, account: str) -> list[BudgetWindow]:
        """The budget windows now, counting nothing."""

@final
class Tokens:
    """The tokens of a vault: ``v.tokens``. Creating, listing and revoking need ``admin`` on
    ``tokens/...``; any caller may look at itself."""

    def create(
        self,
        name: str,
        rules: Sequence[Rule],
        ttl: float | timedelta | str | None = None,
    ) -> TokenCreated:
        """Creates a token allowed what ``rules`` say (deny by default). ``ttl``: seconds, a
        ``timedelta`` or a duration such as ``"30d"``; ``None``: until revoked. The token is in
        the result only. A token creates only tokens within its own rules (``Forbidden`` naming
        the first rule that is not), expiring no later than itself."""
    def list(self, *, limit: int | None = None, after: str | None = None) -> Page[TokenInfo]:
        """One page of the tokens, ordered by id (never a token or its hash): at most ``limit``
        (default 100, at most 1000) whose ids sort after ``after`` (a previous page's
        ``next``)."""
    def revoke(self, id: str) -> TokenRevoked:
        """Revokes token ``id`` (``tok_...``): refused from its next call, on every surface."""
    def self(self) -> TokenInfo:
        """The caller's own token (never the token itself): ``embedded`` for an embedded vault
        opened without ``token=``, ``root`` for the server's service token."""

@final
class TokenCreated:
    """A token just created; ``repr`` shows ``token=[REDACTED]``."""

    @property
    def token(self) -> str:
        """The token, ``vault_sk_...``, shown this once (the vault keeps only its hash)."""
    @property
    def id(self) -> str:
        """Public id, ``tok_...``: what ``revoke`` takes."""
    @property
    def name(self) -> str: ...
    @property
    def rules(self) -> list[Rule]: ...
    @property
    def created_at(self) -> str | None:
        """RFC 3339 UTC string."""
    @property
    def expires_at(self) -> str | None:
        """RFC 3339 UTC string; ``None``: never."""

@final
class TokenInfo:
    """A token as listed or looked up: everything but the token and its hash."""

    @property
    def id(self) -> str:
        """``tok_...``, or ``root`` / ``embedded`` for those callers."""
    @property
    def name(self) -> str: ...
    @property
    def rules(self) -> list[Rule]: ...
    @property
    def created_at(self) -> str | None:
        """RFC 3339 UTC string; ``None`` for root and embedded."""
    @property
    def expires_at(self) -> str | None:
        """RFC 3339 UTC string; ``None``: never."""
    @property
    def last_used_at(self) -> str | None:
        """RFC 3339 UTC string, to the minute; ``None``: never used."""
    @property
    def revoked(self) -> bool: ...
    def to_dict(self) -> dict[str, Any]:
        """Every field as a plain, JSON-able dict."""

@final
class TokenRevoked:
    """The outcome of ``tokens.revoke``."""

    @property
    def id(self) -> str: ...

@final
class Jobs:
    """The scheduler jobs of a vault: ``v.jobs``. Each due job goes to exactly one instance at
    a time, under a lease and a fencing token raised by every claim; a stale owner's renew or
    release is ``Conflict``. Needs ``execute`` on ``guards/<account>/jobs/<job_id>`` (``read``
    for ``get`` and ``list``)."""

    def create(
        self,
        account: str,
        job_id: str,
        *,
        run_at: datetime | str | None = None,
        max_attempts: int | None = None,
    ) -> JobCreated:
        """Creates a job due from ``run_at`` (default now) with ``max_attempts`` claims (1 to
        100, default 3). The same job again with the same settings returns it with
        ``created=False``; other settings are ``Conflict``."""
    def claim_due(
        self,
        account: str,
        instance: str,
        *,
        limit: int | None = None,
        ttl: float | None = None,
    ) -> list[Job]:
        """Hands the due jobs (at most ``limit``, 1 to 100, default 10) to ``instance`` under a
        lease of ``ttl`` seconds (1 to 3600, default 60), each to exactly one claimer."""
    def renew(
        self,
        account: str,
        job_id: str,
        instance: str,
        fencing_token: int,
        *,
        ttl: float | None = None,
    ) -> Job:
        """Extends the lease to now + ``ttl`` seconds (default 60); ``Conflict`` naming the job
        and why when it is not the current lease."""
    def release(
        self,
        account: str,
        job_id: str,
        instance: str,
        fencing_token: int,
        outcome: Literal["done", "failed"],
        *,
        reschedule_at: datetime | str | None = None,
    ) -> Job:
        """Ends the run: ``done`` (with ``reschedule_at``: pending again then) or ``failed``
        (pending again at ``reschedule_at``, default now; ``dead`` after the last attempt).
        ``Conflict`` naming the job and why when it is not the current lease."""
    def sweep(self, account: str) -> SweepReport:
        """Releases every expired lease of ``account``."""
    def get(self, account: str, job_id: str) -> Job:
        """One job; ``NotFound`` when missing."""
    def list(
        self, account: str, *, limit: int | None = None, after: str | None = None
    ) -> Page[Job]:
        """One page of the account's jobs, by id."""

@final
class Job:
    """A scheduler job; times are RFC 3339 UTC strings."""

    @property
    def account(self) -> str: ...
    @property
    def job_id(self) -> str: ...
    @property
    def state(self) -> Literal["pending", "leased", "done", "dead"]: ...
    @property
    def run_at(self) -> str: ...
    @property
    def max_attempts(self) -> int: ...
    @property
    def attempt(self) -> int: ...
    @property
    def fencing_token(self) -> int: ...
    @property
    def owner(self) -> str | None: ...
    @property
    def lease_expires_at(self) -> str | None: ...
    @property
    def last_outcome(self) -> Literal["done", "failed"] | None: ...
    @property
    def created_at(self) -> str: ...
    @property
    def updated_at(self) -> str: ...
    def to_dict(self) -> dict[str, Any]:
        """Every field as a plain, JSON-able dict."""

@final
class JobCreated:
    """The outcome of ``jobs.create``."""

    @property
    def job(self) -> Job: ...
    @property
    def created(self) -> bool:
        """False when the job existed with the same settings (nothing was written)."""

@final
class SweepReport:
    """The outcome of ``jobs.sweep``."""

    @property
    def released(self) -> int: ...
    @property
    def dead(self) -> int: ...

@final
class Audit:
    """The audit log of a vault: ``v.audit``. One entry per operation on every surface, never a
    value or a token. Reading it needs ``read`` on ``audit``; each query and check is itself
    audited."""

    def query(
        self,
        *,
        actor: str | None = None,
        op: str | None = None,
        path_prefix: str | None = None,
        outcome: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Page[AuditEntry]:
        """One page of the entries matching every filter given, newest first.

        ``actor``: a token id or name, ``root``, ``embedded`` or ``anonymous``; ``op``: e.g.
        ``"credentials.get"``; ``outcome``: ``"ok"`` or an error code; ``since`` (inclusive) and
        ``until`` (exclusive): a timezone-aware ``datetime`` or an RFC 3339 UTC string. At most
        ``limit`` (default 100, at most 1000) entries after ``after`` (a previous page's
        ``next``). A page examines at most 10,000 entries: with a selective filter it can come
        back short, or empty, with a ``next``."""
    def verify(self) -> AuditReport:
        """Checks every writer's chain from its recorded head down to its first entry."""

@final
class AuditEntry:
    """One entry of the audit log: who did what to which resource, with what outcome."""

    @property
    def seq(self) -> int:
        """Position in its writer's chain, from 1."""
    @property
    def writer(self) -> str:
        """The writer (one opened vault or server) whose chain this entry is in."""
    @property
    def time(self) -> str:
        """RFC 3339 UTC string, to the millisecond."""
    @property
    def request_id(self) -> str | None:
        """The HTTP request id; ``None`` for an embedded vault."""
    @property
    def actor_id(self) -> str:
        """``root``, ``embedded``, a token id (``tok_...``), or ``anonymous``."""
    @property
    def actor_name(self) -> str:
        """A token's name, ``root``, ``embedded``; empty for ``anonymous``."""
    @property
    def op(self) -> str:
        """The operation, e.g. ``credentials.get``, ``tokens.create``, ``auth``."""
    @property
    def path(self) -> str:
        """The resource path, e.g. ``credentials/fxshinobi/OANDA_API_KEY``."""
    @property
    def outcome(self) -> str:
        """``ok``, or the error code the operation answered."""
    @property
    def client(self) -> str:
        """The client's address (remote), or ``embedded``."""
    @property
    def prev(self) -> str:
        """The hash of the writer's previous entry (64 zeros for its first)."""
    @property
    def hash(self) -> str:
        """This entry's hash (SHA-256, lowercase hex)."""
    def to_dict(self) -> dict[str, Any]:
        """Every field as a plain, JSON-able dict."""

@final
class AuditReport:
    """What ``audit.verify()`` found."""

    @property
    def valid(self) -> bool:
        """Whether every chain is whole."""
    @property
    def entries(self) -> int:
        """How many entries were examined."""
    @property
    def first_bad(self) -> AuditBadEntry | None:
        """The first bad entry; ``None`` when valid."""

@final
class AuditBadEntry:
    """The first entry ``audit.verify()`` found bad."""

    @property
    def seq(self) -> int:
        """Its sequence number (for missing entries: the newest one missing)."""
    @property
    def writer(self) -> str: ...
    @property
    def problem(self) -> Literal["changed", "missing", "reordered"]: ...
    @property
    def reason(self) -> str:
        """Why, in a sentence."""

@final
class Unreadable:
    """A record a listing found but could not read; listed in ``Page.unreadable``."""

    @property
    def service(self) -> str | None:
        """The service listed; ``None`` in a listing of tokens or an audit query."""
    @property
    def name(self) -> str:
        """The credential key, strategy id or token id; in an audit query, the entry's
        position."""
    @property
    def code(self) -> str:
        """The stable error code, e.g. ``"integrity"``."""
    @property
    def message(self) -> str: ...

@final
class Health:
    """The vault's health report."""

    @property
    def status(self) -> Literal["ok", "degraded", "down"]: ...
    @property
    def ok(self) -> bool: ...
    @property
    def components(self) -> dict[str, str]: ...
    @property
    def message(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def timestamp(self) -> str:
        """RFC 3339 UTC string."""
    @property
    def overdue_credentials(self) -> int:
        """Credentials overdue for rotation (any makes the status ``"degraded"``)."""

class VaultError(Exception):
    """Base class of every vault error; ``.code`` is the stable machine code.

    A code this version does not know (a newer server) arrives as a plain ``VaultError`` with
    that ``.code``."""

    code: str
    """The stable machine code, e.g. ``"not_found"`` (``"error"`` on the base class)."""
    field: str | None
    """The input field an ``InvalidInput`` names; ``None`` for every other error."""

class NotFound(VaultError):
    """No such credential, config or version (``not_found``)."""

class Conflict(VaultError):
    """Compare-and-set lost, duplicate, or ambiguous key (``conflict``)."""

class InvalidInput(VaultError, ValueError):
    """Bad input; the message and ``.field`` name the field (``invalid``). A ``ValueError``."""

class Unauthorized(VaultError):
    """No token or an unknown token (``unauthorized``)."""

class Forbidden(VaultError):
    """The token's policy does not allow this (``forbidden``)."""

class GuardRejected(VaultError):
    """A trading guard said no (``guard_rejected``)."""

class AlreadyExecuted(VaultError):
    """An idempotent claim was already taken (``already_executed``)."""

class ProposalMismatch(VaultError):
    """A proposal id was reused with different trade fields (``proposal_mismatch``)."""

class RateLimited(VaultError):
    """Too many requests; retry later (``rate_limited``)."""

class BudgetExhausted(VaultError):
    """A budget is used up (``budget_exhausted``)."""

class WrongKey(VaultError):
    """The key does not open this vault's data (``wrong_key``)."""

class IntegrityError(VaultError):
    """A stored record failed its integrity check (``integrity``)."""

class PayloadTooLarge(InvalidInput):
    """A request larger than the server accepts; an ``InvalidInput`` (``payload_too_large``)."""

class MethodNotAllowed(VaultError):
    """The server does not serve this method on this path (``method_not_allowed``)."""

class BackendUnavailable(VaultError):
    """The storage backend failed (``backend_unavailable``)."""

class Unavailable(VaultError):
    """A remote vault could not be reached (``unavailable``)."""

class InternalError(VaultError):
    """A bug in the vault (``internal``)."""
