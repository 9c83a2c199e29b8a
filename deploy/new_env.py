"""Write a `.env` for docker compose with freshly generated secrets.

    python3 deploy/new_env.py            # writes .env next to docker-compose.yml
    python3 deploy/new_env.py PATH       # or PATH

Copies `.env.example` line for line and replaces every `change-me` value with a random one of the
right shape (a Fernet key for AIRFLOW_FERNET_KEY, URL-safe text elsewhere, so passwords can sit
in connection URLs unescaped). The file is created readable by its owner only, and an existing
file is never overwritten: secrets such as the Fernet key must survive, or what they encrypted is
lost. Standard library only: it runs on the host, before any image exists. Prints no secret.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import secrets
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
EXAMPLE = PROJECT_DIR / ".env.example"
PLACEHOLDER = "change-me"
ASSIGNMENT = re.compile(r"^(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")


def fernet_key() -> str:
    """32 random bytes, url-safe base64: the format `cryptography.fernet.Fernet` accepts."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def url_safe_secret() -> str:
    # 32 bytes of entropy; only [A-Za-z0-9_-], which need no escaping in a URL's userinfo.
    return secrets.token_urlsafe(32)


GENERATORS: dict[str, Callable[[], str]] = {"AIRFLOW_FERNET_KEY": fernet_key}


def render(example: str) -> tuple[str, list[str]]:
    """The `.env` text for `example`, and the names whose placeholder got a generated value."""
    lines, generated = [], []
    for line in example.splitlines(keepends=True):
        match = ASSIGNMENT.match(line.rstrip("\n"))
        if match and match["value"].strip() == PLACEHOLDER:
            name = match["name"]
            line = f"{name}={GENERATORS.get(name, url_safe_secret)()}\n"
            generated.append(name)
        lines.append(line)
    return "".join(lines), generated


def write_private(path: Path, text: str) -> None:
    """Create `path` with mode 0600 from the start; fail if it exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", nargs="?", type=Path, default=PROJECT_DIR / ".env",
                        help="where to write (default: .env next to docker-compose.yml)")
    parser.add_argument("--example", type=Path, default=EXAMPLE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.path.exists():
        print(f"error: {args.path} exists; not overwriting it (its Fernet key may already encrypt data). "
              "Edit it, or remove it first.", file=sys.stderr)
        return 1
    text, generated = render(args.example.read_text(encoding="utf-8"))
    write_private(args.path, text)
    print(f"wrote {args.path} (mode 600) with generated {', '.join(generated)}; "
          "the UI password is AIRFLOW_ADMIN_PASSWORD in that file", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
