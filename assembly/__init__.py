"""The composition root: the one place that wires the layers into the running program.

Imports go one way, ``core`` <- ``storage``/``tts`` <- ``service`` <- ``web``/``bot`` <- ``assembly``; ``web``
and ``bot`` never import each other. This package builds the aiohttp app from ``web``, mounts the Twitch bot
from ``bot`` beside it, and runs the ``streamvoice`` command (``assembly.cli``).
"""
