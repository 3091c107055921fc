"""Meetings from calendars: iCalendar files uploaded or imported on the command line,
and calendars subscribed to by URL and refreshed in the background.

``importing.calendar_import`` is the one entry; ``parse`` reads a file into series of
occurrences, ``zones`` decides which time zone each time is in, ``store`` creates,
updates and cancels the meetings, ``subscriptions`` fetches subscribed calendars.
"""
