"""Name → entry registries (architectures, losses, regularizers, callbacks), open to third parties
by decorator and by Python entry points."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from ganedge.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named table of entries; ``get`` on a miss lists the valid names.

    Entries come from ``register(name)`` and, on first lookup, from the entry-point ``group``
    (``ganedge.losses = mine = my_pkg.losses:MY_LOSS``): loading a plugin module may register
    itself by decorator, otherwise the loaded object is registered under the entry point's name.

    Example:
        >>> losses: Registry[int] = Registry("loss")
        >>> @losses.register("one")
        ... def one() -> int: return 1
        >>> losses.get("one")()
        1
    """

    def __init__(self, kind: str, group: str | None = None) -> None:
        self.kind = kind
        self.group = group
        self._entries: dict[str, T] = {}
        self._plugins_loaded = group is None

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that records an entry under ``name``; a duplicate name is an error."""

        def add(entry: T) -> T:
            if name in self._entries:
                raise ConfigError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = entry
            return entry

        return add

    def get(self, name: str) -> T:
        """The entry registered as ``name``; raises ConfigError listing the known names."""
        self._load_plugins()
        try:
            return self._entries[name]
        except KeyError:
            raise ConfigError(
                f"unknown {self.kind} {name!r}: choose one of {sorted(self._entries)}"
            ) from None

    def names(self) -> list[str]:
        """All registered names, sorted."""
        self._load_plugins()
        return sorted(self._entries)

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for ep in entry_points(group=self.group or ""):
            loaded = ep.load()
            if ep.name not in self._entries and not _is_module(loaded):
                self._entries[ep.name] = loaded


def _is_module(obj: object) -> bool:
    return type(obj).__name__ == "module"
