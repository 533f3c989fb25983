"""Every echem figure draws what it is given on the Axes it is given (Agg backend)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import charact.echem as ec
from charact.echem import plot
from charact.echem.synthetic import cycling_record
from tests.echem._helpers import rc_spectrum


@pytest.fixture()
def ax():
    fig, a = plt.subplots()
    yield a
    plt.close(fig)


def test_cycling_figures(ax):
    cols, _ = cycling_record([2.0, 1.9, 1.8], [1.7, 1.8, 1.75], current_mA=0.5)
    ds = ec.make_cycling_dataset(
        time_s=cols["time_s"],
        voltage_v=cols["voltage_v"],
        current_a=cols["current_a"],
        cycle=cols["cycle"],
    )
    res = ec.quantify_cycling(ds, electrode="anode", mass_mg=1.0)
    assert plot.plot_capacity(res, ax=ax) is ax
    ydata = np.concatenate([ln.get_ydata() for ln in ax.lines])
    assert np.nanmax(ydata) == pytest.approx(2.0 / 1e-3, rel=1e-6)  # mAh/g with 1 mg
    assert "mAh/g" in ax.get_ylabel()
    fig, a2 = plt.subplots()
    plot.plot_rate(res, ax=a2)
    assert len(a2.patches) == len(res.rate_table)
    plt.close(fig)


def test_impedance_and_drt_figures(ax):
    f, z = rc_spectrum()
    fit = ec.fit_circuit((f, z), "R0-p(R1,CPE1)-p(R2,CPE2)-W1")
    plot.plot_nyquist(fit.frequency, fit.z, fit.z_fit, ax=ax)
    assert len(ax.lines) == 2 and ax.get_ylabel().startswith("−Im")
    fig, (b, c) = plt.subplots(1, 2)
    plot.plot_bode(f, z, ax=b)
    d = ec.fit_drt((f, z))
    plot.plot_drt(d, ax=c)
    assert len(c.lines) == 1 + len(d.peaks) and "λ" in c.get_title()
    plt.close(fig)


def test_arrhenius_figure_follows_the_form(ax):
    t = np.array([303.15, 323.15, 343.15])
    sigma = np.array([4.6e-4, 8.8e-4, 1.3e-3])
    res = ec.fit_arrhenius(t, sigma, form="sigmaT")
    plot.plot_arrhenius(t, sigma, res, ax=ax)
    pts = ax.lines[0].get_ydata()
    np.testing.assert_allclose(pts, np.log10(sigma * t))
    assert "σT" in ax.get_ylabel() and len(ax.lines) == 2
