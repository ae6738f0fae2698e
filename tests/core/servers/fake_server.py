"""A stand-in llama-server for what a real one cannot do on demand.

FAKE_MODE=hang          never listens, prints load progress dots forever
FAKE_MODE=never-healthy listens, /health answers 503 "Loading model" forever
FAKE_MODE=ignore-term   healthy at once, ignores SIGTERM (a wedged server)
`--help` prints a few llama-server flags so feature detection works.
"""

import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

if "--help" in sys.argv:
    print("--port PORT   port\n--host HOST   host\n--alias STRING   alias\n-np, --parallel N   slots")
    sys.exit(0)

mode = os.environ.get("FAKE_MODE", "hang")
args = sys.argv[1:]
port = int(args[args.index("--port") + 1])
host = args[args.index("--host") + 1]
print(f"fake llama-server mode={mode} pid={os.getpid()}", flush=True)

if mode == "hang":
    print("load_tensors: loading model tensors, this can take a while...", flush=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        sys.stdout.write(".")
        sys.stdout.flush()
        time.sleep(0.2)
    sys.exit(0)

if mode == "ignore-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

ready = mode != "never-healthy"


class H(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        code, body = (200, b'{"status":"ok"}') if ready else (503, b'{"error":"Loading model"}')
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


srv = HTTPServer((host, port), H)
srv.timeout = 0.2
deadline = time.monotonic() + 120  # never outlive a test run by much
while time.monotonic() < deadline:
    srv.handle_request()
