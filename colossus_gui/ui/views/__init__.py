"""The views of the window (Qt)."""
