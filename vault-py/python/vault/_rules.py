"""A token's rule, as :meth:`Tokens.create` takes it and :class:`TokenInfo` returns it."""

from __future__ import annotations

from typing import TypedDict


class Rule(TypedDict):
    """One rule of a token: the capabilities it grants on the resource paths its glob matches.

    ``path``: a glob over resource paths (``credentials/<service>/<key>``,
    ``configs/<service>/<strategy_id>``, ``tokens/<id>``): ``*`` matches within one segment,
    ``**`` across segments. ``capabilities``: ``"read"``, ``"write"``, ``"delete"``, ``"list"``,
    ``"admin"``, for guards ``"propose"``, ``"execute"``, ``"override"``, and for models
    (``llm/<model>``) ``"invoke"``. A plain ``dict`` at run time.
    """

    path: str
    capabilities: list[str]
