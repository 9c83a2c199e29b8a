"""Foreign partners of the cooperative register resolved to countries, checked on a hold-out list.

The hold-out (tests/fixtures/cfcrs/holdout_institutions.csv) is 15 real approved Sino-foreign
institutions whose foreign partners are not in the partner seed, each with the public page that
names both partners and the partner's country. They are stored as register entries the way the
`cfcrs` source stores them (raw.cooperative_record) and built by dbt: each partner must come out
with its country, or sit in the quarantine for a reason named here. A partner given a country
other than its own fails, whatever the rule that gave it.
"""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from eduopen.core.paths import Home
from eduopen.warehouse.build import transform
from ingest.raw_store import RawStore

HOLDOUT = Path(__file__).resolve().parents[1] / "fixtures" / "cfcrs" / "holdout_institutions.csv"
SEED = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "cooperative_partners.csv"
SELECT = "+fct_cooperative_programme +bridge_cooperative_programme_partner +cooperative_partner_quarantine"

# Names that carry no country name and are not in the seed: resolving them would be a guess.
UNRESOLVABLE = {
    "悉尼科技大学": "names a city (Sydney), not a country",
    "利兹大学": "names a city (Leeds), not a country",
    "佐治亚理工学院": "佐治亚 is the US state; the country Georgia is 格鲁吉亚",
    "莫斯科国立罗蒙诺索夫大学": "names a city (Moscow), not a country",
}


def holdout() -> list[dict[str, str]]:
    with HOLDOUT.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def resolved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str | None, str | None]]:
    """Each hold-out partner name -> (country, quarantine reason), as dbt resolved it."""
    home = Home(tmp_path_factory.mktemp("cfcrs-holdout") / "home").ensure()
    rows = [
        {
            "source": "cfcrs",
            "url": f"{entry['source']}#holdout-{index}",
            "content_sha256": hashlib.sha256(entry["name"].encode()).hexdigest(),
            "record_kind": "institution",
            "level": "undergraduate",
            "list_status": "approved",
            "province": None,
            "name": entry["name"],
            "chinese_partner": entry["chinese_partner"],
            "foreign_partners": json.dumps([entry["foreign_partner"]], ensure_ascii=False),
            "approval_number": None,
            "approval_date": None,
            "ended_date": None,
            "list_url": None,
            "raw_sha256": hashlib.sha256(entry["source"].encode()).hexdigest(),
            "first_seen_at": datetime(2026, 12, 1, tzinfo=UTC),
        }
        for index, entry in enumerate(holdout())
    ]
    with RawStore(home) as store:
        store.insert_rows("cooperative_record", rows)
    transform(home, full_refresh=True, select=SELECT)
    con = duckdb.connect(str(home.audit), read_only=True)
    try:
        bridged = con.execute(
            "select partner_name, country_iso3, null from marts.bridge_cooperative_programme_partner"
        ).fetchall()
        quarantined = con.execute(
            "select partner_name, null, reason from marts.cooperative_partner_quarantine"
        ).fetchall()
        facts = con.execute("select count(*) from marts.fct_cooperative_programme").fetchone()
    finally:
        con.close()
    assert facts == (len(rows),)
    return {name: (country, reason) for name, country, reason in bridged + quarantined}


def test_the_holdout_partners_are_not_in_the_seed() -> None:
    with SEED.open(encoding="utf-8", newline="") as handle:
        seeded = {row["partner_name"] for row in csv.DictReader(handle)}
    assert not seeded & {entry["foreign_partner"] for entry in holdout()}


def test_every_holdout_partner_resolves_to_its_country_or_is_quarantined_for_a_stated_reason(resolved) -> None:
    wrong, unexplained, lost = [], [], []
    for entry in holdout():
        partner = entry["foreign_partner"]
        if partner not in resolved:
            lost.append(partner)
            continue
        country, reason = resolved[partner]
        if country is not None and country != entry["country_iso3"]:
            wrong.append((partner, country, entry["country_iso3"]))
        if reason is not None and partner not in UNRESOLVABLE:
            unexplained.append((partner, reason))
    assert not wrong, f"partners given another country than their own: {wrong}"
    assert not lost, f"partners neither resolved nor quarantined: {lost}"
    assert not unexplained, f"partners quarantined that the country names should resolve: {unexplained}"


def test_the_unresolvable_partners_sit_in_quarantine_as_unknown(resolved) -> None:
    assert {name: resolved.get(name) for name in UNRESOLVABLE} == {
        name: (None, "unknown_partner") for name in UNRESOLVABLE
    }
    resolvable = len(holdout()) - len(UNRESOLVABLE)
    assert sum(1 for country, _ in resolved.values() if country) == resolvable
