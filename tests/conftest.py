import os

# Qt tests run without a display unless a test sets up Xvfb itself.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("COLOSSUS_GUI_NO_SETTINGS", "1")  # tests never read or write the user's QSettings
