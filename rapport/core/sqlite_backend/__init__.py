"""Rapport's SQLite backend: Django's, with the connection set up so the file stays sound
when many processes and threads share it (see ``base``)."""
