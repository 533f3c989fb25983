"""The linked results of the demo project: report, table, conductivity, maps, overrides, workers.

Every reference value comes from the demo's ``truth/ground_truth.json``, written by
:mod:`charact.demo` from the exact parameters it generated the files with.
"""

from __future__ import annotations

import html
import json
import re
import shutil

import pytest

from charact.cli import main
from charact.core.errors import InputError, ManifestError
from charact.samples import Catalog, init_project
from charact.samples.analyze import analyze_project, file_temperature_C
from charact.samples.compare import compare_samples
from charact.samples.project import ProjectConfig
from charact.samples.report import comparison_groups, render_report, write_report
from charact.samples.table import metric_value, sample_table
from tests.conftest import write_manifest


def _row(section: dict, quantity: str) -> dict:
    return next(r for r in section["rows"] if r["quantity"] == quantity)


def test_demo_analyses_every_file_without_failure(analysed_demo):
    report = analysed_demo["report"]
    assert report.failed == []
    kinds = sorted(a["analysis"] for a in report.analysed)
    assert kinds.count("raman.map") == 3
    assert kinds.count("echem.conductivity") == 1  # five spectra of LATP-F01, one result
    for item in report.analysed:
        assert item["result_file"].endswith(".json")
    results = analysed_demo["root"] / ".charact" / "results"
    figures = sorted(results.glob("*.png"))
    assert len(figures) == len(report.analysed)
    assert all(f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for f in figures)


def test_conductivity_and_arrhenius_match_ground_truth(analysed_demo):
    truth = analysed_demo["truth"]["LATP-F01"]["conductivity"]
    with Catalog(analysed_demo["root"]) as cat:
        doc = json.loads(
            (analysed_demo["root"] / cat.results("LATP-F01")[0]["result_file"]).read_text()
        )
    assert doc["analysis"] == "echem.conductivity"
    assert doc["thickness_um"] == truth["thickness_um"] and doc["area_cm2"] == truth["area_cm2"]
    # σ = L/(R_b·S): R_b of each generated spectrum is exact in the truth; 0.2 % noise.
    for got, want in zip(doc["points"], truth["points"], strict=True):
        assert got["T_K"] == pytest.approx(want["T_C"] + 273.15)
        assert got["sigma_S_cm"] == pytest.approx(want["sigma_S_cm"], rel=0.02)
    # Issue 7: the study's conductivities give Ea ≈ 0.22-0.23 eV; the demo draws 0.225 eV.
    assert doc["arrhenius"]["Ea_eV"] == pytest.approx(truth["Ea_eV"], abs=0.005)
    assert 0 < doc["arrhenius"]["Ea_stderr"] < 0.005


def test_raman_maps_match_ground_truth(analysed_demo):
    truth = analysed_demo["truth"]
    with Catalog(analysed_demo["root"]) as cat:
        doc = compare_samples(cat, ["MSiC-P01", "MSiC-C500"])
    row = _row(doc["techniques"]["raman"], "I_D/I_G (height), map mean")
    for sid in ("MSiC-P01", "MSiC-C500"):
        want = truth[sid]["raman_map"]["ID_IG_height"]
        assert row["values"][sid]["value"] == pytest.approx(want, rel=0.03)
    # Clean generated pixels all converge, the absent band's included (a-Si in the pristine
    # map, c-Si in the cycled one: its centre creeps along a bound until the fit stalls).
    from charact.samples.results import result_documents

    for d in result_documents(analysed_demo["root"], analysis="raman.map"):
        assert d["pixels_failed"] == [] and d["pixels_fitted"] == d["pixels"] == 36
    states = _row(doc["techniques"]["raman"], "Si state, map pixels")["values"]
    assert "crystalline" in states["MSiC-P01"]["value"]
    assert "amorphous" in states["MSiC-C500"]["value"]


