"""Pure domain logic of StreamVoice: no I/O, no asyncio, unit-tested directly."""
