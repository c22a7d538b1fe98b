"""The crash campaign, short: what CI runs of ``python -m bench.crash_campaign`` (a developer runs it long)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.crash_campaign import campaign

pytestmark = pytest.mark.slow  # the crash campaign


@pytest.mark.timeout(300)
async def test_kill_nine_under_load_loses_nothing_and_leaves_nothing(tiny_model_dir: Path, tmp_path: Path) -> None:
    # seed 53: round 1 is killed after 0.57 s of HTTP + WebSocket load, round 2 1.44 s into the next start
    # (recovery of round 1's rows, model load). Short on purpose: each server start costs ~10 s and every
    # acknowledged line must be synthesised before the final audit; a developer runs the long campaign.
    figures = await campaign(tmp_path, tiny_model_dir, rounds=2, seed=53, max_load_s=0.6, settle_s=90,
                             rate=20, startup_kills=0.5, log=lambda _line: None)
    assert figures.kills == 2 and figures.kills_during_startup == 1 and figures.acked > 0, figures
    assert figures.failures == [], figures
    assert (figures.lost, figures.duplicated, figures.unsynthesised, figures.stuck, figures.orphans,
            figures.missing_wav) == (0, 0, 0, 0, 0, 0)


def test_the_audits_see_losses_duplicates_and_orphans(tmp_path: Path) -> None:
    """The campaign's checks are not vacuous: a lost ack, a duplicate and stray files are all counted."""
    from bench.crash_campaign import Ack, Figures, audit_files, audit_stored
    from core.chat import QueueName, Source
    from storage.database import create_database
    from storage.messages import MessageStore, NewMessage

    db_path = tmp_path / "audit.db"
    store = MessageStore(create_database(f"sqlite:///{db_path}"))
    ids = store.insert_many([NewMessage(queue=QueueName.MENTIONS, source=Source.APP_HTTP, sent_by=f"viewer{t}",
                                        text="@streamer hi") for t in ("r1a", "r1b", "r1b")])
    store.engine.dispose()
    figures = Figures()
    audit_stored(db_path, [Ack("r1a", ids[0], True), Ack("r1gone", 99, True)], figures)
    assert (figures.lost, figures.duplicated) == (1, 1) and len(figures.failures) == 2
    audio = tmp_path / "audio"
    audio.mkdir()
    (audio / "5.wav").write_bytes(b"RIFF")
    (audio / ".6.wav.part").write_bytes(b"")
    assert audit_files(db_path, audio) == (2, 0)