def test_report_states_the_findings_with_numbers_that_match_the_truth(analysed_demo):
    root, truth = analysed_demo["root"], analysed_demo["truth"]
    with Catalog(root) as cat:
        text = render_report(cat)
        comp = compare_samples(cat, ["MSiC-P01", "MSiC-C100", "MSiC-C500"])
    plain = html.unescape(re.sub(r"<[^>]+>", " ", text))
    # Crystalline Si lost (XRD and Raman), I_D/I_G lower, LiF share growing with depth.
    assert "XRD: crystalline Si no longer detected in MSiC-C500" in plain
    assert "Raman: crystalline Si no longer detected in MSiC-C500" in plain
    m = re.search(
        r"I_D/I_G \(height\) of MSiC-C500 is lower than MSiC-P01: ([\d.]+) ± [\d.]+ vs "
        r"([\d.]+) ± [\d.]+",
        plain,
    )
    assert m, "the I_D/I_G statement is missing"
    c500 = sum(s["ID_IG_height"] for s in truth["MSiC-C500"]["raman"]) / 2
    assert float(m[1]) == pytest.approx(c500, rel=0.03)
    assert float(m[2]) == pytest.approx(truth["MSiC-P01"]["raman"][0]["ID_IG_height"], rel=0.03)
    m = re.search(
        r"LiF share of MSiC-C500's SEI grows with depth, from ([\d.]+) % to ([\d.]+) %", plain
    )
    assert m, "the LiF statement is missing"
    levels = truth["MSiC-C500"]["xps"]["levels"]["levels"]
    assert float(m[1]) == pytest.approx(levels[0]["species_percent"]["LiF"], abs=2.0)
    assert float(m[2]) == pytest.approx(levels[-1]["species_percent"]["LiF"], abs=2.0)
    assert float(m[2]) > float(m[1])
    # SEM: the cycled powder's particles are smaller (the demo draws a 1.0 µm median).
    m = re.search(r"SEM: D50 of MSiC-C500 is lower than MSiC-P01: ([\d.]+) ± [\d.]+ vs", plain)
    assert m, "the SEM statement is missing"
    assert float(m[1]) == pytest.approx(truth["MSiC-C500"]["sem"]["ecd_um"]["median"], rel=0.05)
    # The same statements are in the comparison document.
    assert any("crystalline Si no longer detected in MSiC-C500" in s for s in comp["statements"])
    # A page per sample, the electrolyte film among them, and the figures embedded.
    for sid in ("MSiC-P01", "MSiC-C100", "MSiC-C500", "LATP-F01"):
        assert f"id='sample-{sid}'" in text
    assert text.count("src='data:image/png;base64,") >= 20
    assert ("Ea" in plain and "activation energy" in plain) or "Ea_eV" in plain


def test_report_is_self_contained(analysed_demo):
    with Catalog(analysed_demo["root"]) as cat:
        text = render_report(cat)
    # Nothing to fetch: every src is a data: URI, no script, a CSP that forbids the network.
    assert "<script" not in text.lower()
    srcs = re.findall(r"\bsrc=['\"]([^'\"]+)", text)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert not re.search(r"\bhref=['\"](?!#)", text)
    assert "default-src 'none'" in text


def test_report_escapes_user_text(tmp_path):
    root = init_project(tmp_path / "p")
    write_manifest(
        root,
        [
            {"sample_id": "S1", "description": "<script>alert('x')</script> & co", "state": "a"},
            {"sample_id": "S2", "description": "<img src=x onerror=alert(1)>", "state": "b"},
        ],
    )
    with Catalog(root) as cat:
        cat.ingest()
        out = write_report(cat, tmp_path / "r.html")
    text = out.read_text(encoding="utf-8")
    assert "<script>alert" not in text and "<img src=x" not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co" in text
    with pytest.raises(InputError, match="html"), Catalog(root) as cat:
        write_report(cat, tmp_path / "r.pdf")


def test_comparison_groups_follow_parents_then_cycles():
    rows = [
        {"sample_id": "P", "parent": None, "cycles": 0, "measurements": {"xrd": 1}},
        {"sample_id": "C500", "parent": "P", "cycles": 500, "measurements": {"xrd": 1}},
        {"sample_id": "C100", "parent": "P", "cycles": 100, "measurements": {"xrd": 1}},
        {"sample_id": "F", "parent": None, "cycles": 0, "measurements": {"echem": 5}},
    ]
    assert comparison_groups(rows) == [["P", "C100", "C500"]]
    flat = [
        {"sample_id": "A", "state": "cycled", "cycles": 10, "measurements": {"xrd": 1}},
        {"sample_id": "B", "state": "pristine", "cycles": 0, "measurements": {"xrd": 1}},
        {"sample_id": "C", "state": "cycled", "cycles": 2, "measurements": {}},
    ]
    assert comparison_groups(flat) == [["B", "A"]]


