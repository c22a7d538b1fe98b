"""The running server's moving parts (asyncio): ingest, synthesis worker, playback, events.

Domain rules live in ``core`` (pure); this layer sequences them with the database, the engine and time.
"""
