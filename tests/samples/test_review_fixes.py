"""Fixes from the review of charact.samples: XPS rows by depth, broken result documents,
charact.toml checks, failure isolation, documents read once, missing bars, DRT rows."""

from __future__ import annotations

import json
import shutil

import pytest

from charact.cli import main
from charact.core.errors import CharactError, InputError, ManifestError
from charact.samples import Catalog, init_project
from charact.samples.analyze import analysis_settings, analyze_project
from charact.samples.compare import _compare_xps, compare_samples
from charact.samples.project import Project
from tests.conftest import make_two_sample_project, write_manifest


def _row(section: dict, quantity: str) -> dict:
    return next(r for r in section["rows"] if r["quantity"] == quantity)


def _level(t: float, depth: float | None, lif: float) -> dict:
    return {
        "etch_time_s": t,
        "depth_nm": depth,
        "species_percent": {"LiF": lif},
        "species_percent_stderr": {"LiF": 1.0},
    }


# ------------------------------------------------------------------ 1. XPS rows by depth


def test_xps_comparison_matches_rows_by_depth_not_level_number():
    # A etched at 0.1 nm/s, B at 0.05 nm/s: B's second level (120 s) is A's third depth.
    a = {"levels": [_level(0, 0.0, 10.0), _level(30, 3.0, 20.0), _level(60, 6.0, 30.0)]}
    b = {"levels": [_level(0, 0.0, 12.0), _level(120, 6.0, 40.0)]}
    out = _compare_xps({"A": [a], "B": [b]}, ["A", "B"], [])
    labels = [r["quantity"] for r in out["rows"]]
    assert labels == ["LiF % at 0 s (0 nm)", "LiF % at 30 s (3 nm)", "LiF % at 60 s / 120 s (6 nm)"]
    deep = _row(out, "LiF % at 60 s / 120 s (6 nm)")
    assert deep["etch_time_s"] == {"A": 60, "B": 120}
    assert deep["values"]["A"]["value"] == 30.0 and deep["values"]["B"]["value"] == 40.0
    assert deep["differences"]["B"]["value"] == pytest.approx(10.0)
    mid = _row(out, "LiF % at 30 s (3 nm)")
    assert mid["etch_time_s"] == {"A": 30}  # B's value is not measured at 30 s
    assert mid["values"]["A"]["value"] == 20.0
    # B has no level at 3 nm: interpolated between its own 0 and 6 nm levels, and marked so.
    assert mid["values"]["B"]["value"] == pytest.approx(26.0)
    assert mid["values"]["B"]["interpolated"] is True
    assert mid["differences"]["B"]["value"] == pytest.approx(6.0)


def test_xps_comparison_without_depths_pairs_equal_etch_times_only():
    a = {"levels": [_level(0, None, 10.0), _level(30, None, 20.0), _level(60, None, 30.0)]}
    b = {"levels": [_level(0, None, 12.0), _level(120, None, 40.0)]}
    out = _compare_xps({"A": [a], "B": [b]}, ["A", "B"], [])
    assert [r["quantity"] for r in out["rows"]] == [
        "LiF % at 0 s",
        "LiF % at 30 s",
        "LiF % at 60 s",
        "LiF % at 120 s",
    ]
    assert _row(out, "LiF % at 0 s")["differences"]["B"]["value"] == pytest.approx(2.0)
    at30 = _row(out, "LiF % at 30 s")
    assert set(at30["values"]) == {"A"} and at30["differences"] == {}
    at120 = _row(out, "LiF % at 120 s")
    assert set(at120["values"]) == {"B"} and at120["differences"] == {}


def test_xps_comparison_never_extrapolates():
    a = {"levels": [_level(0, 0.0, 10.0), _level(100, 10.0, 30.0)]}
    b = {"levels": [_level(0, 0.0, 12.0), _level(30, 3.0, 18.0)]}
    out = _compare_xps({"A": [a], "B": [b]}, ["A", "B"], [])
    deep = _row(out, "LiF % at 100 s (10 nm)")
    assert set(deep["values"]) == {"A"} and deep["differences"] == {}


# ------------------------------------------------- 2. broken or wrongly shaped result files


@pytest.fixture(scope="module")
def analysed_pair(tmp_path_factory):
    """The two-sample project (XRD and Raman each), analysed without figures."""
    root = make_two_sample_project(tmp_path_factory.mktemp("pair"))
    with Catalog(root) as cat:
        report = analyze_project(cat, figures=False)
    assert report.failed == [] and len(report.analysed) == 4
    return root


def _raman_result(root, sid="S-C100"):
    with Catalog(root) as cat:
        rel = cat.results(sid, analysis="raman.fit")[-1]["result_file"]
    return root / rel


