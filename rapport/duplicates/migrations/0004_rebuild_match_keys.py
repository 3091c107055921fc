"""Blocking keys changed (area, birthday and name-part pairings; both postcode and
locality): every contact's stored keys are made again the current way."""

from django.db import migrations


def rebuild(apps, schema_editor):  # type: ignore[no-untyped-def]
    from rapport.duplicates.services.keys import match_keys_rebuild

    match_keys_rebuild()


class Migration(migrations.Migration):
    dependencies = [
        ("duplicates", "0003_scan_heartbeat"),
        ("contacts", "0008_bulkjob_failed_count"),  # reads the contact tables as they are
    ]

    operations = [migrations.RunPython(rebuild, migrations.RunPython.noop, elidable=True)]
