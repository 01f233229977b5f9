"""The export formats (TXT, SRT, WebVTT, JSON), their file-dialog labels, and `export()`,
which hands a transcript to the builder of the format asked for."""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path

from dictation_app.jobs.exports.cues import subtitle_cues
from dictation_app.jobs.exports.json_text import transcript_json
from dictation_app.jobs.exports.subtitles import srt, vtt
from dictation_app.jobs.exports.txt import txt
from dictation_app.protocols.transcript import Transcript


class ExportFormat(str, Enum):
    TXT = "txt"
    SRT = "srt"
    VTT = "vtt"
    JSON = "json"

    @property
    def extension(self) -> str:
        """The file suffix with its dot, as Path.suffix gives it: ".srt"."""
        return "." + self.value

    @property
    def label(self) -> str:
        """One entry of a Qt file dialog filter: "SubRip subtitles (*.srt)"."""
        return f"{_LABELS[self.value]} (*{self.extension})"

    @classmethod
    def for_path(cls, path: str | os.PathLike[str]) -> ExportFormat | None:
        """The format a file name's suffix asks for, or None when it names none."""
        suffix = Path(path).suffix.lower()
        return next((fmt for fmt in cls if fmt.extension == suffix), None)


_LABELS = {
    "txt": "Plain text",
    "srt": "SubRip subtitles",
    "vtt": "WebVTT subtitles",
    "json": "JSON transcript",
}


def dialog_filter() -> str:
    """Every format's label, joined the way QFileDialog's filter argument wants."""
    return ";;".join(fmt.label for fmt in ExportFormat)


def export(
    transcript: Transcript, fmt: ExportFormat, *, timestamps: bool = False,
    speakers: bool = False,
) -> str:
    """The transcript as the text of a file in `fmt`; the options only affect TXT."""
    fmt = ExportFormat(fmt)
    if fmt is ExportFormat.TXT:
        return txt(transcript, timestamps=timestamps, speakers=speakers)
    if fmt is ExportFormat.SRT:
        return srt(subtitle_cues(transcript, prefix_speakers=True))
    if fmt is ExportFormat.VTT:
        return vtt(subtitle_cues(transcript, prefix_speakers=False))
    return transcript_json(transcript)
