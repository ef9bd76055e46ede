"""Signed update bundles (Ed25519) and the runtime-flashing wrappers up to the hardware."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from provisioning.bundle import BundleError, install_bundle, load_public_key, verify_bundle
from provisioning.flash import (
    FlashError,
    esptool_commands,
    find_pico_drive,
    flash_esp32,
    flash_pico,
)
from tests.provisioning.conftest import run_provision


@pytest.fixture
def site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    assert run_provision(site, "ca", "init") == 0
    return site


@pytest.fixture
def payload(tmp_path: Path) -> Path:
    d = tmp_path / "payload"
    (d / "gateway").mkdir(parents=True)
    (d / "gateway" / "app.py").write_text("VERSION = '1.2.0'\n")
    (d / "README").write_text("release notes\n")
    return d


def make(site: Path, payload: Path, out: Path, version: str, target: str = "gateway") -> Path:
    assert run_provision(site, "bundle", "create", str(payload), "-o", str(out), "--target", target,
                         "--version", version) == 0
    return out


def rewrite(src: Path, dst: Path, change: dict[str, bytes | None]) -> Path:
    """Copy a bundle tar, replacing (bytes) or dropping (None) members."""
    with tarfile.open(src) as tin, tarfile.open(dst, "w") as tout:
        for m in tin.getmembers():
            data = tin.extractfile(m).read()  # type: ignore[union-attr]
            if m.name in change:
                if change[m.name] is None:
                    continue
                data = change[m.name]  # type: ignore[assignment]
            info = tarfile.TarInfo(m.name)
            info.size = len(data)
            tout.addfile(info, io.BytesIO(data))
    return dst


def test_signed_bundle_verifies_and_installs(site: Path, payload: Path, tmp_path: Path) -> None:
    b = make(site, payload, tmp_path / "gw-1.2.0.tar", "1.2.0")
    pub = load_public_key(site / "signing" / "bundle.pub")
    m = verify_bundle(b, pub, target="gateway", installed="1.1.9")
    assert m.version == "1.2.0" and set(m.files) == {"gateway/app.py", "README"}
    dest = tmp_path / "opt"
    install_bundle(b, pub, dest, target="gateway")
    assert (dest / "current" / "gateway" / "app.py").read_text() == "VERSION = '1.2.0'\n"
    assert os.readlink(dest / "current") == "1.2.0"


@pytest.mark.parametrize("case", ["unsigned", "tampered_file", "tampered_manifest", "extra_file",
                                  "missing_file", "other_key"])
def test_device_refuses_unsigned_or_tampered(case: str, site: Path, payload: Path, tmp_path: Path) -> None:
    good = make(site, payload, tmp_path / "good.tar", "2.0.0")
    bad = tmp_path / "bad.tar"
    if case == "unsigned":
        rewrite(good, bad, {"manifest.sig": None})
    elif case == "tampered_file":
        rewrite(good, bad, {"payload/gateway/app.py": b"import os; os.system('evil')\n"})
    elif case == "tampered_manifest":
        with tarfile.open(good) as t:
            m = json.loads(t.extractfile("manifest.json").read())  # type: ignore[union-attr]
        m["version"] = "9.0.0"
        rewrite(good, bad, {"manifest.json": json.dumps(m).encode()})
    elif case == "extra_file":
        with tarfile.open(good) as t, tarfile.open(bad, "w") as out:
            for mem in t.getmembers():
                out.addfile(mem, t.extractfile(mem))
            info = tarfile.TarInfo("payload/gateway/backdoor.py")
            info.size = 3
            out.addfile(info, io.BytesIO(b"x=1"))
    elif case == "missing_file":
        rewrite(good, bad, {"payload/README": None})
    else:
        other = tmp_path / "other"
        assert run_provision(other, "ca", "init") == 0
        make(other, payload, bad, "2.0.0")
    dest = tmp_path / "opt"
    with pytest.raises(BundleError) as exc:
        install_bundle(bad, load_public_key(site / "signing" / "bundle.pub"), dest, target="gateway")
    assert exc.value.reason in {"unsigned", "tampered", "signature"}
    assert not dest.exists()  # nothing written before every check passed


def test_never_downgrades_unless_forced(site: Path, payload: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    pub = load_public_key(site / "signing" / "bundle.pub")
    dest = tmp_path / "opt"
    install_bundle(make(site, payload, tmp_path / "b2.tar", "2.0.0"), pub, dest, target="gateway")
    old = make(site, payload, tmp_path / "b1.tar", "1.9.9")
    for candidate in (old, tmp_path / "b2.tar"):
        with pytest.raises(BundleError) as exc:
            install_bundle(candidate, pub, dest, target="gateway")
        assert exc.value.reason == "downgrade"
    assert os.readlink(dest / "current") == "2.0.0"
    assert run_provision(site, "bundle", "install", str(old), "--dest", str(dest)) == 1
    assert "not newer" in capsys.readouterr().err
    assert run_provision(site, "bundle", "install", str(old), "--dest", str(dest), "--force") == 0
    assert os.readlink(dest / "current") == "1.9.9"
    with pytest.raises(BundleError, match="not gateway"):
        verify_bundle(make(site, payload, tmp_path / "n.tar", "3.0.0", "node"), pub, target="gateway")


def test_bundle_cli_verify(site: Path, payload: Path, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    b = make(site, payload, tmp_path / "b.tar", "1.0.0")
    assert run_provision(site, "bundle", "verify", str(b), "--installed", "0.9") == 0
    assert "signature and hashes verified" in capsys.readouterr().out
    assert run_provision(site, "bundle", "verify", str(b), "--installed", "1.0.0") == 1


# -- flashing the MicroPython runtime ------------------------------------------------------

def test_esptool_commands(tmp_path: Path) -> None:
    fw = tmp_path / "ESP32_GENERIC.bin"
    fw.write_bytes(b"\xe9" + b"\0" * 100)
    cmds = esptool_commands("/dev/ttyUSB0", fw, base=["esptool"])
    assert cmds == [["esptool", "--chip", "esp32", "--port", "/dev/ttyUSB0", "erase_flash"],
                    ["esptool", "--chip", "esp32", "--port", "/dev/ttyUSB0", "--baud", "460800",
                     "write_flash", "-z", "0x1000", str(fw)]]
    assert esptool_commands("/dev/ttyACM0", fw, chip="esp32s3", erase=False, base=["e"])[0][-2] == "0x0"


def test_esp32_flash_checks_before_touching_hardware(tmp_path: Path) -> None:
    fw = tmp_path / "fw.bin"
    fw.write_bytes(b"not an image")
    with pytest.raises(FlashError, match="not an ESP32 firmware image"):
        flash_esp32("/dev/ttyUSB0", fw, dry_run=True)
    fw.write_bytes(b"\xe9" + b"\0" * 100)
    with pytest.raises(FlashError, match="no such serial port /dev/ttyUSB-absent"):
        flash_esp32("/dev/ttyUSB-absent", fw, dry_run=True)
    master, slave = os.openpty()
    try:
        ran: list[list[str]] = []
        cmds = flash_esp32(os.ttyname(slave), fw, progress=lambda s: None,
                           run=lambda c: ran.append(c) or 0) if _has_esptool() else []
        assert ran == cmds
    finally:
        os.close(master)
        os.close(slave)


def _has_esptool() -> bool:
    try:
        from provisioning.flash import esptool_base
        esptool_base()
        return True
    except FlashError:
        return False


def test_pico_uf2_copy_to_bootloader_drive(tmp_path: Path) -> None:
    uf2 = tmp_path / "RPI_PICO_W.uf2"
    uf2.write_bytes(b"UF2\n" + b"\0" * 508)
    media = tmp_path / "media"
    with pytest.raises(FlashError, match="hold BOOTSEL"):
        flash_pico(uf2, roots=[media], progress=lambda s: None)
    drive = media / "RPI-RP2"
    drive.mkdir(parents=True)
    (drive / "INFO_UF2.TXT").write_text("UF2 Bootloader v3.0\nModel: Raspberry Pi RP2\nBoard-ID: RPI-RP2\n")
    assert find_pico_drive([media]) == drive
    assert flash_pico(uf2, roots=[media], progress=lambda s: None) == drive / uf2.name
    assert (drive / uf2.name).read_bytes() == uf2.read_bytes()
    bad = tmp_path / "x.uf2"
    bad.write_bytes(b"garbage")
    with pytest.raises(FlashError, match="not a UF2"):
        flash_pico(bad, drive=drive)


def test_a_damaged_install_state_refuses_until_forced(site: Path, payload: Path, tmp_path: Path) -> None:
    # found by probing (session 41): a damaged installed.json was a JSONDecodeError traceback,
    # so a gateway could take no update at all
    pub = load_public_key(site / "signing" / "bundle.pub")
    dest = tmp_path / "opt"
    install_bundle(make(site, payload, tmp_path / "b2.tar", "2.0.0"), pub, dest, target="gateway")
    b3 = make(site, payload, tmp_path / "b3.tar", "3.0.0")
    for damaged in (b"\xff\xfe\x00", b'{"version": ', b'{"target": "gateway"}', b'{"version": 3}'):
        (dest / "installed.json").write_bytes(damaged)
        with pytest.raises(BundleError, match=r"installed\.json is damaged") as exc:
            install_bundle(b3, pub, dest, target="gateway")
        assert exc.value.reason == "state" and os.readlink(dest / "current") == "2.0.0"
    install_bundle(b3, pub, dest, target="gateway", force=True)
    assert json.loads((dest / "installed.json").read_text())["version"] == "3.0.0"
    assert os.readlink(dest / "current") == "3.0.0"


def test_a_damaged_crl_number_is_never_guessed(site: Path) -> None:
    from provisioning.ca import CAError, load_ca

    ca = load_ca(site / "ca")
    ca.write_crl([])
    first = (site / "ca" / "crl_number").read_text()
    ca.write_crl([])
    assert int((site / "ca" / "crl_number").read_text()) == int(first) + 1
    (site / "ca" / "crl_number").write_bytes(b"\x00\xff")
    with pytest.raises(CAError, match=r"crl_number is damaged .*-crlnumber"):
        ca.write_crl([])


def test_a_damaged_node_registry_is_a_key_file_error(tmp_path: Path) -> None:
    from gateway.sensors.keys import KeyFileError
    from provisioning.node_registry import read_entries, read_registry

    path = tmp_path / "nodes.toml"
    path.write_bytes(b"\xff\xfe garbage")
    for read in (read_registry, read_entries):
        with pytest.raises(KeyFileError, match=r"nodes\.toml: not UTF-8 text"):
            read(path)
