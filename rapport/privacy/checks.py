"""`rapport check --deploy` warns when the suppression list's key is derived from SECRET_KEY."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Warning, register


# A deployment check, like Django's own SECRET_KEY checks: a warning printed by every
# command would bury their output (and the demo install runs without the key).
@register(deploy=True)
def suppression_key_check(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    if settings.RAPPORT_SUPPRESSION_KEY:
        return []
    from rapport.privacy.suppression import DERIVED_KEY_WARNING

    return [Warning(DERIVED_KEY_WARNING, id="privacy.W001")]
