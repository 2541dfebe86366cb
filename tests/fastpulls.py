"""`python tests/fastpulls.py watch ...`: the command, with pull intervals down to half a
second allowed (time compressed for the tests; the command's floor is a minute)."""

import etl.pullschedule
from etl.cli import main

etl.pullschedule.MIN_INTERVAL_SECONDS = 0.5
main()
