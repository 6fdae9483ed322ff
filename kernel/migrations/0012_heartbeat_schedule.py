"""The worker heartbeat in django-celery-beat (every minute), created once and then edited in the
admin. A heartbeat that waited longer than its interval in the queue expires unrun: a worker back
after an outage runs the next one, not the backlog."""

import json

from django.db import migrations

HEARTBEAT = "trialedc: worker heartbeat (for /health/)"


def schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=HEARTBEAT,
        defaults={
            "task": "trialedc.heartbeat",
            "kwargs": json.dumps({}),
            "enabled": True,
            "interval": every_minute,
            "expire_seconds": 60,
        },
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=HEARTBEAT).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("trialedc", "0011_heartbeat"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
