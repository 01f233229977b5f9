"""The live transcript: settled words in the normal text colour, the recognizer's guess in grey.

The recognizer owns one range at the end of the document, the *pending* range, holding
the current partial (separator included). ``show_partial`` replaces that range in place,
``add_final`` replaces it with settled text and closes it; the next partial opens a new
range at the end of the document. Everything else belongs to the person: text typed or
pasted anywhere outside the grey range, including right after it, is never touched.

Design notes:

* The pending range is tracked with QTextCursor positions, which Qt moves as the
  document is edited, so each update costs a few O(log n) cursor operations and never
  re-sets the whole text.
* Finals are joined by a space (one final is one utterance) but a new paragraph, after
  a blank line, is started at an utterance boundary once a paragraph gets long (after
  a sentence end past ``PARAGRAPH_SOFT_LIMIT`` characters, at any boundary past
  ``PARAGRAPH_HARD_LIMIT``). A wall of text is hard to read, and Qt lays out a whole
  paragraph on every change, so an endless paragraph would make each partial cost
  time proportional to the transcript (100 ms at 10,000 finals instead of 0.5 ms).
  The blank line is there because QPlainTextEdit ignores paragraph spacing.
* Each update repaints only the lines it changed (``_edit``), not the whole viewport,
  and the scroll bar only when its handle moves.
* Finals another engine produced than the take's own (failover: the offline engine
  while the cloud was away) get a dotted underline and a tooltip naming that engine;
  the text itself stays clean for Copy all.
* A take's finals come formatted (``core/text``): ``begin_take`` opens a paragraph
  for the take, headed by a small timestamp line when given one, and ``add_final``
  with a ``Formatted`` removes its ``retract`` characters from the end of the take's
  settled text, then appends its text exactly as given (its own spaces and line
  breaks). A plain string is one utterance, joined by a space as above.
* Undo/redo is off: the document's undo stack would record every partial (growing
  without bound) and Ctrl+Z would rewind the recognizer's text instead of the
  person's. ``clear_transcript`` keeps the cleared text so that ``undo_clear`` can put
  it back.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QMimeData, QRect, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QHelpEvent,
    QInputMethodEvent,
    QKeyEvent,
    QPaintEvent,
    QPalette,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QPlainTextEdit,
    QScrollBar,
    QStyle,
    QStyleOptionSlider,
    QToolTip,
    QWidget,
)

from dictation_app.core.text.formatter import Formatted

# Characters that end a sentence; a paragraph may break after them once it is long.
_SENTENCE_END = frozenset(".?!…\u3002\uff1f\uff01")  # with CJK full stop, ? and !
# What Qt returns for a paragraph break inside a document or a selection.
_PARAGRAPH_SEPARATOR = "\u2029"
_LINE_SEPARATOR = "\u2028"

PARAGRAPH_BREAK = "\n\n"
PARAGRAPH_SOFT_LIMIT = 400
PARAGRAPH_HARD_LIMIT = 900
TRANSCRIPT_POINT_SIZE = 14
HEADING_POINT_SIZE = 9  # a take's timestamp line
_NO_UPDATES = Qt.WidgetAttribute.WA_UpdatesDisabled


class TranscriptView(QPlainTextEdit):
    """Shows partial and final recognition results; the person may select and edit freely."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transcriptView")
        self.document().setUndoRedoEnabled(False)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.document().setDocumentMargin(14)
        font = QFont(self.font())
        font.setPointSize(TRANSCRIPT_POINT_SIZE)
        self.setFont(font)
        self.setPlaceholderText("Press Record and start speaking.")

        self._final_format = QTextCharFormat()
        self._partial_format = QTextCharFormat()
        self._heading_format = QTextCharFormat()
        self._update_partial_format()

        # The pending range [start, end): `_start` sits on its first character. Its end
        # is min(_end, _last + 1): `_end` alone would swallow text typed right after the
        # range (Qt moves a cursor forward on an insertion at its position), and `_last`
        # alone would overshoot when the last character is deleted.
        self._start: QTextCursor | None = None
        self._end: QTextCursor | None = None
        self._last: QTextCursor | None = None
        self._cleared_text = ""
        # The current take's text starts just after this cursor's position (a cursor at
        # the start itself would move on with the take's first insertion); None with
        # `_take_at_top`: the take starts the document.
        self._take_anchor: QTextCursor | None = None
        self._take_at_top = False

        # Follow the end of the text while the view is at the end; stop as soon as the
        # person scrolls up, resume when they scroll back down. Qt updates the scroll
        # range after some edits only once layout has run (e.g. when the scroll bar
        # first appears), so following hangs on rangeChanged, not on the edit itself.
        self._follow_end = True
        bar = self.verticalScrollBar()
        bar.rangeChanged.connect(self._on_scroll_range_changed)
        bar.valueChanged.connect(self._on_scroll_value_changed)

        self._in_edit = False
        self._edit_scroll = 0
        self._narrow_repaint_pending = False
        self.updateRequest.connect(self._on_update_request)

    # ------------------------------------------------------------------ results

    def show_partial(self, text: str, separator: str | None = None) -> None:
        """Show the recognizer's current guess in grey, replacing the previous guess;
        after `separator` when given (the take formatter's spacing), else after a space
        when the text before it needs one."""
        text = _one_line(text)
        if not text:
            self.clear_partial()
            return
        start, end = self._write_pending(text, self._partial_format, separator)
        doc = self.document()
        self._start = QTextCursor(doc)
        self._start.setPosition(start)
        self._end = QTextCursor(doc)
        self._end.setPosition(end)
        self._last = QTextCursor(doc)
        self._last.setPosition(end - 1)

    def add_final(self, text: str | Formatted, *, engine_note: str = "") -> None:
        """Settle an utterance: it replaces the guess, and the next guess starts after it.

        A `Formatted` final is applied exactly: its `retract` characters go from the end
        of the take's settled text (never from before the take), then its text follows
        as it is. With `engine_note` ("Heard by the Local engine…"), the words are marked
        as another engine's: a dotted underline, and the note as their tooltip.
        """
        fmt = self._final_format
        if engine_note:
            fmt = QTextCharFormat(self._final_format)
            fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.DotLine)
            fmt.setToolTip(engine_note)
        if isinstance(text, Formatted):
            self._add_formatted(text, fmt)
            return
        text = _one_line(text)
        if not text:
            self.clear_partial()
            return
        self._write_pending(text, fmt)
        self._forget_pending()

    def engine_note_at(self, position: int) -> str:
        """The engine note of the character at `position` (document offset), or ""."""
        cursor = QTextCursor(self.document())
        cursor.setPosition(min(position + 1, self.document().characterCount() - 1))
        return cursor.charFormat().toolTip()

    def begin_take(self, heading: str = "") -> None:
        """Open a paragraph for a new take, after a blank line, under `heading` (a small
        line, e.g. the time the take started) when given."""
        self.clear_partial()
        doc = self.document()
        end_of_doc = doc.characterCount() - 1
        text = doc.toPlainText()
        gap = "" if not text.strip() else (
            "" if text.endswith("\n\n") else "\n" if text.endswith("\n") else PARAGRAPH_BREAK)

        def insert(cursor: QTextCursor) -> None:
            if gap:
                cursor.insertText(gap, self._final_format)
            if heading:
                cursor.insertText(heading, self._heading_format)
                cursor.insertText("\n", self._final_format)

        if gap or heading:
            self._edit(insert, (end_of_doc, end_of_doc))
        end_of_doc = doc.characterCount() - 1
        self._take_at_top = end_of_doc == 0
        self._take_anchor = None
        if not self._take_at_top:
            self._take_anchor = QTextCursor(doc)
            self._take_anchor.setPosition(end_of_doc - 1)

    def _take_start(self) -> int | None:
        if self._take_at_top:
            return 0
        if self._take_anchor is None:
            return None
        return self._take_anchor.position() + 1

    def _add_formatted(self, formatted: Formatted, fmt: QTextCharFormat) -> None:
        span = self._pending_span()
        if span is None:
            end_of_doc = self.document().characterCount() - 1
            span = (end_of_doc, end_of_doc)
        if formatted.retract:
            start = self._take_start()
            start = span[0] if start is None else min(start, span[0])
            cut = (max(start, span[0] - formatted.retract), span[0])
            if cut[0] < cut[1]:
                self._edit(lambda cursor: cursor.removeSelectedText(), cut)
        if formatted.text:
            self._write_pending(formatted.text, fmt, "")
        else:
            self.clear_partial()
        self._forget_pending()

    def clear_partial(self) -> None:
        """Remove the grey guess, if any."""
        span = self._pending_span()
        self._forget_pending()
        if span is None or span[0] == span[1]:
            return
        self._edit(lambda cursor: cursor.removeSelectedText(), span)

    def clear_transcript(self) -> None:
        """Empty the view; ``undo_clear`` brings the cleared text back."""
        text = self.plain_text()
        if text.strip():
            self._cleared_text = text
        self._forget_pending()
        self._take_anchor, self._take_at_top = None, False  # nothing left to retract from
        doc = self.document()
        self._edit(lambda cursor: cursor.removeSelectedText(), (0, doc.characterCount() - 1))

    def can_undo_clear(self) -> bool:
        return bool(self._cleared_text)

    def undo_clear(self) -> bool:
        """Put the last cleared text back in front of whatever came since; False if none."""
        text = self._cleared_text
        if not text:
            return False
        self._cleared_text = ""
        doc = self.document()
        joiner = "" if doc.isEmpty() else PARAGRAPH_BREAK

        def insert(cursor: QTextCursor) -> None:
            cursor.insertText(text + joiner, self._final_format)

        # Inserting at 0 moves the pending range's cursors along with the text.
        self._edit(insert, (0, 0))
        return True

    def plain_text(self) -> str:
        """The transcript without the pending guess, with "\\n" between paragraphs."""
        doc = self.document()
        end_of_doc = doc.characterCount() - 1
        span = self._pending_span()
        if span is None:
            return doc.toPlainText()
        return self._text_between(0, span[0]) + self._text_between(span[1], end_of_doc)

    def partial_text(self) -> str:
        """The grey guess as shown (without its leading separator); empty when none."""
        span = self._pending_span()
        if span is None:
            return ""
        return self._text_between(*span).lstrip()

    # ------------------------------------------------------------------ internals

    def _write_pending(self, text: str, fmt: QTextCharFormat,
                       separator: str | None = None) -> tuple[int, int]:
        """Replace the pending range (or the end of the document) with separator + text."""
        span = self._pending_span()
        if span is None:
            end_of_doc = self.document().characterCount() - 1
            span = (end_of_doc, end_of_doc)
        if separator is None:
            separator = self._separator_before(span[0])
        written: list[int] = []

        def write(cursor: QTextCursor) -> None:
            start = cursor.selectionStart()
            if separator:
                cursor.insertText(separator, self._final_format)
            cursor.insertText(text, fmt)
            written.extend((start, cursor.position()))

        self._edit(write, span)
        return written[0], written[1]

    def _edit(self, change: Callable[[QTextCursor], None], span: tuple[int, int]) -> None:
        """Apply ``change(cursor)`` to a cursor selecting ``span`` as one edit.

        QPlainTextDocumentLayout repaints the whole viewport whenever an edit changes a
        paragraph's height, which a growing partial does every few words; that repaint
        was most of the cost of an update. Our edits never move text above the line
        where they start, so the layout's own repaint requests are held back during
        the edit and only that line and what is below it are repainted (see
        ``_on_update_request`` for scrolls). The layout's size notice, which keeps
        the scroll bar right, is passed on as usual, but the scroll bar itself is
        repainted only when its handle moves (see below).
        """
        doc = self.document()
        layout = doc.documentLayout()
        viewport = self.viewport()
        self._in_edit = True
        self._edit_scroll = 0
        try:
            # Measured before the edit, while the layout is settled.
            dirty_top = self._line_top(span[0] - 1) if span[0] > 0 else None
            if self._edit_scroll:  # measuring laid out a block and scrolled: play safe
                dirty_top = None
            cursor = QTextCursor(doc)
            cursor.setPosition(span[0])
            cursor.setPosition(span[1], QTextCursor.MoveMode.KeepAnchor)
            layout.blockSignals(True)
            try:
                cursor.beginEditBlock()
                change(cursor)
                cursor.endEditBlock()
            finally:
                layout.blockSignals(False)
            # A scroll bar repaints itself, and the window's background beneath it, on
            # every range or value change, i.e. each time the text gains a line: in
            # the main window (style sheet) that took 0.6 ms, more than the rest of an
            # update. Its pixels only change when the handle moves by a pixel, which
            # in a long transcript is every few dozen lines, so its repaint is held
            # back here and asked for only then. (setUpdatesEnabled(True) would
            # repaint the bar every time, so the attribute is set directly, and only
            # around these synchronous calls.)
            bar = self.verticalScrollBar()
            before = _slider_state(bar)
            hold = bar.isVisible() and not bar.testAttribute(_NO_UPDATES)
            if hold:
                bar.setAttribute(_NO_UPDATES, True)
            try:
                layout.documentSizeChanged.emit(layout.documentSize())
                if self._follow_end:
                    bar.setValue(bar.maximum())
            finally:
                if hold:
                    bar.setAttribute(_NO_UPDATES, False)
            after = _slider_state(bar)
            if hold and after != before and _bar_look(bar, before) != _bar_look(bar, after):
                bar.update()
        finally:
            self._in_edit = False
        if dirty_top is None:
            viewport.update()
            return
        top = dirty_top + self._edit_scroll
        if top <= 0:
            viewport.update()
        elif top < viewport.height():
            viewport.update(QRect(0, top, viewport.width(), viewport.height() - top))
            self._narrow_repaint_pending = True

    def _line_top(self, position: int) -> int:
        """Viewport y of the top of the line holding ``position``."""
        block = self.document().findBlock(position)
        top = self.blockBoundingGeometry(block).translated(self.contentOffset()).top()
        text_layout = block.layout()
        if text_layout is not None and text_layout.lineCount():
            line = text_layout.lineForTextPosition(position - block.position())
            if line.isValid():
                top += line.y()
        return int(top)

    def _on_update_request(self, _rect: QRect, dy: int) -> None:
        # Emitted after the viewport scrolled by dy pixels. A scroll inside our edit is
        # accounted for in _edit; any scroll while a narrowed repaint is still pending
        # would move content that was not repainted yet, so repaint everything then.
        if not dy:
            return
        if self._in_edit:
            self._edit_scroll += dy
        if self._narrow_repaint_pending:
            self._narrow_repaint_pending = False
            self.viewport().update()

    def paintEvent(self, event: QPaintEvent) -> None:
        self._narrow_repaint_pending = False
        super().paintEvent(event)

    def _on_scroll_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._follow_end:
            self.verticalScrollBar().setValue(maximum)

    def _on_scroll_value_changed(self, value: int) -> None:
        self._follow_end = value >= self.verticalScrollBar().maximum()

    def _pending_span(self) -> tuple[int, int] | None:
        if self._start is None or self._end is None or self._last is None:
            return None
        start = self._start.position()
        end = min(self._end.position(), self._last.position() + 1)
        return start, max(start, end)

    def _forget_pending(self) -> None:
        self._start = self._end = self._last = None

    def _separator_before(self, position: int) -> str:
        if position == 0:
            return ""
        doc = self.document()
        previous = doc.characterAt(position - 1)
        if previous.isspace() or previous in (_PARAGRAPH_SEPARATOR, _LINE_SEPARATOR):
            return ""
        paragraph_length = position - doc.findBlock(position - 1).position()
        if paragraph_length >= PARAGRAPH_HARD_LIMIT or (
            paragraph_length >= PARAGRAPH_SOFT_LIMIT and previous in _SENTENCE_END
        ):
            return PARAGRAPH_BREAK
        return " "

    def _text_between(self, start: int, end: int) -> str:
        if end <= start:
            return ""
        cursor = QTextCursor(self.document())
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        return (
            cursor.selectedText()
            .replace(_PARAGRAPH_SEPARATOR, "\n")
            .replace(_LINE_SEPARATOR, "\n")
            .replace("\u00a0", " ")
        )

    def _update_partial_format(self) -> None:
        # A grey between the text and the background: distinct from settled text, still
        # readable (about 4.6:1 on white), and right in dark themes too.
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.Text)
        base = palette.color(QPalette.ColorRole.Base)
        grey = QColor(
            round(text.red() * 0.54 + base.red() * 0.46),
            round(text.green() * 0.54 + base.green() * 0.46),
            round(text.blue() * 0.54 + base.blue() * 0.46),
        )
        self._partial_format = QTextCharFormat()
        self._partial_format.setForeground(grey)
        self._heading_format = QTextCharFormat()
        self._heading_format.setForeground(grey)
        self._heading_format.setFontPointSize(HEADING_POINT_SIZE)

    # ---------------------------------------------- the person's typing is never grey

    def _type_in_normal_format(self) -> None:
        # Typed text takes the format of the character before the caret, which is grey
        # right after a partial. Without a selection the caret's format can be set
        # directly; with one, setCurrentCharFormat would restyle the selection instead,
        # so that case is handled by inserting the text ourselves.
        if not self.textCursor().hasSelection():
            self.setCurrentCharFormat(self._final_format)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        text = event.text()
        typed = (
            bool(text)
            and text.isprintable()
            and not (
                event.modifiers()
                & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.MetaModifier)
            )
        )
        if typed and self.textCursor().hasSelection() and not self.isReadOnly():
            cursor = self.textCursor()
            cursor.insertText(text, self._final_format)
            self.setTextCursor(cursor)
            self.ensureCursorVisible()
            event.accept()
            return
        if typed or event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab):
            self._type_in_normal_format()
        super().keyPressEvent(event)

    def inputMethodEvent(self, event: QInputMethodEvent) -> None:
        self._type_in_normal_format()
        super().inputMethodEvent(event)

    def insertFromMimeData(self, source: QMimeData) -> None:
        if self.isReadOnly() or not source.hasText():
            super().insertFromMimeData(source)
            return
        cursor = self.textCursor()
        cursor.insertText(source.text(), self._final_format)
        self.setTextCursor(cursor)
        self.ensureCursorVisible()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            position = self.cursorForPosition(event.pos()).position()
            note = self.engine_note_at(position) or self.engine_note_at(position - 1)
            if note:
                QToolTip.showText(event.globalPos(), note, self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._update_partial_format()
        super().changeEvent(event)


_SliderState = tuple[int, int, int, int, int]


def _slider_state(bar: QScrollBar) -> _SliderState:
    return bar.minimum(), bar.maximum(), bar.value(), bar.sliderPosition(), bar.pageStep()


def _bar_look(bar: QScrollBar, state: _SliderState) -> tuple[object, ...]:
    """What the bar's pixels depend on in ``state``: where its handle is, not the value."""
    option = QStyleOptionSlider()
    bar.initStyleOption(option)  # everything else: size, orientation, hover, palette
    option.minimum, option.maximum, value, option.sliderPosition, option.pageStep = state
    option.sliderValue = value
    handle = bar.style().subControlRect(
        QStyle.ComplexControl.CC_ScrollBar, option, QStyle.SubControl.SC_ScrollBarSlider, bar
    )
    # Some styles draw the arrow at an end of the range as disabled.
    return handle, value == option.minimum, value == option.maximum


def _one_line(text: str) -> str:
    """Recognizers sometimes pad results or break lines inside them; one utterance is one run."""
    return " ".join(text.split())
