"""Name → factory registries for architectures and losses, open to third parties by decorator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from ganedge.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named table of entries; ``get`` on a miss lists the valid names.

    Example:
        >>> losses: Registry[int] = Registry("loss")
        >>> @losses.register("one")
        ... def one() -> int: return 1
        >>> losses.get("one")()
        1
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

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
        try:
            return self._entries[name]
        except KeyError:
            raise ConfigError(
                f"unknown {self.kind} {name!r}: choose one of {sorted(self._entries)}"
            ) from None

    def names(self) -> list[str]:
        """All registered names, sorted."""
        return sorted(self._entries)
