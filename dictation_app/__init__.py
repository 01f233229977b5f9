"""Live dictation and transcription, online or on an embedded offline engine."""

__version__ = "0.1.0"
