"""The dashboard's ES modules as the server serves them: every module a page loads (its ``<script type=module>``,
its ``modulepreload`` links and, transitively, every ``import ... from "/static/..."``) is served as JavaScript
from this origin under the page's CSP, and the 401 → token check lives in api.js alone."""

from __future__ import annotations

import re
from typing import Any

IMPORT = re.compile(r'^import\s*\{[^}]*\}\s*from\s*"(/static/[\w.]+\.js)";', re.MULTILINE)
PAGE_SCRIPTS = re.compile(r'(?:src|href)="(/static/[\w.]+\.js)"')


async def _module_graph(client: Any, page: str) -> dict[str, str]:
    """Every module reachable from a page, fetched over HTTP: path -> source."""
    html = await (await client.get(page)).text()
    todo = PAGE_SCRIPTS.findall(html)
    assert todo, page
    seen: dict[str, str] = {}
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        response = await client.get(path)
        assert response.status == 200, path
        assert response.content_type == "text/javascript", path
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        seen[path] = await response.text()
        todo.extend(IMPORT.findall(seen[path]))
    return seen


async def test_every_dashboard_module_is_served_same_origin(start_server: Any, make_settings: Any) -> None:
    client = await start_server(make_settings(api_token="s3cret"))  # pages and modules need no token
    modules = await _module_graph(client, "/")
    assert {"/static/dashboard.js", "/static/api.js", "/static/state.js", "/static/queue.js", "/static/history.js",
            "/static/controls.js", "/static/try_line.js", "/static/status.js", "/static/token.js"} <= set(modules)
    html = await (await client.get("/")).text()
    # every module is preloaded by the page (no import waterfall), and nothing is loaded from another origin
    assert set(PAGE_SCRIPTS.findall(html)) == set(modules)
    assert all(not re.search(r'from\s*"(?!/static/)', source) for source in modules.values())
    # one answer to a 401: only api.js tests for the status; the dashboard's modules never do
    assert [path for path, source in modules.items() if re.search(r"status === 401", source)] == ["/static/api.js"]
    overlay = await _module_graph(client, "/overlay")
    assert "/static/api.js" in overlay and "/static/token.js" not in overlay  # the overlay asks no one for a token
