"""Secrets and access: no credential in any file that would be committed, none in error messages,
logs or the fetch log, a deployment that asks everyone to log in, and a published warehouse that
analysts open read-only.
"""

from __future__ import annotations

import logging
import re
import secrets
import subprocess
from pathlib import Path

import duckdb
import pytest
import yaml

from eduopen import pipeline
from eduopen.core.errors import FetchError, SourceError
from eduopen.core.paths import PROJECT_DIR, Home
from ingest.http import PoliteClient
from tests.reliability.conftest import CleanRun, use_env
from tests.reliability.support import query, run_env, write_sources_file
from tests.support import FaultServer, Reply

PRIVATE_KEY = re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----")
TOKEN_SHAPES = {
    "AWS access key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
}
# A credential-named key given a literal value, in code, YAML, env files, shell or JSON.
# Not after `{` or `$`: `${POSTGRES_PASSWORD:?...}` is a reference (shell defaults are checked apart).
ASSIGNMENT = re.compile(
    r"""(?ix)(?<![\w.${])([\w.-]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)[\w-]*)
        ["']?\s*[:=]\s*(["']?)([^\s"'`,;)}\]]+)\2"""
)
SHELL_DEFAULT = re.compile(r"(?i)\$\{(\w*(?:password|passwd|secret|token|api_?key)\w*):?[-=]([^}]+)\}")
URL_CREDENTIALS = re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:([^/\s@'\"]+)@")
# Keys that name where a secret is, not the secret: `PASSWORDS_FILE: /run/...`, `token_url = ...`.
NOT_A_SECRET_KEY = re.compile(
    r"(?i).*(?:_file|_path|_dir|_env|_var|_name|_url|_header|_length|_re|_regex|"
    r"_pattern|_param|_shapes)$"
)
# What a literal may be: a reference to where the secret really lives, or a placeholder.
NOT_A_SECRET = re.compile(r"(?i)^(?:[$<{\[%*?].*|\.\.\.|…|none|null|true|false|.{0,3})$")
# Unquoted in Python, the value is code: a name, an attribute, a call or a subscript.
PYTHON_CODE = re.compile(r"(?i)^[a-z_][\w.]*(?:[(\[].*)?$")
# Well-known fake values used in docs and in the tests of scanners like this one.
KNOWN_FAKE = re.compile(r"(?i)^(?:hunter2|letmein|abc123|change-?me|example|dummy|fake|placeholder|xxx+)")
# Inside tests only: the stock defaults (airflow:airflow) that a deployment test feeds its own checks.
TEST_FIXTURE_FAKE = re.compile(r"(?i)^(?:airflow|postgres|admin|password|secret|test)")
ALLOWLIST_PRAGMA = "pragma: allowlist secret"  # detect-secrets' marker, for a line that must hold one


def committable_files() -> list[Path]:
    """Tracked files plus untracked ones that are not ignored: what the next commit could hold."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=PROJECT_DIR,
        capture_output=True,
        check=True,
    ).stdout
    return [PROJECT_DIR / name for name in out.decode().split("\0") if name]


def findings(path: Path, text: str) -> list[str]:
    in_tests = "tests" in path.parts

    def fake(value: str) -> bool:
        return bool(KNOWN_FAKE.match(value) or (in_tests and TEST_FIXTURE_FAKE.match(value)))

    found = []
    if PRIVATE_KEY.search(text):
        found.append("private key")
    found += [f"{what}" for what, shape in TOKEN_SHAPES.items() if shape.search(text)]
    for line in text.splitlines():
        if ALLOWLIST_PRAGMA in line:
            continue
        for match in ASSIGNMENT.finditer(line):
            key, quoted, value = match.groups()
            code = path.suffix == ".py" and not quoted and PYTHON_CODE.match(value)
            if not (code or NOT_A_SECRET_KEY.match(key) or NOT_A_SECRET.match(value) or fake(value)):
                found.append(f"{key} = {value[:2]}…")
        for match in SHELL_DEFAULT.finditer(line):
            if not fake(match.group(2)):
                found.append(f"{match.group(1)} defaults to {match.group(2)[:2]}…")
        for match in URL_CREDENTIALS.finditer(line):
            if not (NOT_A_SECRET.match(match.group(1)) or fake(match.group(1))):
                found.append(f"URL with password {match.group(1)[:2]}…")
    return found


def test_no_credentials_in_files_that_would_be_committed():
    problems = {}
    files = committable_files()
    assert len(files) > 50
    for path in files:
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        data = path.read_bytes()
        if b"\0" in data[:4096]:
            continue  # binary
        found = findings(path, data.decode("utf-8", "replace"))
        if found:
            problems[str(path.relative_to(PROJECT_DIR))] = found
    assert problems == {}


def test_the_secret_scanner_catches_what_it_is_for():
    # The scan above passing means something only if the scanner flags real credentials.
    fake = "Zq" + secrets.token_hex(6)
    assert findings(Path("x"), f'db_password = "{fake}"\n')
    assert findings(Path("x"), f"API_KEY: {fake}\n")
    assert findings(Path("x"), f"AIRFLOW__API__SECRET_KEY={fake}\n")
    assert findings(Path("x"), f"url: postgresql://airflow:{fake}@postgres/airflow\n")
    assert findings(Path("x"), "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:-" + fake + "}\n")  # pragma: allowlist secret
    assert findings(Path("x"), "-----BEGIN OPENSSH " + "PRIVATE KEY-----\n")
    assert not findings(Path("x"), "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set it in .env}\n")
    assert not findings(Path("x.py"), "password = os.environ['EDUOPEN_DB_PASSWORD']\n")
    assert findings(Path("deploy/x.yml"), "url: postgresql://airflow:airflow@postgres/airflow\n")
    assert not findings(Path("x"), "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE: /opt/airflow/pw.json\n")


def test_env_files_with_secrets_are_ignored_by_git():
    for name in (".env", "deploy/.env"):
        ignored = subprocess.run(["git", "check-ignore", "-q", name], cwd=PROJECT_DIR)
        assert ignored.returncode == 0, f"{name} would be committable"


def test_the_airflow_deployment_requires_login_and_has_no_default_admin_password():
    compose = PROJECT_DIR / "docker-compose.yml"
    if not compose.exists():
        pytest.skip("no docker-compose.yml in this checkout")
    text = compose.read_text(encoding="utf-8")
    assert re.search(r"SIMPLE_AUTH_MANAGER_ALL_ADMINS:\s*[\"']?false", text), "every visitor would be admin"
    assert 'SIMPLE_AUTH_MANAGER_ALL_ADMINS: "true"' not in text
    for key, value in re.findall(r"^\s*(\w*(?:PASSWORD|SECRET)\w*):\s*(.+)$", text, re.M):
        if NOT_A_SECRET_KEY.match(key):
            continue  # e.g. ..._PASSWORDS_FILE: a path
        # Required from .env (`${VAR:?...}`): compose refuses to start without it; no fallback value.
        assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", value.strip().strip("\"'")), f"{key}: {value}"
    yaml.safe_load(text)  # and the file is valid YAML


# -- logs and error messages ----------------------------------------------------------------------
def test_a_password_in_a_source_url_is_masked_in_errors_logs_and_the_fetch_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    password = secrets.token_hex(8)
    with FaultServer() as server:
        server.set("/api/public/versions/default", Reply(503))
        home = Home(tmp_path / "home").ensure()
        sources = write_sources_file(tmp_path / "sources.yml")
        url = f"http://eduopen:{password}@127.0.0.1:{server.port}"
        use_env(monkeypatch, run_env(home, sources, {"EDUOPEN_UIS_URL": url}))
        caplog.set_level(logging.DEBUG)  # the most a run ever logs, urllib3's debug lines included

        with pytest.raises(SourceError) as raised:
            pipeline.ingest(["uis"], home)

        sent = server.requests_for("/api/public/versions/default")
    # The credential is used: every attempt sent it as HTTP basic auth...
    assert len(sent) == 4 and all((r.header("Authorization") or "").startswith("Basic ") for r in sent)
    # ...and it shows nowhere a person or a log shipper would read it.
    message = str(raised.value)
    assert f"eduopen:***@127.0.0.1:{server.port}/api/public/versions/default" in message
    logged_urls = [u for (u,) in query(home.catalog, "select url from fetch_log")]
    assert logged_urls and all("eduopen:***@" in u for u in logged_urls)
    assert password not in "\n".join([message, caplog.text, *logged_urls])


def test_a_token_in_a_query_string_is_masked_in_errors_and_logs(caplog: pytest.LogCaptureFixture):
    token = secrets.token_hex(8)
    with (
        FaultServer() as server,
        PoliteClient("t", user_agent="EduOpenBot/test", min_delay_s=0, max_retries=1, backoff_base_s=0.01) as client,
    ):
        server.set("/data", Reply(503))
        caplog.set_level(logging.DEBUG)

        with pytest.raises(FetchError) as raised:
            client.get(server.url("/data"), params={"indicator": "26637", "access_token": token})

        sent = server.requests_for("/data")
    assert sent and all(token in r.path for r in sent)  # the server got the real token
    assert "access_token=***" in str(raised.value) and "indicator=26637" in str(raised.value)
    assert token not in str(raised.value) and token not in raised.value.url
    assert token not in caplog.text and "access_token=***" in caplog.text


def test_published_warehouse_opens_read_only_for_analysts_and_refuses_writes(clean_run: CleanRun):
    warehouse = Path(clean_run.published) / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute("select count(*) from marts.fct_policy_release").fetchone()[0] > 0
        for statement in (
            "create table marts.mine (x integer)",
            "delete from marts.fct_policy_release",
            "update marts.dim_country set name_en = 'x'",
            "drop table marts.dim_country",
        ):
            with pytest.raises(duckdb.Error, match="read-only"):
                con.execute(statement)
    finally:
        con.close()
    assert query(warehouse, "select count(*) from marts.dim_country")[0][0] > 0  # nothing changed
