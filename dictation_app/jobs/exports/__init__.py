"""Turn a `Transcript` into the text of a file a person saves: TXT, SRT, WebVTT or JSON.

Pure: `export()` builds a string and touches nothing else; `write_export()` is the one
helper with I/O, writing atomically (temp file in the target folder, then os.replace).

Subtitles follow common captioning practice: a cue holds at most two lines of 42
characters and lasts at most 7 s, and a long segment is split at word boundaries,
timed by its words when the service gave word times and otherwise proportionally by
characters within the segment. Times the service did not give are estimated (start
at the previous cue's end, end at the next segment's start or after a reading-speed
estimate) so that every cue has end > start, cues never overlap and no time is
negative. Speakers are shown as "Speaker 1", "Speaker 2", ... in order of first
appearance, since services name them with opaque ids ("speaker_0", "1").

JSON is exactly `json.dumps(json_text.transcript_dict(t), ensure_ascii=False, indent=2)`:
the common shape plus the redacted text, emotion, translation and every other extra.
The stdlib builds indented JSON in pure Python (over a second for a 10-hour
transcript), so it is written by a template that yields the same text. The exports
write the transcript they are given; for a redacted TXT/SRT/VTT, give them
`Transcript.redacted()`.

One module per part: `formats` (the formats and `export()`), `txt`, `cues` (subtitle
timing and cue splitting), `subtitles` (SRT and WebVTT text), `json_text`, `segments`
(what they share) and `writer` (`write_export()`).
"""

from __future__ import annotations

from dictation_app.jobs.exports.formats import ExportFormat, dialog_filter, export
from dictation_app.jobs.exports.writer import write_export

__all__ = ["ExportFormat", "dialog_filter", "export", "write_export"]
