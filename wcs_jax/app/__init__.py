"""The local browser app's state (`tools/app.py`)."""
