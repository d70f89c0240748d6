"""Frozen-app entry point: what `python -m colossus_gui` does, as a top-level script PyInstaller can run."""

import multiprocessing
import sys

from colossus_gui.cli import main

if __name__ == "__main__":
    # Studies run on a Dask LocalCluster whose worker processes are started with multiprocessing's "spawn"
    # method: a frozen app starts them by running this executable again, and freeze_support() is what turns
    # that second start into a worker instead of another colossus-gui (PyInstaller makes it work on every OS).
    multiprocessing.freeze_support()
    sys.exit(main())
