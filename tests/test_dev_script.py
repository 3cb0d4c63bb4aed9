"""./dev and its Debian helper leave the host alone: no kill by name, no service started, no MTA replaced."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mailsupport.testing.realservers import other_mail_transport_agents

REPO = Path(__file__).resolve().parents[1]
HELPER = REPO / "tools" / "debian-packages"
KILL_BY_NAME = re.compile(r"\b(" + "p" + "kill|kill" + "all)\b")

pytestmark = pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="needs Debian's dpkg-query")

_STANZA = """Package: {name}
Status: install ok installed
Priority: optional
Section: mail
Maintainer: nobody <nobody@example.invalid>
Architecture: all
Version: 1.0
Provides: {provides}
Description: {name}

"""

#: A stand-in for apt-get (the real one would change this machine): logs its arguments and
#: what the service policy answers while it runs; FAIL_APT=1 makes "install" fail.
_FAKE_APT = """#!/bin/sh
policy="$DEBIAN_ROOT/usr/sbin/policy-rc.d"
if [ -x "$policy" ]; then "$policy" postfix start; echo "policy-exit $?" >> "$APT_LOG"; else echo "no-policy" >> "$APT_LOG"; fi
echo "args $*" >> "$APT_LOG"
case "$*" in *install*) [ "${FAIL_APT:-0}" = 1 ] && exit 100 ;; esac
exit 0
"""


def _all_script_and_code_files() -> list[Path]:
    files = [REPO / "dev", *sorted((REPO / "tools").iterdir()), *sorted((REPO / ".ci").iterdir())]
    for folder in ("mailsupport", "tests", "benchmarks"):
        files += sorted((REPO / folder).rglob("*.py"))
    return files


def test_nothing_kills_processes_by_name() -> None:
    """No script, module, test or benchmark kills by process name (it would hit a production daemon)."""
    offenders = [
        str(p.relative_to(REPO))
        for p in _all_script_and_code_files()
        if p.is_file() and KILL_BY_NAME.search(p.read_text(errors="replace"))
    ]
    assert offenders == []


def test_dev_installs_through_the_helper() -> None:
    """./dev's debian_packages goes through tools/debian-packages and never calls apt-get itself."""
    text = (REPO / "dev").read_text()
    body = text[text.index("debian_packages() {") :]
    body = body[: body.index("\n}\n")]
    assert "tools/debian-packages install" in body
    assert "apt-get install" not in body


@pytest.fixture
def debroot(tmp_path: Path):
    """A temporary root (dpkg database, usr/sbin) and a PATH whose apt-get is the logging stand-in."""
    root = tmp_path / "root"
    (root / "var/lib/dpkg/info").mkdir(parents=True)
    (root / "var/lib/dpkg/updates").mkdir()
    (root / "usr/sbin").mkdir(parents=True)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    apt = bindir / "apt-get"
    apt.write_text(_FAKE_APT)
    apt.chmod(0o755)
    log = tmp_path / "apt.log"
    env = {
        **os.environ,
        "DEBIAN_ROOT": str(root),
        "APT_LOG": str(log),
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    return root, env, log


def _installed(root: Path, **packages: str) -> None:
    """Write a dpkg status file listing ``name=provides`` as installed."""
    (root / "var/lib/dpkg/status").write_text(
        "".join(_STANZA.format(name=name.replace("_", "-"), provides=provides) for name, provides in packages.items())
    )


def _run(env: dict[str, str], *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(HELPER), *args], env={**env, **extra}, capture_output=True, text=True, timeout=60)


def test_services_are_forbidden_during_install_and_allowed_after(debroot) -> None:
    """apt-get runs with a policy-rc.d answering 101 (no service starts); it is gone afterwards."""
    root, env, log = debroot
    _installed(root, postfix="default-mta, mail-transport-agent")
    r = _run(env, "install", "dovecot-pop3d")
    assert r.returncode == 0, r.stderr
    lines = log.read_text().splitlines()
    assert "policy-exit 101" in lines
    assert "args install -y -qq --no-install-recommends dovecot-pop3d" in lines
    assert not (root / "usr/sbin/policy-rc.d").exists()


def test_policy_is_removed_even_when_apt_get_fails(debroot) -> None:
    """A failing install still removes the temporary policy-rc.d, and the failure is reported."""
    root, env, log = debroot
    _installed(root, postfix="mail-transport-agent")
    r = _run(env, "install", "knot", FAIL_APT="1")
    assert r.returncode != 0
    assert "policy-exit 101" in log.read_text().splitlines()
    assert not (root / "usr/sbin/policy-rc.d").exists()


def test_an_existing_policy_is_left_exactly_as_it_was(debroot) -> None:
    """A policy-rc.d the machine already has is neither replaced nor removed."""
    root, env, log = debroot
    _installed(root, postfix="mail-transport-agent")
    policy = root / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\n# the admin's own\nexit 0\n")
    policy.chmod(0o755)
    r = _run(env, "install", "knot")
    assert r.returncode == 0, r.stderr
    assert "policy-exit 0" in log.read_text().splitlines()
    assert policy.read_text() == "#!/bin/sh\n# the admin's own\nexit 0\n"


def test_postfix_is_not_installed_over_another_mta(debroot) -> None:
    """With exim4 installed, postfix is left out with a note naming it; the rest is installed."""
    root, env, log = debroot
    _installed(root, exim4_daemon_light="mail-transport-agent", mailutils="mail-reader")
    r = _run(env, "install", "postfix", "dovecot-pop3d")
    assert r.returncode == 0, r.stderr
    assert "not installing postfix" in r.stderr and "exim4-daemon-light" in r.stderr
    assert "args install -y -qq --no-install-recommends dovecot-pop3d" in log.read_text().splitlines()


def test_only_postfix_over_another_mta_runs_no_apt_get(debroot) -> None:
    """When postfix was the only package and another MTA is there, apt-get is not run at all."""
    root, env, log = debroot
    _installed(root, opensmtpd="mail-transport-agent")
    r = _run(env, "install", "postfix")
    assert r.returncode == 0, r.stderr
    assert "opensmtpd" in r.stderr
    assert not log.exists()


@pytest.mark.parametrize(
    ("packages", "expected"),
    [
        ({"postfix": "default-mta, mail-transport-agent"}, ""),
        ({"exim4_daemon_heavy": "mail-transport-agent"}, "exim4-daemon-heavy\n"),
        ({"sendmail_bin": "mail-transport-agent (= 8.17)", "mailutils": "mail-reader"}, "sendmail-bin\n"),
        ({"mailutils": "mail-reader"}, ""),
    ],
    ids=["postfix-only", "exim", "sendmail-versioned-provides", "no-mta"],
)
def test_other_mta_lists_installed_mtas_but_postfix(debroot, packages: dict[str, str], expected: str) -> None:
    """other-mta (and the test kit's skip reason) name every installed mail-transport-agent but postfix."""
    root, env, _log = debroot
    _installed(root, **packages)
    assert _run(env, "other-mta").stdout == expected
    assert other_mail_transport_agents(str(root / "var/lib/dpkg")) == expected.split()
