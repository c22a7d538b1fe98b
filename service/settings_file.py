"""Reading settings.yaml (and ``STREAMVOICE_*`` environment overrides) with dynaconf.

The file is read here, at the edge; ``core.settings.build_settings`` validates what was read without any I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.settings import ENV_PREFIX, Settings, SettingsError, build_settings


def load_settings(path: str | Path | None = None) -> Settings:
    """Read ``path`` (default ./settings.yaml when present) with STREAMVOICE_* environment overrides."""
    from dynaconf import Dynaconf

    # Always an absolute name: dynaconf looks a relative one up beside the running script and its parents
    # first (a checkout's own settings.yaml), and only then in the working folder.
    files = []
    if path is not None:
        if not Path(path).is_file():
            raise SettingsError("settings", f"settings file {str(path)!r} does not exist")
        files.append(str(Path(path).resolve()))
    elif Path("settings.yaml").is_file():
        files.append(str(Path("settings.yaml").resolve()))
    loaded = Dynaconf(
        settings_files=files,
        envvar_prefix=ENV_PREFIX,
        environments=False,
        core_loaders=["YAML"],
    )
    raw = {k.lower(): _plain(v) for k, v in loaded.as_dict().items() if not k.endswith("_FOR_DYNACONF")}
    return build_settings(raw)


def _plain(value: Any) -> Any:
    """dynaconf hands back its own Box types; turn them into plain dicts/lists."""
    if isinstance(value, Mapping):
        return {str(k).lower(): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
