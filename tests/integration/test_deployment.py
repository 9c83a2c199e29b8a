"""The Docker deployment (docker-compose.yml, Dockerfile, .env.example, deploy/), checked without Docker.

No Docker engine runs here. So the compose file is validated against the Compose Specification's
JSON schema (vendored under tests/data/compose-spec/, never fetched) and against the rules the
deployment relies on, with Compose's variable interpolation reproduced for the `.env` a user
would have; the Dockerfile is checked against uv.lock, and its lock export runs for real; the
start scripts of deploy/ run for real with a stand-in `airflow` command. Where a Compose v2 CLI
exists (`docker compose` or `docker-compose`), `config` checks the file as well; else that test
skips.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from eduopen.core.paths import PROJECT_DIR
from eduopen.orchestration.pools import WRITER_POOL

pytestmark = pytest.mark.timeout(120)

COMPOSE_FILE = PROJECT_DIR / "docker-compose.yml"
DOCKERFILE = PROJECT_DIR / "Dockerfile"
ENV_EXAMPLE = PROJECT_DIR / ".env.example"
DOCKERIGNORE = PROJECT_DIR / ".dockerignore"
DEPLOY_DIR = PROJECT_DIR / "deploy"
SCHEMA_FILE = Path(__file__).resolve().parents[1] / "data" / "compose-spec" / "compose-spec.json"
PLACEHOLDER = "change-me"

AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}
CELERY_SERVICES = {"redis", "airflow-worker"}
DOCS_SERVICE = "eduopen-docs"
EXPECTED_SERVICES = AIRFLOW_SERVICES | {"postgres", "redis", DOCS_SERVICE}
# Host ports, each on loopback unless .env opens it: the UI and REST API, and the docs server.
PUBLISHED_PORTS = {"airflow-apiserver": ["127.0.0.1:8080:8080"], DOCS_SERVICE: ["127.0.0.1:8081:8081"]}
READ_ONLY_CODE_MOUNTS = {
    "./dags": "/opt/eduopen/dags",
    "./dbt_project": "/opt/eduopen/dbt_project",
    "./expectations": "/opt/eduopen/expectations",
}


# --- Compose's variable interpolation (the subset of the spec the file uses, and its errors) -----


class MissingVariable(Exception):
    """`${NAME:?message}` (or `${NAME?message}`) with NAME unset: Compose refuses the file."""


_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def _substitute(text: str, env: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["name"] or match["bare"]
        op, arg = match["op"], match["arg"] or ""
        value = env.get(name)
        unset_or_empty = value is None or (value == "" and bool(op) and op.startswith(":"))
        if op in (":-", "-"):
            return arg if unset_or_empty else value
        if op in (":?", "?"):
            if unset_or_empty:
                raise MissingVariable(f"{name}: {arg}")
            return value
        if op in (":+", "+"):
            return "" if unset_or_empty else arg
        return value or ""

    return _VARIABLE.sub(one, text)


def interpolate(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return _substitute(node, env)
    if isinstance(node, list):
        return [interpolate(item, env) for item in node]
    if isinstance(node, dict):
        return {key: interpolate(value, env) for key, value in node.items()}
    return node


def variables_used(node: Any) -> set[str]:
    """Variables a string (or every string of a loaded YAML document) reads; comments are gone."""
    if isinstance(node, str):
        return {m["name"] or m["bare"] for m in _VARIABLE.finditer(node) if not m["escaped"]}
    if isinstance(node, dict):
        node = [*node.keys(), *node.values()]
    if isinstance(node, list):
        return set().union(*map(variables_used, node)) if node else set()
    return set()


# --- the files ------------------------------------------------------------------------------------


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a dotenv file (comments and blanks skipped)."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line.strip())
        if match:
            values[match[1]] = match[2]
    return values


def documented_names(path: Path) -> set[str]:
    """Names .env.example sets or shows commented out (`# NAME=value`)."""
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", path.read_text(encoding="utf-8"), flags=re.M))


def secret_names() -> set[str]:
    return {name for name, value in read_env_file(ENV_EXAMPLE).items() if value == PLACEHOLDER}


@pytest.fixture(scope="module")
def compose_raw() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def generated_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The .env `python3 deploy/new_env.py` writes, as a user would have it."""
    path = tmp_path_factory.mktemp("env") / ".env"
    run_new_env(path)
    return read_env_file(path)