@pytest.mark.parametrize("text", ["[]", "null", '"x"', "3"])
def test_a_result_that_is_not_an_object_is_a_named_error(analysed_pair, tmp_path, text, capsys):
    root = tmp_path / "p"
    shutil.copytree(analysed_pair, root)
    path = _raman_result(root)
    path.write_text(text, encoding="utf-8")
    with Catalog(root) as cat, pytest.raises(CharactError) as err:
        compare_samples(cat, ["S-P01", "S-C100"])
    assert path.name in str(err.value) and "charact analyze --force" in str(err.value)
    capsys.readouterr()
    assert main(["compare", "S-P01", "S-C100", "-p", str(root)]) == 1
    assert main(["report", "-p", str(root), "-o", str(tmp_path / "r.html")]) == 1
    assert "charact analyze --force" in capsys.readouterr().err


@pytest.mark.parametrize(
    "doc", [{}, {"ratios": None, "silicon": None}, {"ratios": [], "silicon": 3, "warnings": None}]
)
def test_optional_sections_may_be_missing_or_null(analysed_pair, tmp_path, doc):
    root = tmp_path / "p"
    shutil.copytree(analysed_pair, root)
    _raman_result(root).write_text(json.dumps(doc), encoding="utf-8")
    with Catalog(root) as cat:
        comp = compare_samples(cat, ["S-P01", "S-C100"])
    row = _row(comp["techniques"]["raman"], "I_D/I_G (height)")
    assert row["values"]["S-C100"]["value"] is None and "S-C100" not in row["differences"]
    assert main(["compare", "S-P01", "S-C100", "-p", str(root)]) == 0
    assert main(["report", "-p", str(root), "-o", str(tmp_path / "r.html")]) == 0


def test_analyze_repairs_a_truncated_result(analysed_pair, tmp_path):
    root = tmp_path / "p"
    shutil.copytree(analysed_pair, root)
    path = _raman_result(root)
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")  # a torn write
    with Catalog(root) as cat:
        report = analyze_project(cat, figures=False)
        assert report.failed == []
        assert [(a["sample_id"], a["analysis"]) for a in report.analysed] == [
            ("S-C100", "raman.fit")
        ]
        assert len(report.skipped) == 3
        comp = compare_samples(cat, ["S-P01", "S-C100"])
    assert isinstance(json.loads(path.read_text(encoding="utf-8")), dict)
    row = _row(comp["techniques"]["raman"], "I_D/I_G (height)")
    assert row["values"]["S-C100"]["value"] is not None


# ----------------------------------------------------------------- 3. charact.toml checks


def test_samples_that_is_not_a_table_is_a_manifest_error(tmp_path):
    root = init_project(tmp_path / "p")
    (root / "charact.toml").write_text("samples = 3\n", encoding="utf-8")
    with pytest.raises(ManifestError, match=r"charact\.toml.*samples must be a table"):
        Project(root)
    (root / "charact.toml").write_text("echem = [1, 2]\n", encoding="utf-8")
    with pytest.raises(ManifestError, match="echem must be a table"):
        Project(root)


def test_override_for_a_sample_not_in_the_manifest_is_rejected(tmp_path):
    root = init_project(tmp_path / "p")
    write_manifest(root, [{"sample_id": "MSiC-C500"}, {"sample_id": "MSiC-P01"}])
    (root / "charact.toml").write_text(
        '[samples."MSiC-C50O".echem]\nmass_mg = 1.14\n', encoding="utf-8"
    )
    with pytest.raises(ManifestError) as err:
        Project(root).samples  # noqa: B018
    text = str(err.value)
    assert "charact.toml" in text and "'MSiC-C50O'" in text and "'MSiC-C500'" in text
    # A known ID is fine.
    (root / "charact.toml").write_text(
        '[samples."MSiC-C500".echem]\nmass_mg = 1.14\n', encoding="utf-8"
    )
    assert [s.sample_id for s in Project(root).samples] == ["MSiC-C500", "MSiC-P01"]


# -------------------------------------------------------------------- 4. failure isolation


def test_bad_number_names_where_it_came_from():
    with pytest.raises(InputError, match=r"charact\.toml") as err:
        analysis_settings("echem.conductivity", {"thickness_um": "x"}, {})
    assert "manifest" not in str(err.value)
    with pytest.raises(InputError, match="samples manifest"):
        analysis_settings("echem.conductivity", {}, {"thickness_um": "x"})


@pytest.fixture
def demo_copy(analysed_demo, tmp_path):
    root = tmp_path / "demo"
    shutil.copytree(analysed_demo["root"], root)
    return root


