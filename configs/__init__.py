"""Training configs, one per stage (see common.py for the fields)."""
