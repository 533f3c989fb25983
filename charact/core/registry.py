"""One registry mechanism for everything charact can enumerate.

Readers, lineshapes, baselines, reference phases and XPS species are each kept in a
:class:`Registry`. Modules register their entries when imported; the modules themselves are
found through the ``charact.plugins`` entry-point group, which charact's own technique
packages use exactly as a third-party package would. Enumerating a registry
(:meth:`Registry.names`, :meth:`Registry.get` …) loads the plugins first, so the CLI, the
docs and the tests always see the complete set.

Examples
--------
>>> from charact.core.registry import Registry
>>> shapes = Registry("example shape")
>>> @shapes.register("box")
... def box(x, height, center, width):
...     return height * (abs(x - center) <= width / 2)
>>> shapes.names()
['box']
"""

from __future__ import annotations

import importlib
import threading
import warnings
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar, overload

from .errors import PluginWarning, RegistryError, close_matches

__all__ = [
    "BASELINES",
    "LINESHAPES",
    "PHASES",
    "PLUGIN_GROUP",
    "READERS",
    "SPECIES",
    "Registry",
    "load_plugins",
]

T = TypeVar("T")

PLUGIN_GROUP = "charact.plugins"

_plugins_lock = threading.RLock()
_plugins_loaded = False


def load_plugins(*, force: bool = False) -> list[str]:
    """Import every module declared in the ``charact.plugins`` entry-point group.

    Importing a plugin module registers its readers, lineshapes, … Safe to call many times;
    the work is done once unless ``force`` is true.

    Returns
    -------
    list of str
        The module names imported (empty when already loaded).
    """
    global _plugins_loaded
    with _plugins_lock:
        if _plugins_loaded and not force:
            return []
        # Mark first: a plugin that enumerates a registry while being imported must not recurse.
        _plugins_loaded = True
        loaded = []
        for ep in sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name):
            module = ep.value.split(":")[0]
            try:
                importlib.import_module(module)
            except Exception as exc:
                # One broken plugin must not take every other format down with it.
                warnings.warn(
                    f"charact plugin {ep.name!r} ({module}) failed to load and is skipped: "
                    f"{type(exc).__name__}: {exc}",
                    PluginWarning,
                    stacklevel=2,
                )
                continue
            loaded.append(module)
        return loaded


class Registry(Generic[T]):
    """A named collection of entries of one kind.

    Parameters
    ----------
    kind
        What the entries are, in words ("reader", "lineshape" …); used in messages.
    autoload
        Load the ``charact.plugins`` entry points before the registry is read.
    """

    def __init__(self, kind: str, *, autoload: bool = True) -> None:
        self.kind = kind
        self._autoload = autoload
        self._entries: dict[str, T] = {}

    def _load(self) -> None:
        if self._autoload:
            load_plugins()

    @overload
    def register(self, name: str, obj: T, *, replace: bool = False) -> T: ...

    @overload
    def register(
        self, name: str, obj: None = None, *, replace: bool = False
    ) -> Callable[[T], T]: ...

    def register(self, name: str, obj: T | None = None, *, replace: bool = False) -> Any:
        """Add ``obj`` under ``name``; usable as a decorator when ``obj`` is omitted.

        A name that is taken raises :class:`RegistryError` unless ``replace`` is true, so a
        plugin cannot silently shadow a built-in entry.
        """
        if not isinstance(name, str) or not name.strip():
            raise RegistryError(f"a {self.kind} name must be a non-empty string, got {name!r}")

        def add(entry: T) -> T:
            if name in self._entries and not replace and self._entries[name] is not entry:
                raise RegistryError(
                    f"{self.kind} {name!r} is already registered",
                    hint="pass replace=True to replace it on purpose",
                )
            self._entries[name] = entry
            return entry

        return add if obj is None else add(obj)

    def unregister(self, name: str) -> None:
        """Remove ``name`` (a no-op if absent); meant for tests and plugin reloads."""
        self._entries.pop(name, None)

    def get(self, name: str) -> T:
        """Return the entry called ``name``; unknown names list close matches."""
        self._load()
        try:
            return self._entries[name]
        except KeyError:
            hits = close_matches(name, self._entries)
            hint = f"did you mean {', '.join(map(repr, hits))}?" if hits else None
            raise RegistryError(
                f"unknown {self.kind} {name!r}; "
                f"known: {', '.join(sorted(self._entries)) or 'none'}",
                hint=hint,
            ) from None

    def names(self) -> list[str]:
        """Sorted names of every entry."""
        self._load()
        return sorted(self._entries)

    def items(self) -> list[tuple[str, T]]:
        """``(name, entry)`` pairs sorted by name."""
        self._load()
        return sorted(self._entries.items())

    def values(self) -> list[T]:
        """Entries sorted by name."""
        return [v for _, v in self.items()]

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._load()
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self._entries)} entries)"


# The registries every part of charact shares.
READERS: Registry[Any] = Registry("reader")
LINESHAPES: Registry[Any] = Registry("lineshape")
BASELINES: Registry[Any] = Registry("baseline")
PHASES: Registry[Any] = Registry("reference phase")
SPECIES: Registry[Any] = Registry("species")
