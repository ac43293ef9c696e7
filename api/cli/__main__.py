"""``python -m api.cli``: the ``ballistics`` command without its console script."""

import sys

from api.cli.app import main

sys.exit(main())
