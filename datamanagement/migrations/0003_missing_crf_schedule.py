"""The daily missing-CRF query job in django-celery-beat, created once and then edited in the admin.

Until issue 23 the safety app's daily digest task raised these queries too; each app now owns
its schedule (the safety app imports nothing of data management). get_or_create by name: a
schedule changed in the admin is never overwritten by a later migrate.
"""

import json

from django.db import migrations

MISSING_CRFS = "data management: queries for CRFs missing after their window"


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    # 06:45 in Tehran: after the safety digest (06:30), before the morning round.
    morning, _ = CrontabSchedule.objects.get_or_create(
        minute="45",
        hour="6",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="Asia/Tehran",
    )
    PeriodicTask.objects.get_or_create(
        name=MISSING_CRFS,
        defaults={
            "task": "datamanagement.raise_missing_crf_queries",
            "kwargs": json.dumps({}),
            "enabled": True,
            "crontab": morning,
        },
    )


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=MISSING_CRFS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("datamanagement", "0002_sdvmark_crf_version"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
