"""XPS readers on the real files of ../shared/data/xps and on generated/broken files.

Reference values come from the files themselves (headers, CASA comment lines, the Avantage
Quantifications sheet) and from ../shared/data/xps/MANIFEST.md, as each test says.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import charact.xps  # noqa: F401  (registers the readers)
from charact.core.errors import CorruptFileError, InputError
from charact.core.readers import read
from charact.xps.io import get_region, parse_casa_comments, region_names, vendor_fit, write_vamas
from charact.xps.synthetic import synthetic_depth_profile
from tests.conftest import shared_file


def _regions(ds):
    return region_names(ds)


def test_kratos_vamas_with_leading_blank_lines_and_kinetic_energy():
    # MANIFEST: 0-150W.vms starts with two blank CRLF lines; Kratos AXIS Supra, Al Ka mono
    # 1486.69 eV, regions wide, Ni 2p, O 1s, C 1s, W 4f, sample "Ni-W", kinetic-energy axis.
    ds = read(shared_file("xps", "lg4x_examples", "0-150W.vms"))
    assert ds.attrs["reader"] == "xps-vamas"
    assert _regions(ds) == ["wide", "Ni2p", "O1s", "C1s", "W4f"]
    c1s = ds["C1s"]
    assert c1s.attrs["sample"] == "Ni-W"
    assert c1s.attrs["excitation_energy_eV"] == pytest.approx(1486.69, abs=0.01)
    assert "kinetic" in c1s.attrs["abscissa"]
    be = ds[c1s.dims[1]].values
    # C 1s window measured in KE, converted with BE = hv - KE: a 270-300 eV BE window
    assert be.min() == pytest.approx(270.0, abs=0.5) and be.max() == pytest.approx(300.0, abs=0.5)
    spec = get_region(ds, "c1s")
    assert spec.dims == ("binding_energy",) and spec.attrs["units"] == "counts"


def test_multipak_npl_binding_energy_counts_per_second():
    # MANIFEST: MultiPak VAMAS export (.npl), C 1s, O 1s, S 2p, N 1s, Mo 3d, BE abscissa, c/s.
    ds = read(shared_file("xps", "lg4x_examples", "Mutlipak_vms.npl"))
    assert _regions(ds) == ["C1s", "O1s", "S2p", "N1s", "Mo3d"]
    assert ds["C1s"].attrs["abscissa"] == "binding energy"
    assert ds["C1s"].attrs["units"] == "counts/s"
    assert ds["C1s"].attrs["excitation_energy_eV"] == pytest.approx(1486.6)
    assert ds["C1s"].attrs["pass_energy_eV"] > 0


def test_casaxps_feo_irregular_block_and_processing_lines():
    # MANIFEST: SPECS FeO, Fe 2p in IRREGULAR mode, CasaXPS "U 3 Tougaard" background and 4
    # components stored in CASA comment lines. Values below are those lines' numbers.
    ds = read(shared_file("xps", "pynxtools_xps", "FeO_analyzed.vms"))
    assert _regions(ds) == ["Fe2p"]
    fe = ds["Fe2p"]
    assert fe.attrs["excitation_energy_eV"] == pytest.approx(1486.61)
    be = ds[fe.dims[1]].values
    assert be.size == 1121 and be.min() == pytest.approx(694.0, abs=0.01)
    casa = json.loads(fe.attrs["casa_processing"])[0]
    assert casa["regions"][0]["background"] == "U 3 Tougaard"
    comps = casa["components"]
    assert [c["lineshape"] for c in comps] == [
        "LF(0.54,10,80,100,6)",
        "SGL(30)",
        "LF(0.54,10,80,100,6)",
        "SGL(30)",
    ]
    # positions are stored in KE; BE = 1486.61 - KE
    assert comps[0]["position"] == pytest.approx(777.56313)
    assert comps[0]["position_be"] == pytest.approx(1486.61 - 777.56313)
    assert comps[0]["area"] == pytest.approx(63507.374)
    assert comps[1]["fwhm"] == pytest.approx(8.0)
    # The published CasaXPS results (FeO_analyzed_results.csv) give the main Fe 2p3/2 line at
    # 709.03 eV; the stored component is within 0.02 eV of it.
    assert comps[0]["position_be"] == pytest.approx(709.03, abs=0.02)


def test_specs_regular_and_irregular_surveys():
    # MANIFEST: regular.vms and irregular.vms, the same MgFe2O4 survey, REGULAR/IRREGULAR.
    reg = read(shared_file("xps", "pynxtools_xps", "regular.vms"))
    irr = read(shared_file("xps", "pynxtools_xps", "irregular.vms"))
    a = get_region(reg, _regions(reg)[0])
    b = get_region(irr, _regions(irr)[0])
    assert a.sizes["binding_energy"] == b.sizes["binding_energy"] == 1351
    assert float(a.binding_energy.max()) == pytest.approx(1350.0, abs=0.01)
    # the Prodigy export fills the IRREGULAR block's identifier with "Counts per Second";
    # the region is named by its species label, as in the REGULAR file
    assert _regions(reg) == _regions(irr) == ["Survey"]
    # the same survey: counts in 0.1 s steps (REGULAR) and counts per second (IRREGULAR,
    # 1 s); per unit time they agree point by point
    assert reg["Survey"].attrs["dwell_s"] == 0.1 and irr["Survey"].attrs["dwell_s"] == 1.0
    np.testing.assert_allclose(a.values / 0.1, b.values, rtol=1e-6)
    # pynxtools-xps 0.6.3 (VamasParser, intensities divided by the dwell time) gives the sum
    # 31883020.89 c/s for both files (read on 2026-11-28 in a separate environment)
    assert float(b.values.sum()) == pytest.approx(31883020.89, rel=1e-9)


def test_avantage_csv_reads_vendor_fit():
    # MANIFEST: TFSI on Au, Avantage CSV, hv = 1486.6 eV, 0.125 eV steps; F 1s has CF3 at
    # about 688.8 eV and a metal-fluoride component at about 685.7 eV.
    ds = read(shared_file("xps", "theoechem_TFSI_IL_on_Au", "20240228_Au_MPPipTFSIIol3_F_1s.csv"))
    assert ds.attrs["reader"] == "xps-avantage-csv"
    f1s = ds["F1s"]
    assert f1s.attrs["excitation_energy_eV"] == pytest.approx(1486.6)
    assert np.allclose(np.diff(ds[f1s.dims[1]].values), 0.125)
    comps = vendor_fit(ds, "F1s")
    assert len(comps) == 2
    assert comps[0]["be"] == pytest.approx(688.8, abs=0.1)
    assert comps[1]["be"] == pytest.approx(685.7, abs=0.1)
    assert ds["F1s__background"].attrs["role"] == "vendor_background"


def test_avantage_xlsx_vendor_curves_match_its_quantification_sheet():
    # The workbook's own Quantifications sheet (peak BE, FWHM, area) is the reference; the
    # components measured from the exported curves must agree with it.
    ds = read(shared_file("xps", "kherve_hard_carbon_thermo", "Hard_carbon_Thermo.xlsx"))
    assert _regions(ds) == ["Survey", "O1s", "Na1s", "C1s", "CKLL"]
    quant = {q["name"].strip(): q for q in json.loads(ds.attrs["vendor_quantification"])}
    assert quant["C1s sp2 C"]["atomic_percent"] == pytest.approx(80.23)
    for comp in vendor_fit(ds, "C1s"):
        name = comp["name"].replace("Shake up", "Shake up sat")
        q = quant[name]
        assert comp["be"] == pytest.approx(q["peak_be_eV"], abs=0.02), name
        assert comp["fwhm"] == pytest.approx(q["fwhm_eV"], abs=0.03), name
        # the export is cut at the region's ends, so the tail of the sharp sp2 line is lost
        assert comp["area"] == pytest.approx(q["area_cps_eV"], rel=0.005), name


def test_plain_text_pet():
    # MANIFEST: PET_C1s.csv, 401 points, 0.05 eV steps, columns BE/eV and intensity.
    ds = read(shared_file("xps", "lg4x_examples", "PET_C1s.csv"))
    assert ds.attrs["reader"] == "xps-text"
    assert _regions(ds) == ["C1s"]
    spec = get_region(ds, "C1s")
    assert spec.sizes["binding_energy"] == 401
    assert np.allclose(np.diff(spec.binding_energy.values), 0.05)


def test_phi_spe_and_depth_profile_pro():
    # MANIFEST: PHI VersaProbe 4, Al Ka mono 1486.6 eV, ~10 nm SnO2 on Si; the .pro is a GCIB
    # sputter profile with 21 data cycles; regions Su1s (0-1400), C1s (278-298), Si2p
    # (94-114), Sn3d5 (480-500); 0.2 eV steps, pass energy 55 eV.
    spe = read(shared_file("xps", "pynxtools_xps", "SnO2_10nm.spe"))
    assert spe.attrs["reader"] == "xps-phi" and region_names(spe) == ["Survey"]
    pro = read(shared_file("xps", "pynxtools_xps", "SnO2_10nm_1.pro"))
    assert region_names(pro) == ["Survey", "C1s", "Si2p", "Sn3d5"]
    assert pro.sizes["etch_level"] == 21
    np.testing.assert_allclose(pro["etch_time"].values, np.arange(21) * 30.0)
    si = pro["Si2p"]
    assert si.attrs["pass_energy_eV"] == 55.0 and si.attrs["excitation_energy_eV"] == 1486.6
    x = pro[si.dims[1]].values
    assert (x.min(), x.max()) == (94.0, 114.0) and np.allclose(np.diff(x), 0.2)
    # physics of a SnO2 film on Si: the Si 2p signal grows with sputter time, Sn 3d5 falls
    # after the first cycles and adventitious C 1s drops after the first etch
    height = {k: np.ptp(pro[k].values, axis=1) for k in ("C1s", "Si2p", "Sn3d5")}
    assert height["Si2p"][-1] > 5 * height["Si2p"][0]
    assert height["Sn3d5"][-1] < 0.6 * height["Sn3d5"].max()
    assert height["C1s"][1] < 0.5 * height["C1s"][0]


def test_phi_reader_agrees_with_pynxtools_xps():
    # Reference values read from the same files with pynxtools-xps 0.6.3 (FAIRmat-NFDI's
    # maintained PHI parser, Apache-2.0; PHIParser().parse(file), ._data[region].data), in a
    # separate environment on 2026-11-28: it is not a dependency (~70 packages, 800 MB).
    # Per region the sum over all 21 cycles and a few single values; charact's arrays were
    # identical to those of pynxtools-xps element by element on both files.
    pro = read(shared_file("xps", "pynxtools_xps", "SnO2_10nm_1.pro"))
    sums = {
        "Survey": 2202633437.264633,
        "C1s": 5636899.277099609,
        "Si2p": 7354895.628417969,
        "Sn3d5": 57596650.0,
    }
    for region, total in sums.items():
        assert float(pro[region].values.sum()) == pytest.approx(total, rel=1e-12)

    def at(region: str, level: int, be: float) -> float:
        da = pro[region]
        return float(da.isel(etch_level=level).sel({da.dims[1]: be}).values)

    # pynxtools-xps C1s cycle 0 at 298.0 / 297.8 eV, cycle 10 at 288.0, cycle 20 at 278.0;
    # Sn3d5 cycle 0 at 500.0 / 499.8 eV, cycle 5 at 488.0, cycle 20 at 494.0
    assert at("C1s", 0, 298.0) == pytest.approx(3325.00024414, rel=1e-9)
    assert at("C1s", 0, 297.8) == pytest.approx(3322.50024414, rel=1e-9)
    assert at("C1s", 10, 288.0) == pytest.approx(2565.000244140625, rel=1e-9)
    assert at("C1s", 20, 278.0) == pytest.approx(2175.000244140625, rel=1e-9)
    assert at("Sn3d5", 0, 500.0) == pytest.approx(13212.5, rel=1e-9)
    assert at("Sn3d5", 0, 499.8) == pytest.approx(12862.5, rel=1e-9)
    assert at("Sn3d5", 5, 488.0) == pytest.approx(7575.0, rel=1e-9)
    assert at("Sn3d5", 20, 494.0) == pytest.approx(47712.5, rel=1e-9)
    spe = read(shared_file("xps", "pynxtools_xps", "SnO2_10nm.spe"))
    survey = spe["Survey"]
    assert float(survey.values.sum()) == pytest.approx(116666211.58277893, rel=1e-12)
    # pynxtools-xps lists the survey from 1400 eV down: its point 100 is at 1320 eV
    assert float(survey.sel({survey.dims[-1]: 1320.0}).values.ravel()[0]) == pytest.approx(
        57241.66796875, rel=1e-9
    )


def test_truncated_phi_file(tmp_path):
    raw = shared_file("xps", "pynxtools_xps", "SnO2_10nm_1.pro").read_bytes()
    cut = tmp_path / "cut.pro"
    cut.write_bytes(raw[: len(raw) - 5000])
    with pytest.raises(CorruptFileError, match="runs past the end"):
        read(cut)


def test_write_vamas_round_trip_keeps_levels_and_etch_times(tmp_path):
    ds, _ = synthetic_depth_profile(etch_times=(0.0, 60.0, 120.0), shifts=(0.0, 0.2, 0.4))
    back = read(write_vamas(ds, tmp_path / "p.vms"))
    assert region_names(back) == ["C1s", "F1s", "Li1s"]
    np.testing.assert_allclose(back["etch_time"].values, [0, 60, 120])
    for key in ("C1s", "F1s", "Li1s"):
        np.testing.assert_allclose(back[key].values, ds[key].values, rtol=1e-6)


def test_sputter_depth_profile_mode_sdp(tmp_path):
    # ISO 14976 depth-profile mode adds sputtering-ion and sputtering-source entries per block
    ds, _ = synthetic_depth_profile(etch_times=(0.0, 30.0), shifts=(0.0, 0.1))
    back = read(
        write_vamas(ds, tmp_path / "sdp.vms", experiment_mode="SDP", sputter_energy_eV=1000.0)
    )
    assert json.loads(back.attrs["original_metadata"])["experiment_mode"] == "SDP"
    np.testing.assert_allclose(back["etch_time"].values, [0.0, 30.0])
    np.testing.assert_allclose(back["Li1s"].values, ds["Li1s"].values, rtol=1e-6)
    blocks = json.loads(back["C1s"].attrs["blocks"])
    assert blocks[1]["sputter_energy_eV"] == 1000.0


# --------------------------------------------------------------------------- bad input


def _synthetic_vamas(tmp_path):
    ds, _ = synthetic_depth_profile(etch_times=(0.0, 60.0), shifts=(0.0, 0.0))
    return write_vamas(ds, tmp_path / "p.vms")


def test_truncated_vamas_block_names_the_block(tmp_path):
    src = _synthetic_vamas(tmp_path)
    text = src.read_text()
    cut = tmp_path / "cut.vms"
    cut.write_text(text[: len(text) // 2])
    with pytest.raises(CorruptFileError, match=r"cut\.vms.*(truncated|ends early)"):
        read(cut)


def test_vamas_block_count_mismatch(tmp_path):
    lines = _synthetic_vamas(tmp_path).read_text().splitlines()
    i = lines.index("Etch Time") + 6  # header: ... "s", 4 zeros, then the block count
    assert lines[i] == "6"
    for count, message in (("5", "block count does not match"), ("7", "ends early")):
        lines[i] = count
        bad = tmp_path / f"count{count}.vms"
        bad.write_text("\r\n".join(lines))
        with pytest.raises(CorruptFileError, match=message):
            read(bad)


def test_vamas_unknown_abscissa_units_and_label(tmp_path):
    text = _synthetic_vamas(tmp_path).read_bytes().decode()
    bad = tmp_path / "units.vms"
    bad.write_bytes(text.replace("Binding Energy\r\neV", "Binding Energy\r\nmm", 1).encode())
    with pytest.raises(CorruptFileError, match="in 'mm'; expected eV"):
        read(bad)
    bad2 = tmp_path / "label.vms"
    bad2.write_bytes(text.replace("Binding Energy\r\neV", "Sputter Depth\r\neV", 1).encode())
    with pytest.raises(CorruptFileError, match="unknown abscissa 'Sputter Depth'"):
        read(bad2)


def test_not_vamas_and_unknown_region(tmp_path):
    p = tmp_path / "x.vms"
    p.write_text("hello\n1\n2\n")
    with pytest.raises(CorruptFileError):
        read(p, format="xps-vamas")
    ds, _ = synthetic_depth_profile(etch_times=(0.0,), shifts=(0.0,))
    with pytest.raises(InputError, match="regions are C1s, F1s, Li1s"):
        get_region(ds, "O1s")


def test_parse_casa_comments_in_binding_energy():
    lines = [
        "CASA region (*C 1s*) (*Shirley*) 280 295 1 2 0 0 0 0 0 0 (*C 1s*) 12 0 1",
        "CASA comp (*C-C*) (*GL(30)*) Area 100 0 1e5 -1 1 MFWHM 1.2 0.5 2 -1 1 "
        "Position 284.8 284 286 -1 1 RSF 1 MASS 12 INDEX -1 (*C 1s*) CONST (**) "
        "UNCORRECTEDRSF 1",
    ]
    out = parse_casa_comments(lines)
    assert out["regions"][0]["background"] == "Shirley"
    comp = out["components"][0]
    assert (comp["name"], comp["lineshape"]) == ("C-C", "GL(30)")
    assert comp["position_be"] == pytest.approx(284.8)
    assert comp["constraints"]["MFWHM"] == [0.5, 2.0]
