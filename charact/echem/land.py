"""LAND (Wuhan LAND / LANHE, LANDdt) cycler exports.

No public LAND ``.xlsx`` export could be found, so the layouts below are implemented from
their documented description (column names, sheet structure) and tested on files written by
:func:`write_land_xlsx`, not on instrument files:

``"record"``
    The old multi-sheet layout: a ``Record`` sheet with one header row, and continuation
    sheets (``Record1``, ``Record2`` …) holding more rows *without* a header.
``"index"``
    The newer single-sheet layout: title rows, then a header row whose first cell is
    ``Index``.
``"cycle"``
    The Cycle/Step/Record workbook: per-cycle ``Cycle`` sheet (``CapC/mAh``, ``CapD/mAh``,
    ``SpeCapD/mAh/g``, ``Efficiency/%``), a ``Step`` sheet and the per-point ``Record`` sheet.

Columns: ``Voltage/V``, ``Current/mA`` or ``Current/uA`` (``µA``), ``Capacity/mAh`` or
``Capacity/uAh`` (per step, restarting at 0), ``SpeCap/mAh/g``, ``TestTime`` as ``h:mm:ss``
with hours past 24, ``State`` (``R``, ``C_CC``, ``D_CC``, ``C_CV`` …) and blanks written as
``-``. The export's ``Efficiency/%`` is ignored: charact recomputes the CE with an explicit
electrode convention (:mod:`charact.echem.cycling`).

The native ``.ccs``/``.cex`` files have no open description and are rejected with an
"export to xlsx" message.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..core.errors import CorruptFileError, UnknownFormatError
from ..core.readers import Reader, register_reader
from .io import _increments, _xlsx_strings, make_cycling_dataset

__all__ = [
    "LAND_LAYOUTS",
    "parse_land_time",
    "read_land_csv",
    "read_land_xls",
    "read_land_xlsx",
    "write_land_xlsx",
]

LAND_LAYOUTS = ("record", "index", "cycle")

_UNIT_SCALE = {"a": 1.0, "ma": 1e-3, "ua": 1e-6, "µa": 1e-6, "μa": 1e-6, "na": 1e-9}
_CAP_SCALE = {"ah": 1.0, "mah": 1e-3, "uah": 1e-6, "µah": 1e-6, "μah": 1e-6, "nah": 1e-9}
_TIME = re.compile(r"^\s*(?:(\d+)\s*d\s*)?(\d+):(\d{1,2}):(\d{1,2}(?:\.\d*)?)\s*$")


def parse_land_time(value: Any) -> float:
    """Seconds from a LAND ``TestTime`` cell: ``h:mm:ss[.f]`` (hours may exceed 24),
    ``Nd h:mm:ss``, a number of seconds, or a :class:`datetime.timedelta`/``time``.

    Returns NaN for a blank (``-`` or empty).
    """
    if value is None:
        return float("nan")
    if hasattr(value, "total_seconds"):
        return float(value.total_seconds())
    if hasattr(value, "hour") and hasattr(value, "second") and not hasattr(value, "year"):
        return value.hour * 3600.0 + value.minute * 60.0 + value.second + value.microsecond / 1e6
    if isinstance(value, int | float):
        return float(value)
    s = str(value).strip()
    if s in ("", "-"):
        return float("nan")
    m = _TIME.match(s)
    if not m:
        raise ValueError(f"not a LAND time {s!r} (expected h:mm:ss)")
    days = int(m.group(1) or 0)
    return days * 86400.0 + int(m.group(2)) * 3600.0 + int(m.group(3)) * 60.0 + float(m.group(4))


def _sniff_land(head: bytes, path: Path) -> float:
    ext = path.suffix.lower()
    if ext in (".ccs", ".cex"):
        return 0.0  # the extension sends these to read_land_xlsx, which rejects them clearly
    if not head.startswith(b"PK") or ext not in (".xlsx", ".xlsm"):
        return 0.0
    s = _xlsx_strings(path)
    if "Voltage/V" in s and ("Capacity/" in s or "SpeCap" in s or "Current/" in s):
        return 0.95
    return 0.0


def _norm(name: Any) -> str:
    return str(name).strip() if name is not None else ""


def _find_header(rows: list[tuple[Any, ...]]) -> int | None:
    for k, row in enumerate(rows[:30]):
        names = [_norm(c) for c in row]
        if "Voltage/V" in names or any(n.startswith("Voltage/") for n in names):
            return k
    return None


def _column(
    names: list[str], quantity: str, scales: dict[str, float], path: Path
) -> tuple[int, float] | None:
    hits = [(k, n) for k, n in enumerate(names) if n.split("/")[0].strip() == quantity and "/" in n]
    if not hits:
        return None
    units = {n.split("/", 1)[1].strip().lower() for _, n in hits}
    if len(units) > 1:
        raise CorruptFileError(
            f"mixed-unit header: {quantity} appears as "
            f"{', '.join(n for _, n in hits)}; expected one unit per quantity",
            path=path,
        )
    k, n = hits[0]
    unit = n.split("/", 1)[1].strip().lower()
    if unit not in scales:
        raise CorruptFileError(
            f"column {n!r}: unknown unit {unit!r} (expected one of {', '.join(sorted(scales))})",
            path=path,
        )
    return k, scales[unit]


def _f(x: Any) -> float:
    if x is None:
        return float("nan")
    if isinstance(x, int | float):
        return float(x)
    s = str(x).strip()
    if s in ("", "-"):
        return float("nan")
    return float(s.replace(",", ""))


def _reject_native(p: Path) -> None:
    if p.suffix.lower() in (".ccs", ".cex"):
        raise UnknownFormatError(
            f"LAND native {p.suffix} files are unsupported: no open description of the "
            "format exists",
            path=p,
            hint="export to xlsx in LANDdt and read the .xlsx",
        )


def read_land_xlsx(path: str | PathLike[str]) -> xr.Dataset:
    """Read a LAND ``.xlsx`` export in any of :data:`LAND_LAYOUTS` (detected).

    Raises
    ------
    UnknownFormatError
        For native ``.ccs``/``.cex`` files (export to xlsx in LANDdt).
    CorruptFileError
        Missing ``Voltage``/``Current``/``TestTime`` columns, a mixed-unit header, an
        unknown unit, a non-numeric cell (naming sheet and row).
    """
    p = Path(path)
    _reject_native(p)
    import openpyxl

    try:
        wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types on damaged zips
        raise CorruptFileError(f"not a readable .xlsx workbook ({exc})", path=p) from None
    try:
        sheets = {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}
    finally:
        wb.close()
    return _land_dataset(sheets, p, "xlsx")


def read_land_xls(path: str | PathLike[str]) -> xr.Dataset:
    """Read a LAND ``.xls`` (Excel 97–2003) export, any of :data:`LAND_LAYOUTS`.

    Decoded by **xlrd** (BSD), an optional dependency imported only here. LANDdt's ``.xls``
    exports are where the header-less ``Record1``, ``Record2`` … continuation sheets come
    from (65 536 rows per sheet).
    """
    p = Path(path)
    try:
        import xlrd
    except ImportError:
        raise UnknownFormatError(
            "reading LAND .xls exports needs the optional package xlrd",
            path=p,
            hint="pip install 'charact[land-xls]', or export to xlsx in LANDdt",
        ) from None
    log = io.StringIO()  # xlrd writes its warnings to stdout by default
    try:
        book = xlrd.open_workbook(str(p), logfile=log)
    except Exception as exc:  # xlrd raises XLRDError, struct errors, … on damaged files
        said = " ".join(log.getvalue().split())
        raise CorruptFileError(
            f"not a readable .xls workbook ({exc}{'; xlrd: ' + said if said else ''})", path=p
        ) from None
    sheets = {}
    for sh in book.sheets():
        rows = []
        for r in range(sh.nrows):
            row = []
            for c, cell in enumerate(sh.row(r)):
                if cell.ctype == xlrd.XL_CELL_DATE:  # a TestTime stored as an Excel time
                    row.append(cell.value * 86400.0 if cell.value < 1e4 else cell.value)
                elif cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                    row.append(None)
                else:
                    row.append(sh.cell_value(r, c))
            rows.append(tuple(row))
        sheets[sh.name] = rows
    return _land_dataset(sheets, p, "xls")


def read_land_csv(path: str | PathLike[str]) -> xr.Dataset:
    """Read a LAND ``.csv`` export: one table (title lines allowed before the header row),
    comma- or tab-separated, UTF-8 (with or without BOM) or GBK as LANDdt writes on Chinese
    Windows."""
    import csv

    p = Path(path)
    raw = p.read_bytes()
    for enc in ("utf-8-sig", "gbk", "latin-1"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    lines = text.splitlines()
    sample = "\n".join(lines[:40])
    delim = "\t" if sample.count("\t") > sample.count(",") else ","
    rows = [tuple(c.strip() for c in r) for r in csv.reader(lines, delimiter=delim)]
    return _land_dataset({"Record": rows}, p, "csv")


def _land_dataset(sheets: dict[str, list[tuple[Any, ...]]], p: Path, container: str) -> xr.Dataset:
    """The cycling Dataset from a LAND export's sheets (rows of cell values)."""
    # data sheets: the sheet holding the per-point header, plus its header-less continuations
    main = None
    for title, rows in sheets.items():
        k = _find_header(rows)
        if k is not None and title.lower() != "cycle":
            main = (title, k)
            if title.lower().startswith(("record", "data")) or "Index" in map(_norm, rows[k]):
                break
    if main is None:
        raise CorruptFileError(
            f"no sheet has a LAND header row with Voltage/V (sheets: {', '.join(sheets)})",
            path=p,
        )
    title, k = main
    names = [_norm(c) for c in sheets[title][k]]
    body = [(title, k + 2 + j, r) for j, r in enumerate(sheets[title][k + 1 :])]
    layout = "index" if names and names[0] == "Index" else "record"
    if "Cycle" in sheets and "Record" in sheets:
        layout = "cycle"
    base = re.sub(r"\d+$", "", title)
    for other in sheets:
        if other != title and re.fullmatch(rf"{re.escape(base)}\d+", other):
            rows = sheets[other]
            if rows and _find_header(rows[:1]) is not None:
                rows = rows[1:]  # a continuation that repeats the header
            body += [(other, j + 1, r) for j, r in enumerate(rows)]
    body = [b for b in body if any(c not in (None, "") for c in b[2])]
    if not body:
        raise CorruptFileError(f"sheet {title!r} has a header but no data rows", path=p)
    volt = _column(names, "Voltage", {"v": 1.0, "mv": 1e-3}, p)
    cur = _column(names, "Current", _UNIT_SCALE, p)
    cap = _column(names, "Capacity", _CAP_SCALE, p)
    time_col = next(
        (j for j, n in enumerate(names) if n.split("/")[0] in ("TestTime", "Time")), None
    )
    missing = [
        n
        for n, c in (("Voltage/V", volt), ("Current/mA|uA", cur), ("TestTime", time_col))
        if c is None
    ]
    if missing:
        raise CorruptFileError(
            f"LAND export lacks column(s) {', '.join(missing)}; found {', '.join(names)}",
            path=p,
        )
    state_col = next((j for j, n in enumerate(names) if n in ("State", "Step Type", "Mode")), None)
    cycle_col = next((j for j, n in enumerate(names) if n in ("Cycle", "Cycle Index")), None)
    step_col = next((j for j, n in enumerate(names) if n in ("Step", "Step Index")), None)
    used = [time_col, volt[0], cur[0], state_col, cycle_col, step_col]
    if cap is not None:
        used.append(cap[0])
    # a csv row is a line of text: one shorter than the header is a cut-off file; a sheet's
    # row may end early where its trailing cells are empty, so only the columns read count
    width = len(names) if container == "csv" else 1 + max(c for c in used if c is not None)
    n = len(body)
    t = np.empty(n)
    v = np.empty(n)
    i = np.empty(n)
    q = np.zeros(n)
    state = [""] * n
    cyc = np.zeros(n, dtype=np.int64)
    stp = np.zeros(n, dtype=np.int64)
    for j, (sheet, row_no, row) in enumerate(body):
        where = f"line {row_no}" if container == "csv" else f"sheet {sheet!r} row {row_no}"
        if len(row) < width:
            raise CorruptFileError(
                f"{where}: expected {width} columns, found {len(row)} (is the file cut short?)",
                path=p,
            )
        try:
            t[j] = parse_land_time(row[time_col])
            v[j] = _f(row[volt[0]]) * volt[1]
            i[j] = _f(row[cur[0]]) * cur[1]
            if cap is not None:
                q[j] = _f(row[cap[0]]) * cap[1]
            if state_col is not None:
                state[j] = _norm(row[state_col])
            if cycle_col is not None:
                cyc[j] = int(_f(row[cycle_col]))
            if step_col is not None:
                stp[j] = int(_f(row[step_col]))
        except (ValueError, IndexError, TypeError) as exc:
            raise CorruptFileError(f"{where}: {exc}", path=p) from None
    # LAND writes the current magnitude in some versions; the State column gives the sign
    st = np.array([s.upper() for s in state])
    if state_col is not None:
        dis = np.char.startswith(st.astype(str), "D")
        chg = np.char.startswith(st.astype(str), "C")
        i = np.where(dis, -np.abs(i), np.where(chg, np.abs(i), i))
    i = np.nan_to_num(i)
    qc = qd = None
    if cap is not None:
        inc = _increments(np.nan_to_num(q))
        qc = np.where(i > 0, inc, 0.0)
        qd = np.where(i < 0, inc, 0.0)
    meta: dict[str, Any] = {
        "layout": layout,
        "container": container,
        "sheets": list(sheets),
        "columns": names,
    }
    attrs: dict[str, Any] = {"instrument": "LAND", "land_layout": layout}
    if layout == "cycle":
        crow = sheets["Cycle"]
        meta["cycle_sheet"] = [[_norm(c) for c in r] for r in crow[:1000]]
    return make_cycling_dataset(
        time_s=t,
        voltage_v=v,
        current_a=i,
        charge_increment_ah=qc,
        discharge_increment_ah=qd,
        cycle=cyc if cycle_col is not None else None,
        step=stp if step_col is not None else None,
        metadata=meta,
        attrs=attrs,
        source=p,
    )


