"""The labelled duplicate-detection benchmark: synthetic people, their evaluation, a baseline.

``generate`` writes a Google Contacts CSV of people with corrupted duplicates and
look-alike hard negatives, and a labels CSV saying who is who; ``evaluate`` scores any
list of scored record pairs against those labels; ``baseline`` links the same CSV with
Splink; ``rapport_run`` loads it into a fresh Rapport database and runs ``rapport dedupe``.
"""