def test_table_one_row_per_sample(analysed_demo):
    truth = analysed_demo["truth"]
    metrics = [
        "echem.retention",
        "raman.ID_IG_height",
        "xps.LiF_percent@10nm",
        "xps.LiF_percent@level-1",
        "echem.Ea_eV",
        "echem.sigma_S_cm@30C",
        "xrd.Si_present",
    ]
    with Catalog(analysed_demo["root"]) as cat:
        df = sample_table(cat, metrics)
    assert set(df.index) == {"MSiC-P01", "MSiC-C100", "MSiC-C500", "LATP-F01"}
    assert df.loc["MSiC-C500", "echem.retention"] == pytest.approx(0.53, rel=0.01)
    assert df.loc["MSiC-P01", "raman.ID_IG_height"] == pytest.approx(
        truth["MSiC-P01"]["raman"][0]["ID_IG_height"], rel=0.03
    )
    assert df.loc["MSiC-P01", "raman.ID_IG_height_stderr"] > 0
    # 10 nm is the second etch level (60 s at 0.1667 nm/s): no interpolation needed there.
    lif10 = truth["MSiC-C500"]["xps"]["levels"]["levels"][1]["species_percent"]["LiF"]
    assert df.loc["MSiC-C500", "xps.LiF_percent@10nm"] == pytest.approx(lif10, abs=2.0)
    assert df.loc["LATP-F01", "echem.Ea_eV"] == pytest.approx(0.225, abs=0.005)
    sigma30 = truth["LATP-F01"]["conductivity"]["points"][0]["sigma_S_cm"]
    assert df.loc["LATP-F01", "echem.sigma_S_cm@30C"] == pytest.approx(sigma30, rel=0.02)
    assert df.loc["MSiC-P01", "xrd.Si_present"] == 1.0
    assert df.loc["MSiC-C500", "xrd.Si_present"] == 0.0


def test_xps_metric_interpolates_between_levels_only():
    doc = {
        "levels": [
            {
                "depth_nm": 0.0,
                "species_percent": {"LiF": 10.0},
                "species_percent_stderr": {"LiF": 1.0},
            },
            {
                "depth_nm": 10.0,
                "species_percent": {"LiF": 30.0},
                "species_percent_stderr": {"LiF": 1.0},
            },
        ]
    }
    docs = {"xps.depth_profile": [doc]}
    value, err = metric_value("xps.LiF_percent@2.5nm", docs)
    assert value == pytest.approx(15.0)
    assert err == pytest.approx((0.75**2 + 0.25**2) ** 0.5)
    assert metric_value("xps.LiF_percent@20nm", docs) == (None, None)  # no extrapolation
    assert metric_value("xps.LiF_percent@level1", docs) == (30.0, 1.0)
    with pytest.raises(InputError, match="did you mean echem.retention"):
        metric_value("echem.retentoin", docs)


def test_cli_table_report_and_compare_html(analysed_demo, tmp_path, capsys):
    root = analysed_demo["root"]
    csv_path = tmp_path / "t.csv"
    assert (
        main(["table", str(root), "-m", "echem.initial_ce,raman.si_state", "--csv", str(csv_path)])
        == 0
    )
    lines = csv_path.read_text().splitlines()
    assert lines[0] == "sample_id,echem.initial_ce,echem.initial_ce_stderr,raman.si_state"
    assert len(lines) == 5
    html_path = tmp_path / "c.html"
    assert (
        main(["compare", "MSiC-P01", "MSiC-C500", "-p", str(root), "--html", str(html_path)]) == 0
    )
    assert "crystalline Si no longer detected" in html_path.read_text()
    out = tmp_path / "r.html"
    assert main(["report", "MSiC-C500", "-p", str(root), "-o", str(out)]) == 0
    text = out.read_text()
    assert "id='sample-MSiC-C500'" in text and "id='sample-MSiC-C100'" not in text
    assert "Comparison: MSiC-P01 vs" in text  # compared with its parent and siblings
    capsys.readouterr()
    assert main(["table", str(root), "-m", "nope.metric"]) == 1
    assert "unknown metric 'nope.metric'" in capsys.readouterr().err


def test_file_temperature_from_attrs_or_name():
    from types import SimpleNamespace

    data = SimpleNamespace(attrs={"temperature_K": 313.15})
    assert file_temperature_C(data, "x.csv") == pytest.approx(40.0)
    assert file_temperature_C(None, "film_eis_30C.csv") == 30.0
    assert file_temperature_C(None, "film_eis_-20degC.csv") == -20.0
    assert file_temperature_C(None, "film 45.5 °C.csv") == 45.5
    assert file_temperature_C(None, "CR2032_eis.csv") is None
    assert file_temperature_C(None, "cell3C_rate.csv") is None


