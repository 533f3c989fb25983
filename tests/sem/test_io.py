"""SEM readers: vendor calibrations, databars, scale bars and bad input.

Real-file reference values come from each file's own vendor metadata as documented in
shared/data/sem/MANIFEST.md (tag names and units) and read by eye from the tag text;
the comments say which field implies each number.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import charact
import charact.sem
from charact.core.errors import AssumptionWarning, CalibrationError, CorruptFileError, InputError
from charact.sem.calibration import (
    CalibrationWarning,
    calibrate_from_scale_bar,
    find_databar,
    find_scale_bar,
)
from charact.sem.io import parse_jeol_keys, read_sem_image, read_sem_tiff
from charact.sem.synthetic import (
    particle_image,
    write_fei_tiff,
    write_hitachi_sidecar,
    write_jeol_sidecar,
    write_plain_tiff,
    write_png,
    write_tescan_tiff,
    write_zeiss_tiff,
)
from tests.conftest import shared_file

# --------------------------------------------------------------------------- generated files


@pytest.fixture(scope="module")
def scan():
    """A 200 x 300 particle image with a 40-row databar holding an 80-px scale bar."""
    return particle_image(shape=(200, 300), n=25, databar_rows=40, bar_px=80, seed=5)


def test_fei_pixel_size_is_exact_and_databar_cropped(scan, tmp_path):
    img, truth = scan
    p = write_fei_tiff(img, tmp_path / "a.tif", pixel_size_nm=7.25, scan_rows=truth.scan_rows)
    da = charact.read(p)
    assert da.attrs["reader"] == "sem-tiff"
    assert da.attrs["pixel_size_nm"] == pytest.approx(7.25, rel=1e-9)
    assert da.attrs["pixel_size_source"] == "fei:PixelWidth"
    assert da.shape == (200, 300) and da.attrs["databar_rows"] == 40
    assert da.attrs["databar_found_by"] == "metadata"
    np.testing.assert_array_equal(da.values, img[:200])
    assert da["x"].attrs["units"] == "µm"
    assert da["x"].values[1] == pytest.approx(0.00725)
    assert "Scan" in da.attrs["original_metadata"]


def test_zeiss_reference_width_trap(scan, tmp_path):
    img, _truth = scan
    # the file stores the pixel size at the 1024-px reference width: 300 px wide -> x 1024/300
    p = write_zeiss_tiff(img[:200], tmp_path / "z.tif", pixel_size_nm=11.65)
    da = charact.read(p)
    assert da.attrs["pixel_size_nm"] == pytest.approx(11.65, rel=1e-5)
    assert da.attrs["pixel_size_source"] == "zeiss:ap_pixel_size"


def test_tescan_jeol_hitachi_calibrations(scan, tmp_path):
    img, _truth = scan
    da = charact.read(write_tescan_tiff(img[:200], tmp_path / "t.tif", pixel_size_nm=3.5))
    assert (da.attrs["pixel_size_nm"], da.attrs["pixel_size_source"]) == (
        pytest.approx(3.5, rel=1e-9),
        "tescan:PixelSizeX",
    )
    # classic JEOL sidecar: 80-px bar marked 400 nm -> 5 nm/px; the databar is cropped by the
    # scan size the sidecar gives ($CM_FULL_SIZE)
    p = write_jeol_sidecar(img, tmp_path / "j.tif", pixel_size_nm=5.0, bar_px=80, scan_rows=200)
    da = charact.read(p)
    assert da.attrs["pixel_size_nm"] == pytest.approx(5.0, rel=1e-12)
    assert da.attrs["pixel_size_source"] == "jeol:sidecar"
    assert da.shape == (200, 300)
    assert da.attrs["sidecar_file"] == "j.txt" and len(da.attrs["sidecar_sha256"]) == 64
    p = write_hitachi_sidecar(img[:200], tmp_path / "h.tif", pixel_size_nm=2.48)
    da = charact.read(p)
    assert (da.attrs["pixel_size_nm"], da.attrs["pixel_size_source"]) == (
        pytest.approx(2.48),
        "hitachi:sidecar",
    )


def test_parse_jeol_keys_both_layouts():
    side = "$CM_MAG 5000\r\n$$SM_MICRON_BAR 184\r\n$$SM_MICRON_MARKER 1um\r\n"
    assert parse_jeol_keys(side)["$$SM_MICRON_BAR"] == "184"
    note = "$CM_FORMAT=JEOL/FE\t$CM_PIXEL_SIZE=2.00nm/pixel\t\t$SM_MICRON_MARKER=100nm"
    keys = parse_jeol_keys(note)
    assert keys["$CM_PIXEL_SIZE"] == "2.00nm/pixel" and keys["$SM_MICRON_MARKER"] == "100nm"


def test_png_needs_a_user_pixel_size(scan, tmp_path):
    img, _truth = scan
    p = write_png(img[:200], tmp_path / "a.png")
    da = charact.read(p)
    assert da.attrs["reader"] == "sem-image"
    assert da.attrs["pixel_size_source"] == "none" and math.isnan(da.attrs["pixel_size_nm"])
    assert "x" not in da.coords  # no physical coords without a scale
    da = charact.read(p, pixel_size="4.47nm")
    assert da.attrs["pixel_size_nm"] == pytest.approx(4.47)
    assert da.attrs["pixel_size_source"] == "user"


def test_user_pixel_size_contradicting_metadata_warns(scan, tmp_path):
    img, _truth = scan
    p = write_fei_tiff(img, tmp_path / "a.tif", pixel_size_nm=10.0, scan_rows=200)
    with pytest.warns(CalibrationWarning, match="differs by 5.0%"):
        da = charact.read(p, pixel_size="10.5nm")
    assert da.attrs["pixel_size_source"] == "user"
    assert da.attrs["vendor_pixel_size_nm"] == pytest.approx(10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        charact.read(p, pixel_size="10.1nm")  # 1%: within tolerance, silent
    with pytest.raises(InputError, match="unknown length unit"):
        charact.read(p, pixel_size="10 nmm")


def test_databar_detection_and_scale_bar_on_generated(scan, tmp_path):
    img, _truth = scan
    assert find_databar(img) == 200
    assert find_databar(img[:200]) is None  # a plain scan has no databar
    bar = find_scale_bar(img)
    assert bar.length_px == 80
    # no metadata: the PNG is calibrated from the bar and a user-given length
    p = write_png(img, tmp_path / "a.png")
    da = charact.read(p)
    assert da.attrs["databar_rows"] == 40 and da.attrs["databar_found_by"] == "detected"
    full = read_sem_image(p, crop_databar=False)
    cal = calibrate_from_scale_bar(da, full.values, "1 µm")
    assert cal.attrs["pixel_size_nm"] == pytest.approx(12.5)
    assert cal.attrs["pixel_size_source"] == "scale_bar"
    assert cal["x"].attrs["units"] == "µm"


def test_scale_bar_cross_check_warns_above_two_percent(scan, tmp_path):
    img, _truth = scan
    p = write_fei_tiff(img, tmp_path / "a.tif", pixel_size_nm=12.5, scan_rows=200)
    da = charact.read(p)
    full = read_sem_tiff(p, crop_databar=False).values
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        calibrate_from_scale_bar(da, full, "1um", databar_top=200)  # 80 px x 12.5 nm: agrees
    with pytest.warns(CalibrationWarning, match="scale bar gives"):
        out = calibrate_from_scale_bar(da, full, "1.1um", databar_top=200)
    assert out.attrs["pixel_size_source"] == "fei:PixelWidth"  # metadata kept
    # the boundary: 2% plus the bar's 1-px rounding (1/80 = 1.25%) -> 3.25% for this bar
    with pytest.warns(CalibrationWarning, match="3.5% apart"):
        calibrate_from_scale_bar(da, full, "1.035um", databar_top=200)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        calibrate_from_scale_bar(da, full, "1.03um", databar_top=200)


# --------------------------------------------------------------------------- bad input


def test_truncated_and_fake_tiffs(scan, tmp_path):
    img, _truth = scan
    good = write_fei_tiff(img, tmp_path / "a.tif", pixel_size_nm=10.0)
    cut = tmp_path / "cut.tif"
    cut.write_bytes(good.read_bytes()[:3000])
    with pytest.raises(CorruptFileError, match="cut.tif"):
        charact.read(cut)
    fake = tmp_path / "fake.tif"
    fake.write_bytes(b"II*\x00" + b"\xff" * 100)
    with pytest.raises(CorruptFileError, match="fake.tif"):
        charact.read(fake)


def test_broken_vendor_metadata_warns_and_leaves_the_image_readable(scan, tmp_path):
    import tifffile

    img, _truth = scan
    p = tmp_path / "nopw.tif"
    ini = "[User]\r\nDate=01/01/2026\r\n[Scan]\r\nDwelltime=1e-05\r\n"
    tifffile.imwrite(p, img[:200], extratags=[(34682, "s", 0, ini, True)])
    with pytest.warns(CalibrationWarning, match="FEI tag 34682 metadata present but unusable"):
        da = charact.read(p)
    assert da.attrs["pixel_size_source"] == "none"
    with pytest.warns(CalibrationWarning):
        da = charact.read(p, pixel_size="3 nm")
    assert da.attrs["pixel_size_nm"] == pytest.approx(3.0)


def test_colour_and_16bit_images(scan, tmp_path):
    img, _truth = scan
    rgb = np.stack([img[:200], img[:200] // 2, img[:200]], axis=-1)
    p = write_plain_tiff(rgb, tmp_path / "rgb.tif")
    with pytest.warns(AssumptionWarning, match="colour image converted to grey"):
        da = charact.read(p)
    assert da.shape == (200, 300)
    grey3 = np.stack([img[:200]] * 3, axis=-1)  # grey saved as RGB: read silently
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        da = charact.read(write_png(grey3, tmp_path / "g.png"))
    np.testing.assert_array_equal(da.values, img[:200])
    deep = img[:200].astype(np.uint16) * 257
    da = charact.read(write_tescan_tiff(deep, tmp_path / "d.tif", pixel_size_nm=2.0))
    assert da.dtype == np.uint16 and da.attrs["bit_depth"] == 16


def test_uncalibrated_tiff_has_no_pixel_size(scan, tmp_path):
    img, _truth = scan
    da = charact.read(write_plain_tiff(img[:200], tmp_path / "plain.tif"))
    assert da.attrs["pixel_size_source"] == "none"
    from charact.sem.analyze import quantify_particles

    with pytest.raises(CalibrationError, match="no pixel size"):
        quantify_particles(da, allow_uncalibrated=False)
    with pytest.raises(CalibrationError, match="is a length but the image has no pixel size"):
        quantify_particles(da, min_size="50nm")


def test_no_databar_no_scale_bar(scan):
    img, _truth = scan
    with pytest.raises(CalibrationError, match="no databar"):
        find_scale_bar(img[:200])


# --------------------------------------------------------------------------- real files

# Pixel sizes implied by each file's vendor metadata (MANIFEST.md names the tags):
#   FEI Helios: [Scan] PixelWidth = 3.3724e-06 m; [Image] ResolutionY = 442 of 471 rows.
#   Zeiss 512 px: ap_pixel_size = 5.825 nm at the 1024-px reference -> 11.65 nm, which
#     ap_width = 5.965 µm / 512 px = 11.65 nm confirms (the trap: 5.825 is 2x too small).
#   Zeiss 1k: ap_image_pixel_size = 2.615 µm (4 digits); ap_width 2.677 mm / 1024 = 2.614 µm.
#   Konstanz colloids (GeminiSEM 500): ap_image_pixel_size = 4.466 nm, 1024 px wide.
#   JEOL IT800 MakerNote: $CM_PIXEL_SIZE = 2.00 / 1.0 / 10.0 nm/pixel; $CM_IMAGE_SIZE 1280 960
#     of 1026 rows (66-row databar, MANIFEST.md).
REAL = [
    (("rosettasciio", "FEI-Helios-Ebeam-8bits.tif"), 3372.4, "fei:PixelWidth", 29),
    (("rosettasciio", "test_tiff_Zeiss_SEM_512pix.tif"), 11.65, "zeiss:ap_pixel_size", None),
    (("rosettasciio", "test_tiff_Zeiss_SEM_1k.tif"), 2615.0, "zeiss:ap_image_pixel_size", None),
    (("konstanz_colloids", "GM_59_20.tif"), 4.466, "zeiss:ap_image_pixel_size", None),
    (("konstanz_colloids", "GM_116_20.tif"), 4.466, "zeiss:ap_image_pixel_size", None),
    (("konstanz_colloids", "GM_124_00.tif"), 4.466, "zeiss:ap_image_pixel_size", None),
    (("jeol_it800", "A-2h-01.tif"), 2.0, "jeol:makernote", 66),
    (("jeol_it800", "A2h_01.tif"), 1.0, "jeol:makernote", 66),
    (("jeol_it800", "B-2h07.tif"), 10.0, "jeol:makernote", 66),
]


@pytest.mark.parametrize(("parts", "pixel_nm", "source", "bar_rows"), REAL)
def test_real_vendor_pixel_sizes(parts, pixel_nm, source, bar_rows):
    path = shared_file("sem", *parts)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CalibrationWarning)  # metadata agrees with itself
        da = charact.read(path)
    assert da.attrs["pixel_size_nm"] == pytest.approx(pixel_nm, rel=1e-9)
    assert da.attrs["pixel_size_source"] == source
    if bar_rows is not None:
        assert da.attrs["databar_rows"] == bar_rows
    else:  # Zeiss overlays its data zone inside the frame: found from the pixels
        assert da.attrs["databar_found_by"] == "detected"
        assert 0.05 * da.sizes["y"] < da.attrs["databar_rows"] < 0.15 * da.sizes["y"]
    assert da.dtype == np.uint8 and da.ndim == 2


@pytest.mark.parametrize(
    ("parts", "bar_nm"),
    [
        # bar lengths printed in the databars (MANIFEST.md) over the metadata pixel size
        (("rosettasciio", "FEI-Helios-Ebeam-8bits.tif"), 500_000.0),
        (("konstanz_colloids", "GM_59_20.tif"), 300.0),
        (("rosettasciio", "test_tiff_Zeiss_SEM_1k.tif"), 200_000.0),
        (("rosettasciio", "test_tiff_Zeiss_SEM_512pix.tif"), 200.0),  # a 17-px grey bar
        (("jeol_it800", "B-2h07.tif"), 1000.0),  # $SM_MICRON_MARKER = 1μm
    ],
)
def test_real_scale_bars_agree_with_metadata(parts, bar_nm):
    path = shared_file("sem", *parts)
    da = charact.read(path)
    full = read_sem_tiff(path, crop_databar=False)
    top = full.sizes["y"] - da.attrs["databar_rows"]
    bar = find_scale_bar(full.values, databar_top=top)
    expected_px = bar_nm / da.attrs["pixel_size_nm"]
    # Zeiss draws end ticks outside the bar's length: allow 3% + the tick widths (2 px)
    assert abs(bar.length_px - expected_px) <= 0.03 * expected_px + 2


def test_real_jeol_makernote_bar_matches_key():
    # A-2h-01.tif's MakerNote: $SM_MICRON_MARKER = 100nm, $SM_MICRON_BAR = 49 (px, whole
    # number), $CM_PIXEL_SIZE = 2.00 nm -> the bar is 50 px; we measure it to within 1 px of both
    path = shared_file("sem", "jeol_it800", "A-2h-01.tif")
    full = read_sem_tiff(path, crop_databar=False)
    length = find_scale_bar(full.values, databar_top=960).length_px
    assert abs(length - 50) <= 1 and abs(length - 49) <= 1


def test_real_jpeg_without_metadata():
    path = shared_file("sem", "nffa_particles", "L2_0c6f769bd72e154dac9c98600435aa13.jpg")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AssumptionWarning)  # JPEG chroma: channels differ
        da = charact.read(path)
    assert da.attrs["reader"] == "sem-image" and da.shape == (768, 1024)
    assert da.attrs["pixel_size_source"] == "none"


def test_tescan_databar_resolution_tags_imagej_and_bmp(scan, tmp_path):
    import tifffile
    from PIL import Image

    img, truth = scan
    # TESCAN appends its databar below the scan and says nothing of its height: detected
    da = charact.read(write_tescan_tiff(img, tmp_path / "t.tif", pixel_size_nm=3.5))
    assert da.shape == (200, 300) and da.attrs["databar_rows"] == truth.databar_rows
    assert da.attrs["databar_found_by"] == "detected"
    # standard resolution tags in px/cm: 1e7 / 12.5 px per cm = 12.5 nm per pixel
    p = tmp_path / "r.tif"
    tifffile.imwrite(p, img[:200], resolution=(1e7 / 12.5, 1e7 / 12.5), resolutionunit=3)
    da = charact.read(p)
    assert da.attrs["pixel_size_nm"] == pytest.approx(12.5)
    assert da.attrs["pixel_size_source"] == "tiff:resolution"
    # 72 dpi is a display hint, not a calibration
    tifffile.imwrite(p, img[:200], resolution=(72, 72), resolutionunit=2)
    assert charact.read(p).attrs["pixel_size_source"] == "none"
    # ImageJ: unit in the description, pixels per unit in the resolution tags
    p = tmp_path / "ij.tif"
    tifffile.imwrite(p, img[:200], imagej=True, resolution=(80.0, 80.0), metadata={"unit": "um"})
    da = charact.read(p)
    assert da.attrs["pixel_size_nm"] == pytest.approx(12.5)
    assert da.attrs["pixel_size_source"] == "tiff:imagej"
    # BMP export with the databar: cropped, pixel size from the user
    p = tmp_path / "b.bmp"
    Image.fromarray(img).save(p)
    da = charact.read(p, pixel_size="12.5 nm")
    assert da.shape == (200, 300) and da.attrs["pixel_size_source"] == "user"
    assert da.attrs["pixel_size_nm"] == pytest.approx(12.5)
