"""`python -m demo.replay`: serve the recorded responses on loopback and print the env to use them."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from demo.replay.server import ReplayServer


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.replay", description=__doc__)
    parser.add_argument("sources", nargs="*", help="sources to serve (default: every recorded one)")
    parser.add_argument("--scenario", action="append", default=[], help="overlay scenario (repeatable)")
    parser.add_argument("--port-base", type=int, default=0, help="first port (default: ephemeral ports)")
    args = parser.parse_args(argv)
    server = ReplayServer(args.sources or None, scenarios=args.scenario, port_base=args.port_base).start()
    for key, value in server.env().items():
        print(f"export {key}={value}")
    print("export EDUOPEN_MIN_DELAY_S=0", flush=True)
    print("replaying recorded responses on loopback; Ctrl-C to stop", file=sys.stderr)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