def test_per_sample_overrides(tmp_path):
    root = init_project(tmp_path / "p")
    (root / "charact.toml").write_text(
        '[echem]\nmass_mg = 1.0\n[samples."S-2".echem]\nmass_mg = 2.0\n', encoding="utf-8"
    )
    cfg = ProjectConfig.load(root)
    assert cfg.settings("echem", "S-1") == {"mass_mg": 1.0}
    assert cfg.settings("echem", "S-2") == {"mass_mg": 2.0}
    (root / "charact.toml").write_text('[samples."S-2"]\nmass = 2\n', encoding="utf-8")
    with pytest.raises(ManifestError, match="technique tables"):
        ProjectConfig.load(root)


def test_per_sample_override_changes_only_that_sample(analysed_demo, tmp_path):
    root = tmp_path / "demo"
    shutil.copytree(analysed_demo["root"], root)
    for p in list((root / "raman").iterdir()) + list((root / "xps").iterdir()):
        p.unlink()  # keep the rerun small: XRD, SEM, echem remain
    cfg = root / "charact.toml"
    cfg.write_text(
        cfg.read_text() + '\n[samples."MSiC-C500".echem]\nmass_mg = 1.14\n', encoding="utf-8"
    )
    with Catalog(root) as cat:
        report = analyze_project(cat)
        assert report.failed == []
        redone = sorted((a["sample_id"], a["analysis"]) for a in report.analysed)
        assert redone == [("MSiC-C500", "echem.cycling")]
        doc = compare_samples(cat, ["MSiC-P01", "MSiC-C100", "MSiC-C500"])
    first = _row(doc["techniques"]["echem"], "first delithiation capacity")["values"]
    # Twice the mass (0.57 → 1.14 mg): half the specific capacity.
    assert first["MSiC-C500"]["value"] == pytest.approx(first["MSiC-C100"]["value"] / 2, rel=1e-6)


def test_workers_give_the_same_results(tmp_path, two_sample_project):
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    shutil.copytree(two_sample_project, serial)
    shutil.copytree(two_sample_project, parallel)
    docs = {}
    for root, workers in ((serial, 1), (parallel, 2)):
        with Catalog(root) as cat:
            report = analyze_project(cat, workers=workers, figures=False)
            assert report.failed == [] and len(report.analysed) == 4
            docs[workers] = {
                (r["analysis"], tuple(r["inputs"])): r["parameters"] for r in cat.results()
            }
    assert docs[1] == docs[2]
    with Catalog(serial) as cat, pytest.raises(InputError, match="workers"):
        analyze_project(cat, workers=0)


def test_dask_scheduler_gives_the_same_results(tmp_path, two_sample_project):
    distributed = pytest.importorskip("distributed")
    serial, remote = tmp_path / "serial", tmp_path / "remote"
    shutil.copytree(two_sample_project, serial)
    shutil.copytree(two_sample_project, remote)
    with Catalog(serial) as cat:
        analyze_project(cat, figures=False)
        want = {(r["analysis"], tuple(r["inputs"])): r["parameters"] for r in cat.results()}
    # A local scheduler with one in-process worker stands in for a lab's cluster.
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Catalog(remote) as cat,
    ):
        report = analyze_project(cat, scheduler=cluster.scheduler_address, figures=False)
        assert report.failed == [] and len(report.analysed) == 4
        got = {(r["analysis"], tuple(r["inputs"])): r["parameters"] for r in cat.results()}
    assert got == want
    with Catalog(remote) as cat, pytest.raises(InputError, match="cannot reach"):
        analyze_project(cat, scheduler="tcp://127.0.0.1:9", force=True)


def test_symmetric_cell_figure_draws_the_overpotential(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import charact.echem as ec
    from charact.echem.synthetic import symmetric_cell_record
    from charact.samples.figures import result_figure

    rec = symmetric_cell_record(20, short_at_half_cycle=12)
    ds = ec.make_cycling_dataset(
        time_s=rec["time_s"], voltage_v=rec["voltage_v"], current_a=rec["current_a"]
    )
    res = ec.quantify_symmetric_cell(ds)
    fig = result_figure("echem.symmetric", ds, res)
    line = fig.axes[0].lines[0]
    # One point per half cycle, at the overpotential the analysis measured.
    assert list(line.get_ydata()) == [r["overpotential_mV"] for r in res.half_cycles]
    assert res.soft_short_at_h is not None and len(fig.axes[0].lines) == 2  # + the short
    assert result_figure("echem.symmetric", ds, res, tmp_path / "s.svg").suffix == ".svg"
