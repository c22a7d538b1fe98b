"""``streamvoice``: load settings.yaml, build the app, serve it.

Nothing heavy is imported before the settings are known to be good: ``--help`` and a settings error answer
without loading torch (the engine, and with it torch, is imported only on the way to serving).
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from pathlib import Path

from core.exposure import bind_warnings
from core.settings import SettingsError
from service import log_hygiene
from service.daemon_thread import exit_now_if_abandoned
from service.instance_lock import AlreadyRunning, InstanceLock, lock_folders
from service.settings_file import load_settings
from web import serve
from web.preflight import BIND_ERRORS, StartupProblem, check_database_file, check_port_free, describe_bind_error


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="streamvoice", description="Twitch chat text-to-speech server")
    parser.add_argument("--settings", type=Path, default=None,
                        help="settings file (default: ./settings.yaml when present, else built-in defaults)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.captureWarnings(True)
    for handler in logging.getLogger().handlers:  # escaped, throttled, redacted (service/log_hygiene.py)
        log_hygiene.install(handler)
    # torch warns about kokoro's use of deprecated weight_norm and LSTM dropout on every start: not actionable
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"torch\.nn\..*")
    warnings.filterwarnings("ignore", message=r"dropout option adds dropout", category=UserWarning)
    path = args.settings
    if path is None and Path("settings.yaml").is_file():
        path = Path("settings.yaml")
    path = path.resolve() if path is not None else None  # dynaconf searches a relative name elsewhere first
    try:
        settings = load_settings(path)
    except SettingsError as exc:
        print(f"streamvoice: {exc}", file=sys.stderr)
        return 2
    # before any thread allocates: each thread that mallocs may get an arena of its own, whose freed render
    # memory stays in the process (bench/README.md, "Memory"); capped here, the cap covers every thread
    from tts.engine import limit_malloc_arenas

    limit_malloc_arenas()
    for warning in bind_warnings(settings.host, settings.api_token):
        logging.getLogger("streamvoice").warning("%s", warning)
    # One instance per database/audio folder, checked before recovery, the model load or the bind touch anything.
    lock = InstanceLock(lock_folders(settings.database_url, settings.audio_dir), host=settings.host,
                        port=settings.port)
    try:
        lock.acquire()
        check_database_file(settings.database_url)
        check_port_free(settings.host, settings.port)
    except (AlreadyRunning, StartupProblem, OSError) as exc:
        lock.release()
        print(f"streamvoice: {exc}", file=sys.stderr)
        return 1

    from assembly.app import build_app

    app = build_app(settings, path)
    try:
        serve.run(app, settings.host, settings.port)  # timeouts and a connection cap (web/serve.py)
    except OSError as exc:  # the port was taken between the check and the bind
        if exc.errno not in BIND_ERRORS:
            raise
        print(f"streamvoice: {describe_bind_error(settings.host, settings.port, exc)}", file=sys.stderr)
        return 1
    finally:
        lock.release()
    return 0


def run(argv: list[str] | None = None) -> None:
    """The ``streamvoice`` command: ``main``, then end the process.

    A model load that Ctrl-C did not wait for may still run on its daemon thread; the interpreter's own exit
    would abort inside torch, so the process ends at once instead. Only here, never in ``main``: a caller in
    the same process (a test) must get its return code, not lose its process.
    """
    code = main(argv)
    exit_now_if_abandoned(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
