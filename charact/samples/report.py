"""A self-contained HTML report of a project: comparisons first, then a page per sample.

The report is one HTML file: figures are embedded as ``data:`` PNG images, the style sheet is
inline, there is no script and nothing is fetched (a Content-Security-Policy that forbids
every network source says so to the browser). Every piece of text that comes from the user —
sample IDs, descriptions, file names, settings, warnings — is HTML-escaped.

Which samples are compared: each sample that is the ``parent`` of others is compared with its
children (ordered by cycle count), the parent as reference; without parent links, every
sample with results is compared with the first pristine one (or the first in ID order).
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

from ..core.errors import InputError
from ..core.provenance import charact_version
from ..core.store import atomic_write
from .analyze import _num, _seq, _summary
from .catalog import Catalog
from .compare import compare_samples, format_cell, load_docs
from .figures import comparison_figures, figure_bytes

__all__ = [
    "comparison_groups",
    "render_comparison",
    "render_report",
    "write_comparison_html",
    "write_report",
]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d1d1f;
 background:#fafafa;line-height:1.45}
header{background:#1f3b57;color:#fff;padding:18px 32px}
header h1{margin:0;font-size:1.5em} header p{margin:4px 0 0;opacity:.85}
nav{background:#e9eef3;padding:8px 32px;font-size:.92em}
nav a{margin-right:14px;color:#1f3b57}
main{padding:8px 32px 40px;max-width:1280px}
section{background:#fff;border:1px solid #dde3ea;border-radius:6px;padding:14px 20px;
 margin:18px 0}
section.sample{break-before:page}
h2{color:#1f3b57;border-bottom:2px solid #dde3ea;padding-bottom:4px}
h3{color:#2d5675;margin-bottom:6px}
table{border-collapse:collapse;margin:8px 0 14px;font-size:.9em}
th,td{border:1px solid #d5dbe1;padding:4px 8px;text-align:right;vertical-align:top}
th{background:#f0f4f8} td.q,th.q{text-align:left}
ul.findings li{margin:4px 0;font-weight:500}
figure{margin:10px 0} figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85em;color:#555}
.warn{color:#8a5300;font-size:.88em} .muted{color:#666;font-size:.88em}
code{background:#f3f3f3;padding:1px 4px;border-radius:3px}
"""

_CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'"
)


def _e(text: Any) -> str:
    """Escape any value for HTML text and attributes."""
    return html.escape("" if text is None else str(text), quote=True)


def _anchor(sample_id: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in sample_id)
    return f"sample-{safe}"


def _fmt(v: Mapping[str, Any] | None) -> str:
    return _e(format_cell(v))


def _img(data: bytes, alt: str, caption: str = "") -> str:
    b64 = base64.b64encode(data).decode("ascii")
    cap = f"<figcaption>{_e(caption)}</figcaption>" if caption else ""
    return f"<figure><img alt='{_e(alt)}' src='data:image/png;base64,{b64}'>{cap}</figure>"


