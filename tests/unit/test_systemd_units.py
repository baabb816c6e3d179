"""The systemd units of infra/deploy/systemd/, checked by systemd itself.

``systemd-analyze verify`` reads each unit as systemd would load it (unknown keys,
bad values, an ExecStart that is not executable) and says so on its output. The
units name the checkout as /opt/library, where a campus host keeps it; here they
are rendered with this checkout's path so every path they name exists.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

from shared.config import REPO_ROOT, SERVICES

UNITS = REPO_ROOT / "infra" / "deploy" / "systemd"
INSTALLED_AT = "/opt/library"
ONCE_A_HOST = [s for s in (*SERVICES, "gateway", "sip2") if s != "circulation"]
HARDENING = ("NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes")


def render(directory: Path, checkout: Path = REPO_ROOT) -> list[str]:
    """Every unit with ``checkout`` for /opt/library, in ``directory``; their names."""
    names = []
    for unit in sorted(UNITS.glob("library*.*")):
        if unit.suffix in (".service", ".target"):
            text = unit.read_text().replace(INSTALLED_AT, str(checkout))
            (directory / unit.name).write_text(text)
            names.append(unit.name)
    return names


def verify(directory: Path, names: list[str]) -> tuple[int, list[str]]:
    """systemd-analyze verify's exit status and what it said about our units."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is missing: install Debian's systemd (make test does)")
    completed = subprocess.run(
        [analyze, "verify", *names], cwd=directory, capture_output=True, text=True, timeout=60
    )
    said = (completed.stdout + completed.stderr).splitlines()
    return completed.returncode, [line for line in said if "library" in line]


def settings(name: str) -> list[str]:
    return [line.strip() for line in (UNITS / name).read_text().splitlines()]


def test_there_is_a_unit_per_service_and_a_template_for_circulation_instances():
    names = {path.name for path in UNITS.glob("*.service")}
    assert names == {f"library-{s}.service" for s in ONCE_A_HOST} | {"library-circulation@.service"}
    assert "Environment=LIBRARY_INSTANCE=%i" in settings("library-circulation@.service")


def test_each_unit_restarts_on_failure_as_the_services_own_user_with_the_hosts_env():
    for name in (f"library-{s}.service" for s in [*ONCE_A_HOST, "circulation@"]):
        lines = settings(name)
        service = name.removeprefix("library-").removesuffix(".service").rstrip("@")
        assert "Restart=on-failure" in lines, name
        assert f"User=library-{service}" in lines, name
        assert not any(line.startswith("DynamicUser") for line in lines), name
        assert "EnvironmentFile=/etc/library/library.env" in lines, name
        assert f"ExecStart={INSTALLED_AT}/infra/deploy/systemd/library-run {service}" in lines
        assert set(HARDENING) <= set(lines), name


def test_systemd_analyze_verify_finds_nothing_to_say_about_the_units(tmp_path):
    names = render(tmp_path)
    code, said = verify(tmp_path, [*names, "library-circulation@2.service"])
    assert (code, said) == (0, [])


def test_systemd_analyze_verify_would_tell_a_broken_unit(tmp_path):
    """The check above is a real one: a unit whose program is missing is reported."""
    names = render(tmp_path, checkout=tmp_path / "gone")
    code, said = verify(tmp_path, ["library-catalog.service"])
    assert code != 0 and any("is not executable" in line for line in said), said
    assert names
