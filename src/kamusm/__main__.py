"""``python -m kamusm``: the ``kamusm`` command (see :mod:`kamusm._cli`)."""

from __future__ import annotations

import sys

from kamusm._cli import main

if __name__ == "__main__":
    sys.exit(main())
