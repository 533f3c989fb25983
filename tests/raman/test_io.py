"""Raman readers: two-column spectra, long and wide map exports, and their bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

import charact
from charact.core.errors import CorruptFileError, InputError
from charact.raman.io import read_map_long, read_map_wide, write_map_long, write_map_wide
from charact.raman.synthetic import synthetic_map
from tests.conftest import shared_file


def test_real_spectra_are_read_as_documented():
    # MANIFEST.md: 1600 points, -95.8 to 3650.4 cm^-1 (Si) and -94.7 to 3651.3 (DW38C), ascending
    si = charact.read(shared_file("raman", "ramanfitting_Si_spectrum01.txt"), technique="raman")
    assert si.attrs["reader"] == "raman-text"
    assert si.sizes["raman_shift"] == 1600
    assert si["raman_shift"].values[0] == pytest.approx(-95.8, abs=0.05)
    assert si["raman_shift"].values[-1] == pytest.approx(3650.4, abs=0.05)
    assert si.attrs["laser_wavelength_source"] == "unknown"  # MANIFEST: laser not stated
    c = charact.read(shared_file("raman", "ramanfitting_testDW38C_pos3.txt"))
    assert c.attrs["reader"] == "raman-text"
    assert c["raman_shift"].values[0] == pytest.approx(-94.7, abs=0.05)


def test_laser_wavelength_from_header_or_option(tmp_path):
    p = tmp_path / "s.txt"
    x = np.arange(100, 2000, 2.0)
    p.write_text("#Laser wavelength: 633 nm\n" + "\n".join(f"{a}\t{a / 10}" for a in x))
    assert charact.read(p).attrs["laser_wavelength"] == 633
    q = tmp_path / "t.txt"
    q.write_text("\n".join(f"{a}\t{a / 10}" for a in x[::-1]))  # descending axis
    da = charact.read(q, technique="raman", laser_wavelength=785)
    assert (da.attrs["laser_wavelength"], da.attrs["laser_wavelength_source"]) == (785, "option")


def test_map_round_trip_long_and_wide_with_missing_pixels(tmp_path):
    cube, _truth = synthetic_map(3, 4, missing=2, raman_shift=np.linspace(300, 1900, 200))
    long = charact.read(write_map_long(cube, tmp_path / "long.txt"))
    wide = charact.read(write_map_wide(cube, tmp_path / "wide.txt"))
    for da, name in ((long, "raman-map-long"), (wide, "raman-map-wide")):
        assert da.attrs["reader"] == name
        assert da.dims == ("y", "x", "raman_shift")
        assert da["x"].attrs["units"] == "µm" and da["raman_shift"].attrs["units"] == "cm^-1"
        assert da.attrs["missing_pixels"] == 2
        np.testing.assert_allclose(da.values, cube.values, atol=1e-3)  # NaN where missing
        np.testing.assert_allclose(da["x"].values, cube["x"].values)


def test_map_bad_inputs(tmp_path):
    cube, _ = synthetic_map(2, 3, raman_shift=np.linspace(300, 1900, 50))
    path = write_map_long(cube, tmp_path / "m.txt")
    lines = path.read_text().splitlines()
    cut = tmp_path / "cut.txt"
    cut.write_text("\n".join(lines[:-7]) + "\n")  # truncated: last pixel lacks shifts
    with pytest.raises(CorruptFileError, match="has 43 of 50 shifts"):
        read_map_long(cut)
    dup = tmp_path / "dup.txt"
    dup.write_text("\n".join(lines + lines[1:51]) + "\n")
    with pytest.raises(CorruptFileError, match="more than once"):
        read_map_long(dup)
    wide = write_map_wide(cube, tmp_path / "w.txt")
    rows = wide.read_text().splitlines()
    bad = tmp_path / "bad.txt"
    bad.write_text("\n".join([*rows[:2], rows[2].rsplit("\t", 1)[0]]) + "\n")
    with pytest.raises(CorruptFileError, match="line 3: expected 52 values"):
        read_map_wide(bad)
    with pytest.raises(InputError, match="dims"):
        write_map_long(cube.isel(y=0), tmp_path / "x.txt")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("", "no rows of numbers"),
        ("1\n2\n3\n4\n5\n6\n", "at least 2 numeric columns"),
        ("100\t1\n101\t2\n", "only 2 rows"),
    ],
)
def test_spectrum_bad_files(tmp_path, content, match):
    p = tmp_path / "bad.txt"
    p.write_text(content)
    with pytest.raises(CorruptFileError, match=match) as info:
        charact.read(p, format="raman-text")
    assert "bad.txt" in str(info.value)


def test_duplicated_or_unsorted_shifts_are_rejected(tmp_path):
    p = tmp_path / "dup.txt"
    p.write_text("\n".join(["100\t1", "101\t2", "101\t3", "102\t4", "103\t5", "104\t6"]))
    with pytest.raises(CorruptFileError, match="not strictly monotonic: data row 3"):
        charact.read(p, format="raman-text")


def test_nan_rows_are_errors_not_a_silent_end_of_data(tmp_path):
    p = tmp_path / "nan.txt"
    rows = [f"{100 + k}\t{k}" for k in range(20)]
    rows[12] = "112\tNaN"
    p.write_text("\n".join(rows) + "\n")
    with pytest.raises(CorruptFileError, match="line 13: non-finite value"):
        charact.read(p, format="raman-text")


def test_spc_round_trip_and_integer_scaled_y(tmp_path):
    import struct

    from charact.raman.io import read_spc, write_spc
    from charact.raman.synthetic import si_carbon_spectrum

    da, _ = si_carbon_spectrum("pristine")
    for explicit_x in (False, True):
        p = write_spc(
            da, tmp_path / f"s{explicit_x}.spc", comment="laser 785 nm", x_values=explicit_x
        )
        back = charact.read(p)
        assert back.attrs["reader"] == "raman-spc"
        np.testing.assert_allclose(back["raman_shift"], da["raman_shift"], atol=1e-4)
        np.testing.assert_allclose(back.values, da.values, rtol=1e-6)  # float32 storage
        assert back.attrs["laser_wavelength"] == 785  # from the comment field
    # 32-bit integer Y scaled by 2^exp / 2^32 (Galactic fixed-point form): exp = 20
    raw = bytearray((tmp_path / "sFalse.spc").read_bytes())
    raw[3] = 20
    n = da.sizes["raman_shift"]
    ints = np.round(da.values / 2.0 ** (20 - 32)).astype("<i4")
    raw[544 : 544 + 4 * n] = ints.tobytes()
    q = tmp_path / "int.spc"
    q.write_bytes(bytes(raw))
    np.testing.assert_allclose(read_spc(q).values, da.values, atol=2.0**-12)
    with pytest.raises(CorruptFileError, match=r"truncated: 1900 Y values"):
        cut = tmp_path / "cut.spc"
        cut.write_bytes(bytes(raw[:2000]))
        read_spc(cut)
    old = tmp_path / "old.spc"
    old.write_bytes(bytes([0, 0x4D]) + bytes(600))
    with pytest.raises(CorruptFileError, match="old-format SPC"):
        charact.read(old)
    multi = bytearray(raw)
    multi[0] = 0x04
    struct.pack_into("<i", multi, 24, 3)
    (tmp_path / "multi.spc").write_bytes(bytes(multi))
    with pytest.raises(CorruptFileError, match="multi-spectrum SPC"):
        read_spc(tmp_path / "multi.spc")


# --------------------------------------------------------------------------- vendor formats


def _map_truth(ny=3, nx=4, n=200):
    cube, _ = synthetic_map(ny, nx, raman_shift=np.linspace(300, 1900, n), seed=3)
    yy, xx = np.meshgrid(cube["y"].values, cube["x"].values, indexing="ij")
    return cube, cube.values.reshape(-1, n), xx.ravel(), yy.ravel()


def test_wdf_single_spectrum_keeps_values_axis_and_laser(tmp_path):
    pytest.importorskip("wdf")
    from charact.raman.synthetic import si_carbon_spectrum
    from tests.raman.vendor_files import write_wdf

    da, _ = si_carbon_spectrum("pristine")
    p = write_wdf(tmp_path / "s.wdf", da["raman_shift"].values, da.values[None], laser_nm=785.0)
    back = charact.read(p)
    assert back.attrs["reader"] == "raman-wdf"
    assert back.dims == ("raman_shift",)
    # stored as float32, high to low (WiRE order): read back ascending
    np.testing.assert_allclose(back["raman_shift"].values, da["raman_shift"].values, atol=1e-4)
    np.testing.assert_allclose(back.values, da.values, rtol=1e-6)
    # header laser wavenumber 1e7/785 cm^-1 -> 785 nm
    assert back.attrs["laser_wavelength"] == pytest.approx(785.0, abs=0.01)
    assert back.attrs["laser_wavelength_source"] == "file"


def test_wdf_map_grid_from_stage_positions_and_interrupted_map(tmp_path):
    pytest.importorskip("wdf")
    from tests.raman.vendor_files import write_wdf

    cube, flat, xs, ys = _map_truth()
    # shuffled acquisition order: the grid must come from the ORGN X/Y, not from the order
    perm = np.random.default_rng(0).permutation(len(xs))
    p = write_wdf(
        tmp_path / "m.wdf",
        cube["raman_shift"].values,
        flat[perm],
        xy_um=(xs[perm], ys[perm]),
        map_shape=(3, 4),
        ncollected=10,  # an interrupted map: the last two spectra were never collected
    )
    back = charact.read(p)
    assert back.dims == ("y", "x", "raman_shift")
    assert back.attrs["missing_pixels"] == 2
    np.testing.assert_allclose(back["x"].values, cube["x"].values)
    np.testing.assert_allclose(back["y"].values, cube["y"].values)
    want = cube.values.copy()
    for k in perm[10:]:
        want[np.unravel_index(k, (3, 4))] = np.nan
    np.testing.assert_allclose(back.values, want, rtol=1e-6)
    assert back.attrs["laser_wavelength"] == pytest.approx(532.0, abs=0.01)


def test_wdf_bad_files(tmp_path):
    pytest.importorskip("wdf")
    from tests.raman.vendor_files import write_wdf

    cube, flat, xs, ys = _map_truth()
    shift = cube["raman_shift"].values
    with pytest.raises(CorruptFileError, match="truncated DATA block"):
        charact.read(write_wdf(tmp_path / "cut.wdf", shift, flat, xy_um=(xs, ys), truncate=900))
    with pytest.raises(CorruptFileError, match="without X/Y stage positions"):
        charact.read(write_wdf(tmp_path / "series.wdf", shift, flat))
    xd, yd = xs.copy(), ys.copy()
    xd[1], yd[1] = xd[0], yd[0]  # two spectra at one stage position
    with pytest.raises(CorruptFileError, match="holds 2 spectra"):
        charact.read(write_wdf(tmp_path / "dup.wdf", shift, flat, xy_um=(xd, yd)))
    with pytest.raises(CorruptFileError, match="expected Raman shift"):
        charact.read(write_wdf(tmp_path / "ev.wdf", shift, flat[:1], x_unit=4))
    bad = tmp_path / "bad.wdf"
    bad.write_bytes(b"WDF1" + bytes(100))
    with pytest.raises(CorruptFileError, match="bad.wdf"):
        charact.read(bad)


def test_wdf_axis_in_nm_is_converted_with_the_laser(tmp_path):
    pytest.importorskip("wdf")
    from tests.raman.vendor_files import write_wdf

    shift = np.linspace(100.0, 2000.0, 300)
    nm = 1e7 / (1e7 / 532.0 - shift)  # scattered wavelength of each shift for a 532 nm laser
    y = np.exp(-(((shift - 520.0) / 5) ** 2))
    back = charact.read(write_wdf(tmp_path / "nm.wdf", nm, y[None], x_unit=3))
    np.testing.assert_allclose(back["raman_shift"].values, shift, atol=0.02)


def test_labspec_xml_spectrum_and_map(tmp_path):
    pytest.importorskip("rsciio")
    from charact.raman.synthetic import si_carbon_spectrum
    from tests.raman.vendor_files import write_labspec_xml

    da, _ = si_carbon_spectrum("cycled-100")
    p = write_labspec_xml(tmp_path / "s.xml", da["raman_shift"].values, da.values, laser_nm=532.1)
    back = charact.read(p)
    assert back.attrs["reader"] == "raman-labspec-xml"
    np.testing.assert_allclose(back["raman_shift"].values, da["raman_shift"].values, atol=1e-5)
    np.testing.assert_allclose(back.values, da.values, atol=1e-4)  # 4 decimals in the file
    assert back.attrs["laser_wavelength"] == pytest.approx(532.1)
    cube, flat, _, _ = _map_truth()
    q = write_labspec_xml(
        tmp_path / "m.xml",
        cube["raman_shift"].values,
        flat,
        xs=cube["x"].values,
        ys=cube["y"].values,
    )
    m = charact.read(q)
    assert m.dims == ("y", "x", "raman_shift") and m.shape == cube.shape
    np.testing.assert_allclose(m.values, cube.values, atol=1e-4)
    np.testing.assert_allclose(m["x"].values, cube["x"].values)


def test_labspec_xml_bad_files(tmp_path):
    bomb = tmp_path / "bomb.xml"
    bomb.write_text(
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>'
        "<LSX_Root><LSX_Tree/><LSX_Matrix><LSX_Row>&b;</LSX_Row></LSX_Matrix></LSX_Root>"
    )
    with pytest.raises(CorruptFileError, match="refused unsafe XML"):
        charact.read(bomb, format="raman-labspec-xml")
    other = tmp_path / "other.xml"
    other.write_text("<root><a>1</a></root>")
    with pytest.raises(CorruptFileError, match="LSX_Tree and LSX_Matrix"):
        charact.read(other, format="raman-labspec-xml")


def test_vendor_readers_name_the_missing_package(tmp_path, monkeypatch):
    import builtins

    from charact.core.errors import FormatError
    from charact.raman.synthetic import si_carbon_spectrum
    from tests.raman.vendor_files import write_labspec_xml, write_wdf

    da, _ = si_carbon_spectrum("pristine")
    w = write_wdf(tmp_path / "s.wdf", da["raman_shift"].values, da.values[None])
    x = write_labspec_xml(tmp_path / "s.xml", da["raman_shift"].values, da.values)
    real = builtins.__import__

    def no_vendor(name, *args, **kwargs):
        if name.split(".")[0] in ("wdf", "rsciio"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_vendor)
    with pytest.raises(FormatError, match="renishaw-wdf"):
        charact.read(w)
    with pytest.raises(FormatError, match="raman-vendor") as err:
        charact.read(x)
    assert "rosettasciio" in str(err.value)


@pytest.mark.parametrize("cut", [1, 8, 40, 100, 300, 1000, 1500, 2000])
def test_wdf_truncated_anywhere_is_a_corrupt_file_naming_it(tmp_path, cut):
    # a .wdf cut short at any point (inside WMAP, ORGN, DATA or XLST) is a CorruptFileError
    # naming the file, never a bare struct.error from inside renishaw-wdf
    pytest.importorskip("wdf")
    from tests.raman.vendor_files import write_wdf

    cube, flat, xs, ys = _map_truth()
    shift = cube["raman_shift"].values
    p = write_wdf(tmp_path / "cut.wdf", shift, flat, xy_um=(xs, ys), map_shape=(3, 4), truncate=cut)
    with pytest.raises(CorruptFileError, match="cut.wdf"):
        charact.read(p)


def test_wdf_struct_error_from_the_accessor_is_a_corrupt_file(tmp_path, monkeypatch):
    # the generic net in charact.read: a struct.error raised by a reader becomes CorruptFileError
    import struct
    import types

    pytest.importorskip("wdf")
    from charact.raman import _vendor
    from charact.raman.synthetic import si_carbon_spectrum
    from tests.raman.vendor_files import write_wdf

    da, _ = si_carbon_spectrum("pristine")
    p = write_wdf(tmp_path / "s.wdf", da["raman_shift"].values, da.values[None])

    def boom(*a, **k):
        raise struct.error("unpack requires a buffer of 8 bytes")

    monkeypatch.setattr(_vendor, "_import_wdf", lambda path: types.SimpleNamespace(Wdf=boom))
    with pytest.raises(CorruptFileError, match=r"s\.wdf.*unpack requires a buffer"):
        charact.read(p)


def test_wdf_map_with_no_spectra_collected_is_refused(tmp_path):
    pytest.importorskip("wdf")
    from tests.raman.vendor_files import write_wdf

    cube, flat, xs, ys = _map_truth()
    p = write_wdf(
        tmp_path / "empty.wdf",
        cube["raman_shift"].values,
        flat,
        xy_um=(xs, ys),
        map_shape=(3, 4),
        ncollected=0,
    )
    with pytest.raises(CorruptFileError, match="no spectra collected"):
        charact.read(p)
