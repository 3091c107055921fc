"""`rapport check` warns when the suppression list's key is derived from SECRET_KEY."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Warning, register


@register()
def suppression_key_check(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    if settings.RAPPORT_SUPPRESSION_KEY:
        return []
    from rapport.privacy.suppression import DERIVED_KEY_WARNING

    return [Warning(DERIVED_KEY_WARNING, id="privacy.W001")]
