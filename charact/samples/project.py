"""A characterization project: a folder of instrument files, ``charact.toml`` and a manifest.

This module knows the folder: its settings, which files belong to it and how each file is
linked to a sample ID. The catalogue (:mod:`charact.samples.catalog`) stores what it finds.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
import tomllib
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path, PurePosixPath
from typing import Any

from ..core.data import TECHNIQUES
from ..core.errors import (
    AmbiguousSampleError,
    CatalogError,
    ManifestError,
    MissingFileError,
    UnknownSampleError,
    close_matches,
)
from ..core.store import atomic_write
from .manifest import Sample, read_manifest, write_empty_manifest

__all__ = [
    "CONFIG_NAME",
    "DEFAULT_PATTERNS",
    "STATE_DIR",
    "FileLink",
    "Project",
    "ProjectConfig",
    "find_project",
    "init_project",
]

CONFIG_NAME = "charact.toml"
STATE_DIR = ".charact"
DEFAULT_PATTERNS = ("{sample_id}_{technique}_*", "{sample_id}_*", "{sample_id}.*")
DEFAULT_IGNORE = ("*.md", "*.pdf", "*.doc", "*.docx", "*.pptx", "~$*", "*.tmp", "*.bak")

#: Folder names that say which technique a file belongs to.
TECHNIQUE_FOLDERS: dict[str, str] = {
    **{t: t for t in TECHNIQUES},
    "diffraction": "xrd",
    "cycling": "echem",
    "electrochem": "echem",
    "electrochemistry": "echem",
    "eis": "echem",
    "cv": "echem",
    "images": "sem",
}
_TECHNIQUE_ALIASES = {"ec": "echem", "electrochem": "echem", "cycling": "echem", "eis": "echem"}

_CONFIG_TEMPLATE = """\
# charact project settings. Every line is optional; these are the defaults.

[project]
name = "{name}"
# The samples manifest (CSV or TOML), relative to this folder.
manifest = "samples.csv"

[link]
# How a file is linked to a sample when the manifest's `files` column does not name it.
# Patterns are matched in order against each file's path relative to this folder; a pattern
# without '/' matches the file name in any folder. {{sample_id}} stands for a sample ID of the
# manifest, {{technique}} for xrd, raman, xps, sem or echem; '*' matches within a name and
# '**' across folders. A file under a folder named after a technique (xrd/, raman/ ...) is
# read as that technique.
patterns = [
    "{{sample_id}}_{{technique}}_*",   # MSiC-P01_xrd_001.xy
    "{{sample_id}}_*",                 # MSiC-C500_spot1.txt
    "{{sample_id}}.*",                 # MSiC-P01.xrdml
]
# Files never read (glob patterns, matched like `patterns`).
ignore = ["*.md", "*.pdf", "*.doc", "*.docx", "*.pptx", "~$*", "*.tmp", "*.bak"]

