"""XRD readers on the real instrument files of ../shared/data/xrd and on broken input.

Reference values quoted from ../shared/data/xrd/MANIFEST.md (which cites each file's source
repository) unless said otherwise.
"""

from __future__ import annotations

import math
import zipfile

import numpy as np
import pytest

import charact.xrd  # noqa: F401  (registers the XRD readers)
from charact.core.errors import CorruptFileError, InputError
from charact.core.readers import read
from charact.xrd.io import read_brml, read_bruker_raw, read_gsas_std, read_ras, read_xrdml, read_xy
from charact.xrd.synthetic import (
    CU_KA1,
    ras_text,
    raw4_bytes,
    structure_pattern,
    synthetic_pattern,
    xrdml_multi_text,
    xrdml_text,
)
from tests.conftest import shared_file


def test_brml_psd_scan_kalpha1_only():
    # MANIFEST: D8 DAVINCI, Johansson monochromator, Cu Kα1 1.5406 Å; 10–97.013°, 9227 points.
    da = read(shared_file("xrd", "Si-Std_SRM640d_D8D_20-97_7_16hm.brml"))
    assert da.attrs["reader"] == "xrd-brml"
    assert da.size == 9227
    assert da["two_theta"].values[0] == pytest.approx(10.0)
    assert da["two_theta"].values[-1] == pytest.approx(97.013, abs=1e-3)
    assert da.attrs["wavelength"] == pytest.approx(1.5406)
    assert da.attrs["ka2_ratio"] == 0.0
    assert "Johansson" in da.attrs["radiation_source"]
    assert da.attrs["goniometer_radius_mm"] == pytest.approx(260.0)
    # <Statistics Maximum="177925"> in the file's own header
    assert da.values.max() == pytest.approx(177925)


def test_brml_coupled_scan_five_fields_doublet():
    # MANIFEST: 5 fields per <Datum> (time, ?, 2θ, θ, counts); Kα1+Kα2; 20–155°, 16509 points.
    da = read(shared_file("xrd", "SRM1976b_260105_D8A_20-155_0.008_4s_19hm.brml"))
    assert da.size == 16509
    assert da["two_theta"].values[0] == pytest.approx(20.0)
    assert da["two_theta"].values[1] == pytest.approx(20.0082)
    assert da.values[0] == 2647  # last field of the first <Datum>: 768,1,20,10,2647
    assert da.attrs["ka2_ratio"] == pytest.approx(0.5)
    assert da.attrs["wavelength_ka2"] == pytest.approx(1.54439)


def test_bruker_raw_v4():
    # MANIFEST: LaB6, Bruker RAW1.01; the header holds Cu Kα1/Kα2 and the ratio 0.5.
    da = read(shared_file("xrd", "gsas2tut_LaB6_Jan2018.raw"))
    assert da.attrs["reader"] == "xrd-bruker-raw"
    assert da.size == 3040
    assert da["two_theta"].values[0] == pytest.approx(10.0)
    assert da.attrs["wavelength"] == pytest.approx(1.5406)
    assert da.attrs["wavelength_ka2"] == pytest.approx(1.54439)
    assert da.attrs["ka2_ratio"] == pytest.approx(0.5)
    assert np.all(da.values > 0)


def test_gsas_std_with_prm_beside_it():
    # MANIFEST: 15–130.04°, 5753 points; PRM λ 1.5405/1.5443 Å, Kα2/Kα1 0.5.
    da = read(shared_file("xrd", "gsas2tut_FAP.XRA"))
    assert da.size == 5753
    assert da["two_theta"].values[-1] == pytest.approx(130.04)
    assert da.values[:3].tolist() == [609, 612, 673]
    assert da.attrs["wavelength"] == pytest.approx(1.5405)
    assert da.attrs["wavelength_ka2"] == pytest.approx(1.5443)
    assert da.attrs["ka2_ratio"] == pytest.approx(0.5)
    assert "gsas2tut_INST_XRY.PRM" in da.attrs["radiation_source"]