def comparison_groups(samples: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """Which samples to compare: each parent with its children, else all against a reference.

    Parameters
    ----------
    samples
        Rows of :meth:`Catalog.list_samples`.

    Returns
    -------
    list of lists of sample IDs
        Each list starts with its reference sample; lists have two or more IDs.
    """
    by_id = {s["sample_id"]: s for s in samples}
    children: dict[str, list[str]] = {}
    for s in samples:
        if s.get("parent") and s["parent"] in by_id:
            children.setdefault(s["parent"], []).append(s["sample_id"])

    def cycles(sid: str) -> float:
        c = _num(by_id[sid].get("cycles"))
        return c if c is not None else float("inf")

    if children:
        return [
            [parent, *sorted(kids, key=lambda k: (cycles(k), k))]
            for parent, kids in sorted(children.items())
        ]
    with_data = [s["sample_id"] for s in samples if s.get("measurements")]
    if len(with_data) < 2:
        return []
    pristine = [sid for sid in with_data if str(by_id[sid].get("state", "")).lower() == "pristine"]
    ref = pristine[0] if pristine else with_data[0]
    return [[ref, *sorted((s for s in with_data if s != ref), key=lambda k: (cycles(k), k))]]


def _comparison_tables(doc: Mapping[str, Any]) -> str:
    ids = list(doc["samples"])
    out = []
    names = {
        "xrd": "XRD",
        "raman": "Raman",
        "xps": "XPS",
        "sem": "SEM",
        "echem": "Electrochemistry",
    }
    for tech, section in doc["techniques"].items():
        head = "".join(f"<th>{_e(s)}</th>" for s in ids) + "".join(
            f"<th>Δ {_e(s)}</th>" for s in ids[1:]
        )
        rows = []
        for row in section["rows"]:
            cells = "".join(f"<td>{_fmt(row['values'].get(s))}</td>" for s in ids)
            cells += "".join(f"<td>{_fmt(row['differences'].get(s))}</td>" for s in ids[1:])
            rows.append(
                f"<tr><td class='q'>{_e(row['quantity'])}</td><td>{_e(row['unit'])}</td>"
                f"{cells}</tr>"
            )
        out.append(
            f"<h3>{_e(names.get(tech, tech))}</h3><table><thead><tr><th class='q'>quantity</th>"
            f"<th>unit</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
    return "".join(out)


def render_comparison(
    doc: Mapping[str, Any],
    docs: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]] | None = None,
    *,
    heading_level: int = 2,
) -> str:
    """HTML of one comparison: findings, tables with uncertainties, overlay figures.

    Parameters
    ----------
    doc
        The output of :func:`charact.samples.compare.compare_samples`.
    docs
        ``{sample_id: {analysis: [documents]}}`` for the capacity overlay (optional).
    heading_level
        Level of the comparison's heading.
    """
    ids = list(doc["samples"])
    h = f"h{heading_level}"
    parts = [
        f"<{h}>Comparison: {' vs '.join(_e(s) for s in ids)}</{h}>",
        f"<p class='muted'>Reference: {_e(doc['reference'])}. Differences are each sample "
        "minus the reference, standard errors added in quadrature.</p>",
    ]
    if doc["statements"]:
        items = "".join(f"<li>{_e(t)}</li>" for t in doc["statements"])
        parts.append(f"<h3>Findings</h3><ul class='findings'>{items}</ul>")
    parts.append(_comparison_tables(doc))
    for name, fig in comparison_figures(doc, docs).items():
        parts.append(_img(figure_bytes(fig, "png"), f"{name} comparison", f"{name}: overlay"))
    for sid, techs in doc.get("no_results", {}).items():
        parts.append(f"<p class='muted'>{_e(sid)}: no results for {_e(', '.join(techs))}</p>")
    for sid, reasons in doc.get("problems", {}).items():
        for why in reasons:
            parts.append(f"<p class='warn'>{_e(sid)}: results left out, {_e(why)}</p>")
    return "".join(parts)


def _page(title: str, body: str, nav: str = "", subtitle: str = "") -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{_CSP}\">"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{_e(title)}</h1><p>{_e(subtitle)}</p></header>"
        f"{f'<nav>{nav}</nav>' if nav else ''}<main>{body}</main></body></html>"
    )


def _sample_section(
    catalog: Catalog,
    info: Mapping[str, Any],
    docs: Mapping[str, Sequence[Mapping[str, Any]]],
    problems: Sequence[str] = (),
) -> str:
    sid = info["sample_id"]
    results_dir = catalog.project.state_dir / "results"
    meta = [
        ("description", info.get("description")),
        ("state", info.get("state")),
        ("cycles", info.get("cycles")),
        ("parent", info.get("parent")),
        *sorted((info.get("extra") or {}).items()),
    ]
    rows = "".join(
        f"<tr><th class='q'>{_e(k)}</th><td class='q'>{_e(v)}</td></tr>"
        for k, v in meta
        if v not in (None, "")
    )
    parts = [f"<section class='sample' id='{_anchor(sid)}'><h2>Sample {_e(sid)}</h2>"]
    parts.append(f"<table>{rows}</table>")
    ms = catalog.measurements(sid)
    if ms:
        mrows = "".join(
            "<tr>"
            + "".join(
                f"<td class='q'>{cell}</td>"
                for cell in (
                    _e(m["technique"]),
                    f"<code>{_e(m['path'])}</code>",
                    _e(m["reader"]),
                    _e(m["sha256"][:12]),
                )
            )
            + "</tr>"
            for m in ms
        )
        parts.append(
            "<h3>Measurements</h3><table><thead><tr><th class='q'>technique</th>"
            "<th class='q'>file</th><th class='q'>reader</th><th class='q'>sha256</th></tr>"
            f"</thead><tbody>{mrows}</tbody></table>"
        )
    for why in problems:
        parts.append(f"<p class='warn'>results left out: {_e(why)}</p>")
    if not docs and not problems:
        parts.append("<p class='muted'>No results yet: run <code>charact analyze</code>.</p>")
    for analysis, items in docs.items():
        for doc in items:
            src = _seq(doc.get("source_files")) or [doc.get("source_file")]
            parts.append(f"<h3>{_e(analysis)} — {_e(', '.join(str(s) for s in src if s))}</h3>")
            summary = _summary(analysis, doc)
            srows = "".join(
                f"<tr><th class='q'>{_e(k)}</th><td>{_e(_short(v))}</td></tr>"
                for k, v in summary.items()
                if v not in (None, [], "")
            )
            if srows:
                parts.append(f"<table>{srows}</table>")
            fig = doc.get("figure")
            if isinstance(fig, str) and fig.endswith(".png") and (results_dir / fig).is_file():
                parts.append(_img((results_dir / fig).read_bytes(), f"{sid} {analysis}"))
            for w in _seq(doc.get("warnings"))[:8]:
                parts.append(f"<p class='warn'>note: {_e(w)}</p>")
    parts.append("</section>")
    return "".join(parts)


