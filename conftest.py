"""Loaded before Django starts: tests run background tasks inline."""

import os

os.environ.setdefault("RAPPORT_TASKS_BACKEND", "immediate")
