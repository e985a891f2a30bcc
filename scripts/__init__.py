"""Repository scripts (build.py is the entry point)."""
