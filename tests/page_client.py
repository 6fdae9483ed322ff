"""A test client that posts a form as a browser does: after opening its page.

Since issue 26 every form that edits trial data carries the version of the record it was opened
on (kernel.concurrency), so a post made up in a test must carry it too. `PageClient.post`
opens the page first, when the data do not name a version, and sends the version the page
showed with the data, like a person who opened the form and typed. Modules whose tests post
made-up data to such pages use it as their `client`:

    @pytest.fixture
    def client():
        return PageClient()
"""

from __future__ import annotations

from django.test import Client

from kernel.concurrency import FIELD

from .fuzz_http import form_fields


def version_shown(client: Client, path: str) -> dict:
    """The hidden version field of the page's form, as it is now ({} if the page has none)."""
    response = Client.get(client, path)
    if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
        return {}
    fields = form_fields(response.content.decode(), path)
    return {
        name: field.initial[0]
        for name, field in fields.items()
        if name.endswith(FIELD) and field.initial
    }


class PageClient(Client):
    def post(self, path, data=None, *args, **kwargs):
        if isinstance(data, dict) and not any(str(k).endswith(FIELD) for k in data):
            data = {**version_shown(self, path), **data}
        return super().post(path, data, *args, **kwargs)