def _short(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list):
        return ", ".join(_short(x) for x in v)
    if isinstance(v, dict):
        return json.dumps(v, default=str)
    return str(v)


def render_report(catalog: Catalog, sample_ids: Sequence[str] | None = None) -> str:
    """The HTML report of a project, or of some of its samples.

    Parameters
    ----------
    catalog
        The project's catalogue, analysed (``charact analyze``).
    sample_ids
        Samples to report (default: all). With two or more, they are also compared, the
        first as reference; with one, its parent and children are compared with it.

    Returns
    -------
    str
        A complete, self-contained HTML document.
    """
    all_samples = catalog.list_samples()
    if not all_samples:
        raise InputError("the project has no samples: add them to the manifest and ingest")
    by_id = {s["sample_id"]: s for s in all_samples}
    if sample_ids:
        ids = [catalog.resolve_sample(s) for s in sample_ids]
        if len(ids) >= 2:
            groups = [ids]
        else:
            family = [ids[0]] if not by_id[ids[0]].get("parent") else [by_id[ids[0]]["parent"]]
            family += [s["sample_id"] for s in all_samples if s.get("parent") == family[0]]
            groups = [family] if len(family) >= 2 else []
        shown = ids
    else:
        groups = comparison_groups(all_samples)
        shown = [s["sample_id"] for s in all_samples]
    # Each sample's stored documents, read once for the whole report (comparisons included).
    problems: dict[str, list[str]] = {}
    needed = [*(sid for group in groups for sid in group), *shown]
    cache = load_docs(catalog, needed, problems=problems)

    def docs_of(sid: str) -> dict[str, list[dict[str, Any]]]:
        return cache[sid]

    nav = ["<a href='#comparisons'>Comparisons</a>"] if groups else []
    nav += [f"<a href='#{_anchor(s)}'>{_e(s)}</a>" for s in shown]
    body = []
    if groups:
        body.append("<section id='comparisons'>")
        for group in groups:
            comp = compare_samples(catalog, group, docs=cache, problems=problems)
            docs = {sid: docs_of(sid) for sid in group}
            body.append(render_comparison(comp, docs))
        body.append("</section>")
    body += [_sample_section(catalog, by_id[s], docs_of(s), problems.get(s, ())) for s in shown]
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    subtitle = f"{len(shown)} sample(s) · charact {charact_version()} · {stamp}"
    return _page(f"charact report: {catalog.project.name}", "".join(body), " ".join(nav), subtitle)


def write_report(
    catalog: Catalog,
    out: str | PathLike[str],
    sample_ids: Sequence[str] | None = None,
) -> Path:
    """Write :func:`render_report` to ``out`` atomically and return its path."""
    target = Path(out)
    if target.suffix.lower() not in (".html", ".htm"):
        raise InputError("the report is an HTML file: give a name ending in .html", path=target)
    text = render_report(catalog, sample_ids)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(target) as fh:
        fh.write(text)
    return target


def write_comparison_html(
    doc: Mapping[str, Any],
    out: str | PathLike[str],
    docs: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]] | None = None,
    *,
    project: str = "",
) -> Path:
    """Write one comparison as a self-contained HTML page (``charact compare --html``)."""
    target = Path(out)
    if target.suffix.lower() not in (".html", ".htm"):
        raise InputError("--html needs a file name ending in .html", path=target)
    body = f"<section>{render_comparison(doc, docs)}</section>"
    title = f"charact comparison{': ' + project if project else ''}"
    text = _page(title, body, subtitle=" vs ".join(str(s) for s in doc["samples"]))
    with atomic_write(target) as fh:
        fh.write(text)
    return target
