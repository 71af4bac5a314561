"""The documentation site builds strictly, and every docs/ link in the code lands on a heading."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# `docs/<page>.md#<anchor>` as code comments, docstrings and tests cite the definitions.
CITED = re.compile(r"docs/([a-z-]+)\.md(?:#([a-z0-9-]+))?")


def test_mkdocs_builds_the_site_strictly_and_cited_anchors_exist(tmp_path: Path) -> None:
    site = tmp_path / "site"
    mkdocs = Path(sys.executable).with_name("mkdocs")
    done = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    cited: set[tuple[str, str]] = set()
    for folder in ("services", "tests", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            cited |= set(CITED.findall(path.read_text()))
    assert ("definitions", "short-abandons") in cited  # the search finds what the code cites
    for page, anchor in sorted(cited):
        html = site / ("" if page == "index" else page) / "index.html"
        assert html.exists(), f"docs/{page}.md is cited but not built"
        if anchor:
            assert f'id="{anchor}"' in html.read_text(), f"docs/{page}.md has no #{anchor}"
