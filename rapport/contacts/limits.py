"""How many entries any list in a contact or organization may hold.

Every path checks them (the services, so the UI, API, CLI and imports alike); the API
schemas repeat them so that the OpenAPI document shows them and an oversized request is
refused before any work. docs/api.md lists them.
"""

from __future__ import annotations

# Emails, phone numbers, addresses, websites and external ids of one record.
MAX_ENTRIES = 50
# Tags on one record.
MAX_TAGS = 100
# Tags one list (or export) may be filtered by: each is a join, and SQLite allows 64.
MAX_TAG_FILTERS = 20
# Web domains of one organization.
MAX_DOMAINS = 20
# Choices of one custom field definition (and so values of one multi-choice field).
MAX_CHOICES = 200
# Custom field values sent in one request.
MAX_CUSTOM_FIELDS = 200
