from django.db import migrations, models


def count_existing_failures(apps, schema_editor):
    BulkJob = apps.get_model("contacts", "BulkJob")
    for job in BulkJob.objects.exclude(failures=[]).only("pk", "failures").iterator():
        BulkJob.objects.filter(pk=job.pk).update(failed=len(job.failures))


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0007_bulkjob_kind"),
    ]

    operations = [
        migrations.AddField(
            model_name="bulkjob",
            name="failed",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(count_existing_failures, migrations.RunPython.noop),
    ]
