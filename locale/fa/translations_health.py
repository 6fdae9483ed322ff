"""Persian translations of the health probe's model labels (msgid -> msgstr), applied by locale/fill.py."""

FA = {
    "Celery worker": "پردازشگر پس\u200cزمینه Celery",
    "process": "فرایند",
    "last seen at": "آخرین بار دیده\u200cشده در",
    "heartbeat": "ضربان",
    "heartbeats": "ضربان\u200cها",
}
