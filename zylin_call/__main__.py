"""`python -m zylin_call`: place a simulated Twilio call on a running Zylin server."""

import sys

from zylin_call.cli import main

sys.exit(main())
