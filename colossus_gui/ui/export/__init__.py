"""The export of the window (Qt)."""
