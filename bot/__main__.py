"""`python -m bot` is `workshop-bot`."""

import sys

from bot.cli import main

sys.exit(main())