@pytest.fixture(scope="module")
def compose(compose_raw: dict[str, Any], generated_env: dict[str, str]) -> dict[str, Any]:
    """The compose model after interpolation with the generated .env (what `docker compose` runs)."""
    return interpolate(compose_raw, generated_env)


def service_env(model: Mapping[str, Any], service: str) -> dict[str, str]:
    env = model["services"][service].get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def depends_on(service: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: {"condition": "service_started"} for name in deps}
    return deps


def run_new_env(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(DEPLOY_DIR / "new_env.py"), str(path), *extra],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


# --- the Compose Specification --------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema_validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def _schema_errors(validator: jsonschema.Draft7Validator, document: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(document)]


def test_vendored_schema_is_the_file_its_provenance_note_names() -> None:
    import hashlib

    note = (SCHEMA_FILE.parent / "README.md").read_text(encoding="utf-8")
    recorded = re.search(r"sha256 of `compose-spec.json`: `([0-9a-f]{64})`", note)[1]
    assert hashlib.sha256(SCHEMA_FILE.read_bytes()).hexdigest() == recorded


def test_compose_file_conforms_to_the_compose_specification_schema(
    schema_validator: jsonschema.Draft7Validator, compose_raw: dict[str, Any], compose: dict[str, Any]
) -> None:
    assert _schema_errors(schema_validator, compose_raw) == []
    assert _schema_errors(schema_validator, compose) == []


def test_schema_check_rejects_what_compose_would_reject(
    schema_validator: jsonschema.Draft7Validator, compose_raw: dict[str, Any]
) -> None:
    broken = copy.deepcopy(compose_raw)
    broken["services"]["airflow-scheduler"]["depends_on"]["postgres"]["condition"] = "service_ready"
    broken["services"]["postgres"]["healthcheck"]["retry"] = 5
    errors = _schema_errors(schema_validator, broken)
    assert any("service_ready" in e for e in errors), errors
    assert any("retry" in e for e in errors), errors


def test_compose_file_uses_no_obsolete_top_level_version(compose_raw: dict[str, Any]) -> None:
    assert "version" not in compose_raw


# --- variables and secrets ------------------------------------------------------------------------


def test_every_variable_the_compose_file_reads_is_documented_in_env_example(
    compose_raw: dict[str, Any],
) -> None:
    used = variables_used(compose_raw)
    assert used, "the compose file reads no variable at all?"
    assert used - documented_names(ENV_EXAMPLE) == set()


def test_every_secret_is_required_from_env_with_no_default() -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    secrets = secret_names()
    assert {
        "POSTGRES_PASSWORD",
        "AIRFLOW_ADMIN_PASSWORD",
        "AIRFLOW_FERNET_KEY",
        "AIRFLOW_JWT_SECRET",
        "AIRFLOW_API_SECRET_KEY",
        "REDIS_PASSWORD",
    } <= secrets
    for name in secrets:
        uses = re.findall(r"\$\{" + name + r"([^}]*)\}", text)
        assert uses, f"{name} is in .env.example but the compose file never reads it"
        assert all(use.startswith(":?") for use in uses), f"{name} must be read as ${{{name}:?...}}: {uses}"


@pytest.mark.parametrize("secret", sorted(secret_names()))
def test_compose_refuses_to_start_without_each_secret(
    compose_raw: dict[str, Any], generated_env: dict[str, str], secret: str
) -> None:
    env = {k: v for k, v in generated_env.items() if k != secret}
    with pytest.raises(MissingVariable, match=secret):
        interpolate(compose_raw, env)


