"""Content negotiation for ``provides()`` in show and list functions.

A show or list function may call ``provides("html", make_page)`` once per
format; the format named by ``?format=`` or best matching the Accept header
wins and its function (called without arguments) makes the response.
"""

DEFAULT_TYPES = {
    "all": ["*/*"],
    "text": ["text/plain; charset=utf-8", "txt"],
    "html": ["text/html; charset=utf-8"],
    "xhtml": ["application/xhtml+xml", "xhtml"],
    "xml": ["application/xml", "text/xml", "application/x-xml"],
    "js": ["text/javascript", "application/javascript", "application/x-javascript"],
    "css": ["text/css"],
    "ics": ["text/calendar"],
    "csv": ["text/csv"],
    "rss": ["application/rss+xml"],
    "atom": ["application/atom+xml"],
    "yaml": ["application/x-yaml", "text/yaml"],
    "multipart_form": ["multipart/form-data"],
    "url_encoded_form": ["application/x-www-form-urlencoded"],
    "json": ["application/json", "text/x-json"],
}


def parse_accept(header: str) -> list[tuple[str, str, float]]:
    """``text/html;q=0.5, */*`` → ``[("text", "html", 0.5), ("*", "*", 1.0)]``."""
    ranges = []
    for item in header.split(","):
        fields = [field.strip() for field in item.split(";")]
        kind, _, subtype = fields[0].partition("/")
        quality = 1.0
        for param in fields[1:]:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if kind:
            ranges.append((kind.strip(), (subtype or "*").strip(), quality))
    return ranges


def best_match(supported: list[str], header: str) -> str | None:
    """The supported mime type the Accept ``header`` likes best, if any."""
    ranges = parse_accept(header)
    best, best_score = None, (0.0, -1)
    for mime in supported:
        score = _fitness(mime, ranges)
        if score[0] > 0 and score > best_score:
            best, best_score = mime, score
    return best


def _fitness(mime: str, ranges) -> tuple[float, int]:
    """Quality of the most specific Accept range that covers ``mime``."""
    kind, _, subtype = mime.split(";")[0].strip().partition("/")
    best = (0.0, -1)
    for want_kind, want_subtype, quality in ranges:
        if want_kind not in ("*", kind) or want_subtype not in ("*", subtype):
            continue
        specificity = (want_kind == kind) + (want_subtype == subtype)
        if specificity > best[1]:
            best = (quality, specificity)
    return best
