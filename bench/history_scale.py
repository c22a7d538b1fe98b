"""Does a long history slow the queue? The per-line and per-page queries at 10^3 and 10^6 rows, in one run.

    python bench/history_scale.py                     # 10,000 and 1,000,000 rows (about a minute to build)
    python bench/history_scale.py --large 200000      # a quicker look

Builds two real SQLite files with the current schema (``storage.database.create_database``): almost every row
played (history), a few hundred live items at the top, chatters spread over 5,000 logins. Then times the exact
repository calls the server makes (median of ``--repeat`` runs, ms) on both and prints their ratio: a query that
reads only live rows, an index range or a bounded window costs the same on both (ratio ~1). Two reference rows run
the queries the server used before (every row counted per state snapshot; a queue page that walked the history).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.chat import DeleteReason, QueueName
from core.logins import login_key
from storage import history
from storage.database import create_database
from storage.messages import MessageStore, utcnow

LIVE_PER_QUEUE = 300
USERS = 5_000

_BEFORE_COUNTS = ("SELECT queue, status, count(*) FROM messages WHERE is_deleted IS 0 GROUP BY queue, status")
_BEFORE_QUEUE_PAGE = ("SELECT * FROM messages WHERE queue = 'mentions' AND is_deleted IS 0 AND status IN "
                      "('pending', 'synthesizing', 'ready') AND replay_of IS NULL AND id > 0 ORDER BY id LIMIT 101")


def build(path: Path, rows: int) -> MessageStore:
    """``rows`` messages: all played but the last ``LIVE_PER_QUEUE`` of each queue, which are pending."""
    create_database(f"sqlite:///{path}").dispose()
    received = utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")
    live_from = rows - 2 * LIVE_PER_QUEUE

    def row(n: int) -> tuple[Any, ...]:
        queue = "mentions" if n % 2 else "bits"
        sent_by = f"Viewer{n % USERS}"
        status = "pending" if n >= live_from else "played"
        text = f"@streamer line number {n} from {sent_by}"
        return (queue, "twitch", sent_by, text, text, status, 0, received, 0, login_key(sent_by))

    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.executemany("INSERT INTO messages (queue, source, sent_by, text, spoken_text, status, is_deleted, "
                       "received_at, awaiting_approval, login_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (row(n) for n in range(rows)))
    return MessageStore(create_database(f"sqlite:///{path}"))


def timed(call: Callable[[], Any], repeat: int) -> float:
    call()  # warm the page cache
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def raw(store: MessageStore, sql: str) -> Callable[[], Any]:
    def run() -> Any:
        with store.engine.connect() as connection:
            return connection.exec_driver_sql(sql).fetchall()
    return run


def calls(store: MessageStore) -> dict[str, Callable[[], Any]]:
    return {
        "state snapshot: counts()": store.counts,
        "queue page, limit 100": lambda: store.waiting(QueueName.MENTIONS, 101),
        "queue page 2 (after=)": lambda: store.waiting(QueueName.MENTIONS, 101, after=1),
        "next item to play": lambda: store.next_playable(QueueName.MENTIONS, utcnow()),
        "claim for synthesis (read)": lambda: store.oldest_held(QueueName.BITS),
        "history page": lambda: history.history_page(store, limit=25),
        "history, user filter": lambda: history.history_page(store, user="viewer42", limit=25),
        "history, text filter (no match)": lambda: history.history_page(store, text="zebra", limit=25),
        "purge_user (no live rows)": lambda: store.remove_user("@Nobody", DeleteReason.REMOVED),
        "before: counts over every row": raw(store, _BEFORE_COUNTS),
        "before: queue page": raw(store, _BEFORE_QUEUE_PAGE),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sv-history-") as folder:
        results: dict[int, dict[str, float]] = {}
        for rows in (args.small, args.large):
            started = time.perf_counter()
            store = build(Path(folder) / f"h{rows}.db", rows)
            print(f"built {rows:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
            results[rows] = {name: timed(call, args.repeat) for name, call in calls(store).items()}
            store.engine.dispose()
    small, large = results[args.small], results[args.large]
    print(f"\n{'query (median ms)':34} {args.small:>10,} {args.large:>12,}   ratio")
    for name in small:
        print(f"{name:34} {small[name]:10.2f} {large[name]:12.2f}   {large[name] / max(small[name], 1e-6):5.1f}x")


if __name__ == "__main__":
    main()
