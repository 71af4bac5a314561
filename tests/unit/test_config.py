"""The YAML files: the shipped ones load, and a broken one is one line naming file and problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from services import config
from services.settings import CONFIG_DIR


def test_the_shipped_files_load() -> None:
    assert "ekonomiskt-bistand" in config.catalog(CONFIG_DIR).services
    assert config.sla_targets(CONFIG_DIR).hours[1] == 4
    assert (
        len(
            [
                i
                for c in config.goals(CONFIG_DIR).council_goals
                for b in c.board_goals
                for i in b.indicators
            ]
        )
        == 8
    )


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    for name in ("services.yaml", "sla.yaml", "goals.yaml"):
        shutil.copy(CONFIG_DIR / name, tmp_path / name)
    return tmp_path


def test_a_missing_file_is_named(cfg: Path) -> None:
    (cfg / "goals.yaml").unlink()
    with pytest.raises(config.ConfigError, match=r"goals\.yaml: no such file"):
        config.goals(cfg)


def test_broken_yaml_is_named(cfg: Path) -> None:
    (cfg / "services.yaml").write_text("services: [\n")
    with pytest.raises(config.ConfigError, match=r"services\.yaml: not valid YAML"):
        config.catalog(cfg)


def test_a_catalog_error_carries_the_file_name(cfg: Path) -> None:
    text = (
        (cfg / "services.yaml")
        .read_text()
        .replace("depends_on: [processmotor]", "depends_on: [procesmotor]", 1)
    )
    (cfg / "services.yaml").write_text(text)
    with pytest.raises(config.ConfigError) as info:
        config.catalog(cfg)
    message = str(info.value)
    assert message.startswith(f"{cfg / 'services.yaml'}: ")
    assert "unknown service 'procesmotor'" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("clock: sometimes\n", "clock"),
        ("targets_hours: {5: 4}\n", "targets_hours.5"),
        ("targets_hours: {1: 0}\n", "targets_hours.1"),
    ],
)
def test_sla_errors_name_the_field(cfg: Path, text: str, where: str) -> None:
    (cfg / "sla.yaml").write_text(text)
    with pytest.raises(config.ConfigError, match=rf"sla\.yaml: {where}"):
        config.sla_targets(cfg)
