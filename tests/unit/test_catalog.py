"""Tests for services.core.catalog: the shipped catalog, transitive dependencies, error messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from services.core.catalog import Catalog, CatalogError, load_catalog

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "services.yaml"


def svc(sid: str, *deps: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": sid,
        "name": sid.title(),
        "owner": "Drift",
        "municipalities": ["Askersund"],
        "depends_on": list(deps),
    } | extra


def error(*services: dict[str, Any]) -> str:
    with pytest.raises(CatalogError) as info:
        load_catalog({"services": list(services)})
    message = str(info.value)
    assert "\n" not in message
    return message


# --- the shipped catalog -------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> Catalog:
    return load_catalog(yaml.safe_load(SHIPPED.read_text(encoding="utf-8")))


def test_everything_depends_on_the_network(shipped: Catalog) -> None:
    others = set(shipped.services) - {"network"}
    assert len(others) >= 6
    for s in others:
        assert "network" in shipped.dependencies(s), s
    assert shipped.dependents("network") == frozenset(others)
    assert shipped.dependencies("network") == frozenset()


def test_e_services_depend_on_the_process_engine(shipped: Catalog) -> None:
    for s in ("e-tjanst-ansokan", "ekonomiskt-bistand"):
        assert "processmotor" in shipped.services[s].depends_on
        assert {"processmotor", "network"} <= shipped.dependencies(s)
    assert shipped.dependents("processmotor") == {"e-tjanst-ansokan", "ekonomiskt-bistand"}


def test_the_brief_names_these_services(shipped: Catalog) -> None:
    assert {"m365", "mdm", "servicedesk-telefoni"} <= set(shipped.services)
    assert "m365" in shipped.dependencies("mdm")  # Intune is part of M365


def test_every_service_has_an_owner_and_municipalities(shipped: Catalog) -> None:
    for s in shipped.services.values():
        assert s.owner.strip()
        assert s.municipalities


# --- dependencies --------------------------------------------------------------------


def test_dependencies_are_transitive_and_exclude_itself() -> None:
    cat = load_catalog(
        {"services": [svc("net"), svc("db", "net"), svc("app", "db"), svc("web", "app", "net")]}
    )
    assert cat.dependencies("web") == {"app", "db", "net"}
    assert cat.dependencies("db") == {"net"}
    assert cat.dependents("net") == {"db", "app", "web"}
    assert cat.dependents("app") == {"web"}
    assert cat.dependents("web") == frozenset()


def test_unknown_service_has_no_dependencies() -> None:
    cat = load_catalog({"services": [svc("net")]})
    assert cat.dependencies("printer") == frozenset()
    assert cat.dependents("printer") == frozenset()


def test_empty_catalog() -> None:
    assert load_catalog({"services": []}).services == {}


# --- errors, one line each, naming the problem -------------------------------------------


def test_unknown_dependency_names_both_services() -> None:
    msg = error(svc("processmotor"), svc("ekonomiskt-bistand", "procesmotor"))
    assert "'ekonomiskt-bistand'" in msg
    assert "'procesmotor'" in msg
    assert "did you mean 'processmotor'" in msg


def test_cycle_names_its_members() -> None:
    msg = error(svc("a", "c"), svc("b", "a"), svc("c", "b"), svc("d", "a"))
    assert msg == "dependency cycle: a -> c -> b -> a"


def test_self_dependency_is_a_cycle() -> None:
    assert error(svc("a", "a")) == "dependency cycle: a -> a"


def test_duplicate_id() -> None:
    msg = error(svc("net"), svc("m365", "net"), svc("net"))
    assert msg == "duplicate service id 'net' (services[0] and [2])"


def test_missing_field_has_its_path_and_service() -> None:
    bad = svc("mdm")
    del bad["owner"]
    assert error(svc("net"), bad) == "services[1].owner (service 'mdm'): Field required"


def test_wrong_type_deep_in_a_list() -> None:
    msg = error(svc("net", municipalities=["Askersund", 7]))
    assert msg.startswith("services[0].municipalities[1] (service 'net'): ")


def test_unknown_field_is_refused() -> None:
    assert "services[0].contact (service 'net'): Extra inputs are not permitted" in error(
        svc("net", contact="someone")
    )


def test_id_must_be_a_slug() -> None:
    assert error(svc("Nät verk")).startswith("services[0].id (service 'Nät verk'): ")
    assert error(svc("*")).startswith("services[0].id")


def test_file_without_services() -> None:
    with pytest.raises(CatalogError, match=r"^services: Field required$"):
        load_catalog({})
    with pytest.raises(CatalogError, match=r"^services: Input should be a valid list"):
        load_catalog({"services": {"net": {}}})


def test_catalog_error_is_a_value_error() -> None:
    # services/config.py turns ValueErrors from the loader into its own ConfigError.
    assert issubclass(CatalogError, ValueError)
