"""A crawler for the blinded-role tests: visit every page a user can reach.

Starting from the given paths, it follows every same-site link (`<a href>`, GET forms) it finds
in HTML pages, through the Django test client. It fails on any server error and hands every page
to the leak checks, so a new page is covered as soon as something links to it or a test lists it.

The randomization issue extends `leak_markers` (tests/blinding.py) with the allocation itself.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

# Paths never followed: they change state on GET in no app, but are outside the product's pages
# (static files, the IT admin, language switch) or end the session.
SKIP_PREFIXES = ("/static/", "/admin/", "/logout/", "/i18n/", "/media/")

# Query-string variants followed per path: a calendar's "next month" link or a filter's every
# combination is an endless supply of pages that all render the same template. A few variants
# cover the template; the rest would crowd real pages out of the crawl.
QUERY_VARIANTS_PER_PATH = 4


class _LinkParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        elif tag == "form" and (attrs.get("method") or "get").lower() == "get":
            self.links.append(attrs.get("action") or "")
        elif attrs.get("hx-get"):
            self.links.append(attrs["hx-get"])


@dataclass
class CrawlResult:
    pages: dict[str, int] = field(default_factory=dict)  # path -> status
    bodies: dict[str, str] = field(default_factory=dict)  # path -> HTML/text
    # path -> its Content-Security-Policy header (None when missing), for every page fetched
    policies: dict[str, str | None] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def crawl(client, *, start: list[str], max_pages: int = 2000, sample: bool = False) -> CrawlResult:
    """Breadth-first from `start`. Reaching `max_pages` with pages left is an error, unless the
    crawl is a `sample` (the first `max_pages` pages are enough)."""
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
        parser = _LinkParser()
        parser.feed(body)
        for link in parser.links:
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
