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

**Stoichiometric reconciliation** (``stoichiometry=True``; on in
:func:`charact.xps.depth.fit_depth_profile`): a species seen in regions of two elements is
one amount of formula units. With the component atoms ``n_j = m_j u_s`` (``m_j`` the library's
``atoms`` of the component, ``u_s`` the formula units of its species) and their covariance C,
the generalized-least-squares estimate ``u = (MᵀC⁻¹M)⁻¹MᵀC⁻¹n`` is the minimum-variance
unbiased linear combination of the regions (Aitken, Proc. R. Soc. Edinb. 55, 42 (1935)), and
species atoms become ``u_s Σ m_j``. Why: the weak Li 1s (Scofield 0.057) holds LiF-Li (56.0 eV)
and Li2CO3-Li (55.2 eV) overlapping, so their split is ill-determined, while F 1s LiF and the
C 1s CO3 line are precise; raw sums carried the split's noise into LiF and Li2CO3 (several
points on generated low-count profiles, beyond the reported error). A constraint on the Li 1s
areas inside the joint fit would be equivalent to first order but couples the region fits;
reconciling afterwards reuses each region's covariance. The species errors are propagated
through the GLS map and scaled by the Birge ratio ``max(1, sqrt(χ²/dof))`` of the
reconciliation (R. T. Birge, Phys. Rev. 40, 207 (1932); the PDG scale factor) when the regions
disagree with the formulas beyond their covariance. Atomic % and the consistency ratios stay
the measured, unreconciled values.

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
from .models import _rsf_table

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


def _reconciler(regions, index, species, atoms, cov, *, elements_of):
    """The linear map from component atoms to species formula units, or ``None``.

    Model: the atoms of component *j* (area × ``atoms`` factor) are ``m_j u_s`` with ``u_s``
    the formula units of its species *s* and ``m_j`` the component's ``atoms`` (atoms of the
    region's element per formula unit in that component, from the species library). With
    ``C`` the covariance of the component atoms (fit covariance, regions independent) the
    generalized-least-squares estimate is ``u = (MᵀC⁻¹M)⁻¹ MᵀC⁻¹ n`` =: ``G n``, the
    minimum-variance linear unbiased combination of the regions (Aitken 1935). Returns
    ``(G, k)`` with ``k_s`` = detected atoms per formula unit of *s* (sum of ``m_j``), or
    ``None`` when no species spans two elements or the covariance cannot be inverted.
    """
    names = [regions[k].components[i].species or regions[k].components[i].name for k, i in index]
    els: dict[str, set[str]] = {}
    for (k, _), s in zip(index, names, strict=True):
        els.setdefault(s, set()).add(elements_of(k))
    if not any(len(v) > 1 for v in els.values()):
        return None
    m = np.array([float(regions[k].components[i].atoms) for k, i in index])
    if not np.all(np.isfinite(cov)) or not np.all(np.isfinite(m)) or np.any(m <= 0):
        return None
    M = np.zeros((len(index), len(species)))
    for j, s in enumerate(names):
        M[j, species.index(s)] = m[j]
    Cn = cov * np.outer(atoms, atoms)
    d = np.diag(Cn).copy()
    if np.any(d <= 0):
        return None
    # Tiny ridge so near-singular blocks (e.g. exactly correlated areas) stay invertible.
    Cn = Cn + np.diag(1e-9 * d)
    try:
        W = np.linalg.inv(Cn)
        F = M.T @ W @ M
        G = np.linalg.solve(F, M.T @ W)
    except np.linalg.LinAlgError:
        return None
    if not np.all(np.isfinite(G)):
        return None
    return G, M.sum(axis=0), M, W


