"""Persian for two-factor sign-in (issue 12). Terms: ورود دومرحله‌ای (two-factor sign-in),
برنامهٔ احراز هویت (authenticator app), کد پشتیبان (backup code), گذرواژه (password),
سابقهٔ امنیتی as in translations_security (سابقه امنیتی)."""

FA = {
    "These users' authenticator apps and backup codes will be removed; where their role needs "
    "two-factor sign-in they set up a new one at their next sign-in. Check who is asking before "
    "you do this: a reset on a phone call is how accounts are stolen.": "برنامه‌های احراز هویت و "
    "کدهای پشتیبان این کاربران حذف می‌شود؛ اگر نقششان ورود دومرحله‌ای لازم دارد، در ورود بعدی "
    "آن را دوباره راه‌اندازی می‌کنند. پیش از این کار مطمئن شوید چه کسی درخواست کرده است: "
    "بازنشانی با یک تماس تلفنی راه رایج سرقت حساب‌هاست.",
    "Reset two-factor sign-in": "بازنشانی ورود دومرحله‌ای",
    "Two-factor sign-in: on": "ورود دومرحله‌ای: فعال",
    "Set up two-factor sign-in (a code from your phone at each sign-in)": "راه‌اندازی ورود "
    "دومرحله‌ای (در هر ورود، کدی از تلفن شما)",
    "After database lock, the data manager and the statistician each confirm, separately, with "
    "their password (and a code from their phone where two-factor sign-in is on). Only then may "
    "sponsor exports carry the arm.": "پس از قفل پایگاه داده، مدیر داده و آماردان هر کدام جداگانه "
    "با گذرواژهٔ خود (و اگر ورود دومرحله‌ای فعال است، با کدی از تلفن خود) تأیید می‌کنند. تنها پس "
    "از آن خروجی‌های حامی می‌توانند گروه درمانی را در بر داشته باشند.",
    "Your backup codes": "کدهای پشتیبان شما",
    "Each code signs you in once when your phone is not at hand. Print them or write them down "
    "and keep them apart from your phone: they are shown only now.": "هر کد یک بار، وقتی تلفنتان "
    "در دسترس نیست، شما را وارد می‌کند. آن‌ها را چاپ کنید یا یادداشت کنید و جدا از تلفن نگه "
    "دارید: فقط همین حالا نمایش داده می‌شوند.",
    "Your earlier backup codes no longer work.": "کدهای پشتیبان قبلی شما دیگر کار نمی‌کنند.",
    "I have kept them: continue": "آن‌ها را نگه داشتم: ادامه",
    "Set up two-factor sign-in": "راه‌اندازی ورود دومرحله‌ای",
    "Your role needs a second factor: each sign-in asks your password and a code from your "
    "phone. Set it up now; nothing else opens until it is done.": "نقش شما به مرحلهٔ دوم ورود "
    "نیاز دارد: هر ورود، گذرواژه و کدی از تلفن شما را می‌خواهد. اکنون آن را راه‌اندازی کنید؛ تا "
    "انجام نشود، صفحهٔ دیگری باز نمی‌شود.",
    "With a second factor, a stolen password alone cannot open your account: each sign-in also "
    "asks a code from your phone.": "با مرحلهٔ دوم، گذرواژهٔ دزدیده‌شده به‌تنهایی حساب شما را "
    "باز نمی‌کند: هر ورود کدی از تلفن شما هم می‌خواهد.",
    "Install an authenticator app on your phone if you have none (for example FreeOTP, Aegis, "
    "Google Authenticator or Microsoft Authenticator).": "اگر برنامهٔ احراز هویت ندارید، یکی روی "
    "تلفن خود نصب کنید (برای نمونه FreeOTP، Aegis، Google Authenticator یا Microsoft "
    "Authenticator).",
    "In the app, add an account and scan this code:": "در برنامه، یک حساب اضافه کنید و این کد را "
    "اسکن کنید:",
    "QR code of the key for your authenticator app": "کد QR کلید برای برنامهٔ احراز هویت شما",
    "Or type this key by hand (time-based, six digits):": "یا این کلید را دستی وارد کنید "
    "(زمان‌محور، شش رقمی):",
    "Type the code the app now shows, to show it works:": "کدی را که برنامه اکنون نشان می‌دهد "
    "وارد کنید تا درستی کار آن معلوم شود:",
    "Turn on two-factor sign-in": "فعال کردن ورود دومرحله‌ای",
    "Then you get ten backup codes for the day your phone is not at hand. No phone? Ask the EDC "
    "administrator.": "سپس ده کد پشتیبان برای روزی که تلفنتان در دسترس نیست دریافت می‌کنید. "
    "تلفن ندارید؟ از مدیر سامانه بپرسید.",
    "Two-factor sign-in": "ورود دومرحله‌ای",
    "On since %(since)s: each sign-in asks your password and a code from your authenticator "
    "app.": "فعال از %(since)s: هر ورود گذرواژه و کدی از برنامهٔ احراز هویت شما را می‌خواهد.",
    "Authenticator app last used": "آخرین استفاده از برنامهٔ احراز هویت",
    "Backup codes left": "کدهای پشتیبان باقی‌مانده",
    "Make new backup codes": "ساختن کدهای پشتیبان تازه",
    "Turn two-factor sign-in off": "غیرفعال کردن ورود دومرحله‌ای",
    "Your role needs two-factor sign-in, so it cannot be turned off here. For a new phone, ask "
    "the EDC administrator to reset it; you then set it up again.": "نقش شما به ورود دومرحله‌ای "
    "نیاز دارد، پس اینجا نمی‌توان آن را غیرفعال کرد. برای تلفن تازه، از مدیر سامانه بخواهید آن "
    "را بازنشانی کند؛ سپس دوباره راه‌اندازی‌اش می‌کنید.",
    "Back to your preferences": "بازگشت به تنظیمات شما",
    "Second step of signing in": "مرحلهٔ دوم ورود",
    "Signed in as %(name)s with your password. Now type the code your authenticator app "
    "shows.": "با گذرواژه به‌عنوان %(name)s وارد شدید. اکنون کدی را که برنامهٔ احراز هویت شما "
    "نشان می‌دهد وارد کنید.",
    "Phone not at hand? Type one of your backup codes instead. Lost your phone and your codes? "
    "Ask the EDC administrator to reset your two-factor sign-in.": "تلفن در دسترس نیست؟ به جای "
    "آن یکی از کدهای پشتیبان را وارد کنید. تلفن و کدها را گم کرده‌اید؟ از مدیر سامانه بخواهید "
    "ورود دومرحله‌ای شما را بازنشانی کند.",
    "For example: phone lost, reported by the user in person on the ward. Kept in the security "
    "log.": "برای نمونه: تلفن گم شده و کاربر حضوری در بخش گزارش داده است. در سابقه امنیتی نگه "
    "داشته می‌شود.",
    "Reset two-factor sign-in (lost phone)": "بازنشانی ورود دومرحله‌ای (تلفن گم‌شده)",
    "Two-factor sign-in reset for %(n)d user; it is in the security log.": "ورود دومرحله‌ای "
    "برای %(n)d کاربر بازنشانی شد؛ در سابقه امنیتی ثبت است.",
    "Code": "کد",
    "The six digits your authenticator app shows now, or a backup code.": "شش رقمی که برنامهٔ "
    "احراز هویت شما اکنون نشان می‌دهد، یا یک کد پشتیبان.",
    "Type the code your authenticator app shows.": "کدی را که برنامهٔ احراز هویت شما نشان "
    "می‌دهد وارد کنید.",
    "Code from your authenticator app": "کد برنامهٔ احراز هویت شما",
    "Or one of your backup codes.": "یا یکی از کدهای پشتیبان شما.",
    "Two-factor sign-in set up": "ورود دومرحله‌ای راه‌اندازی شد",
    "Second factor accepted": "مرحلهٔ دوم پذیرفته شد",
    "Second factor refused": "مرحلهٔ دوم رد شد",
    "New backup codes made": "کدهای پشتیبان تازه ساخته شد",
    "Two-factor sign-in turned off": "ورود دومرحله‌ای غیرفعال شد",
    "Two-factor sign-in reset by an administrator": "ورود دومرحله‌ای به دست مدیر سامانه بازنشانی شد",
    "backup codes": "کدهای پشتیبان",
    "Too many wrong codes: wait %(seconds)s seconds, then try again.": "کد نادرست بیش از حد: "
    "%(seconds)s ثانیه صبر کنید، سپس دوباره امتحان کنید.",
    "This code is not right. Type the six digits your app shows now, or a backup code.": "این "
    "کد درست نیست. شش رقمی را که برنامه اکنون نشان می‌دهد، یا یک کد پشتیبان، وارد کنید.",
    "Your role needs two-factor sign-in; it cannot be turned off.": "نقش شما به ورود دومرحله‌ای "
    "نیاز دارد؛ نمی‌توان آن را غیرفعال کرد.",
    "The six digits your app shows once it has the key.": "شش رقمی که برنامه پس از گرفتن کلید "
    "نشان می‌دهد.",
    "Two-factor sign-in is on.": "ورود دومرحله‌ای فعال است.",
    "This code is not right. Check that the app shows this account, that the phone's clock is "
    "right, and type the six digits it shows now.": "این کد درست نیست. بررسی کنید که برنامه همین "
    "حساب را نشان دهد و ساعت تلفن درست باشد، سپس شش رقمی را که اکنون نشان می‌دهد وارد کنید.",
    "Two-factor sign-in is off.": "ورود دومرحله‌ای غیرفعال است.",
    "You signed in with a backup code; %(n)s are left. Make new ones under Your preferences if "
    "you are running out.": "با یک کد پشتیبان وارد شدید؛ %(n)s کد باقی مانده است. اگر رو به "
    "پایان است، در «تنظیمات شما» کدهای تازه بسازید.",
    # E-mails to the user when their sign-in details change (trialedc.services).
    "Your password was changed": "گذرواژهٔ شما تغییر کرد",
    "Two-factor sign-in was set up": "ورود دومرحله‌ای راه‌اندازی شد",
    "New backup codes were made": "کدهای پشتیبان تازه ساخته شد",
    "Two-factor sign-in was turned off": "ورود دومرحله‌ای غیرفعال شد",
    "Your two-factor sign-in was reset by an administrator": "ورود دومرحله‌ای شما به دست مدیر "
    "سامانه بازنشانی شد",
    "%(what)s for your %(trial)s EDC account %(user)s, at %(at)s from the address "
    "%(address)s.": "%(what)s — حساب %(user)s شما در سامانهٔ %(trial)s، در %(at)s از نشانی "
    "%(address)s.",
    "If this was you, there is nothing to do. If it was not, tell the data manager or the EDC "
    "administrator at once: someone may be using your account.": "اگر این کار را خودتان کرده‌اید، "
    "کاری لازم نیست. اگر نه، همین حالا به مدیر داده یا مدیر سامانه خبر دهید: ممکن است کسی از "
    "حساب شما استفاده کند.",
    "[%(trial)s EDC] %(what)s": "[%(trial)s EDC] %(what)s",
}
