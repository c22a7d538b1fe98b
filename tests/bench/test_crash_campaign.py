"""The crash campaign, short: what CI runs of ``python -m bench.crash_campaign`` (a developer runs it long)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.crash_campaign import campaign


@pytest.mark.timeout(300)
async def test_kill_nine_under_load_loses_nothing_and_leaves_nothing(tiny_model_dir: Path, tmp_path: Path) -> None:
    # seed 2: round 1 is killed under HTTP + WebSocket load, round 2 while the server starts
    figures = await campaign(tmp_path, tiny_model_dir, rounds=2, seed=2, max_load_s=1.0, settle_s=90,
                             rate=20, startup_kills=0.5, log=lambda _line: None)
    assert figures.kills == 2 and figures.acked > 0, figures
    assert figures.failures == [], figures
    assert (figures.lost, figures.duplicated, figures.unsynthesised, figures.stuck, figures.orphans,
            figures.missing_wav) == (0, 0, 0, 0, 0, 0)
