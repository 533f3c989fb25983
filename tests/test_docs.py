"""Docs and CI stay in step with the code: formats table, the README's commands, .ci/run."""

from __future__ import annotations

import re

from charact.core.readers import formats_markdown
from tests.conftest import REPO


def test_formats_page_matches_the_registry():
    text = (REPO / "docs" / "formats.md").read_text(encoding="utf-8")
    table = text.split("<!-- formats-table:start -->\n")[1].split("<!-- formats-table:end -->")[0]
    assert table == formats_markdown(), "regenerate with `charact formats --markdown`"


def _readme_commands() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    first_screen = "\n".join(readme.splitlines()[:40])
    block = re.search(r"```bash\n(.*?)```", first_screen, re.S).group(1)
    return [ln for ln in block.splitlines() if ln.strip() and not ln.startswith("#")]


def test_readme_first_screen_has_the_two_commands():
    demo, tests = _readme_commands()
    assert "pip install -e ." in demo and demo.endswith("charact demo")
    assert "pip install -e '.[test]'" in tests


def test_ci_runs_exactly_the_readme_test_command():
    _, tests = _readme_commands()
    test_command = tests.split("&&")[-1].strip()
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines(), f"{test_command!r} must be a line of .ci/run"
    assert "pip install -q -e '.[test,postgres]'" in ci
