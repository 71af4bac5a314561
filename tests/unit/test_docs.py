"""docs/events.md against the event schemas: every type, every data field, every choice."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = (ROOT / "docs" / "events.md").read_text()


def sections() -> dict[str, str]:
    """The catalogue's `### `type`` sections, by type."""
    parts = re.split(r"(?m)^### `([a-z]+\.[a-z]+)`\n", CATALOGUE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def data_schema(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    schema = json.loads(path.read_text())
    data = schema["properties"]["data"]
    if "$ref" in data:
        data = schema["$defs"][data["$ref"].rsplit("/", 1)[1]]
    return schema, data


def choices(schema: dict[str, Any], prop: dict[str, Any]) -> list[str]:
    """The enum values a field may take, through $ref and anyOf."""
    if "$ref" in prop:
        prop = schema["$defs"][prop["$ref"].rsplit("/", 1)[1]]
    found = [str(v) for v in prop.get("enum", [])]
    for alt in prop.get("anyOf", []):
        found += choices(schema, alt)
    return found


def test_the_catalogue_has_a_section_for_each_schema_and_no_other() -> None:
    types = {p.name.removesuffix(".json") for p in (ROOT / "schemas").glob("*.json")}
    assert types, "no schemas found"
    assert set(sections()) == types


def test_each_section_lists_the_schema_fields_required_and_choices() -> None:
    got = sections()
    for path in sorted((ROOT / "schemas").glob("*.json")):
        name = path.name.removesuffix(".json")
        schema, data = data_schema(path)
        rows = {
            m.group(1): m.group(0) for m in re.finditer(r"(?m)^\| `([a-z_]+)` \|.*\|$", got[name])
        }
        assert set(rows) == set(data.get("properties", {})), f"{name}: fields differ"
        for field, prop in data.get("properties", {}).items():
            required = "yes" if field in data.get("required", []) else "no"
            assert rows[field].endswith(f"| {required} |"), f"{name}.{field}: required {required}"
            for value in choices(schema, prop):
                assert f"`{value}`" in rows[field], f"{name}.{field}: choice {value} missing"
