"""The gate's Data Docs site: GX's rendering of the validation results the gate stores.

The gate stores every run's results (GX's validation results store, `<home>/state/gx/validation_results`)
and the suites it judged them by (`<home>/state/gx/suites`); rendering them as HTML is not needed to
decide whether a build may be published. So a passing gate leaves the rendering to `build`, which
the docs step runs after publish, and a failing gate renders before it raises, so the page of the
failure is there when the alert links to it. `build` renders the pages not yet on disk (one run's
16 pages, not every kept run's), the suite pages and the index, which lists the last
`EDUOPEN_GX_KEEP_RUNS` runs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

from eduopen.core.paths import Home
from expectations.data_docs_assets import localize as localize_data_docs
from expectations.loader import quiet_gx

log = logging.getLogger("eduopen.data_docs")
quiet_gx()

SITE_NAME = "eduopen"
# A gate pruning the results store while the docs step reads it takes a key away mid-build.
BUILD_ATTEMPTS = 2


def docs_dir(home: Home) -> Path:
    return home.docs / "gx"


def validation_results_dir(home: Home) -> Path:
    """GX's validation results store: the last `EDUOPEN_GX_KEEP_RUNS` runs, which Data Docs list."""
    return home.state / "gx" / "validation_results"


def suites_store_dir(home: Home) -> Path:
    """GX's expectations store: the suites of the last gate run, as built for that run."""
    return home.state / "gx" / "suites"


def gx_context(home: Home) -> Any:
    """An ephemeral GX context whose results and suites stores and Data Docs site live in `home`."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    # Suites come from the reviewed JSON files on every run; what persists is what Data Docs
    # render: the validation results (the history the index lists) and the suites of the last run.
    defaults = InMemoryStoreBackendDefaults(init_temp_docs_sites=False)
    stores = dict(defaults.stores)
    for name, class_name, directory in (
        (defaults.validation_results_store_name, "ValidationResultsStore", validation_results_dir(home)),
        (defaults.expectations_store_name, "ExpectationsStore", suites_store_dir(home)),
    ):
        stores[name] = {
            "class_name": class_name,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(directory)},
        }
    config = DataContextConfig(
        store_backend_defaults=defaults,
        stores=stores,
        data_docs_sites={
            SITE_NAME: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir(home))},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def page_path(context: Any, key: Any) -> str | None:
    """Where the site files the page of a validation result (whether rendered yet or not)."""
    urls = context.get_docs_sites_urls(resource_identifier=key, site_name=SITE_NAME, only_if_exists=False)
    url = (urls[0] if urls else {}).get("site_url")
    return url2pathname(urlparse(url).path) if url and url.startswith("file:") else url


def prune_runs(store: Any, keep: int) -> None:
    """Remove validation results of all but the newest `keep` runs (Data Docs drop their pages)."""
    keys = store.list_keys()
    newest = sorted({key.run_id.run_time for key in keys}, reverse=True)[:keep]
    for key in keys:
        if key.run_id.run_time not in newest:
            store.remove_key(key)


def build(home: Home, context: Any = None) -> Path:
    """Render the pages of stored results that have none yet, the suite pages and the index; return
    the index. `context` is the gate's own (the failing run's), else a fresh one on the same stores."""
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    for attempt in range(1, BUILD_ATTEMPTS + 1):
        context = context or gx_context(home)
        try:
            unrendered = [
                key
                for key in context.validation_results_store.list_keys()
                if not Path(page_path(context, key) or "").is_file()
            ]
            suites = [ExpectationSuiteIdentifier(name=suite.name) for suite in context.suites.all()]
            # GX renders every page of the site when the list is empty; the index alone is wanted then.
            resources = [*unrendered, *suites]
            context.build_data_docs(site_names=[SITE_NAME], resource_identifiers=resources or None, build_index=True)
            break
        except (FileNotFoundError, KeyError) as exc:
            if attempt == BUILD_ATTEMPTS:
                raise
            log.warning("a validation result went away while Data Docs were built (%s); building again", exc)
            context = None
    localize_data_docs(docs_dir(home))
    return docs_dir(home) / "index.html"
