"""Impedance: Kramers–Kronig validation, equivalent-circuit strings, fitting.

Circuit strings
    Elements joined in series by ``-``; ``p(a,b,...)`` puts branches in parallel. Element
    names are a type followed by a label: ``R0-p(R1,CPE1)-p(R2,CPE2)-W1``. Types:

    =======  =================================  ===================================
    ``R``    resistor                           ``R`` (Ohm)
    ``C``    capacitor                          ``C`` (F)
    ``L``    inductor                           ``L`` (H)
    ``CPE``  constant-phase element             ``Q`` (F s^(alpha-1)), ``alpha``
             Z = 1 / (Q (jω)^alpha)
    ``W``    semi-infinite Warburg              ``sigma`` (Ohm s^-1/2)
             Z = sigma (1 - j) / sqrt(ω)
    ``Wo``   finite-space (open) Warburg        ``R`` (Ohm), ``tau`` (s)
             Z = R coth(sqrt(jωτ)) / sqrt(jωτ)
    ``Ws``   finite-length (short) Warburg      ``R`` (Ohm), ``tau`` (s)
             Z = R tanh(sqrt(jωτ)) / sqrt(jωτ)
    =======  =================================  ===================================

    Parameter names are the element name for one-parameter elements (``R0``, ``C1``,
    ``L0``) and ``<element>_<parameter>`` otherwise (``CPE1_Q``, ``CPE1_alpha``,
    ``Wo1_tau``).

Arcs
    An *arc* is a parallel pair ``p(R, C)`` or ``p(R, CPE)``; its time constant is
    τ = R·C or τ = (R·Q)^(1/alpha). After a fit, arcs of the same structure are permuted so
    that their τ increases along the string: the first arc is always the fastest (e.g. SEI),
    the next the slower (e.g. charge transfer) — fits of a series never swap them.

Kramers–Kronig
    Linear KK test of Schönleber, Klotz & Ivers-Tiffée, Electrochim. Acta 131, 20 (2014):
    M Voigt elements with fixed τ log-spaced over 1/ω_max … 1/ω_min, fitted linearly; M is
    increased until μ = 1 − Σ|R_k<0| / Σ|R_k≥0| falls below c = 0.85. The relative
    residuals then say whether the spectrum is causal, linear and stable.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr
from scipy.optimize import least_squares

from ..core.data import FitResult, Parameter, provenance_of
from ..core.errors import FitError, InputError
from .io import eis_arrays

__all__ = [
    "ELEMENTS",
    "Circuit",
    "EISFit",
    "KKResult",
    "check_kramers_kronig",
    "fit_circuit",
    "fit_circuit_series",
    "parse_circuit",
    "validate_spectrum",
]


# --------------------------------------------------------------------------- elements


def _z_r(w: np.ndarray, p: Sequence[float]) -> np.ndarray:
    return np.full(w.shape, p[0], dtype=complex)


def _z_c(w: np.ndarray, p: Sequence[float]) -> np.ndarray:
    return 1.0 / (1j * w * p[0])


def _z_l(w: np.ndarray, p: Sequence[float]) -> np.ndarray:
    return 1j * w * p[0]


def _z_cpe(w: np.ndarray, p: Sequence[float]) -> np.ndarray:
    return 1.0 / (p[0] * (1j * w) ** p[1])


def _z_w(w: np.ndarray, p: Sequence[float]) -> np.ndarray:
    return p[0] * (1 - 1j) / np.sqrt(w)


def _z_wo(w: np.ndarray, p: Sequence[float]) -> np.ndarray:
    s = np.sqrt(1j * w * p[1])
    return p[0] / (s * np.tanh(s))


def _z_ws(w: np.ndarray, p: Sequence[float]) -> np.ndarray:
    s = np.sqrt(1j * w * p[1])
    return p[0] * np.tanh(s) / s


@dataclass(frozen=True)
class ElementType:
    """An element type: parameter names, units, Z and bounds (Z with its derivatives is
    compiled inline by :meth:`Circuit.compile`)."""

    prefix: str
    params: tuple[str, ...]
    units: tuple[str, ...]
    func: Callable[[np.ndarray, Sequence[float]], np.ndarray]
    bounds: tuple[tuple[float, float], ...]


#: Element types by prefix; longest prefixes are matched first when parsing.
ELEMENTS: dict[str, ElementType] = {
    "CPE": ElementType(
        "CPE",
        ("Q", "alpha"),
        ("F*s^(alpha-1)", "1"),
        _z_cpe,
        ((0, np.inf), (0.3, 1.0)),
    ),
    "Wo": ElementType("Wo", ("R", "tau"), ("ohm", "s"), _z_wo, ((0, np.inf), (0, np.inf))),
    "Ws": ElementType("Ws", ("R", "tau"), ("ohm", "s"), _z_ws, ((0, np.inf), (0, np.inf))),
    "W": ElementType("W", ("sigma",), ("ohm*s^-0.5",), _z_w, ((0, np.inf),)),
    "R": ElementType("R", ("R",), ("ohm",), _z_r, ((0, np.inf),)),
    "C": ElementType("C", ("C",), ("F",), _z_c, ((0, np.inf),)),
    "L": ElementType("L", ("L",), ("H",), _z_l, ((0, np.inf),)),
}


# --------------------------------------------------------------------------- parser


@dataclass
class Node:
    kind: str  # "element", "series", "parallel"
    name: str = ""
    etype: str = ""
    children: list[Node] = field(default_factory=list)


def _circuit_error(text: str, pos: int, what: str) -> InputError:
    pointer = " " * pos + "^"
    return InputError(f"circuit string: {what} at character {pos + 1}\n  {text}\n  {pointer}")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def parse(self) -> Node:
        if not self.text.strip():
            raise _circuit_error(self.text, 0, "empty circuit")
        node = self.series()
        if self.pos != len(self.text):
            raise _circuit_error(self.text, self.pos, f"unexpected {self.peek()!r}")
        return node

    def series(self) -> Node:
        items = [self.term()]
        while self.peek() == "-":
            self.pos += 1
            items.append(self.term())
        return items[0] if len(items) == 1 else Node("series", children=items)

    def term(self) -> Node:
        t = self.text
        if t.startswith("p(", self.pos):
            self.pos += 2
            branches = [self.series()]
            while self.peek() == ",":
                self.pos += 1
                branches.append(self.series())
            if self.peek() != ")":
                raise _circuit_error(t, self.pos, "expected ',' or ')' to close p(")
            self.pos += 1
            if len(branches) < 2:
                raise _circuit_error(t, self.pos - 1, "p( needs at least two branches")
            return Node("parallel", children=branches)
        start = self.pos
        while self.pos < len(t) and (t[self.pos].isalnum() or t[self.pos] == "_"):
            self.pos += 1
        word = t[start : self.pos]
        if not word:
            what = f"unexpected {t[start]!r}" if start < len(t) else "unexpected end"
            raise _circuit_error(t, start, f"{what}; expected an element (R, C, L, CPE, W, Wo, Ws)")
        for prefix in sorted(ELEMENTS, key=len, reverse=True):
            if word.startswith(prefix) and (
                word[len(prefix) :] == "" or not word[len(prefix)].isupper()
            ):
                return Node("element", name=word, etype=prefix)
        raise _circuit_error(t, start, f"unknown element {word!r}; types are {', '.join(ELEMENTS)}")


class Circuit:
    """A parsed circuit: parameter names, impedance function, arcs."""

    def __init__(self, text: str) -> None:
        self.text = text.replace(" ", "")
        self.root = _Parser(self.text).parse()
        self.elements: list[Node] = []
        self._collect(self.root)
        names = [e.name for e in self.elements]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise InputError(f"circuit string {text!r}: element name(s) used twice: {dup}")
        self.parameter_names: list[str] = []
        self.parameter_units: list[str] = []
        self.bounds: list[tuple[float, float]] = []
        self._slices: dict[str, slice] = {}
        for e in self.elements:
            et = ELEMENTS[e.etype]
            a = len(self.parameter_names)
            for pn, pu, b in zip(et.params, et.units, et.bounds, strict=True):
                self.parameter_names.append(e.name if len(et.params) == 1 else f"{e.name}_{pn}")
                self.parameter_units.append(pu)
                self.bounds.append(b)
            self._slices[e.name] = slice(a, len(self.parameter_names))
        self.arcs = self._find_arcs(self.root)

    def _collect(self, node: Node) -> None:
        if node.kind == "element":
            self.elements.append(node)
        for c in node.children:
            self._collect(c)

    def _find_arcs(self, node: Node) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if (
            node.kind == "parallel"
            and len(node.children) == 2
            and all(c.kind == "element" for c in node.children)
        ):
            types = {c.etype: c.name for c in node.children}
            if "R" in types and ("C" in types or "CPE" in types) and len(types) == 2:
                cap = types.get("CPE") or types["C"]
                out.append((types["R"], cap))
                return out
        for c in node.children:
            out += self._find_arcs(c)
        return out

    def __repr__(self) -> str:
        return f"Circuit({self.text!r})"

    def element_params(self, name: str, p: Sequence[float]) -> list[float]:
        return list(np.asarray(p)[self._slices[name]])

    def impedance(self, f: Any, p: Sequence[float]) -> np.ndarray:
        """Z at frequencies ``f`` (Hz) for parameter values ``p`` (in ``parameter_names`` order)."""
        w = 2 * np.pi * np.asarray(f, dtype=float)
        p = np.asarray(p, dtype=float)

        def ev(node: Node) -> np.ndarray:
            if node.kind == "element":
                return ELEMENTS[node.etype].func(w, p[self._slices[node.name]])
            if node.kind == "series":
                return sum((ev(c) for c in node.children), np.zeros(w.shape, complex))
            return 1.0 / sum((1.0 / ev(c) for c in node.children), np.zeros(w.shape, complex))

        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return ev(self.root)

    def compile(self, f: Any) -> Callable[[Any], tuple[np.ndarray, np.ndarray]]:
        """An evaluator ``p -> (Z, dZ/dp)`` for fixed frequencies ``f`` (Hz).

        ``p`` is one parameter vector (→ Z of shape ``(n,)``, dZ/dp ``(n, P)``) or a stack
        ``(K, P)`` of them (→ ``(K, n)`` and ``(K, n, P)``), so several starting points are
        evaluated in one pass. The frequency-only factors (jω, ln jω, √(jω), ω^-1/2) are
        computed once, and an arc p(R, CPE) or p(R, C) is evaluated in closed form:
        Z = R/D with D = 1 + R Q (jω)^α, dZ/dR = 1/D², dZ/dQ = −R² (jω)^α / D²,
        dZ/dα = −R² Q (jω)^α ln(jω) / D².
        """
        w = 2 * np.pi * np.asarray(f, dtype=float)
        n, npar = w.size, len(self.parameter_names)
        jw = 1j * w
        lnjw = np.log(w) + 0.5j * np.pi
        sqjw = np.sqrt(jw)
        warburg = (1 - 1j) / np.sqrt(w)
        Ev = Callable[[np.ndarray, np.ndarray], Any]

        def element(node: Node) -> Ev:
            k = self._slices[node.name].start
            et = node.etype
            if et == "R":

                def ev(p: np.ndarray, jac: np.ndarray) -> Any:
                    jac[:, :, k] = 1.0
                    return p[:, k : k + 1]

            elif et == "C":

                def ev(p: np.ndarray, jac: np.ndarray) -> Any:
                    c = p[:, k : k + 1]
                    z = 1.0 / (jw * c)
                    jac[:, :, k] = -z / c
                    return z

            elif et == "L":

                def ev(p: np.ndarray, jac: np.ndarray) -> Any:
                    jac[:, :, k] = jw
                    return jw * p[:, k : k + 1]

            elif et == "CPE":

                def ev(p: np.ndarray, jac: np.ndarray) -> Any:
                    q = p[:, k : k + 1]
                    z = np.exp(-p[:, k + 1 : k + 2] * lnjw) / q
                    jac[:, :, k] = -z / q
                    jac[:, :, k + 1] = -z * lnjw
                    return z

            elif et == "W":

                def ev(p: np.ndarray, jac: np.ndarray) -> Any:
                    jac[:, :, k] = warburg
                    return p[:, k : k + 1] * warburg

            elif et in ("Wo", "Ws"):
                open_end = et == "Wo"

                def ev(p: np.ndarray, jac: np.ndarray) -> Any:
                    r, tau = p[:, k : k + 1], p[:, k + 1 : k + 2]
                    s = sqjw * np.sqrt(tau)
                    th = np.tanh(s)
                    if open_end:  # coth(s)/s;  d/dτ = -(coth²s − 1 + coth(s)/s) / (2τ)
                        ct = 1.0 / th
                        unit = ct / s
                        jac[:, :, k + 1] = -r / (2 * tau) * (ct * ct - 1.0 + unit)
                    else:  # tanh(s)/s;  d/dτ = (1 − tanh²s − tanh(s)/s) / (2τ)
                        unit = th / s
                        jac[:, :, k + 1] = r / (2 * tau) * (1.0 - th * th - unit)
                    jac[:, :, k] = unit
                    return r * unit

            else:
                raise NotImplementedError(f"element type {et!r} ({node.name}) has no compiled form")

            return ev

        def arc(r_node: Node, c_node: Node) -> Ev:
            kr = self._slices[r_node.name].start
            kc = self._slices[c_node.name].start
            cpe = c_node.etype == "CPE"

            def ev(p: np.ndarray, jac: np.ndarray) -> Any:
                r, q = p[:, kr : kr + 1], p[:, kc : kc + 1]
                u = np.exp(p[:, kc + 1 : kc + 2] * lnjw) if cpe else jw
                ru = r * u
                inv_d = 1.0 / (1.0 + q * ru)
                z = r * inv_d
                g = inv_d * inv_d
                jac[:, :, kr] = g
                dq = -(r * ru) * g
                jac[:, :, kc] = dq
                if cpe:
                    jac[:, :, kc + 1] = dq * q * lnjw
                return z

            return ev

        def build(node: Node) -> tuple[Ev, int, int]:
            if node.kind == "element":
                sl = self._slices[node.name]
                return element(node), sl.start, sl.stop
            kids = node.children
            if (
                node.kind == "parallel"
                and len(kids) == 2
                and all(c.kind == "element" for c in kids)
                and {c.etype for c in kids} in ({"R", "CPE"}, {"R", "C"})
            ):
                r_node = kids[0] if kids[0].etype == "R" else kids[1]
                c_node = kids[1] if r_node is kids[0] else kids[0]
                lo = min(self._slices[c.name].start for c in kids)
                hi = max(self._slices[c.name].stop for c in kids)
                return arc(r_node, c_node), lo, hi
            built = [build(c) for c in kids]
            fns = [c[0] for c in built]
            if node.kind == "series":

                def ev(p: np.ndarray, jac: np.ndarray) -> Any:
                    z = fns[0](p, jac)
                    for fn in fns[1:]:
                        z = z + fn(p, jac)
                    return z

            else:
                blocks = [(c[1], c[2]) for c in built]

                def ev(p: np.ndarray, jac: np.ndarray) -> Any:
                    zs = [fn(p, jac) for fn in fns]
                    z = 1.0 / sum(1.0 / zi for zi in zs)
                    for (a, b), zi in zip(blocks, zs, strict=True):
                        g = (z / zi) ** 2
                        jac[:, :, a:b] *= g[..., None]
                    return z

            return ev, built[0][1], built[-1][2]

        root = build(self.root)[0]

        def evaluate(p: Any) -> tuple[np.ndarray, np.ndarray]:
            p = np.asarray(p, dtype=float)
            p2 = p.reshape(-1, npar)
            jac = np.empty((p2.shape[0], n, npar), complex)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                z = root(p2, jac)
            if np.shape(z) != (p2.shape[0], n):
                z = np.broadcast_to(z, (p2.shape[0], n)).astype(complex)
            if p.ndim == 1:
                return z[0], jac[0]
            return z, jac

        return evaluate

    def arc_tau(self, p: Sequence[float]) -> list[float]:
        """Time constant of each arc (s), in string order."""
        out = []
        for r, c in self.arcs:
            rv = self.element_params(r, p)[0]
            cp = self.element_params(c, p)
            out.append(rv * cp[0] if len(cp) == 1 else (rv * cp[0]) ** (1.0 / cp[1]))
        return out


def parse_circuit(text: str) -> Circuit:
    """Parse a circuit string such as ``"R0-p(R1,CPE1)-p(R2,CPE2)-W1"``.

    Raises
    ------
    InputError
        Pointing at the character where the string stops making sense.
    """
    if not isinstance(text, str):
        raise InputError(f"circuit must be a string, got {type(text).__name__}")
    return Circuit(text)


# --------------------------------------------------------------------------- validation


def validate_spectrum(f: Any, z: Any, *, what: str = "spectrum") -> tuple[np.ndarray, np.ndarray]:
    """Check an impedance spectrum; return it sorted from high to low frequency."""
    f = np.asarray(f, dtype=float)
    z = np.asarray(z, dtype=complex)
    if f.shape != z.shape or f.ndim != 1:
        raise InputError(f"{what}: frequency and Z must be 1-D of equal length")
    if f.size < 2:
        raise InputError(f"{what}: a single frequency cannot be analysed; need a spectrum")
    if not (np.all(np.isfinite(f)) and np.all(np.isfinite(z))):
        bad = int(np.flatnonzero(~(np.isfinite(f) & np.isfinite(z)))[0])
        raise InputError(f"{what}: NaN or infinite value at point {bad}")
    if np.any(f <= 0):
        raise InputError(f"{what}: frequencies must be positive")
    if np.all(z.imag >= 0) and np.any(z.imag > 0):
        raise InputError(
            f"{what}: every imaginary part is >= 0 (purely inductive); a battery or "
            "electrolyte spectrum has Im Z < 0 over its arcs. If the file holds -Im Z, "
            "read it with imag_sign='minus_im'"
        )
    order = np.argsort(-f, kind="stable")
    return f[order], z[order]


def _spectrum(data: Any, spectrum: int | None) -> tuple[np.ndarray, np.ndarray, str]:
    if isinstance(data, xr.Dataset):
        f, z = eis_arrays(data, spectrum=spectrum)
        what = data.attrs.get("source_file") or "spectrum"
    else:
        f, z = data
        what = "spectrum"
    f, z = validate_spectrum(f, z, what=what)
    return f, z, what


# --------------------------------------------------------------------------- KK


@dataclass
class KKResult:
    """Linear Kramers–Kronig test (Schönleber et al. 2014)."""

    mu: float
    n_elements: int
    c: float
    max_residual: float
    mean_residual: float
    threshold: float
    valid: bool
    residual_real: np.ndarray
    residual_imag: np.ndarray
    frequency: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {
            "mu": self.mu,
            "M": self.n_elements,
            "c": self.c,
            "max_residual": self.max_residual,
            "mean_residual": self.mean_residual,
            "threshold": self.threshold,
            "valid": self.valid,
            "method": "linear KK, mu criterion (Schönleber et al. 2014)",
        }


def check_kramers_kronig(
    data: Any,
    *,
    spectrum: int | None = None,
    c: float = 0.85,
    max_residual: float = 0.02,
    max_elements: int | None = None,
    capacitance: bool | None = None,
) -> KKResult:
    """Linear Kramers–Kronig test with the μ criterion.

    Parameters
    ----------
    data
        An impedance Dataset or ``(frequency_Hz, Z)``.
    c
        μ threshold (0.85 in Schönleber et al.).
    max_residual
        The spectrum is called valid when every relative residual (to |Z|) is below this.
    capacitance
        Add a series capacitance to the KK circuit. ``None`` (default) tests with and
        without it and keeps the better description: both circuits are KK-compliant, so data
        that either describes are KK-consistent. A free capacitance is needed for blocking
        electrodes and diffusion tails, but where it is not, it takes negative weights from
        the RC elements and μ drops below ``c`` long before the spectrum is described (seen
        on a two-arc CPE spectrum with 0.5 % noise: 5 elements, 33 % residuals).
    """
    if capacitance is None:
        tried = [
            check_kramers_kronig(
                data,
                spectrum=spectrum,
                c=c,
                max_residual=max_residual,
                max_elements=max_elements,
                capacitance=cap,
            )
            for cap in (False, True)
        ]
        return min(tried, key=lambda r: r.max_residual)
    f, z, _ = _spectrum(data, spectrum)
    w = 2 * np.pi * f
    mod = np.abs(z)
    n = f.size
    m_max = max_elements or max(2, min(n - 3, int(1.5 * n)))
    best = None
    for m in range(1, m_max + 1):
        tau = (
            np.logspace(np.log10(1 / w.max()), np.log10(1 / w.min()), m)
            if m > 1
            else np.array([1 / np.sqrt(w.max() * w.min())])
        )
        basis = 1.0 / (1.0 + 1j * np.outer(w, tau))
        cols = [np.ones(n, complex), 1j * w, *([-1j / w] if capacitance else []), *basis.T]
        a = np.array(cols).T
        aa = np.vstack([a.real / mod[:, None], a.imag / mod[:, None]])
        bb = np.concatenate([z.real / mod, z.imag / mod])
        x, *_ = np.linalg.lstsq(aa, bb, rcond=None)
        rk = x[len(cols) - m :]
        pos = np.sum(np.abs(rk[rk >= 0]))
        mu = 1.0 - np.sum(np.abs(rk[rk < 0])) / pos if pos > 0 else 0.0
        fit = a @ x
        best = (mu, m, fit)
        if mu <= c and m > 2:
            break
    mu, m, fit = best
    rr = (z.real - fit.real) / mod
    ri = (z.imag - fit.imag) / mod
    mx = float(max(np.max(np.abs(rr)), np.max(np.abs(ri))))
    return KKResult(
        mu=float(mu),
        n_elements=int(m),
        c=c,
        max_residual=mx,
        mean_residual=float(np.sqrt(np.mean(rr**2 + ri**2) / 2)),
        threshold=max_residual,
        valid=bool(mx <= max_residual),
        residual_real=rr,
        residual_imag=ri,
        frequency=f,
    )


# --------------------------------------------------------------------------- fitting


@dataclass
class EISFit:
    """An equivalent-circuit fit: the core :class:`FitResult` plus arcs and time constants."""

    circuit: str
    fit: FitResult
    arcs: list[dict[str, Any]]
    frequency: np.ndarray
    z: np.ndarray
    z_fit: np.ndarray
    start: dict[str, float]

    @property
    def parameters(self) -> dict[str, Parameter]:
        return self.fit.parameters

    @property
    def time_constants_s(self) -> dict[str, float]:
        return {a["name"]: a["tau_s"] for a in self.arcs}

    def to_dict(self) -> dict[str, Any]:
        d = self.fit.to_dict()
        return {
            "circuit": self.circuit,
            "parameters": {
                n: {"value": p["value"], "stderr": p["stderr"], "units": p["units"]}
                for n, p in d["parameters"].items()
            },
            "time_constants_s": self.time_constants_s,
            "arcs": self.arcs,
            "statistics": d["statistics"],
            "flags": d["flags"],
            "start": self.start,
        }

    def to_dataset(self) -> xr.Dataset:
        return self.fit.to_dataset()


def _auto_start(
    circ: Circuit, f: np.ndarray, z: np.ndarray, drt_peaks: list[dict[str, float]] | None
) -> np.ndarray:
    w = 2 * np.pi * f
    cap = z.imag < 0
    r_hf = float(np.min(z.real[cap])) if cap.any() else float(np.min(z.real))
    r_hf = max(r_hf, 1e-6 * float(np.max(np.abs(z))))
    # polarization: real part at the -Im minimum before a low-frequency tail, else at f_min
    r_lf = float(z.real[-1])
    rp = max(r_lf - r_hf, 0.05 * r_hf, 1e-9)
    n_arcs = max(1, len(circ.arcs))
    t_lo, t_hi = 1.0 / w.max(), 1.0 / w.min()
    if drt_peaks:
        peaks = sorted(drt_peaks, key=lambda d: -d["R_ohm"])[:n_arcs]
        peaks = sorted(peaks, key=lambda d: d["tau_s"])
        taus = [d["tau_s"] for d in peaks]
        rs = [d["R_ohm"] for d in peaks]
    else:
        taus, rs = [], []
    while len(taus) < n_arcs:
        # fill the missing arcs geometrically over the measured τ range
        k = len(taus)
        taus.append(t_lo * (t_hi / t_lo) ** ((k + 1) / (n_arcs + 1)))
        rs.append(rp / n_arcs)
    taus_rs = sorted(zip(taus, rs, strict=True))
    arc_of = {}
    for k, (r, cname) in enumerate(circ.arcs):
        arc_of[r] = ("R", k)
        arc_of[cname] = ("C", k)
    p: list[float] = []
    first_r = True
    for e in circ.elements:
        et = e.etype
        if e.name in arc_of:
            role, k = arc_of[e.name]
            tau, r = taus_rs[k]
            if role == "R":
                p.append(r)
            elif et == "C":
                p.append(tau / r)
            else:
                a = 0.85
                p += [tau**a / r, a]
            continue
        if et == "R":
            p.append(r_hf if first_r else rp / n_arcs)
            first_r = False
        elif et == "C":
            p.append(1.0 / (w.min() * max(abs(z.imag[-1]), 1e-12)))
        elif et == "L":
            ind = z.imag[0] > 0
            p.append(float(z.imag[0] / w[0]) if ind else 1e-3 * abs(z[0]) / w[0])
        elif et == "CPE":
            p += [1.0 / (w.min() * max(abs(z.imag[-1]), 1e-12)), 0.8]
        elif et == "W":
            p.append(max(abs(z.imag[-1]) * math.sqrt(w[-1]) * 0.5, 1e-9))
        else:  # Wo, Ws
            p += [rp / (n_arcs + 1), t_hi]
    return np.asarray(p, dtype=float)


def _canonical(
    circ: Circuit, p: np.ndarray, cov: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Permute equivalent arcs so that τ increases along the string."""
    if len(circ.arcs) < 2:
        return p, cov
    taus = circ.arc_tau(p)
    groups: dict[tuple[str, str], list[int]] = {}
    for k, (r, c) in enumerate(circ.arcs):
        key = (
            circ.elements[[e.name for e in circ.elements].index(r)].etype,
            circ.elements[[e.name for e in circ.elements].index(c)].etype,
        )
        groups.setdefault(key, []).append(k)
    perm = np.arange(p.size)
    for members in groups.values():
        order = sorted(members, key=lambda k: taus[k])
        for dst, src in zip(members, order, strict=True):
            for name_dst, name_src in zip(circ.arcs[dst], circ.arcs[src], strict=True):
                perm[circ._slices[name_dst]] = np.arange(p.size)[circ._slices[name_src]]
    q = p[perm]
    if cov is not None:
        cov = cov[np.ix_(perm, perm)]
    return q, cov


