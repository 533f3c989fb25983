"""Errors and warnings raised by charact.

Every error a user can cause is a :class:`CharactError`. Its message names the file or
argument concerned, what was expected and what was found, so the command-line interface
can print it as it is, without a traceback.

Hierarchy::

    CharactError
    ├── FormatError (alias ReaderError)   a file could not be read
    │   ├── UnknownFormatError            no reader accepts the file
    │   └── CorruptFileError              a reader accepts it but its content is broken
    ├── InputError                        a bad argument or data array
    ├── FitError                          a fit could not be done or did not converge
    ├── CalibrationError                  a calibration is missing or inconsistent
    ├── RegistryError                     unknown or duplicate name in a registry
    └── CatalogError                      the sample catalogue
        ├── ManifestError                 samples.csv / samples.toml / charact.toml
        │   └── DuplicateSampleError
        ├── UnknownSampleError            (also AmbiguousSampleError)
        ├── MissingFileError
        └── SchemaVersionError

Recoverable conditions are warnings: :class:`CharactWarning` and its children.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from os import PathLike

__all__ = [
    "AmbiguousSampleError",
    "AssumptionWarning",
    "CalibrationError",
    "CatalogError",
    "CharactError",
    "CharactWarning",
    "CorruptFileError",
    "DuplicateSampleError",
    "FitError",
    "FitWarning",
    "FormatError",
    "InputError",
    "ManifestError",
    "MissingFileError",
    "PluginWarning",
    "ReaderError",
    "RegistryError",
    "SchemaVersionError",
    "UnknownFormatError",
    "UnknownSampleError",
    "close_matches",
]


def close_matches(
    word: str,
    candidates: Iterable[str],
    n: int = 3,
    *,
    cutoff: float = 0.6,
    substrings: bool = True,
) -> list[str]:
    """Return up to ``n`` candidates that look like ``word`` (case-insensitive), best first.

    Used to build "did you mean" hints. With ``substrings``, a candidate that contains
    ``word`` (or starts with it) also counts when ``word`` is at least half its length.
    """
    candidates = list(candidates)
    lowered = {c.lower(): c for c in candidates}
    w = word.lower()
    hits = difflib.get_close_matches(w, list(lowered), n=n, cutoff=cutoff)
    if substrings and len(w) >= 3:
        for low in lowered:
            if len(hits) >= n:
                break
            if low not in hits and w in low and 2 * len(w) >= len(low):
                hits.append(low)
    return [lowered[h] for h in hits][:n]


class CharactError(Exception):
    """Base of every error charact raises on purpose.

    Parameters
    ----------
    message
        What went wrong, what was expected and what was found.
    path
        The file concerned, if any; it is put in front of the message.
    hint
        What the user can do about it; printed after the message.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | PathLike[str] | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = None if path is None else str(path)
        self.detail = message
        self.hint = hint
        text = message if self.path is None else f"{self.path}: {message}"
        if hint:
            text = f"{text}\n  hint: {hint}"
        super().__init__(text)


class FormatError(CharactError):
    """A file could not be read."""


ReaderError = FormatError


class UnknownFormatError(FormatError):
    """No registered reader accepts the file."""


class CorruptFileError(FormatError):
    """A reader accepts the file, but its content is truncated or malformed."""


class InputError(CharactError, ValueError):
    """An argument, array or option has the wrong type, shape, units or value."""


class FitError(CharactError):
    """A fit could not be set up, or failed."""


class CalibrationError(CharactError):
    """A calibration (energy, shift, pixel size …) is missing or inconsistent."""


class RegistryError(CharactError, KeyError):
    """An unknown name was asked of a registry, or a name was registered twice."""

    def __str__(self) -> str:  # KeyError would quote the message
        return Exception.__str__(self)


class CatalogError(CharactError):
    """The sample catalogue, its manifest or its project settings are inconsistent."""


class ManifestError(CatalogError):
    """samples.csv, samples.toml or charact.toml is malformed."""


class DuplicateSampleError(ManifestError):
    """A sample ID appears twice in a manifest."""


class UnknownSampleError(CatalogError):
    """A sample ID is not in the catalogue."""


class AmbiguousSampleError(UnknownSampleError):
    """A file or abbreviation matches more than one sample ID."""


class MissingFileError(CatalogError):
    """A file named in a manifest does not exist."""


class SchemaVersionError(CatalogError):
    """The catalogue was written by a newer charact than this one."""


class CharactWarning(UserWarning):
    """Base of the warnings charact emits for recoverable conditions."""


class AssumptionWarning(CharactWarning):
    """charact had to assume something the file did not say (and records what)."""


class PluginWarning(CharactWarning):
    """A plugin module declared in the ``charact.plugins`` entry points failed to import."""


class FitWarning(CharactWarning):
    """A fit converged with a caveat (a parameter at a bound, a poor R², …)."""
