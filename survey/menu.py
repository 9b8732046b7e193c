"""The staff console's menu: each area registers its pages with the roles that may see them."""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from flask_babel import LazyString

from .models import Role, StaffUser


@dataclass(frozen=True)
class MenuEntry:
    label: LazyString | str
    endpoint: str
    roles: frozenset[str]
    order: int = 100


_MENU: list[MenuEntry] = []


def register(label: LazyString | str, endpoint: str, roles: tuple[Role, ...], order: int = 100) -> None:
    """Add a page to the staff menu (called once at import time by each area's routes module)."""
    if any(entry.endpoint == endpoint for entry in _MENU):
        return
    _MENU.append(MenuEntry(label, endpoint, frozenset(str(r) for r in roles), order))
    _MENU.sort(key=lambda e: e.order)


@dataclass(frozen=True)
class MenuLink:
    label: str
    url: str


def visible_menu(user: StaffUser | None) -> list[MenuLink]:
    if user is None:
        return []
    return [
        MenuLink(str(entry.label), url_for(entry.endpoint))
        for entry in _MENU
        if entry.roles & set(user.roles)
    ]
