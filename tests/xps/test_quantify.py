"""Quantification arithmetic against hand calculation, RSF sets and errors."""

from __future__ import annotations

import numpy as np
import pytest

from charact.core.errors import InputError
from charact.xps.models import load_rsf
from charact.xps.quantify import element_of, quantify_level
from tests.xps._levels import make_level


def test_atomic_percent_matches_hand_calculation():
    # Scofield (1976) Al Ka: C 1s 1.00, F 1s 4.43, Li 1s 0.057 (FIELD_NOTES).
    c = make_level([("C-C", "C-C/C-H", "C", 1, 284.8, 1000.0, 10.0)])
    f = make_level([("LiF", "LiF", "LiF", 1, 685.2, 2000.0, 20.0)])
    li = make_level([("LiF-Li", "LiF", "LiF", 1, 55.9, 30.0, 3.0)])
    q = quantify_level({"C1s": c, "F1s": f, "Li1s": li}, imfp_exponent=0.0)
    n = {"C": 1000 / 1.00, "F": 2000 / 4.43, "Li": 30 / 0.057}
    tot = sum(n.values())
    for el, v in n.items():
        assert q.atomic_percent[el] == pytest.approx(100 * v / tot)
    assert q.species_percent["LiF"] == pytest.approx(100 * (n["F"] + n["Li"]) / tot)
    ratio = q.consistency["LiF F/Li"]
    assert ratio["measured"] == pytest.approx(n["F"] / n["Li"])
    assert ratio["expected"] == 1.0
    # stderr: Li 1s dominates; relative error of Li ~10 % -> a few percent points
    assert 0 < q.atomic_percent_stderr["Li"] < 10
    assert not q.flags  # F/Li = 0.86: within 25 % of the formula's 1, not flagged
    li_low = make_level([("LiF-Li", "LiF", "LiF", 1, 55.9, 10.0, 3.0)])
    q_off = quantify_level({"C1s": c, "F1s": f, "Li1s": li_low}, imfp_exponent=0.0)
    assert any("LiF: F/Li" in m for m in q_off.flags)
    assert q.rsf == {"C1s": 1.0, "F1s": 4.43, "Li1s": 0.057}


def test_imfp_correction_uses_kinetic_energy():
    c = make_level([("C-C", "C-C/C-H", "C", 1, 284.8, 1000.0, 10.0)])
    f = make_level([("LiF", "LiF", "LiF", 1, 685.2, 4430.0, 20.0)])
    q0 = quantify_level({"C1s": c, "F1s": f}, imfp_exponent=0.0)
    assert q0.atomic_percent["C"] == pytest.approx(50.0)
    q = quantify_level({"C1s": c, "F1s": f}, imfp_exponent=0.6)
    ratio = ((1486.6 - 284.8) / (1486.6 - 685.2)) ** 0.6  # F electrons are slower: shorter IMFP
    assert q.atomic_percent["F"] / q.atomic_percent["C"] == pytest.approx(ratio)


def test_rsf_sets_and_errors(tmp_path):
    factors, source = load_rsf("scofield")
    assert factors["O1s"] == 2.93 and "Scofield" in source
    thermo, tsource = load_rsf("thermo")
    assert thermo["O1s"] == pytest.approx(2.42) and "Avantage" in tsource
    with pytest.raises(InputError, match="unknown RSF set"):
        load_rsf("nosuchset")
    bad = tmp_path / "bad.toml"
    bad.write_text('[bad]\nC1s = "one"\n')
    with pytest.raises(InputError, match="must be a number"):
        load_rsf(str(bad))
    user = tmp_path / "mine.toml"
    user.write_text('[mine]\nsource = "lab set"\nC1s = 1.0\nO1s = 2.42\n')
    f2, s2 = load_rsf(str(user))
    assert f2 == {"C1s": 1.0, "O1s": 2.42} and s2 == "lab set"
    c = make_level([("C-C", "C-C/C-H", "C", 1, 284.8, 1000.0, 10.0)])
    with pytest.raises(InputError, match="no sensitivity factor for region Xx1s"):
        quantify_level({"C1s": c, "Xx1s": c}, rsf={"C1s": 1.0})
    assert element_of("Si2p") == "Si"
    assert np.isfinite(quantify_level({"C1s": c}).atomic_percent["C"])


def test_monte_carlo_errors_agree_with_first_order_for_small_errors():
    c = make_level(
        [
            ("C-C", "C-C/C-H", "C", 1, 284.8, 1000.0, 10.0),
            ("C-O", "C-O", "C", 1, 286.5, 500.0, 10.0),
        ]
    )
    f = make_level([("LiF", "LiF", "LiF", 1, 685.2, 2000.0, 20.0)])
    q1 = quantify_level({"C1s": c, "F1s": f})
    q2 = quantify_level({"C1s": c, "F1s": f}, monte_carlo=4000, seed=1)
    assert q2.corrections["uncertainty"].startswith("Monte Carlo")
    for s, e in q1.species_percent_stderr.items():
        assert q2.species_percent_stderr[s] == pytest.approx(e, rel=0.1)


def test_a_user_rsf_file_is_read_once_per_level(tmp_path, monkeypatch):
    # the factors and the corrections come from one parse of the table
    from pathlib import Path

    user = tmp_path / "mine.toml"
    user.write_text('[mine]\nsource = "lab set"\nC1s = 1.0\nimfp_exponent = 0.0\n')
    reads = []
    real = Path.read_text

    def counting(self, *args, **kwargs):
        if self == user:
            reads.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", counting)
    c = make_level([("C-C", "C-C/C-H", "C", 1, 284.8, 1000.0, 10.0)])
    q = quantify_level({"C1s": c}, rsf=str(user))
    assert q.atomic_percent["C"] == pytest.approx(100.0)
    assert len(reads) == 1
