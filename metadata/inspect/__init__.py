"""The `inspect` command: load (load.py), describe (describe.py), format (format.py)."""
