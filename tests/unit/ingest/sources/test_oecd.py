"""OECD SDMX-CSV: columns found by id, never by position; a changed header says what is missing.

Every answer here is synthetic (made-up counts in the SDMX-CSV layout): no real OECD answer has been
recorded, so the source is off in sources.yml and the replay serves none.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.replay.server import ReplayServer, relative_file_for
from eduopen.core.config import Settings, SourceConfig
from eduopen.core.errors import ParseError, SourceError
from eduopen.core.paths import Home
from ingest.http import PoliteClient
from ingest.raw_store import RawStore
from ingest.sources.base import SourceContext
from ingest.sources.oecd import Flow, flow_path, run
from ingest.sources.oecd.parse import dataflow_id, parse_sdmx_csv

FLOW = "DSD_EAG_UOE_NON_FIN_STUD@DF_UOE_NF_MOBILE_STUDENTS"
HEADER = (
    "STRUCTURE,STRUCTURE_ID,STRUCTURE_NAME,ACTION,REF_AREA,Reference area,ORIGIN,Country of origin,"
    "MEASURE,Measure,SEX,Sex,TIME_PERIOD,Time period,OBS_VALUE,Observation value,"
    "OBS_STATUS,Observation status,UNIT_MULT,Unit multiplier"
)


def _row(
    dest="USA",
    origin="CHN",
    year="2021",
    value="329624",
    sex="_T",
    status="A",
    measure="ENRL_MOB",
    mult="0",
    action="I",
):
    return (
        f"DATAFLOW,OECD.EDU.IMEP:{FLOW}(1.0),Mobility,{action},{dest},Dest,{origin},Origin,"
        f"{measure},Measure,{sex},Sex,{year},,{value},,{status},Status,{mult},Units"
    )


def _csv(*rows, header=HEADER) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode()


def test_answer_gives_flows_by_origin_and_destination():
    # Synthetic rows (made-up counts): no real OECD answer has been recorded, the source is off.
    answer = parse_sdmx_csv(
        _csv(
            _row(dest="USA", value="1000"),
            _row(dest="GBR", value="200"),
            _row(dest="AUS", origin="IND", value="30", year="2020"),
        )
    )
    assert not answer.rejected
    flows = {(r.origin, r.destination, r.year): r.value for r in answer.records}
    assert flows == {("CHN", "USA", 2021): 1000, ("CHN", "GBR", 2021): 200, ("IND", "AUS", 2020): 30}
    assert {r.indicator_id for r in answer.records} == {"ENRL_MOB"}


def test_source_is_off_until_a_real_answer_is_recorded():
    settings = Settings.load()
    assert settings.source("oecd").enabled is False
    assert "oecd" not in settings.network_source_names()


def test_missing_observation_stays_null_with_its_status():
    answer = parse_sdmx_csv(_csv(_row(value="", status="M")))
    assert answer.records[0].value is None
    assert answer.records[0].magnitude == "M"


def test_columns_are_found_by_name_not_position():
    reordered = (
        "STRUCTURE,STRUCTURE_ID,STRUCTURE_NAME,ACTION,ORIGIN,Country of origin,"
        "TIME_PERIOD,Time period,REF_AREA,Reference area,OBS_VALUE,Observation value"
    )
    row = f"DATAFLOW,OECD.EDU.IMEP:{FLOW}(1.0),Mobility,I,CHN,China,2021,2021,GBR,United Kingdom,151690,"
    record = parse_sdmx_csv(_csv(row, header=reordered)).records[0]
    assert (record.origin, record.destination, record.year, record.value) == ("CHN", "GBR", 2021, 151690)


def test_without_measure_the_dataflow_id_is_the_indicator():
    header = "STRUCTURE,STRUCTURE_ID,ACTION,REF_AREA,ORIGIN,TIME_PERIOD,OBS_VALUE"
    row = f"dataflow,OECD.EDU.IMEP:{FLOW}(1.0),I,JPN,CHN,2020,104498"
    assert parse_sdmx_csv(_csv(row, header=header)).records[0].indicator_id == FLOW


def test_dataflow_indicator_is_named_by_the_structure_name():
    header = "STRUCTURE,STRUCTURE_ID,STRUCTURE_NAME,ACTION,REF_AREA,ORIGIN,TIME_PERIOD,OBS_VALUE"
    row = f"dataflow,OECD.EDU.IMEP:{FLOW}(1.0),International student mobility,I,JPN,CHN,2020,104498"
    names = parse_sdmx_csv(_csv(row, header=header)).indicator_names
    assert names == {FLOW: "International student mobility"}


def test_labels_both_form_keeps_codes():
    header = "DATAFLOW,REF_AREA: Reference area,COUNTERPART_AREA: Counterpart area,TIME_PERIOD: Time period,OBS_VALUE"
    row = f'OECD.EDU.IMEP:{FLOW}(1.0),AUS: Australia,"CHN: China (People\'s Republic of)",2022,117418'
    record = parse_sdmx_csv(_csv(row, header=header)).records[0]
    assert (record.origin, record.destination, record.value) == ("CHN", "AUS", 117418)


def test_changed_header_names_the_missing_columns():
    header = HEADER.replace("ORIGIN,Country of origin", "PARTNER,Partner").replace("OBS_VALUE", "VALUE")
    with pytest.raises(ParseError, match=r"missing column\(s\) ORIGIN or COUNTERPART_AREA, OBS_VALUE"):
        parse_sdmx_csv(_csv(_row(), header=header))


def test_non_numeric_value_is_rejected_with_its_line():
    answer = parse_sdmx_csv(_csv(_row(), _row(year="2022", value="n.a.")))
    assert len(answer.records) == 1
    assert answer.rejected[0].line == 3
    assert "non-numeric OBS_VALUE 'n.a.'" in answer.rejected[0].reason


def test_rows_differing_in_an_unfixed_dimension_are_rejected_naming_it():
    answer = parse_sdmx_csv(_csv(_row(sex="F", value="150000"), _row(sex="M", value="179624")))
    assert len(answer.records) == 1
    assert "SEX" in answer.rejected[0].reason


def test_unit_multiplier_scales_the_value_and_keeps_the_raw_text():
    record = parse_sdmx_csv(_csv(_row(value="329.624", mult="3"))).records[0]
    assert record.value == pytest.approx(329624)
    assert record.value_raw == "329.624"


def test_deletion_rows_are_not_observations():
    answer = parse_sdmx_csv(_csv(_row(action="D")))
    assert answer.records == [] and "ACTION=D" in answer.rejected[0].reason


def test_a_csv_that_is_not_sdmx_is_refused():
    with pytest.raises(ParseError, match="not SDMX-CSV"):
        parse_sdmx_csv(b"Entity,Code,Year,Students\nChina,CHN,2020,1\n")


def test_dataflow_id_from_structure_id():
    assert dataflow_id(f"OECD.EDU.IMEP:{FLOW}(1.0)") == FLOW
    assert dataflow_id(f"OECD.EDU.IMEP:{FLOW}(1.0): International student mobility") == FLOW


def test_flow_path_with_empty_version_asks_for_the_latest():
    assert flow_path(Flow(agency="OECD.EDU.IMEP", dataflow=FLOW, version="", key="all")) == (
        f"/data/OECD.EDU.IMEP,{FLOW},/all"
    )


def test_configured_delay_respects_sixty_downloads_an_hour(monkeypatch):
    monkeypatch.delenv("EDUOPEN_MIN_DELAY_S", raising=False)
    assert Settings.load().source("oecd").min_delay_s >= 60


# -- run(): the adapter against a local replay of a hand-made answer ----------------------------


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    root = tmp_path / "bundle"
    (root / "oecd").mkdir(parents=True)
    (root / "oecd" / "robots.txt").write_text("User-agent: *\nAllow: /\n")
    return root


@pytest.fixture
def answer_file(bundle: Path) -> Path:
    rel = relative_file_for(f"/public/rest/data/OECD.EDU.IMEP,{FLOW},/all", "format=csvfilewithlabels&startPeriod=2013")
    path = bundle / "oecd" / rel
    path.parent.mkdir(parents=True)
    return path


@pytest.fixture
def context(bundle: Path, home: Home, monkeypatch: pytest.MonkeyPatch) -> Iterator[SourceContext]:
    monkeypatch.setenv("EDUOPEN_MIN_DELAY_S", "0")
    with ReplayServer(["oecd"], bundle=bundle) as server, RawStore(home) as store:
        settings = {
            "base_url": server.url("oecd"),
            "start_period": 2013,
            "flows": [{"agency": "OECD.EDU.IMEP", "dataflow": FLOW, "version": "", "key": "all"}],
        }
        cfg = SourceConfig.parse("oecd", settings, {}, "EduOpenBot/test")
        with PoliteClient.for_source(cfg, store) as client:
            yield SourceContext(cfg, store, client, home)


def test_answer_ignoring_start_period_fails_and_loads_nothing(answer_file, context):
    answer_file.write_bytes(_csv(_row(year="2010"), _row(year="2021")))
    with pytest.raises(SourceError, match="ignored startPeriod=2013"):
        run(context)
    assert context.store.count("flow_observation") == 0


def test_changed_header_in_the_answer_fails_naming_the_column(answer_file, context):
    answer_file.write_bytes(_csv(_row(), header=HEADER.replace("TIME_PERIOD", "PERIOD")))
    with pytest.raises(ParseError, match="missing column\\(s\\) TIME_PERIOD"):
        run(context)
    assert context.store.count("flow_observation") == 0


def test_bad_rows_of_an_answer_are_quarantined_beside_the_good_ones(answer_file, context):
    answer_file.write_bytes(_csv(_row(), _row(year="2022", value="x")))
    summary = run(context)
    assert (summary.new_rows, summary.quarantined) == (1, 1)
    reasons = context.store.con.execute("select reason from quarantine").fetchall()
    assert reasons == [("non-numeric OBS_VALUE 'x'",)]
