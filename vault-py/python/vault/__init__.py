"""The vault from Python: encrypted credentials and versioned strategy configs.

Two ways in, one API::

    import vault
    v = vault.open("./vault-data", encryption_key="...")        # embedded, in-process
    v = vault.connect("http://127.0.0.1:8000", token="...")      # a running vault-http

Records are typed objects; timestamps are RFC 3339 UTC strings such as
``"2026-11-22T09:00:00.123Z"``. Every error is a :class:`VaultError` subclass with a stable
``.code``. A credential's value is shown only by ``Credential.value``; once read it is an ordinary
Python ``str``, which cannot be wiped from memory.
"""

from ._native import (
    BackendUnavailable,
    Configs,
    ConfigWritten,
    Conflict,
    Credential,
    CredentialInfo,
    Credentials,
    CredentialWritten,
    Forbidden,
    Health,
    IntegrityError,
    InternalError,
    InvalidInput,
    NotFound,
    StrategyConfig,
    Unauthorized,
    Unavailable,
    Vault,
    VaultError,
    WrongKey,
    __version__,
    connect,
    open,
)

__all__ = [
    "BackendUnavailable",
    "ConfigWritten",
    "Configs",
    "Conflict",
    "Credential",
    "CredentialInfo",
    "CredentialWritten",
    "Credentials",
    "Forbidden",
    "Health",
    "IntegrityError",
    "InternalError",
    "InvalidInput",
    "NotFound",
    "StrategyConfig",
    "Unauthorized",
    "Unavailable",
    "Vault",
    "VaultError",
    "WrongKey",
    "__version__",
    "connect",
    "open",
]
