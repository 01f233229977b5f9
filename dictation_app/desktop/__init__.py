"""The desktop integration: a push-to-talk key grabbed on the whole desktop, and text
typed into whatever app has the focus. Qt-free: each backend runs its own connection
(an X thread, a subprocess) and calls back; the controllers marshal onto the loop."""
