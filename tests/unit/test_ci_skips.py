"""tests/ci_skips.py, run on a small suite of its own in a separate pytest."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

ROOT = Path(__file__).resolve().parents[2]

SUITE = """
import pytest

def test_passes():
    pass

def test_skips_in_the_body():
    pytest.skip("promtool is not installed")

@pytest.mark.skipif(True, reason="docker-compose is not installed")
def test_skipped_by_a_mark():
    pass

@pytest.fixture
def tool():
    pytest.skip("alertmanager is not installed")

def test_skipped_by_a_fixture(tool):
    pass

@pytest.mark.allow_skip("near a month's start")
def test_expected_skip():
    pytest.skip("within 10 minutes: near a month's start")

@pytest.mark.allow_skip("near a month's start")
def test_other_skip_of_a_test_that_may_skip():
    pytest.skip("prometheus is not installed")

@pytest.mark.xfail(reason="known")
def test_expected_failure():
    assert False
"""


MODULE_SKIPPED = """
import pytest

pytest.skip("jsonschema is not installed", allow_module_level=True)
"""


def run_suite(tmp_path: Path, ci: str | None, suite: str = SUITE) -> dict[str, str]:
    (tmp_path / "test_suite.py").write_text(suite)
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nmarkers =\n    allow_skip(reason_text): expected skip\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    if ci is not None:
        env["CI"] = ci
    report = tmp_path / "report.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.ci_skips", "-p", "no:cacheprovider",
         "--strict-markers", f"--junitxml={report}", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    # Each test case's outcome: the element inside it (failure, error, skipped), else passed.
    outcomes = {}
    # (S314: the file is the one the inner pytest just wrote, not untrusted input.)
    for case in ElementTree.parse(report).getroot().iter("testcase"):  # noqa: S314
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes[case.attrib["name"]] = kinds[0] if kinds else "passed"
    return outcomes


@pytest.mark.parametrize("ci", [None, "false", ""])
def test_outside_ci_a_skip_is_a_skip(tmp_path: Path, ci: str | None) -> None:
    got = run_suite(tmp_path, ci)
    assert got.pop("test_passes") == "passed"
    assert got.pop("test_expected_failure") == "skipped"  # junit's word for an xfail
    assert set(got.values()) == {"skipped"}, got


@pytest.mark.parametrize("ci", ["true", "TRUE"])
def test_in_ci_only_a_skip_the_test_expects_is_a_skip(tmp_path: Path, ci: str) -> None:
    got = run_suite(tmp_path, ci)
    assert got == {
        "test_passes": "passed",
        "test_skips_in_the_body": "failure",
        # A mark or a fixture skips in setup: an error, as a failing fixture is.
        "test_skipped_by_a_mark": "error",
        "test_skipped_by_a_fixture": "error",
        "test_expected_skip": "skipped",
        "test_other_skip_of_a_test_that_may_skip": "failure",
        "test_expected_failure": "skipped",  # an xfail is left alone
    }


@pytest.mark.parametrize(("ci", "outcome"), [(None, "skipped"), ("true", "error")])
def test_a_module_skipped_whole_fails_in_ci(tmp_path: Path, ci: str | None, outcome: str) -> None:
    # No test to carry an allow_skip mark: in CI the collection fails.
    assert run_suite(tmp_path, ci, MODULE_SKIPPED) == {"test_suite": outcome}
