"""Data Docs assets: every CDN URL of GX's templates has a pinned local copy, pages point at it."""

from __future__ import annotations

import io
import re
import tarfile
from pathlib import Path

import great_expectations
import pytest

from expectations import data_docs_assets as assets

TEMPLATES = Path(great_expectations.__file__).parent / "render" / "view" / "templates"


def test_every_url_gx_templates_load_has_a_local_copy() -> None:
    loaded = set()
    for template in TEMPLATES.glob("*.j2"):
        loaded |= set(re.findall(r'<(?:script|link)\b[^>]*?(?:src|href)="(https://[^"]+)"', template.read_text()))
    assert loaded, "no CDN URL found: the templates moved"
    assert loaded <= set(assets.CDN_ASSETS), loaded - set(assets.CDN_ASSETS)
    for package, path in assets.CDN_ASSETS.values():
        assert path in package.files


def fake_vendor(root: Path) -> Path:
    for package in assets.PACKAGES:
        for name in package.files:
            (root / package.folder / name).parent.mkdir(parents=True, exist_ok=True)
            (root / package.folder / name).write_text(f"/* {package.folder}/{name} */")
    return root


def test_localize_points_pages_at_copies_relative_to_their_depth(tmp_path: Path) -> None:
    site = tmp_path / "site"
    deep = site / "validations" / "marts" / "t" / "run" / "page.html"
    deep.parent.mkdir(parents=True)
    jquery = "https://code.jquery.com/jquery-3.7.1.min.js"
    popper = "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js"
    html = (
        f'<script src="{jquery}"></script>'
        f'<script src="{popper}" integrity="sha384-x" crossorigin="anonymous"></script>'
        f'<img src="{assets.GX_IMAGES_URL}logo-long.png"><a href="https://greatexpectations.io">GX</a>'
    )
    deep.write_text(html)
    (site / "index.html").write_text(html)

    assert assets.localize(site, fake_vendor(tmp_path / "vendor"))

    page = deep.read_text()
    assert '<script src="../../../../static/vendor/jquery@3.7.1/dist/jquery.min.js"></script>' in page
    assert '<script src="../../../../static/vendor/popper.js@1.12.9/dist/umd/popper.min.js"></script>' in page
    assert 'src="../../../../static/images/logo-long.png"' in page
    assert 'href="https://greatexpectations.io"' in page  # a link, not a load: left alone
    assert 'src="static/vendor/jquery@3.7.1/dist/jquery.min.js"' in (site / "index.html").read_text()
    assert (site / "static" / "vendor" / "jquery@3.7.1" / "dist" / "jquery.min.js").is_file()


def test_without_vendored_files_the_pages_keep_their_cdn_links(tmp_path: Path) -> None:
    page = tmp_path / "site" / "index.html"
    page.parent.mkdir()
    page.write_text('<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>')
    assert not assets.localize(tmp_path / "site", tmp_path / "empty")
    assert "https://code.jquery.com" in page.read_text()


def test_fetch_refuses_a_tarball_that_is_not_the_pinned_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(assets, "PACKAGES", (assets.JQUERY,))
    body = io.BytesIO()
    with tarfile.open(fileobj=body, mode="w:gz") as archive:
        data = b"window.jQuery = 'not jquery';"
        info = tarfile.TarInfo("package/dist/jquery.min.js")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    registry = tmp_path / "registry"
    (registry / "jquery" / "-").mkdir(parents=True)
    (registry / "jquery" / "-" / "jquery-3.7.1.tgz").write_bytes(body.getvalue())

    with pytest.raises(assets.AssetFetchError, match="sha256"):
        assets.fetch(tmp_path / "vendor", registry=registry.as_uri())
    assert not (tmp_path / "vendor" / "jquery@3.7.1").exists()
