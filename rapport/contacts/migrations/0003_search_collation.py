"""Sort keys compare byte by byte on PostgreSQL, as on SQLite.

With the "C" collation on sort_name and family_key, name order is the same on both
databases whatever the server's locale, and a prefix search is a plain range on the
b-tree that ORDER BY already uses (the text_pattern_ops indexes become unnecessary).
The extra (family_key, sort_name, id) index answers "surnames starting with ..., in name
order" from the index alone.
"""

from django.db import migrations

FORWARDS = [
    'ALTER TABLE contacts_contact ALTER COLUMN sort_name TYPE varchar(300) COLLATE "C", '
    'ALTER COLUMN family_key TYPE varchar(100) COLLATE "C"',
    'ALTER TABLE contacts_organization ALTER COLUMN sort_name TYPE varchar(200) COLLATE "C"',
    "DROP INDEX IF EXISTS contacts_contact_sort_prefix",
    "DROP INDEX IF EXISTS contacts_organization_sort_prefix",
    "DROP INDEX IF EXISTS contacts_contact_family_prefix",
    "CREATE INDEX IF NOT EXISTS contact_family_sort_id ON contacts_contact (family_key, sort_name, id)",
]
BACKWARDS = [
    "DROP INDEX IF EXISTS contact_family_sort_id",
    'ALTER TABLE contacts_contact ALTER COLUMN sort_name TYPE varchar(300) COLLATE "default", '
    'ALTER COLUMN family_key TYPE varchar(100) COLLATE "default"',
    'ALTER TABLE contacts_organization ALTER COLUMN sort_name TYPE varchar(200) COLLATE "default"',
    "CREATE INDEX IF NOT EXISTS contacts_contact_sort_prefix "
    "ON contacts_contact (sort_name text_pattern_ops, id)",
    "CREATE INDEX IF NOT EXISTS contacts_organization_sort_prefix "
    "ON contacts_organization (sort_name text_pattern_ops, id)",
    "CREATE INDEX IF NOT EXISTS contacts_contact_family_prefix "
    "ON contacts_contact (family_key text_pattern_ops)",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("contacts", "0002_search")]
    operations = [migrations.RunPython(_run(FORWARDS), _run(BACKWARDS))]
