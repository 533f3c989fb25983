"""Writers of small instrument-like files used by the echem tests and reader examples."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from charact.echem.synthetic import cycling_record


def write_arbin_xlsx(folder: Path, name: str = "arbin.xlsx") -> Path:
    """An Arbin MITS Pro-like workbook (Global_Info + Channel_1_1) of a generated record."""
    import openpyxl

    cols, _ = cycling_record([1.0, 0.9], [0.8, 0.85], current_mA=0.5, points_per_half=20)
    wb = openpyxl.Workbook(write_only=True)
    info = wb.create_sheet("Global_Info")
    info.append(["TEST REPORT"])
    ws = wb.create_sheet("Channel_1_1")
    ws.append(
        [
            "Data_Point",
            "Test_Time(s)",
            "Step_Index",
            "Cycle_Index",
            "Voltage(V)",
            "Current(A)",
            "Charge_Capacity(Ah)",
            "Discharge_Capacity(Ah)",
        ]
    )
    qc = qd = 0.0
    for k in range(cols["time_s"].size):
        dq = float(cols["dq_ah"][k])
        qc += max(dq, 0.0)
        qd += max(-dq, 0.0)
        ws.append(
            [
                k + 1,
                float(cols["time_s"][k]),
                int(cols["step"][k]),
                int(cols["cycle"][k]),
                float(cols["voltage_v"][k]),
                float(cols["current_a"][k]),
                qc,
                qd,
            ]
        )
    path = folder / name
    wb.save(path)
    return path


def write_maccor_txt(folder: Path, name: str = "maccor.txt") -> Path:
    """A Maccor-like text export (decimal comma, Md column C/D/R, TestTime in minutes)."""
    from datetime import datetime, timedelta

    cols, _ = cycling_record([1.0], [0.9], current_mA=0.5, points_per_half=20, rest_s=600)
    head = [
        "Name:\tSYN-001",
        "Tester\tMaccor #0",
        "Procedure\tSYN.000",
        "",
        "Rec\tCycle P\tCycle C\tStep\tTestTime\tStepTime\tCap. [Ah]\tEner. [Wh]\t"
        "Current [A]\tVoltage [V]\tMd\tES\tDPT Time",
        "",
    ]
    t0 = datetime(2021, 6, 5, 11, 23, 46)
    rows = []
    for k in range(cols["time_s"].size):
        i = float(cols["current_a"][k])
        md = "C" if i > 0 else ("D" if i < 0 else "R")
        tmin = float(cols["time_s"][k]) / 60.0
        stamp = (t0 + timedelta(seconds=round(float(cols["time_s"][k])))).strftime(
            "%m/%d/%Y %H:%M:%S"
        )
        vals = [
            str(k + 1),
            "0",
            "1",
            str(int(cols["step"][k])),
            f"{tmin:.6f}",
            "0",
            f"{float(cols['step_capacity_ah'][k]):.8f}",
            "0",
            f"{abs(i):.8f}",
            f"{float(cols['voltage_v'][k]):.4f}",
            md,
            "1",
            stamp,
        ]
        rows.append(
            "\t".join(v.replace(".", ",") if j not in (10, 12) else v for j, v in enumerate(vals))
        )
    path = folder / name
    path.write_text("\n".join(head + rows) + "\n", encoding="latin-1")
    return path


def write_cycling_csv(folder: Path, name: str = "record.csv") -> Path:
    cols, _ = cycling_record([1.0], [0.9], current_mA=0.5, points_per_half=20)
    lines = ["time/s,Ewe/V,<I>/mA,cycle number"] + [
        f"{t:.6f},{v:.6f},{i * 1e3:.6f},{c}"
        for t, v, i, c in zip(
            cols["time_s"], cols["voltage_v"], cols["current_a"], cols["cycle"], strict=True
        )
    ]
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


def rc_spectrum(points_per_decade: int = 10) -> tuple[np.ndarray, np.ndarray]:
    from charact.echem.synthetic import impedance_spectrum

    return impedance_spectrum(
        "R0-p(R1,CPE1)-p(R2,CPE2)-W1",
        {
            "R0": 10.0,
            "R1": 20.0,
            "CPE1_Q": 1e-5,
            "CPE1_alpha": 0.9,
            "R2": 50.0,
            "CPE2_Q": 1e-3,
            "CPE2_alpha": 0.85,
            "W1": 5.0,
        },
        points_per_decade=points_per_decade,
    )


def pydrttools_runs():
    """pyDRTtools' ``runs`` module loaded without its package ``__init__`` (which imports a
    Qt GUI), or ``None`` when pyDRTtools or its undeclared dependencies (cvxopt,
    scikit-learn) are missing."""
    import contextlib
    import importlib
    import importlib.util
    import io
    import sys
    import types

    spec = importlib.util.find_spec("pyDRTtools")
    if spec is None or not spec.submodule_search_locations:
        return None
    if "pyDRTtools" not in sys.modules:
        pkg = types.ModuleType("pyDRTtools")
        pkg.__path__ = list(spec.submodule_search_locations)
        sys.modules["pyDRTtools"] = pkg
    import warnings

    try:
        # it prints sys.path on import and imports numpy.matlib (PendingDeprecationWarning)
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return importlib.import_module("pyDRTtools.runs")
    except ImportError:
        return None
