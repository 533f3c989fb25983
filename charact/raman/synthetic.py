"""Synthetic Raman spectra of Si/C electrodes with exact, known band parameters.

Band positions and widths are typical of the literature for micro-Si/C anodes: c-Si TO phonon
at 520.5 cm^-1 (Lorentzian, FWHM ~4 cm^-1), the amorphous-Si TO band near 475 cm^-1 (Gaussian,
FWHM ~70 cm^-1), and the carbon D (~1350) and G (~1590 cm^-1) bands. The I_D/I_G height ratios
2.33 (pristine) and 1.5 (cycled) are those of the study our demo follows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..core.data import make_measurement, make_spectrum
from ..core.errors import InputError
from ..core.lineshapes import gaussian, lorentzian

__all__ = ["STATES", "RamanBand", "si_carbon_spectrum", "synthetic_map", "synthetic_spectrum"]


@dataclass(frozen=True)
class RamanBand:
    """One band of a generated spectrum, defined by its height (counts) and FWHM (cm^-1)."""

    name: str
    shape: str  # "lorentzian" or "gaussian"
    center: float
    fwhm: float
    height: float

    @property
    def area(self) -> float:
        """Integrated intensity (counts·cm^-1) from height and FWHM, analytic for both shapes."""
        if self.shape == "lorentzian":
            return self.height * math.pi * self.fwhm / 2.0
        return self.height * self.fwhm * math.sqrt(math.pi / (4.0 * math.log(2.0)))


def synthetic_spectrum(
    bands: list[RamanBand],
    *,
    raman_shift: np.ndarray | None = None,
    baseline: tuple[float, float] = (50.0, 0.02),
    noise: float = 5.0,
    seed: int | None = 0,
    laser_wavelength: float = 532.0,
    fluorescence: tuple[float, float, float] | None = None,
    spikes: int = 0,
    spike_height: float = 2000.0,
) -> xr.DataArray:
    """Sum ``bands`` on a baseline, with Gaussian noise of standard deviation ``noise``.

    Parameters
    ----------
    bands
        The bands (exact truth).
    raman_shift
        The axis (default 100-1999 cm^-1 in steps of 1).
    baseline
        ``(offset, slope)`` of a straight line (counts, counts per cm^-1).
    noise, seed
        Standard deviation of the added Gaussian noise and the generator seed.
    laser_wavelength
        Stored in the attrs (nm).
    fluorescence
        ``(amplitude, center, width)``: a smooth fluorescence hump
        ``amplitude·exp(-((x - center)/width)²)`` added to the baseline (counts, cm^-1).
    spikes, spike_height
        Number of single-pixel cosmic-ray spikes to add (positions from the seed, heights
        between 0.5 and 1 × ``spike_height``); their positions go into the metadata.
    """
    x = np.arange(100.0, 2000.0, 1.0) if raman_shift is None else np.asarray(raman_shift, float)
    y = baseline[0] + baseline[1] * (x - x[0])
    if fluorescence is not None:
        amp, cen, wid = fluorescence
        y = y + amp * np.exp(-(((x - cen) / wid) ** 2))
    for b in bands:
        if b.shape == "lorentzian":
            y = y + lorentzian(x, b.area, b.center, b.fwhm)
        elif b.shape == "gaussian":
            y = y + gaussian(x, b.area, b.center, b.fwhm)
        else:
            raise InputError(
                f"band {b.name!r}: shape must be lorentzian or gaussian, got {b.shape!r}"
            )
    rng = np.random.default_rng(seed)
    if seed is not None and noise > 0:
        y = y + rng.normal(0.0, noise, x.size)
    spike_at: list[float] = []
    if spikes:
        idx = rng.choice(np.arange(2, x.size - 2), size=spikes, replace=False)
        y = y.copy()
        y[idx] += spike_height * rng.uniform(0.5, 1.0, spikes)
        spike_at = sorted(float(x[i]) for i in idx)
    return make_spectrum(
        x,
        y,
        axis="raman_shift",
        technique="raman",
        units="counts",
        metadata={
            "generator": "charact.raman.synthetic.synthetic_spectrum",
            "bands": [vars(b) for b in bands],
            "baseline": list(baseline),
            "fluorescence": None if fluorescence is None else list(fluorescence),
            "spikes_at": spike_at,
        },
        attrs={
            "laser_wavelength": laser_wavelength,
            "laser_wavelength_units": "nm",
            "laser_wavelength_source": "generator",
        },
    )


#: Ground truth of the demo's electrode states: band -> (height, center, fwhm, shape).
STATES: dict[str, list[RamanBand]] = {
    "pristine": [
        RamanBand("c-Si", "lorentzian", 520.5, 4.5, 1200.0),
        RamanBand("D", "lorentzian", 1350.0, 110.0, 233.0),
        RamanBand("G", "lorentzian", 1592.0, 65.0, 100.0),
    ],
    "cycled-100": [
        RamanBand("c-Si", "lorentzian", 518.5, 7.0, 300.0),
        RamanBand("a-Si", "gaussian", 475.0, 70.0, 180.0),
        RamanBand("D", "lorentzian", 1352.0, 120.0, 170.0),
        RamanBand("G", "lorentzian", 1595.0, 70.0, 100.0),
    ],
    "cycled-500": [
        RamanBand("a-Si", "gaussian", 472.0, 75.0, 260.0),
        RamanBand("D", "lorentzian", 1352.0, 125.0, 150.0),
        RamanBand("G", "lorentzian", 1596.0, 72.0, 100.0),
    ],
}


def si_carbon_spectrum(
    state: str, *, seed: int | None = 0, **kwargs: float
) -> tuple[xr.DataArray, list[RamanBand]]:
    """A spectrum of a Si/C electrode in one of :data:`STATES`, with its bands."""
    if state not in STATES:
        raise InputError(f"unknown state {state!r}; known: {', '.join(STATES)}")
    bands = STATES[state]
    return synthetic_spectrum(bands, seed=seed, **kwargs), bands


def synthetic_map(
    ny: int = 10,
    nx: int = 12,
    *,
    raman_shift: np.ndarray | None = None,
    step_um: float = 2.0,
    noise: float = 5.0,
    seed: int = 0,
    missing: int = 0,
    spikes: int = 0,
) -> tuple[xr.DataArray, dict[str, np.ndarray]]:
    """A Raman map of a partly lithiated Si/C electrode with known per-pixel truth.

    Every pixel holds c-Si (Lorentzian), a-Si (Gaussian), D and G (Lorentzian) bands on a
    sloping baseline; the c-Si position and height, the a-Si height and the D/G height ratio
    vary smoothly across the map (a c-Si-rich corner, an amorphised band), so parameter images
    have structure to check.

    Parameters
    ----------
    ny, nx
        Map size in pixels; x and y run from 0 in steps of ``step_um`` µm.
    raman_shift
        Axis (default 300-1900 cm^-1, 1600 points).
    noise, seed
        Gaussian noise (counts) and seed.
    missing
        Number of pixels set to NaN (an interrupted acquisition).
    spikes
        Number of single-pixel cosmic-ray spikes spread over the map.

    Returns
    -------
    (xarray.DataArray, dict)
        The cube ``(y, x, raman_shift)`` and the truth ``{"<band>.<center|fwhm|height>":
        (ny, nx) array, "ID_IG_height": …, "missing": (k, 2) pixel indices}``.
    """
    x = np.linspace(300.0, 1900.0, 1600) if raman_shift is None else np.asarray(raman_shift)
    rng = np.random.default_rng(seed)
    yy, xx = np.meshgrid(np.linspace(0, 1, ny), np.linspace(0, 1, nx), indexing="ij")
    truth: dict[str, np.ndarray] = {
        "c-Si.center": 520.5 - 2.5 * xx,
        "c-Si.fwhm": 4.5 + 2.0 * xx,
        "c-Si.height": 300.0 + 900.0 * (1 - yy),
        "a-Si.center": np.full_like(xx, 475.0),
        "a-Si.fwhm": np.full_like(xx, 70.0),
        "a-Si.height": 40.0 + 200.0 * yy,
        "D.center": 1350.0 + 2.0 * yy,
        "D.fwhm": 110.0 + 15.0 * xx,
        "D.height": 100.0 * (1.5 + 0.83 * xx),
        "G.center": np.full_like(xx, 1592.0),
        "G.fwhm": np.full_like(xx, 65.0),
        "G.height": np.full_like(xx, 100.0),
    }
    truth["ID_IG_height"] = truth["D.height"] / truth["G.height"]
    cube = 50.0 + 0.02 * (x - x[0]) + np.zeros((ny, nx, 1))
    shapes = {"c-Si": "lorentzian", "a-Si": "gaussian", "D": "lorentzian", "G": "lorentzian"}
    for band, shape in shapes.items():
        c = truth[f"{band}.center"][..., None]
        w = truth[f"{band}.fwhm"][..., None]
        h = truth[f"{band}.height"][..., None]
        if shape == "lorentzian":
            cube = cube + lorentzian(x, h * math.pi * w / 2.0, c, w)
        else:
            cube = cube + gaussian(x, h * w * math.sqrt(math.pi / (4.0 * math.log(2.0))), c, w)
    cube = cube + rng.normal(0.0, noise, cube.shape)
    if spikes:
        flat = cube.reshape(-1)
        idx = rng.choice(flat.size, size=spikes, replace=False)
        flat[idx] += rng.uniform(1000.0, 3000.0, spikes)
    miss = np.empty((0, 2), int)
    if missing:
        pix = rng.choice(ny * nx, size=missing, replace=False)
        miss = np.column_stack(np.unravel_index(pix, (ny, nx)))
        cube[miss[:, 0], miss[:, 1], :] = np.nan
    truth["missing"] = miss
    da = make_measurement(
        cube,
        {
            "y": (np.arange(ny) * step_um, "µm"),
            "x": (np.arange(nx) * step_um, "µm"),
            "raman_shift": (x, "cm^-1"),
        },
        name="intensity",
        units="counts",
        technique="raman",
        metadata={"generator": "charact.raman.synthetic.synthetic_map", "seed": seed},
        attrs={
            "laser_wavelength": 532.0,
            "laser_wavelength_units": "nm",
            "laser_wavelength_source": "generator",
            "missing_pixels": int(missing),
        },
    )
    return da, truth
