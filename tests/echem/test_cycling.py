"""Cycling analysis: generated records of exact truth, and the real BioLogic files checked
against EC-Lab's own per-point columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import charact
import charact.echem as ec
from charact.core.errors import InputError
from charact.echem.cycling import find_half_cycles
from charact.echem.land import write_land_xlsx
from charact.echem.synthetic import cycling_record, write_biologic_mpt
from tests.conftest import shared_file


def _ds(cols):
    return ec.make_cycling_dataset(
        time_s=cols["time_s"],
        voltage_v=cols["voltage_v"],
        current_a=cols["current_a"],
        cycle=cols["cycle"],
        step=cols["step"],
    )


def test_anode_capacities_ce_and_retention_exact(tmp_path):
    lith = [3.0, 2.2, 2.1, 2.05]
    delith = [2.4, 2.1, 2.04, 2.0]
    cols, _ = cycling_record(lith, delith, current_mA=0.5)
    ds = charact.read(write_biologic_mpt(cols, tmp_path / "a.mpt"))
    res = ec.quantify_cycling(ds, electrode="anode", mass_mg=1.2, area_cm2=1.5, reference_cycle=2)
    assert [c["cycle"] for c in res.cycles] == [1, 2, 3, 4]
    np.testing.assert_allclose([c["discharge_mAh"] for c in res.cycles], lith, rtol=1e-9)
    np.testing.assert_allclose([c["charge_mAh"] for c in res.cycles], delith, rtol=1e-9)
    np.testing.assert_allclose(
        [c["coulombic_efficiency"] for c in res.cycles], np.divide(delith, lith), rtol=1e-9
    )
    assert res.initial_ce == pytest.approx(0.8, rel=1e-9)
    assert res.cycles[0]["charge_mAh_g"] == pytest.approx(2.4 / 1.2e-3, rel=1e-9)
    assert res.cycles[0]["discharge_mAh_cm2"] == pytest.approx(3.0 / 1.5, rel=1e-9)
    assert res.retention == pytest.approx(2.0 / 2.1, rel=1e-9)  # vs the declared cycle 2
    assert res.cycles[0]["current_mA"] == pytest.approx(0.5, rel=1e-9)
    # the mass written in the .mpt header is used when no option is given
    assert ec.quantify_cycling(ds, electrode="anode").mass_mg == pytest.approx(1.2)


def test_mass_and_area_from_sample_metadata_options_override():
    cols, _ = cycling_record([2.0, 1.8], [1.6, 1.7], current_mA=0.5, points_per_half=20)
    ds = _ds(cols)
    ds.attrs["sample_metadata"] = {"mass_mg": 0.8, "area_cm2": 2.0}
    res = ec.quantify_cycling(ds, electrode="anode")
    assert res.mass_mg == 0.8 and res.mass_source == "attrs:mass_mg"
    assert res.cycles[0]["charge_mAh_g"] == pytest.approx(1.6 / 0.8e-3, rel=1e-9)
    assert res.cycles[0]["charge_mAh_cm2"] == pytest.approx(1.6 / 2.0, rel=1e-9)
    over = ec.quantify_cycling(ds, electrode="anode", mass_mg=1.6)
    assert over.mass_source == "option"
    assert over.cycles[0]["charge_mAh_g"] == pytest.approx(1.6 / 1.6e-3, rel=1e-9)
    assert over.area_cm2 == 2.0  # the option overrides only what it names


def test_cathode_with_partial_first_discharge_is_not_paired():
    # a cathode that starts with a 0.2 mAh partial discharge from OCV (like the navani file)
    cols, _ = cycling_record([1.0, 0.95], [0.9, 0.9], electrode="cathode", partial_mAh=0.2)
    res = ec.quantify_cycling(_ds(cols), electrode="cathode")
    assert res.initial_partial_step["direction"] == "discharge"
    assert res.initial_partial_step["capacity_mAh"] == pytest.approx(0.2, rel=1e-9)
    assert res.initial_ce == pytest.approx(0.9, rel=1e-9)  # discharge / charge of cycle 1
    # positional pairing (first discharge with first charge) would give 0.2 / 1.0
    assert res.cycles[1]["coulombic_efficiency"] == pytest.approx(0.9 / 0.95, rel=1e-9)


def test_rate_blocks_with_recovery(tmp_path):
    currents = [0.5] * 3 + [1.0] * 3 + [2.0] * 3 + [0.5] * 2
    rev = [2.0, 2.0, 2.0, 1.9, 1.9, 1.9, 1.7, 1.7, 1.7, 1.98, 1.98]
    fwd = [r / 0.99 for r in rev]
    cols, _ = cycling_record(fwd, rev, current_mA=currents, points_per_half=12)
    path = write_land_xlsx(cols, tmp_path / "rate.xlsx", layout="cycle")
    res = ec.quantify_cycling(charact.read(path), electrode="anode", mass_mg=1.0)
    table = res.rate_table
    assert [round(r["current_mA"], 6) for r in table] == [0.5, 1.0, 2.0, 0.5]
    assert [r["recovery"] for r in table] == [False, False, False, True]
    np.testing.assert_allclose(
        [r["capacity_mAh_g"] for r in table], [2000, 1900, 1700, 1980], rtol=1e-6
    )
    np.testing.assert_allclose([r["retention"] for r in table], [1, 0.95, 0.85, 0.99], rtol=1e-6)
    assert table[1]["current_A_g"] == pytest.approx(1.0)


def test_dqdv_peaks_at_the_generated_potentials():
    cols, truth = cycling_record([2.0], [1.8], points_per_half=400)
    ds = _ds(cols)
    out = ec.find_dqdv_peaks(ds, half_cycle=1, window_V=0.02)
    assert out["direction"] == "charge"
    np.testing.assert_allclose(sorted(out["peaks_V"]), truth.charge_peaks_V, atol=0.01)


def test_dqdv_peaks_per_cycle_in_the_result():
    cols, truth = cycling_record([2.0, 1.9], [1.8, 1.8], points_per_half=400)
    res = ec.quantify_cycling(_ds(cols), electrode="anode", dqdv=True, dqdv_window_V=0.02)
    for c in res.cycles:
        np.testing.assert_allclose(
            sorted(c["charge_dqdv_peaks_V"]), truth.charge_peaks_V, atol=0.01
        )
        np.testing.assert_allclose(
            sorted(c["discharge_dqdv_peaks_V"]), truth.discharge_peaks_V, atol=0.01
        )


def test_energy_and_average_voltage_exact_for_a_flat_profile():
    t = np.linspace(0, 3600, 61)
    v = np.full(t.size, 3.7)
    i = np.full(t.size, 1e-3)
    i[0] = 0.0
    res = ec.quantify_cycling(
        ec.make_cycling_dataset(time_s=t, voltage_v=v, current_a=i), electrode="cathode"
    )
    # the rest -> charge interval is not counted: 1 mA over 3540 s
    assert res.cycles[0]["charge_mAh"] == pytest.approx(3540 / 3600, rel=1e-12)
    assert res.cycles[0]["average_charge_voltage_V"] == pytest.approx(3.7, rel=1e-12)
    assert res.flags[0].startswith("cycle 1 is incomplete")


def test_real_anode_half_cell_matches_ec_lab_columns():
    """Per-cycle capacities of gcpl.pr_182.1 equal the maxima of EC-Lab's own
    ``Q discharge/mA.h`` and ``Q charge/mA.h`` per half cycle in the paired .mpt."""
    path = shared_file("echem", "yadg", "gcpl.pr_182.1.mpt")
    raw = pd.read_csv(path, sep="\t", skiprows=2, encoding="latin-1")
    per_half = raw.groupby("half cycle").agg({"Q charge/mA.h": "max", "Q discharge/mA.h": "max"})
    lith = per_half["Q discharge/mA.h"][per_half["Q discharge/mA.h"] > 0].to_numpy()
    delith = per_half["Q charge/mA.h"][per_half["Q charge/mA.h"] > 0].to_numpy()
    res = ec.quantify_cycling(charact.read(path), electrode="anode")
    assert len(res.cycles) == 4  # MANIFEST: lithiation first, 4 full cycles
    np.testing.assert_allclose([c["discharge_mAh"] for c in res.cycles], lith, rtol=1e-6)
    np.testing.assert_allclose([c["charge_mAh"] for c in res.cycles], delith, rtol=1e-6)
    # MANIFEST: ICE ~80 %; delithiation / lithiation = 2.616 / 3.252 mAh
    assert res.initial_ce == pytest.approx(2.616072 / 3.251960, rel=1e-5)
    # EC-Lab's Efficiency/% pairs charge with the *following* discharge (86.1 % in cycle 1):
    # the anode convention must not reproduce it
    assert raw["Efficiency/%"].max() > 100 and res.initial_ce < 0.81


def test_real_anode_energy_matches_ec_lab_energy_columns():
    pytest.importorskip("galvani")
    from galvani import BioLogic

    path = shared_file("echem", "yadg", "gcpl.pr_182.1.mpr")
    with path.open("rb") as fh:
        d = BioLogic.MPRfile(fh).data
    hc = d["half cycle"]
    e_dis = [d["Energy discharge/W.h"][hc == h].max() * 1e3 for h in (0, 3, 5, 7)]
    e_chg = [d["Energy charge/W.h"][hc == h].max() * 1e3 for h in (2, 4, 6, 8)]
    res = ec.quantify_cycling(charact.read(path), electrode="anode")
    np.testing.assert_allclose([c["discharge_energy_mWh"] for c in res.cycles], e_dis, rtol=1e-6)
    np.testing.assert_allclose([c["charge_energy_mWh"] for c in res.cycles], e_chg, rtol=1e-6)


def test_real_cathode_file_starts_with_partial_discharge():
    pytest.importorskip("galvani")
    ds = charact.read(
        shared_file("echem", "navani", "jdb11-1_c3_gcpl_5cycles_2V-3p8V_C-24_data_C09.mpr")
    )
    res = ec.quantify_cycling(ds, electrode="auto")
    assert res.electrode == "cathode" and "inferred" in res.electrode_source
    assert res.initial_partial_step["direction"] == "discharge"  # MANIFEST: partial discharge
    assert len(res.cycles) == 6  # MANIFEST: 6 charge + 6 discharge half cycles
    ces = [c["coulombic_efficiency"] for c in res.cycles]
    assert all(0.8 < c < 1.0 for c in ces)  # navani's positional pairing reports 4.78


def test_bad_input():
    cols, _ = cycling_record([1.0], [0.9])
    ds = _ds(cols)
    with pytest.raises(InputError, match="electrode must be"):
        ec.quantify_cycling(ds, electrode="cell")
    with pytest.raises(InputError, match="mass_mg must be a positive"):
        ec.quantify_cycling(ds, mass_mg=-1)
    with pytest.raises(InputError, match="reference cycle 5"):
        ec.quantify_cycling(ds, electrode="anode", reference_cycle=5)
    rest = ec.make_cycling_dataset(time_s=[0, 1, 2], voltage_v=[3, 3, 3], current_a=[0, 0, 0])
    with pytest.raises(InputError, match="only rest"):
        ec.quantify_cycling(rest)
    with pytest.raises(charact.CharactError, match="not a finite number at data row 2"):
        ec.make_cycling_dataset(time_s=[0, np.nan], voltage_v=[3, 3], current_a=[0, 0])
    assert len(find_half_cycles(ds)) == 2


def test_symmetric_cell_growth_and_soft_short():
    from charact.echem.synthetic import symmetric_cell_record

    rec = symmetric_cell_record(60, growth_mV_per_h=0.2)
    ds = ec.make_cycling_dataset(
        time_s=rec["time_s"], voltage_v=rec["voltage_v"], current_a=rec["current_a"]
    )
    res = ec.quantify_symmetric_cell(ds)
    assert len(res.half_cycles) == 60
    assert res.growth_mV_per_h == pytest.approx(0.2, rel=0.02)
    assert res.soft_short_at_h is None and not res.flags
    rec = symmetric_cell_record(60, short_at_half_cycle=40)
    ds = ec.make_cycling_dataset(
        time_s=rec["time_s"], voltage_v=rec["voltage_v"], current_a=rec["current_a"]
    )
    res = ec.quantify_symmetric_cell(ds)
    assert res.soft_short_at_h == pytest.approx(40.5, abs=0.5)  # half cycle 40 = 40-41 h
    assert "soft short" in res.flags[0]


def test_result_documents_round_trip(tmp_path):
    from charact.core.store import load_netcdf, save_netcdf

    cols, _ = cycling_record([3.0, 2.2], [2.4, 2.1])
    res = ec.quantify_cycling(_ds(cols), electrode="anode", mass_mg=1.0)
    back = load_netcdf(save_netcdf(res.to_dataset(), tmp_path / "c.nc"))
    np.testing.assert_allclose(back["coulombic_efficiency"], [0.8, 2.1 / 2.2])
    assert back.attrs["electrode"] == "anode"
    doc = res.to_dict()
    assert doc["analysis"] == "echem.cycling"
    assert doc["cycles"][0]["charge_mAh_g"] == pytest.approx(2400)
