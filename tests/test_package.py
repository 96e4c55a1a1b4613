"""What ships: the wheel the image installs holds every file the code loads, and the lock pins
what pyproject.toml asks for."""

import re
import subprocess
import tomllib
import zipfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

from tests.production_stack import LOCK_FILE, ROOT, build_wheel, dockerfile_sources


def _tracked_data_files() -> set[str]:
    """Every committed file of the packages the image ships that is not Python: templates,
    catalogues, migrations, fonts."""
    packaged = [s for s in dockerfile_sources() if (ROOT / s).is_dir()]
    listed = subprocess.run(
        ["git", "ls-files", *packaged], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return {path for path in listed if not path.endswith(".py")}


def test_the_wheel_holds_every_template_catalogue_migration_and_font(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
    data = _tracked_data_files()
    assert any(path.startswith("api/templates/patient/") for path in data)
    missing = sorted(data - shipped)
    assert not missing, f"the wheel lacks {missing}: add them to package-data in pyproject.toml"
    assert not any(name.startswith(("devstack/", "tests/", "bench/")) for name in shipped)


def _locked() -> dict[str, Version]:
    pins = {}
    for line in LOCK_FILE.read_text().splitlines():
        if line and not line.startswith((" ", "#")) and "==" in line:
            name, _, rest = line.partition("==")
            pins[re.sub(r"[-_.]+", "-", name.strip()).lower()] = Version(
                rest.split()[0].rstrip("\\").split(";")[0]
            )
    return pins


def test_the_lock_pins_every_dependency_pyproject_asks_for_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _locked()
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        assert name in pins, f"{name} is not in requirements.lock: run `make lock`"
        assert pins[name] in requirement.specifier, (
            f"requirements.lock pins {name} {pins[name]}, outside {requirement.specifier}: "
            "run `make lock`"
        )
    # Each pin is followed by its hashes (`name==1.0 \` then `--hash=sha256:…` lines).
    lines = LOCK_FILE.read_text().splitlines()
    for n, line in enumerate(lines):
        if "==" in line and not line.startswith((" ", "#")):
            assert lines[n + 1].strip().startswith("--hash=sha256:"), f"{line}: no hash"


def test_the_image_installs_from_the_lock_with_hashes() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes" in text and "requirements.lock" in text
    assert "COPY devstack" not in text and "COPY tests" not in text
