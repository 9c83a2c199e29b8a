"""An analyst in another process, reading the published warehouse read-only in a loop.

    python -m tests.reliability.analyst_reader WAREHOUSE OUT CONTROL_DIR {hold|reconnect}

`hold` keeps one connection open until CONTROL_DIR/reconnect appears, then opens a new one once;
`reconnect` opens a fresh connection for every query (an analyst starting queries during the
swap). Every query reads several marts in one statement; each outcome is one JSON line in OUT:
{"gen": 0|1, "t": monotonic, "fp": [...]} or {"gen": ..., "error": "..."}. Stops when
CONTROL_DIR/stop appears.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb

# One statement over several marts: a file swapped under a query would show up as a mixture.
FINGERPRINT_SQL = """
select
    (select count(*) from marts.fct_policy_release),
    (select md5(string_agg(release_id, ',' order by release_id)) from marts.fct_policy_release),
    (select count(*) from marts.fct_student_mobility),
    (select sum(inbound_students) from marts.fct_student_mobility),
    (select count(*) from marts.dim_country)
"""


def main(warehouse: str, out: str, control: str, mode: str) -> int:
    control_dir = Path(control)
    generation = 0
    con = None
    with open(out, "a", encoding="utf-8") as log:
        while not (control_dir / "stop").exists():
            record: dict[str, object] = {"gen": generation}
            try:
                if mode == "hold" and generation == 0 and (control_dir / "reconnect").exists():
                    if con is not None:
                        con.close()
                    con, generation = None, 1
                    record["gen"] = generation
                if con is None:
                    con = duckdb.connect(warehouse, read_only=True)
                record["fp"] = list(con.execute(FINGERPRINT_SQL).fetchone())
                if mode == "reconnect":
                    con.close()
                    con = None
            except Exception as exc:  # noqa: BLE001 - every failure is what the test looks for
                record["error"] = f"{type(exc).__name__}: {exc}"
                con = None
            record["t"] = time.monotonic()
            log.write(json.dumps(record, default=str) + "\n")
            log.flush()
            time.sleep(0.05)
    if con is not None:
        con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
