"""Persian translations of the edit-conflict strings (issue 26: no lost updates), msgid -> msgstr,
applied by locale/fill.py."""

FA = {
    "CRF version verified": "نسخه CRF تأییدشده",
    "your step was not taken": "اقدام شما انجام نشد",
    "nothing was marked verified": "هیچ موردی تأییدشده علامت نخورد",
    "nothing was signed": "چیزی امضا نشد",
    "nothing was recorded": "چیزی ثبت نشد",
    "nothing was confirmed": "چیزی تأیید نشد",
    "your form was not recorded": "فرم شما ثبت نشد",
    "Saved by someone else while you were editing: choose what to keep": (
        "در حین ویرایش شما، فرد دیگری آن را ذخیره کرد: انتخاب کنید چه چیزی بماند"
    ),
    "Changed by someone else since you opened this page": (
        "از زمانی که این صفحه را باز کردید، فرد دیگری آن را تغییر داده است"
    ),
    "When you opened it": "هنگام باز کردن شما",
    "Saved since": "ذخیره‌شده پس از آن",
    "Yours": "مقدار شما",
    "Keep": "نگه داشتن",
    "Not changed by the other person, but checked together with %(fields)s, which was.": (
        "فرد دیگر این را تغییر نداده، اما همراه با %(fields)s بررسی می‌شود که تغییر کرده است."
    ),
    "unknown": "نامعلوم",
    "reason": "دلیل",
    "Keep which value of %(field)s?": "کدام مقدار %(field)s بماند؟",
    "Yours: %(value)s": "مقدار شما: %(value)s",
    "As saved: %(value)s": "مقدار ذخیره‌شده: %(value)s",
    "The button you press decides.": "دکمه‌ای که می‌زنید تعیین می‌کند.",
    "changed since you opened this page": "پس از باز کردن این صفحه تغییر کرده است",
    "What you typed (not recorded)": "آنچه شما وارد کردید (ثبت نشده)",
    "the system": "سامانه",
    "This form does not say which version of the %(record)s it was opened on (an old page, "
    "or an altered one), so nothing was saved. The fields below differ from the record as it "
    "is now: choose for each which value to keep, and save again.": (
        "این فرم نشان نمی‌دهد بر روی کدام نسخه از %(record)s باز شده است (صفحه‌ای قدیمی یا "
        "دست‌کاری‌شده)، بنابراین چیزی ذخیره نشد. فیلدهای زیر با رکورد کنونی تفاوت دارند: برای "
        "هر یک انتخاب کنید کدام مقدار بماند و دوباره ذخیره کنید."
    ),
    "someone": "فردی",
    "%(who)s saved this %(record)s after you opened it (last at %(when)s). Nothing was saved: "
    "your values are kept below. For each field listed, choose which value to keep, then save "
    "again with your reason.": (
        "%(who)s پس از باز کردن شما این %(record)s را ذخیره کرد (آخرین بار در %(when)s). چیزی "
        "ذخیره نشد: مقادیر شما در زیر نگه داشته شده است. برای هر فیلد فهرست‌شده انتخاب کنید "
        "کدام مقدار بماند، سپس با ذکر دلیل خود دوباره ذخیره کنید."
    ),
    "The data changed after you opened this page (%(who)s): %(action)s. Look at what changed, "
    "below, and do it again if it still holds.": (
        "داده‌ها پس از باز کردن این صفحه تغییر کرده‌اند (%(who)s): %(action)s. تغییرات را در "
        "زیر ببینید و اگر هنوز درست است، دوباره انجام دهید."
    ),
    "nothing was done": "کاری انجام نشد",
    "nothing was saved: your correction would void the confirmation given since": (
        "چیزی ذخیره نشد: اصلاح شما تأییدی را که پس از آن داده شده باطل می‌کرد"
    ),
    "nothing was saved: your change would void the causality signature given since": (
        "چیزی ذخیره نشد: تغییر شما امضای ارزیابی علیت را که پس از آن داده شده باطل می‌کرد"
    ),
    "This page does not say which version of the data it was opened on (an old page, or an "
    "altered one): %(action)s. Look at the data as they are now, below, and do it again if it "
    "still holds.": (
        "این صفحه نشان نمی‌دهد بر روی کدام نسخه از داده‌ها باز شده است (صفحه‌ای قدیمی یا "
        "دست‌کاری‌شده): %(action)s. داده‌ها را همان‌طور که اکنون هستند در زیر ببینید و اگر هنوز "
        "درست است، دوباره انجام دهید."
    ),
    "Choose which value of “%(field)s” to keep: yours or the one saved.": (
        "انتخاب کنید کدام مقدار «%(field)s» بماند: مقدار شما یا مقدار ذخیره‌شده."
    ),
}
