"""Persian for the prepared-reports sweep (retention and interrupted preparations)."""

FA = {
    "Removed after its retention period": "پس از پایان مدت نگهداری حذف شد",
    "The preparation was interrupted; prepare the report again.": "آماده‌سازی قطع شد؛ گزارش را "
    "دوباره آماده کنید.",
    "Prepared PDFs are removed after %(days)s days. Prepare it again for today's data.": "فایل‌های "
    "PDF آماده‌شده پس از %(days)s روز حذف می‌شوند. برای داده‌های امروز آن را دوباره آماده کنید.",
}
