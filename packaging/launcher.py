"""Frozen-app entry point: what `python -m colossus_gui` does, as a top-level script PyInstaller can run."""

import sys

from colossus_gui.cli import main

if __name__ == "__main__":
    sys.exit(main())
