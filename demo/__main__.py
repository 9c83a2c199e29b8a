"""`python -m demo` (what `make demo` runs): the whole pipeline offline, through Airflow's local mode."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rich.console import Console

from demo.run import run_demo
from eduopen.core.errors import EduOpenError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("--no-airflow", action="store_true", help="run the steps directly, without Airflow")
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    try:
        run_demo(use_airflow=not args.no_airflow, console=console)
    except EduOpenError as exc:
        console.print(f"[red]demo: {type(exc).__name__}: {exc}[/red]", soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
