r"""Quantification: atomic % per element, species % and cross-region consistency.

For a region r of element e with total fitted area :math:`A_r` (components, background
removed) the amount of e is

.. math:: n_e \propto \frac{A_r}{\sigma_r\, \lambda(E_K)\, T(E_K)},
          \qquad \lambda \propto E_K^{\,a},\quad T \propto E_K^{-t},\quad E_K = h\nu - E_B

with σ the relative sensitivity factor (Scofield 1976 cross sections for Al Kα by default),
``imfp_exponent`` *a* (0.6 by default, a common approximation of the inelastic mean free path's
energy dependence, e.g. Seah & Dench, Surf. Interface Anal. 1, 2 (1979)) and
``transmission_exponent`` *t* (0 by default: spectra assumed already transmission-corrected, as
instrument software exports them). Atomic % is :math:`100\,n_e/\sum n`.

The same correction applied per component gives the atoms of each element in each chemical
state; **species %** is the share of all detected atoms that belong to components of a species
(components of one species in several regions add up), so the species % of a level sum to 100.

**Consistency**: a species fitted in two regions (LiF in F 1s and Li 1s, Li2CO3 in C 1s and
Li 1s) must give atoms in the ratio of its formula; the measured/expected ratio is reported.

Standard errors come from the covariance of the component areas of each region fit
(:attr:`charact.xps.fit.LevelFit.area_cov`), regions taken as independent, propagated with a
numerical Jacobian.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.errors import InputError
from .fit import LevelFit
from .models import load_rsf

__all__ = ["LevelQuantification", "element_of", "quantify_level"]


def element_of(region: str) -> str:
    """Element symbol of a region key: ``"Li1s"`` → ``"Li"``, ``"Si2p"`` → ``"Si"``."""
    m = re.match(r"([A-Z][a-z]?)", region)
    if not m:
        raise InputError(f"cannot tell the element of region {region!r}")
    return m.group(1)


@dataclass
class LevelQuantification:
    """Atomic and species percentages of one level, with standard errors."""

    atomic_percent: dict[str, float]
    atomic_percent_stderr: dict[str, float]
    species_percent: dict[str, float]
    species_percent_stderr: dict[str, float]
    consistency: dict[str, dict[str, Any]]
    rsf: dict[str, float]
    rsf_source: str
    corrections: dict[str, Any]
    flags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def clean(d):
            return {
                k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in d.items()
            }

        return {
            "atomic_percent": clean(self.atomic_percent),
            "atomic_percent_stderr": clean(self.atomic_percent_stderr),
            "species_percent": clean(self.species_percent),
            "species_percent_stderr": clean(self.species_percent_stderr),
            "consistency": {k: clean(v) for k, v in self.consistency.items()},
            "rsf": self.rsf,
            "rsf_source": self.rsf_source,
            "corrections": self.corrections,
            "flags": list(self.flags),
        }


def _propagate(func, x: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y0 = func(x)
    if not np.all(np.isfinite(cov)):
        return y0, np.full_like(y0, math.nan)
    J = np.zeros((y0.size, x.size))
    for j in range(x.size):
        h = 1e-6 * max(abs(x[j]), 1e-9)
        xp, xm = x.copy(), x.copy()
        xp[j] += h
        xm[j] -= h
        J[:, j] = (func(xp) - func(xm)) / (2 * h)
    return y0, np.sqrt(np.clip(np.diag(J @ cov @ J.T), 0, None))


def quantify_level(
    regions: Mapping[str, LevelFit],
    *,
    rsf: str | Mapping[str, float] = "scofield",
    excitation_energy: float = 1486.6,
    imfp_exponent: float = 0.6,
    transmission_exponent: float = 0.0,
    monte_carlo: int = 0,
    seed: int | None = 0,
) -> LevelQuantification:
    """Atomic %, species % and consistency of one level from its region fits.

    Parameters
    ----------
    regions
        ``{region key: LevelFit}`` of the same level.
    rsf
        Built-in set name (``"scofield"``), a TOML path, or a ``{region: factor}`` mapping.
    excitation_energy
        hν in eV (for the kinetic energies of the corrections).
    imfp_exponent, transmission_exponent
        Exponents of the IMFP and transmission corrections (see the module docstring).
    monte_carlo
        When > 0, the standard errors of atomic and species % are instead the standard
        deviations over this many draws of the component areas from a normal distribution
        with the fit covariance (negative draws clipped to 0); captures non-linearity that
        first-order propagation misses.
    seed
        Seed of the Monte-Carlo draws (reproducible by default).

    Raises
    ------
    InputError
        A region has no sensitivity factor in the chosen set.
    """
    if isinstance(rsf, Mapping):
        factors, source = dict(rsf), "user mapping"
    else:
        factors, source = load_rsf(rsf)
    keys = list(regions)
    eff: dict[str, float] = {}
    for k in keys:
        if k not in factors:
            raise InputError(
                f"no sensitivity factor for region {k} in the {source!r} set "
                f"(has {', '.join(sorted(factors))})",
                hint="pass --rsf with a TOML file that includes it",
            )
        comps = regions[k].components
        be = float(np.mean([c.be for c in comps]))
        ek = excitation_energy - be
        if ek <= 0:
            raise InputError(
                f"region {k}: kinetic energy {ek:.1f} eV ≤ 0 for hν {excitation_energy}"
            )
        eff[k] = factors[k] * ek**imfp_exponent * ek ** (-transmission_exponent)
    # Flatten component areas; covariance block-diagonal over regions.
    index = [(k, i) for k in keys for i in range(len(regions[k].components))]
    areas = np.array([regions[k].components[i].area for k, i in index], float)
    cov = np.zeros((areas.size, areas.size))
    pos = 0
    for k in keys:
        n = len(regions[k].components)
        block = regions[k].area_cov
        if block is None or block.shape != (n, n):
            block = np.diag([c.area_stderr**2 for c in regions[k].components])
        cov[pos : pos + n, pos : pos + n] = block
        pos += n
    elements = sorted(
        {element_of(k) for k in keys},
        key=lambda e: keys.index(next(k for k in keys if element_of(k) == e)),
    )
    species = []
    for k, i in index:
        s = regions[k].components[i].species or regions[k].components[i].name
        if s not in species:
            species.append(s)
    atoms = np.array([1.0 / eff[k] for k, _ in index])

    def atomic(a: np.ndarray) -> np.ndarray:
        n = a * atoms
        tot = n.sum()
        return np.array(
            [
                100 * n[[j for j, (k, _) in enumerate(index) if element_of(k) == e]].sum() / tot
                for e in elements
            ]
        )

    def spec(a: np.ndarray) -> np.ndarray:
        n = a * atoms
        tot = n.sum()
        out = []
        for s in species:
            sel = [
                j
                for j, (k, i) in enumerate(index)
                if (regions[k].components[i].species or regions[k].components[i].name) == s
            ]
            out.append(100 * n[sel].sum() / tot)
        return np.array(out)

    ap, ap_e = _propagate(atomic, areas, cov)
    sp, sp_e = _propagate(spec, areas, cov)
    method = "first-order propagation of the fit covariance"
    if monte_carlo and monte_carlo > 0 and np.all(np.isfinite(cov)):
        rng = np.random.default_rng(seed)
        draws = np.clip(rng.multivariate_normal(areas, cov, size=int(monte_carlo)), 0, None)
        ap_e = np.std([atomic(d) for d in draws], axis=0, ddof=1)
        sp_e = np.std([spec(d) for d in draws], axis=0, ddof=1)
        method = f"Monte Carlo, {int(monte_carlo)} draws of the areas (seed {seed})"
    # Consistency: species seen in two regions of different elements.
    consistency: dict[str, dict[str, Any]] = {}
    flags: list[str] = []
    for s in species:
        sel = [
            (j, k, i)
            for j, (k, i) in enumerate(index)
            if (regions[k].components[i].species or regions[k].components[i].name) == s
        ]
        els = {}
        for j, k, i in sel:
            els.setdefault(element_of(k), []).append((j, regions[k].components[i].atoms))
        if len(els) < 2:
            continue
        names = list(els)
        for a_i in range(len(names)):
            for b_i in range(a_i + 1, len(names)):
                ea, eb = names[a_i], names[b_i]
                ja = [j for j, _ in els[ea]]
                jb = [j for j, _ in els[eb]]
                expected = sum(n for _, n in els[ea]) / sum(n for _, n in els[eb])

                def ratio(a: np.ndarray, ja=ja, jb=jb) -> np.ndarray:
                    n = a * atoms
                    den = n[jb].sum()
                    return np.array([n[ja].sum() / den if den > 0 else math.nan])

                r, r_e = _propagate(ratio, areas, cov)
                val = float(r[0])
                consistency[f"{s} {ea}/{eb}"] = {
                    "measured": val,
                    "stderr": float(r_e[0]),
                    "expected": float(expected),
                    "measured_over_expected": val / expected if expected else math.nan,
                }
                if math.isfinite(val) and abs(val / expected - 1) > 0.25:
                    flags.append(
                        f"{s}: {ea}/{eb} = {val:.2f}, expected {expected:.2f} from its formula "
                        "— check the assignments or the sensitivity factors"
                    )
    return LevelQuantification(
        atomic_percent={e: float(v) for e, v in zip(elements, ap, strict=True)},
        atomic_percent_stderr={e: float(v) for e, v in zip(elements, ap_e, strict=True)},
        species_percent={s: float(v) for s, v in zip(species, sp, strict=True)},
        species_percent_stderr={s: float(v) for s, v in zip(species, sp_e, strict=True)},
        consistency=consistency,
        rsf={k: factors[k] for k in keys},
        rsf_source=source,
        corrections={
            "excitation_energy_eV": excitation_energy,
            "imfp_exponent": imfp_exponent,
            "transmission_exponent": transmission_exponent,
            "formula": "n = A / (RSF * E_K**imfp_exponent * E_K**-transmission_exponent)",
            "uncertainty": method,
        },
        flags=flags,
    )
