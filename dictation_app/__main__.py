"""`python -m dictation_app` runs the same entry point as the `dictation-app` script."""

from __future__ import annotations

import sys

from dictation_app.cli.commands import main

sys.exit(main())
