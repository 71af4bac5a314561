"""Metric labels: a configured value is its own label, anything else is `other`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services import config
from services.core.labels import OTHER, label_catalog, parse_categories
from services.settings import CONFIG_DIR

KNOWN = label_catalog(
    queues={"askersund": "Askersund", "gemensam": "shared"},
    services={"m365": ["Askersund", "Laxå"], "network": []},
    categories=["Klient"],
)


def test_configured_values_are_their_own_labels() -> None:
    assert KNOWN.queue("gemensam") == "gemensam"
    # Municipalities come from both the queues and the services.
    assert [KNOWN.municipality(m) for m in ("Askersund", "shared", "Laxå")] == [
        "Askersund",
        "shared",
        "Laxå",
    ]
    assert KNOWN.service("network") == "network"
    assert KNOWN.category("Klient") == "Klient"


def test_anything_else_is_other_even_when_it_is_known_as_another_kind() -> None:
    assert KNOWN.queue("Askersund") == OTHER  # a municipality, not a queue
    assert KNOWN.service("askersund") == OTHER
    assert KNOWN.municipality("askersund") == OTHER  # labels are case-sensitive, as Prometheus
    assert KNOWN.category("klient") == OTHER


@given(st.lists(st.text(max_size=30), max_size=200))
def test_any_texts_give_at_most_one_label_beyond_the_catalog(texts: list[str]) -> None:
    assert {KNOWN.queue(t) for t in texts} <= {"askersund", "gemensam", OTHER}


def test_the_shipped_files_give_the_labels() -> None:
    known = config.labels(CONFIG_DIR)
    assert known.queues == {"askersund", "hallsberg", "laxa", "lekeberg", "gemensam"}
    assert known.municipalities == {"Askersund", "Hallsberg", "Laxå", "Lekeberg", "shared"}
    assert "ekonomiskt-bistand" in known.services
    assert "okategoriserad" in known.categories  # what the GLPI mapping sends without one


def test_a_bad_categories_file_is_one_line_naming_it(tmp_path: Path) -> None:
    for name in ("services.yaml", "queues.yaml"):
        shutil.copy(CONFIG_DIR / name, tmp_path / name)
    with pytest.raises(config.ConfigError, match=r"categories\.yaml: no such file"):
        config.labels(tmp_path)
    (tmp_path / "categories.yaml").write_text("categories: [Klient, 7]\n")
    with pytest.raises(config.ConfigError, match=r"categories\.yaml: categories\[1\]"):
        config.labels(tmp_path)


def test_categories_must_be_a_list_under_one_key() -> None:
    assert parse_categories({"categories": [" Klient ", "Övrigt"]}) == {"Klient", "Övrigt"}
    with pytest.raises(ValueError, match="one key"):
        parse_categories({"kategorier": ["Klient"]})
    with pytest.raises(ValueError, match="must be a list"):
        parse_categories({"categories": "Klient"})
