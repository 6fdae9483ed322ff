"""The safety schedules in django-celery-beat, created once and then edited in the admin.

get_or_create by name: a schedule changed in the admin is never overwritten by a later migrate.
"""

import json

from django.db import migrations

ALERT_SWEEP = "safety: deliver pending alerts (outbox sweep)"
REMINDERS = "safety: SAE follow-up and SUSAR clock reminders"
DIGEST = "safety: daily visit digest per site"


def create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_2_min, _ = IntervalSchedule.objects.get_or_create(every=2, period="minutes")
    every_15_min, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    # 06:30 in Tehran, before the morning round.
    morning, _ = CrontabSchedule.objects.get_or_create(
        minute="30",
        hour="6",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="Asia/Tehran",
    )
    for name, task, schedule in (
        (ALERT_SWEEP, "safety.alerts_sweep", {"interval": every_2_min}),
        (REMINDERS, "safety.reminders_send", {"interval": every_15_min}),
        (DIGEST, "safety.visit_digests_send", {"crontab": morning}),
    ):
        PeriodicTask.objects.get_or_create(
            name=name,
            defaults={"task": task, "kwargs": json.dumps({}), "enabled": True, **schedule},
        )


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[ALERT_SWEEP, REMINDERS, DIGEST]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("safety", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
