"""Reference phases: structures, CIF files and their stick patterns.

The built-in library lives in ``<repo>/reference_patterns`` (override with the environment
variable ``CHARACT_REFERENCE_PATTERNS``): one CIF per phase, written by
:func:`write_reference_cifs` from the published space group, lattice parameters and Wyckoff
positions in :data:`REFERENCE_STRUCTURES` (each with its citation; the LATP framework
coordinates are a distance-least-squares model, :mod:`charact.xrd._dls`, and say so), so the
files can be regenerated and checked. Users add phases by putting CIFs in a folder and naming it
(``phases_dir=`` / ``--phases-dir``); the phase name is the file stem.

Stick patterns come from pymatgen's :class:`~pymatgen.analysis.diffraction.xrd.XRDCalculator`
(kinematic intensities with atomic scattering factors, Lorentz-polarisation factor, no
Debye–Waller factor) for the measured Kα1 wavelength, and are cached in memory and on disk
(:func:`stick_cache_dir`; ``CHARACT_CACHE_DIR`` or the user cache folder) keyed by the CIF's
SHA-256, the wavelength, the 2θ range and the pymatgen version.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import sys
import threading
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

import charact

from ..core.errors import CorruptFileError, InputError
from ..core.registry import PHASES

__all__ = [
    "REFERENCE_STRUCTURES",
    "PhaseEntry",
    "ReferencePhase",
    "StickPattern",
    "crystal_system_params",
    "load_phase_library",
    "load_reference_phase",
    "reference_patterns_dir",
    "stick_cache_dir",
    "stick_pattern",
    "write_reference_cifs",
]


@dataclass(frozen=True)
class StructureSpec:
    """A published structure: space group, lattice and asymmetric unit, with its source.

    ``verification`` records what the numbers were checked against in the last review of the
    library, or starts with ``"not verified:"`` when they could not be compared with a
    published source (see ``reference_patterns/MANIFEST.md``).
    """

    name: str
    formula: str
    space_group: str
    lattice: dict[str, float]
    sites: tuple[tuple[str | dict[str, float], tuple[float, float, float]], ...]
    source: str
    note: str = ""
    group: str = "battery"
    verification: str = "not verified: no check recorded"


def _s(el: str | dict[str, float], xyz: tuple[float, float, float]) -> tuple[Any, Any]:
    return (el, xyz)


def _hexagonal_from_rhombohedral(a_r: float, alpha_deg: float) -> dict[str, float]:
    """Hexagonal-axes cell (a, c) of a rhombohedral lattice given as a_r, α (obverse setting).

    a_h = 2·a_r·sin(α/2), c_h = a_r·√(3(1 + 2 cos α)); rounded to 1e-5 Å so the written CIF
    does not depend on the last bit of the platform's trigonometric functions.
    """
    al = math.radians(alpha_deg)
    a_h = 2.0 * a_r * math.sin(al / 2.0)
    c_h = a_r * math.sqrt(3.0 * (1.0 + 2.0 * math.cos(al)))
    return {"a": round(a_h, 5), "c": round(c_h, 5)}


#: The built-in phases. Origin choice 1 where the space group has two (pymatgen's default);
#: every setting below was checked by building the cell (atom count, composition, and
#: systematic absences for Si). ``verification`` says how far each entry was checked.
REFERENCE_STRUCTURES: tuple[StructureSpec, ...] = (
    StructureSpec(
        "Si",
        "Si",
        "Fd-3m",
        {"a": 5.431020511},
        (_s("Si", (0, 0, 0)),),  # 8a in origin choice 1
        "CODATA 2018: d220(Si) = 192.0155716 pm, a = √8·d220 (22.5 °C, vacuum)",
        verification="checked: √8 × 192.0155716 pm = 543.1020511 pm; Fd-3m origin choice 1 with "
        "Si on 8a gives 8 atoms per cell and no (200) reflection",
    ),
    StructureSpec(
        "Cu",
        "Cu",
        "Fm-3m",
        {"a": 3.6150},
        (_s("Cu", (0, 0, 0)),),
        "H. E. Swanson, E. Tatge, NBS Circular 539, vol. 1, p. 15 (1953)",
        verification="not verified: a = 3.6150 Å was not compared with the NBS Circular (not "
        "accessible in the review); fcc Cu on 4a has no free parameters",
    ),
    StructureSpec(
        "LATP",
        "Li1.3Al0.3Ti1.7(PO4)3",
        "R-3c",
        {"a": 8.500, "c": 20.820},
        # Framework coordinates: distance-least-squares model, charact.xrd._dls.latp_dls()
        # (tests/xrd/test_phases.py reruns it and compares with these values).
        (
            _s("Li", (0, 0, 0)),  # 6b
            _s({"Ti": 0.85, "Al": 0.15}, (0, 0, 0.1359)),  # 12c, Al/(Al+Ti) = 0.3/2
            _s("P", (0.2880, 0, 0.25)),  # 18e
            _s("O", (0.1924, 0.0082, 0.1891)),  # 36f, O1
            _s("O", (0.1876, 0.1690, 0.0776)),  # 36f, O2
        ),
        "cell: NASICON LiTi2(PO4)3 type (R-3c, Z = 6) with Al on the Ti 12c site, a and c for "
        "x = 0.3 in the range reported by J. Fu, Solid State Ionics 96, 195 (1997) and "
        "K. Arbi et al., Chem. Mater. 14, 1091 (2002); coordinates: distance-least-squares "
        "model (W. M. Meier, H. Villiger, Z. Kristallogr. 129, 411 (1969)) started from the "
        "public-domain NASICON isotype Na3Cr2(PO4)3, COD 1008846 (G. Lucazeau et al., Solid "
        "State Ionics 18-19, 959 (1986)), refined to bond-valence distances (I. D. Brown, "
        "D. Altermatt, Acta Cryst. B41, 244 (1985))",
        note="model structure, not a published refinement: the cell is from the cited papers, "
        "the framework coordinates are a distance-least-squares model refined to bond-valence "
        "distances (P-O 1.534 Å, Ti-O 1.965 Å, regular-polyhedron O-O edges, Li-O 2.25 Å), so "
        "the calculated intensities are model intensities; the 0.3 extra Li per formula unit "
        "is omitted (its site is disputed: 18e/36f in earlier work, 6a in E. Dashjav, "
        "F. Tietz, Z. Anorg. Allg. Chem. (2014), doi:10.1002/zaac.201400195); not verified "
        "against a measured LATP structure: use for line positions, refine the lattice from "
        "the data and treat relative intensities as approximate",
        verification="not verified against a published LATP refinement (none could be read); "
        "checked: the coordinates are the rounded output of charact.xrd._dls.latp_dls() "
        "(a test reruns it), the same minimum is reached from the COD 1008846 start, the "
        "previous entry's and an earlier trial fit's coordinates; the shipped structure has "
        "P-O 1.526-1.528 Å, Ti-O 1.946-1.947 Å, Li-O 2.219 Å and the cell content "
        "Li6(Ti10.2Al1.8)P18O72; other reasonable distance weights move coordinates by up to "
        "0.015 and the strong-line intensities by up to 4 % of the strongest; calculated at "
        "Cu Kα1 the strongest line is (113) at 24.54°, then (104)+(110) at 20.89°, (024) "
        "29.70°, (128) 47.82°, (211) 32.44°, (116) 33.31° and (012) 14.73°, qualitatively "
        "the lines reported for LATP (compared by eye, not with a measured intensity table)",
    ),
    StructureSpec(
        "Li15Si4",
        "Li15Si4",
        "I-43d",
        {"a": 10.685},
        (
            _s("Si", (0.4588, 0.4588, 0.4588)),  # 16c
            _s("Li", (0.375, 0, 0.25)),  # 12a
            _s("Li", (0.1194, 0.1574, 0.9606)),  # 48e
        ),
        "M. N. Obrovac, L. Christensen, Electrochem. Solid-State Lett. 7, A93 (2004) (cell); "
        "Cu15Si4-type positions as in M. Zeilinger et al., Chem. Mater. 25, 4623 (2013)",
        note="approximate coordinates (not verified); Zeilinger et al. report a = 10.6322(9) Å "
        "at 123 K for a single crystal",
        verification="not verified: the coordinates were not compared with Zeilinger et al. "
        "(2013); I-43d with Li on 12a (3/8, 0, 1/4) and 48e and Si on 16c gives Li60Si16 "
        "(Z = 4) with Li-Si ≥ 2.64 Å; the room-temperature cell 10.685 Å was not re-read from "
        "Obrovac & Christensen",
    ),
    StructureSpec(
        "Cu3Si",
        "Cu3Si",
        "R-3m",
        _hexagonal_from_rhombohedral(2.47, 109.74),  # a_h = 4.04017, c_h = 2.43703 Å
        (_s({"Cu": 0.75, "Si": 0.25}, (0, 0, 0)),),  # 3a, one atom per rhombohedral cell
        "J. K. Solberg, Acta Cryst. A34, 684 (1978) (η-Cu3Si, R-3m, rhombohedral a = 2.47 Å, "
        "α = 109.74°: a trigonally distorted bcc arrangement, Cu and Si on one site); "
        "modulated η″ phase: C. Antunes Correa et al., Acta Cryst. B73, 767 (2017)",
        note="average (subcell) structure: the η cell of Solberg (1978) with Cu 0.75 / Si 0.25 "
        "on one site. At room temperature Cu3Si is the modulated η″ phase (described by "
        "Antunes Correa et al. 2017 in a supercell approximation); its weak superstructure "
        "reflections are not in this pattern, so identify and refine on the strong bcc-like "
        "subcell lines only; relative intensities are those of the disordered average",
        verification="partly checked: built from the abstract's η cell (a = 2.47 Å, α = "
        "109.74°) converted to hexagonal axes (a = 4.04017, c = 2.43703 Å), and pymatgen's "
        "primitive standard cell gives back a = 2.4700 Å, α = 109.74° with one atom "
        "(Cu0.75Si0.25); strongest lines at Cu Kα1: d = 2.020 Å (110) and 2.000 Å (101) at "
        "44.83° and 45.31° 2θ, then 1.421 Å (021) at 65.64°; the full paper was not read",
    ),
    StructureSpec(
        "LiF",
        "LiF",
        "Fm-3m",
        {"a": 4.0270},
        (_s("Li", (0, 0, 0)), _s("F", (0.5, 0.5, 0.5))),
        "H. E. Swanson, E. Tatge, NBS Circular 539, vol. 1, p. 61 (1953)",
        verification="not verified: a = 4.0270 Å was not compared with the NBS Circular; rock "
        "salt (4a, 4b) has no free parameters",
    ),
    StructureSpec(
        "Li2CO3",
        "Li2CO3",
        "C2/c",
        {"a": 8.3593, "b": 4.9725, "c": 6.1975, "beta": 114.83},
        (
            _s("Li", (0.1965, 0.4484, 0.8344)),  # 8f
            _s("C", (0, 0.0657, 0.25)),  # 4e
            _s("O", (0, 0.3213, 0.25)),  # 4e
            _s("O", (0.1459, -0.0635, 0.3127)),  # 8f
        ),
        "H. Effenberger, J. Zemann, Z. Kristallogr. 150, 133 (1979) (zabuyelite); values as in "
        "COD 9008283",
        verification="checked against COD 9008283 (zabuyelite, C 1 2/c 1; cell and all four "
        "sites, as reproduced in a public repository); the previous entry had c = 6.194 Å, "
        "b = 4.973 Å and O positions off by up to 0.002; the COD header naming the paper was "
        "not seen",
    ),
    StructureSpec(
        "Li2O",
        "Li2O",
        "Fm-3m",
        {"a": 4.6114},
        (_s("O", (0, 0, 0)), _s("Li", (0.25, 0.25, 0.25))),
        "T. W. D. Farley et al., J. Phys.: Condens. Matter 3, 4761 (1991) (293 K)",
        verification="not verified: a = 4.6114 Å was not compared with Farley et al.; "
        "antifluorite (O 4a, Li 8c) has no free parameters",
    ),
    StructureSpec(
        "Cu2O",
        "Cu2O",
        "Pn-3m",
        {"a": 4.2685},
        (_s("O", (0, 0, 0)), _s("Cu", (0.25, 0.25, 0.25))),  # 2a, 4b (origin choice 1)
        "R. Restori, D. Schwarzenbach, Acta Cryst. B42, 201 (1986)",
        verification="partly checked: a = 4.2685 Å agrees with the AMCSD cuprite cell quoted "
        "in a secondary source; origin choice 1 puts O on 2a and Cu on 4b (Cu4O2, Cu-O "
        "1.848 Å); no free parameters",
    ),
    StructureSpec(
        "graphite",
        "C",
        "P6_3/mmc",
        {"a": 2.464, "c": 6.711},
        (_s("C", (0, 0, 0.25)), _s("C", (1 / 3, 2 / 3, 0.25))),  # 2b, 2c
        "P. Trucano, R. Chen, Nature 258, 136 (1975) (hexagonal 2H graphite)",
        verification="partly checked: a, c and sites equal Trucano & Chen's values as "
        "reproduced in two open tables (WWW-MINCRYST card GRAPHITE-2, database.iem.ac.ru; "
        "K. Nomura's AIST structure table): a = 2.464(2), c = 6.711(4) Å, C on 2b and 2c "
        "(MINCRYST lists the equivalent 2b + 2d choice), C-C 1.4226 Å in both; no AMCSD or COD "
        "graphite entry could be read and the paper itself was not read",
    ),
    StructureSpec(
        "LiFePO4",
        "LiFePO4",
        "Pnma",
        {"a": 10.332, "b": 6.010, "c": 4.692},
        (
            _s("Li", (0, 0, 0)),
            _s("Fe", (0.2822, 0.25, 0.9747)),
            _s("P", (0.0950, 0.25, 0.4182)),
            _s("O", (0.0968, 0.25, 0.7428)),
            _s("O", (0.4571, 0.25, 0.2060)),
            _s("O", (0.1656, 0.0465, 0.2848)),
        ),
        "V. A. Streltsov et al., Acta Cryst. B49, 147 (1993) (triphylite)",
        verification="not verified: not compared with Streltsov et al.; bond lengths are "
        "plausible (P-O 1.52-1.56 Å, Fe-O 2.06-2.25 Å, Li-O 2.09-2.19 Å)",
    ),
    StructureSpec(
        "AlPO4",
        "AlPO4",
        "P3_121",
        {"a": 4.9429, "c": 10.9476},
        (
            _s("Al", (0.4664, 0, 1 / 3)),
            _s("P", (0.4669, 0, 5 / 6)),
            _s("O", (0.4163, 0.2922, 0.3977)),
            _s("O", (0.4157, 0.2576, 0.8837)),
        ),
        "N. Thong, D. Schwarzenbach, Acta Cryst. A35, 658 (1979) (berlinite)",
        verification="not verified: not compared with Thong & Schwarzenbach; bond lengths are "
        "plausible (Al-O 1.73-1.74 Å, P-O 1.52 Å)",
    ),
    StructureSpec(
        "TiO2-rutile",
        "TiO2",
        "P4_2/mnm",
        {"a": 4.5937, "c": 2.9587},
        (_s("Ti", (0, 0, 0)), _s("O", (0.30478, 0.30478, 0))),
        "J. K. Burdett et al., J. Am. Chem. Soc. 109, 3639 (1987)",
        verification="partly checked: not compared with Burdett et al.; cell and O x agree "
        "with the published abstract of S. C. Abrahams, J. L. Bernstein, J. Chem. Phys. 55, "
        "3206 (1971) (single crystal, 298 K: a = 4.593659, c = 2.958682 Å, x(O) = 0.30479(10), "
        "Ti-O 1.9485, 1.9800 Å) within 0.00004 Å and 0.00001 (ours: Ti-O 1.9486, 1.9800 Å); "
        "no AMCSD or COD rutile entry could be read",
    ),
    StructureSpec(
        "TiO2-anatase",
        "TiO2",
        "I4_1/amd",
        {"a": 3.7842, "c": 9.5146},
        (_s("Ti", (0, 0, 0)), _s("O", (0, 0, 0.20806))),  # origin choice 1: 4a, 8e
        "J. K. Burdett et al., J. Am. Chem. Soc. 109, 3639 (1987)",
        verification="not verified: not compared with Burdett et al.; origin choice 1 (Ti 4a "
        "at 0,0,0; O 8e) checked (Ti4O8, Ti-O 1.934/1.980 Å); the cell is within 0.0003 Å of "
        "the Handbook of Mineralogy synthetic-anatase cell (3.7845, 9.5143 Å)",
    ),
    # Line-position and profile standards, and the phases of the real test files.
    StructureSpec(
        "corundum",
        "Al2O3",
        "R-3c",
        {"a": 4.7589, "c": 12.991},
        (_s("Al", (0, 0, 0.35216)), _s("O", (0.30624, 0, 0.25))),
        "J. Lewis, D. Schwarzenbach, H. D. Flack, Acta Cryst. A38, 733 (1982)",
        group="standard",
        verification="not verified: not compared with Lewis et al.; Al z and O x agree within "
        "0.0001 with H. Graafsma et al., Acta Cryst. B54, 193 (1998) (0.352105, 0.30626); the "
        "cell (4.7589, 12.991 Å) is the literature value the SRM 1976b test uses and was not "
        "traced to Lewis et al.; the open entry COD 1000032 (L. Lutterotti, P. Scardi, "
        "J. Appl. Cryst. 23, 246 (1990), Rietveld, R-3c) has a = 4.76050, c = 12.9956 Å "
        "(ours 0.0016 and 0.0046 Å smaller), Al z 0.35216 (same), O x 0.30668 (ours 0.00044 "
        "smaller; Al-O 1.8542/1.9733 Å there, 1.8547/1.9711 Å here); kept, as the "
        "single-crystal values of Graafsma et al. agree with ours",
    ),
    StructureSpec(
        "LaB6",
        "LaB6",
        "Pm-3m",
        {"a": 4.15689},
        (_s("La", (0, 0, 0)), _s("B", (0.1996, 0.5, 0.5))),
        "NIST SRM 660b certificate (a = 4.15689 Å); B x from the CaB6-type structure",
        group="standard",
        verification="not verified: the certificate was not re-read and B x = 0.1996 has no "
        "specific published LaB6 refinement behind it (B-B 1.659 Å between and 1.766 Å "
        "within the octahedra, both plausible)",
    ),
    StructureSpec(
        "fluorapatite",
        "Ca5(PO4)3F",
        "P6_3/m",
        {"a": 9.3973, "c": 6.8782},
        (
            _s("Ca", (1 / 3, 2 / 3, 0.0010)),
            _s("Ca", (-0.00712, 0.24227, 0.25)),
            _s("P", (0.36895, 0.39850, 0.25)),
            _s("O", (0.4849, 0.3273, 0.25)),
            _s("O", (0.4667, 0.5875, 0.25)),
            _s("O", (0.2575, 0.3421, 0.0705)),
            _s("F", (0, 0, 0.25)),
        ),
        "K. Sudarsanan, P. E. Mackie, R. A. Young, Mater. Res. Bull. 7, 1331 (1972)",
        group="standard",
        verification="not verified against Sudarsanan et al.; every coordinate agrees within "
        "0.003 with two independent refinements of natural and REE-doped apatite (J. M. Hughes "
        "et al., Am. Mineral. 75, 295 (1990), COD 9001262; M. E. Fleet, Y. Pan, Am. Mineral. 82, "
        "870 (1997), AMCSD 0001934)",
    ),
    StructureSpec(
        "NaCl",
        "NaCl",
        "Fm-3m",
        {"a": 5.6402},
        (_s("Na", (0, 0, 0)), _s("Cl", (0.5, 0.5, 0.5))),
        "H. E. Swanson, R. K. Fuyat, NBS Circular 539, vol. 2, p. 41 (1953)",
        group="standard",
        verification="not verified: a = 5.6402 Å was not compared with the NBS Circular; rock "
        "salt has no free parameters",
    ),
    StructureSpec(
        "SiC-3C",
        "SiC",
        "F-43m",
        {"a": 4.3596},
        (_s("Si", (0, 0, 0)), _s("C", (0.25, 0.25, 0.25))),
        "NBS Monograph 25, sect. 2 (1963) (β-SiC, moissanite-3C)",
        group="standard",
        verification="not verified: a = 4.3596 Å was not traced to the cited NBS Monograph "
        "section; zinc blende (4a, 4c) has no free parameters",
    ),
    StructureSpec(
        "Zn",
        "Zn",
        "P6_3/mmc",
        {"a": 2.6649, "c": 4.9468},
        (_s("Zn", (1 / 3, 2 / 3, 0.25)),),  # 2c
        "H. E. Swanson, E. Tatge, NBS Circular 539, vol. 1, p. 16 (1953)",
        group="standard",
        verification="not verified: a, c were not compared with the NBS Circular; hcp Zn on 2c "
        "has no free parameters",
    ),
    StructureSpec(
        "ZrO2-monoclinic",
        "ZrO2",
        "P2_1/c",
        {"a": 5.1505, "b": 5.2116, "c": 5.3173, "beta": 99.23},
        (
            _s("Zr", (0.2754, 0.0395, 0.2083)),
            _s("O", (0.0700, 0.3317, 0.3447)),
            _s("O", (0.4496, 0.7569, 0.4792)),
        ),
        "C. J. Howard, R. J. Hill, B. E. Reichert, Acta Cryst. B44, 116 (1988) (baddeleyite)",
        group="standard",
        verification="partly checked: the cell equals the baddeleyite cell quoted in secondary "
        "mineral references (5.1505, 5.2116, 5.3173 Å, 99.23°); the coordinates were not "
        "compared with Howard et al. (Zr-O 2.05-2.27 Å, plausible)",
    ),
)


def _lattice(spec: StructureSpec) -> Any:
    from pymatgen.core import Lattice

    p = spec.lattice
    a = p["a"]
    return Lattice.from_parameters(
        a,
        p.get("b", a),
        p.get("c", a),
        p.get("alpha", 90.0),
        p.get("beta", 90.0),
        p.get("gamma", 120.0 if _is_hexagonal_group(spec.space_group) else 90.0),
    )


def _is_hexagonal_group(symbol: str) -> bool:
    from pymatgen.symmetry.groups import SpaceGroup

    n = SpaceGroup(symbol).int_number
    return 143 <= n <= 194


def build_structure(spec: StructureSpec) -> Any:
    """The pymatgen Structure of ``spec`` (conventional cell, hexagonal axes for R groups)."""
    from pymatgen.core import Structure

    species = [el for el, _ in spec.sites]
    coords = [list(xyz) for _, xyz in spec.sites]
    return Structure.from_spacegroup(spec.space_group, _lattice(spec), species, coords)


def write_reference_cifs(
    folder: str | PathLike[str], names: Sequence[str] | None = None
) -> list[Path]:
    """Write one CIF per entry of :data:`REFERENCE_STRUCTURES` into ``folder``.

    This is how ``reference_patterns/*.cif`` were made; rerun it to check or regenerate them
    (``python -c "from charact.xrd.phases import write_reference_cifs as w;
    w('reference_patterns')"``).
    """
    from pymatgen.io.cif import CifWriter

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for spec in REFERENCE_STRUCTURES:
        if names is not None and spec.name not in names:
            continue
        s = build_structure(spec)
        path = out / f"{spec.name}.cif"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            text = str(CifWriter(s, symprec=0.01))
        header = (
            f"# charact reference phase {spec.name} ({spec.formula}, {spec.space_group})\n"
            f"# source: {spec.source}\n"
            + (f"# note: {spec.note}\n" if spec.note else "")
            + f"# verification: {spec.verification}\n"
        )
        path.write_text(header + text, encoding="utf-8")
        written.append(path)
    return written


def reference_patterns_dir() -> Path:
    """The folder of the built-in reference CIFs.

    ``$CHARACT_REFERENCE_PATTERNS`` when set, else ``<repo>/reference_patterns``.

    Raises
    ------
    InputError
        If the folder does not exist.
    """
    env = os.environ.get("CHARACT_REFERENCE_PATTERNS")
    folder = (
        Path(env) if env else Path(charact.__file__).resolve().parents[1] / "reference_patterns"
    )
    if not folder.is_dir():
        raise InputError(
            f"the reference-pattern folder {folder} does not exist",
            hint="set CHARACT_REFERENCE_PATTERNS to a folder of CIFs, or reinstall charact "
            "from a source checkout (reference_patterns/ sits beside the charact package)",
        )
    return folder


# --------------------------------------------------------------------------- phases


@dataclass
class ReferencePhase:
    """A reference phase: its structure, where it came from, and its crystal system."""

    name: str
    structure: Any
    cif_path: Path | None
    sha256: str
    source: str = ""
    note: str = ""
    group: str = "user"

    @functools.cached_property
    def crystal_system(self) -> str:
        return _crystal_system(self.structure)

    @property
    def formula(self) -> str:
        return str(self.structure.composition.reduced_formula)

    @property
    def lattice(self) -> dict[str, float]:
        lat = self.structure.lattice
        return {
            "a": lat.a,
            "b": lat.b,
            "c": lat.c,
            "alpha": lat.alpha,
            "beta": lat.beta,
            "gamma": lat.gamma,
        }


def _crystal_system(structure: Any) -> str:
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return str(SpacegroupAnalyzer(structure, symprec=0.01).get_crystal_system())
    except Exception:  # a disordered or odd structure: treat it as triclinic
        return "triclinic"


_SPEC_BY_NAME = {s.name: s for s in REFERENCE_STRUCTURES}
_phase_cache: dict[tuple[str, str], ReferencePhase] = {}
_lock = threading.RLock()


def load_reference_phase(path: str | PathLike[str], *, name: str | None = None) -> ReferencePhase:
    """Read a CIF into a :class:`ReferencePhase` (name = file stem unless given).

    Raises
    ------
    CorruptFileError
        If the CIF does not parse into a structure.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise InputError("no such CIF file", path=p) from None
    sha = hashlib.sha256(data).hexdigest()
    key = (str(p.resolve()), sha)
    with _lock:
        if key in _phase_cache:
            return _phase_cache[key]
    from pymatgen.io.cif import CifParser

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            structures = CifParser.from_str(data.decode("utf-8", "replace")).parse_structures(
                primitive=False
            )
    except Exception as exc:
        raise CorruptFileError(
            f"the CIF does not parse into a crystal structure ({type(exc).__name__}: {exc})",
            path=p,
        ) from None
    if not structures:
        raise CorruptFileError("the CIF holds no structure pymatgen can build", path=p)
    phase_name = name or p.stem
    spec = _SPEC_BY_NAME.get(phase_name)
    phase = ReferencePhase(
        name=phase_name,
        structure=structures[0],
        cif_path=p,
        sha256=sha,
        source=spec.source if spec else f"user CIF {p.name}",
        note=spec.note if spec else "",
        group=spec.group if spec else "user",
    )
    with _lock:
        _phase_cache[key] = phase
    return phase


def load_phase_library(
    names: Sequence[str] | None = None,
    *,
    phases_dir: str | PathLike[str] | Iterable[str | PathLike[str]] | None = None,
    builtin: bool = True,
) -> list[ReferencePhase]:
    """The reference phases to search: built-in CIFs plus the CIFs of ``phases_dir``.

    Parameters
    ----------
    names
        Keep only these phases (case-insensitive); unknown names raise with the known ones.
    phases_dir
        A folder (or several) of user CIFs; a user phase replaces a built-in of the same name.
    builtin
        Include the built-in library.
    """
    files: dict[str, Path] = {}
    if builtin:
        for f in sorted(reference_patterns_dir().glob("*.cif")):
            files[f.stem] = f
    if phases_dir is not None:
        dirs = [phases_dir] if isinstance(phases_dir, str | PathLike) else list(phases_dir)
        for d in dirs:
            d = Path(d)
            if not d.is_dir():
                raise InputError(f"phases folder {d} does not exist")
            for f in sorted(d.glob("*.cif")):
                files[f.stem] = f
    if names:
        lower = {k.lower(): k for k in files}
        missing = [n for n in names if n.lower() not in lower]
        if missing:
            raise InputError(
                f"unknown phase(s) {', '.join(missing)}; known: {', '.join(sorted(files))}"
            )
        files = {lower[n.lower()]: files[lower[n.lower()]] for n in names}
    return [load_reference_phase(f, name=n) for n, f in files.items()]


# --------------------------------------------------------------------------- sticks


@dataclass
class StickPattern:
    """Calculated reflections of one phase: Kα1 positions, intensities (max 100), hkl."""

    phase: str
    wavelength: float
    two_theta: np.ndarray
    intensity: np.ndarray
    hkl: list[tuple[int, int, int]]
    d_spacing: np.ndarray
    multiplicity: list[int] = field(default_factory=list)


_stick_cache: dict[tuple[str, float, float, float], StickPattern] = {}

#: Bumped when the layout of a cached stick file changes (old files are then recomputed).
_STICK_CACHE_FORMAT = 1


def stick_cache_dir() -> Path | None:
    """The folder of the on-disk stick-pattern cache, or ``None`` when it is switched off.

    ``$CHARACT_CACHE_DIR/xrd-sticks`` when that variable is set (an empty value or ``off``
    switches the disk cache off), else the user cache folder of the platform:
    ``$XDG_CACHE_HOME/charact/xrd-sticks`` (default ``~/.cache``, XDG Base Directory
    Specification) on Linux, ``~/Library/Caches/charact/xrd-sticks`` on macOS and
    ``%LOCALAPPDATA%\\charact\\xrd-sticks`` on Windows.
    """
    env = os.environ.get("CHARACT_CACHE_DIR")
    if env is not None:
        if env.strip().lower() in ("", "off", "none", "0"):
            return None
        return Path(env).expanduser() / "xrd-sticks"
    if sys.platform.startswith("win"):
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "charact" / "xrd-sticks"


def _pymatgen_version() -> str:
    try:
        from importlib.metadata import version

        return version("pymatgen")
    except Exception:  # an unusual install without metadata: key on the module's own
        import pymatgen.core

        return str(getattr(pymatgen.core, "__version__", "unknown"))


def _stick_key(sha256: str, wavelength: float, wlo: float, whi: float) -> dict[str, Any]:
    return {
        "format": _STICK_CACHE_FORMAT,
        "cif_sha256": sha256,
        "wavelength": round(float(wavelength), 7),
        "two_theta_range": [float(wlo), float(whi)],
        "pymatgen": _pymatgen_version(),
    }


def _stick_file(folder: Path, key: dict[str, Any]) -> Path:
    text = json.dumps(key, sort_keys=True, separators=(",", ":"))
    return folder / (hashlib.sha256(text.encode("utf-8")).hexdigest() + ".json")


def _read_cached_sticks(path: Path, key: dict[str, Any], name: str) -> StickPattern | None:
    """The stick pattern stored at ``path`` if it is intact and made for ``key``, else None."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("key") != key:
            return None
        tt = np.asarray(doc["two_theta"], float)
        inten = np.asarray(doc["intensity"], float)
        d = np.asarray(doc["d_spacing"], float)
        hkl = [tuple(int(v) for v in h) for h in doc["hkl"]]
        mult = [int(m) for m in doc["multiplicity"]]
        n = tt.size
        if not (
            tt.ndim == inten.ndim == d.ndim == 1
            and inten.size == d.size == len(hkl) == len(mult) == n
            and all(len(h) == 3 for h in hkl)
            and np.all(np.isfinite(tt))
            and np.all(np.isfinite(inten))
            and np.all(np.diff(tt) >= 0)
        ):
            return None
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    return StickPattern(name, float(key["wavelength"]), tt, inten, hkl, d, mult)  # type: ignore[arg-type]


def _write_cached_sticks(path: Path, key: dict[str, Any], sp: StickPattern) -> None:
    from ..core.store import atomic_write

    doc = {
        "key": key,
        "phase": sp.phase,
        "two_theta": sp.two_theta.tolist(),
        "intensity": sp.intensity.tolist(),
        "d_spacing": sp.d_spacing.tolist(),
        "hkl": [list(h) for h in sp.hkl],
        "multiplicity": list(sp.multiplicity),
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as fh:
            json.dump(doc, fh)
    except OSError:  # a read-only or full cache folder: the memory cache still works
        pass


def _three_index(hkl: Sequence[int]) -> tuple[int, int, int]:
    # pymatgen writes Miller–Bravais (h k i l) for hexagonal lattices; i = -(h + k) is redundant.
    if len(hkl) == 4:
        return (int(hkl[0]), int(hkl[1]), int(hkl[3]))
    return (int(hkl[0]), int(hkl[1]), int(hkl[2]))


def _compute_sticks(
    phase: ReferencePhase, wavelength: float, wlo: float, whi: float
) -> StickPattern:
    from pymatgen.analysis.diffraction.xrd import XRDCalculator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pat = XRDCalculator(wavelength=float(wavelength)).get_pattern(
            phase.structure, scaled=False, two_theta_range=(wlo, whi)
        )
    return StickPattern(
        phase.name,
        float(wavelength),
        np.asarray(pat.x, float),
        np.asarray(pat.y, float),
        [_three_index(h[0]["hkl"]) for h in pat.hkls],
        np.asarray(pat.d_hkls, float),
        [int(sum(x["multiplicity"] for x in h)) for h in pat.hkls],
    )


def stick_pattern(
    phase: ReferencePhase,
    wavelength: float,
    two_theta_range: tuple[float, float],
    *,
    cache_dir: str | PathLike[str] | bool | None = True,
) -> StickPattern:
    """Stick pattern of ``phase`` for ``wavelength`` (Å) over ``two_theta_range`` (deg).

    Intensities are scaled to 100 for the strongest line inside the range. The pattern is
    computed once per (CIF sha256, wavelength) over 5–150° (or wider when asked), kept in
    memory, and stored on disk (one JSON file per key, written atomically) so that later
    sessions read it instead of recomputing it. The disk key is the CIF's SHA-256, the
    wavelength, the computed 2θ range, the pymatgen version and the cache format; a file
    that does not parse or was made for another key is recomputed and replaced.

    Parameters
    ----------
    cache_dir
        ``True`` (default): :func:`stick_cache_dir`; a folder: use it; ``False``/``None``:
        memory only.
    """
    if not (np.isfinite(wavelength) and 0.01 < wavelength < 10):
        raise InputError(f"wavelength must be in Å (0.01-10), got {wavelength!r}")
    lo, hi = float(max(two_theta_range[0], 1.0)), float(min(two_theta_range[1], 179.0))
    if hi <= lo:
        raise InputError(f"2θ range {two_theta_range} is empty")
    # Compute once over a wide standard range per (CIF, λ) and cut it: patterns of one
    # session differ in range far more often than in wavelength.
    wlo, whi = min(lo, 5.0), max(hi, 150.0)
    key = (phase.sha256, round(float(wavelength), 7), wlo, whi)
    with _lock:
        full = _stick_cache.get(key)
    if full is None:
        folder = (
            stick_cache_dir() if cache_dir is True else (Path(cache_dir) if cache_dir else None)
        )
        disk_key = _stick_key(phase.sha256, wavelength, wlo, whi)
        path = _stick_file(folder, disk_key) if folder is not None else None
        if path is not None and path.is_file():
            full = _read_cached_sticks(path, disk_key, phase.name)
        if full is None:
            full = _compute_sticks(phase, wavelength, wlo, whi)
            if path is not None:
                _write_cached_sticks(path, disk_key, full)
        with _lock:
            _stick_cache[key] = full
    m = (full.two_theta >= lo) & (full.two_theta <= hi)
    idx = np.flatnonzero(m)
    inten = full.intensity[m]
    top = float(inten.max()) if inten.size else 1.0
    return StickPattern(
        phase.name,
        full.wavelength,
        full.two_theta[m],
        100.0 * inten / top,
        [full.hkl[i] for i in idx],
        full.d_spacing[m],
        [full.multiplicity[i] for i in idx],
    )


# --------------------------------------------------------------------------- crystal systems

#: Free cell parameters per crystal system (the others follow by symmetry).
_FREE = {
    "cubic": ("a",),
    "tetragonal": ("a", "c"),
    "hexagonal": ("a", "c"),
    "trigonal": ("a", "c"),
    "orthorhombic": ("a", "b", "c"),
    "monoclinic": ("a", "b", "c", "beta"),
    "triclinic": ("a", "b", "c", "alpha", "beta", "gamma"),
}


def crystal_system_params(system: str) -> tuple[str, ...]:
    """Names of the free lattice parameters of a crystal system (monoclinic: unique axis b)."""
    try:
        return _FREE[system]
    except KeyError:
        raise InputError(f"unknown crystal system {system!r}; known: {', '.join(_FREE)}") from None


def cell_from_free(system: str, free: dict[str, float]) -> dict[str, float]:
    """Full (a, b, c, α, β, γ) from the free parameters of ``system``."""
    a = free["a"]
    if system == "cubic":
        return {"a": a, "b": a, "c": a, "alpha": 90.0, "beta": 90.0, "gamma": 90.0}
    if system == "tetragonal":
        return {"a": a, "b": a, "c": free["c"], "alpha": 90.0, "beta": 90.0, "gamma": 90.0}
    if system in ("hexagonal", "trigonal"):
        return {"a": a, "b": a, "c": free["c"], "alpha": 90.0, "beta": 90.0, "gamma": 120.0}
    if system == "orthorhombic":
        return {"a": a, "b": free["b"], "c": free["c"], "alpha": 90.0, "beta": 90.0, "gamma": 90.0}
    if system == "monoclinic":
        return {
            "a": a,
            "b": free["b"],
            "c": free["c"],
            "alpha": 90.0,
            "beta": free["beta"],
            "gamma": 90.0,
        }
    return dict(free)


def d_spacing(cell: dict[str, float], hkl: np.ndarray) -> np.ndarray:
    """d (Å) of reflections ``hkl`` (n×3) for a general cell, from the reciprocal metric."""
    a, b, c = cell["a"], cell["b"], cell["c"]
    al, be, ga = (math.radians(cell[k]) for k in ("alpha", "beta", "gamma"))
    g = np.array(
        [
            [a * a, a * b * math.cos(ga), a * c * math.cos(be)],
            [a * b * math.cos(ga), b * b, b * c * math.cos(al)],
            [a * c * math.cos(be), b * c * math.cos(al), c * c],
        ]
    )
    gstar = np.linalg.inv(g)
    h = np.atleast_2d(np.asarray(hkl, float))
    q = np.einsum("ni,ij,nj->n", h, gstar, h)
    return 1.0 / np.sqrt(q)


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class PhaseEntry:
    """What :data:`charact.core.registry.PHASES` holds for a built-in phase (parsed lazily)."""

    name: str
    cif_path: Path
    formula: str
    space_group: str
    source: str
    group: str

    def load(self) -> ReferencePhase:
        """Parse the CIF into a :class:`ReferencePhase`."""
        return load_reference_phase(self.cif_path, name=self.name)


def _register_builtin() -> None:
    try:
        folder = reference_patterns_dir()
    except InputError:  # a wheel without the data folder: nothing to register
        return
    for spec in REFERENCE_STRUCTURES:
        path = folder / f"{spec.name}.cif"
        if path.is_file():
            PHASES.register(
                spec.name,
                PhaseEntry(
                    spec.name, path, spec.formula, spec.space_group, spec.source, spec.group
                ),
                replace=True,
            )


_register_builtin()
