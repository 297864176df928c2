#!/usr/bin/env python3
"""The browser phase's page server, inside the guest on 127.0.0.1 (browser-session.sh starts it).

Serves the test page from --dir and relays the page to the host:
  GET  /mark?event=E&browser=B&k=N  writes "BROWSER-E2E: B-E k=N ... t=<CLOCK_REALTIME ns>" to the serial console
                                     (the host's driver follows it, tests/e2e/guest_console.py, and runs
                                     'spectrum-camera ctl' for B-deny-now and B-allow-now) and to RESULTS/markers.txt
  POST /log?browser=B                appends the body as a line to RESULTS/page-B.log
  POST /result?browser=B             writes the page's report to RESULTS/page-B.json, then marks "B-report"
The marks carry numbers only (the console reader's form). They are on CLOCK_REALTIME, not CLOCK_MONOTONIC as the
other phases' marks: the page stamps its frames with Date.now(), so both share a clock and the host can put them on its
own clock through the marks (tests/e2e/judge_browser.py)."""
import argparse
import http.server
import json
import os
import re
import threading
import time
import urllib.parse

NAME = re.compile(r"^[a-z0-9-]{1,32}$")
KEY = re.compile(r"^[a-z_]{1,32}$")
NUMBER = re.compile(r"^-?[0-9]{1,20}$")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", required=True, help="the page's files")
    p.add_argument("--results", required=True, help="where reports, logs and markers go")
    p.add_argument("--console", default="/dev/console")
    p.add_argument("--port", type=int, default=8080)
    args = p.parse_args()
    lock = threading.Lock()

    def mark(event, fields):
        with lock:
            extra = "".join(f" {k}={v}" for k, v in fields.items())
            line = f"BROWSER-E2E: {event}{extra} t={time.time_ns()}\n"
            with open(args.console, "a", encoding="utf-8") as c:
                c.write(line)
            with open(os.path.join(args.results, "markers.txt"), "a", encoding="utf-8") as m:
                m.write(line)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=args.dir, **kw)

        def log_message(self, fmt, *a):  # the access log goes to a file, not the console
            with lock, open(os.path.join(args.results, "page-server.log"), "a", encoding="utf-8") as f:
                f.write("%s %s\n" % (time.strftime("%H:%M:%S"), fmt % a))

        def end_headers(self):
            self.send_header("Cache-Control", "no-store")
            super().end_headers()

        def query(self):
            q = {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query).items()}
            return q, q.get("browser", "")

        def reply(self, code):
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            if urllib.parse.urlparse(self.path).path != "/mark":
                return super().do_GET()
            q, browser = self.query()
            event = q.pop("event", "")
            if not NAME.match(event) or not NAME.match(browser):
                return self.reply(400)
            fields = {k: v for k, v in q.items() if KEY.match(k) and NUMBER.match(v)}
            mark(f"{browser}-{event}", fields)
            self.reply(204)

        def do_POST(self):
            path = urllib.parse.urlparse(self.path).path
            _, browser = self.query()
            length = int(self.headers.get("Content-Length", "0"))
            if not NAME.match(browser) or path not in ("/log", "/result") or not 0 <= length <= 64 << 20:
                return self.reply(400)
            body = self.rfile.read(length)
            if path == "/log":
                with lock, open(os.path.join(args.results, f"page-{browser}.log"), "ab") as f:
                    f.write(body.replace(b"\n", b" ") + b"\n")
            else:
                json.loads(body)  # a report that is not JSON fails here, visibly, rather than at the judge
                with open(os.path.join(args.results, f"page-{browser}.json"), "wb") as f:
                    f.write(body)
                mark(f"{browser}-report", {"bytes": str(length)})
            self.reply(204)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    mark("server-ready", {"port": str(args.port)})
    server.serve_forever()


if __name__ == "__main__":
    main()
