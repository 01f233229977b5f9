"""The main window's actions (with their shortcuts and menu roles) and its menu bar.

The actions are built here without connections; the window connects each to what it does.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenuBar, QWidget


class WindowActions:
    """Every menu action of the main window, owned by ``parent``."""

    def __init__(self, parent: QWidget) -> None:
        self.record = QAction("Start recording", parent)
        self.record.setShortcut(QKeySequence("Ctrl+R"))

        self.transcribe_files = QAction("Transcribe files…", parent)
        self.transcribe_files.setShortcut(QKeySequence("Ctrl+O"))
        self.transcribe_files.setStatusTip("Choose audio or video files to transcribe")

        self.save_transcript = QAction("Save transcript…", parent)
        # Not Ctrl+S: the Files list uses it for Export… while it has the focus.
        self.save_transcript.setShortcut(QKeySequence("Ctrl+Shift+S"))
        self.save_transcript.setStatusTip("Save the transcript pane as a text file")

        self.services = QAction("File transcription services…", parent)
        self.services.setStatusTip("Accounts for Botlhale, Nevisa and Bahasakita uploads")

        self.quit = QAction("Quit", parent)
        self.quit.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit.setMenuRole(QAction.MenuRole.QuitRole)

        self.copy_all = QAction("Copy all", parent)
        self.copy_all.setShortcut(QKeySequence("Ctrl+Shift+C"))
        self.copy_all.setStatusTip("Copy the whole transcript to the clipboard")

        self.clear = QAction("Clear transcript", parent)

        self.undo_clear = QAction("Undo clear", parent)
        self.undo_clear.setEnabled(False)

        # Edit ▸ Preferences on Linux and Windows; the role moves it to the application
        # menu on macOS, where Qt names it "Preferences…" and gives it Cmd+,.
        self.settings = QAction("Preferences…", parent)
        self.settings.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.settings.setShortcut(QKeySequence("Ctrl+,"))
        self.settings.setStatusTip("The microphone, recognizers, text, keys and accounts")

        self.how_to = QAction("How to dictate", parent)
        self.how_to.setShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents))
        self.shortcuts_help = QAction("Keyboard shortcuts", parent)
        self.log_folder = QAction("Open log folder", parent)
        self.log_folder.setStatusTip("The app's log, to read or to send with a problem report")

        self.about = QAction("About Dictation", parent)
        self.about.setMenuRole(QAction.MenuRole.AboutRole)

    def fill_menu_bar(self, bar: QMenuBar) -> None:
        """File, Edit (with Preferences, as Linux and Windows apps have it) and Help."""
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.record)
        file_menu.addAction(self.transcribe_files)
        file_menu.addAction(self.save_transcript)
        file_menu.addAction(self.services)
        file_menu.addSeparator()
        file_menu.addAction(self.quit)
        edit_menu = bar.addMenu("&Edit")
        edit_menu.addAction(self.copy_all)
        edit_menu.addSeparator()
        edit_menu.addAction(self.clear)
        edit_menu.addAction(self.undo_clear)
        edit_menu.addSeparator()
        edit_menu.addAction(self.settings)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.how_to)
        help_menu.addAction(self.shortcuts_help)
        help_menu.addAction(self.log_folder)
        help_menu.addSeparator()
        help_menu.addAction(self.about)

    def shortcut_rows(self) -> list[tuple[str, str]]:
        """(key, action) for every action that has a key, as the platform spells it."""
        native = QKeySequence.SequenceFormat.NativeText
        return [(key.toString(native), action.text().rstrip("…"))
                for action in (self.record, self.transcribe_files, self.save_transcript,
                               self.quit, self.copy_all, self.settings, self.how_to)
                for key in action.shortcuts() if not key.isEmpty()]
