"""The client stands alone, as partners install it (`pip install ./client`, decision 0007): its
wheel holds `pks_partner` and `ageformat` only and needs `cryptography` and `rfc8785`; run from
that wheel with nothing else on the path, it downloads nothing of the server's, decrypts and
checks a signature; and importing it loads no server package and no data library."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVER = {"agreements", "audit", "exports", "gateway", "demo_dukcapil"}
HEAVY = {"pandas", "pyarrow", "numpy", "sqlalchemy", "flask", "werkzeug", "click", "huey"}

IMPORTS = """
import json, sys
import pks_partner
from pks_partner import Client, verify_delivery, load_as_pandas
import pks_partner.cli, pks_partner.download, pks_partner.nik, pks_partner.load
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_importing_the_client_loads_nothing_of_the_server_and_no_data_library() -> None:
    result = subprocess.run(
        [sys.executable, "-c", IMPORTS], capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(result.stdout))
    assert {"pks_partner", "ageformat"} <= loaded
    assert not loaded & (SERVER | HEAVY), sorted(loaded & (SERVER | HEAVY))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
         "--disable-pip-version-check", str(REPO / "client"), "-w", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    [built] = out.glob("pks_partner-*.whl")
    return built


def test_the_wheel_holds_the_client_and_needs_only_its_two_libraries(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        requires = [
            line.split(":", 1)[1].strip()
            for line in archive.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist:")
        ]
        scripts = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"pks_partner", "ageformat"}
    assert {"pks_partner/py.typed", "ageformat/py.typed"} <= set(names)
    assert sorted(r for r in requires if "extra ==" not in r) == [
        "cryptography>=43",
        "rfc8785>=0.1.4",
    ]
    assert "pks-partner = pks_partner.cli:main" in scripts


ALONE = """
import io, sys
from ageformat import AgeWriter, decrypt_chunks, generate_identity
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pks_partner import cli, sshsig
identity, recipient = generate_identity()
sink = io.BytesIO()
with AgeWriter(sink, [recipient]) as writer:
    writer.write(b"uji" * 30000)
assert b"".join(decrypt_chunks(io.BytesIO(sink.getvalue()), identity)) == b"uji" * 30000
key = Ed25519PrivateKey.generate()
sshsig.verify_by_key(b"m", sshsig.sign(b"m", key, "pks-manifest"), "pks-manifest", key.public_key())
for name in ("gateway", "audit", "flask", "sqlalchemy", "pandas", "pyarrow"):
    try:
        __import__(name)
    except ImportError:
        continue
    raise SystemExit(name + " is importable")
try:
    cli.main(["--help"])
except SystemExit as done:
    sys.exit(done.code)
"""


def test_the_wheel_runs_with_nothing_but_its_dependencies(wheel: Path, tmp_path: Path) -> None:
    """Unpacked beside links to cryptography (with cffi) and rfc8785 only, in an interpreter
    without site-packages: what `pip install ./client` gives a partner."""
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    deps = tmp_path / "deps"
    deps.mkdir()
    installed = Path(sysconfig.get_paths()["purelib"])
    for name in ("cryptography", "rfc8785", "cffi", "pycparser"):
        (deps / name).symlink_to(installed / name)
    for backend in installed.glob("_cffi_backend*"):
        (deps / backend.name).symlink_to(backend)
    run = subprocess.run(
        [sys.executable, "-S", "-c", f"import sys; sys.path[:0] = {[str(site), str(deps)]}\n"
         + ALONE],
        capture_output=True, text=True, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert "verify-nik" in run.stdout
