"""The training of the window (Qt)."""
