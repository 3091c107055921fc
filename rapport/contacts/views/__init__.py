"""Server-rendered pages of the contacts area (templates + htmx)."""
