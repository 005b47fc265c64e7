"""`python -m eval_runner` (what `./zylin eval` runs)."""

from __future__ import annotations

import sys

from eval_runner.cli import main

sys.exit(main())
