"""``python -m smskit`` is the ``smskit`` command."""

import sys

from smskit.cli import main

sys.exit(main())
