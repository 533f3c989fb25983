"""Joint depth-profile fitting versus region-by-region lmfit fits: time and agreement.

Data: a generated 10-level × 3-region (C 1s, F 1s, Li 1s) SEI depth profile with a charging
shift per level and Poisson noise (charact.xps.synthetic, seed given), truth known.

charact: :func:`charact.xps.depth.fit_depth_profile` — every region fitted over all levels at
once, positions and FWHM shared, a rigid shift per level from C 1s C–C, applied to F 1s and
Li 1s of the same level.

Reference approach: what a careful user does spectrum by spectrum — for each level, fit C 1s
with an lmfit composite model of GL(30) peaks (``charact.core.lineshapes.make_model``) on the
Shirley-subtracted data, take the C–C shift, then fit F 1s and Li 1s of that level with
windows moved by the shift; every spectrum has its own positions and widths.

Prints wall times, their ratio, and the largest error in species % against the truth for
both approaches.

    python benchmarks/bench_xps_depth.py [--levels 10] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import numpy as np

from charact.core.errors import AssumptionWarning
from charact.core.lineshapes import make_model
from charact.xps.backgrounds import shirley
from charact.xps.depth import fit_depth_profile
from charact.xps.fit import _area
from charact.xps.io import get_region
from charact.xps.models import component
from charact.xps.synthetic import SEI_TRUTH, synthetic_depth_profile

COMPONENTS = {
    "C1s": ["C-C", "C-O", "O-C=O", "CO3"],
    "F1s": ["LiF"],
    "Li1s": ["LiF-Li", "Li2CO3-Li", "Li2O"],
}


def truth_for(levels: int) -> dict[str, list[float]]:
    """SEI_TRUTH's four levels interpolated onto ``levels`` levels."""
    t = np.linspace(0, 3, levels)
    return {k: list(np.interp(t, [0, 1, 2, 3], v)) for k, v in SEI_TRUTH.items()}


def reference_fit(ds, nlev: int) -> list[dict[str, float]]:
    """Spectrum-by-spectrum lmfit fits; species % per level (Scofield, E_K^0.6)."""
    from charact.xps.models import load_rsf

    rsf, _ = load_rsf("scofield")
    out = []
    for lev in range(nlev):
        shift = 0.0
        atoms: dict[str, float] = {}
        for region in ("C1s", "F1s", "Li1s"):
            spec = get_region(ds, region, level=lev)
            x = spec.binding_energy.values
            y = spec.values - shirley(x, spec.values)
            comps = [component(n, region) for n in COMPONENTS[region]]
            model = None
            for i in range(len(comps)):
                m = make_model("gl", prefix=f"p{i}_")
                model = m if model is None else model + m
            params = model.make_params()
            for i, c in enumerate(comps):
                params[f"p{i}_center"].set(
                    value=c.be - shift,
                    min=c.be_min - shift - 0.5
                    if region == "C1s" and c.name == "C-C"
                    else c.be_min - shift,
                    max=c.be_max - shift + 0.5
                    if region == "C1s" and c.name == "C-C"
                    else c.be_max - shift,
                )
                params[f"p{i}_fwhm"].set(value=c.fwhm, min=c.fwhm_min, max=c.fwhm_max)
                params[f"p{i}_m"].set(value=0.3, vary=False)
                params[f"p{i}_height"].set(
                    value=max(float(np.interp(c.be - shift, x, y)), 1.0), min=0
                )
            res = model.fit(y, params, x=x)
            if region == "C1s":
                shift = 284.8 - res.params["p0_center"].value
            ek = 1486.6 - np.mean([c.be for c in comps])
            eff = rsf[region] * ek**0.6
            for i, c in enumerate(comps):
                area = _area(
                    c,
                    res.params[f"p{i}_height"].value,
                    res.params[f"p{i}_fwhm"].value,
                    (x[0], x[-1]),
                )
                atoms[c.species] = atoms.get(c.species, 0.0) + area / eff
        tot = sum(atoms.values())
        out.append({s: 100 * v / tot for s, v in atoms.items()})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--levels", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    nlev = args.levels
    rng = np.random.default_rng(args.seed)
    shifts = list(np.round(rng.uniform(-0.4, 0.6, nlev), 3))
    ds, truth = synthetic_depth_profile(
        truth_for(nlev),
        etch_times=tuple(30.0 * i for i in range(nlev)),
        shifts=shifts,
        counts_per_atom=20000.0,
        seed=args.seed,
    )
    warnings.simplefilter("ignore", AssumptionWarning)
    t0 = time.perf_counter()
    joint = fit_depth_profile(ds, components=COMPONENTS, etch_rate_nm_per_s=0.1667)
    t_joint = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = reference_fit(ds, nlev)
    t_ref = time.perf_counter() - t0

    def worst(per_level):
        return max(
            abs(per_level[lev][s] - v)
            for lev in range(nlev)
            for s, v in truth["levels"][lev]["species_percent"].items()
        )

    joint_sp = [q.species_percent for q in joint.quantification]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"{nlev} levels x 3 regions (C 1s 4, F 1s 1, Li 1s 3 components), seed {args.seed}")
    print(
        f"region-by-region lmfit (reference): {t_ref:7.2f} s, "
        f"worst species-% error {worst(ref):5.2f} points"
    )
    print(
        f"charact joint fit:                  {t_joint:7.2f} s, "
        f"worst species-% error {worst(joint_sp):5.2f} points "
        f"({t_joint / t_ref:.2f}x the reference time)"
    )
    diff = max(abs(joint_sp[lev][s] - ref[lev][s]) for lev in range(nlev) for s in ref[lev])
    print(f"largest joint-vs-reference species-% difference: {diff:.2f} points")


if __name__ == "__main__":
    main()
