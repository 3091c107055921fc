from django.db import migrations

from rapport.consent.triggers import drop_sql, install_sql

GENESIS = "0" * 64


def forwards(apps, schema_editor):
    for statement in install_sql(schema_editor.connection.vendor):
        schema_editor.execute(statement)
    # the chain's head exists before the first append, so appends only ever lock it
    apps.get_model("consent", "ConsentChain").objects.get_or_create(
        pk=1, defaults={"seq": 0, "head_hash": GENESIS}
    )


def backwards(apps, schema_editor):
    for statement in drop_sql(schema_editor.connection.vendor):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("consent", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
