"""The staff console's menu and dashboard: each area registers its pages, and a panel saying where
things stand, with the roles that may see them (so the dashboard never imports an area)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class Fact:
    """One number on the dashboard, e.g. ("Responses so far", "1,234")."""

    label: str
    value: str
    url: str | None = None


@dataclass(frozen=True)
class Panel:
    """An area's box on the dashboard: its numbers and what needs doing next (text, link)."""

    title: str
    facts: list[Fact] = field(default_factory=list)
    todo: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class PanelSource:
    build: Callable[[StaffUser], list[Panel]]
    roles: frozenset[str]
    order: int


_PANELS: list[PanelSource] = []


def register_panel(build: Callable[[StaffUser], list[Panel]], roles: tuple[Role, ...], order: int = 100) -> None:
    """Add a dashboard panel builder (called once at import time by an area's routes module)."""
    if any(source.build is build for source in _PANELS):
        return
    _PANELS.append(PanelSource(build, frozenset(str(r) for r in roles), order))
    _PANELS.sort(key=lambda p: p.order)


def visible_panels(user: StaffUser) -> list[Panel]:
    return [panel for source in _PANELS if source.roles & set(user.roles) for panel in source.build(user)]
