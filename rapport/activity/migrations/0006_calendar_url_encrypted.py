"""Calendar subscription URLs, which may carry a password or a secret token, are kept
encrypted (the key store of mailbox passwords: RAPPORT_MAILBOX_KEY, else derived from
SECRET_KEY). Existing rows are encrypted here; going back decrypts them."""

from django.db import migrations, models


def encrypt_urls(apps, schema_editor):
    from rapport.activity.keystore import secret_encrypt

    Subscription = apps.get_model("activity", "CalendarSubscription")
    rows = list(Subscription.objects.only("pk", "url"))
    for row in rows:
        row.url_encrypted = secret_encrypt(row.url)
    Subscription.objects.bulk_update(rows, ["url_encrypted"], batch_size=500)


def decrypt_urls(apps, schema_editor):
    from rapport.activity.keystore import secret_decrypt

    Subscription = apps.get_model("activity", "CalendarSubscription")
    rows = list(Subscription.objects.only("pk", "url_encrypted"))
    for row in rows:
        row.url = secret_decrypt(row.url_encrypted)
    Subscription.objects.bulk_update(rows, ["url"], batch_size=500)


class Migration(migrations.Migration):

    dependencies = [
        ("activity", "0005_mail"),
    ]

    operations = [
        migrations.AddField(
            model_name="calendarsubscription",
            name="url_encrypted",
            field=models.TextField(default="", editable=False),
            preserve_default=False,
        ),
        migrations.RunPython(encrypt_urls, decrypt_urls),
        # blank: going back adds the column again with "" in it until the rows are decrypted
        migrations.AlterField(
            model_name="calendarsubscription",
            name="url",
            field=models.CharField(blank=True, max_length=2000),
        ),
        migrations.RemoveField(
            model_name="calendarsubscription",
            name="url",
        ),
    ]