def _hms(seconds: float) -> str:
    s = round(seconds * 1000)
    h, rem = divmod(s, 3_600_000)
    m, rem = divmod(rem, 60_000)
    return f"{h}:{m:02d}:{rem / 1000:06.3f}"


def _land_sheets(
    columns: dict[str, np.ndarray],
    *,
    layout: str,
    current_unit: str,
    capacity_unit: str,
    mass_mg: float | None,
    rows_per_sheet: int,
    blanks: bool,
) -> dict[str, list[list[Any]]]:
    """The sheets (name → rows) of a LAND export of ``columns`` in ``layout``."""
    if layout not in LAND_LAYOUTS:
        raise ValueError(f"layout must be one of {LAND_LAYOUTS}")
    iscale = {"mA": 1e3, "uA": 1e6}[current_unit]
    qscale = {"mAh": 1e3, "uAh": 1e6}[capacity_unit]
    header = [
        "Index",
        "Cycle",
        "Step",
        "State",
        "TestTime",
        "StepTime",
        f"Current/{current_unit}",
        "Voltage/V",
        f"Capacity/{capacity_unit}",
        "SpeCap/mAh/g",
        f"Energy/m{'W' if current_unit == 'mA' else 'uW'}h",
    ]
    if layout == "record":
        header[0] = "Record"
    step_start: dict[int, float] = {}
    rows: list[list[Any]] = []
    for k in range(columns["time_s"].size):
        st = int(columns["step"][k])
        step_start.setdefault(st, float(columns["time_s"][k]))
        qah = float(columns["step_capacity_ah"][k])
        spec = f"{qah * 1e3 / (mass_mg / 1e3):.4f}" if mass_mg else ("-" if blanks else "")
        rows.append(
            [
                k + 1,
                int(columns["cycle"][k]),
                st,
                str(columns["state"][k]),
                _hms(float(columns["time_s"][k])),
                _hms(float(columns["time_s"][k]) - step_start[st]),
                round(float(columns["current_a"][k]) * iscale, 6),
                round(float(columns["voltage_v"][k]), 6),
                round(qah * qscale, 9),
                spec,
                "-",
            ]
        )
    sheets: dict[str, list[list[Any]]] = {}
    if layout == "index":
        sheets["DefaultGroup_1"] = [["LANDdt export (synthetic, written by charact)"], [], header]
        sheets["DefaultGroup_1"] += rows
    elif layout == "record":
        chunks: Sequence[list[list[Any]]] = [
            rows[a : a + rows_per_sheet] for a in range(0, len(rows), rows_per_sheet)
        ]
        for c, chunk in enumerate(chunks):
            sheets["Record" if c == 0 else f"Record{c}"] = ([header] if c == 0 else []) + chunk
    else:
        cyc_rows: list[list[Any]] = [
            ["Cycle", "CapC/mAh", "CapD/mAh", "SpeCapC/mAh/g", "SpeCapD/mAh/g", "Efficiency/%"]
        ]
        cyc = np.asarray(columns["cycle"])
        cur = np.asarray(columns["current_a"])
        qa = np.asarray(columns["step_capacity_ah"])
        for c in np.unique(cyc):
            m = cyc == c
            capc = float(np.max(np.where(m & (cur > 0), qa, 0))) * 1e3
            capd = float(np.max(np.where(m & (cur < 0), qa, 0))) * 1e3
            eff = f"{100 * capd / capc:.2f}" if capc else "-"
            sc = f"{capc / (mass_mg / 1e3):.3f}" if mass_mg else "-"
            sd = f"{capd / (mass_mg / 1e3):.3f}" if mass_mg else "-"
            cyc_rows.append([int(c), round(capc, 6), round(capd, 6), sc, sd, eff])
        sheets["Cycle"] = cyc_rows
        sheets["Step"] = [["Cycle", "Step", "State", "Capacity/mAh"]]
        sheets["Record"] = [header, *rows]
    return sheets


