"""Helpers of tests/test_fuzz_http.py: the fields of a page's form (read from its HTML), and
snapshots of the database (every table, and the rows of site 02) to compare before and after a
post."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

from django.apps import apps
from django.db import connection

from kernel.models import Site, User

from .test_fuzz_forms import APPS  # the product's apps, one list for both fuzzers

# Written by a refused request on purpose: the session, django-axes' count of failed password
# re-entries, the security log (a refused rate limit or a wrong password is recorded), the
# failed e-signature attempts (counted towards the sign-out after too many) and an
# authenticator's count of wrong codes (each makes the next try wait: django-otp throttling).
NOISE_TABLES = (
    "django_session",
    "axes_",
    "trialedc_securityevent",
    "datamanagement_signaturefailure",
    "otp_totp_totpdevice",
)


@dataclass
class FormField:
    name: str
    kind: str  # text, hidden, checkbox, radio, select, textarea, file, button, ...
    options: list[str] = field(default_factory=list)
    initial: list[str] = field(default_factory=list)


class _FormParser(HTMLParser):
    """The fields of the POST forms of a page that post to `path` (the page itself)."""

    def __init__(self, path: str):
        super().__init__(convert_charrefs=True)
        self.path = path
        self.fields: dict[str, FormField] = {}
        self.forms = 0  # POST forms posting to the page itself
        self._in_form = False
        self._select: FormField | None = None
        self._option: str | None = None
        self._textarea: FormField | None = None

    def _add(self, name: str, kind: str) -> FormField:
        return self.fields.setdefault(name, FormField(name, kind))

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            action = urlsplit(a.get("action", "")).path
            self._in_form = a.get("method", "").lower() == "post" and action in ("", self.path)
            self.forms += self._in_form
            return
        if not self._in_form or "name" not in a or a["name"] == "csrfmiddlewaretoken":
            if tag == "option" and self._select is not None:
                value = a.get("value", "")
                self._select.options.append(value)
                if "selected" in a:
                    self._select.initial.append(value)
            return
        name = a["name"]
        if tag == "input":
            kind = a.get("type", "text").lower()
            entry = self._add(name, kind)
            value = a.get("value", "on" if kind in ("checkbox", "radio") else "")
            if kind in ("checkbox", "radio"):
                entry.options.append(value)
                if "checked" in a:
                    entry.initial.append(value)
            elif kind not in ("submit", "reset", "image"):
                entry.initial = [value]
                if kind == "hidden" and value not in entry.options:
                    entry.options.append(value)  # e.g. do=lock / do=unlock in two forms
        elif tag == "select":
            self._select = self._add(name, "select-multiple" if "multiple" in a else "select")
        elif tag == "textarea":
            self._textarea = self._add(name, "textarea")
            self._textarea.initial = [""]
        elif tag == "button":
            self._add(name, "button").options.append(a.get("value", ""))

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.initial = [self._textarea.initial[0] + data]

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            if self._textarea is not None and self._textarea.initial[0].startswith("\n"):
                self._textarea.initial = [self._textarea.initial[0][1:]]
            self._textarea = None


def form_fields(html: str, path: str) -> dict[str, FormField]:
    parser = _FormParser(urlsplit(path).path)
    parser.feed(html)
    return parser.fields


def posts_to_itself(html: str, path: str) -> bool:
    """Whether the page has a POST form whose action is the page (or empty)."""
    parser = _FormParser(urlsplit(path).path)
    parser.feed(html)
    return parser.forms > 0


# -- snapshots -------------------------------------------------------------------------------


def _site_path(model, depth: int = 4) -> str | None:
    """The lookup from `model` to its Site through foreign keys (`participant__site`), if any."""
    queue = deque([(model, "")])
    seen = {model}
    while queue:
        current, prefix = queue.popleft()
        for f in current._meta.concrete_fields:
            if not (f.is_relation and (f.many_to_one or f.one_to_one)):
                continue
            path = f"{prefix}{f.name}"
            if f.related_model is Site:
                return path
            if f.related_model not in seen and path.count("__") < depth - 1:
                seen.add(f.related_model)
                queue.append((f.related_model, f"{path}__"))
    return None


def _project_models():
    for model in apps.get_models():
        if model._meta.app_label in APPS and not model._meta.proxy and model._meta.managed:
            yield model


def _hash_of(table: str, where: str = "") -> str:
    qn = connection.ops.quote_name
    return (
        # Table names from the database's own catalogue, quoted; no user input.
        f"SELECT count(*), coalesce(sum(hashtext(t::text)::bigint), 0) FROM {qn(table)} t {where}"  # noqa: S608
    )


class Snapshots:
    """One SQL statement each: a (count, hash) of every table, and of every row of a site."""

    def __init__(self, site: Site):
        qn = connection.ops.quote_name
        tables = sorted(connection.introspection.table_names())
        self.tables = [t for t in tables if not t.startswith(NOISE_TABLES)]
        parts, params = [], []
        for table in self.tables:
            parts.append(f"SELECT %s, * FROM ({_hash_of(table)}) x")  # noqa: S608
            params.append(table)
        self.all_sql, self.all_params = " UNION ALL ".join(parts), params

        parts, params = [], []
        for model in _project_models():
            if model is Site:
                lookup = {"pk": site.pk}
            elif model is User:
                lookup = {"sites": site}
            elif path := _site_path(model):
                lookup = {path: site.pk}
            else:
                continue
            subquery, sub_params = (
                model._base_manager.filter(**lookup).values("pk").query.sql_with_params()
            )
            where = f"WHERE t.{qn(model._meta.pk.column)} IN ({subquery})"
            hashed = _hash_of(model._meta.db_table, where)
            parts.append(f"SELECT %s, * FROM ({hashed}) x")  # noqa: S608
            params += [model._meta.label, *sub_params]
        self.site_sql, self.site_params = " UNION ALL ".join(parts), params

    @staticmethod
    def _run(sql, params) -> dict[str, tuple[int, int]]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return {name: (count, digest) for name, count, digest in cursor.fetchall()}

    def everything(self) -> dict[str, tuple[int, int]]:
        return self._run(self.all_sql, self.all_params)

    def site_rows(self) -> dict[str, tuple[int, int]]:
        return self._run(self.site_sql, self.site_params)


def changed(before: dict, after: dict) -> list[str]:
    return sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )
