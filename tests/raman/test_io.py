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
