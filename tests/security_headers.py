"""The response headers every page must carry (issue 12, docs/security.md).

One check, shared by the role × URL matrix and the crawls: they already fetch every page, so the
headers are checked on the responses they have rather than by another crawl.
"""

import re

# The directives the CSP must hold, exactly (trialedc/settings.py CONTENT_SECURITY_POLICY).
REQUIRED_DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


def csp_problems(policy: str | None) -> list[str]:
    """What is wrong with a Content-Security-Policy header value; empty when it is strict."""
    if not policy:
        return ["no Content-Security-Policy header"]
    problems = []
    sources = set(re.split(r"[\s;]+", policy))
    for unsafe in ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "http:", "https:", "*"):
        if unsafe in sources:
            problems.append(f"the policy allows {unsafe}")
    directives = {}
    for part in policy.split(";"):
        name, _, value = part.strip().partition(" ")
        directives[name] = value.strip()
    for name, value in REQUIRED_DIRECTIVES.items():
        if directives.get(name) != value:
            problems.append(f"{name} is {directives.get(name)!r}, not {value!r}")
    return problems
