"""Text that reads like writing: the pure layer between a recognizer's finals and every
output (the window, typing into other apps, history, exports)."""
