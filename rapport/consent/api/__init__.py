"""The consent area over HTTP: /purposes, /contacts/{id}/consents, /consent-events."""