def test_gsas_without_prm_needs_a_wavelength(tmp_path):
    src = shared_file("xrd", "gsas2tut_FAP.XRA")
    p = tmp_path / "FAP.XRA"
    p.write_bytes(src.read_bytes())
    with pytest.raises(InputError, match="no instrument"):
        read_gsas_std(p)
    da = read_gsas_std(p, wavelength=1.5406)
    assert da.attrs["ka2_ratio"] == 0.0 and "option" in da.attrs["radiation_source"]


def test_gsas_truncated(tmp_path):
    lines = shared_file("xrd", "gsas2tut_FAP.XRA").read_text().splitlines()
    p = tmp_path / "cut.XRA"
    p.write_text("\n".join(lines[:100]) + "\n")
    with pytest.raises(CorruptFileError, match="announces 5753 points"):
        read_gsas_std(p, wavelength=1.5406)


@pytest.mark.parametrize("listed", [False, True])
def test_xrdml_generated(tmp_path, listed):
    da0, _ = structure_pattern({"Si": 1.0}, seed=1)
    p = tmp_path / "g.xrdml"
    p.write_text(xrdml_text(da0, intended="K-Alpha", list_positions=listed), encoding="utf-8")
    da = read(p)
    assert da.attrs["reader"] == "xrd-xrdml"
    np.testing.assert_allclose(da["two_theta"].values, da0["two_theta"].values, atol=1e-5)
    np.testing.assert_allclose(da.values, da0.values)
    assert da.attrs["ka2_ratio"] == pytest.approx(0.5)
    assert da.attrs["goniometer_radius_mm"] == pytest.approx(240.0)


def test_xrdml_kalpha1_intended(tmp_path):
    p = tmp_path / "k1.xrdml"
    p.write_text(xrdml_text(synthetic_pattern({"Si": 1.0})[0], intended="K-Alpha 1"))
    da = read_xrdml(p)
    assert da.attrs["ka2_ratio"] == 0.0 and "Kα1 only" in da.attrs["radiation_source"]


