"""Named registries for the extension points (backends, verifiers, suites, ...).

Built-ins are registered as "module:attribute" strings so that heavy backends import
their dependencies only when chosen; other packages add entries through the
entry-point group named by the registry (``lessons.<kind>``).
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Generic, TypeVar

T = TypeVar("T")


class UnknownName(KeyError):
    """A name that no registry entry answers to; the message lists the known ones."""

    def __init__(self, kind: str, name: str, known: list[str]):
        self.kind, self.name, self.known = kind, name, known
        super().__init__(f"unknown {kind} {name!r}; available: {', '.join(known) or '(none)'}")

    def __str__(self) -> str:  # KeyError quotes its argument; we want the sentence
        return self.args[0]


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T | str] = {}
        self._entry_points_loaded = False  # entry_points() scans every installed package: once is enough

    def register(self, name: str, target: T | str | None = None):
        """Register `target` (an object or a lazy "module:attr" path); usable as a decorator."""
        if target is not None:
            self._entries[name] = target
            return target

        def decorate(obj: T) -> T:
            self._entries[name] = obj
            return obj

        return decorate

    def unregister(self, name: str) -> None:
        """Remove `name` (a test's registration, when the test ends); a missing name is no error."""
        self._entries.pop(name, None)

    def __contains__(self, name: object) -> bool:
        self._load_entry_points()
        return name in self._entries

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._entries)

    def get(self, name: str) -> T:
        self._load_entry_points()
        if name not in self._entries:
            raise UnknownName(self.kind, name, self.names())
        target = self._entries[name]
        if isinstance(target, str):
            module, _, attr = target.partition(":")
            target = getattr(importlib.import_module(module), attr)
            self._entries[name] = target
        return target  # type: ignore[return-value]

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for ep in entry_points(group=f"lessons.{self.kind}s"):
            self._entries.setdefault(ep.name, f"{ep.module}:{ep.attr}")
