"""The nightly verification of the randomization lists in django-celery-beat (issue 24), created
once and then edited in the admin (get_or_create by name, as safety's schedules)."""

import json

from django.db import migrations

NAME = "randomization: verify every list against its checksum"


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    night, _ = CrontabSchedule.objects.get_or_create(
        minute="15",
        hour="3",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="Asia/Tehran",
    )
    PeriodicTask.objects.get_or_create(
        name=NAME,
        defaults={
            "task": "randomization.lists_verify",
            "kwargs": json.dumps({}),
            "enabled": True,
            "crontab": night,
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("randomization", "0005_perf_counters_and_immutable_slots"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