def test_xrdml_broken(tmp_path):
    p = tmp_path / "bad.xrdml"
    text = xrdml_text(synthetic_pattern({"Si": 1.0})[0])
    p.write_text(text[: len(text) // 2])
    with pytest.raises(CorruptFileError, match="malformed XML"):
        read_xrdml(p)
    p.write_text(text.replace("<kAlpha1", "<kAlphaX").replace("</kAlpha1>", "</kAlphaX>"))
    with pytest.raises(CorruptFileError, match="kAlpha1"):
        read_xrdml(p)


def test_ras_generated(tmp_path):
    da0, _ = structure_pattern({"Cu": 1.0}, seed=2)
    p = tmp_path / "g.ras"
    p.write_bytes(ras_text(da0).encode("latin-1"))
    da = read(p)
    assert da.attrs["reader"] == "xrd-ras"
    np.testing.assert_allclose(da.values, da0.values)
    assert da.attrs["ka2_ratio"] == pytest.approx(0.5)


def test_ras_without_data(tmp_path):
    p = tmp_path / "e.ras"
    p.write_text("*RAS_DATA_START\n*RAS_INT_START\n*RAS_INT_END\n")
    with pytest.raises(CorruptFileError, match="no data"):
        read_ras(p)


def test_brml_corrupt_zip(tmp_path):
    src = shared_file("xrd", "Si-Std_SRM640d_D8D_20-97_7_16hm.brml").read_bytes()
    p = tmp_path / "cut.brml"
    p.write_bytes(src[: len(src) // 3])
    with pytest.raises(CorruptFileError):
        read(p)


def test_brml_without_rawdata_and_with_bad_xml(tmp_path):
    p = tmp_path / "empty.brml"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("x/Experiment0/Other.xml", "<a/>")
    with pytest.raises(CorruptFileError, match="RawData"):
        read_brml(p)
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("x/Experiment0/RawData0.xml", "<RawData><Datum>1,1,10,5</Datum>")
    with pytest.raises(CorruptFileError, match="malformed XML"):
        read_brml(p)


def test_raw_truncated(tmp_path):
    src = shared_file("xrd", "gsas2tut_LaB6_Jan2018.raw").read_bytes()
    p = tmp_path / "cut.raw"
    p.write_bytes(src[:5000])
    with pytest.raises(CorruptFileError, match="truncated"):
        read_bruker_raw(p)


def test_plain_text_real_files_carry_no_wavelength():
    # MANIFEST: fityk NaCl / SiC+Zn exports and XRD-AutoAnalyzer Li2CO3+ZrO2: two columns.
    for name, n in (
        ("fityk_nacl01.dat", None),
        ("fityk_SiC_Zn.dat", None),
        ("xrdaa_Li2CO3-ZrO2.xy", 6442),
    ):
        da = read(shared_file("xrd", name), technique="xrd")
        assert da.attrs["reader"] == "xrd-xy"
        assert math.isnan(da.attrs["wavelength"])
        assert da.attrs["radiation_source"].startswith("unknown")
        if n:
            assert da.size == n


def test_xy_wavelength_option_and_bad_input(tmp_path):
    da = read(shared_file("xrd", "fityk_nacl01.dat"), technique="xrd", wavelength=1.54051)
    assert da.attrs["wavelength"] == pytest.approx(1.54051) and da.attrs["ka2_ratio"] == 0
    p = tmp_path / "dup.xy"
    p.write_text("10 1\n10.1 2\n10.1 3\n10.2 4\n10.3 5\n10.4 6\n")
    with pytest.raises(CorruptFileError, match="must increase"):
        read_xy(p)
    e = tmp_path / "empty.xy"
    e.write_text("")
    with pytest.raises(CorruptFileError):
        read_xy(e)


# --------------------------------------------------------------------------- multi-range files


def _two_parts():
    da, _ = structure_pattern({"Si": 1.0}, two_theta=np.arange(20.0, 80.0, 0.02), seed=1)
    x, y = da["two_theta"].values, da.values
    lo = x < 50
    return da, x, y, lo


def test_raw_reads_every_range(tmp_path):
    _, x, y, lo = _two_parts()
    p = tmp_path / "two.raw"
    # Written in reverse 2θ order: the reader joins the ranges by angle.
    p.write_bytes(raw4_bytes([(x[~lo], y[~lo]), (x[lo], y[lo])]))
    both = read(p)
    assert both.attrs["reader"] == "xrd-bruker-raw"
    np.testing.assert_allclose(both["two_theta"].values, x)
    np.testing.assert_allclose(both.values, y.astype(np.float32))
    assert both["range"].attrs["units"] == "1"
    assert set(both["range"].values[lo]) == {2} and set(both["range"].values[~lo]) == {1}
    assert both.attrs["wavelength"] == pytest.approx(CU_KA1)
    one = read(p, scan_range=2)
    np.testing.assert_allclose(one["two_theta"].values, x[lo])
    assert "range" not in one.coords
    with pytest.raises(InputError, match="holds 2 range"):
        read(p, scan_range=3)
    # The same range measured twice: which to analyse is ambiguous.
    rep = tmp_path / "repeat.raw"
    rep.write_bytes(raw4_bytes([(x, y), (x, y)]))
    with pytest.raises(InputError, match="repeat.raw.*overlap"):
        read(rep)
    assert read(rep, scan_range=1).size == x.size
    # A second range cut short is a truncated file, named as such.
    cut = tmp_path / "cut2.raw"
    cut.write_bytes(p.read_bytes()[:-100])
    with pytest.raises(CorruptFileError, match="range 2 needs"):
        read_bruker_raw(cut)


def test_xrdml_reads_every_scan(tmp_path):
    da, x, y, lo = _two_parts()
    n = int(lo.sum())
    p = tmp_path / "two.xrdml"
    p.write_text(
        xrdml_multi_text([da.isel(two_theta=slice(0, n)), da.isel(two_theta=slice(n, None))])
    )
    both = read(p)
    np.testing.assert_allclose(both["two_theta"].values, x, atol=1e-5)
    np.testing.assert_allclose(both.values, y)
    assert list(np.unique(both["range"].values)) == [1, 2]
    assert read(p, scan_range=1).size == n
    rep = tmp_path / "repeat.xrdml"
    rep.write_text(xrdml_multi_text([da, da]))
    with pytest.raises(InputError, match="scans 1 and 2"):
        read(rep)
    assert read(rep, scan_range=2).size == x.size
