"""Turn response bytes into text without losing Chinese characters.

Order of evidence (the HTML standard's, plus detection for pages that declare nothing):

1. a byte-order mark;
2. the `charset` parameter of the Content-Type header (the transport wins over the document);
3. for HTML, `<meta charset>` / `<meta http-equiv content="...; charset=...">` in the first 4 KB,
   and for XML, the `encoding` of the XML declaration;
4. bytes that are valid UTF-8 are UTF-8 (a GBK page practically never is);
5. charset_normalizer's best guess;
6. UTF-8 with replacement characters.

Files an analyst drops are held to a stricter rule (`decode_file_text`): a guess that could be
wrong is refused with the reason, since a wrong guess loads garbage that looks like data.

GB2312 and GBK labels are read as GB18030, their superset: MOE pages declared GB2312 do use
characters that only GBK has, and a strict GB2312 decoder would turn them into garbage.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from eduopen.core.errors import ParseError

FALLBACK = "utf-8"
META_SCAN_BYTES = 4096
# What a spreadsheet saved as "CSV" without a BOM is in when it is not UTF-8: Excel on Chinese
# Windows writes GBK (read as its superset GB18030), on Western Windows Windows-1252.
LEGACY_FILE_ENCODINGS = ("gb18030", "cp1252")
# charset_normalizer's mess ratio: the share of characters that do not belong in real text.
MAX_FILE_CHAOS = 0.1
# Below this gap in mess ratio two readings are equally plausible and the bytes decide, or nobody.
MIN_CHAOS_GAP = 0.02

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


class UndecodableText(ParseError):
    """Bytes no accepted encoding reads with confidence; the message says why."""


_HIGH_RUN = re.compile(rb"[\x80-\xff]+")
# GB2312's Chinese characters (the ones in use): lead byte B0-F7, trail byte A1-FE.
_GB2312_HANZI = re.compile(rb"(?:[\xb0-\xf7][\xa1-\xfe])+")


def _byte_evidence(data: bytes) -> str | None:
    """GB18030 or Windows-1252, from how the non-ASCII bytes sit among the ASCII ones, or None.

    GBK writes a Chinese character as two bytes of 0x81 and above, so its non-ASCII runs are pairs;
    Windows-1252 writes an accented letter as one byte between ASCII letters (`Côte`, `Curaçao`).
    Read the other way, `Côte` is a Chinese character glued to `te` and `韩国` is `º«¹ú`.
    """
    gbk = cp1252 = 0
    for run in _HIGH_RUN.finditer(data):
        chunk = run.group(0)
        if len(chunk) % 2:
            cp1252 += 1
        elif _GB2312_HANZI.fullmatch(chunk):
            gbk += 1
    if gbk and not cp1252:
        return "gb18030"
    if cp1252 and not gbk:
        return "cp1252"
    return None


def decode_file_text(data: bytes) -> tuple[str, str]:
    """(text, codec) of a dropped text file, or UndecodableText saying why it cannot be read.

    A byte-order mark decides (UTF-8, UTF-16 as Excel's "Unicode text", UTF-32); else valid UTF-8
    is UTF-8; else GB18030 or Windows-1252, when charset_normalizer or the bytes themselves tell
    them apart. Nothing is decoded with replacement characters.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec), codec
            except UnicodeDecodeError as exc:
                raise UndecodableText(f"damaged {_label(codec)} text ({exc.reason} at byte {exc.start})") from exc
    if b"\x00" in data[:8192]:
        raise UndecodableText(
            "binary file (NUL bytes), neither CSV text nor a workbook; UTF-16 text needs its byte-order mark"
        )
    if _is_utf8(data):
        return data.decode("utf-8"), "utf-8"
    readings = sorted(
        (match.chaos, match.encoding)
        for match in from_bytes(data, cp_isolation=list(LEGACY_FILE_ENCODINGS), threshold=MAX_FILE_CHAOS)
        if match.encoding in LEGACY_FILE_ENCODINGS
    )
    accepted = " or ".join(_label(codec) for codec in ("utf-8", *LEGACY_FILE_ENCODINGS))
    if not readings:
        raise UndecodableText(f"not {accepted} text that reads cleanly; save it as UTF-8 and drop it again")
    codec = readings[0][1]
    if len(readings) > 1 and readings[1][0] - readings[0][0] < MIN_CHAOS_GAP:
        codec = _byte_evidence(data) or ""
        if not codec:
            raise UndecodableText(
                f"reads as {' and as '.join(_label(c) for _, c in readings)} alike, cannot tell which "
                "it is; save it as UTF-8 and drop it again"
            )
    try:
        return data.decode(codec), codec
    except UnicodeDecodeError as exc:
        raise UndecodableText(f"damaged {_label(codec)} text ({exc.reason} at byte {exc.start})") from exc


def _label(codec: str) -> str:
    return "Windows-1252" if codec == "cp1252" else codec.removesuffix("-sig").upper()
