"""Persian translations of the prepared-report and e-signature-attempt strings (msgid -> msgstr),
applied by locale/fill.py."""

FA = {
    "PDF": "PDF",
    "CRF %(crf)s [%(code)s], visit %(visit)s": "فرم %(crf)s [%(code)s]، ویزیت %(visit)s",
    "valid": "معتبر",
    "Electronically signed by %(name)s on %(at)s (UTC); meaning: %(meaning)s — %(status)s": (
        "امضای الکترونیکی %(name)s در %(at)s (UTC)؛ معنا: %(meaning)s — %(status)s"
    ),
    "No electronic signature has been given on this casebook.": (
        "هنوز هیچ امضای الکترونیکی برای این پرونده ثبت نشده است."
    ),
    "Every change after the first save carries a reason (21 CFR 11.10(e)); the full trail of each "
    "record is on its audit page in the EDC.": (
        "هر تغییر پس از نخستین ذخیره دلیلی همراه دارد (21 CFR 11.10(e))؛ سابقه ممیزی کامل هر رکورد "
        "در صفحه ممیزی همان رکورد در سامانه است."
    ),
    "Enter the study ID of the participant whose casebook to print.": (
        "کد مطالعه شرکت‌کننده‌ای را که پرونده‌اش باید چاپ شود وارد کنید."
    ),
    "%(n)s wrong passwords in a row were entered to sign as %(who)s (user name %(username)s) in "
    "%(trial)s.": (
        "%(n)s بار پشت سر هم گذرواژه نادرست برای امضا به نام %(who)s (نام کاربری %(username)s) در "
        "%(trial)s وارد شد."
    ),
    "Last attempt: %(at)s (UTC), casebook %(study_id)s, site %(site)s.": (
        "آخرین تلاش: %(at)s (UTC)، پرونده %(study_id)s، مرکز %(site)s."
    ),
    "The user was signed out. If the user did not make these attempts, someone may be trying to "
    "use their signature: contact the user and deactivate the account if needed.": (
        "کاربر از سامانه خارج شد. اگر این تلاش‌ها از سوی خود کاربر نبوده، ممکن است کسی در حال "
        "استفاده از امضای او باشد: با کاربر تماس بگیرید و در صورت نیاز حساب را غیرفعال کنید."
    ),
    "Reported under 21 CFR 11.300(d).": "گزارش‌شده بر پایه 21 CFR 11.300(d).",
    "%(trial)s security: %(n)s failed e-signature attempts by %(username)s": (
        "امنیت %(trial)s: %(n)s تلاش ناموفق امضای الکترونیکی از سوی %(username)s"
    ),
    "The PDF is being prepared. This page updates itself; the download link appears here when it "
    "is ready.": (
        "فایل PDF در حال آماده‌سازی است. این صفحه خودبه‌خود به‌روز می‌شود و پیوند دریافت، پس از آماده "
        "شدن، همین‌جا نمایش داده می‌شود."
    ),
    "Refresh this page": "تازه‌سازی این صفحه",
}
