"""Persian for the list of one's signed-in sessions (ASVS 3.3.4)."""

FA = {
    "Where you are signed in": "جاهایی که وارد شده‌اید",
    "Each computer or tablet where your account is signed in now. One you do not recognise, or "
    "a ward workstation you forgot: end it here, then change your password.": "هر رایانه یا "
    "تبلتی که حساب شما اکنون در آن وارد است. اگر یکی را نمی‌شناسید، یا رایانهٔ بخشی را فراموش "
    "کرده‌اید: اینجا آن را پایان دهید، سپس گذرواژهٔ خود را تغییر دهید.",
    "Last used": "آخرین استفاده",
    "Browser": "مرورگر",
    "This device": "همین دستگاه",
    "End this session": "پایان دادن به این نشست",
    "Session on another device ended by its user": "نشست دستگاهی دیگر به دست کاربر آن پایان یافت",
    "session key": "کلید نشست",
    "signed in at": "زمان ورود",
    "last used at": "زمان آخرین استفاده",
    "signed-in session": "نشست واردشده",
    "signed-in sessions": "نشست‌های واردشده",
    "That session is not one of yours on another device.": "آن نشست، نشست شما روی دستگاهی دیگر "
    "نیست.",
    "That session has ended; the device must sign in again.": "آن نشست پایان یافت؛ آن دستگاه "
    "باید دوباره وارد شود.",
}
