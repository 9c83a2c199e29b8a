"""Rebuild the UIS and World Bank replay answers from the real files beside this script.

    .venv/bin/python demo/replay/originals/build_statistics_bundle.py

Nothing is computed or filled in: every record served is a row of a real file, reshaped into the
JSON the live API answers with (PROVENANCE.md in each bundle folder says how). Run it again after
replacing a file here; the output is deterministic.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUNDLE = HERE.parent / "bundle"

# What sources.yml asks UIS for: the indicators the export holds, from the configured start year.
UIS_INDICATORS = ("26637", "MENF.5T8")
UIS_START = 1998
# The UIS data version whose EDUCATION data is the export's "February 2025 Data Release"
# (see uis/PROVENANCE.md for why this one of the four that carry it).
UIS_VERSION = "20250225-2ae60fad"

WB_FILES = {
    "NY.GDP.MKTP.CD": "GDP.csv",
    "SE.XPD.TOTL.GD.ZS": "Government expenditure on education as % of GDP (%).csv",
}
WB_DATE = (2000, 2025)
WB_PER_PAGE = 1000


def _number_literal(text: str) -> str:
    """The file's own digits as a JSON number: no float round trip can change a value."""
    float(text)  # a non-number fails the build rather than being served
    return text


def _uis_record(row: dict[str, str]) -> str:
    fields = [
        ("indicatorId", json.dumps(row["indicatorId"])),
        ("geoUnit", json.dumps(row["geoUnit"])),
        ("year", str(int(row["year"]))),
        ("value", _number_literal(row["value"]) if row["value"] != "" else "null"),
        ("magnitude", json.dumps(row["magnitude"] or None)),
        ("qualifier", json.dumps(row["qualifier"] or None)),
    ]
    return "{" + ",".join(f'"{k}":{v}' for k, v in fields) + "}"


def build_uis() -> None:
    api = BUNDLE / "uis" / "api" / "public"
    with (HERE / "uis-export" / "data.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for old in (api / "data").iterdir():
        old.unlink()
    for indicator in UIS_INDICATORS:
        chosen = [r for r in rows if r["indicatorId"] == indicator and int(r["year"]) >= UIS_START]
        chosen.sort(key=lambda r: (r["geoUnit"], int(r["year"])))
        body = '{"hints":[],"records":[\n' + ",\n".join(_uis_record(r) for r in chosen) + "\n]}\n"
        name = f"indicators@indicator={indicator}&indicatorMetadata=false&start={UIS_START}"
        (api / "data" / name).write_text(body, encoding="utf-8")

    with (HERE / "uis-export" / "indicators.csv").open(encoding="utf-8", newline="") as f:
        definitions = [
            {
                "indicatorCode": r["indicatorId"],
                "name": r["name"],
                "theme": r["theme"],
                "lastDataUpdate": r["lastDataUpdate"],
                "lastDataUpdateDescription": r["lastDataUpdateDescription"],
                "dataAvailability": {
                    "totalRecordCount": int(r["dataAvailability.totalRecordCount"]),
                    "timeLine": {
                        "min": int(r["dataAvailability.timeLine.min"]),
                        "max": int(r["dataAvailability.timeLine.max"]),
                    },
                    "geoUnits": {"types": [t.strip() for t in r["dataAvailability.geoUnits.types"].split(",")]},
                },
            }
            for r in csv.DictReader(f)
            if r["indicatorId"] in UIS_INDICATORS
        ]
    (api / "definitions" / "indicators").write_text(json.dumps(definitions, indent=2) + "\n", encoding="utf-8")

    versions = json.loads((HERE / "uis-api" / "uis_versions.json").read_text(encoding="utf-8"))
    (version,) = [v for v in versions if v["version"] == UIS_VERSION]
    (api / "versions" / "default").write_text(json.dumps(version, indent=2) + "\n", encoding="utf-8")
    geounits = (HERE / "uis-api" / "uis_definitions_geounits.json").read_bytes()
    (api / "definitions" / "geounits").write_bytes(geounits)


def _wb_record(indicator: str, indicator_name: str, row: list[str], year: int, text: str) -> str:
    value = _number_literal(text) if text.strip() != "" else "null"
    # The bulk file has no 2-letter country id: country.id carries the ISO3 code it does have.
    return (
        "{" + f'"indicator":{json.dumps({"id": indicator, "value": indicator_name})},'
        f'"country":{json.dumps({"id": row[1], "value": row[0]}, ensure_ascii=False)},'
        f'"countryiso3code":{json.dumps(row[1])},"date":"{year}","value":{value},'
        '"unit":"","obs_status":""' + "}"
    )


def build_worldbank() -> None:
    folder = BUNDLE / "worldbank" / "v2" / "country" / "all" / "indicator"
    for old in folder.iterdir():
        old.unlink()
    for indicator, file_name in WB_FILES.items():
        with (HERE / "worldbank-bulk" / file_name).open(encoding="utf-8-sig", newline="") as f:
            header, *rows = list(csv.reader(f))
        years = [(i, int(h)) for i, h in enumerate(header) if h.isdigit() and WB_DATE[0] <= int(h) <= WB_DATE[1]]
        records = []
        for row in rows:
            if row[3] != indicator:
                raise ValueError(f"{file_name}: row for {row[3]}, expected {indicator}")
            # The API lists each economy newest year first.
            records += [_wb_record(indicator, row[2], row, year, row[i]) for i, year in reversed(years)]
        pages = -(-len(records) // WB_PER_PAGE)
        for page in range(1, pages + 1):
            head = {
                "page": page,
                "pages": pages,
                "per_page": WB_PER_PAGE,
                "total": len(records),
                "sourceid": None,
                "lastupdated": None,
            }
            chunk = records[(page - 1) * WB_PER_PAGE : page * WB_PER_PAGE]
            body = "[" + json.dumps(head, separators=(",", ":")) + ",[\n" + ",\n".join(chunk) + "\n]]\n"
            name = f"{indicator}@date={WB_DATE[0]}%3A{WB_DATE[1]}&format=json&page={page}&per_page={WB_PER_PAGE}"
            (folder / name).write_text(body, encoding="utf-8")


if __name__ == "__main__":
    build_uis()
    build_worldbank()