def test_one_bad_setting_does_not_stop_the_batch(demo_copy):
    root = demo_copy
    cfg = root / "charact.toml"
    cfg.write_text(
        cfg.read_text() + '\n[samples."LATP-F01".echem]\nthickness_um = "x"\n', encoding="utf-8"
    )
    with Catalog(root) as cat:
        report = analyze_project(cat, figures=False)
        assert len(report.failed) == 1
        _path, reason = report.failed[0]
        assert "LATP-F01" in reason and "thickness_um" in reason and "charact.toml" in reason
        assert "samples manifest" not in reason
        assert report.skipped  # the other samples were still looked at
        # The comparison shows why the film has no echem results, instead of failing or
        # saying "no results" only.
        comp = compare_samples(cat, ["MSiC-P01", "LATP-F01"])
        assert any("thickness_um" in why for why in comp["problems"]["LATP-F01"])
        assert "MSiC-P01" not in comp["problems"]
        from charact.samples.table import sample_table

        with pytest.warns(Warning, match="thickness_um"):
            df = sample_table(cat, ["echem.Ea_eV", "echem.initial_ce"])
    assert df.loc["MSiC-C500", "echem.initial_ce"] is not None
    assert "LATP-F01" in df.attrs["problems"]


# --------------------------------------------------------------- 5. documents read once


def test_report_and_compare_html_scan_once(analysed_demo, tmp_path, monkeypatch):
    import charact.samples.compare as compare_mod

    scans, loads = [], []
    real_files, real_load = compare_mod._result_files, compare_mod._load_doc

    def files(catalog):
        scans.append(1)
        return real_files(catalog)

    def load(root, rel):
        loads.append(rel)
        return real_load(root, rel)

    monkeypatch.setattr(compare_mod, "_result_files", files)
    monkeypatch.setattr(compare_mod, "_load_doc", load)
    from charact.samples.report import render_report

    with Catalog(analysed_demo["root"]) as cat:
        render_report(cat)
        n_results = len({r["result_file"] for r in cat.results()})
    assert len(scans) == 1
    assert len(loads) == len(set(loads)) <= n_results
    scans.clear()
    loads.clear()
    out = tmp_path / "c.html"
    root = str(analysed_demo["root"])
    assert main(["compare", "MSiC-P01", "MSiC-C500", "-p", root, "--html", str(out)]) == 0
    assert len(scans) == 1 and len(loads) == len(set(loads))


# ------------------------------------------------------------------------- 6. demo constant


def test_demo_uses_the_conductivity_boltzmann_constant():
    import charact.demo as demo
    from charact.echem import conductivity

    assert not hasattr(demo, "_K_B_EV")
    assert demo.K_B_EV is conductivity.K_B_EV


# ---------------------------------------------------------------- 7. missing bars not zero


def test_missing_value_is_not_drawn_as_a_zero_bar():
    from matplotlib.patches import Rectangle

    from charact.samples.figures import _bars, _pyplot

    rows = [
        {
            "quantity": "D50",
            "unit": "µm",
            "values": {"A": {"value": 2.0, "stderr": 0.1}, "B": {"value": None, "stderr": None}},
        }
    ]
    plt = _pyplot()
    fig = _bars(rows, ["A", "B", "C"], "t", plt)
    try:
        ax = fig.axes[0]
        bars = [p for p in ax.patches if isinstance(p, Rectangle)]
        assert len(bars) == 1 and bars[0].get_height() == pytest.approx(2.0)
        assert sum(t.get_text() == "no value" for t in ax.texts) == 2
    finally:
        plt.close(fig)


# ------------------------------------------------------------------- 8. DRT rows in compare


def test_compare_has_arc_rows_matching_the_truth_and_no_drt_peak_rows(analysed_demo):
    truth = analysed_demo["truth"]
    ids = ["MSiC-P01", "MSiC-C100", "MSiC-C500"]
    with Catalog(analysed_demo["root"]) as cat:
        comp = compare_samples(cat, ids)
    rows = comp["techniques"]["echem"]["rows"]
    # The DRT's largest peaks include satellites of the CPE arcs (3.4 ms, 9.3 Ω on
    # MSiC-C500): not reported side by side.
    assert not any(r["quantity"].startswith("DRT") for r in rows)
    from charact.samples.compare import load_docs

    with Catalog(analysed_demo["root"]) as cat:
        docs = load_docs(cat, ids)
    for sid in ("MSiC-C100", "MSiC-C500"):
        p = truth[sid]["echem"]["parameters"]
        r_sei = _row(comp["techniques"]["echem"], "R_SEI (R1)")["values"][sid]["value"]
        r_ct = _row(comp["techniques"]["echem"], "R_ct (R2)")["values"][sid]["value"]
        assert r_sei == pytest.approx(p["R1"], rel=0.15)
        assert r_ct == pytest.approx(p["R2"], rel=0.15)
        # The DRT stays in the EIS document, with a peak at each true arc's time constant.
        peaks = docs[sid]["echem.eis"][0]["drt"]["peaks"]
        for k in (1, 2):
            tau = (p[f"R{k}"] * p[f"CPE{k}_Q"]) ** (1 / p[f"CPE{k}_alpha"])
            assert any(tau / 2 <= q["tau_s"] <= tau * 2 for q in peaks)
