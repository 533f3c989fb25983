"""Conductivity σ = L/(R·S) and Arrhenius activation energies."""

from __future__ import annotations

import numpy as np
import pytest

import charact.echem as ec
from charact.core.errors import InputError
from charact.echem.conductivity import K_B_EV, bulk_resistance
from charact.echem.synthetic import impedance_spectrum

# The seed study's conductivities of the PVDF-HFP/LATP film (FIELD_NOTES.md, electrochemistry)
T_C = [30, 40, 50, 60, 70]
SIGMA = [4.6e-4, 6.7e-4, 8.8e-4, 1.1e-3, 1.3e-3]


def test_paper_endpoints_give_the_reported_activation_energy():
    # issue 7: 4.6e-4 S/cm at 30 °C and 1.3e-3 S/cm at 70 °C -> Ea ≈ 0.22-0.23 eV
    res = ec.fit_arrhenius([303.15, 343.15], [4.6e-4, 1.3e-3])
    assert 0.22 <= res.Ea_eV <= 0.235
    assert np.isnan(res.Ea_stderr)  # two points: no degrees of freedom left


def test_paper_series_both_forms():
    tk = np.add(T_C, 273.15)
    a = ec.fit_arrhenius(tk, SIGMA)
    b = ec.fit_arrhenius(tk, SIGMA, form="sigmaT")
    assert a.Ea_eV == pytest.approx(0.23, abs=0.01)  # FIELD_NOTES: ≈ 0.23 eV (ln σ)
    assert b.Ea_eV == pytest.approx(0.26, abs=0.01)  # FIELD_NOTES: ≈ 0.26 eV (ln σT)
    assert 0 < a.Ea_stderr < 0.02


def test_generated_series_exact():
    tk = np.linspace(290, 360, 8)
    ea, s0 = 0.35, 50.0
    sigma = s0 * np.exp(-ea / (K_B_EV * tk))
    res = ec.fit_arrhenius(tk, sigma)
    assert res.Ea_eV == pytest.approx(ea, rel=1e-10)
    assert res.sigma0 == pytest.approx(s0, rel=1e-8)
    assert res.r2 == pytest.approx(1.0)


def _blocking(r_bulk, seed=0):
    # electrolyte film between blocking electrodes: bulk arc, then the electrode spike
    pars = {"R1": r_bulk, "CPE1_Q": 1e-9, "CPE1_alpha": 0.95, "CPE2_Q": 2e-6, "CPE2_alpha": 0.85}
    return impedance_spectrum("p(R1,CPE1)-CPE2", pars, f_min=0.1, f_max=1e7, noise=0.002, seed=seed)


def test_bulk_resistance_and_conductivity():
    f, z = _blocking(100.0)
    r, how = bulk_resistance((f, z))
    assert r == pytest.approx(100.0, rel=0.03) and "minimum of -Im Z" in how
    res = ec.quantify_conductivity([(f, z)], thickness_um=50, area_cm2=1.0)
    assert res.points[0]["sigma_S_cm"] == pytest.approx(50e-4 / 100.0, rel=0.03)


def test_conductivity_series_to_arrhenius():
    tk = np.array(T_C) + 273.15
    # bulk resistances of a 50 µm, 1 cm² film with the paper's conductivities
    spectra = [_blocking(50e-4 / s, seed=k) for k, s in enumerate(SIGMA)]
    res = ec.quantify_conductivity(spectra, thickness_um=50, area_cm2=1, temperatures_C=T_C)
    got = [p["sigma_S_cm"] for p in res.points]
    np.testing.assert_allclose(got, SIGMA, rtol=0.03)
    assert res.arrhenius.Ea_eV == pytest.approx(ec.fit_arrhenius(tk, SIGMA).Ea_eV, abs=0.01)


def test_bad_input():
    with pytest.raises(InputError, match="at least 2 temperatures"):
        ec.fit_arrhenius([300], [1e-3])
    with pytest.raises(InputError, match="finite and > 0"):
        ec.fit_arrhenius([300, 310], [1e-3, -1])
    f, z = _blocking(100)
    with pytest.raises(InputError, match="thickness_um must be a positive"):
        ec.quantify_conductivity([(f, z)], thickness_um=0, area_cm2=1)
    with pytest.raises(InputError, match="2 temperatures for 1 spectra"):
        ec.quantify_conductivity([(f, z)], thickness_um=50, area_cm2=1, temperatures_C=[30, 40])


def test_sample_metadata_in_attrs_is_used_and_options_override():
    """Thickness, area and temperature from the Dataset attrs (as a caller of the Python
    API may set them); explicit options win; the source is recorded."""
    from charact.echem.io import make_eis_dataset
    from charact.echem.synthetic import impedance_spectrum

    spectra = []
    for r, t in [(10.9, 30), (3.8, 70)]:
        f, z = impedance_spectrum(
            "R0-p(R1,CPE1)-CPE2",
            {
                "R0": 0.5,
                "R1": r,
                "CPE1_Q": 1e-9,
                "CPE1_alpha": 0.95,
                "CPE2_Q": 1e-5,
                "CPE2_alpha": 0.9,
            },
        )
        ds = make_eis_dataset(f, z.real, z.imag)
        ds.attrs["sample_metadata"] = '{"thickness_um": 50, "area_cm2": 1.0}'
        ds.attrs["temperature_C"] = t
        spectra.append(ds)
    res = ec.quantify_conductivity(spectra)
    assert res.thickness_um == 50 and res.area_cm2 == 1.0
    assert res.sources["temperature_C"] == "attrs" and res.arrhenius is not None
    assert [p["T_K"] for p in res.points] == pytest.approx([303.15, 343.15])
    over = ec.quantify_conductivity(spectra, thickness_um=100.0)
    assert over.thickness_um == 100.0 and over.sources["thickness_um"] == "option"
    np.testing.assert_allclose(
        [p["sigma_S_cm"] for p in over.points], [2 * p["sigma_S_cm"] for p in res.points]
    )
    for ds in spectra:
        del ds.attrs["sample_metadata"]
    with pytest.raises(InputError, match="thickness_um and area_cm2 not given"):
        ec.quantify_conductivity(spectra)
