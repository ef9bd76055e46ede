"""The local clip store: MP4 files with JSON sidecars in one folder, bounded by age and bytes.

Why a store of its own beside the spool: a clip is megabytes, an event a few hundred bytes;
clips must never take the room the spool needs to keep events, so they live under their own
byte budget and give way (oldest first) before the disk gets short.

Contract: a clip is *pending* from the alarm until it is encoded, then *ready* (its file is
complete, fsynced and named in a sidecar with its SHA-256) or *failed* (with the reason). A
clip is written only if, after writing it, the store stays within ``max_bytes`` and the disk
keeps ``reserve()`` bytes free (the spool's room); older clips are deleted to make that room,
and if that is not enough the new clip is not written. Encoding runs on one writer thread, so
a camera loop never waits for a disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import queue
import re
import secrets
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from gateway.clips.config import ClipCodec, ClipStoreConfig
from gateway.clips.ring import RingFrame

log = logging.getLogger(__name__)

CLIP_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CHUNK_BYTES = 128 * 1024  # raw bytes per cmd/clip reply: base64 in JSON stays well under 256 KiB
MAX_QUEUE = 8  # clips waiting for the writer; more at once means the disk or CPU can't keep up
ENCODE_ESTIMATE_S = 2.0  # told to an operator asking for a pending clip: typical encode time
FFMPEG_TIMEOUT_S = 120.0  # a stuck encoder must not block the writer for ever


class ClipError(ValueError):
    """A clip request that cannot be answered (unknown id, bad chunk number)."""


@dataclass
class ClipInfo:
    """What is known of one clip (the sidecar's content)."""

    id: str
    camera: str
    event: str
    state: str  # pending | ready | failed
    alarm_wall: float
    pre_s: float
    post_s: float
    created: float  # gateway clock, UTC epoch seconds
    ready_at: float = 0.0  # estimate while pending, time of completion after
    first_wall: float | None = None
    last_wall: float | None = None
    first_t: float | None = None
    last_t: float | None = None
    alarm_t: float | None = None
    frames: int = 0
    fps: float = 0.0
    bytes: int = 0
    sha256: str | None = None
    codec: str | None = None
    error: str | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        """The listing entry (``cmd/clips``)."""
        doc: dict[str, object] = {"id": self.id, "camera": self.camera, "event": self.event,
                                  "state": self.state, "alarm_ts": int(self.alarm_wall * 1000)}
        if self.state == "ready":
            doc.update(bytes=self.bytes, sha256=self.sha256, frames=self.frames,
                       fps=round(self.fps, 3), codec=self.codec,
                       start_ts=int((self.first_wall or 0) * 1000),
                       end_ts=int((self.last_wall or 0) * 1000))
        elif self.state == "pending":
            doc["ready_at"] = int(self.ready_at * 1000)
        else:
            doc["error"] = self.error
        return doc


def ffmpeg_path() -> str | None:
    """Debian's ffmpeg, if installed (H.264 clips)."""
    return shutil.which("ffmpeg")


def encode_mp4v(frames: list[RingFrame], fps: float, out: Path) -> None:
    """Write ``frames`` as MPEG-4 part 2 in MP4 with OpenCV (every pip wheel can)."""
    first = cv2.imdecode(np.frombuffer(frames[0].jpeg, np.uint8), cv2.IMREAD_COLOR)
    if first is None:
        raise OSError("first frame of the clip does not decode")
    h, w = first.shape[:2]
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        raise OSError(f"OpenCV cannot write {out} with mp4v")
    try:
        for rf in frames:
            img = cv2.imdecode(np.frombuffer(rf.jpeg, np.uint8), cv2.IMREAD_COLOR)
            if img is None:
                continue
            if img.shape[:2] != (h, w):
                img = cv2.resize(img, (w, h))
            writer.write(img)
    finally:
        writer.release()


def encode_h264(frames: list[RingFrame], fps: float, out: Path, exe: str) -> None:
    """Write ``frames`` as H.264 in MP4 through ffmpeg; the JPEGs are piped in as they are."""
    cmd = [exe, "-hide_banner", "-loglevel", "error", "-y", "-f", "image2pipe",
           "-framerate", f"{fps:.3f}", "-c:v", "mjpeg", "-i", "-", "-c:v", "libx264",
           "-preset", "veryfast", "-crf", "26", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
           "-f", "mp4", str(out)]
    proc = subprocess.run(cmd, input=b"".join(f.jpeg for f in frames), capture_output=True,
                          timeout=FFMPEG_TIMEOUT_S, check=False)
    if proc.returncode != 0:
        raise OSError(f"ffmpeg failed ({proc.returncode}): "
                      f"{proc.stderr.decode(errors='replace')[-200:]}")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ClipStore:
    """The clips of every camera of a gateway, in one folder with one byte budget.

    ``reserve`` says how many bytes of free disk must stay free for the spool (the service
    passes the spool's remaining room plus ``reserve_bytes``); ``disk_free`` is injectable so a
    test can play a nearly full disk.
    """

    def __init__(self, cfg: ClipStoreConfig, folder: Path,
                 reserve: Callable[[], int] | None = None,
                 disk_free: Callable[[Path], int] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.cfg = cfg
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._reserve = reserve or (lambda: cfg.reserve_bytes)
        self._disk_free = disk_free or (lambda p: shutil.disk_usage(p).free)
        self._clock = clock
        self._lock = threading.Lock()
        self._clips: dict[str, ClipInfo] = {}
        self._queue: queue.Queue[tuple[ClipInfo, list[RingFrame]] | None] = queue.Queue(MAX_QUEUE)
        self.counters = {"written": 0, "failed": 0, "deleted_for_room": 0, "expired": 0,
                         "refused_no_room": 0}
        self._ffmpeg = None if cfg.codec is ClipCodec.MP4V else ffmpeg_path()
        if cfg.codec is ClipCodec.H264 and self._ffmpeg is None:
            raise ClipError("[clips] codec = 'h264' needs ffmpeg: install it "
                            "(apt-get install ffmpeg) or use codec = 'mp4v'")
        self._load()
        self._thread = threading.Thread(target=self._writer, name="clip-writer", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ index
    def _load(self) -> None:
        """Read the sidecars; remove what a crash left half-written."""
        for part in self.folder.glob("*.part.mp4"):
            part.unlink(missing_ok=True)
        for side in self.folder.glob("*.json"):
            try:
                info = ClipInfo(**json.loads(side.read_text()))
            except (OSError, ValueError, TypeError) as exc:
                log.warning("clip sidecar %s unreadable (%s): removed with its clip", side, exc)
                side.unlink(missing_ok=True)
                (self.folder / f"{side.stem}.mp4").unlink(missing_ok=True)
                continue
            if info.state != "ready" or not self._path(info.id).is_file():
                side.unlink(missing_ok=True)
                continue
            self._clips[info.id] = info
        for mp4 in self.folder.glob("*.mp4"):
            if mp4.stem not in self._clips:
                mp4.unlink(missing_ok=True)

    def _path(self, clip_id: str) -> Path:
        return self.folder / f"{clip_id}.mp4"

    def _part(self, clip_id: str) -> Path:
        # ends in .mp4: OpenCV picks the container by the file name
        return self.folder / f"{clip_id}.part.mp4"

    @property
    def used_bytes(self) -> int:
        """Bytes of the ready clips."""
        with self._lock:
            return sum(c.bytes for c in self._clips.values() if c.state == "ready")

    # ---------------------------------------------------------------- writing
    def new_id(self, camera: str, wall: float) -> str:
        """A fresh clip id: camera, UTC time of the alarm and a random suffix."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(wall))
        return f"{camera[:40]}-{stamp}-{secrets.token_hex(3)}"

    def open_clip(self, camera: str, event: str, alarm_wall: float, pre_s: float,
                  post_s: float, ready_in_s: float) -> ClipInfo:
        """Register a pending clip (its id goes into the alarm event at once)."""
        now = self._clock()
        info = ClipInfo(id=self.new_id(camera, alarm_wall), camera=camera, event=event,
                        state="pending", alarm_wall=alarm_wall, pre_s=pre_s, post_s=post_s,
                        created=now, ready_at=now + ready_in_s + ENCODE_ESTIMATE_S)
        with self._lock:
            self._clips[info.id] = info
        return info

    def update_ready_at(self, info: ClipInfo, ready_in_s: float) -> None:
        """Refresh a pending clip's estimate (frames arrive slower or faster than real time)."""
        info.ready_at = self._clock() + ready_in_s + ENCODE_ESTIMATE_S

    def submit(self, info: ClipInfo, frames: list[RingFrame]) -> None:
        """Hand a complete frame list to the writer thread (never blocks the caller)."""
        if not frames:
            self._fail(info, "no frames were captured around the alarm")
            return
        try:
            self._queue.put_nowait((info, frames))
        except queue.Full:
            self._fail(info, "clip writer busy (too many clips at once)")

    def _fail(self, info: ClipInfo, why: str) -> None:
        with self._lock:
            info.state, info.error = "failed", why
        self.counters["failed"] += 1
        log.warning("clip %s not written: %s", info.id, why)

    def _writer(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            info, frames = job
            try:
                self._write(info, frames)
            except Exception as exc:  # any encoder or disk failure loses this clip, never the writer
                self._fail(info, f"{type(exc).__name__}: {exc}")
                self._part(info.id).unlink(missing_ok=True)

    def _room_ok(self, need: int, on_disk: bool) -> bool:
        # Before encoding, only the disk is checked (for the file while it is written); after
        # it, the clip's real size against the budget too. A written file has already taken
        # its bytes from the free disk.
        used = sum(c.bytes for c in self._clips.values() if c.state == "ready")
        if on_disk:
            return used + need <= self.cfg.max_bytes and \
                self._disk_free(self.folder) >= self._reserve()
        return self._disk_free(self.folder) - need >= self._reserve()

    def _make_room(self, need: int, keep: str, on_disk: bool = False) -> bool:
        """Delete the oldest ready clips until ``need`` more bytes fit; False if they can't."""
        with self._lock:
            while not self._room_ok(need, on_disk):
                ready = sorted((c for c in self._clips.values()
                                if c.state == "ready" and c.id != keep), key=lambda c: c.created)
                if not ready:
                    return False
                self._delete(ready[0])
                self.counters["deleted_for_room"] += 1
            return True

    def _delete(self, info: ClipInfo) -> None:
        self._clips.pop(info.id, None)
        self._path(info.id).unlink(missing_ok=True)
        (self.folder / f"{info.id}.json").unlink(missing_ok=True)
        log.info("clip %s deleted", info.id)

    def _write(self, info: ClipInfo, frames: list[RingFrame]) -> None:
        span = frames[-1].t - frames[0].t
        fps = (len(frames) - 1) / span if span > 0 and len(frames) > 1 else 10.0
        estimate = sum(len(f.jpeg) for f in frames)
        # Disk for the file *while* it is written: at most about the JPEG bytes.
        if not self._make_room(estimate, info.id):
            self.counters["refused_no_room"] += 1
            self._fail(info, "no room: clip budget or the spool's free-disk reserve reached")
            return
        part = self._part(info.id)
        codec = "h264" if self._ffmpeg else "mp4v"
        if self._ffmpeg:
            encode_h264(frames, fps, part, self._ffmpeg)
        else:
            encode_mp4v(frames, fps, part)
        size = part.stat().st_size
        if not self._make_room(size, info.id, on_disk=True):
            part.unlink(missing_ok=True)
            self.counters["refused_no_room"] += 1
            self._fail(info, "no room: clip budget or the spool's free-disk reserve reached")
            return
        digest = hashlib.sha256()
        with part.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
            os.fsync(fh.fileno())
        final = self._path(info.id)
        os.replace(part, final)
        with self._lock:
            info.frames, info.fps, info.bytes, info.codec = len(frames), fps, size, codec
            info.sha256 = digest.hexdigest()
            info.first_wall, info.last_wall = frames[0].wall, frames[-1].wall
            info.first_t, info.last_t = frames[0].t, frames[-1].t
            info.state, info.ready_at = "ready", self._clock()
            side = self.folder / f"{info.id}.json"
            tmp = side.with_suffix(".json.part")
            tmp.write_text(json.dumps(asdict(info)))
            os.replace(tmp, side)
        _fsync_dir(self.folder)
        self.counters["written"] += 1
        log.info("clip %s written: %d frames, %d bytes (%s)", info.id, len(frames), size, codec)

    # -------------------------------------------------------------- retention
    def expire(self) -> int:
        """Delete clips older than ``max_age_s`` and forget old failures; return how many."""
        cutoff = self._clock() - self.cfg.max_age_s
        with self._lock:
            old = [c for c in self._clips.values() if c.created < cutoff and c.state != "pending"]
            for info in old:
                self._delete(info)
        self.counters["expired"] += len(old)
        return len(old)

    # ---------------------------------------------------------------- reading
    def get(self, clip_id: str) -> ClipInfo:
        """The clip ``clip_id``; :class:`ClipError` if unknown or malformed."""
        if not isinstance(clip_id, str) or not CLIP_ID_RE.match(clip_id):
            raise ClipError("clip id must be 1-64 letters, digits, '-' or '_' (see cmd/clips)")
        with self._lock:
            info = self._clips.get(clip_id)
        if info is None:
            raise ClipError(f"no clip {clip_id!r} (expired, deleted for room, or never made); "
                            "cmd/clips lists the clips kept")
        return info

    def recent(self, limit: int | None = None) -> list[dict[str, object]]:
        """Newest first: the listing of ``cmd/clips``."""
        with self._lock:
            clips = sorted(self._clips.values(), key=lambda c: c.created, reverse=True)
        return [c.summary() for c in clips[: limit or self.cfg.list_max]]

    def chunk(self, clip_id: str, index: int = 0,
              chunk_bytes: int = CHUNK_BYTES) -> dict[str, object]:
        """Reply of ``cmd/clip``: chunk ``index`` of a ready clip with both digests, or the
        state of a clip not ready (pending: when it will be)."""
        info = self.get(clip_id)
        if info.state == "pending":
            now = self._clock()
            return {"id": info.id, "state": "pending", "ready_at": int(info.ready_at * 1000),
                    "ready_in_s": round(max(0.0, info.ready_at - now), 1)}
        if info.state != "ready":
            return {"id": info.id, "state": info.state, "error": info.error}
        chunks = max(1, -(-info.bytes // chunk_bytes))
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < chunks:
            raise ClipError(f"chunk must be an integer 0..{chunks - 1}")
        with self._path(info.id).open("rb") as fh:
            fh.seek(index * chunk_bytes)
            data = fh.read(chunk_bytes)
        return {"id": info.id, "state": "ready", "chunk": index, "chunks": chunks,
                "offset": index * chunk_bytes, "size": info.bytes, "sha256": info.sha256,
                "chunk_sha256": hashlib.sha256(data).hexdigest(), "data": data}

    def health(self) -> dict[str, object]:
        """Counters, bytes used and clips by state."""
        with self._lock:
            states: dict[str, int] = {}
            for c in self._clips.values():
                states[c.state] = states.get(c.state, 0) + 1
            used = sum(c.bytes for c in self._clips.values() if c.state == "ready")
        return {"bytes": used, "max_bytes": self.cfg.max_bytes, "clips": states,
                "codec": "h264" if self._ffmpeg else "mp4v", **self.counters}

    def close(self, timeout: float = 30.0) -> None:
        """Finish the clips already handed over, then stop the writer."""
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=timeout)
        self._thread.join(timeout)
