"""Distance-least-squares (DLS) model of the LATP framework (private).

No open coordinate table of LiTi2(PO4)3 or LATP could be used for the reference library, so
its framework coordinates are a model: the NASICON positions are refined, in the published
cell and space group, until the interatomic distances match targets derived from bond
valences. This is the distance-least-squares method of W. M. Meier and H. Villiger,
Z. Kristallogr. 129, 411 (1969).

Targets (bond valence s = exp((R0 - d)/b), I. D. Brown and D. Altermatt, Acta Cryst. B41, 244
(1985), b = 0.37 Å):

* P–O: P5+ shares 5 v.u. over 4 bonds, s = 1.25, R0 = 1.617 Å, d = 1.534 Å;
* O–O edges of the PO4 tetrahedron: d(P–O)·√(8/3) (a regular tetrahedron);
* Ti–O: Ti4+ shares 4 v.u. over 6 bonds, s = 2/3, R0 = 1.815 Å, d = 1.965 Å (the 15 % Al on
  the site is ignored);
* cis O–O edges of the TiO6 octahedron: d(Ti–O)·√2 (a regular octahedron);
* Li–O at the 6b site: 2.25 Å, with a small weight (the Li site only holds the framework
  from collapsing along c; it is not a bond-valence target).

The bonds and edges to refine are chosen once, at the starting model: the 4 nearest O of P,
the 6 nearest O of Ti and of Li, and the O–O pairs within those polyhedra (the 12 shortest of
the 15 pairs of an octahedron are its cis edges). Each neighbour is followed through the
symmetry operation and lattice translation that made it, so every distance is a smooth
function of the 8 free coordinates and the neighbour set cannot switch during the fit.
The start is the NASICON isotype Na3Cr2(PO4)3, COD 1008846 (G. Lucazeau et al., Solid State
Ionics 18-19, 959 (1986); COD entries are public domain).

:func:`latp_dls` runs the fit; :func:`polyhedron_distances` measures a built structure with
pymatgen neighbour lists (used to check the shipped CIF).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Cell of the LATP reference entry (Å), hexagonal axes of R-3c.
LATP_CELL = {"a": 8.500, "c": 20.820}

#: Bond-valence parameters (Brown & Altermatt 1985): R0 in Å, b in Å.
R0 = {"P": 1.617, "Ti": 1.815}
B_BV = 0.37


def bond_valence_distance(r0: float, valence: float, n_bonds: int, b: float = B_BV) -> float:
    """Distance at which ``n_bonds`` equal bonds sum to ``valence``: R0 − b·ln(V/N)."""
    return r0 - b * math.log(valence / n_bonds)


D_PO = bond_valence_distance(R0["P"], 5, 4)  # 1.5344 Å
D_TIO = bond_valence_distance(R0["Ti"], 4, 6)  # 1.9650 Å
D_LIO = 2.25

#: Free coordinates, in this order: Ti z (12c), P x (18e), O1 x y z, O2 x y z (36f).
PARAMS = ("Ti_z", "P_x", "O1_x", "O1_y", "O1_z", "O2_x", "O2_y", "O2_z")

#: Start: Na3Cr2(PO4)3, COD 1008846 (Cr on the Ti site; O2 z ≈ 0.08 as quoted). The start
#: only picks the neighbour sets and the basin: other starts reach the same minimum.
COD_1008846_START = (0.1465, 0.2911, 0.1746, -0.0306, 0.1934, 0.1925, 0.1675, 0.08)

#: Allowed spread (Å) of each kind of distance; a residual is (d − target)/σ. P–O bonds
#: vary least in phosphates, octahedral edges and the Li site most. The model depends on
#: this choice: other reasonable σ (or unit weights, or the T–O : O–O : other weights
#: 2 : 0.61 : 0.23 of the DLS-76 program) move single
#: coordinates by up to 0.015.
SIGMA = {"P-O": 0.01, "O-O tet": 0.03, "Ti-O": 0.02, "O-O oct": 0.06, "Li-O": 0.10}


def sites(p: tuple[float, ...] | np.ndarray) -> dict[str, tuple[float, float, float]]:
    """Asymmetric unit of the R-3c model for the free coordinates ``p`` (see :data:`PARAMS`)."""
    tz, px, o1x, o1y, o1z, o2x, o2y, o2z = (float(v) for v in p)
    return {
        "Li": (0.0, 0.0, 0.0),  # 6b
        "Ti": (0.0, 0.0, tz),  # 12c
        "P": (px, 0.0, 0.25),  # 18e
        "O1": (o1x, o1y, o1z),  # 36f
        "O2": (o2x, o2y, o2z),  # 36f
    }


def latp_structure(p: tuple[float, ...] | np.ndarray, cell: dict[str, float] | None = None) -> Any:
    """The pymatgen structure of the model (``Structure.from_spacegroup``, Ti0.85Al0.15 on 12c)."""
    from pymatgen.core import Lattice, Structure

    c = cell or LATP_CELL
    s = sites(p)
    return Structure.from_spacegroup(
        "R-3c",
        Lattice.hexagonal(c["a"], c["c"]),
        ["Li", {"Ti": 0.85, "Al": 0.15}, "P", "O", "O"],
        [s["Li"], s["Ti"], s["P"], s["O1"], s["O2"]],
    )


def _ops() -> list[tuple[np.ndarray, np.ndarray]]:
    from pymatgen.symmetry.groups import SpaceGroup

    ops = [
        (np.array(op.rotation_matrix, float), np.array(op.translation_vector, float))
        for op in SpaceGroup("R-3c").symmetry_ops
    ]

    # The set pymatgen returns is unordered; a fixed order, identity first, keeps the fit
    # reproducible and lets index 0 stand for the asymmetric unit itself.
    def key(rt: tuple[np.ndarray, np.ndarray]) -> tuple[Any, ...]:
        identity = np.allclose(rt[0], np.eye(3)) and np.allclose(rt[1] % 1, 0)
        return (not identity, *np.round(np.concatenate([rt[0].ravel(), rt[1] % 1]), 6))

    ops.sort(key=key)
    return ops


def _matrix(cell: dict[str, float]) -> np.ndarray:
    from pymatgen.core import Lattice

    return np.array(Lattice.hexagonal(cell["a"], cell["c"]).matrix)


@dataclass(frozen=True)
class _Term:
    kind: str  # key of SIGMA
    target: float
    a: tuple[str, int, tuple[int, int, int]]  # (site, op index, translation)
    b: tuple[str, int, tuple[int, int, int]]


def _position(
    site: str, op: int, shift: tuple[int, int, int], p: Any, ops: list[Any]
) -> np.ndarray:
    rot, tr = ops[op]
    return rot @ np.asarray(sites(p)[site]) + tr + np.asarray(shift, float)


def _topology(p0: Any, ops: list[Any], lat: np.ndarray) -> list[_Term]:
    """The distances to refine, chosen at the starting model ``p0``."""
    shifts = [(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)]
    oxygens = [
        (s, k, t, _position(s, k, t, p0, ops))
        for s in ("O1", "O2")
        for k in range(len(ops))
        for t in shifts
    ]
    # The same O atom made by several operations: keep one (by its Cartesian position).
    unique: dict[tuple[float, ...], tuple[str, int, tuple[int, int, int], np.ndarray]] = {}
    for o in oxygens:
        unique.setdefault(tuple(np.round(o[3] @ lat, 4)), o)
    ox = list(unique.values())
    xyz = np.array([o[3] @ lat for o in ox])
    terms: list[_Term] = []
    for cation, n, bond, d, edge in (
        ("P", 4, "P-O", D_PO, "O-O tet"),
        ("Ti", 6, "Ti-O", D_TIO, "O-O oct"),
        ("Li", 6, "Li-O", D_LIO, None),
    ):
        c = np.asarray(sites(p0)[cation]) @ lat
        near = np.argsort(np.linalg.norm(xyz - c, axis=1))[:n]
        centre = (cation, 0, (0, 0, 0))  # op 0 is the identity
        for i in near:
            terms.append(_Term(bond, d, centre, ox[i][:3]))
        if edge is None:
            continue
        pairs = [(i, j) for ii, i in enumerate(near) for j in near[ii + 1 :]]
        pairs.sort(key=lambda ij: float(np.linalg.norm(xyz[ij[0]] - xyz[ij[1]])))
        n_edges = 6 if n == 4 else 12  # all edges of a tetrahedron; cis edges of an octahedron
        target = d * (math.sqrt(8 / 3) if n == 4 else math.sqrt(2))
        for i, j in pairs[:n_edges]:
            terms.append(_Term(edge, target, ox[i][:3], ox[j][:3]))
    return terms


@dataclass
class DLSResult:
    """Outcome of :func:`latp_dls`: the refined coordinates and the fitted distances."""

    params: dict[str, float]
    distances: dict[str, list[float]]
    #: Cation–O distances of the fitted structure measured again by neighbour lists on
    #: :func:`latp_structure` (all sites of the cell), as a check of the fit's bookkeeping.
    neighbour_distances: dict[str, list[float]]
    success: bool
    message: str


def latp_dls(
    start: tuple[float, ...] = COD_1008846_START, cell: dict[str, float] | None = None
) -> DLSResult:
    """Refine the 8 free LATP framework coordinates to the bond-valence distances.

    ``scipy.optimize.least_squares`` (trust-region reflective, finite-difference Jacobian)
    minimises Σ ((d − d_target)/σ)² over the terms listed in the module docstring, σ from
    :data:`SIGMA`; the coordinates are bounded within ±0.05 of the start.
    """
    from scipy.optimize import least_squares

    cell = dict(cell or LATP_CELL)
    ops = _ops()
    lat = _matrix(cell)
    p0 = np.asarray(start, float)
    terms = _topology(p0, ops, lat)
    w = 1.0 / np.array([SIGMA[t.kind] for t in terms])
    target = np.array([t.target for t in terms])

    def dist(p: np.ndarray) -> np.ndarray:
        return np.array(
            [
                np.linalg.norm((_position(*t.a, p, ops) - _position(*t.b, p, ops)) @ lat)
                for t in terms
            ]
        )

    fit = least_squares(
        lambda p: w * (dist(p) - target),
        p0,
        bounds=(p0 - 0.05, p0 + 0.05),
        x_scale=0.01,
        xtol=1e-12,
        ftol=1e-12,
        gtol=1e-12,
    )
    d = dist(fit.x)
    kinds = list(SIGMA)
    by_kind = {
        k: sorted(float(v) for v, t in zip(d, terms, strict=True) if t.kind == k) for k in kinds
    }
    params = {k: float(v) for k, v in zip(PARAMS, fit.x, strict=True)}
    built = latp_structure(fit.x, cell)
    neighbours = {
        f"{el}-O": polyhedron_distances(built, el, n) for el, n in (("P", 4), ("Ti", 6), ("Li", 6))
    }
    return DLSResult(
        params=params,
        distances=by_kind,
        neighbour_distances=neighbours,
        success=bool(fit.success),
        message=str(fit.message),
    )


def polyhedron_distances(structure: Any, cation: str, n: int, anion: str = "O") -> list[float]:
    """The ``n`` shortest cation–anion distances around every ``cation`` site (neighbour list).

    A site whose species include ``cation`` (also a mixed site such as Ti0.85Al0.15) counts.
    """
    out: list[float] = []
    for i, site in enumerate(structure):
        if cation not in {el.symbol for el in site.species.elements}:
            continue
        near = sorted(
            nb.nn_distance
            for nb in structure.get_neighbors(structure[i], 3.2)
            if anion in {el.symbol for el in nb.species.elements}
        )
        out.extend(near[:n])
    return out
