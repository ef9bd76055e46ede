"""Resource + driver: a simulated IP camera serving a video file as HTTP MJPEG.

``unplug()`` closes the listener and every open stream (the gateway sees the camera die);
``plug()`` serves again on the same port (the gateway must reopen it by itself).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2

from gateway.broker import free_port

BOUNDARY = "hilframe"


class MjpegCamera:
    def __init__(self, video: Path, fps: float = 10.0, width: int = 480) -> None:
        if not Path(video).is_file():
            raise FileNotFoundError(f"video stimulus {video} not found (set EDGEPOST_SHARED)")
        self.video = Path(video)
        self.fps = fps
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}/stream.mjpg"
        self.frames = self._load(width)
        self.served = 0
        self.connections = 0
        self._plugged = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _load(self, width: int) -> list[bytes]:
        cap = cv2.VideoCapture(str(self.video))
        out: list[bytes] = []
        while len(out) < 400:
            ok, img = cap.read()
            if not ok:
                break
            h, w = img.shape[:2]
            img = cv2.resize(img, (width, int(h * width / w)))
            out.append(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes())
        cap.release()
        if not out:
            raise RuntimeError(f"no frames in {self.video}")
        return out

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        cam = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                cam.connections += 1
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                self.end_headers()
                i = 0
                period = 1.0 / cam.fps
                next_t = time.monotonic()
                try:
                    while cam._plugged.is_set():
                        jpg = cam.frames[i % len(cam.frames)]
                        self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                                         f"Content-Length: {len(jpg)}\r\n\r\n".encode() + jpg + b"\r\n")
                        cam.served += 1
                        i += 1
                        next_t += period
                        time.sleep(max(0.0, next_t - time.monotonic()))
                except OSError:
                    return
                # unplugged: cut the connection hard, like a cable pulled
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)

        return Handler

    def plug(self) -> None:
        if self._server is not None:
            return
        self._plugged.set()
        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="mjpeg-camera")
        self._thread.start()

    def unplug(self) -> None:
        if self._server is None:
            return
        self._plugged.clear()
        self._server.shutdown()
        self._server.server_close()
        self._server = None
        time.sleep(2.0 / self.fps)  # streams notice and close

    def close(self) -> None:
        self.unplug()
