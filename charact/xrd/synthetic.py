"""Synthetic diffraction patterns with exact, known parameters (for tests, the demo, benchmarks).

Peak positions follow Bragg's law from the lattice parameters below; relative intensities are
the tabulated powder-pattern values of the cited reference cards. This is not a structure-factor
calculation (the XRD issue brings pymatgen's for that) — it is ground truth for generated data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..core.data import make_spectrum
from ..core.errors import InputError
from ..core.lineshapes import pseudo_voigt

__all__ = [
    "CUBIC_PHASES",
    "CU_KA1",
    "CU_KA2",
    "SyntheticPeak",
    "bragg_two_theta",
    "ras_text",
    "structure_pattern",
    "synthetic_pattern",
    "xrdml_text",
]

#: Cu Kα1 wavelength in Å (Hölzer et al., Phys. Rev. A 56, 4554 (1997)).
CU_KA1 = 1.5405929

#: name -> (cubic lattice parameter a in Å, {hkl: relative intensity}).
#: Si: a from CODATA 2018 (5.431020511 Å at 22.5 °C); intensities ICDD PDF 00-027-1402.
#: Cu: a and intensities ICDD PDF 00-004-0836 (Swanson & Tatge, NBS Circular 539, 1953).
CUBIC_PHASES: dict[str, tuple[float, dict[tuple[int, int, int], float]]] = {
    "Si": (
        5.431020511,
        {
            (1, 1, 1): 100,
            (2, 2, 0): 55,
            (3, 1, 1): 30,
            (4, 0, 0): 6,
            (3, 3, 1): 11,
            (4, 2, 2): 12,
            (5, 1, 1): 6,
        },
    ),
    "Cu": (3.6150, {(1, 1, 1): 100, (2, 0, 0): 46, (2, 2, 0): 20, (3, 1, 1): 17, (2, 2, 2): 5}),
}


@dataclass(frozen=True)
class SyntheticPeak:
    """One generated reflection: its phase, hkl, position (deg 2θ) and area (counts·deg)."""

    phase: str
    hkl: tuple[int, ...]
    d_spacing: float
    two_theta: float
    area: float


def bragg_two_theta(d_spacing: float | np.ndarray, wavelength: float) -> np.ndarray:
    """2θ in degrees of a reflection with spacing ``d_spacing`` (Å): λ = 2 d sin θ."""
    ratio = np.asarray(wavelength / (2.0 * np.asarray(d_spacing, dtype=float)))
    if np.any(ratio >= 1):
        raise InputError("a d-spacing is below λ/2: the reflection is not reachable")
    return np.degrees(2.0 * np.arcsin(ratio))


def synthetic_pattern(
    phases: Mapping[str, float],
    *,
    two_theta: np.ndarray | None = None,
    wavelength: float = CU_KA1,
    fwhm: float = 0.12,
    eta: float = 0.5,
    scale: float = 400.0,
    background: tuple[float, float] = (60.0, -0.3),
    amorphous_si: float = 0.0,
    seed: int | None = 0,
) -> tuple[xr.DataArray, list[SyntheticPeak]]:
    """Generate a powder pattern of cubic phases with pseudo-Voigt peaks and Poisson noise.

    Parameters
    ----------
    phases
        ``{name: weight}`` with names from :data:`CUBIC_PHASES`; weight 0 leaves a phase out.
    two_theta
        Angle grid in degrees (default 20–90° in 0.02° steps).
    wavelength
        Single wavelength in Å (a Kα1-only, monochromated pattern).
    fwhm, eta
        Peak FWHM (deg) and Lorentzian fraction of every peak.
    scale
        Area (counts·deg) of a weight-1 phase's strongest reflection.
    background
        ``(intercept, slope per degree)`` of a linear background in counts.
    amorphous_si
        Area of the broad amorphous-Si hump near 28° 2θ (FWHM 6°) that replaces sharp Si peaks
        when Si is amorphized by lithiation.
    seed
        Seed of the Poisson noise; ``None`` gives the noise-free expectation.

    Returns
    -------
    (xarray.DataArray, list of SyntheticPeak)
        The pattern and the exact peaks used to make it.
    """
    x = np.arange(20.0, 90.0 + 1e-9, 0.02) if two_theta is None else np.asarray(two_theta, float)
    expected = background[0] + background[1] * (x - x[0])
    peaks: list[SyntheticPeak] = []
    for name, weight in phases.items():
        if name not in CUBIC_PHASES:
            raise InputError(f"unknown synthetic phase {name!r}; known: {', '.join(CUBIC_PHASES)}")
        if weight <= 0:
            continue
        a, table = CUBIC_PHASES[name]
        for hkl, rel in table.items():
            d = a / np.sqrt(sum(i * i for i in hkl))
            if wavelength / (2 * d) >= 1:
                continue
            pos = float(bragg_two_theta(d, wavelength))
            if not (x.min() < pos < x.max()):
                continue
            area = scale * weight * rel / 100.0
            peaks.append(SyntheticPeak(name, hkl, float(d), pos, area))
            expected = expected + pseudo_voigt(x, area, pos, fwhm, eta)
    if amorphous_si > 0:
        expected = expected + pseudo_voigt(x, amorphous_si, 28.0, 6.0, 0.0)
    expected = np.clip(expected, 0, None)
    counts = (
        expected if seed is None else np.random.default_rng(seed).poisson(expected).astype(float)
    )
    da = make_spectrum(
        x,
        counts,
        axis="two_theta",
        technique="xrd",
        units="counts",
        metadata={"generator": "charact.xrd.synthetic.synthetic_pattern"},
        attrs={
            "wavelength": wavelength,
            "wavelength_units": "angstrom",
            "radiation_source": "generator",
        },
    )
    return da, sorted(peaks, key=lambda p: p.two_theta)


#: Cu Kα2 wavelength in Å (Hölzer et al. 1997).
CU_KA2 = 1.5444274


def structure_pattern(
    weights: Mapping[str, float],
    *,
    lattices: Mapping[str, Mapping[str, float]] | None = None,
    sizes_nm: Mapping[str, float] | None = None,
    microstrain: Mapping[str, float] | None = None,
    two_theta: np.ndarray | None = None,
    ka1: float = CU_KA1,
    ka2: float = CU_KA2,
    ka2_ratio: float = 0.5,
    instrument_fwhm: float = 0.06,
    eta: float = 0.5,
    scale: float = 2000.0,
    background: tuple[float, float] = (150.0, -0.8),
    displacement_mm: float = 0.0,
    radius_mm: float = 240.0,
    zero_shift_deg: float = 0.0,
    amorphous_hump: float = 0.0,
    seed: int | None = 0,
) -> tuple[xr.DataArray, list[SyntheticPeak]]:
    """Generate a powder pattern from reference structures, with every truth known.

    Reflections and intensities are pymatgen's kinematic stick pattern of each reference
    phase (:mod:`charact.xrd.phases`), optionally with another lattice. Each reflection is a
    pseudo-Voigt Kα1 line plus a Kα2 line of ``ka2_ratio`` of its area at the λ2 Bragg angle,
    shifted by the specimen displacement (Δ2θ = −2·s·cosθ/R) and a zero shift, with FWHM
    √(instrument² + size²) where the size term is Scherrer's Kλ/(L cosθ), K = 0.9. Linear
    background, optional amorphous hump near 2θ = 28° (FWHM 6°), Poisson noise.

    Parameters
    ----------
    weights
        ``{phase name: weight}``; a weight-1 phase's strongest Kα1 line has area ``scale``.
    lattices
        ``{phase: {"a": ..., "c": ...}}`` lattice parameters replacing the reference ones.
    sizes_nm
        ``{phase: crystallite size in nm}`` (absent: no size broadening).
    microstrain
        ``{phase: ε}``; adds 4ε·tanθ (rad) to the sample breadth, linearly with the size term
        as the Williamson–Hall model assumes.
    ka1, ka2, ka2_ratio
        Wavelengths (Å) and Kα2/Kα1 area ratio (0 for Kα1 only).
    displacement_mm, radius_mm, zero_shift_deg
        Systematic errors applied to every line.

    Returns
    -------
    (xarray.DataArray, list of SyntheticPeak)
        The pattern (radiation attrs set as a reader would) and the true Kα1 reflections
        (positions without the systematic shifts, i.e. the Bragg angles of the true cell).
    """
    from pymatgen.core import Lattice

    from .phases import load_phase_library, stick_pattern

    x = np.arange(15.0, 100.0 + 1e-9, 0.01) if two_theta is None else np.asarray(two_theta, float)
    lib = {p.name: p for p in load_phase_library(list(weights))}
    expected = background[0] + background[1] * (x - x[0])
    peaks: list[SyntheticPeak] = []
    for name, weight in weights.items():
        if weight <= 0:
            continue
        phase = lib[name]
        if lattices and name in lattices:
            import copy

            from .phases import cell_from_free

            p = cell_from_free(phase.crystal_system, {**phase.lattice, **lattices[name]})
            phase = copy.copy(phase)
            st = phase.structure.copy()
            st.lattice = Lattice.from_parameters(
                p["a"], p["b"], p["c"], p["alpha"], p["beta"], p["gamma"]
            )
            phase.structure = st
            phase.sha256 = f"{phase.sha256}-{sorted(p.items())}"
        sp = stick_pattern(phase, ka1, (float(x[0]) - 1, float(x[-1]) + 1))
        for t1, inten, hkl, d in zip(sp.two_theta, sp.intensity, sp.hkl, sp.d_spacing, strict=True):
            th = np.radians(t1 / 2)
            shift = zero_shift_deg + np.degrees(-2 * displacement_mm / radius_mm * np.cos(th))
            f_size = 0.0
            if sizes_nm and name in sizes_nm:
                f_size = np.degrees(0.9 * ka1 / (sizes_nm[name] * 10 * np.cos(th)))
            if microstrain and name in microstrain:
                f_size += np.degrees(4 * microstrain[name] * np.tan(th))
            fwhm = float(np.hypot(instrument_fwhm, f_size))
            area = scale * weight * inten / 100.0
            expected = expected + pseudo_voigt(x, area, t1 + shift, fwhm, eta)
            if ka2_ratio > 0:
                t2 = float(bragg_two_theta(d, ka2))
                sh2 = zero_shift_deg + np.degrees(
                    -2 * displacement_mm / radius_mm * np.cos(np.radians(t2 / 2))
                )
                expected = expected + pseudo_voigt(x, area * ka2_ratio, t2 + sh2, fwhm, eta)
            if x[0] < t1 < x[-1]:
                peaks.append(SyntheticPeak(name, hkl, float(d), float(t1), float(area)))
    if amorphous_hump > 0:
        expected = expected + pseudo_voigt(x, amorphous_hump, 28.0, 6.0, 0.0)
    expected = np.clip(expected, 0, None)
    counts = (
        expected if seed is None else np.random.default_rng(seed).poisson(expected).astype(float)
    )
    doublet = ka2_ratio > 0
    attrs = {
        "wavelength": ka1,
        "wavelength_units": "angstrom",
        "wavelength_ka2": ka2 if doublet else float("nan"),
        "ka2_ratio": float(ka2_ratio),
        "radiation_source": "generator",
        "monochromator": "",
        "goniometer_radius_mm": float(radius_mm),
    }
    da = make_spectrum(
        x,
        counts,
        axis="two_theta",
        technique="xrd",
        units="counts",
        metadata={"generator": "charact.xrd.synthetic.structure_pattern"},
        attrs=attrs,
    )
    return da, sorted(peaks, key=lambda p: p.two_theta)


def xrdml_text(
    da: xr.DataArray, *, intended: str = "K-Alpha 1", list_positions: bool = False
) -> str:
    """A PANalytical ``.xrdml`` document holding ``da`` (for tests of the xrdml reader).

    Written from the public XRDML 1.5 schema (http://www.xrdml.com/XRDMeasurement/1.5):
    ``usedWavelength`` with ``kAlpha1``/``kAlpha2``/``ratioKAlpha2KAlpha1``, a ``scan`` whose
    ``dataPoints`` hold the 2θ ``positions`` (start/end, or a list) and ``counts``.
    """
    x = np.asarray(da["two_theta"].values, float)
    y = np.asarray(da.values, float)
    ka1 = float(da.attrs.get("wavelength", CU_KA1))
    ka2 = float(da.attrs.get("wavelength_ka2", CU_KA2))
    if not np.isfinite(ka2):
        ka2 = CU_KA2
    ratio = float(da.attrs.get("ka2_ratio", 0.5))
    if not np.isfinite(ratio) or ratio == 0:
        ratio = 0.5
    if list_positions:
        pos = (
            '<positions axis="2Theta" unit="deg"><listPositions>'
            + " ".join(f"{v:.5f}" for v in x)
            + "</listPositions></positions>"
        )
    else:
        pos = (
            f'<positions axis="2Theta" unit="deg"><startPosition>{x[0]:.5f}</startPosition>'
            f"<endPosition>{x[-1]:.5f}</endPosition></positions>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<xrdMeasurements xmlns="http://www.xrdml.com/XRDMeasurement/1.5" status="Completed">\n'
        '  <sample type="To be analyzed"><id>S-1</id><name>generated</name></sample>\n'
        '  <xrdMeasurement measurementType="Scan" status="Completed">\n'
        f'    <usedWavelength intended="{intended}">\n'
        f'      <kAlpha1 unit="Angstrom">{ka1:.7f}</kAlpha1>\n'
        f'      <kAlpha2 unit="Angstrom">{ka2:.7f}</kAlpha2>\n'
        '      <kBeta unit="Angstrom">1.3922500</kBeta>\n'
        f"      <ratioKAlpha2KAlpha1>{ratio:.4f}</ratioKAlpha2KAlpha1>\n"
        "    </usedWavelength>\n"
        '    <incidentBeamPath><radius unit="mm">240.00</radius></incidentBeamPath>\n'
        '    <scan appendNumber="0" mode="Continuous" scanAxis="Gonio" status="Completed">\n'
        f"      <dataPoints>{pos}"
        '<commonCountingTime unit="seconds">1.0</commonCountingTime>'
        '<counts unit="counts">' + " ".join(f"{v:.0f}" for v in y) + "</counts></dataPoints>\n"
        "    </scan>\n  </xrdMeasurement>\n</xrdMeasurements>\n"
    )


def ras_text(da: xr.DataArray) -> str:
    """A Rigaku ``.ras`` text holding ``da`` (Kα1/Kα2 from its attrs), for reader tests."""
    ka1 = float(da.attrs.get("wavelength", CU_KA1))
    ka2 = float(da.attrs.get("wavelength_ka2", CU_KA2))
    ratio = float(da.attrs.get("ka2_ratio", 0.5))
    if not np.isfinite(ka2) or not ratio:
        ka2 = ka1
    head = [
        "*RAS_DATA_START",
        "*RAS_HEADER_START",
        '*FILE_SAMPLE "generated"',
        '*HW_XG_TARGET_NAME "Cu"',
        f'*HW_XG_WAVE_LENGTH_ALPHA1 "{ka1:.6f}"',
        f'*HW_XG_WAVE_LENGTH_ALPHA2 "{ka2:.6f}"',
        "*RAS_HEADER_END",
        "*RAS_INT_START",
    ]
    rows = [
        f"{t:.4f} {c:.0f} 1.0000" for t, c in zip(da["two_theta"].values, da.values, strict=True)
    ]
    return "\r\n".join(head + rows + ["*RAS_INT_END", "*RAS_DATA_END"]) + "\r\n"


def raw4_bytes(
    ranges: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    ka1: float = CU_KA1,
    ka2: float = CU_KA2,
    ka2_ratio: float = 0.5,
) -> bytes:
    """A Bruker RAW v4 (``RAW1.01``) file holding ``ranges`` [(2θ, counts), ...], for tests.

    Layout as read by :func:`charact.xrd.io.read_bruker_raw` (Bruker, *DIFFRAC plus XCH
    V.5.0 User's Manual, Appendix A*): a 712-byte file header (range count at byte 12, anode
    at 608, wavelengths average/Kα1/Kα2/Kβ and the Kα2/Kα1 ratio as float64 from 616), then
    per range a 304-byte header (its length, the number of steps, start 2θ at 16, step at
    176, supplementary-header size 0 at 256) followed by the counts as float32. Each range
    must be evenly spaced.
    """
    import struct

    head = bytearray(712)
    head[0:7] = b"RAW1.01"
    struct.pack_into("<I", head, 12, len(ranges))
    head[608:610] = b"Cu"
    avg = (2 * ka1 + ka2 * ka2_ratio) / (2 + ka2_ratio) if ka2_ratio else ka1
    struct.pack_into("<5d", head, 616, avg, ka1, ka2, 1.39222, ka2_ratio)
    out = bytes(head)
    for tt, counts in ranges:
        tt = np.asarray(tt, float)
        step = float(np.median(np.diff(tt)))
        if not np.allclose(np.diff(tt), step, rtol=1e-6, atol=1e-9):
            raise ValueError("a RAW range must be evenly spaced")
        rh = bytearray(304)
        struct.pack_into("<II", rh, 0, 304, tt.size)
        struct.pack_into("<d", rh, 16, float(tt[0]))
        struct.pack_into("<d", rh, 176, step)
        struct.pack_into("<I", rh, 256, 0)
        out += bytes(rh) + np.asarray(counts, "<f4").tobytes()
    return out


def xrdml_multi_text(patterns: Sequence[xr.DataArray], *, intended: str = "K-Alpha 1") -> str:
    """An ``.xrdml`` document with one ``<scan>`` per pattern in one measurement (tests)."""
    one = xrdml_text(patterns[0], intended=intended)
    head = one.split('    <scan appendNumber="0"', 1)[0]
    tail = "  </xrdMeasurement>\n</xrdMeasurements>\n"
    scans = []
    for k, da in enumerate(patterns):
        block = xrdml_text(da, intended=intended).split('    <scan appendNumber="0"', 1)[1]
        block = block.split("    </scan>", 1)[0]
        scans.append(f'    <scan appendNumber="{k}"' + block + "    </scan>\n")
    return head + "".join(scans) + tail
