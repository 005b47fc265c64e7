"""`python -m eval_runner` (what `./zylin eval` runs)."""

from __future__ import annotations

import sys

from zylin.logging_setup import configure_logging

configure_logging("WARNING")  # before Pipecat is imported: its banner is not a result

from eval_runner.cli import main  # noqa: E402

sys.exit(main())