def write_land_xlsx(
    columns: dict[str, np.ndarray],
    path: str | PathLike[str],
    *,
    layout: str = "index",
    current_unit: str = "mA",
    capacity_unit: str = "mAh",
    mass_mg: float | None = None,
    rows_per_sheet: int = 65000,
    blanks: bool = True,
) -> Path:
    """Write a record (from :func:`charact.echem.synthetic.cycling_record`) as a LAND export.

    The container follows the suffix of ``path``: ``.xlsx`` (openpyxl), ``.xls`` (needs the
    optional package xlwt; for tests) or ``.csv`` (one table: layout ``"index"`` only, as
    LANDdt's csv export has no workbook structure).

    Parameters
    ----------
    layout
        One of :data:`LAND_LAYOUTS`.
    current_unit, capacity_unit
        ``"mA"``/``"uA"`` and ``"mAh"``/``"uAh"`` as LANDdt writes them.
    mass_mg
        Active mass, for the ``SpeCap/mAh/g`` column.
    rows_per_sheet
        Rows per ``Record`` sheet before a header-less continuation sheet (layout
        ``"record"``; LANDdt used 65000 for .xls compatibility).
    blanks
        Write ``-`` in ``SpeCap`` when no mass is given, as LANDdt does.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".csv" and layout != "index":
        raise ValueError("a LAND .csv export holds one table: use layout='index'")
    sheets = _land_sheets(
        columns,
        layout=layout,
        current_unit=current_unit,
        capacity_unit=capacity_unit,
        mass_mg=mass_mg,
        rows_per_sheet=rows_per_sheet,
        blanks=blanks,
    )
    tmp = target.with_name(target.name + ".part")
    if suffix == ".csv":
        import csv

        with tmp.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            for r in next(iter(sheets.values())):
                w.writerow(r)
    elif suffix == ".xls":
        import xlwt

        book = xlwt.Workbook()
        for name, rows in sheets.items():
            ws = book.add_sheet(name)
            for i, r in enumerate(rows):
                for j, v in enumerate(r):
                    ws.write(i, j, v)
        book.save(str(tmp))
    else:
        import openpyxl

        wb = openpyxl.Workbook(write_only=True)
        for name, rows in sheets.items():
            ws = wb.create_sheet(name)
            for r in rows:
                ws.append(r)
        wb.save(tmp)
    tmp.replace(target)
    return target


def _sniff_land_xls(head: bytes, path: Path) -> float:
    if not head.startswith(b"\xd0\xcf\x11\xe0") or path.suffix.lower() != ".xls":
        return 0.0
    with path.open("rb") as fh:
        blob = fh.read(400_000)
    # BIFF8 stores strings as 8-bit "compressed" text or UTF-16
    if b"Voltage/V" in blob or "Voltage/V".encode("utf-16-le") in blob:
        return 0.95
    return 0.3


def _sniff_land_csv(head: bytes, path: Path) -> float:
    if path.suffix.lower() not in (".csv", ".txt"):
        return 0.0
    text = head.decode("utf-8", "replace")
    has_i = "Current/mA" in text or "Current/uA" in text or "Current/µA" in text
    if "Voltage/V" in text and "TestTime" in text and has_i:
        return 0.97
    return 0.0


register_reader(
    Reader(
        name="echem-land-xlsx",
        technique="echem",
        description="LAND/LANHE LANDdt .xlsx export (Record, Index or Cycle/Step/Record layout)",
        extensions=(".xlsx", ".ccs", ".cex"),
        sniff=_sniff_land,
        read=read_land_xlsx,
    )
)
register_reader(
    Reader(
        name="echem-land-xls",
        technique="echem",
        description="LAND/LANHE LANDdt .xls export (Record, Index or Cycle/Step/Record layout); "
        "needs xlrd",
        extensions=(".xls",),
        sniff=_sniff_land_xls,
        read=read_land_xls,
    )
)
register_reader(
    Reader(
        name="echem-land-csv",
        technique="echem",
        description="LAND/LANHE LANDdt .csv export (one table with TestTime, Voltage/V, "
        "Current/mA|uA)",
        extensions=(".csv",),
        sniff=_sniff_land_csv,
        read=read_land_csv,
    )
)
