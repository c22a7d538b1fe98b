"""Smoke-test an installed (not editable) StreamVoice: what a user gets from ``pip install streamvoice-*.whl``.

Run it with the Python of the virtualenv the wheel was installed into, from a folder outside the checkout (so
nothing is imported from the source tree)::

    cd "$(mktemp -d)" && /path/to/venv/bin/python /path/to/.ci/smoke_installed.py

It starts the installed ``streamvoice`` command in a temporary folder on a free port, with a minimal
settings.yaml and no model weights (the engine reports itself unavailable, which is fine here), checks that
the pages, the API description and the static files answer 200, and that the package data is installed
(the pages, ``openapi.yaml`` and the fused kernel's C source). Every check runs; the exit code is the number
of failed checks.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

PAGES = ("/", "/overlay", "/openapi.yaml", "/static/dashboard.js", "/api/health")
PACKAGE_DATA = (("web", "openapi.yaml"), ("web", "static/dashboard.js"), ("tts", "kernels/adain_snake.c"))
failures: list[str] = []


def check(ok: bool, what: str) -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {what}", flush=True)
    if not ok:
        failures.append(what)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def main() -> int:
    script = Path(sys.executable).with_name("streamvoice")
    check(script.is_file(), f"the console script is installed ({script})")
    for package, name in PACKAGE_DATA:
        module = importlib.import_module(package)
        origin = str(Path(module.__file__ or "").resolve())
        check("site-packages" in origin, f"{package} is imported from the installed package ({origin})")
        check(importlib.resources.files(package).joinpath(name).is_file(), f"package data {package}/{name}")
    if not script.is_file():
        return len(failures)
    help_run = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    check(help_run.returncode == 0 and "--settings" in help_run.stdout, "streamvoice --help")

    with tempfile.TemporaryDirectory(prefix="streamvoice-smoke-") as folder:
        home = Path(folder)
        (home / "no-weights").mkdir()
        port = free_port()
        (home / "settings.yaml").write_text(
            f"port: {port}\nmodel_dir: no-weights\ndevice: cpu\n"
            "database_url: sqlite:///data/streamvoice.db\naudio_dir: data/audio\n", encoding="utf-8")
        log = (home / "server.log").open("wb")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("STREAMVOICE_")}
        server = subprocess.Popen([str(script)], cwd=home, stdout=log, stderr=subprocess.STDOUT, env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            health: dict[str, object] | None = None
            while time.monotonic() < deadline and server.poll() is None:
                try:
                    status, body = get(f"{base}/api/health")
                    if status == 200:
                        health = json.loads(body)
                        break
                except OSError:
                    pass
                time.sleep(0.3)
            check(health is not None, "the server answers /api/health")
            if health is not None:
                print(f"     engine: {health.get('engine')}; db: {health.get('db')}")
                for path in PAGES:
                    status, body = get(base + path)
                    check(status == 200 and len(body) > 0, f"GET {path} -> {status}")
                check((home / "data" / "streamvoice.db").is_file(), "the database is created in the start folder")
        finally:
            if server.poll() is None:
                server.send_signal(signal.SIGINT)
                try:
                    server.wait(30)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait(10)
            log.close()
        check(server.returncode == 0, f"Ctrl-C ends the server cleanly (exit {server.returncode})")
        if failures:
            print((home / "server.log").read_text(encoding="utf-8", errors="replace")[-4000:])
    print(f"{len(failures)} failed: {failures}" if failures else "installed package: all checks passed")
    return len(failures)


if __name__ == "__main__":
    sys.exit(main())
