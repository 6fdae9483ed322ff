"""Persian translations of the CRF form help texts and the trial configuration's CRF names and
clinical-status scale (msgid -> msgstr), applied by locale/fill.py."""

FA = {
    "I have checked these values and confirm them": "این مقادیر را بررسی کرده‌ام و تأیید می‌کنم",
    "Protocol: %(ml)s ml.": "طبق پروتکل: %(ml)s ml.",
    "Ventilated patients only; leave empty if not.": (
        "فقط برای بیماران تحت تهویه مکانیکی؛ در غیر این صورت خالی بگذارید."
    ),
    "When available.": "در صورت در دسترس بودن.",
    "Unit": "واحد",
    "Stored in mg/L; mg/dL is multiplied by 10.": "به mg/L ذخیره می‌شود؛ مقدار mg/dL در ۱۰ ضرب می‌شود.",
    "Leave empty while the stay is ongoing.": "تا زمانی که بستری ادامه دارد خالی بگذارید.",
    "Clinical status (6-point ordinal scale)": "وضعیت بالینی (مقیاس ترتیبی ۶ درجه‌ای)",
    "Hospitalized, no supplemental oxygen": "بستری، بدون اکسیژن کمکی",
    "Hospitalized, supplemental oxygen": "بستری، با اکسیژن کمکی",
    "Non-invasive ventilation or high-flow oxygen": "تهویه غیرتهاجمی یا اکسیژن با جریان بالا",
    "Invasive mechanical ventilation or ECMO": "تهویه مکانیکی تهاجمی یا ECMO",
}
