"""Render MLGym's JSON Schemas as Markdown reference tables (``docs/schemas.md``)."""

from __future__ import annotations

import json

from mlgym.specs.config import load_schema

DOCUMENTED = ("task", "dataset", "agent", "tools", "run")


def _type_of(node: dict, root: dict) -> str:
    if "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    if "enum" in node:
        return " \\| ".join(json.dumps(v) for v in node["enum"])
    if "oneOf" in node:
        return " or ".join(_type_of(n, root) for n in node["oneOf"])
    kind = node.get("type", "any")
    kind = " or ".join(kind) if isinstance(kind, list) else kind
    if kind == "array" and "items" in node:
        return f"list of {_type_of(node['items'], root)}"
    return kind


def _rows(node: dict, root: dict, prefix: str = "") -> list[tuple[str, str, bool, str]]:
    if "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    rows = []
    required = set(node.get("required", []))
    for name, child in node.get("properties", {}).items():
        path = f"{prefix}{name}"
        rows.append((path, _type_of(child, root), name in required, child.get("description", "")))
        target = child.get("items", child) if child.get("type") == "array" else child
        if "$ref" in target:
            target = root["$defs"][target["$ref"].rsplit("/", 1)[-1]]
        if target.get("properties"):
            suffix = "[]." if child.get("type") == "array" else "."
            rows += _rows(target, root, path + suffix)
    return rows


def render(names: tuple[str, ...] = DOCUMENTED) -> str:
    """Markdown reference of the named schemas."""
    out = ["# YAML reference", "",
           "Generated from `schemas/` by `python -m mlgym.specs.schemadoc > docs/schemas.md`; "
           "`mlgym schema <name>` prints the JSON Schema itself (point your editor's YAML "
           "language server at it). Unknown keys are errors everywhere; every file may carry "
           "`schema_version: 1`.", ""]
    for name in names:
        schema = load_schema(name)
        out += [f"## {schema.get('title', name)} (`mlgym schema {name}`)", "",
                "| key | type | required | meaning |", "|---|---|---|---|"]
        for path, kind, required, description in _rows(schema, schema):
            out.append(f"| `{path}` | {kind} | {'yes' if required else ''} | {description} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
