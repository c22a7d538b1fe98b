"""The Twitch bot: reads the channel's chat over EventSub while the streamer's App is offline (see docs/twitch.md)."""
