"""EduOpen installs into an environment that already pins its own packages (an Airflow image, Astro,
MWAA, Composer): the package's metadata states ranges, Airflow is an extra, and every declared
dependency is one the code uses. Exact versions live in uv.lock alone."""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from eduopen.core.paths import PROJECT_DIR

SHIPPED = ("eduopen", "ingest", "expectations", "dags")

# Declared and never imported by name: what loads them is named here.
LOADED_WITHOUT_IMPORT: dict[str, str] = {}


def project() -> dict:
    return tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def requirement_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower()


def imported_top_modules() -> set[str]:
    modules: set[str] = set()
    for package in SHIPPED:
        for path in (PROJECT_DIR / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    modules.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    modules.add(node.module)
    return modules


@functools.cache
def shipped_paths(distribution: str) -> frozenset[str]:
    return frozenset(str(path) for path in importlib.metadata.files(distribution) or ())


def ships(distribution: str, module: str) -> bool:
    base = module.replace(".", "/")
    paths = shipped_paths(distribution)
    return f"{base}.py" in paths or f"{base}/__init__.py" in paths


def distributions_imported() -> set[str]:
    by_module = importlib.metadata.packages_distributions()
    found: set[str] = set()
    for module in imported_top_modules():
        top = module.split(".")[0]
        owners = by_module.get(top, [])
        # A top-level name several distributions share (`dbt`, `airflow`) counts for the one that
        # ships the imported module, not for every distribution that adds to the namespace.
        if len(set(owners)) > 1:
            owners = [name for name in owners if ships(name, module)] or owners
        found.update(re.sub(r"[-_.]+", "-", name).lower() for name in owners)
        if top == "airflow":
            found.add("apache-airflow")
        # Airflow providers share the `airflow` top-level package: the module path names the provider.
        provider = re.match(r"airflow\.providers\.([a-z_]+)", module)
        if provider:
            found.add("apache-airflow-providers-" + provider[1].replace("_", "-"))
    return found


def test_the_package_states_ranges_and_never_an_exact_pin() -> None:
    meta = project()
    requirements = meta["dependencies"] + [r for extra in meta["optional-dependencies"].values() for r in extra]
    assert requirements
    pinned = [r for r in requirements if "==" in r or "===" in r]
    assert pinned == [], "exact versions belong in uv.lock only"
    unbounded = [r for r in requirements if not re.search(r"[<>~]=?", r)]
    assert unbounded == [], "every dependency states the versions it is known to work with"


def test_airflow_and_cosmos_are_an_extra_not_a_requirement_of_the_core() -> None:
    meta = project()
    core = {requirement_name(r) for r in meta["dependencies"]}
    assert not {n for n in core if n.startswith("apache-airflow") or n == "astronomer-cosmos"}
    extra = {requirement_name(r) for r in meta["optional-dependencies"]["airflow"]}
    assert {"apache-airflow", "astronomer-cosmos"} <= extra


def test_every_declared_dependency_is_used() -> None:
    meta = project()
    declared = {requirement_name(r) for r in meta["dependencies"] + meta["optional-dependencies"]["airflow"]}
    imported = distributions_imported()
    unused = declared - imported - set(LOADED_WITHOUT_IMPORT)
    assert unused == set(), f"declared and never imported by {', '.join(SHIPPED)}: {sorted(unused)}"
    # The allow-list stays honest: an entry the code does import needs no excuse.
    assert set(LOADED_WITHOUT_IMPORT) & imported == set()
    assert not {"psycopg2-binary", "asyncpg"} & declared, "Airflow's own `postgres` extra brings its drivers"


def test_an_installed_wheel_finds_its_dbt_project_suites_sources_and_dags(tmp_path: Path) -> None:
    uv = PROJECT_DIR / ".tools" / "bin" / "uv"
    if not uv.exists():
        pytest.skip("uv is installed by `make env` into .tools/")
    subprocess.run(
        [str(uv), "build", "--wheel", "--quiet", "--out-dir", str(tmp_path / "dist")], cwd=PROJECT_DIR, check=True
    )
    (wheel,) = (tmp_path / "dist").glob("eduopen-*.whl")
    members = zipfile.ZipFile(wheel).namelist()
    assert not [m for m in members if m.split("/")[0] in {"demo", "bench", "tests"}], "only what ships"
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    # The wheel's packages first on the path, the environment's dependencies after them; run
    # outside the checkout so nothing is found beside it by accident.
    probe = (
        "from eduopen.core import paths; import json; print(json.dumps({n: str(getattr(paths, n)) for n in "
        "('DBT_PROJECT_DIR', 'DAGS_DIR', 'EXPECTATIONS_DIR', 'DEFAULT_SOURCES_FILE')}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        check=True,
    )
    found = {name: Path(value) for name, value in json.loads(out.stdout).items()}
    assert all(path.is_relative_to(site) for path in found.values()), found
    assert (found["DBT_PROJECT_DIR"] / "dbt_project.yml").is_file()
    assert (found["DBT_PROJECT_DIR"] / "models" / "marts" / "fct_policy_release.sql").is_file()
    assert sorted(p.name for p in found["DAGS_DIR"].glob("eduopen_*.py")) == sorted(
        p.name for p in (PROJECT_DIR / "dags").glob("eduopen_*.py")
    )
    assert list((found["EXPECTATIONS_DIR"] / "suites").glob("*.json"))
    assert found["DEFAULT_SOURCES_FILE"].is_file()
