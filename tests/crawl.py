"""A crawler for the blinded-role tests: visit every page a user can reach.

Starting from the given paths, it follows every same-site link (`<a href>`, GET forms) it finds
in HTML pages, through the Django test client. It fails on any server error and hands every page
to the leak checks, so a new page is covered as soon as something links to it or a test lists it.

The randomization issue extends `leak_markers` (tests/blinding.py) with the allocation itself.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser, attrfind_tolerant, tagfind_tolerant
from unittest import mock
from urllib.parse import urldefrag, urlsplit

from django.template.base import Template

# Paths never followed: they change state on GET in no app, but are outside the product's pages
# (static files, the IT admin, language switch) or end the session.
SKIP_PREFIXES = ("/static/", "/admin/", "/logout/", "/i18n/", "/media/")

# Query-string variants followed per path: a calendar's "next month" link or a filter's every
# combination is an endless supply of pages that all render the same template. A few variants
# cover the template; the rest would crowd real pages out of the crawl.
QUERY_VARIANTS_PER_PATH = 4


def _link_of(tag: str, attrs: dict) -> str | None:
    """The address a start tag leads to, if it is one the crawl follows."""
    if tag == "a" and attrs.get("href"):
        return attrs["href"]
    if tag == "form" and (attrs.get("method") or "get").lower() == "get":
        return attrs.get("action") or ""
    return attrs.get("hx-get") or None


class _LinkParser(HTMLParser):
    """The links of a page as the standard library's HTML parser reads them: the reference
    `links_of` is proved against (tests/test_participants_phi.py), every page of a crawl."""

    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        link = _link_of(tag, dict(attrs))
        if link is not None:
            self.links.append(link)


def parsed_links(body: str) -> list[str]:
    parser = _LinkParser()
    parser.feed(body)
    return parser.links


# The start tags of a page, in one pass of one regular expression (HTMLParser tokenises in
# Python, a tenth of a crawl's time): comments and the contents of <script> and <style> skipped
# as HTMLParser skips them, quoted attribute values allowed to hold ">".
_ATTRS = r"""((?:[^>"']|"[^"]*"|'[^']*')*)>"""
_TAGS = re.compile(
    r"<!--.*?-->"
    rf"|<(script|style)(?=[\t\n\r\f />]){_ATTRS}.*?</\s*\1\s*>"
    rf"|<([a-zA-Z][^\t\n\r\f />\x00]*){_ATTRS}",
    re.DOTALL | re.IGNORECASE,
)
_HX_GET = re.compile("hx-get", re.IGNORECASE)


def _attributes(body: str, start: int, end: int) -> dict:
    """The attributes of the start tag body[start:end], read by HTMLParser's own expressions
    and unescaped as it does (the last of a repeated name wins, as in its dict)."""
    attrs = {}
    k = tagfind_tolerant.match(body, start + 1).end()
    while k < end:
        m = attrfind_tolerant.match(body, k)
        if not m:
            break
        name, rest, value = m.group(1, 2, 3)
        if not rest:
            value = None
        elif value[:1] == "'" == value[-1:] or value[:1] == '"' == value[-1:]:
            value = value[1:-1]
        if value:
            value = unescape(value)
        attrs[name.lower()] = value
        k = m.end()
    return attrs


def links_of(body: str) -> list[str]:
    """The links the crawl follows on an HTML page (`<a href>`, GET forms' actions, `hx-get`),
    in the page's order: exactly `parsed_links(body)`, found without parsing every tag."""
    links = []
    for m in _TAGS.finditer(body):
        tag = (m.group(1) or m.group(3) or "").lower()
        if not tag:
            continue  # a comment
        attributes = m.group(2) if m.group(1) else m.group(4)
        if tag not in ("a", "form") and not _HX_GET.search(attributes):
            continue
        link = _link_of(tag, _attributes(body, m.start(), m.end()))
        if link is not None:
            links.append(link)
    return links


def _render_unannounced(self, context):
    """Django's own `Template._render`, in place of the test environment's, which sends
    `template_rendered` for every template a request renders (a CRF page: hundreds, one per
    crispy field template) so that the test client can copy each one's context into
    `response.context`: no crawl reads a crawled page's context or templates, and nothing
    else listens to the signal."""
    return self.nodelist.render(context)


@dataclass
class CrawlResult:
    pages: dict[str, int] = field(default_factory=dict)  # path -> status
    bodies: dict[str, str] = field(default_factory=dict)  # path -> HTML/text
    # path -> its Content-Security-Policy header (None when missing), for every page fetched
    policies: dict[str, str | None] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def crawl(
    client,
    *,
    start: list[str],
    max_pages: int = 2000,
    sample: bool = False,
    check_links: bool = False,
) -> CrawlResult:
    """Breadth-first from `start`. Reaching `max_pages` with pages left is an error, unless the
    crawl is a `sample` (the first `max_pages` pages are enough). With `check_links`, each HTML
    page's links are read by HTMLParser too, and a page where the two differ is an error."""
    with mock.patch.object(Template, "_render", _render_unannounced):
        return _crawl(client, start, max_pages, sample, check_links)


def _crawl(client, start, max_pages, sample, check_links) -> CrawlResult:
    result = CrawlResult()
    queue = deque(start)
    seen: set[str] = set(start)
    variants: dict[str, int] = {}
    while queue and len(result.pages) < max_pages:
        path = queue.popleft()
        response = client.get(path)
        result.pages[path] = response.status_code
        result.policies[path] = response.get("Content-Security-Policy")
        if response.status_code >= 500:
            result.errors.append(f"{path} answered {response.status_code}")
            continue
        content_type = response.get("Content-Type", "")
        if response.streaming or not content_type.startswith(("text/", "application/json")):
            continue
        body = response.content.decode(errors="replace")
        result.bodies[path] = body
        if not content_type.startswith("text/html"):
            continue
        links = links_of(body)
        if check_links and links != parsed_links(body):
            result.errors.append(f"{path}: links_of found {links}, HTMLParser {parsed_links(body)}")
        for link in links:
            target = _same_site_path(link, base=path)
            if not target or target in seen or target.startswith(SKIP_PREFIXES):
                continue
            bare, _, query = target.partition("?")
            if query:
                if variants.get(bare, 0) >= QUERY_VARIANTS_PER_PATH:
                    continue
                variants[bare] = variants.get(bare, 0) + 1
            seen.add(target)
            queue.append(target)
    if queue and not sample:
        result.errors.append(f"crawl stopped at {max_pages} pages with {len(queue)} left")
    return result


def _same_site_path(link: str, *, base: str) -> str | None:
    link, _ = urldefrag(link)
    if not link:
        return None
    parts = urlsplit(link)
    if parts.scheme or parts.netloc:
        return None  # another site: not ours to crawl (and offline intranets have none)
    if not parts.path.startswith("/"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")
