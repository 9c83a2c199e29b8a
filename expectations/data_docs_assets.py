"""Data Docs without a CDN: GX's pages pointed at local copies of the CSS, JavaScript and fonts.

GX's templates load bootstrap, jQuery, popper, bootstrap-table, bootstrap-datepicker, Font Awesome
and vega from public CDNs, and the logo from GX's own bucket; offline (or opened where those hosts
are blocked) the index lists nothing and every page is unstyled. The same files, at the versions
the templates name, come from the npm registry as pinned tarballs checked against their sha256:
`python -m expectations.data_docs_assets` (run by `make env` and the Docker build) unpacks them
under `vendor/data-docs/`. After GX builds the site, `localize` copies them into the site's
`static/vendor/` and rewrites every page to point there, with relative links so the site works
from disk (file://) and behind any server path alike.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import logging
import os
import re
import shutil
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from eduopen.core.paths import PROJECT_DIR

log = logging.getLogger(__name__)

VENDOR_DIR = PROJECT_DIR / "vendor" / "data-docs"
SITE_VENDOR = Path("static") / "vendor"
SITE_IMAGES = Path("static") / "images"
DEFAULT_REGISTRY = "https://registry.npmjs.org"
DOWNLOAD_TIMEOUT_S = 120


@dataclass(frozen=True)
class Package:
    """One npm package at an exact version: its tarball's sha256 and the files taken from it."""

    name: str
    version: str
    sha256: str
    files: tuple[str, ...]

    @property
    def folder(self) -> str:
        return f"{self.name.rsplit('/', 1)[-1]}@{self.version}"

    def tarball_url(self, registry: str) -> str:
        return f"{registry.rstrip('/')}/{self.name}/-/{self.name.rsplit('/', 1)[-1]}-{self.version}.tgz"


BOOTSTRAP = Package(
    "bootstrap",
    "4.3.1",
    "b109c069bbb7cee57c3ddffb65d8481db5fe7e428b6d9b1ca502119a0429bd16",
    ("dist/css/bootstrap.min.css", "dist/js/bootstrap.min.js"),
)
JQUERY = Package(
    "jquery", "3.7.1", "68a9f787516da47c680e09c187bcbac4536b6f85d90eb882844e12919e583f53", ("dist/jquery.min.js",)
)
POPPER = Package(
    "popper.js",
    "1.12.9",
    "4233fad2da34a2a6bc982e7e02c85c14180af075853d97d7e3bfa7124c853cbf",
    ("dist/umd/popper.min.js",),
)
BOOTSTRAP_TABLE = Package(
    "bootstrap-table",
    "1.19.1",
    "80f84cbf2f8f92e0d5444a82fb99495ab8a286b5cdb0594102e568eb9d9fa69a",
    (
        "dist/bootstrap-table.min.css",
        "dist/bootstrap-table.min.js",
        "dist/extensions/filter-control/bootstrap-table-filter-control.min.js",
    ),
)
# The templates take the filter-control stylesheets from 1.19.0, beside 1.19.1's table.
BOOTSTRAP_TABLE_FILTER_CSS = Package(
    "bootstrap-table",
    "1.19.0",
    "d3b319ebdfaff6ae6d501d2c9e6afc39dab71e26c22fb104b8afcc11e6d0599f",
    (
        "dist/extensions/filter-control/bootstrap-table-filter-control.css",
        "dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
    ),
)
DATEPICKER = Package(
    "bootstrap-datepicker",
    "1.9.0",
    "342bd95b65db796e0ac35ad9296edbe6733daefc9869b2e5b27286d423e38146",
    ("dist/css/bootstrap-datepicker.min.css", "dist/js/bootstrap-datepicker.min.js"),
)
BOOTSTRAP_DARK = Package(
    "@forevolve/bootstrap-dark",
    "1.1.0",
    "20b089d52bc2ae80424fc43e5263023e96bd8479e7c5d346b8766c1b792a1cfd",
    ("dist/css/bootstrap-prefers-dark.css",),
)
# cdnjs's font-awesome 6.6.0 is the free distribution; its CSS loads the fonts from ../webfonts/.
FONT_AWESOME = Package(
    "@fortawesome/fontawesome-free",
    "6.6.0",
    "cf0b890ab2b68d3c4ea0f93ceb81cc24b956cccf9db36c63be044a672bd3b4dd",
    (
        "css/all.min.css",
        *(
            f"webfonts/fa-{face}.{ext}"
            for face in ("brands-400", "regular-400", "solid-900", "v4compatibility")
            for ext in ("woff2", "ttf")
        ),
    ),
)
# The templates ask for the newest 5.x / 6.x; pinned to the newest of each when vendored.
VEGA = Package(
    "vega", "5.33.1", "1b8504b6731c5311be3269c4d84ca996a5cc293bc772283293ede20c490e16c3", ("build/vega.min.js",)
)
VEGA_LITE = Package(
    "vega-lite",
    "5.23.0",
    "e4cbfdd8f6f1abe381c59cd558fd6a559c12b1496bfdf2e0c3295263a40fe4da",
    ("build/vega-lite.min.js",),
)
VEGA_EMBED = Package(
    "vega-embed",
    "6.29.0",
    "ecf1ee709c2bac9e0a4ead6908114b05b62c71493e10a8a4308109bb070f8eb1",
    ("build/vega-embed.min.js",),
)
PACKAGES = (
    BOOTSTRAP,
    JQUERY,
    POPPER,
    BOOTSTRAP_TABLE,
    BOOTSTRAP_TABLE_FILTER_CSS,
    DATEPICKER,
    BOOTSTRAP_DARK,
    FONT_AWESOME,
    VEGA,
    VEGA_LITE,
    VEGA_EMBED,
)

