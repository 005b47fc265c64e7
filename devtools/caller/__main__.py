"""`python -m devtools.caller`: place a simulated Twilio call on a running Zylin server."""

import sys

from devtools.caller.cli import main

sys.exit(main())
