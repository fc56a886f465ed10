#!/usr/bin/env python3
"""Opens N keep-alive HTTP/1.1 connections to HOST:PORT, sends one GET on each and reads its whole response, then
keeps every socket open and idle until killed. Prints "ready N" once all are answered (or "failed ..." and exits 1)."""
import selectors, socket, sys, time

host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
body = sys.argv[4].encode() if len(sys.argv) > 4 else b"hello from origin\n"
req = b"GET / HTTP/1.1\r\nHost: idle.test\r\n\r\n"
sel = selectors.DefaultSelector()
held, pending, opened = [], 0, 0
deadline = time.time() + 300
while len(held) < n:
    # at most 256 requests in flight: an accept queue of 511 is never the limit
    while opened < n and pending < 256:
        s = socket.create_connection((host, port))
        s.setblocking(False); s.sendall(req)
        sel.register(s, selectors.EVENT_READ, bytearray()); opened += 1; pending += 1
    for key, _ in sel.select(timeout=1):
        chunk = key.fileobj.recv(65536)
        if not chunk:
            print(f"failed: connection {len(held)} closed before its response", flush=True); sys.exit(1)
        key.data.extend(chunk)
        if key.data.endswith(body):
            sel.unregister(key.fileobj); held.append(key.fileobj); pending -= 1
    if time.time() > deadline:
        print(f"failed: {len(held)} of {n} answered in 300 s", flush=True); sys.exit(1)
print(f"ready {len(held)}", flush=True)
while True:
    time.sleep(3600)
