"""Abstract bases shared by every business area."""

from __future__ import annotations

from django.db import models


class TimeStamped(models.Model):
    """Creation and modification times, plus a version number used for ETags."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        abstract = True

    @property
    def etag(self) -> str:
        return f'"{self.pk}-{self.version}"'
