"""Write the MicroPython runtime onto a blank board: ESP32 via esptool, Pico via UF2 copy.

Up to the hardware boundary everything is checked here: the image looks like what the board
needs, the port or bootloader drive exists, esptool is installed. The write itself is
esptool's job (ESP32) or the RP2040 boot ROM's (the Pico copies a .uf2 dropped on its
RPI-RP2 drive into flash and reboots).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

ESP_IMAGE_MAGIC = 0xE9
UF2_MAGIC = b"UF2\n"
# Offset of the MicroPython image for the original ESP32 (bootloader at 0x1000); S2/S3/C3
# images start at 0.
ESP32_OFFSETS = {"esp32": 0x1000, "esp32s2": 0x1000, "esp32s3": 0x0, "esp32c3": 0x0}
PICO_LABEL = "RPI-RP2"


class FlashError(RuntimeError):
    """Flashing cannot start or failed; ``str()`` says what to do."""


def esptool_base() -> list[str]:
    """How to run esptool here, or FlashError if it is not installed."""
    if importlib.util.find_spec("esptool") is not None:
        return [sys.executable, "-m", "esptool"]
    for name in ("esptool", "esptool.py"):
        exe = shutil.which(name)
        if exe:
            return [exe]
    raise FlashError("esptool is not installed: pip install 'esptool>=4.7' (or apt install esptool)")


def check_esp32_image(firmware: Path) -> None:
    if not firmware.is_file():
        raise FlashError(f"no such firmware file {firmware} (download ESP32_GENERIC-*.bin from "
                         "micropython.org/download)")
    head = firmware.read_bytes()[:1]
    if not head or head[0] != ESP_IMAGE_MAGIC:
        raise FlashError(f"{firmware} is not an ESP32 firmware image (.bin starting with 0xE9)")


def esptool_commands(port: str, firmware: Path, chip: str = "esp32", baud: int = 460800,
                     erase: bool = True, base: list[str] | None = None) -> list[list[str]]:
    """The esptool invocations, in order (erase, then write) -- as micropython.org documents."""
    if chip not in ESP32_OFFSETS:
        raise FlashError(f"unknown chip {chip}; known: {', '.join(ESP32_OFFSETS)}")
    base = [*(base or ["esptool"]), "--chip", chip, "--port", port]
    cmds = [[*base, "erase_flash"]] if erase else []
    cmds.append([*base, "--baud", str(baud), "write_flash", "-z", hex(ESP32_OFFSETS[chip]), str(firmware)])
    return cmds


def flash_esp32(port: str, firmware: Path, chip: str = "esp32", baud: int = 460800, erase: bool = True,
                dry_run: bool = False, progress: Callable[[str], None] = print,
                run: Callable[[list[str]], int] | None = None) -> list[list[str]]:
    """Erase and write ``firmware``; returns the commands (run unless ``dry_run``)."""
    check_esp32_image(firmware)
    if not os.path.exists(port):
        raise FlashError(f"no such serial port {port}: plug the board in (ls /dev/serial/by-id/)")
    cmds = esptool_commands(port, firmware, chip, baud, erase, base=esptool_base() if not dry_run else None)
    for cmd in cmds:
        progress(("would run: " if dry_run else "running: ") + " ".join(cmd))
        if dry_run:
            continue
        rc = (run or (lambda c: subprocess.run(c).returncode))(cmd)
        if rc != 0:
            raise FlashError(f"esptool failed ({rc}). Hold BOOT while it connects if it cannot sync, "
                             "or try --baud 115200")
    if not dry_run:
        progress("done: the board now runs MicroPython; enrol it with `edgepost provision node`")
    return cmds


def check_uf2(firmware: Path) -> None:
    if not firmware.is_file():
        raise FlashError(f"no such firmware file {firmware} (download RPI_PICO_W-*.uf2 from "
                         "micropython.org/download)")
    if firmware.read_bytes()[:4] != UF2_MAGIC or firmware.stat().st_size % 512:
        raise FlashError(f"{firmware} is not a UF2 file")


def default_mount_roots() -> list[Path]:
    user = os.environ.get("SUDO_USER") or os.environ.get("USER") or ""
    return [Path("/media") / user, Path("/run/media") / user, Path("/media"), Path("/mnt")]


def find_pico_drive(roots: Iterable[Path] | None = None) -> Path:
    """The mounted RPI-RP2 bootloader drive (it has INFO_UF2.TXT naming the RP2 boot ROM)."""
    for root in roots if roots is not None else default_mount_roots():
        if not root.is_dir():
            continue
        for cand in [root, *sorted(p for p in root.iterdir() if p.is_dir())]:
            info = cand / "INFO_UF2.TXT"
            try:
                if info.is_file() and ("RP2" in info.read_text(errors="replace")):
                    return cand
            except OSError:
                continue
    raise FlashError(f"no {PICO_LABEL} drive found: hold BOOTSEL while plugging the Pico in, wait "
                     "for the drive to be mounted, or pass --drive")


def flash_pico(firmware: Path, drive: Path | None = None, dry_run: bool = False,
               progress: Callable[[str], None] = print, roots: Iterable[Path] | None = None) -> Path:
    """Copy the .uf2 onto the bootloader drive; returns the target path."""
    check_uf2(firmware)
    drive = drive or find_pico_drive(roots)
    if not (drive / "INFO_UF2.TXT").is_file():
        raise FlashError(f"{drive} is not a Pico bootloader drive (no INFO_UF2.TXT)")
    target = drive / firmware.name
    progress(("would copy " if dry_run else "copying ") + f"{firmware} -> {target}")
    if not dry_run:
        with firmware.open("rb") as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst)
            dst.flush()
            os.fsync(dst.fileno())
        progress("done: the Pico reboots into MicroPython; enrol it with `edgepost provision node`")
    return target
