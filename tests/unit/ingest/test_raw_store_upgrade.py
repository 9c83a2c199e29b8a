"""A catalog written before figures carried a qualifier and a period year opens with its rows kept."""

from __future__ import annotations

import duckdb

from eduopen.core.paths import Home
from ingest.raw_store import RawStore

OLD_RELEASE_FIGURE = """
create table release_figure (
    source varchar not null, url varchar not null, content_sha256 varchar not null,
    figure_index integer not null, metric varchar not null, value double not null, unit varchar,
    year integer, sentence varchar not null, primary key (url, content_sha256, figure_index));
insert into release_figure values ('moe_zh', 'http://www.moe.gov.cn/a.html', 'abc', 0,
    'international_students_in_china', 492185, 'persons', 2018, '2018年共有……492185名');
"""


def test_an_older_catalog_keeps_its_figures_under_period_year_with_an_exact_qualifier(tmp_path):
    home = Home(tmp_path / "home").ensure()
    with duckdb.connect(str(home.catalog)) as con:
        con.execute(OLD_RELEASE_FIGURE)

    with RawStore(home) as store:
        rows = store.con.execute("select metric, value, period_year, qualifier from release_figure").fetchall()
        store.insert_rows(
            "release_figure",
            [
                {
                    "source": "moe_zh",
                    "url": "http://www.moe.gov.cn/b.html",
                    "content_sha256": "def",
                    "figure_index": 0,
                    "metric": "students_going_abroad",
                    "value": 662100.0,
                    "unit": "persons",
                    "qualifier": "approximately",
                    "period_year": 2018,
                    "sentence": "约66.21万",
                }
            ],
        )
        assert store.count("release_figure") == 2

    assert rows == [("international_students_in_china", 492185.0, 2018, "exact")]
