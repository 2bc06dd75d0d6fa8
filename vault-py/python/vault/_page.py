"""Paged listings: a :class:`Page` is a ``list`` of one page's records, plus ``next`` and
``unreadable``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from ._native import Unreadable

T = TypeVar("T")


class Page(list[T]):
    """One page of a listing, ordered by name: a ``list`` of the records that could be read
    (so code that iterates, indexes or compares the list keeps working), plus:

    - ``next``: the ``after`` of the next page, or ``None`` when this page is the last;
    - ``unreadable``: the records of this page that could not be read (``Unreadable``, e.g. a
      record that failed its integrity check), which do not fail the listing;
    - ``revision``: for a listing of configs, the service's configs revision (pass it to
      ``configs.watch``); ``None`` for other listings.
    """

    __slots__ = ("_next", "_revision", "_unreadable")

    def __init__(
        self,
        items: Iterable[T] = (),
        next: str | None = None,
        unreadable: Iterable[Unreadable] = (),
        revision: int | None = None,
    ) -> None:
        super().__init__(items)
        self._next = next
        self._unreadable = list(unreadable)
        self._revision = revision

    @property
    def next(self) -> str | None:
        """The ``after`` of the next page; ``None`` when this page is the last."""
        return self._next

    @property
    def unreadable(self) -> list[Unreadable]:
        """The records of this page that could not be read (``Unreadable``), ordered by name."""
        return self._unreadable

    @property
    def revision(self) -> int | None:
        """A configs listing's service revision (for ``configs.watch``); ``None`` otherwise."""
        return self._revision

    def __repr__(self) -> str:
        return f"Page({list.__repr__(self)}, next={self.next!r}, unreadable={self.unreadable!r})"
