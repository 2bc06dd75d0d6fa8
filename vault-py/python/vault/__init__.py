"""The vault from Python: encrypted credentials, versioned strategy configs, scoped tokens, and
the audit log.

Two ways in, one API::

    import vault
    v = vault.open("./vault-data", encryption_key="...")        # embedded, in-process
    v = vault.connect("http://127.0.0.1:8000", token="...")      # a running vault-http

Records are typed objects; timestamps are RFC 3339 UTC strings such as
``"2026-11-22T09:00:00.123Z"``. Every error is a :class:`VaultError` with a stable ``.code``:
one subclass per code in :data:`ERROR_CODES` (``InvalidInput`` is also a ``ValueError``). A
credential's value is shown only by ``Credential.value``; once read it is an ordinary Python
``str``, which cannot be wiped from memory.
"""

from ._native import (
    ERROR_CODES,
    AlreadyExecuted,
    Audit,
    AuditBadEntry,
    AuditEntry,
    AuditReport,
    BackendUnavailable,
    BudgetExhausted,
    ConfigDiff,
    ConfigHistory,
    Configs,
    ConfigSettings,
    ConfigWritten,
    Conflict,
    Credential,
    CredentialDeleted,
    CredentialInfo,
    Credentials,
    CredentialVersions,
    CredentialWritten,
    Forbidden,
    GuardRejected,
    Health,
    IntegrityError,
    InternalError,
    InvalidInput,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ProposalMismatch,
    RateLimited,
    StrategyConfig,
    TokenCreated,
    TokenInfo,
    TokenRevoked,
    Tokens,
    Unauthorized,
    Unavailable,
    Unreadable,
    Vault,
    VaultError,
    VersionInfo,
    WrongKey,
    __version__,
    connect,
    open,
)
from ._page import Page
from ._rules import Rule

__all__ = [
    "AlreadyExecuted",
    "Audit",
    "AuditBadEntry",
    "AuditEntry",
    "AuditReport",
    "BackendUnavailable",
    "BudgetExhausted",
    "ConfigDiff",
    "ConfigHistory",
    "ConfigSettings",
    "ConfigWritten",
    "Configs",
    "Conflict",
    "Credential",
    "CredentialDeleted",
    "CredentialInfo",
    "CredentialVersions",
    "CredentialWritten",
    "Credentials",
    "ERROR_CODES",
    "Forbidden",
    "GuardRejected",
    "Health",
    "IntegrityError",
    "InternalError",
    "InvalidInput",
    "MethodNotAllowed",
    "NotFound",
    "Page",
    "PayloadTooLarge",
    "ProposalMismatch",
    "RateLimited",
    "Rule",
    "StrategyConfig",
    "TokenCreated",
    "TokenInfo",
    "TokenRevoked",
    "Tokens",
    "Unauthorized",
    "Unavailable",
    "Unreadable",
    "Vault",
    "VaultError",
    "VersionInfo",
    "WrongKey",
    "__version__",
    "connect",
    "open",
]
