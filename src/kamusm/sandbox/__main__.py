"""``python -m kamusm.sandbox``: serve the sandbox portal (or provision it)."""

from __future__ import annotations

import sys

from kamusm.sandbox import main

if __name__ == "__main__":
    sys.exit(main())
