"""Long tables in pages, filtered by what the operator typed: the rule every UI table follows.

Kept framework-free and small so that both UIs page and filter alike (same page size
bound, same "page 3 of 7", same case-insensitive substring filter) and so that a page
number typed into the URL by hand is clamped rather than an error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
PAGE_SIZE = 25
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a table: its rows, its number (from 1), the page count and the total row count."""

    items: Sequence[T]
    number: int
    pages: int
    total: int
    size: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def page_number(raw: str | None) -> int:
    """A page number from a query string: a positive integer, 1 for anything else."""
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


def paginate(items: Sequence[T], number: int, size: int = PAGE_SIZE) -> Page[T]:
    """Page ``number`` of ``items`` (clamped to the last page; an empty table has one empty page)."""
    size = max(1, min(size, MAX_PAGE_SIZE))
    pages = max(1, math.ceil(len(items) / size))
    number = max(1, min(number, pages))
    start = (number - 1) * size
    return Page(items[start:start + size], number, pages, len(items), size)


def matching(items: Iterable[T], query: str | None, text: Callable[[T], str]) -> list[T]:
    """The items whose ``text`` contains every word of ``query`` (case-insensitive); all if ``query`` is blank."""
    words = (query or "").lower().split()
    return [item for item in items if all(word in text(item).lower() for word in words)]
