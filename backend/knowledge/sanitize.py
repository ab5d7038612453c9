"""Allow-list sanitiser for the rich text of knowledge articles, built on the standard library's HTML parser.

Article bodies are HTML typed by users in the console's editor and shown to every reader, so what is stored is
rebuilt from scratch: only the tags and attributes listed below survive, text is re-escaped, links must be
http(s) or mailto, images must come from our own attachments endpoint. The contents of script-like elements
are dropped with them; other unknown tags are dropped but their text is kept. The output is well-formed
(every element opened is closed). The plain text of the body comes out of the same pass, for search and snippets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser

VOID = frozenset({"br", "img"})
ALLOWED = frozenset({"p", "br", "strong", "em", "u", "ol", "ul", "li", "h2", "h3", "h4", "blockquote",
                     "table", "thead", "tbody", "tr", "th", "td", "a", "img"})
# Dropped together with everything inside them.
DROP_CONTENT = frozenset({"script", "style", "iframe", "object", "noscript", "template", "svg", "math", "textarea",
                          "select", "title", "head", "frameset", "noembed", "noframes", "xmp"})
# Their end starts a new line in the plain text.
BLOCK = frozenset({"p", "br", "li", "h2", "h3", "h4", "blockquote", "tr", "th", "td", "table", "div"})
# Browsers ignore tabs and newlines inside URLs ("java\tscript:"), so the scheme is checked without them.
# An open element of these names ends where the next one of the set starts ("<li>a<li>b"), as in browsers.
IMPLIED_END = {"li": frozenset({"li"}), "p": frozenset({"p"}), "tr": frozenset({"tr", "td", "th"}),
               "td": frozenset({"td", "th"}), "th": frozenset({"td", "th"})}
_URL_NOISE = re.compile(r"[\x00-\x20\x7f]+")
_LINK = re.compile(r"^(https?://[^/]|mailto:)", re.IGNORECASE)
_ATTACHMENT = re.compile(r"^/api/attachments/[A-Za-z0-9_\-][A-Za-z0-9_\-./]*$")
_SPAN = re.compile(r"^[1-9][0-9]?$")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")
_LINES = re.compile(r"\s*\n\s*")
MAX_DEPTH = 64


def safe_link(url: str) -> str | None:
    compact = _URL_NOISE.sub("", url)
    return url.strip() if _LINK.match(compact) else None


def safe_image(src: str) -> str | None:
    src = src.strip()
    if not _ATTACHMENT.match(src) or ".." in src or "//" in src:
        return None
    return src


def _attributes(tag: str, attrs: list[tuple[str, str | None]]) -> str:
    kept: list[tuple[str, str]] = []
    for name, value in attrs:
        if value is None or any(name == k for k, _ in kept):
            continue
        if tag == "a" and name == "href" and (url := safe_link(value)) is not None:
            kept.append(("href", url))
        elif tag == "img" and name == "src" and (src := safe_image(value)) is not None:
            kept.append(("src", src))
        elif tag == "img" and name == "alt":
            kept.append(("alt", value[:200]))
        elif tag in ("th", "td") and name in ("colspan", "rowspan") and _SPAN.match(value):
            kept.append((name, value))
    if tag == "a" and kept:
        kept.append(("rel", "noopener noreferrer nofollow"))
    return "".join(f' {name}="{escape(value, quote=True)}"' for name, value in kept)


@dataclass
class Sanitised:
    html: str
    text: str  # plain text, one line per block
    has_media: bool = False  # at least one image survived


class _Sanitiser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.text: list[str] = []
        self.open: list[str] = []
        self.dropping: list[str] = []  # the DROP_CONTENT elements we are inside
        self.has_media = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.dropping or tag in DROP_CONTENT:
            if tag in DROP_CONTENT:
                self.dropping.append(tag)
            return
        if tag in BLOCK:
            self.text.append("\n")
        if tag not in ALLOWED:
            return
        rendered = _attributes(tag, attrs)
        if tag == "img":
            if " src=" not in rendered:
                return  # an image from elsewhere is not kept as an empty frame
            self.has_media = True
        if tag in VOID:
            self.out.append(f"<{tag}{rendered}>")
            return
        while self.open and self.open[-1] in IMPLIED_END.get(tag, ()):
            self.out.append(f"</{self.open.pop()}>")
        if len(self.open) >= MAX_DEPTH:
            return
        self.open.append(tag)
        self.out.append(f"<{tag}{rendered}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROP_CONTENT:
            return  # "<script/>": nothing inside to drop
        self.handle_starttag(tag, attrs)
        if tag not in VOID and tag in ALLOWED:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.dropping:
            if tag in self.dropping:
                while self.dropping.pop() != tag:
                    pass
            return
        if tag in BLOCK:
            self.text.append("\n")
        if tag in VOID or tag not in self.open:
            return
        while self.open:
            top = self.open.pop()
            self.out.append(f"</{top}>")
            if top == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.dropping:
            return
        self.out.append(escape(data, quote=False))
        self.text.append(data)

    def result(self) -> Sanitised:
        self.close()
        while self.open:
            self.out.append(f"</{self.open.pop()}>")
        text = _LINES.sub("\n", _SPACES.sub(" ", "".join(self.text))).strip()
        return Sanitised(html="".join(self.out).strip(), text=text, has_media=self.has_media)


def sanitise(html: str) -> Sanitised:
    """The allow-listed form of ``html`` and its plain text. Pure CPU: call it in a thread for long bodies."""
    parser = _Sanitiser()
    parser.feed(html)
    return parser.result()
