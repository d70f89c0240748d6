"""The panels of the window (Qt)."""