def quantify_level(
    regions: Mapping[str, LevelFit],
    *,
    rsf: str | Mapping[str, float] = "scofield",
    excitation_energy: float = 1486.6,
    imfp_exponent: float | None = None,
    transmission_exponent: float | None = None,
    monte_carlo: int = 0,
    seed: int | None = 0,
    stoichiometry: bool = False,
    transmission: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
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
        ``None`` (default): what the RSF set prescribes (the ``thermo`` set: 0 and 0, its
        factors include both), else 0.6 and 0.
    monte_carlo
        When > 0, the standard errors of atomic and species % are instead the standard
        deviations over this many draws of the component areas from a normal distribution
        with the fit covariance (negative draws clipped to 0); captures non-linearity that
        first-order propagation misses.
    seed
        Seed of the Monte-Carlo draws (reproducible by default).
    stoichiometry
        When true, species % use the formula units of each species estimated jointly from all
        its components by generalized least squares (see "Stoichiometric reconciliation" in
        the module docstring): a species seen in two regions (LiF in F 1s and Li 1s) is
        weighted towards the better-determined region. False (the default here) gives the
        raw per-component sums; :func:`charact.xps.depth.fit_depth_profile` turns it on.
    transmission
        ``{region: (binding_energy, T)}``: the analyser transmission the file records at each
        point (VAMAS ``transmission`` variable, read as ``<region>__transmission``). Each
        component of such a region is divided by T at its measured position (its BE minus
        the level's charge shift), as CasaXPS's "Area/(RSF*T*MFP)" does; the E_K power-law
        transmission model is then not applied to that region.

    Raises
    ------
    InputError
        A region has no sensitivity factor in the chosen set.
    """
    prescribed: dict[str, float] = {}
    if isinstance(rsf, Mapping):
        factors, source = dict(rsf), "user mapping"
    else:
        # one parse gives the factors and the corrections (load_rsf + rsf_corrections)
        factors, source, prescribed = _rsf_table(rsf)
    corrections_from = "the defaults"
    if imfp_exponent is None:
        imfp_exponent = prescribed.get("imfp_exponent", 0.6)
        if "imfp_exponent" in prescribed:
            corrections_from = f"the RSF set ({source})"
    if transmission_exponent is None:
        transmission_exponent = prescribed.get("transmission_exponent", 0.0)
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
        measured_t = transmission is not None and k in transmission
        eff[k] = (
            factors[k] * ek**imfp_exponent * (1.0 if measured_t else ek ** (-transmission_exponent))
        )
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

    def _t(k: str, i: int) -> float:
        if transmission is None or k not in transmission:
            return 1.0
        x, tv = (np.asarray(v, float) for v in transmission[k])
        ok = np.isfinite(tv)
        lv = regions[k]
        at = lv.components[i].be - (lv.charge_shift_eV if math.isfinite(lv.charge_shift_eV) else 0)
        val = float(np.interp(at, x[ok], tv[ok])) if ok.any() else math.nan
        if not math.isfinite(val) or val <= 0:
            raise InputError(f"region {k}: no usable transmission at {at:.2f} eV")
        return val

    atoms = np.array([1.0 / (eff[k] * _t(k, i)) for k, i in index])

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

    recon = (
        _reconciler(regions, index, species, atoms, cov, elements_of=element_of)
        if stoichiometry
        else None
    )
    stoich_note = "none (raw component sums)"
    species_fn = spec
    if recon is not None:
        G, k_s, M_, W_ = recon

        def species_fn(a: np.ndarray) -> np.ndarray:
            n_s = (G @ (a * atoms)) * k_s
            tot = n_s.sum()
            return 100 * n_s / tot if tot > 0 else spec(a)

        stoich_note = (
            "formula units per species by generalized least squares over its components "
            "(weights: inverse fit covariance of the atoms), species atoms = units × atoms "
            "of the detected elements per formula unit"
        )
    elif stoichiometry:
        stoich_note = "not applied (no species in two elements, or covariance unusable)"
    ap, ap_e = _propagate(atomic, areas, cov)
    sp, sp_e = _propagate(species_fn, areas, cov)
    method = "first-order propagation of the fit covariance"
    if monte_carlo and monte_carlo > 0 and np.all(np.isfinite(cov)):
        rng = np.random.default_rng(seed)
        draws = np.clip(rng.multivariate_normal(areas, cov, size=int(monte_carlo)), 0, None)
        ap_e = np.std([atomic(d) for d in draws], axis=0, ddof=1)
        sp_e = np.std([species_fn(d) for d in draws], axis=0, ddof=1)
        method = f"Monte Carlo, {int(monte_carlo)} draws of the areas (seed {seed})"
    birge = 1.0
    if recon is not None:
        # Birge ratio: when the regions disagree with the formulas by more than the fit
        # covariance allows (chi2/dof > 1), the covariance is too small; widen the species
        # errors by sqrt(chi2/dof) (Birge 1932; the PDG scale factor).
        n0 = areas * atoms
        r = n0 - M_ @ (G @ n0)
        dof = M_.shape[0] - M_.shape[1]
        if dof > 0:
            chi2 = float(r @ W_ @ r)
            birge = max(1.0, math.sqrt(chi2 / dof))
        sp_e = sp_e * birge
        stoich_note += f"; Birge scale factor on the species errors {birge:.2f}"
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
            "transmission": (
                "measured: the file's transmission at each component for "
                + ", ".join(k for k in keys if transmission and k in transmission)
                if transmission and any(k in transmission for k in keys)
                else "included in the RSF set's factors"
                if "transmission_exponent" in prescribed
                else f"T(E_K) = E_K**-{transmission_exponent:g}"
                + (
                    " (none: spectra taken as transmission-corrected)"
                    if transmission_exponent == 0
                    else ""
                )
            ),
            "imfp": (
                "included in the RSF set's factors"
                if "imfp_exponent" in prescribed
                else f"lambda(E_K) proportional to E_K**{imfp_exponent:g}"
            ),
            "corrections_from": corrections_from,
            "uncertainty": method,
            "stoichiometry": stoich_note,
        },
        flags=flags,
    )
