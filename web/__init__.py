"""The HTTP/WebSocket face of StreamVoice (aiohttp)."""
