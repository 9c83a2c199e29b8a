"""Turn response bytes into text without losing Chinese characters.

Order of evidence (the HTML standard's, plus detection for pages that declare nothing):

1. a byte-order mark;
2. the `charset` parameter of the Content-Type header (the transport wins over the document);
3. for HTML, `<meta charset>` / `<meta http-equiv content="...; charset=...">` in the first 4 KB,
   and for XML, the `encoding` of the XML declaration;
4. bytes that are valid UTF-8 are UTF-8 (a GBK page practically never is);
5. charset_normalizer's best guess;
6. UTF-8 with replacement characters.

GB2312 and GBK labels are read as GB18030, their superset: MOE pages declared GB2312 do use
characters that only GBK has, and a strict GB2312 decoder would turn them into garbage.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

FALLBACK = "utf-8"
META_SCAN_BYTES = 4096

# Labels whose real-world meaning is a superset codec (WHATWG Encoding Standard, with GB18030
# standing in for GBK because Python's gbk codec lacks the four-byte sequences).
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "windows-936": "gb18030",
    "euc-cn": "gb18030",
    "csgb2312": "gb18030",
    "gb_2312-80": "gb18030",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "iso8859-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "big5": "big5hkscs",
    "shift_jis": "cp932",
    "euc-kr": "cp949",
}

_BOMS = (
    # UTF-32 first: its little-endian BOM starts with UTF-16's.
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([^\s"';,]+)""", re.IGNORECASE)
# One pattern covers `<meta charset="gbk">` and `<meta http-equiv=... content="text/html; charset=gbk">`
# in either attribute order.
_META_CHARSET = re.compile(rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:\-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml\b[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:\-]+)["']""")


def normalize_charset(label: str | None) -> str | None:
    """Map a declared label to the Python codec we decode it with, or None if it is unknown."""
    if not label:
        return None
    cleaned = label.strip().strip("\"'").lower()
    if not cleaned:
        return None
    chosen = _SUPERSETS.get(cleaned, cleaned)
    try:
        info = codecs.lookup(chosen)
    except LookupError:
        return None
    # codecs.lookup accepts aliases (`gbk` -> `gbk`, `GB2312` -> `gb2312`): map the canonical name
    # again so every spelling of a subset label lands on its superset.
    return _SUPERSETS.get(info.name, info.name) if chosen == cleaned else chosen


def charset_from_content_type(content_type: str | None) -> str | None:
    """The codec named by a Content-Type header's charset parameter, if it names a real one."""
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return normalize_charset(match.group(1)) if match else None


def _looks_like_html(head: bytes, content_type: str | None) -> bool:
    if content_type:
        media = content_type.split(";", 1)[0].strip().lower()
        if "html" in media:
            return True
        if media and media not in ("text/plain", "application/octet-stream"):
            return False
    lowered = head[:1024].lstrip().lower()
    return lowered.startswith((b"<!doctype html", b"<html")) or b"<meta" in head.lower()


def charset_from_document(data: bytes, content_type: str | None = None) -> str | None:
    """The codec an HTML `<meta>` or an XML declaration in the first 4 KB names."""
    head = data[:META_SCAN_BYTES]
    xml = _XML_ENCODING.match(head)
    if xml:
        found = normalize_charset(xml.group(1).decode("ascii"))
        if found:
            return found
    if not _looks_like_html(head, content_type):
        return None
    meta = _META_CHARSET.search(head)
    if not meta:
        return None
    found = normalize_charset(meta.group(1).decode("ascii"))
    # A meta we could read with ASCII cannot be telling the truth about UTF-16 (HTML standard).
    if found and found.startswith("utf-16"):
        return "utf-8"
    return found


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def detect_charset(data: bytes, content_type: str | None = None) -> str:
    """Name of the codec `data` should be decoded with (always one Python knows)."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    declared = charset_from_content_type(content_type) or charset_from_document(data, content_type)
    if declared:
        return declared
    if _is_utf8(data):
        return "utf-8"
    best = from_bytes(data).best()
    if best is not None:
        guessed = normalize_charset(best.encoding)
        if guessed:
            return guessed
    return FALLBACK


def decode_body(data: bytes, content_type: str | None = None) -> str:
    """Decode a response body; never raises, undecodable bytes become U+FFFD."""
    return data.decode(detect_charset(data, content_type), errors="replace")
