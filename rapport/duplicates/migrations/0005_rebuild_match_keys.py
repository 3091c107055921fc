"""Blocking keys changed (area, birthday and name-part pairings; both postcode and
locality; organizations' name starts by area): every contact's and organization's
stored keys are made again the current way."""

from django.db import migrations


def rebuild(apps, schema_editor):  # type: ignore[no-untyped-def]
    from rapport.contacts.models import Organization
    from rapport.duplicates.services.keys import match_keys_rebuild, organization_keys_refresh

    match_keys_rebuild()
    ids = list(Organization.objects.values_list("pk", flat=True))
    for start in range(0, len(ids), 2_000):
        organization_keys_refresh(organization_ids=ids[start : start + 2_000])


class Migration(migrations.Migration):
    dependencies = [
        ("duplicates", "0004_job_claim"),
        ("contacts", "0009_job_claim"),  # reads the contact tables as they are
    ]

    operations = [migrations.RunPython(rebuild, migrations.RunPython.noop, elidable=True)]
