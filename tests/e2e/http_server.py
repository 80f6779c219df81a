#!/usr/bin/python3
"""http_server.py DIR PORT_FILE LOG_FILE [--truncate-after N] — a loopback HTTP
server for the model-download tests.

Serves the files of DIR on 127.0.0.1 (a free port, written to PORT_FILE once
listening), honouring single byte ranges ("Range: bytes=A-" / "A-B") with
206 responses, as a real model host does. Each request is logged to LOG_FILE
as "GET PATH range=HEADER sent=BYTES". With --truncate-after N a full-file
response announces the whole length but the connection is dropped after N
bytes: an interrupted download. It stops by itself after 120 s.
"""
import http.server
import os
import re
import sys
import threading


def main():
    root, port_file, log_file = sys.argv[1:4]
    truncate = None
    if len(sys.argv) > 5 and sys.argv[4] == "--truncate-after":
        truncate = int(sys.argv[5])

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def note(self, sent):
            with open(log_file, "a") as f:
                f.write("GET %s range=%s sent=%d\n" % (self.path, self.headers.get("Range", "-"), sent))

        def do_GET(self):
            path = os.path.join(root, os.path.basename(self.path))
            if not os.path.isfile(path):
                self.send_error(404)
                self.note(0)
                return
            with open(path, "rb") as f:
                data = f.read()
            start, end = 0, len(data) - 1
            rng = self.headers.get("Range")
            if rng:
                m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng.strip())
                if not m or int(m.group(1)) >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", "bytes */%d" % len(data))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    self.note(0)
                    return
                start = int(m.group(1))
                if m.group(2):
                    end = min(int(m.group(2)), end)
                self.send_response(206)
                self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, len(data)))
            else:
                self.send_response(200)
            body = data[start:end + 1]
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            if truncate is not None and not rng:
                body = body[:truncate]
                self.close_connection = True
            self.wfile.write(body)
            self.wfile.flush()
            self.note(len(body))

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(port_file + ".tmp", port_file)
    threading.Timer(120, server.shutdown).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