class _Objective:
    """Residuals (Z_model − Z)/weight as interleaved [Re, Im] and their Jacobian in internal
    coordinates, for one ``x`` (cached, for MINPACK) or a stack of them (:meth:`batch`).

    Internal coordinates: p = eˣ for positive parameters, p = lo + span/(1 + e⁻ˣ) for
    bounded ones (alpha), so the fit is unconstrained.
    """

    def __init__(self, circ: Circuit, f: np.ndarray, z: np.ndarray, weight: np.ndarray) -> None:
        self.circ, self.z, self.weight = circ, z, weight
        self.evaluate = circ.compile(f)
        self._x: np.ndarray | None = None
        self._r = self._j = np.empty(0)

    def batch(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Residuals ``(K, 2n)`` and Jacobians ``(K, 2n, P)`` for ``x`` of shape ``(K, P)``."""
        p = _from_internal(self.circ, x)
        dpdx = _dp_dx(self.circ, p)
        zz, jp = self.evaluate(p)
        with np.errstate(invalid="ignore", over="ignore"):
            r = (zz - self.z) / self.weight
            jp *= dpdx[:, None, :] / self.weight[:, None]
        k, n = r.shape
        rr = np.ascontiguousarray(r).view(float)
        jj = np.stack([jp.real, jp.imag], axis=2).reshape(k, 2 * n, p.shape[1])
        if not np.all(np.isfinite(rr)):
            rr = np.where(np.isfinite(rr), rr, 1e3)
        if not np.all(np.isfinite(jj)):
            jj = np.where(np.isfinite(jj), jj, 0.0)
        return rr, jj

    def _eval(self, x: np.ndarray) -> None:
        if self._x is not None and np.array_equal(x, self._x):
            return
        r, j = self.batch(x[None, :])
        self._r, self._j, self._x = r[0], j[0], x.copy()

    def residual(self, x: np.ndarray) -> np.ndarray:
        self._eval(x)
        return self._r

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        self._eval(x)
        return self._j


def _screen_starts(obj: _Objective, x0: np.ndarray, iterations: int = 25) -> np.ndarray:
    """Levenberg–Marquardt on every start at once (one batched evaluation per iteration);
    returns the cost ½‖r‖² reached by each start and leaves the iterates in ``x0``."""
    x = x0.copy()
    r, j = obj.batch(x)
    cost = 0.5 * np.sum(r * r, axis=1)
    lam = np.full(x.shape[0], 1e-3)
    nu = np.full(x.shape[0], 2.0)
    eye = np.eye(x.shape[1])
    quiet = 0
    d = np.full(x.shape, 1e-300)
    for _ in range(iterations):
        jt = np.transpose(j, (0, 2, 1))
        a = jt @ j
        g = (jt @ r[:, :, None])[:, :, 0]
        # damping scaled by the largest column norms seen so far (as MINPACK's lmder): a
        # column that fades on a plateau keeps its damping instead of inviting huge steps
        d = np.maximum(d, np.einsum("kii->ki", a))
        m = a + (lam[:, None] * d)[:, :, None] * eye + 1e-14 * eye
        try:
            step = -np.linalg.solve(m, g[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            step = -np.stack(
                [np.linalg.lstsq(mk, gk, rcond=None)[0] for mk, gk in zip(m, g, strict=True)]
            )
        step = np.where(np.isfinite(step), step, 0.0)
        xn = x + step
        rn, jn = obj.batch(xn)
        with np.errstate(over="ignore", invalid="ignore"):
            cn = 0.5 * np.sum(rn * rn, axis=1)
            # gain ratio: actual / predicted reduction of the linearised model
            pred = 0.5 * np.sum(step * (lam[:, None] * d * step - g), axis=1)
            rho = (cost - cn) / np.maximum(pred, 1e-300)
        ok = np.isfinite(cn) & (cn < cost)
        gain = np.max(np.where(ok, (cost - cn) / np.maximum(cost, 1e-300), 0.0))
        x[ok], r[ok], j[ok], cost[ok] = xn[ok], rn[ok], jn[ok], cn[ok]
        # Nielsen's damping update (Madsen, Nielsen & Tingleff, Methods for non-linear
        # least squares problems, DTU 2004, eq. 2.21)
        shrink = np.maximum(1.0 / 3.0, 1.0 - (2.0 * np.clip(rho, 0.0, 1.0) - 1.0) ** 3)
        lam = np.clip(np.where(ok, lam * shrink, lam * nu), 1e-12, 1e12)
        nu = np.where(ok, 2.0, nu * 2.0)
        # stop when no start improves by more than 0.1 % for three iterations running
        quiet = quiet + 1 if gain < 1e-3 else 0
        if quiet == 3:
            break
    x0[:] = x
    return cost


#: automatic starts: arcs drawn from this many largest DRT peaks, screened for this many
#: batched LM iterations; this many distinct screened starts are converged
_N_START_PEAKS = 6
_SCREEN_ITERATIONS = 40
_N_REFINED = 3


def _least_squares(obj: _Objective, x0: np.ndarray, *, max_nfev: int = 2000) -> Any:
    """Levenberg–Marquardt (MINPACK) with the analytic Jacobian, converged tightly."""
    return least_squares(
        obj.residual,
        x0,
        jac=obj.jacobian,
        method="lm",
        max_nfev=max_nfev,
        xtol=1e-12,
        ftol=1e-12,
    )


def _to_internal(circ: Circuit, p: np.ndarray) -> np.ndarray:
    """Unconstrained coordinates: log for positive parameters, logit for bounded ones."""
    out = []
    for v, (lo, hi) in zip(p, circ.bounds, strict=True):
        if lo == 0:
            out.append(math.log(v))
        else:
            q = min(max((v - lo) / (hi - lo), 1e-9), 1 - 1e-9)
            out.append(math.log(q / (1 - q)))
    return np.array(out)


def _bounds_arrays(circ: Circuit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo = np.array([b[0] for b in circ.bounds], float)
    hi = np.array([b[1] for b in circ.bounds], float)
    return lo == 0, lo, hi


def _from_internal(circ: Circuit, x: np.ndarray) -> np.ndarray:
    # clip the exponent: a wandering trial step must give a huge value, not an overflow
    pos, lo, hi = _bounds_arrays(circ)
    xc = np.clip(np.asarray(x, float), -700.0, 700.0)
    with np.errstate(invalid="ignore"):
        return np.where(pos, np.exp(xc), lo + (hi - lo) / (1.0 + np.exp(-xc)))


def _dp_dx(circ: Circuit, p: np.ndarray) -> np.ndarray:
    pos, lo, hi = _bounds_arrays(circ)
    with np.errstate(invalid="ignore"):
        return np.where(pos, p, (p - lo) * (hi - p) / (hi - lo))


def fit_circuit(
    data: Any,
    circuit: str | Circuit,
    *,
    spectrum: int | None = None,
    start: dict[str, float] | None = None,
    use_drt: bool = True,
    arc_labels: Sequence[str] | None = None,
    fmin: float | None = None,
    fmax: float | None = None,
    weighting: str = "modulus",
    drt: Any = None,
) -> EISFit:
    """Fit an equivalent circuit with automatic starting values and standard errors.

    Residuals are relative to |Z| (modulus weighting), positive parameters are fitted in log
    space, α through a logistic map, with the analytic Jacobian (:meth:`Circuit.compile`).
    Starts: every choice of arcs among the six largest DRT peaks (at the GCV λ and at λ/30,
    :func:`charact.echem.drt.start_peaks`; a peak gives an arc's R and τ), the
    high-frequency intercept (series R) and the low-frequency tail (Warburg, series C), plus
    one start with the arcs spread over the measured τ range. All starts are screened at
    once by a batched Levenberg–Marquardt (modulus weights); the best, and near ties, are
    converged by MINPACK's Levenberg–Marquardt, and the lowest cost is kept. Arcs are then
    ordered by τ (module docstring). A ``start`` naming every parameter is used alone.

    Parameters
    ----------
    data
        Impedance Dataset or ``(frequency_Hz, Z)``.
    circuit
        Circuit string (module docstring) or :class:`Circuit`.
    start
        Starting values by parameter name (overrides the automatic ones).
    arc_labels
        Names for the arcs in τ order (e.g. ``("R_SEI", "R_ct")``) → ``derived`` parameters.
    fmin, fmax
        Fit only this frequency range (Hz); inductive points (Im Z > 0) at high frequency
        are always kept only when the circuit has an ``L``.
    weighting
        ``"modulus"`` (residuals divided by |Z|, the default: every decade counts) or
        ``"unit"`` (plain residuals in Ohm, as impedance.py's default fit).
    drt
        A :func:`charact.echem.drt.fit_drt` result of the same spectrum, computed anyway: its
        GCV λ is reused for the DRT starting peaks instead of a second λ scan (the fit is the
        same). Ignored, and the scan run, when the fitted points differ from the DRT's
        (``fmin``/``fmax``, inductive points left out) or its τ grid is not the default.

    Raises
    ------
    FitError
        When the fit cannot be started (NaN model at the start) or does not converge.
    """
    f, z, what = _spectrum(data, spectrum)
    circ = circuit if isinstance(circuit, Circuit) else parse_circuit(circuit)
    keep = np.ones(f.size, bool)
    if fmin is not None:
        keep &= f >= fmin
    if fmax is not None:
        keep &= f <= fmax
    has_l = any(e.etype == "L" for e in circ.elements)
    if not has_l:
        keep &= z.imag <= 0
    if keep.sum() <= len(circ.parameter_names):
        raise FitError(
            f"{what}: {int(keep.sum())} usable points for {len(circ.parameter_names)} parameters"
        )
    f, z = f[keep], z[keep]
    if not np.any(z):
        raise InputError(f"{what}: the impedance is zero at every frequency: nothing to fit")
    if weighting == "modulus" and not np.all(z):
        k = int(np.flatnonzero(z == 0)[0])
        raise InputError(
            f"{what}: Z = 0 at {int(np.sum(z == 0))} point(s) (first at {f[k]:.4g} Hz): "
            "modulus weighting divides each residual by |Z|",
            hint="drop those points (fmin/fmax) or use weighting='unit'",
        )
    starts = []
    peaks = None
    complete = bool(start) and set(start) == set(circ.parameter_names)
    if use_drt and circ.arcs and not complete:
        from .drt import start_peaks

        try:
            peaks = start_peaks(f, z, drt=drt) if f.size >= 5 else None
        except Exception:  # a failed DRT only costs the better start
            peaks = None
    if peaks:
        # every choice of n_arcs among the largest DRT peaks: a diffusion tail or a small
        # high-frequency feature can outrank an arc, and a wrong pick is a local minimum
        from itertools import combinations

        top = sorted(peaks, key=lambda d: -d["R_ohm"])[:_N_START_PEAKS]
        for combo in combinations(top, min(len(circ.arcs), len(top))):
            starts.append(_auto_start(circ, f, z, list(combo)))
    starts.append(_auto_start(circ, f, z, None))
    if start:
        unknown = sorted(set(start) - set(circ.parameter_names))
        if unknown:
            raise InputError(
                f"start names unknown parameter(s) {unknown}; the circuit has "
                f"{circ.parameter_names}"
            )
        if complete:
            starts = starts[-1:]  # the automatic starts would all become this one
        for s in starts:
            for k, n in enumerate(circ.parameter_names):
                if n in start:
                    s[k] = start[n]
    if weighting not in ("modulus", "unit"):
        raise InputError(f"weighting must be 'modulus' or 'unit', got {weighting!r}")
    mod = np.abs(z) if weighting == "modulus" else np.ones(z.size)

    obj = _Objective(circ, f, z, mod)
    # every start is screened by a batched Levenberg–Marquardt run; the best is converged
    # by MINPACK. Coordinates are unconstrained (log for positive parameters, logit for
    # alpha) and the Jacobian is analytic.
    clean = [np.where(np.isfinite(s) & (s > 0), s, 1.0) for s in starts]
    x0 = np.array([_to_internal(circ, s) for s in clean])
    order, costs = [0], np.zeros(1)
    if len(clean) > 1:
        # screened with modulus weights whatever the final weighting: every decade counts,
        # so a small fast arc cannot hide behind a large diffusion tail while ranking
        screen = obj if weighting == "modulus" else _Objective(circ, f, z, np.abs(z))
        costs = _screen_starts(screen, x0, _SCREEN_ITERATIONS)
        order = [int(k) for k in np.argsort(np.where(np.isfinite(costs), costs, np.inf))]
    # converge the few best screened starts that went to different places
    # (near ties within a factor 1.5 in screened cost: a different basin may end lower)
    best, best_start, kept = None, clean[order[0]], []
    for k in order:
        if len(kept) == _N_REFINED or (kept and not costs[k] <= 1.5 * costs[order[0]]):
            break
        if any(np.max(np.abs(x0[k] - x0[j])) < 0.05 for j in kept):
            continue
        kept.append(k)
        res = _least_squares(obj, x0[k], max_nfev=200)
        if best is None or res.cost < best.cost:
            best, best_start = res, clean[k]
    if best.status == 0:  # the 200 evaluations ran out: converge this one fully
        best = _least_squares(obj, best.x, max_nfev=4000)
    x = best.x
    if not np.all(np.isfinite(circ.impedance(f, _from_internal(circ, x)))):
        raise FitError(f"{what}: the circuit model is not finite at the fitted parameters")
    dof = max(1, 2 * f.size - x.size)
    s2 = 2 * best.cost / dof
    jac = best.jac
    try:
        cov_x = np.linalg.inv(jac.T @ jac) * s2
        if not np.all(np.isfinite(cov_x)):
            cov_x = None
    except np.linalg.LinAlgError:
        cov_x = None
    p = _from_internal(circ, x)
    # covariance of the parameters themselves (delta method through the transform)
    dpdx = _dp_dx(circ, p)
    cov_p = None if cov_x is None else cov_x * np.outer(dpdx, dpdx)
    # τ uncertainties from the internal covariance before permutation
    p, cov_p = _canonical(circ, p, cov_p)
    # (log p, alpha) coordinates for the τ uncertainty
    x_c = np.array([math.log(v) if b[0] == 0 else v for v, b in zip(p, circ.bounds, strict=True)])
    cov_xc = (
        None
        if cov_p is None
        else cov_p
        / np.outer(
            np.array([v if b[0] == 0 else 1.0 for v, b in zip(p, circ.bounds, strict=True)]),
            np.array([v if b[0] == 0 else 1.0 for v, b in zip(p, circ.bounds, strict=True)]),
        )
    )
    z_fit = circ.impedance(f, p)
    params = {}
    for k, (n, u) in enumerate(zip(circ.parameter_names, circ.parameter_units, strict=True)):
        se = float(math.sqrt(cov_p[k, k])) if cov_p is not None and cov_p[k, k] >= 0 else math.nan
        b = circ.bounds[k]
        params[n] = Parameter(
            value=float(p[k]), stderr=se, min=float(b[0]), max=float(b[1]), units=u
        )
    arcs = []
    taus = circ.arc_tau(p)
    order = np.argsort(taus)
    for rank, k in enumerate(order):
        rname, cname = circ.arcs[k]
        ri = circ.parameter_names.index(rname)
        cp = circ.element_params(cname, p)
        # d log τ / d internal parameters
        grad = np.zeros(p.size)
        sl = circ._slices[cname]
        if len(cp) == 1:
            grad[ri] = 1.0
            grad[sl.start] = 1.0
            c_eff = cp[0]
        else:
            a = cp[1]
            grad[ri] = 1.0 / a
            grad[sl.start] = 1.0 / a
            grad[sl.start + 1] = -(x_c[ri] + x_c[sl.start]) / a**2
            # effective capacitance of an R||CPE (Hsu & Mansfeld, Corrosion 57, 747 (2001))
            c_eff = (cp[0] * p[ri] ** (1 - a)) ** (1 / a)
        tau_se = (
            float(taus[k] * math.sqrt(max(grad @ cov_xc @ grad, 0.0)))
            if cov_xc is not None
            else math.nan
        )
        label = arc_labels[rank] if arc_labels and rank < len(arc_labels) else f"arc{rank + 1}"
        arcs.append(
            {
                "name": label,
                "resistor": rname,
                "capacitor": cname,
                "R_ohm": float(p[ri]),
                "R_stderr": params[rname].stderr,
                "tau_s": float(taus[k]),
                "tau_stderr": tau_se,
                "f_peak_Hz": float(1 / (2 * np.pi * taus[k])),
                "C_eff_F": float(c_eff),
            }
        )
    prov = {}
    if isinstance(data, xr.Dataset):
        prov = provenance_of(data)
    resid_c = z - z_fit
    data_mod = np.concatenate([z.real, z.imag])
    ss_tot = float(np.sum((data_mod - data_mod.mean()) ** 2))
    stats = {
        "chi2": float(2 * best.cost),
        "redchi": float(s2),
        "r2": 1 - float(np.sum(np.abs(resid_c) ** 2)) / ss_tot if ss_tot > 0 else math.nan,
        "nfev": int(best.nfev),
        "ndata": int(2 * f.size),
        "nvarys": int(x.size),
        "success": bool(best.success),
        "message": str(best.message),
        "weighting": "modulus (residual / |Z|)" if weighting == "modulus" else "unit",
    }
    # log-fitted parameters cannot reach their 0 bound; only bounded linear ones (alpha) can
    flags = [
        f"parameter {n!r} is at a bound ({q.value:g})"
        for (n, q), b in zip(params.items(), circ.bounds, strict=True)
        if b[0] != 0 and q.at_bound()
    ]
    if cov_p is None:
        flags.append("standard errors could not be estimated (singular covariance)")
    if not best.success:
        flags.append(f"fit did not converge: {best.message}")
    curves = xr.Dataset(coords={"frequency": xr.Variable("frequency", f, {"units": "Hz"})})
    for nm, arr in (
        ("z_real", z.real),
        ("z_imag", z.imag),
        ("fit_real", z_fit.real),
        ("fit_imag", z_fit.imag),
    ):
        curves[nm] = xr.Variable("frequency", arr, {"units": "ohm"})
    fr = FitResult(
        analysis="echem.eis_fit",
        parameters=params,
        statistics=stats,
        model={"circuit": circ.text, "arcs": [list(a) for a in circ.arcs]},
        curves=curves,
        derived={a["name"]: Parameter(a["R_ohm"], a["R_stderr"], units="ohm") for a in arcs}
        if arc_labels
        else {},
        provenance=prov,
        flags=flags,
    )
    return EISFit(
        circuit=circ.text,
        fit=fr,
        arcs=arcs,
        frequency=f,
        z=z,
        z_fit=z_fit,
        start=dict(zip(circ.parameter_names, map(float, best_start), strict=True)),
    )


def fit_circuit_series(
    spectra: Sequence[Any] | xr.Dataset,
    circuit: str,
    *,
    arc_labels: Sequence[str] | None = None,
) -> list[EISFit]:
    """Fit the same circuit to a series of spectra (cycles, states of charge), warm-started.

    Each fit starts from the previous fit's parameters *and* from the automatic start, and
    keeps the better; arcs are ordered by τ in every fit, so "arc1"/"arc2" (or the
    ``arc_labels``) mean the same process throughout the series.
    """
    if isinstance(spectra, xr.Dataset):
        ids = np.unique(spectra["spectrum"].values)
        items: list[Any] = [eis_arrays(spectra, spectrum=int(i)) for i in ids]
    else:
        items = list(spectra)
    circ = parse_circuit(circuit)
    out: list[EISFit] = []
    for item in items:
        if not out:
            out.append(fit_circuit(item, circ, arc_labels=arc_labels))
            continue
        prev = {n: p.value for n, p in out[-1].parameters.items()}
        a = fit_circuit(item, circ, arc_labels=arc_labels, start=prev, use_drt=False)
        b = fit_circuit(item, circ, arc_labels=arc_labels)
        out.append(a if a.fit.statistics["chi2"] <= b.fit.statistics["chi2"] else b)
    return out
