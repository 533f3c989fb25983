"""Generated SEM images of known truth, and writers of vendor-style files around them.

* :func:`particle_image` — elliptical particles with lognormal equivalent diameters, some of
  them touching, blurred and noisy, optionally with a databar appended below the scan;
* :func:`cross_section_image` — a layered cross-section (resin / layer / substrate) with a
  known layer thickness, interface waviness, blur and noise;
* :func:`write_fei_tiff`, :func:`write_zeiss_tiff`, :func:`write_tescan_tiff`,
  :func:`write_jeol_sidecar`, :func:`write_hitachi_sidecar`, :func:`write_png` — the same pixels in
  the layouts the readers understand, so calibration is tested exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage as ndi

__all__ = [
    "ParticleTruth",
    "cross_section_image",
    "particle_image",
    "write_fei_tiff",
    "write_hitachi_sidecar",
    "write_jeol_sidecar",
    "write_plain_tiff",
    "write_png",
    "write_tescan_tiff",
    "write_zeiss_tiff",
]


@dataclass
class ParticleTruth:
    """What was drawn: one row per particle (diameters in px) and the drawing settings."""

    pixel_size_nm: float
    ecd_px: np.ndarray
    centres_px: np.ndarray  # (n, 2) as (row, col)
    semi_axes_px: np.ndarray  # (n, 2) as (a, b)
    touches_edge: np.ndarray
    scan_rows: int
    databar_rows: int
    scale_bar_px: int
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def interior_ecd_nm(self) -> np.ndarray:
        """ECDs (nm) of the particles fully inside the frame: what can be measured."""
        return self.ecd_px[~self.touches_edge] * self.pixel_size_nm


def particle_image(
    *,
    shape: tuple[int, int] = (600, 800),
    pixel_size_nm: float = 10.0,
    n: int = 140,
    median_nm: float = 300.0,
    sigma: float = 0.25,
    max_aspect: float = 1.5,
    touching_fraction: float = 0.25,
    blur_px: float = 1.0,
    noise: float = 0.06,
    background: float = 0.3,
    particle: float = 0.8,
    databar_rows: int = 0,
    bar_px: int = 100,
    bright: bool = True,
    seed: int = 0,
) -> tuple[np.ndarray, ParticleTruth]:
    """An 8-bit SEM-like image of elliptical particles with known sizes.

    Equivalent circular diameters are lognormal (``median_nm``, ``sigma``); each particle is
    an ellipse of aspect ratio in [1, ``max_aspect``] with that ECD (``2√(ab)``), randomly
    oriented. Particles do not overlap, except that ``touching_fraction`` of them are placed
    against a neighbour (centre distance 0.97 × the sum of their radii along the line).

    Returns
    -------
    (numpy.ndarray, ParticleTruth)
        The uint8 image (scan rows plus ``databar_rows`` of databar) and the truth.
    """
    rng = np.random.default_rng(seed)
    h, w = shape
    d = np.exp(rng.normal(math.log(median_nm / pixel_size_nm), sigma, n))
    aspect = rng.uniform(1.0, max_aspect, n)
    a_ax = d / 2 * np.sqrt(aspect)
    b_ax = d / 2 / np.sqrt(aspect)
    theta = rng.uniform(0, np.pi, n)
    centres: list[tuple[float, float]] = []
    kept: list[int] = []
    order = np.argsort(-d)  # place large ones first so the small ones fill in
    for i in order:
        r_i = a_ax[i]
        for _attempt in range(400):
            if centres and rng.random() < touching_fraction:
                j = int(rng.integers(len(centres)))
                ang = rng.uniform(0, 2 * np.pi)
                # along the line joining centres, each ellipse's radius in that direction
                r_dir_i = _radius_along(a_ax[i], b_ax[i], theta[i], ang)
                k = kept[j]
                r_dir_j = _radius_along(a_ax[k], b_ax[k], theta[k], ang + np.pi)
                dist = 0.97 * (r_dir_i + r_dir_j)
                cy = centres[j][0] + dist * math.sin(ang)
                cx = centres[j][1] + dist * math.cos(ang)
                partner = j
            else:
                cy, cx = rng.uniform(-r_i, h + r_i), rng.uniform(-r_i, w + r_i)
                partner = -1
            ok = True
            for m, (py, px) in enumerate(centres):
                if m == partner:
                    continue
                k = kept[m]
                if math.hypot(cy - py, cx - px) < 1.05 * (a_ax[i] + a_ax[k]):
                    ok = False
                    break
            if ok:
                centres.append((cy, cx))
                kept.append(int(i))
                break
    yy, xx = np.mgrid[0:h, 0:w]
    label = np.zeros((h, w), dtype=np.int32)
    touches = []
    for m, (cy, cx) in enumerate(centres):
        i = kept[m]
        r = math.ceil(a_ax[i]) + 2
        y0, y1 = max(0, int(cy) - r), min(h, int(cy) + r + 1)
        x0, x1 = max(0, int(cx) - r), min(w, int(cx) + r + 1)
        if y0 >= y1 or x0 >= x1:
            touches.append(True)  # entirely outside: never seen, never counted
            continue
        dy, dx = yy[y0:y1, x0:x1] - cy, xx[y0:y1, x0:x1] - cx
        c, s = math.cos(theta[i]), math.sin(theta[i])
        u, v = dx * c + dy * s, -dx * s + dy * c
        inside = (u / a_ax[i]) ** 2 + (v / b_ax[i]) ** 2 <= 1.0
        label[y0:y1, x0:x1][inside] = m + 1
        # it touches the frame when its extent reaches past the first/last pixel
        ext_y = math.sqrt((a_ax[i] * s) ** 2 + (b_ax[i] * c) ** 2)
        ext_x = math.sqrt((a_ax[i] * c) ** 2 + (b_ax[i] * s) ** 2)
        touches.append(
            cy - ext_y < 0.5 or cy + ext_y > h - 1.5 or cx - ext_x < 0.5 or cx + ext_x > w - 1.5
        )
    idx = np.array(kept, dtype=int)
    fg = label > 0
    lo, hi = (background, particle) if bright else (particle, background)
    img = np.where(fg, hi, lo).astype(float)
    img = ndi.gaussian_filter(img, blur_px) if blur_px > 0 else img
    img = img + rng.normal(0, noise, img.shape)
    img8 = np.clip(np.round(img * 255), 0, 255).astype(np.uint8)
    if databar_rows:
        img8 = np.vstack([img8, _databar(databar_rows, w, bar_px)])
    truth = ParticleTruth(
        pixel_size_nm=pixel_size_nm,
        ecd_px=2 * np.sqrt(a_ax[idx] * b_ax[idx]),
        centres_px=np.array(centres, dtype=float).reshape(-1, 2),
        semi_axes_px=np.column_stack([a_ax[idx], b_ax[idx]]),
        touches_edge=np.array(touches, dtype=bool),
        scan_rows=h,
        databar_rows=databar_rows,
        scale_bar_px=bar_px if databar_rows else 0,
        settings={
            "median_nm": median_nm,
            "sigma": sigma,
            "n_drawn": int(idx.size),
            "blur_px": blur_px,
            "noise": noise,
            "seed": seed,
        },
    )
    return img8, truth


def _radius_along(a: float, b: float, theta: float, ang: float) -> float:
    phi = ang - theta
    return 1.0 / math.sqrt((math.cos(phi) / a) ** 2 + (math.sin(phi) / b) ** 2)


def _databar(rows: int, width: int, bar_px: int) -> np.ndarray:
    """A black databar with a white frame line, blocky 'text' and a white scale bar."""
    bar = np.zeros((rows, width), dtype=np.uint8)
    bar[0, :] = 255
    bar[1, :] = 255
    rng = np.random.default_rng(1)
    for x0 in range(max(bar_px + 40, 200), width - 60, 90):  # glyph-like blocks
        for k in range(6):
            gx = x0 + 8 * k
            bar[rows // 3 : rows // 3 + 8, gx : gx + int(rng.integers(2, 6))] = 255
    y = rows // 2
    bar[y : y + 4, 20 : 20 + bar_px] = 255
    return bar


def cross_section_image(
    *,
    shape: tuple[int, int] = (400, 600),
    pixel_size_nm: float = 50.0,
    top_px: float = 120.0,
    thickness_px: float = 150.0,
    waviness_px: float = 3.0,
    levels: tuple[float, float, float] = (0.15, 0.55, 0.85),
    blur_px: float = 1.5,
    noise: float = 0.05,
    seed: int = 0,
) -> tuple[np.ndarray, dict[str, Any]]:
    """A three-band cross-section: resin (top), the layer, substrate (bottom).

    The layer's top interface is at ``top_px`` (+ a sinusoidal waviness) and the bottom one
    ``thickness_px`` below it in every column, so the true thickness is exactly
    ``thickness_px × pixel_size_nm`` everywhere. Edges are area-sampled (sub-pixel exact).

    Returns
    -------
    (numpy.ndarray, dict)
        The uint8 image and the truth (``thickness_nm``, ``top_px`` per column …).
    """
    rng = np.random.default_rng(seed)
    h, w = shape
    x = np.arange(w)
    top = top_px + waviness_px * np.sin(2 * np.pi * x / (w / 2.3))
    bottom = top + thickness_px
    y = np.arange(h)[:, None]
    # fraction of each pixel [y, y+1) above an interface at height t (pixel centres at y+0.5)
    frac_top = np.clip(top[None, :] - (y - 0.5), 0, 1)
    frac_bot = np.clip(bottom[None, :] - (y - 0.5), 0, 1)
    resin, layer, sub = levels
    img = resin * frac_top + layer * (frac_bot - frac_top) + sub * (1 - frac_bot)
    img = ndi.gaussian_filter(img, blur_px) if blur_px > 0 else img
    img = img + rng.normal(0, noise, img.shape)
    img8 = np.clip(np.round(img * 255), 0, 255).astype(np.uint8)
    truth = {
        "pixel_size_nm": pixel_size_nm,
        "thickness_nm": thickness_px * pixel_size_nm,
        "thickness_px": thickness_px,
        "top_px": top,
    }
    return img8, truth


# --------------------------------------------------------------------------- writers


def write_fei_tiff(
    img: np.ndarray,
    path: str | PathLike[str],
    *,
    pixel_size_nm: float,
    scan_rows: int | None = None,
) -> Path:
    """Write ``img`` as an FEI/Thermo-style TIFF: tag 34682 INI text with ``[Scan] PixelWidth``."""
    import tifffile

    h, w = img.shape
    rows = h if scan_rows is None else scan_rows
    px = pixel_size_nm * 1e-9
    ini = (
        "[User]\r\nDate=01/01/2026\r\nUserText=charact synthetic\r\n"
        "[System]\r\nType=SEM\r\nSystemType=charact synthetic FEI\r\n"
        f"[Scan]\r\nPixelWidth={px:.9e}\r\nPixelHeight={px:.9e}\r\n"
        f"HorFieldsize={px * w:.9e}\r\nVerFieldsize={px * rows:.9e}\r\n"
        f"[EBeam]\r\nHV=5000\r\nHFW={px * w:.9e}\r\n"
        f"[Image]\r\nResolutionX={w}\r\nResolutionY={rows}\r\n"
    )
    p = Path(path)
    tifffile.imwrite(p, img, extratags=[(34682, "s", 0, ini, True)])
    return p


def write_tescan_tiff(img: np.ndarray, path: str | PathLike[str], *, pixel_size_nm: float) -> Path:
    """Write a TESCAN-style TIFF: tag 50431 with ``[MAIN] PixelSizeX`` in metres."""
    import tifffile

    text = (
        "[MAIN]\r\nDevice=charact synthetic TESCAN\r\n"
        f"PixelSizeX={pixel_size_nm * 1e-9:.9e}\r\nPixelSizeY={pixel_size_nm * 1e-9:.9e}\r\n"
    )
    p = Path(path)
    tifffile.imwrite(p, img, extratags=[(50431, "s", 0, text, True)])
    return p


def write_zeiss_tiff(
    img: np.ndarray,
    path: str | PathLike[str],
    *,
    pixel_size_nm: float,
    key: str = "ap_pixel_size",
) -> Path:
    """Write a Zeiss-style TIFF: tag 34118 text with the pixel size at the 1024-px reference.

    Zeiss refers ``ap_pixel_size`` to a 1024-px wide frame, so for an image ``w`` px wide the
    stored value is ``pixel_size_nm × w / 1024`` — the trap :func:`read_sem_tiff` undoes.
    """
    import tifffile

    _h, w = img.shape
    ref = pixel_size_nm * w / 1024.0
    name = "Image Pixel Size" if key == "ap_image_pixel_size" else "Pixel Size"
    text = (
        f"0\r\n0\r\n0\r\n{ref * 1e-9:.6e}\r\n25000\r\n6\r\n802\r\n"
        f"{key.upper()}\r\n{name} = {ref:.6g} nm\r\n"
        f"AP_WIDTH\r\nWidth = {pixel_size_nm * w / 1000:.6g} um\r\n"
        "DP_SEM\r\nSem = charact synthetic Zeiss\r\n"
    )
    p = Path(path)
    tifffile.imwrite(p, img, extratags=[(34118, "s", 0, text, True)])
    return p


def write_plain_tiff(img: np.ndarray, path: str | PathLike[str]) -> Path:
    """Write a TIFF with no calibration at all."""
    import tifffile

    p = Path(path)
    tifffile.imwrite(p, img)
    return p


def write_jeol_sidecar(
    img: np.ndarray,
    path: str | PathLike[str],
    *,
    pixel_size_nm: float,
    bar_px: int = 100,
    scan_rows: int | None = None,
) -> Path:
    """Write ``img`` as a plain TIFF plus a classic JEOL ``.txt`` sidecar (JSM-7600F style).

    The sidecar gives the calibration the way those instruments do: a micron marker length
    (``$$SM_MICRON_MARKER``) and the bar's length in pixels (``$$SM_MICRON_BAR``).
    """
    p = write_plain_tiff(img, path)
    h, w = img.shape
    rows = h if scan_rows is None else scan_rows
    marker_nm = pixel_size_nm * bar_px
    lines = [
        "$CM_FORMAT JEOL-SEM",
        "$CM_VERSION 1.0",
        "$CM_INSTRUMENT JSM-7600F",
        f"$CM_FULL_SIZE {w} {rows}",
        "$CM_MAG 10000",
        "$CM_ACCEL_VOLT 5.00",
        f"$$SM_MICRON_BAR {bar_px}",
        f"$$SM_MICRON_MARKER {marker_nm:g}nm",
    ]
    p.with_suffix(".txt").write_text("\r\n".join(lines) + "\r\n", encoding="ascii")
    return p


def write_hitachi_sidecar(
    img: np.ndarray, path: str | PathLike[str], *, pixel_size_nm: float, utf16: bool = True
) -> Path:
    """Write ``img`` as a plain TIFF plus a Hitachi ``[SemImageFile]`` sidecar (UTF-16)."""
    p = write_plain_tiff(img, path)
    h, w = img.shape
    text = (
        "[SemImageFile]\r\nInstructName=S-4800\r\n"
        f"DataSize={w}x{h}\r\nPixelSize={pixel_size_nm:g}\r\nMagnification=20000\r\n"
    )
    p.with_suffix(".txt").write_bytes(text.encode("utf-16" if utf16 else "ascii"))
    return p


def write_png(img: np.ndarray, path: str | PathLike[str]) -> Path:
    """Write a grey PNG (no calibration: PNG exports carry none)."""
    from PIL import Image

    p = Path(path)
    Image.fromarray(img).save(p)
    return p