# Per-technique analysis settings go in their own tables, e.g.
# [xrd]
# wavelength = 1.5406        # Å, for files that do not say
# [raman]
# laser_wavelength = 532     # nm
# One sample's settings over the technique table:
# [samples."MSiC-C500".echem]
# mass_mg = 0.61
"""


@dataclass
class ProjectConfig:
    """Settings read from ``charact.toml``."""

    name: str
    manifest: str = "samples.csv"
    patterns: tuple[str, ...] = DEFAULT_PATTERNS
    ignore: tuple[str, ...] = DEFAULT_IGNORE
    techniques: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Per-sample overrides: ``[samples."ID".technique]`` tables, by sample ID then technique.
    overrides: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def settings(self, technique: str, sample_id: str | None = None) -> dict[str, Any]:
        """The ``[technique]`` table, with the sample's ``[samples."ID".technique]`` over it."""
        merged = dict(self.techniques.get(technique, {}))
        if sample_id:
            merged.update(self.overrides.get(sample_id, {}).get(technique, {}))
        return merged

    @classmethod
    def load(cls, root: Path) -> ProjectConfig:
        path = root / CONFIG_NAME
        if not path.is_file():
            return cls(name=root.resolve().name)
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ManifestError(f"malformed TOML: {exc}", path=path) from None
        known = {"project", "link", "samples", *TECHNIQUES}
        unknown = sorted(set(doc) - known)
        if unknown:
            raise ManifestError(
                f"unknown table(s) {', '.join(unknown)}; "
                f"expected some of {', '.join(sorted(known))}",
                path=path,
            )
        proj, link = doc.get("project", {}), doc.get("link", {})
        patterns = link.get("patterns", list(DEFAULT_PATTERNS))
        ignore = link.get("ignore", list(DEFAULT_IGNORE))
        for key, value in (("link.patterns", patterns), ("link.ignore", ignore)):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ManifestError(f"{key} must be a list of strings, found {value!r}", path=path)
        for pat in patterns:
            compile_pattern(pat, where=f"{path.name} link.patterns")
        for table in ("project", "link", "samples", *TECHNIQUES):
            if table in doc and not isinstance(doc[table], dict):
                raise ManifestError(
                    f"{table} must be a table ([{table}]), found {doc[table]!r}", path=path
                )
        overrides: dict[str, dict[str, dict[str, Any]]] = {}
        for sid, tables in doc.get("samples", {}).items():
            if not isinstance(tables, dict):
                raise ManifestError(
                    f"samples.{sid} must be a table of technique tables, "
                    f'e.g. [samples."{sid}".echem]',
                    path=path,
                )
            bad = sorted(set(tables) - set(TECHNIQUES))
            if bad or not all(isinstance(v, dict) for v in tables.values()):
                raise ManifestError(
                    f"samples.{sid}: expected technique tables ({', '.join(TECHNIQUES)}), "
                    f"found {', '.join(bad or sorted(tables))}",
                    path=path,
                )
            overrides[str(sid)] = {t: dict(v) for t, v in tables.items()}
        return cls(
            name=str(proj.get("name") or root.resolve().name),
            manifest=str(proj.get("manifest", "samples.csv")),
            patterns=tuple(patterns),
            ignore=tuple(ignore),
            techniques={t: dict(doc[t]) for t in TECHNIQUES if t in doc},
            overrides=overrides,
        )


# ----------------------------------------------------------------------- file patterns


def _glob_to_regex(text: str) -> str:
    out = []
    i = 0
    while i < len(text):
        if text.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif text.startswith("**", i):
            out.append(".*")
            i += 2
        elif text[i] == "*":
            out.append("[^/]*")
            i += 1
        elif text[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(text[i]))
            i += 1
    return "".join(out)


@functools.lru_cache(maxsize=8192)
def compile_pattern(
    pattern: str, *, sample_id: str | None = None, where: str = ""
) -> re.Pattern[str]:
    """Compile a link pattern into a regex matched against a relative POSIX path.

    With ``sample_id`` the placeholder is that literal ID; without it, a generic ID
    (letters, digits, ``.+-``) is captured, to spot IDs missing from the manifest.
    """
    parts = re.split(r"(\{sample_id\}|\{technique\})", pattern)
    regex = []
    seen_sample = False
    for part in parts:
        if part == "{sample_id}":
            if seen_sample:
                raise ManifestError(f"{where}: {{sample_id}} appears twice in {pattern!r}")
            seen_sample = True
            regex.append(
                re.escape(sample_id)
                if sample_id is not None
                else r"(?P<sample_id>[A-Za-z0-9][A-Za-z0-9.+-]*)"
            )
        elif part == "{technique}":
            names = "|".join(sorted({*TECHNIQUES, *_TECHNIQUE_ALIASES}, key=len, reverse=True))
            regex.append(rf"(?P<technique>{names})")
        else:
            if "{" in part or "}" in part:
                raise ManifestError(
                    f"{where}: unknown placeholder in {pattern!r}; "
                    "use {sample_id} and {technique}"
                )
            regex.append(_glob_to_regex(part))
    if not seen_sample:
        raise ManifestError(f"{where}: pattern {pattern!r} has no {{sample_id}}")
    body = "".join(regex)
    if "/" not in pattern:
        body = "(?:.*/)?" + body  # a bare name pattern matches in any folder
    return re.compile(f"^{body}$", re.IGNORECASE)


