"""Persian for failed exports: their reasons, the sweep of stopped exports, the output folder."""

FA = {
    "Export failed": "خروجی ناموفق بود",
    "last sign of life": "آخرین نشانهٔ فعالیت",
    "reason of the failure": "دلیل ناموفق بودن",
    "Stopped at": "زمان توقف",
    "Stopped by the user (interrupted).": "کاربر آن را متوقف کرد (قطع شد).",
    "Stopped: the process was asked to end.": "متوقف شد: از فرایند خواسته شد پایان یابد.",
    "A file could not be written (%(file)s): %(why)s.": "نوشتن یک فایل ممکن نشد (%(file)s): "
    "%(why)s.",
    "unnamed": "بی‌نام",
    "The database stopped the export (%(kind)s).": "پایگاه داده خروجی را متوقف کرد (%(kind)s).",
    "Unexpected error (%(kind)s); the details are in the server log.": "خطای پیش‌بینی‌نشده "
    "(%(kind)s)؛ جزئیات در گزارش کار سرور است.",
    "%(path)s is a file, not a folder.": "%(path)s یک فایل است، نه پوشه.",
    "%(path)s is a file: no folder can be made in it.": "%(path)s یک فایل است: نمی‌توان در آن "
    "پوشه ساخت.",
    "%(path)s cannot be reached: %(why)s.": "دسترسی به %(path)s ممکن نیست: %(why)s.",
    "%(path)s cannot be written: %(why)s.": "نوشتن در %(path)s ممکن نیست: %(why)s.",
    "The export stopped: no sign of life for %(minutes)s minutes (its worker or command was "
    "stopped). Start it again.": "خروجی متوقف شد: %(minutes)s دقیقه هیچ نشانه‌ای از فعالیت "
    "نداشت (پردازشگر یا فرمان آن متوقف شده بود). آن را دوباره آغاز کنید.",
    "No worker took the export within %(minutes)s minutes: check that the Celery worker runs, "
    "then start the export again.": "هیچ پردازشگری در %(minutes)s دقیقه خروجی را بر عهده "
    "نگرفت: بررسی کنید که پردازشگر Celery در حال اجرا باشد، سپس خروجی را دوباره آغاز کنید.",
    "The export could not be handed to a worker (%(kind)s).": "خروجی به پردازشگر سپرده نشد "
    "(%(kind)s).",
}
