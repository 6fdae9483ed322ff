"""Persian for the lead's merge strings: the closed DSMB guard, the export broker failure."""

FA = {
    "The allocation is not shown: this reader may not see the arms.": "تخصیص نشان داده نمی\u200cشود: این خواننده اجازهٔ دیدن بازوها را ندارد.",
    "The background worker could not be reached (broker unreachable).": "پردازشگر پس\u200cزمینه در دسترس نبود (کارگزار پیام پاسخ نمی\u200cدهد).",
}
