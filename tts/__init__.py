"""Speech synthesis with Kokoro: model loading, voice mixing, WAV writing and the background worker."""