# Every URL GX 1.x's templates load (great_expectations/render/view/templates), and its local copy.
CDN_ASSETS: dict[str, tuple[Package, str]] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": (BOOTSTRAP, "dist/css/bootstrap.min.css"),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": (BOOTSTRAP, "dist/js/bootstrap.min.js"),
    "https://code.jquery.com/jquery-3.7.1.min.js": (JQUERY, "dist/jquery.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": (POPPER, "dist/umd/popper.min.js"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": (
        BOOTSTRAP_TABLE,
        "dist/bootstrap-table.min.css",
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": (
        BOOTSTRAP_TABLE,
        "dist/bootstrap-table.min.js",
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": (
        BOOTSTRAP_TABLE,
        "dist/extensions/filter-control/bootstrap-table-filter-control.min.js",
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": (
        BOOTSTRAP_TABLE_FILTER_CSS,
        "dist/extensions/filter-control/bootstrap-table-filter-control.css",
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": (
        BOOTSTRAP_TABLE_FILTER_CSS,
        "dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": (
        DATEPICKER,
        "dist/css/bootstrap-datepicker.min.css",
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": (
        DATEPICKER,
        "dist/js/bootstrap-datepicker.min.js",
    ),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": (
        BOOTSTRAP_DARK,
        "dist/css/bootstrap-prefers-dark.css",
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": (FONT_AWESOME, "css/all.min.css"),
    "https://cdn.jsdelivr.net/npm/vega@5": (VEGA, "build/vega.min.js"),
    "https://cdn.jsdelivr.net/npm/vega-lite@5": (VEGA_LITE, "build/vega-lite.min.js"),
    "https://cdn.jsdelivr.net/npm/vega-embed@6": (VEGA_EMBED, "build/vega-embed.min.js"),
}
# The navbar takes GX's logo from this bucket; the same images ship in the site's static/images/.
GX_IMAGES_URL = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"

# A CDN URL inside a src/href attribute, with the tag's SRI and CORS attributes: those name the
# CDN's response, and a page opened from disk has no origin to make a CORS request from.
_TAG = re.compile(r"<(?:script|link)\b[^>]*>", re.IGNORECASE)
_SRI = re.compile(r"""\s+(?:integrity|crossorigin)\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+)""", re.IGNORECASE)


class AssetFetchError(RuntimeError):
    """A pinned tarball could not be had as pinned: another sha256, or a file missing from it."""


def missing_files(vendor: Path = VENDOR_DIR) -> list[Path]:
    return [vendor / p.folder / f for p in PACKAGES for f in p.files if not (vendor / p.folder / f).is_file()]


def fetch(vendor: Path = VENDOR_DIR, registry: str | None = None) -> list[str]:
    """Download and unpack every package not yet complete under `vendor`; returns the ones fetched.

    A tarball whose sha256 is not the pinned one is refused before anything of it is written.
    """
    registry = registry or os.environ.get("npm_config_registry") or DEFAULT_REGISTRY
    fetched = []
    for package in PACKAGES:
        target = vendor / package.folder
        if all((target / f).is_file() for f in package.files):
            continue
        url = package.tarball_url(registry)
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:  # noqa: S310 (a pinned https URL)
            body = response.read()
        digest = hashlib.sha256(body).hexdigest()
        if digest != package.sha256:
            raise AssetFetchError(f"{url}: sha256 {digest}, expected {package.sha256}; refusing it")
        staging = vendor / f".{package.folder}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
            for name in package.files:
                member = archive.extractfile(f"package/{name}")
                if member is None:
                    raise AssetFetchError(f"{url} has no package/{name}")
                out = staging / name
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(member.read())
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        fetched.append(package.folder)
    return fetched


def _relative(target: Path, page: Path) -> str:
    return Path(os.path.relpath(target, page.parent)).as_posix()


def _rewrite(html: str, page: Path, site: Path) -> str:
    def tag(match: re.Match[str]) -> str:
        text = match.group(0)
        local = False
        for url, (package, path) in CDN_ASSETS.items():
            for quote in ('"', "'"):
                if f"{quote}{url}{quote}" in text:
                    target = site / SITE_VENDOR / package.folder / path
                    text = text.replace(f"{quote}{url}{quote}", f"{quote}{_relative(target, page)}{quote}")
                    local = True
        return _SRI.sub("", text) if local else text

    html = _TAG.sub(tag, html)
    return html.replace(GX_IMAGES_URL, _relative(site / SITE_IMAGES, page) + "/")


def localize(site: Path, vendor: Path = VENDOR_DIR) -> bool:
    """Copy the vendored assets into `site/static/vendor/` and point every page of the site at them.

    Idempotent: a page already rewritten names no CDN URL, so running it after each build (which
    rewrites only the pages GX rendered again) leaves the other pages as they were. Without the
    vendored files the pages keep their CDN links (they still work online) and a warning says
    how to get them: the Data Docs are a report of the gate, never a reason to fail it.
    """
    absent = missing_files(vendor)
    if absent:
        log.warning(
            "Data Docs keep their CDN links: %d asset(s) missing under %s (e.g. %s); "
            "run `make env` or `python -m expectations.data_docs_assets`",
            len(absent),
            vendor,
            absent[0],
        )
        return False
    for package in PACKAGES:
        shutil.copytree(vendor / package.folder, site / SITE_VENDOR / package.folder, dirs_exist_ok=True)
    for page in site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        rewritten = _rewrite(html, page, site)
        if rewritten != html:
            page.write_text(rewritten, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Vendor the Data Docs' CSS, JavaScript and fonts (pinned, sha256-checked)."
    )
    parser.add_argument("--dest", type=Path, default=VENDOR_DIR)
    args = parser.parse_args(argv)
    fetched = fetch(args.dest)
    print(f"data docs assets: {len(PACKAGES) - len(fetched)} present, {len(fetched)} fetched into {args.dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
