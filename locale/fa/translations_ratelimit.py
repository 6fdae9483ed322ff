"""Persian translations of the issue-17 strings (Redis down, lock-out), applied by locale/fill.py."""

FA = {
    "Sign-in refused: wait after wrong passwords": "ورود رد شد: پس از گذرواژه\u200cهای نادرست باید صبر کرد",
    "Service unreachable: running without it": "سرویس در دسترس نیست: کار بدون آن ادامه دارد",
    "Service reachable again": "سرویس دوباره در دسترس است",
    "counter": "شمارنده",
    "requests": "درخواست\u200cها",
    "window ends": "پایان بازه",
    "rate-limit count": "شمار محدودیت نرخ",
    "rate-limit counts": "شمارهای محدودیت نرخ",
    "Wait before signing in again": "پیش از ورود دوباره صبر کنید",
    "Wrong passwords were given for this account recently, so each new try must wait a little longer. Try again in %(seconds)s second.": "به\u200cتازگی برای این حساب گذرواژه\u200cهای نادرست وارد شده است، بنابراین هر تلاش تازه باید کمی بیشتر صبر کند. %(seconds)s ثانیه دیگر دوباره تلاش کنید.",
    "If these were not your tries, tell your administrator: someone may be guessing your password.": "اگر این تلاش\u200cها از شما نبوده است، به مدیر سامانه خبر دهید: ممکن است کسی در حال حدس زدن گذرواژه شما باشد.",
    "The background worker could not be reached, so the export was not started. Start it again in a few minutes.": "پردازشگر پس\u200cزمینه در دسترس نبود، بنابراین خروجی آغاز نشد. چند دقیقه دیگر دوباره آن را آغاز کنید.",
    "The background worker cannot be reached just now; the report is queued and will be prepared when it is back.": "پردازشگر پس\u200cزمینه اکنون در دسترس نیست؛ گزارش در صف است و هنگامی که دوباره در دسترس باشد آماده می\u200cشود.",
}
