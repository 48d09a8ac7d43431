"""Agreement text is stored as plain text with a tiny Markdown-like syntax and turned into safe HTML here.

Everything the user typed is escaped first; only the markup this module writes itself (paragraphs, lists,
emphasis, line breaks) can appear, and nh3 removes anything else as a second line of defence."""

import re

import nh3
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {"p", "ul", "ol", "li", "em", "strong", "br"}
BULLET = re.compile(r"^\s*[-*•]\s+(.*)$")
NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")
STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
EMPHASIS = re.compile(r"\*(?=\S)(.+?)(?<=\S)\*")


def _inline(text: str) -> str:
    html = escape(text)
    html = STRONG.sub(r"<strong>\1</strong>", html)
    return EMPHASIS.sub(r"<em>\1</em>", html)


def _block(lines: list[str]) -> str:
    if all(BULLET.match(line) for line in lines):
        items = "".join(f"<li>{_inline(BULLET.match(line).group(1))}</li>" for line in lines)
        return f"<ul>{items}</ul>"
    if all(NUMBERED.match(line) for line in lines):
        items = "".join(f"<li>{_inline(NUMBERED.match(line).group(1))}</li>" for line in lines)
        return f"<ol>{items}</ol>"
    return "<p>" + "<br>".join(_inline(line.strip()) for line in lines) + "</p>"


def render_text(text: str) -> SafeString:
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line.strip():
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    html = "".join(_block(block) for block in blocks)
    return mark_safe(nh3.clean(html, tags=ALLOWED_TAGS, attributes={}, url_schemes=set()))  # noqa: S308
