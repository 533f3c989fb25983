"""Readers: real files from ../shared/data/echem (values from its MANIFEST.md or from the
instrument's own columns), generated files of known content, and bad input."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

import charact
import charact.echem as ec
from charact.core.errors import AssumptionWarning, CorruptFileError, FormatError, UnknownFormatError
from charact.echem import land
from charact.echem.land import parse_land_time, write_land_xlsx
from charact.echem.synthetic import cycling_record, write_eis_csv, write_gamry_dta
from tests.conftest import shared_file
from tests.echem._helpers import rc_spectrum, write_arbin_xlsx, write_maccor_txt

pytestmark = pytest.mark.filterwarnings("ignore::charact.core.errors.AssumptionWarning")


def _read(*parts: str):
    return charact.read(shared_file("echem", *parts), technique="echem")


# --------------------------------------------------------------------------- BioLogic


def test_mpt_gcpl_normalized_columns_and_units():
    ds = _read("yadg", "gcpl.pr_182.1.mpt")
    assert ds.sizes["record"] == 2533  # MANIFEST: 2533 rows
    for name, units in ec.io.CYCLING_VARIABLES.items():
        assert ds[name].attrs["units"] == units
    assert ds.attrs["measurement_type"] == "cycling"
    assert ds.attrs["capacity_source"] == "instrument increments"


def test_mpr_and_mpt_of_the_same_run_agree():
    pytest.importorskip("galvani")
    a = _read("yadg", "gcpl.pr_182.1.mpr")
    b = _read("yadg", "gcpl.pr_182.1.mpt")
    np.testing.assert_allclose(a["voltage_volt"], b["voltage_volt"], rtol=1e-6)
    np.testing.assert_allclose(a["test_time_second"], b["test_time_second"], rtol=1e-9)
    for v in ("charging_capacity_ampere_hour", "discharging_capacity_ampere_hour"):
        np.testing.assert_allclose(a[v], b[v], rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(a["half_cycle"], b["half_cycle"])


def test_mpr_and_mpt_peis_pair_agree():
    pytest.importorskip("galvani")
    a = _read("yadg", "peis.mpr")
    b = _read("yadg", "peis.mpt")
    assert a.sizes["point"] == b.sizes["point"] == 32  # MANIFEST: 32 points, 200 kHz-1 Hz
    np.testing.assert_allclose(a["frequency"], b["frequency"], rtol=1e-6)
    np.testing.assert_allclose(a["z_imag"], b["z_imag"], rtol=1e-6, atol=1e-9)
    assert a["frequency"].max() == pytest.approx(2e5, rel=1e-3)


def test_mpr_cv_and_multi_spectrum_eis():
    pytest.importorskip("galvani")
    cv = _read("yadg", "cv.issue_217.mpr")  # needs the datalab-org fork (column ID 185)
    assert cv.sizes["record"] == 9353 and cv.attrs["measurement_type"] == "cv"
    assert np.unique(cv["cycle_count"]).size == 11  # MANIFEST: 11 cycles
    eis = _read("yadg", "peis.issue_149.mpr")
    assert eis.sizes["point"] == 84  # MANIFEST: 4 x 21
    assert np.bincount(eis["spectrum"].values).tolist() == [21, 21, 21, 21]
    with pytest.raises(charact.CharactError, match="holds 4 spectra"):
        ec.eis_arrays(eis)


def test_mpt_with_header_naming_an_unwritten_column_reads_mass():
    # EC-Lab wrote 62 names for 61 data columns; the header gives the active mass
    ds = _read("echemistpy", "Biologic_EIS.mpt")
    assert ds.sizes["point"] == 43  # MANIFEST: 43 points
    assert ds.attrs["active_mass_mg"] == pytest.approx(0.264)  # MANIFEST: 0.264 mg
    assert "Im(Z)" in ds.attrs["imag_sign_source"]


def test_missing_galvani_is_a_clear_error(monkeypatch):
    path = shared_file("echem", "yadg", "peis.mpr")
    monkeypatch.setitem(sys.modules, "galvani", None)
    with pytest.raises(FormatError, match=r"charact\[biologic\]") as info:
        ec.read_biologic_mpr(path)
    assert "peis.mpr" in str(info.value)


def test_unknown_column_id_names_the_id_and_file(monkeypatch):
    galvani = pytest.importorskip("galvani")
    from galvani import BioLogic

    def boom(*a, **k):  # galvani's own message for a column it does not know
        raise NotImplementedError("Column ID 9999 after column ID 4 is unknown")

    monkeypatch.setattr(BioLogic, "MPRfile", boom)
    assert galvani
    with pytest.raises(CorruptFileError, match="unknown column ID 9999") as info:
        charact.read(shared_file("echem", "yadg", "peis.mpr"))
    assert "peis.mpr" in str(info.value) and ".mpt" in str(info.value)


def test_truncated_mpr_is_a_corrupt_file_error(tmp_path):
    pytest.importorskip("galvani")
    raw = shared_file("echem", "yadg", "gcpl.pr_182.1.mpr").read_bytes()
    cut = tmp_path / "cut.mpr"
    cut.write_bytes(raw[:5000])
    with pytest.raises(CorruptFileError, match="cut.mpr"):
        charact.read(cut)


def test_mpt_truncated_in_the_middle_and_at_the_end(tmp_path):
    lines = shared_file("echem", "yadg", "peis.mpt").read_text(encoding="latin-1").splitlines()
    end = tmp_path / "end.mpt"
    end.write_text("\n".join([*lines[:-1], lines[-1][:40]]), encoding="latin-1")
    with pytest.warns(AssumptionWarning, match="last line"):
        ds = ec.read_biologic_mpt(end)
    assert ds.sizes["point"] == 31
    mid = tmp_path / "mid.mpt"
    mid.write_text("\n".join([*lines[:-5], lines[-5][:40], *lines[-4:]]), encoding="latin-1")
    with pytest.raises(CorruptFileError, match=r"line \d+: expected \d+ tab-separated"):
        ec.read_biologic_mpt(mid)


# --------------------------------------------------------------------------- others


def test_neware_ndax():
    pytest.importorskip("NewareNDA")
    ds = _read("navani", "test.ndax")
    assert ds.sizes["record"] == 1464  # MANIFEST: 1464 rows, 1 cycle, 1.5-4.4 V
    assert float(ds["voltage_volt"].min()) > 1.4 and float(ds["voltage_volt"].max()) < 4.5


def test_arbin_real_and_generated(tmp_path):
    ds = _read("navani", "bs542_004_gr_li_50ua_50mv_1v_191020_Channel_11.xlsx")
    assert ds.sizes["record"] == 4526  # MANIFEST: 4526 rows, 50 uA
    i = np.abs(ds["current_ampere"].values)
    assert np.median(i[i > 0]) == pytest.approx(50e-6, rel=0.02)
    gen = charact.read(write_arbin_xlsx(tmp_path))
    assert gen.attrs["reader"] == "echem-arbin-xlsx"


def test_maccor_real_file_and_generated(tmp_path):
    with pytest.warns(AssumptionWarning, match="incomplete"):
        ds = _read("cellpy", "maccor_two.txt")  # the shared copy ends mid-line
    assert ds.sizes["record"] == 213
    assert ds.attrs["time_base"] == "min"  # TestTime 0,1,2 … with DPT Time 1 min apart
    gen = charact.read(write_maccor_txt(tmp_path))
    res = ec.quantify_cycling(gen, electrode="anode")
    assert res.cycles[0]["discharge_mAh"] == pytest.approx(1.0, rel=1e-6)
    assert res.cycles[0]["charge_mAh"] == pytest.approx(0.9, rel=1e-6)


def test_land_native_ccs_is_rejected_with_export_hint():
    with pytest.raises(UnknownFormatError, match="unsupported") as info:
        charact.read(shared_file("echem", "echemistpy", "LANHE_GPCL.ccs"))
    assert "export to xlsx" in str(info.value)


# --------------------------------------------------------------------------- LAND


@pytest.mark.parametrize("layout", ["record", "index", "cycle"])
@pytest.mark.parametrize(("iu", "qu"), [("mA", "mAh"), ("uA", "uAh")])
def test_land_layouts_and_units(tmp_path, layout, iu, qu):
    cols, _truth = cycling_record([2.0, 1.8], [1.7, 1.75], current_mA=0.4, points_per_half=15)
    path = write_land_xlsx(
        cols,
        tmp_path / "l.xlsx",
        layout=layout,
        current_unit=iu,
        capacity_unit=qu,
        rows_per_sheet=50,
    )
    ds = charact.read(path)
    assert ds.attrs["reader"] == "echem-land-xlsx" and ds.attrs["land_layout"] == layout
    np.testing.assert_allclose(ds["current_ampere"], cols["current_a"], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(ds["test_time_second"], cols["time_s"], atol=1e-3)
    res = ec.quantify_cycling(ds, electrode="anode")
    got = [(c["discharge_mAh"], c["charge_mAh"]) for c in res.cycles]
    np.testing.assert_allclose(got, [(2.0, 1.7), (1.8, 1.75)], rtol=1e-6)


@pytest.mark.parametrize("layout", ["record", "index", "cycle"])
def test_land_xls_export(tmp_path, layout):
    """LANDdt's .xls exports (where the header-less Record1… continuation sheets come
    from), written here with xlwt from the same documented layout."""
    pytest.importorskip("xlrd")
    pytest.importorskip("xlwt")
    cols, _ = cycling_record([2.0, 1.8], [1.7, 1.75], current_mA=0.4, points_per_half=15)
    path = write_land_xlsx(cols, tmp_path / "l.xls", layout=layout, rows_per_sheet=40)
    ds = charact.read(path)
    assert ds.attrs["reader"] == "echem-land-xls" and ds.attrs["land_layout"] == layout
    np.testing.assert_allclose(ds["test_time_second"], cols["time_s"], atol=1e-3)
    res = ec.quantify_cycling(ds, electrode="anode")
    got = [(c["discharge_mAh"], c["charge_mAh"]) for c in res.cycles]
    np.testing.assert_allclose(got, [(2.0, 1.7), (1.8, 1.75)], rtol=1e-6)


@pytest.mark.parametrize("iu", ["mA", "uA"])
def test_land_csv_export(tmp_path, iu):
    cols, _ = cycling_record([2.0, 1.8], [1.7, 1.75], current_mA=0.4, points_per_half=15)
    path = write_land_xlsx(cols, tmp_path / "l.csv", layout="index", current_unit=iu)
    ds = charact.read(path)
    assert ds.attrs["reader"] == "echem-land-csv" and ds.attrs["land_layout"] == "index"
    np.testing.assert_allclose(ds["current_ampere"], cols["current_a"], rtol=1e-6, atol=1e-12)
    res = ec.quantify_cycling(ds, electrode="anode")
    got = [(c["discharge_mAh"], c["charge_mAh"]) for c in res.cycles]
    np.testing.assert_allclose(got, [(2.0, 1.7), (1.8, 1.75)], rtol=1e-6)
    # a CSV missing the current column names what is missing
    bad = tmp_path / "bad.csv"
    bad.write_text("Index,TestTime,Voltage/V,Capacity/mAh\n1,0:00:01,3.0,0\n", encoding="utf-8")
    with pytest.raises(CorruptFileError, match=r"lacks column\(s\) Current"):
        land.read_land_csv(bad)


def test_land_csv_cut_short_names_the_line(tmp_path):
    # a truncated LAND .csv: the last line is cut mid-row (was "tuple index out of range")
    cols, _ = cycling_record([2.0, 1.8], [1.7, 1.75], current_mA=0.4, points_per_half=15)
    lines = write_land_xlsx(cols, tmp_path / "l.csv", layout="index").read_text().splitlines()
    cut = tmp_path / "cut.csv"
    cut.write_text("\n".join([*lines[:-1], lines[-1][:12]]) + "\n", encoding="utf-8")
    with pytest.raises(
        CorruptFileError, match=rf"line {len(lines)}: expected 11 columns, found \d"
    ):
        land.read_land_csv(cut)


def test_land_xls_damaged_keeps_xlrd_warnings_off_stdout(tmp_path, capsys):
    pytest.importorskip("xlrd")
    pytest.importorskip("xlwt")
    cols, _ = cycling_record([2.0, 1.8], [1.7, 1.75], current_mA=0.4, points_per_half=15)
    raw = write_land_xlsx(cols, tmp_path / "l.xls", layout="record").read_bytes()
    bad = tmp_path / "bad.xls"
    bad.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CorruptFileError, match="not a readable .xls workbook.*xlrd: WARNING"):
        land.read_land_xls(bad)
    assert capsys.readouterr().out == ""


def test_land_time_past_24_hours_and_blanks():
    assert parse_land_time("27:03:04.5") == pytest.approx(27 * 3600 + 184.5)
    assert parse_land_time("1d 02:00:00") == 93600
    assert np.isnan(parse_land_time("-"))
    with pytest.raises(ValueError, match="h:mm:ss"):
        parse_land_time("3 hours")


def _land_sheet(tmp_path, header, rows):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Record"
    ws.append(header)
    for r in rows:
        ws.append(r)
    p = tmp_path / "bad.xlsx"
    wb.save(p)
    return p


def test_land_missing_columns_and_mixed_units(tmp_path):
    p = _land_sheet(tmp_path, ["Record", "Voltage/V", "Capacity/mAh"], [[1, 3.0, 0.0]])
    with pytest.raises(CorruptFileError, match=r"lacks column\(s\) Current/mA\|uA, TestTime"):
        charact.read(p)
    p = _land_sheet(
        tmp_path,
        ["Record", "TestTime", "Current/mA", "Current/uA", "Voltage/V"],
        [[1, "0:00:01", 1.0, 1000.0, 3.0]],
    )
    with pytest.raises(CorruptFileError, match="mixed-unit header"):
        charact.read(p)
    p = _land_sheet(
        tmp_path, ["Record", "TestTime", "Current/kA", "Voltage/V"], [[1, "0:00:01", 1.0, 3.0]]
    )
    with pytest.raises(CorruptFileError, match="unknown unit 'ka'"):
        charact.read(p)


# --------------------------------------------------------------------------- impedance


def test_eis_text_sign_conventions(tmp_path):
    f, z = rc_spectrum()
    a = charact.read(write_eis_csv(f, z, tmp_path / "a.csv"))
    b = charact.read(write_eis_csv(f, z, tmp_path / "b.csv", minus_im=True))
    np.testing.assert_allclose(a["z_imag"], z.imag, rtol=1e-7)
    np.testing.assert_allclose(b["z_imag"], z.imag, rtol=1e-7)
    assert "flipped" in b.attrs["imag_sign_source"]
    # headerless, -Im stored: detected from the majority sign
    np.savetxt(tmp_path / "c.txt", np.column_stack([f, z.real, -z.imag]))
    c = charact.read(tmp_path / "c.txt", technique="echem")
    np.testing.assert_allclose(c["z_imag"], z.imag, rtol=1e-7)
    assert "flipped" in c.attrs["imag_sign_source"]


def test_real_eis_text_files():
    ds = _read("impedance.py", "exampleData.csv")
    assert ds.sizes["point"] == 66  # MANIFEST: 66 points, 9 inductive
    assert int((ds["z_imag"] > 0).sum()) == 9
    lib = _read("pyDRTtools", "LIB_data.txt")
    assert lib.sizes["point"] == 107  # MANIFEST: 107 points, 0.11-0.15 Ohm
    assert 0.11 < float(lib["z_real"].min()) < float(lib["z_real"].max()) < 0.16


@pytest.mark.parametrize(("points_in_tag", "ocv"), [(False, False), (True, True)])
def test_gamry_dta_roundtrip(tmp_path, points_in_tag, ocv):
    """Generated in Gamry Framework's layout (CRLF, ISO-8859-1, EXPLAIN header, ZCURVE table
    with names and units lines, optionally the point count in the tag and an OCVCURVE table
    ahead of it); no public example file exists."""
    f, z = rc_spectrum()
    path = write_gamry_dta(f, z, tmp_path / "x.DTA", points_in_tag=points_in_tag, ocv_curve=ocv)
    assert b"\r\n" in path.read_bytes() and b"\t\xb0\t" in path.read_bytes()  # latin-1 °
    ds = charact.read(path)
    assert ds.attrs["reader"] == "echem-gamry-dta"
    np.testing.assert_allclose(ds["z_real"], z.real, rtol=1e-6)
    np.testing.assert_allclose(ds["z_imag"], z.imag, rtol=1e-6)


def test_eis_bad_input(tmp_path):
    p = tmp_path / "nan.csv"
    p.write_text("freq/Hz,Re,Im\n1000,1,-1\n100,nan,-2\n10,3,-3\n")
    with pytest.raises(CorruptFileError):
        charact.read(p, format="echem-eis-text")
    one = tmp_path / "one.csv"
    one.write_text("freq/Hz,Re(Z)/Ohm,Im(Z)/Ohm\n1000,1,-1\n")
    with pytest.raises(CorruptFileError, match="at least 2 frequencies"):
        charact.read(one, format="echem-eis-text")
    f, z = rc_spectrum()
    with pytest.raises(charact.CharactError, match="every imaginary part is >= 0"):
        ec.check_kramers_kronig((f, np.abs(z.real) + 1j * np.abs(z.imag)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ec.read_eis_text(write_eis_csv(f, z, tmp_path / "ok.csv")).sizes["point"] == f.size
