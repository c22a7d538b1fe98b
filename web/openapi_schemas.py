"""The request schemas of ``web/openapi.yaml`` generated from the payload models, so the contract has one source.

``request_schemas()`` turns the pydantic models of ``web.payloads`` into OpenAPI 3.0 component schemas
(``nullable`` instead of JSON Schema's ``null`` type; a subclass as ``allOf`` its parent plus its own fields).
``python -m web.openapi_schemas`` writes them into ``web/openapi.yaml``; a test checks that the served document
holds exactly these, so a limit changed on a model field cannot drift from the documentation.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from web.payloads import BitsMessage, ClearRequest, LoginRequest, Message, ModeChoice, Toggle

#: Component name -> model; a model that extends another one listed here is written as ``allOf`` that one.
REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "Message": Message, "BitsMessage": BitsMessage, "Toggle": Toggle, "ModeChoice": ModeChoice,
    "ClearRequest": ClearRequest, "LoginRequest": LoginRequest,
}
OPENAPI = Path(__file__).with_name("openapi.yaml")
#: The order keys are written in (pydantic sorts them by name); others follow.
_KEY_ORDER = ("allOf", "type", "enum", "required", "items", "minLength", "maxLength", "minimum", "maximum", "maxItems",
              "nullable", "default", "description", "properties")


def _openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """One JSON Schema (pydantic's) as OpenAPI 3.0 writes it: no titles, ``nullable`` for ``X | None``."""
    out: dict[str, Any] = {}
    variants = schema.get("anyOf", [])
    if len(variants) == 2 and {"type": "null"} in variants:
        out.update(_openapi(next(v for v in variants if v != {"type": "null"})))
        out["nullable"] = True
    for key, value in schema.items():
        if key in {"title", "anyOf"} or (key == "default" and value is None):
            continue
        if key == "properties":
            value = {name: _openapi(prop) for name, prop in value.items()}
        elif key == "items":
            value = _openapi(value)
        out[key] = value
    rank = {key: i for i, key in enumerate(_KEY_ORDER)}
    return dict(sorted(out.items(), key=lambda item: rank.get(item[0], len(rank))))


def request_schemas() -> dict[str, dict[str, Any]]:
    """Component name -> OpenAPI schema for every request body model."""
    schemas: dict[str, dict[str, Any]] = {}
    for name, model in REQUEST_MODELS.items():
        schema = _openapi(model.model_json_schema())
        schema.pop("description", None)  # the class docstring is for readers of the code
        parent = next((n for n, m in REQUEST_MODELS.items() if m is not model and issubclass(model, m)), None)
        if parent is not None:
            inherited = REQUEST_MODELS[parent].model_fields
            own: dict[str, Any] = {"type": "object"}
            required = [field for field in schema.get("required", []) if field not in inherited]
            if required:
                own["required"] = required
            own["properties"] = {k: v for k, v in schema["properties"].items() if k not in inherited}
            schema = {"allOf": [{"$ref": f"#/components/schemas/{parent}"}, own]}
        schemas[name] = schema
    return schemas


# --- writing them into openapi.yaml (the document's flow style: one line per property) ---------------------

_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and _BARE.fullmatch(value) and value not in {"true", "false", "null", "yes", "no"}:
        return value
    return json.dumps(value, ensure_ascii=False)


def _block(name: str, schema: dict[str, Any], indent: int = 4) -> list[str]:
    pad = " " * indent
    lines = [f"{pad}{name}:"]
    for key, value in schema.items():
        if key == "properties":
            lines.append(f"{pad}  properties:")
            lines += [f"{pad}    {prop}: {_flow(spec)}" for prop, spec in value.items()]
        elif key == "allOf":
            lines.append(f"{pad}  allOf:")
            for part in value:
                if "properties" in part:
                    first, *rest = _block("-", part, indent + 4)[1:]
                    lines += [f"{pad}    - {first.strip()}", *rest]
                else:
                    lines += [f"{pad}    - {key}: {_flow(spec)}" for key, spec in part.items()]
        else:
            lines.append(f"{pad}  {key}: {_flow(value)}")
    return lines


def write(document: Path = OPENAPI) -> bool:
    """Replace (or add) each generated component in ``document``; True when the file changed."""
    text = document.read_text(encoding="utf-8")
    lines = text.splitlines()
    after = lines.index("  schemas:") + 1
    for name, schema in request_schemas().items():
        if f"    {name}:" in lines:
            start = lines.index(f"    {name}:")
            end = start + 1
            while end < len(lines) and lines[end].startswith("      "):
                end += 1
        else:  # a new model: its component follows the one before it
            start = end = after
        lines[start:end] = _block(name, schema)
        after = start + len(_block(name, schema))
    updated = "\n".join(lines) + "\n"
    if updated != text:
        document.write_text(updated, encoding="utf-8")
    return updated != text


if __name__ == "__main__":
    changed = write()
    print(f"{OPENAPI.name}: {'request schemas updated' if changed else 'request schemas already current'}")
    sys.exit(0)