@dataclass
class FileLink:
    """How one file is linked: its sample (or None), technique hint and the reason."""

    path: str  # relative POSIX path
    sample_id: str | None
    technique: str | None
    reason: str


def _technique_of(match: re.Match[str] | None, rel: PurePosixPath) -> str | None:
    if match is not None and match.groupdict().get("technique"):
        t = match.group("technique").lower()
        return _TECHNIQUE_ALIASES.get(t, t)
    for part in rel.parts[:-1]:
        t = TECHNIQUE_FOLDERS.get(part.lower())
        if t:
            return t
    return None


class Project:
    """A project folder.

    Parameters
    ----------
    root
        The folder holding ``charact.toml`` (or only instrument files and a manifest).
    """

    def __init__(self, root: str | PathLike[str]) -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise CatalogError("project folder not found", path=root)
        self.config = ProjectConfig.load(self.root)
        self._samples: list[Sample] | None = None

    def reload(self) -> None:
        """Read ``charact.toml`` and the manifest again (they may have been edited)."""
        self.config = ProjectConfig.load(self.root)
        self._samples = None

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def manifest_path(self) -> Path:
        return self.root / self.config.manifest

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def samples(self) -> list[Sample]:
        """The manifest's samples (read once, validated).

        Raises
        ------
        ManifestError
            Also when charact.toml has ``[samples."ID".technique]`` settings for an ID that
            is not in the manifest (they would silently do nothing); close IDs are suggested.
        """
        if self._samples is None:
            found = read_manifest(self.manifest_path) if self.manifest_path.exists() else []
            self._check_overrides(found)
            self._samples = found
        return self._samples

    def _check_overrides(self, samples: list[Sample]) -> None:
        ids = [s.sample_id for s in samples]
        unknown = [sid for sid in self.config.overrides if sid not in ids]
        if not unknown:
            return
        hints = []
        for sid in unknown:
            near = close_matches(sid, ids)
            if near:
                hints.append(f"for {sid!r} did you mean {', '.join(map(repr, near))}?")
        raise ManifestError(
            f'[samples."ID"] settings for sample ID(s) not in {self.config.manifest}: '
            f"{', '.join(map(repr, unknown))}",
            path=self.root / CONFIG_NAME,
            hint="; ".join(hints)
            if hints
            else f"add them to {self.config.manifest} or remove the tables",
        )

    def relative(self, path: str | PathLike[str]) -> str:
        """Path relative to the project root, POSIX-style, as stored in the catalogue."""
        p = Path(path)
        p = p if p.is_absolute() else self.root / p
        try:
            return p.resolve().relative_to(self.root).as_posix()
        except ValueError:
            raise CatalogError(f"{p} is outside the project folder {self.root}") from None

    def _ignored(self, rel: str) -> bool:
        name = rel.rsplit("/", 1)[-1]
        for pat in self.config.ignore:
            target = rel if "/" in pat else name
            if fnmatch.fnmatchcase(target, pat) or fnmatch.fnmatch(target, pat):
                return True
        return False

    def scan(self) -> list[str]:
        """Every candidate data file, relative POSIX paths, sorted.

        Skips hidden files and folders (``.charact/`` among them), ``charact.toml``, the
        manifest and the ``ignore`` patterns.
        """
        skip = {CONFIG_NAME, self.config.manifest}
        found = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "__")))
            for fn in filenames:
                if fn.startswith("."):
                    continue
                rel = (Path(dirpath) / fn).relative_to(self.root).as_posix()
                if rel in skip or self._ignored(rel):
                    continue
                found.append(rel)
        return sorted(found)

    def explicit_links(self) -> dict[str, str]:
        """``{relative path: sample_id}`` from the manifest's ``files`` column.

        Raises
        ------
        MissingFileError
            A named file (or glob) matches nothing.
        AmbiguousSampleError
            One file is named by two samples.
        """
        links: dict[str, str] = {}
        for s in self.samples:
            for entry in s.files:
                if any(c in entry for c in "*?["):
                    matches = sorted(p for p in self.root.glob(entry) if p.is_file())
                else:
                    matches = [self.root / entry] if (self.root / entry).is_file() else []
                if not matches:
                    raise MissingFileError(
                        f"{s.where}: file {entry!r} of sample {s.sample_id!r} does not exist",
                        path=self.manifest_path,
                    )
                for m in matches:
                    rel = self.relative(m)
                    if links.get(rel, s.sample_id) != s.sample_id:
                        raise AmbiguousSampleError(
                            f"{rel} is listed for two samples: {links[rel]!r} and {s.sample_id!r}",
                            path=self.manifest_path,
                        )
                    links[rel] = s.sample_id
        return links

    def link(self, rel: str, explicit: dict[str, str] | None = None) -> FileLink:
        """Decide which sample a file belongs to.

        The manifest's ``files`` column wins; then the first pattern that matches exactly
        one known sample ID. A pattern that matches two IDs is an error, and so is an ID
        in a filename that is not in the manifest but closely resembles one (a typo).
        """
        pure = PurePosixPath(rel)
        explicit = self.explicit_links() if explicit is None else explicit
        if rel in explicit:
            return FileLink(rel, explicit[rel], _technique_of(None, pure), "manifest files column")
        ids = [s.sample_id for s in self.samples]
        suspects: list[str] = []
        for pat in self.config.patterns:
            hits = []
            for sid in ids:
                m = compile_pattern(pat, sample_id=sid).match(rel)
                if m is not None:
                    hits.append((sid, m))
            if len(hits) > 1:
                names = ", ".join(repr(h[0]) for h in hits)
                raise AmbiguousSampleError(
                    f"{rel}: pattern {pat!r} matches several sample IDs: {names}",
                    hint="name the file in the manifest's files column, or rename it",
                )
            if hits:
                sid, m = hits[0]
                return FileLink(rel, sid, _technique_of(m, pure), f"pattern {pat!r}")
            generic = compile_pattern(pat).match(rel)
            if generic is not None:
                suspects.append(generic.group("sample_id"))
        for cand in suspects:
            # Strict: only a near-identical ID is a typo; "si" in si_ref.txt is just a name.
            hits_ = close_matches(cand, ids, cutoff=0.8, substrings=False)
            if hits_:
                raise UnknownSampleError(
                    f"{rel}: sample ID {cand!r} is not in {self.config.manifest}",
                    hint=f"did you mean {', '.join(map(repr, hits_))}? "
                    f"Otherwise add {cand!r} to {self.config.manifest}",
                )
        return FileLink(rel, None, _technique_of(None, pure), "no pattern matched")


