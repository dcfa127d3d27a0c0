"""Entry point of the frozen build: the same ``ui.cli:main`` the installed ``dispatch-console`` script runs.

A script of its own rather than ui/cli.py itself, so ``ui.cli`` is imported once, as a module, exactly
as the installed console script imports it.
"""

import sys

from ui.cli import main

if __name__ == "__main__":
    sys.exit(main())
