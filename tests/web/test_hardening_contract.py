"""Contract fuzz run: schemathesis against the served ``/openapi.yaml``, every route, with and without a token.

A real server (``web.serve``, the tiny model, its own SQLite file, port 0) runs in a thread with its own event
loop; schemathesis generates positive and negative requests from the document and checks every answer: no
5xx, a documented status code, a documented content type, a body that matches its schema. Bounded in
examples per operation and in total time (``BUDGET_S``), so CI stays fast; ``STREAMVOICE_FUZZ_EXAMPLES`` and
``STREAMVOICE_FUZZ_BUDGET_S`` raise both for a long local run.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, given  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from core.settings import Settings  # noqa: E402
from web import serve  # noqa: E402
from web.app import create_app  # noqa: E402

pytestmark = pytest.mark.slow  # schemathesis over every route, with a time budget

TOKEN = "contract-fuzz-token"
EXAMPLES = int(os.environ.get("STREAMVOICE_FUZZ_EXAMPLES", "10"))
BUDGET_S = float(os.environ.get("STREAMVOICE_FUZZ_BUDGET_S", "45"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@contextmanager
def server_thread(settings: Settings, engine_loader: Any) -> Iterator[str]:
    """The production server on its own loop in a thread (schemathesis' client is synchronous)."""
    loop = asyncio.new_event_loop()
    started: dict[str, Any] = {}
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            runner, site = loop.run_until_complete(serve.start(
                create_app(settings, engine_loader=engine_loader), "127.0.0.1", 0))
            started.update(runner=runner, port=site.port)
        except BaseException as exc:  # surfaced in the test thread
            started["error"] = exc
            return
        finally:
            ready.set()
        loop.run_forever()
        loop.run_until_complete(serve.stop(started["runner"]))

    thread = threading.Thread(target=run, name="contract-server", daemon=True)
    thread.start()
    assert ready.wait(60), "the server did not start"
    if "error" in started:
        raise started["error"]
    base = f"http://127.0.0.1:{started['port']}"
    try:
        _wait_engine_ready(base, settings.api_token)
        yield base
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


def _wait_engine_ready(base: str, token: str) -> None:
    """A 503 while the model loads is documented and honest; the fuzz run starts once the engine is ready."""
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        health = requests.get(f"{base}/api/health", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
        if str(health.get("engine", "")).startswith("ready"):
            return
        time.sleep(0.1)
    raise AssertionError(f"engine not ready: {health}")


class Tally:
    def __init__(self) -> None:
        self.requests = 0
        self.statuses: Counter[int] = Counter()
        self.started = time.monotonic()

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def over_budget(self) -> bool:
        return time.monotonic() - self.started > BUDGET_S


def fuzz(base: str, tally: Tally, headers: dict[str, str] | None, examples: int) -> list[str]:
    """Run every operation of the served document; returns the failures (operation: message)."""
    schema = schemathesis.openapi.from_url(f"{base}/openapi.yaml")
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in {"/api/ws", "/api/events"}:  # endless streams: tests/web/test_sse.py, test_hardening_*
            continue
        strategy = (operation.as_strategy(GenerationMode.POSITIVE)
                    | operation.as_strategy(GenerationMode.NEGATIVE))

        @given(case=strategy)
        @hypothesis_settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                             phases=[Phase.explicit, Phase.generate],
                             suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            if tally.over_budget():
                return
            response = case.call(base_url=base, headers=headers, timeout=10)
            tally.requests += 1
            tally.statuses[response.status_code] += 1
            case.validate_response(response, checks=CHECKS, headers=headers)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis reports a group of distinct failures
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:1500]}")
    return failures


def test_contract_fuzz_with_and_without_a_token(make_settings: Any, engine_loader: Any, tmp_path: Any) -> None:
    tally = Tally()
    failures: list[str] = []
    open_settings = make_settings()
    with server_thread(open_settings, engine_loader) as base:
        failures += fuzz(base, tally, None, EXAMPLES)
    token_settings = make_settings(api_token=TOKEN, database_url=f"sqlite:///{tmp_path / 'token.db'}",
                                   audio_dir=str(tmp_path / "token-audio"))
    with server_thread(token_settings, engine_loader) as base:
        failures += fuzz(base, tally, {"Authorization": f"Bearer {TOKEN}"}, EXAMPLES)
        failures += fuzz(base, tally, None, 2)  # every /api route documents its 401
    took = time.monotonic() - tally.started
    print(f"contract fuzz: {tally.requests} requests in {took:.1f} s, {tally.server_errors} answered 5xx, "
          f"statuses {dict(sorted(tally.statuses.items()))}")
    assert tally.requests > 100
    assert tally.statuses[401] > 0
    assert tally.server_errors == 0
    assert not failures, "\n\n".join(failures)


def test_every_operation_documents_the_errors_every_route_can_answer() -> None:
    """Routes added later must document them too: the middlewares answer them for every route."""
    from importlib import resources

    import yaml

    spec = yaml.safe_load(resources.files("web").joinpath("openapi.yaml").read_text(encoding="utf-8"))
    missing = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            wanted = {"403", "421"}
            if path.startswith("/api"):
                wanted |= {"401"}
                if path != "/api/ws":
                    wanted |= {"503"}
                if method in {"post", "put", "delete"}:
                    wanted |= {"408", "413", "415"}
                if "requestBody" in operation:
                    wanted |= {"400", "422"}
                    # required, or explicitly optional (Clear's optional queue): never left to a default
                    assert "required" in operation["requestBody"], f"{method} {path}: body not marked required"
            if "{id}" in path:
                assert operation["parameters"][0]["schema"].get("minimum") == 1, f"{method} {path}: id bounds"
            missing += [f"{method.upper()} {path}: {code}" for code in sorted(wanted - codes)]
    assert not missing, missing
