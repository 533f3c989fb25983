"""Species % reconciled with the formulas of the species library (issue 5, low counts).

LiF is seen in F 1s and Li 1s, Li2CO3 in C 1s (CO3) and Li 1s. At realistic (weak) Li 1s
counts the LiF-Li / Li2CO3-Li split is ill-determined; the quantification estimates each
species' formula units by generalized least squares over all its components, so the precise
region dominates and the reported stderr covers the error.
"""

from __future__ import annotations

import warnings

import pytest

from charact.xps.depth import fit_depth_profile
from charact.xps.quantify import quantify_level
from charact.xps.synthetic import synthetic_depth_profile
from tests.xps._levels import make_level

COMPONENTS = {
    "C1s": ["C-C", "C-O", "O-C=O", "CO3"],
    "F1s": ["LiF"],
    "Li1s": ["LiF-Li", "Li2CO3-Li", "Li2O"],
}


def test_precise_region_dominates_and_raw_is_unchanged():
    c = make_level([("C-C", "C-C/C-H", "C", 1, 284.8, 1000.0, 10.0)])
    f = make_level([("LiF", "LiF", "LiF", 1, 685.2, 2000.0, 2.0)])  # 0.1 %
    li = make_level([("LiF-Li", "LiF", "LiF", 1, 55.9, 20.0, 5.0)])  # 25 %, low vs F
    regs = {"C1s": c, "F1s": f, "Li1s": li}
    raw = quantify_level(regs, imfp_exponent=0.0)
    rec = quantify_level(regs, imfp_exponent=0.0, stoichiometry=True)
    n = {"C": 1000 / 1.00, "F": 2000 / 4.43, "Li": 20 / 0.057}
    # raw: F + Li atoms as measured; reconciled: ~2 × the F 1s formula units
    assert raw.species_percent["LiF"] == pytest.approx(100 * (n["F"] + n["Li"]) / sum(n.values()))
    assert rec.species_percent["LiF"] == pytest.approx(
        100 * 2 * n["F"] / (n["C"] + 2 * n["F"]), abs=0.2
    )
    assert sum(rec.species_percent.values()) == pytest.approx(100.0)
    # the raw ratio stays reported as the diagnostic; the discrepancy widens the errors
    assert rec.consistency["LiF F/Li"]["measured"] == pytest.approx(n["F"] / n["Li"])
    assert "Birge" in rec.corrections["stoichiometry"]
    # atomic % is the measured element balance either way
    assert rec.atomic_percent == pytest.approx(raw.atomic_percent)
    # no species in two elements: nothing to reconcile, identical to raw
    q1 = quantify_level({"C1s": c, "F1s": f}, stoichiometry=True)
    q0 = quantify_level({"C1s": c, "F1s": f})
    assert q1.species_percent == pytest.approx(q0.species_percent)
    assert q1.species_percent_stderr == pytest.approx(q0.species_percent_stderr)


@pytest.mark.parametrize("seed", range(5, 10))
def test_low_count_species_percent_within_two_points(seed):
    # default counts_per_atom=4000: the weak Li 1s of a realistic measurement. Before the
    # reconciliation LiF was off by up to 7 points here (seed 5) with stderr ~1-1.5 claimed
    # elsewhere (seed 0: +3.5 ± 1.4).
    ds, truth = synthetic_depth_profile(seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_depth_profile(ds, components=COMPONENTS)
    for lev, q in enumerate(res.quantification):
        want = truth["levels"][lev]["species_percent"]
        for sp in ("LiF", "Li2CO3", "Li2O"):
            if sp != "LiF" and want[sp] < 5.0:
                continue
            err = q.species_percent[sp] - want[sp]
            se = q.species_percent_stderr[sp]
            assert abs(err) < 2.0, (seed, lev, sp, err)
            # the reported uncertainty covers the error and is not inflated to meaninglessness
            assert 0 < se < 2.0, (seed, lev, sp, se)
            assert abs(err) <= 3.0 * se, (seed, lev, sp, err, se)
