"""Raman band models of Si/C electrodes, built from the core lineshapes.

A *band* is one peak: a registered lineshape (:mod:`charact.core.lineshapes`), a parameter
prefix, a starting position and bounds. A *model* is a named set of bands; models compose with
``+`` in their names (``"c-si+carbon-5"``), so users can ask for any combination, and
:func:`build_model` turns one into an lmfit model with named, bounded parameters that the user
may edit before fitting — or into a :class:`~charact.core.batchfit.BatchModel` for maps.

Band positions and widths (starting values and bounds):

- c-Si: first-order optical (TO/LO) phonon at 520.5 cm⁻¹ in unstrained bulk Si at room
  temperature (Parker, Feldman, Ashkin, Phys. Rev. 155, 712 (1967)); Lorentzian, or
  Breit–Wigner–Fano for small or doped crystallites (Fano 1961).
- a-Si: broad TO band at 460–480 cm⁻¹ (Gaussian), with LO ≈ 380, LA ≈ 300 and TA ≈ 150 cm⁻¹
  (Beeman, Tsu, Thorpe, Phys. Rev. B 32, 874 (1985)).
- Si second order (2TO) near 960 cm⁻¹ (Temple & Hathaway, Phys. Rev. B 7, 3685 (1973)).
- Carbon: D (≈1350, "D1") and G (≈1580–1600 cm⁻¹) — Tuinstra & Koenig, J. Chem. Phys. 53,
  1126 (1970); Ferrari & Robertson, Phys. Rev. B 61, 14095 (2000), where G may be a BWF.
  The 4- and 5-band models follow Sadezky et al., Carbon 43, 1731 (2005): D1 ≈ 1350 (L),
  D2 ≈ 1620 (L), D3 ≈ 1500 (Gaussian), D4 ≈ 1200 (L), G ≈ 1580 (L). Results name D1 "D".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.batchfit import BatchModel, BatchParam, Component
from ..core.errors import InputError, close_matches
from ..core.lineshapes import get_lineshape

if TYPE_CHECKING:
    import lmfit

__all__ = [
    "BANDS",
    "MODELS",
    "Band",
    "RamanModel",
    "build_model",
    "fit_groups",
    "model_bands",
]


@dataclass(frozen=True)
class Band:
    """One Raman band of the model library.

    Parameters
    ----------
    name
        The name used in results (``"c-Si"``, ``"a-Si"``, ``"D"``, ``"G"``, ``"D2"`` …).
    prefix
        lmfit parameter prefix (``"cSi_"`` → ``cSi_center``).
    lineshape
        Registered core lineshape name.
    center, center_range
        Starting position and bounds (cm⁻¹).
    fwhm, fwhm_range
        Starting FWHM and bounds (cm⁻¹).
    region
        ``(lo, hi)`` of the spectral range the band needs to be fitted (cm⁻¹).
    group
        ``"silicon"`` or ``"carbon"``.
    extra
        Other shape parameters: ``{name: (value, min, max)}`` (e.g. the BWF ``q``).
    """

    name: str
    prefix: str
    lineshape: str
    center: float
    center_range: tuple[float, float]
    fwhm: float
    fwhm_range: tuple[float, float]
    region: tuple[float, float]
    group: str
    extra: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    description: str = ""


#: The band library, by key.
BANDS: dict[str, Band] = {
    b.name if b.name != "c-Si" or b.lineshape == "lorentzian" else "c-Si-bwf": b
    for b in (
        Band(
            "c-Si",
            "cSi_",
            "lorentzian",
            520.5,
            (505.0, 530.0),
            4.0,
            (1.5, 25.0),
            (380.0, 620.0),
            "silicon",
            description="crystalline Si TO/LO phonon",
        ),
        Band(
            "c-Si",
            "cSi_",
            "fano",
            520.5,
            (505.0, 530.0),
            4.0,
            (1.5, 25.0),
            (380.0, 620.0),
            "silicon",
            {"q": (-20.0, -200.0, -1.0)},
            "crystalline Si phonon, Breit-Wigner-Fano (small or doped crystallites)",
        ),
        Band(
            "a-Si",
            "aSi_",
            "gaussian",
            475.0,
            (440.0, 500.0),
            70.0,
            (30.0, 120.0),
            (380.0, 620.0),
            "silicon",
            description="amorphous Si TO band",
        ),
        Band(
            "a-Si-LO",
            "aSiLO_",
            "gaussian",
            380.0,
            (340.0, 420.0),
            80.0,
            (30.0, 150.0),
            (250.0, 620.0),
            "silicon",
            description="amorphous Si LO band",
        ),
        Band(
            "a-Si-LA",
            "aSiLA_",
            "gaussian",
            300.0,
            (260.0, 340.0),
            80.0,
            (30.0, 150.0),
            (200.0, 620.0),
            "silicon",
            description="amorphous Si LA band",
        ),
        Band(
            "a-Si-TA",
            "aSiTA_",
            "gaussian",
            150.0,
            (110.0, 190.0),
            60.0,
            (20.0, 120.0),
            (90.0, 620.0),
            "silicon",
            description="amorphous Si TA band",
        ),
        Band(
            "Si-2nd",
            "Si2_",
            "gaussian",
            965.0,
            (930.0, 1000.0),
            50.0,
            (15.0, 120.0),
            (880.0, 1060.0),
            "silicon",
            description="Si second-order (2TO) band",
        ),
        Band(
            "D",
            "D_",
            "lorentzian",
            1350.0,
            (1320.0, 1380.0),
            120.0,
            (20.0, 300.0),
            (1000.0, 1800.0),
            "carbon",
            description="carbon D band (Sadezky D1)",
        ),
        Band(
            "G",
            "G_",
            "lorentzian",
            1590.0,
            (1550.0, 1615.0),
            70.0,
            (15.0, 200.0),
            (1000.0, 1800.0),
            "carbon",
            description="carbon G band",
        ),
        Band(
            "D2",
            "D2_",
            "lorentzian",
            1615.0,
            (1600.0, 1635.0),
            40.0,
            (10.0, 100.0),
            (1000.0, 1800.0),
            "carbon",
            description="carbon D2 (D') band",
        ),
        Band(
            "D3",
            "D3_",
            "gaussian",
            1500.0,
            (1460.0, 1540.0),
            150.0,
            (40.0, 300.0),
            (1000.0, 1800.0),
            "carbon",
            description="carbon D3 band (amorphous carbon)",
        ),
        Band(
            "D4",
            "D4_",
            "lorentzian",
            1200.0,
            (1150.0, 1250.0),
            150.0,
            (40.0, 400.0),
            (1000.0, 1800.0),
            "carbon",
            description="carbon D4 band (sp3/polyenes)",
        ),
    )
}
BANDS["c-Si-pv"] = Band(
    "c-Si",
    "cSi_",
    "pseudo_voigt",
    520.5,
    (505.0, 530.0),
    4.0,
    (1.5, 25.0),
    (380.0, 620.0),
    "silicon",
    {"eta": (0.7, 0.0, 1.0)},
    "crystalline Si phonon, pseudo-Voigt (Lorentzian line with instrumental Gaussian)",
)
BANDS["G-bwf"] = Band(
    "G",
    "G_",
    "fano",
    1590.0,
    (1550.0, 1615.0),
    70.0,
    (15.0, 200.0),
    (1000.0, 1800.0),
    "carbon",
    {"q": (-10.0, -100.0, -2.0)},
    "carbon G band, Breit-Wigner-Fano",
)

#: Named models: name -> band keys. Compose with "+" (``"c-si+carbon-5"``).
MODELS: dict[str, tuple[str, ...]] = {
    "c-si": ("c-Si",),
    "c-si-bwf": ("c-Si-bwf",),
    "c-si-pv": ("c-Si-pv",),
    "c-si-2nd": ("c-Si", "Si-2nd"),
    "a-si": ("a-Si",),
    "a-si-full": ("a-Si", "a-Si-LO", "a-Si-LA", "a-Si-TA"),
    "si": ("c-Si", "a-Si"),
    "carbon-2": ("D", "G"),
    "carbon-2-bwf": ("D", "G-bwf"),
    "carbon-4": ("D4", "D", "D3", "G"),
    "carbon-5": ("D4", "D", "D3", "G", "D2"),
    "si-carbon": ("c-Si", "a-Si", "D", "G"),
}


def model_bands(name: str) -> list[Band]:
    """The bands of a model name (``"si-carbon"``, ``"c-si+carbon-5"`` …), without duplicates.

    Raises
    ------
    InputError
        For an unknown model, with close matches.
    """
    keys: list[str] = []
    for part in (p.strip() for p in name.split("+")):
        if part in MODELS:
            new = MODELS[part]
        elif part in BANDS:
            new = (part,)
        else:
            hint = close_matches(part, [*MODELS, *BANDS])
            raise InputError(
                f"unknown Raman model {part!r}; models: {', '.join(MODELS)}"
                + (f" (did you mean {', '.join(hint)}?)" if hint else ""),
            )
        keys += [k for k in new if k not in keys]
    bands = [BANDS[k] for k in keys]
    prefixes = [b.prefix for b in bands]
    dup = {p for p in prefixes if prefixes.count(p) > 1}
    if dup:
        raise InputError(
            f"model {name!r} has two versions of the same band ({', '.join(sorted(dup))}); "
            "choose one lineshape per band"
        )
    return bands


@dataclass
class RamanModel:
    """A Raman model ready to fit: bands, polynomial background degree and parameters.

    Attributes
    ----------
    name
        The model name it was built from.
    bands
        The bands, in order.
    background_degree
        Degree of the polynomial fitted with the bands (after the baseline was subtracted),
        or None.
    batch
        The equivalent :class:`~charact.core.batchfit.BatchModel` (same parameters).
    """

    name: str
    bands: list[Band]
    background_degree: int | None
    batch: BatchModel

    @property
    def region(self) -> tuple[float, float]:
        """The spectral range the bands need: union of the bands' regions (cm⁻¹)."""
        return (min(b.region[0] for b in self.bands), max(b.region[1] for b in self.bands))

    def lmfit(self) -> tuple[lmfit.Model, lmfit.Parameters]:
        """An lmfit composite model and its Parameters (edit them freely before fitting)."""
        return self.batch.to_lmfit()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly description: bands with their lineshapes, and the parameters."""
        return {
            "name": self.name,
            "bands": [
                {
                    "name": b.name,
                    "prefix": b.prefix,
                    "lineshape": b.lineshape,
                    "description": b.description,
                }
                for b in self.bands
            ],
            "background_degree": self.background_degree,
            "engine_model": self.batch.to_dict(),
        }


def build_model(
    name: str,
    *,
    background_degree: int | None = 1,
    x_range: tuple[float, float] | None = None,
    overrides: dict[str, dict[str, float]] | None = None,
    bands: list[Band] | None = None,
    background_prefix: str = "bkg_",
) -> RamanModel:
    """Build a model by name, with every parameter named and bounded.

    Parameters
    ----------
    name
        A key of :data:`MODELS` or band keys joined by ``+``.
    background_degree
        Polynomial background fitted together with the bands (None for none).
    x_range
        The spectral range that will be fitted; bands whose centre bounds lie outside it are
        an error (a model that cannot apply to the data).
    overrides
        ``{parameter: {"value"|"min"|"max"|"vary": ...}}`` edits of the defaults.
    bands
        Use these bands instead of the ones ``name`` lists (``name`` then only labels it).
    background_prefix
        Prefix of the background coefficients (``bkg_c0`` …).

    Returns
    -------
    RamanModel

    Raises
    ------
    InputError
        For an unknown model, or bands outside ``x_range``.
    """
    bands = model_bands(name) if bands is None else list(bands)
    if x_range is not None:
        lo, hi = sorted(x_range)
        outside = [b.name for b in bands if b.center_range[1] < lo or b.center_range[0] > hi]
        if outside:
            raise InputError(
                f"model {name!r} cannot apply to the spectral range {lo:g}-{hi:g} cm^-1: "
                f"band(s) {', '.join(outside)} lie outside it",
                hint="crop to a range that holds the bands or choose another --model",
            )
    params: dict[str, BatchParam] = {}
    comps = []
    for b in bands:
        comps.append(Component(b.lineshape, b.prefix))
        shape = get_lineshape(b.lineshape)
        size = shape.size_param
        params[b.prefix + size] = BatchParam(b.prefix + size, 1.0, 0.0, math.inf)
        params[b.prefix + "center"] = BatchParam(b.prefix + "center", b.center, *b.center_range)
        params[b.prefix + "fwhm"] = BatchParam(b.prefix + "fwhm", b.fwhm, *b.fwhm_range)
        for pname, (val, pmin, pmax) in b.extra.items():
            params[b.prefix + pname] = BatchParam(b.prefix + pname, val, pmin, pmax)
    for pname, edit in (overrides or {}).items():
        if pname not in params:
            raise InputError(f"model {name!r} has no parameter {pname!r}")
        p = params[pname]
        params[pname] = BatchParam(
            pname,
            float(edit.get("value", p.value)),
            float(edit.get("min", p.min)),
            float(edit.get("max", p.max)),
            bool(edit.get("vary", p.vary)),
            str(edit.get("expr", p.expr)),
        )
    batch = BatchModel(tuple(comps), background_degree, params, background_prefix=background_prefix)
    return RamanModel(name, bands, background_degree, batch)


def fit_groups(bands: list[Band]) -> list[list[Band]]:
    """Split bands into groups fitted together: bands whose regions overlap share a fit.

    Each group is fitted over the union of its bands' regions with its own polynomial
    background, so a smooth fluorescence background only has to be locally polynomial.
    """
    groups: list[list[Band]] = []
    spans: list[list[float]] = []
    for b in sorted(bands, key=lambda b: b.region[0]):
        if spans and b.region[0] <= spans[-1][1]:
            groups[-1].append(b)
            spans[-1][1] = max(spans[-1][1], b.region[1])
        else:
            groups.append([b])
            spans.append([b.region[0], b.region[1]])
    return groups