def find_project(start: str | PathLike[str] | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) holding ``charact.toml``.

    ``CHARACT_PROJECT`` in the environment overrides the search.
    """
    env = os.environ.get("CHARACT_PROJECT")
    if env and start is None:
        return Path(env)
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise CatalogError(
        f"no {CONFIG_NAME} found in {here} or any folder above it",
        hint="pass the project folder (--project DIR) or run `charact init DIR` first",
    )


def init_project(root: str | PathLike[str], *, name: str | None = None) -> Path:
    """Create a project folder: a commented ``charact.toml`` and an empty ``samples.csv``.

    Existing files are never overwritten.

    Returns
    -------
    pathlib.Path
        The project root.
    """
    p = Path(root)
    p.mkdir(parents=True, exist_ok=True)
    config = p / CONFIG_NAME
    if config.exists():
        raise CatalogError(f"{CONFIG_NAME} already exists; not overwriting it", path=config)
    project_name = name or p.resolve().name
    if '"' in project_name or "\\" in project_name:
        raise ManifestError(f"project name {project_name!r} may not contain quotes or backslashes")
    with atomic_write(config) as fh:
        fh.write(_CONFIG_TEMPLATE.format(name=project_name))
    manifest = p / "samples.csv"
    if not manifest.exists():
        write_empty_manifest(manifest)
    return p
