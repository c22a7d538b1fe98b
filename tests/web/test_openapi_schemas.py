"""The request schemas served in /openapi.yaml are the ones generated from the payload models (one source)."""

from pathlib import Path
from typing import Any

import yaml

from web import openapi_schemas
from web.openapi_schemas import REQUEST_MODELS, request_schemas
from web.payloads import MAX_BADGES, MAX_BITS, MAX_SENT_BY_CHARS


async def test_served_request_schemas_are_the_generated_ones(start_server: Any, make_settings: Any) -> None:
    client = await start_server(make_settings())
    document = yaml.safe_load(await (await client.get("/openapi.yaml")).text())
    served = document["components"]["schemas"]
    generated = request_schemas()
    assert set(generated) == set(REQUEST_MODELS) >= {"Message", "BitsMessage", "Toggle", "LoginRequest"}
    for name, schema in generated.items():
        assert served[name] == schema, f"{name}: run python -m web.openapi_schemas"
    bodies = {(path, method): op["requestBody"]["content"]["application/json"]["schema"]
              for path, ops in document["paths"].items() for method, op in ops.items() if "requestBody" in op}
    ref = "#/components/schemas/{}".format
    assert bodies["/api/messages", "post"] == {"$ref": ref("Message")}
    assert bodies["/api/bits", "post"] == {"$ref": ref("BitsMessage")}
    assert bodies["/api/autoplay", "put"] == {"$ref": ref("Toggle")}
    assert bodies["/api/mode", "put"] == {"$ref": ref("ModeChoice")}
    assert bodies["/api/clear", "post"] == {"$ref": ref("ClearRequest")}
    assert {"$ref": ref("LoginRequest")} in bodies.values()


def test_generated_schemas_carry_the_model_limits() -> None:
    message, bits = request_schemas()["Message"], request_schemas()["BitsMessage"]
    assert message["required"] == ["sent_by", "text"]
    assert message["properties"]["sent_by"]["maxLength"] == MAX_SENT_BY_CHARS
    assert message["properties"]["badges"]["maxItems"] == MAX_BADGES
    assert message["properties"]["first_message"] == {**message["properties"]["first_message"], "type": "boolean",
                                                      "nullable": True}
    assert bits["allOf"][0] == {"$ref": "#/components/schemas/Message"}
    assert bits["allOf"][1]["required"] == ["bits_amount"]
    assert bits["allOf"][1]["properties"] == {"bits_amount": {"type": "integer", "minimum": 1, "maximum": MAX_BITS}}


def test_writing_the_schemas_into_the_document_is_a_no_op_when_current(tmp_path: Path) -> None:
    copy = tmp_path / "openapi.yaml"
    original = openapi_schemas.OPENAPI.read_text(encoding="utf-8")
    copy.write_text(original, encoding="utf-8")
    assert openapi_schemas.write(copy) is False
    stale = original.replace("maxLength: 64, description: \"not only white space\"",
                             "maxLength: 65, description: \"not only white space\"")
    assert stale != original
    copy.write_text(stale, encoding="utf-8")
    assert openapi_schemas.write(copy) is True
    assert copy.read_text(encoding="utf-8") == original