_URL_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]*:([^@\s/]+)@")
# An upper-case setting (`NAME: value`, `NAME=value`) or a lower-case shell/Python variable
# (`password=value`); not `${NAME:?...}`, which reads the environment.
_SECRET_ASSIGNMENT = re.compile(
    r"(?<![{$\w])(?:([A-Z0-9_]*(?:PASSWORD|PASSWD|SECRET|TOKEN|FERNET_KEY|API_KEY)[A-Z0-9_]*)\s*[:=]"
    r"|([a-z0-9_]*(?:password|passwd|secret|token)[a-z0-9_]*)=)"
    r"\s*['\"]?([^\s'\"#,)]*)"
)


def literal_secrets(text: str) -> list[str]:
    """Password-looking values written out literally (not read from the environment)."""
    found = []
    for match in _URL_PASSWORD.finditer(text):
        if not match[1].startswith("${"):
            found.append(match[0])
    for match in _SECRET_ASSIGNMENT.finditer(text):
        name, value = match[1] or match[2], match[3]
        if name.upper().endswith("_FILE") or not value or value == PLACEHOLDER or value.startswith("$"):
            continue
        found.append(match[0])
    return found


def deployment_files() -> list[Path]:
    files = [COMPOSE_FILE, DOCKERFILE, ENV_EXAMPLE, DOCKERIGNORE]
    files += [p for p in DEPLOY_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return files


def test_no_literal_passwords_in_the_deployment_files() -> None:
    leaks = {
        str(p.relative_to(PROJECT_DIR)): found
        for p in deployment_files()
        if (found := literal_secrets(p.read_text(encoding="utf-8")))
    }
    assert leaks == {}


def test_literal_secret_detector_flags_planted_passwords() -> None:
    planted = textwrap.dedent("""
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: postgresql+psycopg2://airflow:airflow@postgres/airflow
        POSTGRES_PASSWORD: hunter2hunter2
        export AIRFLOW__API_AUTH__JWT_SECRET=abc123
        admin_password="letmein-please"
    """)
    assert len(literal_secrets(planted)) == 4
    read_from_env = "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set it}\nREDIS_PASSWORD=change-me\n"
    assert literal_secrets(read_from_env) == []


def test_env_file_is_kept_out_of_git_and_out_of_the_image() -> None:
    if shutil.which("git") is None or not (PROJECT_DIR / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(["git", "check-ignore", "--quiet", ".env"], cwd=PROJECT_DIR, check=False)
    assert ignored.returncode == 0, ".gitignore must ignore .env"
    tracked = subprocess.run(
        ["git", "ls-files", "--", ".env"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    )
    assert tracked.stdout.strip() == ""
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    # An allow-list: everything is excluded, then only the named paths come back.
    assert patterns[0] == "*"
    allowed = [p[1:].rstrip("/") for p in patterns if p.startswith("!")]
    assert not any(p in {".env", "data", ".venv", ".git"} or p.startswith(".env") for p in allowed), allowed


def test_secrets_reach_airflow_only_through_settings_its_secret_masker_redacts(
    compose_raw: dict[str, Any], tmp_path: Path
) -> None:
    """Airflow's secret masker redacts the values of the settings it marks sensitive wherever they
    would reach a log; a secret must not travel in any other AIRFLOW__ setting. Celery's settings
    come from its provider, which uv.lock lacks (the image ships it): checked where it is installed."""
    secrets = secret_names()
    carriers = set()
    for name in compose_raw["services"]:
        for key, value in service_env(compose_raw, name).items():
            if key.startswith("AIRFLOW__") and variables_used(value) & secrets:
                section, option = key[len("AIRFLOW__") :].lower().split("__", 1)
                carriers.add((section, option))
    assert ("database", "sql_alchemy_conn") in carriers
    probe = (
        "import json, importlib.util; from airflow.configuration import conf; "
        "print(json.dumps({'sensitive': sorted(map(list, conf.sensitive_config_values)), "
        "'celery_provider': importlib.util.find_spec('airflow.providers.celery') is not None}))"
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow")}
    env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=90, check=True
    ).stdout
    described = json.loads(out.strip().splitlines()[-1])
    sensitive = {tuple(pair) for pair in described["sensitive"]}
    # Without the provider Airflow knows [celery] only from fallback defaults, without the
    # `sensitive: true` its provider.yaml gives broker_url and result_backend.
    unchecked = set() if described["celery_provider"] else {c for c in carriers if c[0] == "celery"}
    assert unchecked <= {("celery", "broker_url"), ("celery", "result_backend")}
    assert carriers - unchecked - sensitive == set()


# --- services, dependencies, profiles -------------------------------------------------------------


def test_the_deployment_has_exactly_the_expected_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == EXPECTED_SERVICES


def test_dependencies_exist_and_wait_for_health_or_completion(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for target, spec in depends_on(service).items():
            assert target in services, f"{name} depends on unknown service {target}"
            condition = spec["condition"]
            assert condition in {"service_healthy", "service_completed_successfully"}, (name, target)
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits for {target}'s health: none"
            else:
                assert services[target].get("restart") == "no", f"{target} must be a one-shot service"
            # A service outside the celery profile cannot require one inside it.
            if set(services[target].get("profiles", [])) - set(service.get("profiles", [])):
                assert spec.get("required") is False, f"{name} must not require {target} (profile)"
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        assert depends_on(services[name])["airflow-init"]["condition"] == "service_completed_successfully"
        assert depends_on(services[name])["postgres"]["condition"] == "service_healthy"
    # Compose starts services in dependency order: there must be one.
    started: list[str] = []
    while len(started) < len(services):
        ready = [n for n in services if n not in started and set(depends_on(services[n])) <= set(started)]
        assert ready, f"dependency cycle among {set(services) - set(started)}"
        started += ready


def test_long_running_services_have_healthchecks_and_restart(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if name == "airflow-init":
            continue
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        assert service.get("restart") in {"always", "unless-stopped"}, name


def test_celery_profile_adds_redis_and_workers_only(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        expected = ["celery"] if name in CELERY_SERVICES else None
        assert service.get("profiles") == expected, name
    assert compose["services"]["airflow-worker"]["command"][-1].endswith("celery-worker.sh")


def test_executor_defaults_to_local_and_switches_for_every_component_together(
    compose_raw: dict[str, Any], generated_env: dict[str, str]
) -> None:
    without = {k: v for k, v in generated_env.items() if k != "AIRFLOW_EXECUTOR"}
    for env, expected in (
        (without, "LocalExecutor"),
        ({**without, "AIRFLOW_EXECUTOR": "CeleryExecutor"}, "CeleryExecutor"),
    ):
        model = interpolate(compose_raw, env)
        assert {service_env(model, s)["AIRFLOW__CORE__EXECUTOR"] for s in AIRFLOW_SERVICES} == {expected}


def test_api_server_publishes_8080_on_loopback_and_requires_login(compose: dict[str, Any]) -> None:
    api = compose["services"]["airflow-apiserver"]
    assert api["ports"] == ["127.0.0.1:8080:8080"]
    assert "/api/v2/monitor/health" in " ".join(api["healthcheck"]["test"])
    env = service_env(compose, "airflow-apiserver")
    assert env["AIRFLOW__CORE__AUTH_MANAGER"].endswith(".SimpleAuthManager")
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] == "false"
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "admin:admin"
    # The admin password reaches the API server and nothing else.
    holders = {s for s in compose["services"] if "AIRFLOW_ADMIN_PASSWORD" in service_env(compose, s)}
    assert holders == {"airflow-apiserver"}
    for name, service in compose["services"].items():
        assert service.get("ports", []) == PUBLISHED_PORTS.get(name, []), f"{name} publishes an unexpected port"


def test_docs_service_serves_eduopen_home_read_only_without_airflow_or_secrets(compose: dict[str, Any]) -> None:
    docs = compose["services"][DOCS_SERVICE]
    assert [*docs["entrypoint"], *docs["command"]][-7:] == [
        "eduopen.cli",
        "docs",
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        "8081",
    ]
    env = service_env(compose, DOCS_SERVICE)
    assert env["EDUOPEN_HOME"] == "/opt/eduopen/data"
    assert not [n for n in env if re.search(r"PASSWORD|SECRET|FERNET|SQL_ALCHEMY|BROKER|BACKEND", n)], env
    assert docs["volumes"] == ["eduopen-data:/opt/eduopen/data:ro"]
    assert docs["init"] is True
    assert "8081/" in " ".join(docs["healthcheck"]["test"])
    # The UI links where the host reaches it.
    assert service_env(compose, "airflow-apiserver")["EDUOPEN_DOCS_BASE_URL"] == "http://localhost:8081"


def test_code_is_mounted_read_only_and_eduopen_home_is_a_volume(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name in AIRFLOW_SERVICES:
        service = compose["services"][name]
        mounts = {}
        for volume in service["volumes"]:
            source, target, *mode = volume.split(":")
            mounts[target] = (source, mode)
        for source, target in READ_ONLY_CODE_MOUNTS.items():
            assert mounts[target] == (source, ["ro"]), (name, target)
            assert (PROJECT_DIR / source).is_dir()
        home = service_env(compose, name)["EDUOPEN_HOME"]
        assert mounts[home][0] in declared, f"{name}: EDUOPEN_HOME ({home}) is not on a named volume"
        assert mounts["/opt/airflow/logs"][0] in declared
        for env_file in service.get("env_file", []):
            path = env_file if isinstance(env_file, str) else env_file["path"]
            assert (PROJECT_DIR / path).is_file(), path
    assert "postgres-db" in declared


def test_env_file_of_the_containers_holds_no_secret() -> None:
    text = (DEPLOY_DIR / "eduopen.env").read_text(encoding="utf-8")
    names = re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, flags=re.M)
    assert names and all(n.startswith("EDUOPEN_") for n in names), names
    assert literal_secrets(text) == []


def test_third_party_images_are_pinned(compose: dict[str, Any]) -> None:
    images = {name: s["image"] for name, s in compose["services"].items() if "build" not in s}
    assert set(images) == {"postgres", "redis"}
    assert re.fullmatch(r"postgres:16\.\d+(-\w+)?", images["postgres"]), images["postgres"]
    assert re.fullmatch(r"redis:7\.2\.\d+(-\w+)?", images["redis"]), images["redis"]


# --- the Dockerfile and the lock ------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(KEYWORD, arguments) of each Dockerfile instruction, continuation lines joined."""
    instructions, pending = [], ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).strip().partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        pending = ""
    return instructions


def instruction_args(keyword: str) -> list[str]:
    return [args for kw, args in dockerfile_instructions() if kw == keyword]


def locked_version(package: str) -> str:
    lock = tomllib.loads((PROJECT_DIR / "uv.lock").read_text(encoding="utf-8"))
    return next(p["version"] for p in lock["package"] if p["name"] == package)


def dockerfile_arg(name: str) -> str:
    values = [args.split("=", 1)[1] for args in instruction_args("ARG") if args.startswith(f"{name}=")]
    assert values, f"Dockerfile declares no ARG {name}"
    return values[0]


def test_dockerfile_builds_from_the_official_image_of_the_locked_airflow_and_python() -> None:
    image = dockerfile_arg("AIRFLOW_IMAGE")
    python = re.search(
        r'requires-python = ">=(\d+\.\d+)', (PROJECT_DIR / "pyproject.toml").read_text(encoding="utf-8")
    )[1]
    assert image == f"apache/airflow:{locked_version('apache-airflow')}-python{python}"
    froms = [args.split()[0] for args in instruction_args("FROM")]
    assert froms and all(f == "${AIRFLOW_IMAGE}" for f in froms), froms


def test_dockerfile_pins_the_uv_of_the_makefile() -> None:
    makefile = (PROJECT_DIR / "Makefile").read_text(encoding="utf-8")
    assert dockerfile_arg("UV_VERSION") == re.search(r"^UV_VERSION := (\S+)$", makefile, flags=re.M)[1]


def test_dockerfile_installs_the_locked_dependencies_and_the_project_as_airflow() -> None:
    runs = instruction_args("RUN")
    assert any("uv export --frozen --no-dev --extra airflow --extra celery --no-emit-project" in run for run in runs)
    install = "pip install --no-cache-dir --require-hashes --requirement /opt/eduopen/requirements.txt"
    assert any(install in run for run in runs)
    assert any("pip install --no-cache-dir --no-deps --editable /opt/eduopen" in run for run in runs)
    users = instruction_args("USER")
    assert users and users[-1] == "airflow"
    copied = {
        source.rstrip("/")
        for args in instruction_args("COPY")
        if not args.startswith("--from")
        for source in args.split()[:-1]
    }
    assert {"ingest", "expectations", "dbt_project", "dags", "pyproject.toml", "uv.lock"} <= copied
    # Everything the build copies must pass the .dockerignore allow-list.
    allowed = {p[1:].rstrip("/") for p in DOCKERIGNORE.read_text(encoding="utf-8").split() if p.startswith("!")}
    assert copied <= allowed, copied - allowed
    # The airflow CLI writes an airflow.cfg with generated keys: never at build time.
    assert not [run for run in runs if re.search(r"(^|[;&|]\s*)airflow\s", run)]
    declared = instruction_args("ENV") + instruction_args("ARG")
    names = [
        re.split(r"[= ]", item, maxsplit=1)[0]
        for args in declared
        for item in re.findall(r"[A-Za-z_][A-Za-z0-9_]*=\S*|^[A-Za-z_][A-Za-z0-9_]*$", args)
    ]
    assert names and not [n for n in names if re.search(r"PASSWORD|SECRET|FERNET|TOKEN", n, flags=re.I)]


def test_lock_export_of_the_dockerfile_yields_hashed_pins_of_runtime_packages(tmp_path: Path) -> None:
    uv = PROJECT_DIR / ".tools" / "bin" / "uv"
    if not uv.exists():
        pytest.skip("uv is installed by `make env` into .tools/")
    command = re.search(r"uv export (.+?) --output-file", DOCKERFILE.read_text(encoding="utf-8"))[1].split()
    out = tmp_path / "requirements.txt"
    subprocess.run(
        [str(uv), "export", *command, "--output-file", str(out)],
        cwd=PROJECT_DIR,
        check=True,
        capture_output=True,
        timeout=60,
        env={**os.environ, "UV_OFFLINE": "1"},
    )
    text = out.read_text(encoding="utf-8")
    pins = dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==([^\s;\\]+)", text, flags=re.M))
    assert pins["apache-airflow"] == locked_version("apache-airflow")
    assert pins["dbt-core"] == locked_version("dbt-core")
    assert pins["duckdb"] == locked_version("duckdb")
    assert not {"pytest", "ruff", "eduopen"} & set(pins)
    blocks = re.split(r"\n(?=[a-z0-9])", text.strip())
    assert all("--hash=sha256:" in block for block in blocks)
    # The Dockerfile's guard reads the Airflow pin back with this sed expression.
    sed = re.search(r"sed -n '([^']+)'", DOCKERFILE.read_text(encoding="utf-8"))[1]
    read_back = subprocess.run(["sed", "-n", sed, str(out)], capture_output=True, text=True, check=True)
    assert read_back.stdout.strip() == locked_version("apache-airflow")


# --- the start scripts, run for real with a stand-in `airflow` --------------------------------------

FAKE_AIRFLOW = """#!/bin/sh
printf '%s\\n' "$*" >> "$FAKE_AIRFLOW_LOG"
if [ -n "${AIRFLOW_ADMIN_PASSWORD+set}" ]; then echo "SAW AIRFLOW_ADMIN_PASSWORD" >> "$FAKE_AIRFLOW_LOG"; fi
"""


class Container:
    """One service's environment from the compose file, with `airflow` replaced by a recorder."""

    def __init__(self, root: Path, env: Mapping[str, str]):
        self.root = root
        self.log = root / "airflow-calls.log"
        bin_dir = root / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        fake = bin_dir / "airflow"
        fake.write_text(FAKE_AIRFLOW, encoding="utf-8")
        fake.chmod(0o755)
        self.env = {
            **env,
            "PATH": os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
            "PYTHONPATH": str(PROJECT_DIR),
            "HOME": str(root),
            "FAKE_AIRFLOW_LOG": str(self.log),
            "EDUOPEN_HOME": str(root / "eduopen-home"),
        }

    def run(self, script: str, **overrides: str | None) -> subprocess.CompletedProcess[str]:
        env = dict(self.env)
        for key, value in overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return subprocess.run(
            ["bash", str(DEPLOY_DIR / script)], env=env, capture_output=True, text=True, timeout=60, check=False
        )

    def airflow_calls(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").splitlines() if self.log.exists() else []


@pytest.fixture
def container(compose: dict[str, Any], tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Container]:
    service = getattr(request, "param", "airflow-init")
    yield Container(tmp_path, service_env(compose, service))


def test_init_migrates_creates_the_writer_pool_lays_out_eduopen_home_and_the_dbt_manifest(
    container: Container,
) -> None:
    result = container.run("init.sh")
    assert result.returncode == 0, result.stderr
    assert container.airflow_calls() == [
        "db migrate",
        f"pools set {WRITER_POOL} 1 EduOpen: one writer per DuckDB file at a time",
    ]
    home = Path(container.env["EDUOPEN_HOME"])
    assert (home / "raw").is_dir() and (home / "landing").is_dir()
    # The warehouse DAG's dbt tasks come from this manifest, built from the (mounted) dbt project.
    assert "nodes" in json.loads((home / "dbt" / "manifest.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "variable",
    [
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__API__SECRET_KEY",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    ],
)
def test_init_refuses_the_env_example_placeholders(container: Container, variable: str) -> None:
    placeholder = (
        f"postgresql+psycopg2://airflow:{PLACEHOLDER}@postgres/airflow"
        if variable.endswith("SQL_ALCHEMY_CONN")
        else PLACEHOLDER
    )
    result = container.run("init.sh", **{variable: placeholder})
    assert result.returncode != 0
    assert "placeholder" in result.stderr and "deploy/new_env.py" in result.stderr
    assert container.airflow_calls() == []


def test_init_refuses_a_malformed_fernet_key_without_printing_it(container: Container) -> None:
    result = container.run("init.sh", AIRFLOW__CORE__FERNET_KEY="not-a-fernet-key-but-long-enough")
    assert result.returncode != 0
    assert "AIRFLOW_FERNET_KEY" in result.stderr and "not-a-fernet-key" not in result.stderr
    assert container.airflow_calls() == []


def test_init_refuses_celery_executor_without_the_celery_profile(container: Container) -> None:
    # A broker host that cannot resolve, as `redis` does not when its profile is off.
    broker = container.env["AIRFLOW__CELERY__BROKER_URL"].replace("@redis:", "@redis.invalid:")
    result = container.run("init.sh", AIRFLOW__CORE__EXECUTOR="CeleryExecutor", AIRFLOW__CELERY__BROKER_URL=broker)
    assert result.returncode != 0 and "COMPOSE_PROFILES=celery" in result.stderr
    assert container.airflow_calls() == []
    broker = container.env["AIRFLOW__CELERY__BROKER_URL"].replace("@redis:", "@localhost:")
    result = container.run("init.sh", AIRFLOW__CORE__EXECUTOR="CeleryExecutor", AIRFLOW__CELERY__BROKER_URL=broker)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("container", ["airflow-apiserver"], indirect=True)
def test_api_server_writes_the_password_file_owner_only_and_hides_the_password(
    container: Container, tmp_path: Path
) -> None:
    passwords = tmp_path / "passwords.json"
    password = container.env["AIRFLOW_ADMIN_PASSWORD"]
    result = container.run("api-server.sh", AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(passwords))
    assert result.returncode == 0, result.stderr
    assert json.loads(passwords.read_text(encoding="utf-8")) == {"admin": password}
    assert stat.S_IMODE(passwords.stat().st_mode) == 0o600
    # The API server runs without the password in its environment, and nothing printed it.
    assert container.airflow_calls() == ["api-server"]
    assert password not in result.stdout + result.stderr


@pytest.mark.parametrize("container", ["airflow-apiserver"], indirect=True)
@pytest.mark.parametrize(
    ("password", "reason"),
    [
        (PLACEHOLDER, "placeholder"),
        ("", "set AIRFLOW_ADMIN_PASSWORD"),
        ("short-pw", "at least 12 characters"),
    ],
)
def test_api_server_refuses_a_placeholder_missing_or_short_password(
    container: Container, tmp_path: Path, password: str, reason: str
) -> None:
    passwords = tmp_path / "passwords.json"
    result = container.run(
        "api-server.sh",
        AIRFLOW_ADMIN_PASSWORD=password,
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(passwords),
    )
    assert result.returncode != 0 and reason in result.stderr
    assert not passwords.exists()
    assert container.airflow_calls() == []


@pytest.mark.parametrize("container", ["airflow-worker"], indirect=True)
def test_celery_worker_starts_only_under_the_celery_executor(container: Container) -> None:
    result = container.run("celery-worker.sh")  # the default .env: LocalExecutor
    assert result.returncode != 0 and "AIRFLOW_EXECUTOR=CeleryExecutor" in result.stderr
    assert container.airflow_calls() == []
    result = container.run("celery-worker.sh", AIRFLOW__CORE__EXECUTOR="CeleryExecutor")
    assert result.returncode == 0, result.stderr
    assert container.airflow_calls() == ["celery worker"]


# --- deploy/new_env.py ----------------------------------------------------------------------------


def test_new_env_generates_every_secret_in_a_private_file(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    path = tmp_path / ".env"
    result = run_new_env(path)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    values = read_env_file(path)
    example = read_env_file(ENV_EXAMPLE)
    assert set(values) == set(example)
    generated = {name: values[name] for name in secret_names()}
    assert PLACEHOLDER not in values.values()
    assert len(set(generated.values())) == len(generated), "each secret must be drawn separately"
    Fernet(generated.pop("AIRFLOW_FERNET_KEY"))
    # Usable unescaped inside connection URLs, long enough for the API server's password rule.
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32,}", value) for value in generated.values()), generated
    assert all(values[name] == value for name, value in example.items() if value != PLACEHOLDER)
    printed = result.stdout + result.stderr
    assert not [name for name in secret_names() if values[name] in printed]


def test_new_env_never_overwrites_an_existing_env(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("AIRFLOW_FERNET_KEY=keep-me\n", encoding="utf-8")
    result = run_new_env(path)
    assert result.returncode == 1 and "not overwriting" in result.stderr
    assert path.read_text(encoding="utf-8") == "AIRFLOW_FERNET_KEY=keep-me\n"


# --- Docker Compose itself, where its CLI exists -----------------------------------------------------


def compose_cli() -> list[str] | None:
    """`docker compose` (the plugin) or a standalone Compose v2 `docker-compose`, if present."""
    candidates = []
    if shutil.which("docker"):
        candidates.append(["docker", "compose"])
    if shutil.which("docker-compose"):
        candidates.append(["docker-compose"])
    for cli in candidates:
        probe = subprocess.run([*cli, "version", "--short"], capture_output=True, text=True, timeout=30, check=False)
        if probe.returncode == 0 and re.match(r"v?2\.", probe.stdout.strip()):
            return cli
    return None


@pytest.mark.parametrize("profiles", ["", "celery"])
def test_docker_compose_config_accepts_the_file(tmp_path: Path, profiles: str) -> None:
    cli = compose_cli()
    if cli is None:
        pytest.skip("no Compose v2 CLI (`docker compose` or `docker-compose`) on this machine")
    env_file = tmp_path / ".env"
    assert run_new_env(env_file).returncode == 0
    if profiles:
        with env_file.open("a", encoding="utf-8") as out:
            out.write(f"COMPOSE_PROFILES={profiles}\nAIRFLOW_EXECUTOR=CeleryExecutor\n")
    result = subprocess.run(
        [
            *cli,
            "--project-directory",
            str(PROJECT_DIR),
            "--env-file",
            str(env_file),
            "--file",
            str(COMPOSE_FILE),
            "config",
            "--services",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")},
    )
    assert result.returncode == 0, result.stderr
    expected = EXPECTED_SERVICES if profiles else EXPECTED_SERVICES - CELERY_SERVICES
    assert set(result.stdout.split()) == expected
