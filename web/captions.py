"""``GET /api/items/{id}/captions``: an item's word timings, for the overlay's highlighted caption.

The format is the contract in docs/captions.md (``core.captions.Captions.to_dict`` plus the item id); the
WebSocket ``play`` frame carries the same object without the id.
"""

from __future__ import annotations

from aiohttp import web

from core.captions import Captions
from core.errors import NotFound
from web.keys import STREAMVOICE
from web.payloads import ascii_id


async def item_captions(request: web.Request) -> web.Response:
    """200 with the timings; ``NotFound`` (404) for an unknown or deleted id, or an item not synthesised yet."""
    sv = request.app[STREAMVOICE]
    message_id = ascii_id(request.match_info["id"])
    if message_id is None:
        raise NotFound("no such item")
    exists, raw = await sv.db.call(sv.db.store.word_timings, message_id)
    if not exists:
        raise NotFound("no such item")
    if raw is None:
        raise NotFound("no captions for this item yet (not synthesised)")
    return web.json_response({"id": message_id, **Captions.from_json(raw).to_dict()})
