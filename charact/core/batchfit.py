"""Least-squares fitting of stacks of spectra, independent (vectorised) or coupled.

A Raman map, an XPS depth profile or a folder of spectra measured with the same settings is a
stack of N spectra on one axis. Fitting each with lmfit costs a Python-level optimizer run per
spectrum; :func:`fit_stack` instead runs one Levenberg–Marquardt iteration for *all* spectra at
once with numpy: the model, its Jacobian, the normal equations and their solutions are batched
arrays, and every spectrum keeps its own damping factor and its own convergence test.

The model is a :class:`BatchModel`: a sum of registered core lineshapes
(:mod:`charact.core.lineshapes`) and an optional polynomial background, with named parameters
(``<prefix><parameter>`` as in lmfit), bounds, fixed parameters and tied parameters
(``expr`` strings of arithmetic on other parameter names, e.g. ``"G_fwhm * 0.5"``). Models
convert both ways with lmfit (:meth:`BatchModel.from_lmfit`, :meth:`BatchModel.to_lmfit`), so
the single-spectrum path and the batch path fit the same function.

What is the same as lmfit's ``leastsq``:

- bounds by the Minuit-style transformations lmfit uses (``sin`` for two bounds, ``sqrt``
  for one), so a fit never leaves its bounds;
- standard errors from the covariance ``(JᵀJ)⁻¹`` in external parameters, scaled by the
  reduced chi-square (lmfit's default ``scale_covar=True``); tied parameters get theirs by
  propagating the covariance through their expression;
- chi-square, reduced chi-square, AIC and BIC with lmfit's definitions
  (``AIC = n ln(χ²/n) + 2k``, ``BIC = n ln(χ²/n) + k ln n``).

The Jacobian is computed by forward differences, one component at a time: perturbing a
parameter re-evaluates only the lineshape(s) that depend on it, so a Jacobian costs about one
model evaluation per parameter of a single peak, not of the whole model. Background columns are
exact (powers of x).

:func:`fit_dataarray` lifts the engine over labelled (and dask-chunked) arrays with
:func:`xarray.apply_ufunc`, so a map larger than memory is fitted chunk by chunk on all cores
or on a ``dask.distributed`` cluster.

Coupled spectra — a stack whose spectra share parameters, such as an XPS depth profile with
peak positions and widths common to all etch levels — cannot be fitted one by one:
:func:`fit_joint` fits them as one lmfit ``least_squares`` problem whose residual is one block
per spectrum. Its forward-difference Jacobian (:func:`grouped_jacobian`) perturbs the
parameters of all blocks together, since each changes only its own block of residuals
(Curtis–Powell–Reid column grouping), so an iteration costs about as many evaluations as for
one spectrum; with parameters tied by expressions it uses lmfit's own Jacobian.

References
----------
K. Levenberg, Q. Appl. Math. 2, 164 (1944); D. W. Marquardt, J. SIAM 11, 431 (1963);
F. James, M. Roos, MINUIT, Comput. Phys. Commun. 10, 343 (1975) (bound transformations);
A. R. Curtis, M. J. D. Powell, J. K. Reid, IMA J. Appl. Math. 13, 117 (1974) (column grouping);
M. Newville et al., lmfit, doi:10.5281/zenodo.598352 (parameter conventions, statistics).
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from .errors import FitError, InputError
from .lineshapes import get_lineshape

if TYPE_CHECKING:
    import lmfit

__all__ = [
    "BatchModel",
    "BatchParam",
    "BatchResult",
    "BlockParam",
    "Component",
    "fit_dataarray",
    "fit_joint",
    "fit_stack",
    "grouped_jacobian",
    "guess_stack",
    "propagate",
]

_EPS_STEP = math.sqrt(np.finfo(float).eps)
_STAT_NAMES = ("success", "nfev", "chisqr", "redchi", "r2", "aic", "bic")


# --------------------------------------------------------------------------- expressions

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_FUNCS: dict[str, Callable[[Any], Any]] = {
    "sqrt": np.sqrt,
    "exp": np.exp,
    "log": np.log,
    "abs": np.abs,
}


def _compile_expr(expr: str, names: Sequence[str]) -> tuple[ast.AST, set[str]]:
    """Parse an ``expr`` of numbers, parameter names, + - * / ** and a few functions.

    Only this small arithmetic language is accepted (parsed with :mod:`ast`, never evaluated
    by Python), so a model file cannot run code.
    """
    try:
        tree = ast.parse(expr, mode="eval").body
    except SyntaxError as exc:
        raise InputError(f"parameter expression {expr!r} is not valid arithmetic") from exc
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id not in names and node.id not in _FUNCS and node.id != "pi":
                raise InputError(
                    f"parameter expression {expr!r} uses {node.id!r}, which is not a parameter"
                )
            if node.id in names:
                used.add(node.id)
        elif isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id in _FUNCS):
                raise InputError(
                    f"parameter expression {expr!r}: only {sorted(_FUNCS)} may be called"
                )
        elif not isinstance(
            node,
            ast.BinOp
            | ast.UnaryOp
            | ast.Constant
            | ast.Load
            | ast.operator
            | ast.unaryop
            | ast.Name
            | ast.Call,
        ):
            raise InputError(f"parameter expression {expr!r}: {type(node).__name__} is not allowed")
    return tree, used


def _eval_expr(node: ast.AST, env: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return math.pi if node.id == "pi" else env[node.id]
    if isinstance(node, ast.BinOp):
        return _BINOPS[type(node.op)](_eval_expr(node.left, env), _eval_expr(node.right, env))
    if isinstance(node, ast.UnaryOp):
        val = _eval_expr(node.operand, env)
        return -val if isinstance(node.op, ast.USub) else val
    if isinstance(node, ast.Call):
        return _FUNCS[node.func.id](_eval_expr(node.args[0], env))  # type: ignore[attr-defined]
    raise InputError(f"cannot evaluate {ast.dump(node)}")  # pragma: no cover - rejected above


# --------------------------------------------------------------------------- the model


# The same formulas as charact.core.lineshapes.gaussian/lorentzian without the argument checks
# (the fit keeps widths positive through the bounds), because the batch loop evaluates them
# thousands of times on arrays whose validity it already controls.
def _fast_gaussian(x: np.ndarray, area: Any, center: Any, fwhm: Any) -> np.ndarray:
    u = np.subtract(x, center)
    u /= fwhm
    u *= u
    u *= -4.0 * math.log(2.0)
    np.exp(u, out=u)
    u *= area * 2.0 * math.sqrt(math.log(2.0) / math.pi) / fwhm
    return u


def _fast_lorentzian(x: np.ndarray, area: Any, center: Any, fwhm: Any) -> np.ndarray:
    t = np.subtract(x, center)
    t *= 2.0 / fwhm
    t *= t
    t += 1.0
    np.reciprocal(t, out=t)
    t *= area * 2.0 / (math.pi * fwhm)
    return t


_FAST = {"gaussian": _fast_gaussian, "lorentzian": _fast_lorentzian}


@dataclass(frozen=True)
class Component:
    """One peak of a :class:`BatchModel`: a registered lineshape and a name prefix."""

    lineshape: str
    prefix: str


@dataclass
class BatchParam:
    """A parameter of a :class:`BatchModel` (the same fields as an lmfit Parameter)."""

    name: str
    value: float
    min: float = -math.inf
    max: float = math.inf
    vary: bool = True
    expr: str = ""


@dataclass
class BatchModel:
    """A sum of core lineshapes plus an optional polynomial background.

    Parameters
    ----------
    components
        The peaks; component ``k`` has parameters ``<prefix><name>`` for each parameter of
        its lineshape.
    background_degree
        Degree of the polynomial background ``bkg_c0 + bkg_c1·x + …``, or None for none
        (lmfit's ``PolynomialModel(prefix="bkg_")`` naming).
    params
        Starting values, bounds, ``vary`` and ``expr`` by name. Parameters not given take the
        lineshape's defaults and bounds (background coefficients: 0, unbounded).
    background_prefix
        Prefix of the background coefficients.
    """

    components: tuple[Component, ...]
    background_degree: int | None = None
    params: dict[str, BatchParam] = field(default_factory=dict)
    background_prefix: str = "bkg_"

    def __post_init__(self) -> None:
        self.components = tuple(self.components)
        prefixes = [c.prefix for c in self.components]
        if len(set(prefixes)) != len(prefixes):
            raise InputError(f"component prefixes must be unique, got {prefixes}")
        full: dict[str, BatchParam] = {}
        for comp in self.components:
            shape = get_lineshape(comp.lineshape)
            for spec in shape.params:
                name = comp.prefix + spec.name
                full[name] = BatchParam(name, spec.default, spec.min, spec.max)
        if self.background_degree is not None:
            if self.background_degree < 0 or self.background_degree > 7:
                raise InputError(f"background_degree must be 0..7, got {self.background_degree}")
            for k in range(self.background_degree + 1):
                name = f"{self.background_prefix}c{k}"
                full[name] = BatchParam(name, 0.0)
        unknown = sorted(set(self.params) - set(full))
        if unknown:
            raise InputError(
                f"model has no parameter(s) {unknown}; its parameters are {sorted(full)}"
            )
        for name, p in self.params.items():
            full[name] = BatchParam(
                name, float(p.value), float(p.min), float(p.max), bool(p.vary), p.expr or ""
            )
        for p in full.values():
            if p.min > p.max:
                raise InputError(f"parameter {p.name!r}: min {p.min} > max {p.max}")
            if not p.expr and not p.min <= p.value <= p.max:
                p.value = float(np.clip(p.value, p.min, p.max))
        self.params = full
        names = list(full)
        self._exprs: dict[str, tuple[ast.AST, set[str]]] = {
            n: _compile_expr(p.expr, names) for n, p in full.items() if p.expr
        }
        # Order tied parameters so each is evaluated after what it depends on.
        order: list[str] = []
        pending = dict(self._exprs)
        while pending:
            ready = [n for n, (_, used) in pending.items() if not (used & set(pending))]
            if not ready:
                raise InputError(f"parameter expressions are circular: {sorted(pending)}")
            order += ready
            for n in ready:
                del pending[n]
        self._expr_order = order

    # -- parameter bookkeeping --------------------------------------------------------

    @property
    def names(self) -> list[str]:
        """Every parameter name, in a fixed order."""
        return list(self.params)

    @property
    def varying(self) -> list[str]:
        """Names of the parameters the fit adjusts (not fixed, not tied)."""
        return [n for n, p in self.params.items() if p.vary and not p.expr]

    def component_params(self, comp: Component) -> list[str]:
        """Full names of ``comp``'s parameters, in the lineshape's argument order."""
        return [comp.prefix + n for n in get_lineshape(comp.lineshape).param_names]

    def _depends_on(self, name: str) -> set[str]:
        """Parameters whose value changes when ``name`` changes (itself and tied ones)."""
        out = {name}
        for n in self._expr_order:
            if self._exprs[n][1] & out:
                out.add(n)
        return out

    def full_values(self, varied: np.ndarray, base: np.ndarray | None = None) -> np.ndarray:
        """All parameter values ``(N, P)`` from the varied ones ``(N, V)``.

        Fixed parameters take ``base`` (per spectrum) or their model value; tied parameters
        are evaluated from their expressions.
        """
        varied = np.atleast_2d(varied)
        n = varied.shape[0]
        names = self.names
        if base is None:
            out = np.tile(np.array([self.params[k].value for k in names], float), (n, 1))
        else:
            out = np.array(base, float, copy=True)
        index = {k: i for i, k in enumerate(names)}
        for j, k in enumerate(self.varying):
            out[:, index[k]] = varied[:, j]
        if self._expr_order:
            env = {k: out[:, index[k]] for k in names}
            for k in self._expr_order:
                val = _eval_expr(self._exprs[k][0], env)
                out[:, index[k]] = val
                env[k] = out[:, index[k]]
        return out

    # -- evaluation ---------------------------------------------------------------------

    def eval_component(self, comp: Component, x: np.ndarray, values: np.ndarray) -> np.ndarray:
        """One component for each row of ``values`` ``(N, P)``: shape ``(N, len(x))``."""
        shape = get_lineshape(comp.lineshape)
        index = {k: i for i, k in enumerate(self.names)}
        kwargs = {n: values[:, index[comp.prefix + n], None] for n in shape.param_names}
        fast = _FAST.get(shape.name)
        if fast is not None and np.all(kwargs["fwhm"] > 0):
            return fast(x[None, :], **kwargs)
        return shape.func(x[None, :], **kwargs)

    def eval_background(self, x: np.ndarray, values: np.ndarray) -> np.ndarray:
        """The polynomial background ``(N, len(x))`` (zeros without one)."""
        out = np.zeros((values.shape[0], x.size))
        if self.background_degree is None:
            return out
        index = {k: i for i, k in enumerate(self.names)}
        for k in range(self.background_degree + 1):
            out += values[:, index[f"{self.background_prefix}c{k}"], None] * x[None, :] ** k
        return out

    def eval(self, x: Any, values: Any) -> np.ndarray:
        """The model at ``x`` for each row of ``values`` ``(N, P)`` (or one row ``(P,)``)."""
        x = np.asarray(x, float)
        values = np.atleast_2d(np.asarray(values, float))
        out = self.eval_background(x, values)
        for comp in self.components:
            out = out + self.eval_component(comp, x, values)
        return out

    # -- lmfit interoperability ----------------------------------------------------------

    @classmethod
    def from_lmfit(cls, model: lmfit.Model, params: lmfit.Parameters | None = None) -> BatchModel:
        """Build from an lmfit (composite) model of core lineshapes and a PolynomialModel.

        Raises
        ------
        InputError
            If a component is not a registered core lineshape or a polynomial.
        """
        import lmfit

        from .registry import LINESHAPES

        by_func = {id(LINESHAPES.get(n).func): LINESHAPES.get(n).name for n in LINESHAPES.names()}
        comps: list[Component] = []
        degree: int | None = None
        bkg_prefix = "bkg_"
        for m in model.components:
            if isinstance(m, lmfit.models.PolynomialModel):
                degree, bkg_prefix = int(m.poly_degree), m.prefix
            elif id(m.func) in by_func:
                comps.append(Component(by_func[id(m.func)], m.prefix))
            else:
                raise InputError(
                    f"component {m.name} is not a core lineshape or a polynomial; the batch "
                    "engine fits sums of charact.core.lineshapes plus a polynomial background"
                )
        params = params if params is not None else model.make_params()
        pars = {
            n: BatchParam(
                n,
                float(p.value),
                -math.inf if p.min is None else float(p.min),
                math.inf if p.max is None else float(p.max),
                bool(p.vary),
                p.expr or "",
            )
            for n, p in params.items()
        }
        return cls(tuple(comps), degree, pars, background_prefix=bkg_prefix)

    def to_lmfit(self) -> tuple[lmfit.Model, lmfit.Parameters]:
        """The same model as an lmfit composite model and its Parameters."""
        import lmfit

        parts = [get_lineshape(c.lineshape).model(c.prefix) for c in self.components]
        if self.background_degree is not None:
            parts.append(
                lmfit.models.PolynomialModel(
                    degree=self.background_degree, prefix=self.background_prefix
                )
            )
        if not parts:
            raise InputError("the model has no components")
        model = parts[0]
        for m in parts[1:]:
            model = model + m
        params = model.make_params()
        for n, p in self.params.items():
            params[n].set(value=p.value, min=p.min, max=p.max, vary=p.vary)
        for n, p in self.params.items():
            if p.expr:
                params[n].set(expr=p.expr)
        return model, params

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly description, enough to rebuild the model."""

        def num(v: float) -> float | str:
            return v if math.isfinite(v) else ("inf" if v > 0 else "-inf")

        return {
            "components": [{"lineshape": c.lineshape, "prefix": c.prefix} for c in self.components],
            "background_degree": self.background_degree,
            "params": {
                n: {
                    "value": num(p.value),
                    "min": num(p.min),
                    "max": num(p.max),
                    "vary": p.vary,
                    "expr": p.expr,
                }
                for n, p in self.params.items()
            },
        }


# --------------------------------------------------------------------------- transforms


class _Bounds:
    """lmfit's Minuit-style transforms between internal (unbounded) and external values."""

    def __init__(self, lo: np.ndarray, hi: np.ndarray) -> None:
        self.lo, self.hi = lo, hi
        self.both = np.isfinite(lo) & np.isfinite(hi)
        self.lower = np.isfinite(lo) & ~np.isfinite(hi)
        self.upper = ~np.isfinite(lo) & np.isfinite(hi)
        self.span = np.where(self.both, hi - lo, 1.0)
        self.lo0 = np.where(np.isfinite(lo), lo, 0.0)
        self.hi0 = np.where(np.isfinite(hi), hi, 0.0)

    def to_external(self, u: np.ndarray) -> np.ndarray:
        root = np.sqrt(u * u + 1.0)
        out = np.where(self.lower, self.lo0 - 1.0 + root, u)
        out = np.where(self.upper, self.hi0 + 1.0 - root, out)
        return np.where(self.both, self.lo0 + (np.sin(u) + 1.0) * self.span / 2.0, out)

    def gradient(self, u: np.ndarray) -> np.ndarray:
        """d(external)/d(internal) at internal values ``u``."""
        root = np.sqrt(u * u + 1.0)
        out = np.where(self.lower, u / root, 1.0)
        out = np.where(self.upper, -u / root, out)
        return np.where(self.both, np.cos(u) * self.span / 2.0, out)

    def to_internal(self, p: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            p = np.clip(p, self.lo, self.hi)
            out = np.where(self.lower, np.sqrt(np.maximum((p - self.lo0 + 1.0) ** 2 - 1, 0)), p)
            out = np.where(self.upper, np.sqrt(np.maximum((self.hi0 - p + 1.0) ** 2 - 1, 0)), out)
            arg = np.clip(2.0 * (p - self.lo0) / self.span - 1.0, -1.0, 1.0)
            return np.where(self.both, np.arcsin(arg), out)


# --------------------------------------------------------------------------- guesses


def guess_stack(
    x: Any, y: Any, model: BatchModel, *, windows: Mapping[str, tuple[float, float]] | None = None
) -> np.ndarray:
    """Starting values ``(N, P)`` for every spectrum of a stack, without hand tuning.

    For each spectrum: a straight line through the lowest-lying end regions is taken as the
    background; then each peak, narrowest search window first, gets its centre at the maximum
    of the remaining signal inside its window (its centre bounds, or ``windows[prefix]``), its
    height from that maximum and its width from the model's starting value; the guessed peak
    is subtracted before the next one is placed, so overlapping bands share the signal.

    Parameters
    ----------
    x
        Axis ``(M,)``.
    y
        Spectra ``(N, M)`` (or one spectrum ``(M,)``).
    model
        The model whose parameters are guessed.
    windows
        Optional search windows ``{prefix: (lo, hi)}`` replacing the centre bounds.

    Returns
    -------
    numpy.ndarray
        ``(N, P)`` in the order of :attr:`BatchModel.names`, inside the bounds.
    """
    x = np.asarray(x, float)
    y = np.atleast_2d(np.asarray(y, float))
    n = y.shape[0]
    names = model.names
    index = {k: i for i, k in enumerate(names)}
    values = np.tile(np.array([model.params[k].value for k in names], float), (n, 1))
    k_end = max(3, x.size // 20)
    left = np.nanmedian(y[:, :k_end], axis=1)
    right = np.nanmedian(y[:, -k_end:], axis=1)
    x0, x1 = np.mean(x[:k_end]), np.mean(x[-k_end:])
    slope = (right - left) / (x1 - x0)
    line = left[:, None] + slope[:, None] * (x[None, :] - x0)
    resid = np.nan_to_num(y - line)
    if model.background_degree is not None:
        bk = model.background_prefix
        # line = left + slope*(x - x0) = (left - slope*x0) + slope*x
        free = lambda nm: nm in index and model.params[nm].vary and not model.params[nm].expr  # noqa: E731
        if free(f"{bk}c0"):
            values[:, index[f"{bk}c0"]] = left - slope * x0
        if model.background_degree >= 1 and free(f"{bk}c1"):
            values[:, index[f"{bk}c1"]] = slope

    def window(comp: Component) -> tuple[float, float]:
        if windows and comp.prefix in windows:
            return windows[comp.prefix]
        p = model.params[comp.prefix + "center"]
        lo = p.min if math.isfinite(p.min) else p.value - 2 * _width_guess(model, comp)
        hi = p.max if math.isfinite(p.max) else p.value + 2 * _width_guess(model, comp)
        return lo, hi

    comps = sorted(model.components, key=lambda c: window(c)[1] - window(c)[0])
    for comp in comps:
        lo, hi = window(comp)
        inside = (x >= lo) & (x <= hi)
        cname = comp.prefix + "center"
        cpar = model.params[cname]
        if inside.sum() >= 1:
            seg = resid[:, inside]
            if seg.shape[1] >= 3:
                seg = seg.copy()
                seg[:, 1:-1] = (seg[:, :-2] + seg[:, 1:-1] + seg[:, 2:]) / 3.0
            j = np.argmax(seg, axis=1)
            xi = x[inside]
            center = xi[j]
            height = np.maximum(seg[np.arange(n), j], 0.0)
        else:
            center = np.full(n, cpar.value)
            height = np.zeros(n)
        if cpar.vary and not cpar.expr:
            values[:, index[cname]] = np.clip(center, cpar.min, cpar.max)
        shape = get_lineshape(comp.lineshape)
        # Height of the profile with unit size at its centre, to turn a height into a size.
        unit = np.array(
            shape.func(
                values[:, index[cname]],
                **{
                    nm: (1.0 if nm == shape.size_param else values[:, index[comp.prefix + nm]])
                    for nm in shape.param_names
                },
            ),
            float,
        )
        spar = model.params[comp.prefix + shape.size_param]
        if spar.vary and not spar.expr:
            tiny = 1e-3 * max(float(np.nanmax(np.abs(resid))), 1e-12)
            size = np.maximum(height, tiny) / np.where(unit > 0, unit, 1.0)
            values[:, index[comp.prefix + shape.size_param]] = np.clip(size, spar.min, spar.max)
        resid = resid - model.eval_component(comp, x, values)
    return model.full_values(values[:, [index[k] for k in model.varying]], values)


def _width_guess(model: BatchModel, comp: Component) -> float:
    shape = get_lineshape(comp.lineshape)
    return float(sum(model.params[comp.prefix + w].value for w in shape.width_params))


# --------------------------------------------------------------------------- the fit


@dataclass
class BatchResult:
    """Per-spectrum results of :func:`fit_stack`.

    Attributes
    ----------
    names
        Parameter names (columns of ``values`` and ``stderr``).
    values, stderr
        ``(N, P)``; stderr is NaN where the covariance could not be estimated (singular, a
        parameter on a bound) and for fixed parameters.
    covariance
        ``(N, V, V)`` covariance of the varied parameters (external), scaled by redchi.
    varying
        Names of the varied parameters (order of ``covariance``).
    success
        ``(N,)`` converged within ``max_iter`` with finite statistics.
    nfev, chisqr, redchi, r2, aic, bic
        ``(N,)`` statistics, lmfit's definitions.
    at_bounds
        ``(N, P)`` True where a varied parameter sits on a bound.
    message
        ``(N,)`` why a fit failed ("" when it converged).
    """

    names: list[str]
    values: np.ndarray
    stderr: np.ndarray
    covariance: np.ndarray
    varying: list[str]
    success: np.ndarray
    nfev: np.ndarray
    chisqr: np.ndarray
    redchi: np.ndarray
    r2: np.ndarray
    aic: np.ndarray
    bic: np.ndarray
    at_bounds: np.ndarray
    message: np.ndarray

    def __len__(self) -> int:
        return self.values.shape[0]

    def param(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(values, stderr)`` of one parameter over the stack."""
        if name not in self.names:
            raise InputError(f"no parameter {name!r}; parameters are {self.names}")
        i = self.names.index(name)
        return self.values[:, i], self.stderr[:, i]

    def stats(self) -> np.ndarray:
        """``(N, 7)`` of success, nfev, chisqr, redchi, r2, aic, bic (as floats)."""
        return np.column_stack(
            [
                self.success.astype(float),
                self.nfev.astype(float),
                self.chisqr,
                self.redchi,
                self.r2,
                self.aic,
                self.bic,
            ]
        )


# Analytic partial derivatives of the area-normalised Gaussian and Lorentzian of
# charact.core.lineshapes with respect to (area, center, fwhm), written into the Jacobian rows
# with the bound-transformation factors folded in (fewer passes over memory). With
# u = (x - c)/F: Lorentzian f = A·2/(πF)·q, q = 1/(1+4u²): ∂f/∂A = f/A, ∂f/∂c = f·8uq/F,
# ∂f/∂F = f(1-2q)/F. Gaussian f = A·k/F·g, g = exp(-4 ln2 u²): ∂f/∂A = f/A,
# ∂f/∂c = f·8 ln2·u/F, ∂f/∂F = f(8 ln2·u² - 1)/F.
_K_GAUSS = 2.0 * math.sqrt(math.log(2.0) / math.pi)
_8LN2 = 8.0 * math.log(2.0)


def _cols_lorentzian(x, a, c, w, outs, scales):  # type: ignore[no-untyped-def]
    # t = 2u, q = 1/(1+t²): ∂/∂A = q·2/(πF), ∂/∂c = f·q·t·4/F, ∂/∂F = f(1-2q)/F; in place,
    # because these arrays are the engine's main memory traffic.
    t = np.subtract(x, c)
    t *= 2.0 / w
    q = t * t
    q += 1.0
    np.reciprocal(q, out=q)
    if outs[0] is not None:
        np.multiply(q, (2.0 / math.pi) / w * scales[0], out=outs[0])
    f = q * ((2.0 / math.pi) * a / w)
    if outs[1] is not None:
        fq = f * q
        fq *= t
        np.multiply(fq, 4.0 / w * scales[1], out=outs[1])
    if outs[2] is not None:
        q *= -2.0
        q += 1.0
        f *= q
        np.multiply(f, scales[2] / w, out=outs[2])


def _cols_gaussian(x, a, c, w, outs, scales):  # type: ignore[no-untyped-def]
    # u = (x-c)/F, g = exp(-4 ln2 u²): ∂/∂A = g·k/F, ∂/∂c = f·8 ln2·u/F,
    # ∂/∂F = f(8 ln2·u² - 1)/F.
    u = np.subtract(x, c)
    u /= w
    u2 = u * u
    g = np.multiply(u2, -_8LN2 / 2.0)
    np.exp(g, out=g)
    if outs[0] is not None:
        np.multiply(g, _K_GAUSS / w * scales[0], out=outs[0])
    g *= _K_GAUSS * a / w  # g is now f
    if outs[1] is not None:
        np.multiply(g * u, _8LN2 / w * scales[1], out=outs[1])
    if outs[2] is not None:
        u2 *= _8LN2
        u2 -= 1.0
        u2 *= g
        np.multiply(u2, scales[2] / w, out=outs[2])


_ANALYTIC = {"gaussian": _cols_gaussian, "lorentzian": _cols_lorentzian}


def _jacobian(
    model: BatchModel,
    x: np.ndarray,
    varied: np.ndarray,
    base: np.ndarray,
    bounds: _Bounds | None,
    weights: np.ndarray | None,
) -> np.ndarray:
    """Jacobian ``(N, V, M)`` of the model w.r.t. the varied parameters.

    ``varied`` are internal values when ``bounds`` is given (chain rule through the bound
    transformation), external otherwise. Gaussian, Lorentzian and background columns are
    analytic; any other column is a forward difference that re-evaluates only the components
    depending on that parameter.
    """
    n, nv = varied.shape
    names = model.names
    index = {k: i for i, k in enumerate(names)}
    vpos = {k: j for j, k in enumerate(model.varying)}
    ext = bounds.to_external(varied) if bounds is not None else varied
    full = model.full_values(ext, base)
    jac = np.empty((n, nv, x.size))
    done = np.zeros(nv, bool)
    tied = set(model._exprs)
    grad = bounds.gradient(varied) if bounds is not None else np.ones_like(varied)
    # Analytic columns: parameters that no tied parameter depends on.
    for comp in model.components:
        cols_fn = _ANALYTIC.get(get_lineshape(comp.lineshape).name)
        pnames = model.component_params(comp)
        if cols_fn is None or any(pn in tied for pn in pnames):
            continue
        cols = [vpos.get(pn) for pn in pnames]
        if any(j is not None and len(model._depends_on(pnames[i])) > 1 for i, j in enumerate(cols)):
            continue
        a, c, w = (full[:, index[pn], None] for pn in pnames)
        outs = [None if j is None else jac[:, j, :] for j in cols]
        scales = [1.0 if j is None else grad[:, j, None] for j in cols]
        cols_fn(x[None, :], a, c, w, outs, scales)
        for j in cols:
            if j is not None:
                done[j] = True
    if model.background_degree is not None:
        for k in range(model.background_degree + 1):
            name = f"{model.background_prefix}c{k}"
            j = vpos.get(name)
            if j is not None and len(model._depends_on(name)) == 1:
                jac[:, j, :] = x[None, :] ** k * grad[:, j, None]
                done[j] = True
    at_start: dict[int, np.ndarray] = {}  # component values at `full`, made when needed
    for j in np.flatnonzero(~done):
        name = model.varying[j]
        affected = model._depends_on(name)
        h = _EPS_STEP * np.maximum(np.abs(varied[:, j]), 1.0)
        vstep = varied.copy()
        vstep[:, j] += h
        ext_step = bounds.to_external(vstep) if bounds is not None else vstep
        full_step = model.full_values(ext_step, base)
        col = np.zeros((n, x.size))
        for ci, comp in enumerate(model.components):
            if any(pn in affected for pn in model.component_params(comp)):
                if ci not in at_start:
                    at_start[ci] = model.eval_component(comp, x, full)
                col += model.eval_component(comp, x, full_step) - at_start[ci]
        if model.background_degree is not None:
            for k in range(model.background_degree + 1):
                bn = f"{model.background_prefix}c{k}"
                if bn in affected:
                    col += (full_step[:, index[bn]] - full[:, index[bn]])[:, None] * x**k
        jac[:, j, :] = col / h[:, None]
    if weights is not None:
        jac *= weights[:, None, :]
    return jac


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve the batched systems ``a @ s = b``; singular ones get a least-squares step."""
    try:
        return np.linalg.solve(a, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.zeros_like(b)
        for i in range(a.shape[0]):
            if np.all(np.isfinite(a[i])) and np.all(np.isfinite(b[i])):
                out[i] = np.linalg.lstsq(a[i], b[i], rcond=None)[0]
        return out


def fit_stack(
    x: Any,
    y: Any,
    model: BatchModel,
    *,
    p0: Any = "auto",
    weights: Any = None,
    max_iter: int = 200,
    ftol: float = 1.5e-8,
    xtol: float = 1.5e-8,
    gtol: float = 1.5e-8,
    chunk_size: int | None = None,
) -> BatchResult:
    """Fit every spectrum of a stack with ``model``, all at once.

    Parameters
    ----------
    x
        The common axis ``(M,)``.
    y
        Spectra ``(N, M)`` (or one ``(M,)``). Rows with NaN/inf are not fitted: they come back
        with ``success=False`` and a message, never an exception.
    model
        The :class:`BatchModel`.
    p0
        ``"auto"`` (:func:`guess_stack`), the model's starting values (``"model"``), or an
        ``(N, P)``/``(P,)`` array in the order of :attr:`BatchModel.names`.
    weights
        Optional ``(M,)`` or ``(N, M)`` multipliers of the residual (lmfit's ``weights``).
    max_iter
        Levenberg–Marquardt iterations per spectrum before it is declared not converged.
    ftol, xtol, gtol
        Relative tolerances on chi-square and on the parameter step, and the largest cosine
        between the residual and a Jacobian column at a solution (MINPACK's meanings).
    chunk_size
        Spectra per internal block (memory ~ chunk·M·V·8 bytes for the Jacobian); chosen to
        keep the Jacobian near 12 MB (in cache) when omitted.

    Returns
    -------
    BatchResult
    """
    x = np.asarray(x, float)
    y = np.atleast_2d(np.asarray(y, float))
    if x.ndim != 1 or y.shape[-1] != x.size:
        raise InputError(f"x has shape {x.shape} and y {y.shape}: expected x (M,) and y (N, M)")
    if not np.all(np.isfinite(x)):
        raise InputError("x has non-finite values")
    n, m = y.shape
    names = model.names
    nv = len(model.varying)
    if nv == 0:
        raise FitError("the model has no varied parameters")
    if m <= nv:
        raise FitError(f"{m} data points cannot determine {nv} parameters")
    if isinstance(p0, str):
        if p0 == "auto":
            start = None
        elif p0 == "model":
            start = np.tile([model.params[k].value for k in names], (n, 1)).astype(float)
        else:
            raise InputError(f"p0 must be 'auto', 'model' or an array, got {p0!r}")
    else:
        start = np.array(np.broadcast_to(np.asarray(p0, float), (n, len(names))))
    w = None if weights is None else np.broadcast_to(np.asarray(weights, float), (n, m))
    if chunk_size is None:
        # Small blocks keep the working arrays in cache: ~12 MB of Jacobian per block.
        chunk_size = int(max(16, min(4096, 12e6 / (8.0 * m * max(nv, 1)))))
    out = _empty_result(model, n)
    good = np.all(np.isfinite(y), axis=1)
    if w is not None:
        good &= np.all(np.isfinite(w), axis=1)
    out.message[~good] = "non-finite values in the spectrum (missing pixel?)"
    rows = np.flatnonzero(good)
    for s in range(0, rows.size, chunk_size):
        idx = rows[s : s + chunk_size]
        yy = y[idx]
        ww = None if w is None else w[idx]
        p_start = guess_stack(x, yy, model) if start is None else start[idx]
        _fit_block(x, yy, ww, model, p_start, max_iter, ftol, xtol, gtol, out, idx)
    return out


def _empty_result(model: BatchModel, n: int) -> BatchResult:
    p, v = len(model.names), len(model.varying)
    nan = np.full(n, np.nan)
    return BatchResult(
        names=model.names,
        values=np.full((n, p), np.nan),
        stderr=np.full((n, p), np.nan),
        covariance=np.full((n, v, v), np.nan),
        varying=model.varying,
        success=np.zeros(n, bool),
        nfev=np.zeros(n, int),
        chisqr=nan.copy(),
        redchi=nan.copy(),
        r2=nan.copy(),
        aic=nan.copy(),
        bic=nan.copy(),
        at_bounds=np.zeros((n, p), bool),
        message=np.full(n, "", dtype=object),
    )


def _fit_block(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray | None,
    model: BatchModel,
    p_start: np.ndarray,
    max_iter: int,
    ftol: float,
    xtol: float,
    gtol: float,
    out: BatchResult,
    idx: np.ndarray,
) -> None:
    names = model.names
    index = {k: i for i, k in enumerate(names)}
    vidx = [index[k] for k in model.varying]
    lo = np.array([model.params[k].min for k in model.varying])
    hi = np.array([model.params[k].max for k in model.varying])
    bounds = _Bounds(lo, hi)
    n, m = y.shape
    nv = len(vidx)
    base = np.array(p_start, float, copy=True)
    u = bounds.to_internal(base[:, vidx])

    def evaluate(uu: np.ndarray, bb: np.ndarray) -> np.ndarray:
        full = model.full_values(bounds.to_external(uu), bb)
        fit = model.eval_background(x, full)
        for c in model.components:
            fit += model.eval_component(c, x, full)
        return fit

    def resid(fit: np.ndarray, rows: np.ndarray) -> np.ndarray:
        r = y[rows] - fit
        return r if w is None else r * w[rows]

    all_rows = np.arange(n)
    r = resid(evaluate(u, base), all_rows)
    chi2 = np.einsum("ij,ij->i", r, r)
    nfev = np.ones(n, int)
    lam = np.full(n, 1e-3)
    active = np.isfinite(chi2)
    converged = np.zeros(n, bool)
    a_mat = np.zeros((n, nv, nv))
    g_vec = np.zeros((n, nv))
    need_jac = active.copy()
    # Steps that lower χ² by less than 1 % of the noise variance (χ²/ν) are statistically
    # nothing; ten in a row end the fit. This stops the slow walk of a band that is absent
    # (its centre creeping along a bound) after the fit has already settled everything else.
    stalled = np.zeros(n, int)
    nfree_guess = max(m - nv, 1)
    failed_msg = np.full(n, "", dtype=object)
    failed_msg[~active] = "model is not finite at the starting values"
    for _ in range(max_iter):
        rows = np.flatnonzero(need_jac & active)
        if rows.size:
            jac = _jacobian(
                model,
                x,
                u[rows],
                base[rows],
                bounds,
                None if w is None else w[rows],
            )
            a_mat[rows] = jac @ jac.transpose(0, 2, 1)
            g_vec[rows] = (jac @ r[rows][..., None])[..., 0]
            nfev[rows] += nv
            del jac
            # MINPACK's gradient test: the residual is orthogonal to every Jacobian column
            # (cosine <= gtol), as at a minimum reached along a parameter running to a bound,
            # where the relative χ² decrease stays above ftol for many small steps.
            with np.errstate(all="ignore"):
                colnorm = np.sqrt(np.einsum("nii->ni", a_mat[rows]))
                cosine = np.abs(g_vec[rows]) / (colnorm * np.sqrt(chi2[rows])[:, None])
                flat = np.all((cosine <= gtol) | (colnorm == 0), axis=1)
            converged[rows[flat]] = True
            active[rows[flat]] = False
        need_jac[:] = False
        rows = np.flatnonzero(active)
        if rows.size == 0:
            break
        a = a_mat[rows]
        diag = np.einsum("nii->ni", a)
        diag = np.where(diag > 0, diag, 1.0)
        damped = a + lam[rows, None, None] * np.einsum("ni,ij->nij", diag, np.eye(nv))
        step = _solve(damped, g_vec[rows])
        u_new = u[rows] + step
        with np.errstate(all="ignore"):
            r_new = resid(evaluate(u_new, base[rows]), rows)
            chi2_new = np.einsum("ij,ij->i", r_new, r_new)
        nfev[rows] += 1
        ok = np.isfinite(chi2_new) & (chi2_new <= chi2[rows])
        acc = rows[ok]
        rej = rows[~ok]
        if acc.size:
            rel = (chi2[acc] - chi2_new[ok]) / np.maximum(chi2[acc], 1e-300)
            tiny = (chi2[acc] - chi2_new[ok]) <= 0.01 * chi2_new[ok] / nfree_guess
            stalled[acc] = np.where(tiny, stalled[acc] + 1, 0)
            small_step = np.all(np.abs(step[ok]) <= xtol * (np.abs(u[acc]) + xtol), axis=1)
            u[acc] = u_new[ok]
            r[acc] = r_new[ok]
            chi2[acc] = chi2_new[ok]
            lam[acc] = np.maximum(lam[acc] / 10.0, 1e-12)
            done = (rel <= ftol) | small_step | (stalled[acc] >= 10)
            converged[acc[done]] = True
            active[acc[done]] = False
            need_jac[acc[~done]] = True
        if rej.size:
            lam[rej] *= 10.0
            # A step rejected at enormous damping means no descent direction is left.
            stuck = lam[rej] > 1e12
            converged[rej[stuck]] = True
            active[rej[stuck]] = False
    failed_msg[active] = f"did not converge in {max_iter} iterations"

    # Statistics and covariance at the solution, in external parameters.
    ext_v = bounds.to_external(u)
    full = model.full_values(ext_v, base)
    nfree = m - nv
    with np.errstate(all="ignore"):
        redchi = chi2 / nfree
        # As MINPACK (and therefore lmfit) does, the covariance comes from the last Jacobian
        # of the iterations (internal parameters), mapped to external parameters with the
        # gradient of the bound transformation at the solution: no extra Jacobian is needed.
        gext = bounds.gradient(u)
        a = a_mat
        d = np.sqrt(np.einsum("nii->ni", a))
        dd = np.where(d > 0, d, 1.0)
        scaled = a / dd[:, :, None] / dd[:, None, :]
        cond_ok = np.all(d > 0, axis=1)
        try:
            inv = np.linalg.inv(scaled)
        except np.linalg.LinAlgError:
            inv = np.stack([np.linalg.pinv(s) for s in scaled])
        inv = inv / dd[:, :, None] / dd[:, None, :]
        sing = ~cond_ok | ~np.all(np.isfinite(inv), axis=(1, 2))
        sing |= np.any(np.einsum("nii->ni", inv) <= 0, axis=1)
        cov = inv * redchi[:, None, None] * gext[:, :, None] * gext[:, None, :]
        cov[sing] = np.nan
        std_v = np.sqrt(np.einsum("nii->ni", cov))
        std_v[gext == 0] = np.nan  # exactly on a bound: no error estimate, never a zero
    stderr = np.full((n, len(names)), np.nan)
    stderr[:, vidx] = std_v
    # Tied parameters: propagate the covariance through their expressions.
    for k in model._expr_order:
        ki = index[k]
        grad = np.zeros((n, nv))
        for j in range(nv):
            h = _EPS_STEP * np.maximum(np.abs(ext_v[:, j]), 1.0)
            e2 = ext_v.copy()
            e2[:, j] += h
            grad[:, j] = (model.full_values(e2, base)[:, ki] - full[:, ki]) / h
        stderr[:, ki] = np.sqrt(np.einsum("ni,nij,nj->n", grad, cov, grad))
    ndata = float(m)
    with np.errstate(divide="ignore", invalid="ignore"):
        chi_like = ndata * np.log(np.maximum(chi2, 1e-300) / ndata)
        yw = y if w is None else y * w
        ss_tot = np.sum((yw - yw.mean(axis=1, keepdims=True)) ** 2, axis=1)
        r2 = 1.0 - chi2 / ss_tot
    lo_full = np.array([model.params[k].min for k in names])
    hi_full = np.array([model.params[k].max for k in names])
    vary_mask = np.zeros(len(names), bool)
    vary_mask[vidx] = True
    tol = 1e-6 * np.maximum(1.0, np.abs(np.where(np.isfinite(lo_full), lo_full, 0)))
    tol_hi = 1e-6 * np.maximum(1.0, np.abs(np.where(np.isfinite(hi_full), hi_full, 0)))
    at_b = ((np.abs(full - lo_full) <= tol) | (np.abs(full - hi_full) <= tol_hi)) & vary_mask
    success = converged & np.isfinite(chi2)
    failed_msg[~np.isfinite(chi2)] = "model became non-finite"
    out.values[idx] = full
    out.stderr[idx] = stderr
    out.covariance[idx] = cov
    out.success[idx] = success
    out.nfev[idx] = nfev
    out.chisqr[idx] = chi2
    out.redchi[idx] = redchi
    out.r2[idx] = r2
    out.aic[idx] = chi_like + 2 * nv
    out.bic[idx] = chi_like + np.log(ndata) * nv
    out.at_bounds[idx] = at_b
    out.message[idx] = failed_msg


# --------------------------------------------------------------------------- coupled spectra

#: What :func:`fit_joint` accepts as ``block_param``: a regular expression with a named group
#: ``block`` (the block index; a name that does not match is shared by all blocks), or a
#: function from a parameter name to its block index (``None``: shared).
BlockParam = str | re.Pattern[str] | Callable[[str], int | None]


def _block_of(block_param: BlockParam) -> Callable[[str], int | None]:
    if callable(block_param) and not isinstance(block_param, re.Pattern):
        return block_param
    pattern = re.compile(block_param) if isinstance(block_param, str) else block_param
    if "block" not in pattern.groupindex:
        raise InputError(
            f"block_param pattern {pattern.pattern!r} has no named group 'block' "
            r"(e.g. r'^amp(?P<block>\d+)$')"
        )

    def block_of(name: str) -> int | None:
        m = pattern.fullmatch(name)
        return int(m.group("block")) if m else None

    return block_of


def _column_groups(
    names: Sequence[str], block_of: Callable[[str], int | None], n_blocks: int
) -> list[list[tuple[int, int | None]]]:
    """Columns that may be perturbed in one evaluation: ``[[(column, block or None)], ...]``.

    The k-th varied parameter of every block goes into group k (they touch disjoint blocks of
    residuals); each shared parameter is a group of its own. That is a valid Curtis–Powell–Reid
    grouping with the fewest groups (the most parameters of one block, plus the shared ones).
    """
    per_block: dict[int, int] = {}
    local: dict[int, list[tuple[int, int | None]]] = {}
    shared: list[list[tuple[int, int | None]]] = []
    for j, name in enumerate(names):
        b = block_of(name)
        if b is None:
            shared.append([(j, None)])
            continue
        b = int(b)
        if not 0 <= b < n_blocks:
            raise InputError(f"parameter {name!r} is in block {b}, outside 0..{n_blocks - 1}")
        k = per_block.get(b, 0)
        per_block[b] = k + 1
        local.setdefault(k, []).append((j, b))
    return [local[k] for k in sorted(local)] + shared


def _inverse_sigma(sigma: Any, n_blocks: int, block_size: int) -> np.ndarray | None:
    if sigma is None:
        return None
    s = np.asarray(sigma, float)
    if s.size != n_blocks * block_size:
        raise InputError(
            f"sigma has {s.size} values; expected n_blocks × block_size = {n_blocks} × {block_size}"
        )
    if not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise InputError("sigma must be finite and > 0")
    return 1.0 / s.reshape(-1)


def _grouped_columns(
    residual: Callable[[Mapping[str, float]], np.ndarray],
    base: Mapping[str, float],
    names: Sequence[str],
    groups: Sequence[Sequence[tuple[int, int | None]]],
    block_size: int,
    n_blocks: int,
) -> np.ndarray:
    r0 = np.asarray(residual(base), float)
    xv = np.array([base[n] for n in names], float)
    out = np.zeros((r0.size, len(names)))
    for members in groups:
        v = dict(base)
        steps = {}
        for j, _ in members:
            h = _EPS_STEP * max(abs(xv[j]), 1e-3)
            steps[j] = h
            v[names[j]] = xv[j] + h
        dr = np.asarray(residual(v), float) - r0
        for j, b in members:
            if b is None:
                out[:, j] = dr / steps[j]
            else:
                sl = slice(b * block_size, (b + 1) * block_size)
                out[sl, j] = dr[sl] / steps[j]
    return out


def _weighted(
    residual: Callable[[Mapping[str, float]], np.ndarray],
    inv_sigma: np.ndarray | None,
    n_blocks: int,
    block_size: int,
    *,
    finite: bool = True,
) -> Callable[[Mapping[str, float]], np.ndarray]:
    """The residual as a flat float array, checked (length; finite values unless
    ``finite`` is False) and multiplied by ``inv_sigma`` when given."""
    n = n_blocks * block_size

    def wrapped(v: Mapping[str, float]) -> np.ndarray:
        r = np.asarray(residual(v), float).reshape(-1)
        if r.size != n:
            raise FitError(
                f"the residual has {r.size} values; expected n_blocks × block_size = "
                f"{n_blocks} × {block_size} = {n}"
            )
        if finite:
            bad = np.flatnonzero(~np.isfinite(r))
            if bad.size:
                shown = [f"{k}={float(x):.6g}" for k, x in list(v.items())[:8]]
                more = " …" if len(v) > 8 else ""
                raise FitError(
                    f"the residual has {bad.size} non-finite value(s) of {n} (first at "
                    f"index {bad[0]}, block {bad[0] // block_size}) at {', '.join(shown)}{more}"
                )
        return r if inv_sigma is None else r * inv_sigma

    return wrapped


def grouped_jacobian(
    residual: Callable[[Mapping[str, float]], np.ndarray],
    values: Mapping[str, float],
    varied: Sequence[str],
    *,
    n_blocks: int,
    block_size: int,
    block_param: BlockParam,
    sigma: Any = None,
) -> np.ndarray:
    """Forward-difference Jacobian of a block-structured residual, columns grouped.

    Parameters
    ----------
    residual, n_blocks, block_size, block_param, sigma
        As in :func:`fit_joint`.
    values
        All parameter values (``{name: value}``) at which to differentiate.
    varied
        The parameters to differentiate by (the Jacobian's columns, in this order).

    Returns
    -------
    numpy.ndarray
        ``(n_blocks · block_size, len(varied))``; column j is
        ``(r(p + h_j e_j) − r(p)) / h_j`` with ``h_j = sqrt(eps) · max(|p_j|, 1e-3)`` —
        the same numbers as perturbing one parameter at a time, in fewer evaluations.
    """
    names = list(varied)
    groups = _column_groups(names, _block_of(block_param), n_blocks)
    inv = _inverse_sigma(sigma, n_blocks, block_size)
    return _grouped_columns(
        _weighted(residual, inv, n_blocks, block_size),
        dict(values),
        names,
        groups,
        block_size,
        n_blocks,
    )


def fit_joint(
    residual: Callable[[Mapping[str, float]], np.ndarray],
    params: lmfit.Parameters,
    *,
    n_blocks: int,
    block_size: int,
    block_param: BlockParam,
    sigma: Any = None,
    max_nfev: int | None = None,
    method: str = "least_squares",
    **minimize_kws: Any,
) -> lmfit.minimizer.MinimizerResult:
    r"""Fit coupled spectra: blocks of residuals that share some parameters.

    An XPS depth profile fitted with positions and widths shared across etch levels, or a
    series of spectra with one common parameter, is one least-squares problem whose residual
    vector is ``n_blocks`` blocks of ``block_size`` values. Every parameter either belongs to
    one block (it changes only that block's residuals: a level's peak sizes, its charge
    shift …) or is shared. The Jacobian is then sparse in a known pattern, and the parameters
    of different blocks can be perturbed *together* in one residual evaluation (column
    grouping; A. R. Curtis, M. J. D. Powell, J. K. Reid, IMA J. Appl. Math. 13, 117 (1974)):
    a forward-difference Jacobian costs (most parameters in one block + shared parameters + 1)
    evaluations instead of (all parameters + 1), so a fit of L blocks costs about as many
    evaluations per iteration as one block.

    Parameters
    ----------
    residual
        ``residual(values) -> (n_blocks · block_size,)`` with ``values`` a mapping
        ``{name: value}`` of every parameter; block ``b`` is
        ``[b · block_size, (b + 1) · block_size)``. Unweighted (model − data) when ``sigma``
        is given, else whatever is to be minimised in the least-squares sense.
    params
        The :class:`lmfit.Parameters` (values, bounds, ``vary``; ``expr`` ties allowed).
    n_blocks, block_size
        The residual's block layout.
    block_param
        Which parameters belong to a block: a regular expression with a named group
        ``block`` (e.g. ``r"^(?:amp|shift)(?P<block>\d+)$"``; a name that does not match is
        shared) or a function ``name -> block index | None`` (None: shared).
    sigma
        Optional standard deviations, ``n_blocks × block_size`` values (any shape): the
        residual is multiplied by ``1/sigma``.
    max_nfev
        Largest number of residual evaluations (lmfit's default when None).
    method
        lmfit method; the grouped Jacobian is used with ``"least_squares"`` (bounds are
        native there, so the Jacobian is in the parameters themselves). Other methods, and
        any parameter tied by an ``expr`` (moving a parameter then moves others, possibly in
        other blocks), use lmfit's own finite differences.
    **minimize_kws
        Passed to :func:`lmfit.minimize` (e.g. ``x_scale="jac"`` for ``least_squares``).

    Returns
    -------
    lmfit.minimizer.MinimizerResult
        As from :func:`lmfit.minimize`: values, ``covar`` (scaled by the reduced χ², lmfit's
        ``scale_covar=True``), ``jac`` at the solution for ``least_squares``, statistics.

    Raises
    ------
    InputError
        ``block_param`` without a ``block`` group, a block index outside the layout, or a
        ``sigma`` of the wrong size or not > 0.
    FitError
        The residual's length is not ``n_blocks · block_size``, or it has a NaN or infinite
        value (unless ``nan_policy`` other than ``"raise"`` is passed to lmfit).
    """
    import lmfit

    n_blocks, block_size = int(n_blocks), int(block_size)
    if n_blocks < 1 or block_size < 1:
        raise InputError(f"n_blocks and block_size must be ≥ 1, got {n_blocks}, {block_size}")
    inv = _inverse_sigma(sigma, n_blocks, block_size)
    kws = dict(minimize_kws)
    # lmfit's nan_policy "omit"/"propagate" handle non-finite values themselves
    weighted = _weighted(
        residual, inv, n_blocks, block_size, finite=kws.get("nan_policy", "raise") == "raise"
    )
    names = [n for n, p in params.items() if p.vary]
    tied = any(p.expr for p in params.values())
    if method == "least_squares" and not tied and "jac" not in kws:
        groups = _column_groups(names, _block_of(block_param), n_blocks)

        def jac(pars: lmfit.Parameters, *args: Any, **kwargs: Any) -> np.ndarray:
            # lmfit calls this with the Parameters at the trial point (columns: var_names)
            return _grouped_columns(
                weighted, pars.valuesdict(), names, groups, block_size, n_blocks
            )

        kws["jac"] = jac
    return lmfit.minimize(
        lambda p: weighted(p.valuesdict()), params, method=method, max_nfev=max_nfev, **kws
    )


# --------------------------------------------------------------------------- propagation


def propagate(
    func: Callable[[np.ndarray], np.ndarray],
    values: np.ndarray,
    covariance: np.ndarray,
    model: BatchModel,
) -> tuple[np.ndarray, np.ndarray]:
    """Value and first-order standard error of a derived quantity, for each spectrum.

    Parameters
    ----------
    func
        Maps full parameter rows ``(N, P)`` (order of :attr:`BatchModel.names`) to ``(N,)``
        — a peak height from area and width, a ratio of two areas …
    values
        ``(N, P)`` fitted values.
    covariance
        ``(N, V, V)`` covariance of the varied parameters (:attr:`BatchResult.covariance`,
        or lmfit's ``covar`` reordered to :attr:`BatchModel.varying`).
    model
        The model (to re-evaluate tied parameters when a varied one moves).

    Returns
    -------
    (value, stderr)
        ``(N,)`` each; σ² = g·C·gᵀ with the gradient g by central differences.
    """
    values = np.atleast_2d(np.asarray(values, float))
    val = np.asarray(func(values), float)
    index = {k: i for i, k in enumerate(model.names)}
    vi = [index[k] for k in model.varying]
    grad = np.zeros((values.shape[0], len(vi)))
    with np.errstate(all="ignore"):
        for j, i in enumerate(vi):
            h = 1e-6 * np.maximum(np.abs(values[:, i]), 1e-3)
            up = values.copy()
            dn = values.copy()
            up[:, i] += h
            dn[:, i] -= h
            up = model.full_values(up[:, vi], up)
            dn = model.full_values(dn[:, vi], dn)
            grad[:, j] = (np.asarray(func(up), float) - np.asarray(func(dn), float)) / (2 * h)
        var = np.einsum("ni,nij,nj->n", grad, covariance, grad)
    return val, np.sqrt(np.where(var >= 0, var, np.nan))


# --------------------------------------------------------------------------- xarray


def fit_dataarray(
    da: xr.DataArray,
    model: BatchModel,
    *,
    dim: str,
    p0: Any = "auto",
    weights: Any = None,
    max_iter: int = 200,
    derived: Mapping[str, Callable[[np.ndarray], np.ndarray]] | None = None,
) -> xr.Dataset:
    """Fit every spectrum of a labelled (possibly dask-chunked) stack along ``dim``.

    The engine runs once per chunk through :func:`xarray.apply_ufunc` with
    ``dask="parallelized"``, so a chunked map is fitted block by block (on all cores, or a
    ``dask.distributed`` cluster when a client is active) and memory stays bounded by the
    chunk size. Keep ``dim`` in a single chunk.

    Parameters
    ----------
    da
        Spectra with the spectral dim ``dim`` and any other dims (``y``, ``x``, ``etch_time``).
    model
        The :class:`BatchModel`.
    dim
        The spectral dim.
    p0, weights, max_iter
        As in :func:`fit_stack` (``p0`` as a string or a ``(P,)`` array).
    derived
        ``{name: func}`` of quantities computed from the parameters in each chunk, with
        standard errors propagated from each spectrum's covariance (:func:`propagate`).

    Returns
    -------
    xarray.Dataset
        ``value`` and ``stderr`` with a ``parameter`` dim, ``derived_value`` and
        ``derived_stderr`` with a ``derived`` dim (when asked), plus ``success``, ``nfev``,
        ``chisqr``, ``redchi``, ``r2``, ``aic``, ``bic`` on the other dims.
    """
    if dim not in da.dims:
        raise InputError(f"dim {dim!r} not in the array's dims {tuple(da.dims)}")
    x = np.asarray(da[dim].values, float)
    names = model.names
    npar = len(names)
    dnames = list(derived or {})
    nder = len(dnames)

    def kernel(block: np.ndarray) -> np.ndarray:
        shape = block.shape[:-1]
        flat = block.reshape(-1, block.shape[-1])
        res = fit_stack(x, flat, model, p0=p0, weights=weights, max_iter=max_iter)
        parts = [res.values, res.stderr, res.stats()]
        if derived:
            dv = np.full((flat.shape[0], nder), np.nan)
            ds_ = np.full((flat.shape[0], nder), np.nan)
            ok = np.all(np.isfinite(res.values), axis=1)
            if ok.any():
                for k, fn in enumerate(derived.values()):
                    v, se = propagate(fn, res.values[ok], res.covariance[ok], model)
                    dv[ok, k], ds_[ok, k] = v, se
            parts += [dv, ds_]
        packed = np.concatenate(parts, axis=1)
        return packed.reshape(*shape, packed.shape[-1])

    if da.chunks is not None and len(da.chunks[da.get_axis_num(dim)]) > 1:
        da = da.chunk({dim: -1})
    packed = xr.apply_ufunc(
        kernel,
        da,
        input_core_dims=[[dim]],
        output_core_dims=[["_packed"]],
        dask="parallelized",
        output_dtypes=[float],
        dask_gufunc_kwargs={"output_sizes": {"_packed": 2 * npar + len(_STAT_NAMES) + 2 * nder}},
    )
    ds = xr.Dataset(coords={k: v for k, v in da.coords.items() if dim not in v.dims})
    ds = ds.assign_coords(parameter=xr.Variable("parameter", np.array(names), {"units": "1"}))
    ds["value"] = packed.isel(_packed=slice(0, npar)).rename(_packed="parameter")
    ds["stderr"] = packed.isel(_packed=slice(npar, 2 * npar)).rename(_packed="parameter")
    for k, stat in enumerate(_STAT_NAMES):
        var = packed.isel(_packed=2 * npar + k, drop=True)
        ds[stat] = var.astype(bool) if stat == "success" else var
    if derived:
        off = 2 * npar + len(_STAT_NAMES)
        ds = ds.assign_coords(derived=xr.Variable("derived", np.array(dnames), {"units": "1"}))
        ds["derived_value"] = packed.isel(_packed=slice(off, off + nder)).rename(_packed="derived")
        ds["derived_stderr"] = packed.isel(_packed=slice(off + nder, off + 2 * nder)).rename(
            _packed="derived"
        )
    for v in ds.data_vars:
        ds[v].attrs["units"] = "1" if v in ("success", "nfev", "r2") else ""
    ds.attrs["model"] = model.to_dict()
    return ds
