"""CV peaks on generated voltammograms, b-value and Randles–Sevcik."""

from __future__ import annotations

import math

import numpy as np
import pytest

import charact.echem as ec
from charact.core.errors import InputError
from charact.echem.cv import FARADAY, GAS_CONSTANT


def _cv(e_a=0.45, e_c=0.38, cycles=3, n=800):
    """Triangle sweeps 0.2-0.7 V with a Gaussian anodic and cathodic peak on a slope."""
    up = np.linspace(0.2, 0.7, n)
    e = np.concatenate([np.concatenate([up, up[::-1]])] * cycles)
    direction = np.concatenate([np.concatenate([np.ones(n), -np.ones(n)])] * cycles)
    i = 1e-4 * (e - 0.45)  # capacitive/ohmic background
    i += np.where(direction > 0, 1e-3 * np.exp(-(((e - e_a) / 0.02) ** 2)), 0)
    i -= np.where(direction < 0, 8e-4 * np.exp(-(((e - e_c) / 0.02) ** 2)), 0)
    t = np.arange(e.size, dtype=float)
    cyc = np.repeat(np.arange(1, cycles + 1), 2 * n)
    return ec.make_cycling_dataset(
        time_s=t, voltage_v=e, current_a=i, cycle=cyc, measurement_type="cv"
    )


def test_cv_peaks_at_generated_potentials():
    res = ec.find_cv_peaks(_cv())
    assert len(res.cycles) == 3 and not res.flags
    for c in res.cycles:
        assert c["anodic_peaks_V"] == pytest.approx([0.45], abs=0.003)
        assert c["cathodic_peaks_V"] == pytest.approx([0.38], abs=0.003)
        assert c["anodic_peaks"][0]["I_A"] == pytest.approx(1e-3, rel=0.05)


def test_b_value_and_randles_sevcik():
    v = np.array([0.01, 0.02, 0.05, 0.1, 0.2])
    n, area, conc, temp, d = 1, 0.5, 1e-5, 298.15, 1e-6
    ip = 0.4463 * n * FARADAY * area * conc * np.sqrt(n * FARADAY * v * d / (GAS_CONSTANT * temp))
    b = ec.fit_b_value(v, ip)
    assert b["b"] == pytest.approx(0.5, rel=1e-10)
    rs = ec.randles_sevcik_diffusion(
        v, ip, n_electrons=n, area_cm2=area, concentration_mol_cm3=conc, temperature_K=temp
    )
    assert rs["D_cm2_s"] == pytest.approx(d, rel=1e-10)
    assert ec.fit_b_value(v, 3e-3 * v)["b"] == pytest.approx(1.0)  # capacitive
    with pytest.raises(InputError, match="at least 2 scan rates"):
        ec.fit_b_value([0.1], [1e-3])
    with pytest.raises(InputError, match="area_cm2 must be a positive"):
        ec.randles_sevcik_diffusion(v, ip, n_electrons=1, area_cm2=0, concentration_mol_cm3=1)
    assert math.isnan(ec.fit_b_value([0.1, 0.2], [1e-3, 2e-3])["b_stderr"])
