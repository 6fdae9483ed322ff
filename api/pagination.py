from django.conf import settings
from rest_framework.pagination import PageNumberPagination


class ApiPagination(PageNumberPagination):
    """`?page=N&page_size=M`: API_PAGE_SIZE rows a page unless asked, at most API_PAGE_SIZE_MAX."""

    page_size_query_param = "page_size"

    @property
    def page_size(self):  # read at each request, so a setting changed in a test applies
        return settings.API_PAGE_SIZE

    @property
    def max_page_size(self):
        return settings.API_PAGE_SIZE_MAX
