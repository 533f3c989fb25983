"""Reader dispatch, text tables, and the contract every registered reader must keep."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import charact
from charact.core.data import REQUIRED_ATTRS
from charact.core.errors import CorruptFileError, InputError, UnknownFormatError
from charact.core.readers import detect_format, find_reader, read
from charact.core.registry import READERS
from charact.core.store import load_netcdf, save_netcdf
from charact.core.textio import parse_numeric_table, read_numeric_table
from charact.xrd.io import write_xy
from charact.xrd.synthetic import synthetic_pattern

# --------------------------------------------------------------------------- text tables


@pytest.mark.parametrize(
    ("text", "delimiter", "expected"),
    [
        ("# head\n1 2\n3 4\n5 6\n", None, [[1, 2], [3, 4], [5, 6]]),
        ("x,y\n1.5,2e3\n3,4\n", ",", [[1.5, 2000], [3, 4]]),
        ("a;b\n1,5;2\n3,25;4\n", ";", [[1.5, 2], [3.25, 4]]),  # decimal comma, European CSV
        ("1\t2\n3\t4\n\nfooter text\n", "\t", [[1, 2], [3, 4]]),
    ],
)
def test_parse_numeric_table_dialects(text, delimiter, expected):
    table = parse_numeric_table(text.splitlines())
    np.testing.assert_allclose(table.data, expected)
    assert table.delimiter == delimiter


def test_parse_numeric_table_column_names_and_errors():
    table = parse_numeric_table(["Angle (deg)\tCounts", "10\t1", "11\t2"])
    assert table.columns == ["Angle (deg)", "Counts"]
    with pytest.raises(CorruptFileError, match="no rows of numbers"):
        parse_numeric_table(["just words", "more words"])
    with pytest.raises(CorruptFileError, match="at least 2 numeric columns"):
        parse_numeric_table(["1", "2", "3"])
    with pytest.raises(CorruptFileError, match="line 4: expected 2 columns, found 3"):
        parse_numeric_table(["1 2", "3 4", "5 6", "7 8 9", "1 2"])


def test_nan_inside_the_data_is_an_error_not_a_footer():
    with pytest.raises(CorruptFileError, match="line 3: non-finite value 'nan'"):
        parse_numeric_table(["1 2", "2 3", "3 nan", "4 5"])
    with pytest.raises(CorruptFileError, match="line 2: non-finite value '-inf'"):
        parse_numeric_table(["1,2", "-inf,3", "4,5"])


def test_read_numeric_table_utf16(tmp_path):
    p = tmp_path / "u16.txt"
    p.write_text("shift\tcounts\n100\t5\n101\t6\n", encoding="utf-16")
    np.testing.assert_allclose(read_numeric_table(p).data, [[100, 5], [101, 6]])


# --------------------------------------------------------------------------- dispatch


def test_dispatch_by_content_not_extension(tmp_path):
    da, _ = synthetic_pattern({"Si": 1.0})
    odd = tmp_path / "pattern.raman"  # an extension nobody claims
    write_xy(da, odd)
    reader, basis = detect_format(odd)
    assert (reader.name, basis) == ("xrd-xy", "content")


def test_headerless_text_in_xrd_range_goes_to_xrd_and_raman_range_to_raman(tmp_path):
    x = np.arange(10, 80, 0.02)
    p = tmp_path / "a.txt"
    np.savetxt(p, np.column_stack([x, 100 + x]))
    assert find_reader(p).name == "xrd-xy"
    x = np.arange(-100, 3600, 2.3)
    q = tmp_path / "b.txt"
    np.savetxt(q, np.column_stack([x, 100 + x]))
    assert find_reader(q).name == "raman-text"


def test_unknown_file_lists_what_was_tried(tmp_path):
    p = tmp_path / "photo.bin"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    with pytest.raises(UnknownFormatError) as info:
        read(p)
    msg = str(info.value)
    assert "photo.bin" in msg and "xrd-xy" in msg and "raman-text" in msg


def test_truncated_file_with_known_extension_gets_the_readers_complaint(tmp_path):
    p = tmp_path / "cut.xy"
    p.write_text("# 2theta intensity\n10.00 5\n10.02")
    with pytest.raises(CorruptFileError, match="cut.xy"):
        read(p)


def test_unknown_reader_option_is_an_input_error(tmp_path):
    da, _ = synthetic_pattern({"Si": 1.0})
    write_xy(da, tmp_path / "p.xy")
    with pytest.raises(InputError, match="takes no option"):
        read(tmp_path / "p.xy", laser_wavelength=532)
    with pytest.raises(InputError, match="is a xrd reader, not raman"):
        read(tmp_path / "p.xy", format="xrd-xy", technique="raman")


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read(tmp_path / "absent.xy")


# --------------------------------------------------------------------------- contract


# Each technique's tests/<technique>/examples.py holds EXAMPLES = {reader name: function(folder)
# -> path of an example file} (generated, or a real file from ../shared/data). A reader without
# an example fails test_every_reader_has_an_example, so every reader gets the contract below.
def _collect_examples() -> dict[str, Callable[[Path], Path]]:
    found: dict[str, Callable[[Path], Path]] = {}
    for folder in sorted(Path(__file__).parents[1].iterdir()):
        if (folder / "examples.py").is_file():
            module = importlib.import_module(f"tests.{folder.name}.examples")
            found.update(module.EXAMPLES)
    return found


EXAMPLES = _collect_examples()


def test_every_reader_has_an_example():
    assert sorted(EXAMPLES) == READERS.names()


@pytest.mark.parametrize("name", READERS.names())
def test_reader_contract(name, tmp_path):
    path = EXAMPLES[name](tmp_path)
    before = path.read_bytes()
    obj = charact.read(path, sample_id="S1")
    again = charact.read(path, sample_id="S1")
    assert path.read_bytes() == before, "a reader must never modify its input"
    assert obj.attrs["reader"] == name  # sniffing picks the reader that wrote the example
    for key in REQUIRED_ATTRS:
        assert key in obj.attrs
    assert obj.attrs["sample_id"] == "S1"
    assert obj.attrs["source_file"] == path.name
    variables = [obj] if isinstance(obj, xr.DataArray) else list(obj.data_vars.values())
    assert all("units" in v.attrs for v in variables)
    assert all("units" in c.attrs for c in obj.coords.values())
    xr.testing.assert_identical(obj, again)  # deterministic
    back = load_netcdf(save_netcdf(obj, tmp_path / "roundtrip.nc"))
    xr.testing.assert_identical(back, obj)
