#!/usr/bin/env bash
# The same hostile HTTP/1.1 requests to Debian's nginx 1.22 and to Tiergate, both with the same access rules
# (location /internal -> 403, location ~ ^/private/ -> 403, vhost admin.example -> 403, everything else proxied) in
# front of one raw recording origin (a Python socket server that logs the request line and Host it receives). Prints,
# per request and per proxy: the status, whether the connection was closed, and what the origin got.
# HTTP/2 rows (h2c with prior knowledge; nginx: `listen ... http2`) are sent with Debian's python3-h2, its header
# validation turned off so malformed requests go out as written.
# Needs: nginx python3 python3-h2 java, and the fat jar (mvn -B -o -pl deploy -am package -DskipTests). Installs nothing.
# Usage: bench/hostile-vs-nginx.sh            (prints a Markdown table; docs/security.md shows its output)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd); JAR=$ROOT/deploy/target/tiergate.jar; JAVA=${JAVA:-java}
for t in nginx java curl; do command -v $t >/dev/null || { echo "missing $t (apt-get install nginx-light)"; exit 2; }; done
/usr/bin/python3 -c 'import h2' 2>/dev/null || { echo "missing Debian's python3 with h2 (apt-get install python3-h2)"; exit 2; }
[ -f "$JAR" ] || { echo "missing $JAR: mvn -B -o -pl deploy -am package -DskipTests"; exit 2; }
W=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; [ -f $W/n.pid ] && kill $(cat $W/n.pid) 2>/dev/null; rm -rf $W' EXIT
O=18190; N=18191; T=18192; N2=18193
cat > $W/nginx.conf <<C
worker_processes 1; pid $W/n.pid; error_log $W/n.err; daemon on;
events { worker_connections 256; }
http { access_log off;
  server { listen 127.0.0.1:$N default_server; listen 127.0.0.1:$N2 default_server http2; server_name public.example;
    location /internal { return 403; }
    location ~ ^/private/ { return 403; }
    location / { proxy_pass http://127.0.0.1:$O; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header X-Forwarded-Proto \$scheme; } }
  server { listen 127.0.0.1:$N; listen 127.0.0.1:$N2 http2; server_name admin.example; location / { return 403; } } }
C
cat > $W/tiergate.yaml <<C
proxy:
  access_log: {format: off}
  admin: off
  listeners: [{address: 127.0.0.1:$T}]
  upstreams: {app: {servers: [{address: 127.0.0.1:$O}]}}
  servers:
    - server_names: [admin.example]
      locations: [{prefix: /, upstream: app, return: '403 blocked'}]
    - server_names: [public.example]
      default: true
      locations:
        - {prefix: /internal, upstream: app, return: '403 internal'}
        - {regex: '^/private/', upstream: app, return: '403 private'}
        - {prefix: /, upstream: app}
C
nginx -c $W/nginx.conf -p $W
$JAVA -jar "$JAR" proxy -c $W/tiergate.yaml --watch-interval 0 >$W/t.out 2>$W/t.err &
for i in $(seq 1 100); do curl -fs -o /dev/null -H 'Host: public.example' http://127.0.0.1:$T/ready-check 2>/dev/null && break; sleep 0.2; done
/usr/bin/python3 - "$O" "$N" "$T" "$N2" <<'PY'
import socket, sys, threading, time
import h2.config, h2.connection, h2.events
O, N, T, N2 = (int(a) for a in sys.argv[1:5])
got = []
h2_rows = False
def serve(c):
    f = c.makefile('rb')
    try:
        while True:
            head = b''
            while not head.endswith(b'\r\n\r\n'):
                b = f.read(1)
                if not b: return
                head += b
            lines = head.decode('latin-1').split('\r\n')
            field = lambda name: [l.split(':', 1)[1].strip() for l in lines[1:] if l.lower().startswith(name + ':')]
            n = sum(int(v) for v in field('content-length'))
            body = f.read(n)
            if 'chunked' in ','.join(field('transfer-encoding')).lower():
                while True:
                    size = int(f.readline().split(b';')[0], 16)
                    body += f.read(size); f.readline()
                    if size == 0: break
            entry = '`%s` Host `%s`' % (lines[0].rsplit(' ', 1)[0], ','.join(field('host')))
            if body: entry += ', body %d bytes' % len(body)
            if h2_rows: entry += ', XFP `%s`' % ','.join(field('x-forwarded-proto'))
            got.append(entry)
            c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
    except OSError:
        pass
    finally:
        c.close()
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); srv.bind(('127.0.0.1', O)); srv.listen(64)
threading.Thread(target=lambda: [threading.Thread(target=serve, args=(srv.accept()[0],), daemon=True).start() for _ in iter(int, 1)], daemon=True).start()

def probe(port, raw):
    got.clear()
    s = socket.create_connection(('127.0.0.1', port)); s.settimeout(3)
    s.sendall(raw.encode('latin-1'))
    buf = b''
    try:
        while b'\r\n\r\n' not in buf:
            d = s.recv(4096)
            if not d: break
            buf += d
    except socket.timeout:
        pass
    if not buf:
        status = 'none'
    else:
        status = buf.split(b' ', 2)[1].decode()
    head, _, body = buf.partition(b'\r\n\r\n')
    cl = [int(l.split(b':', 1)[1]) for l in head.split(b'\r\n')[1:] if l.lower().startswith(b'content-length:')]
    closed = 'closed'
    try:
        need = (cl[0] if cl else 0) - len(body)
        while need > 0:
            d = s.recv(need)
            if not d: break
            need -= len(d)
        s.settimeout(1.5)
        extra = s.recv(4096)
        if extra:
            closed = 'open, answered more: ' + extra.split(b'\r\n')[0].decode('latin-1')
    except socket.timeout:
        closed = 'open'
    except OSError:
        pass
    s.close()
    time.sleep(0.1)
    return status, closed, '; '.join(got) if got else 'nothing'

H = 'Host: public.example\r\n'
cases = [
    ('GET /x/../internal/secret', 'GET /x/../internal/secret HTTP/1.1\r\n' + H + '\r\n'),
    ('GET /%69nternal/secret', 'GET /%69nternal/secret HTTP/1.1\r\n' + H + '\r\n'),
    ('GET //internal/secret', 'GET //internal/secret HTTP/1.1\r\n' + H + '\r\n'),
    ('GET /./internal/secret', 'GET /./internal/secret HTTP/1.1\r\n' + H + '\r\n'),
    ('GET /x/%2e%2e/internal', 'GET /x/%2e%2e/internal HTTP/1.1\r\n' + H + '\r\n'),
    ('GET /a/../private/key', 'GET /a/../private/key HTTP/1.1\r\n' + H + '\r\n'),
    ('GET /%2finternal/secret', 'GET /%2finternal/secret HTTP/1.1\r\n' + H + '\r\n'),
    ('GET /x%2F..%2Finternal', 'GET /x%2F..%2Finternal HTTP/1.1\r\n' + H + '\r\n'),
    ('GET /x\\..\\internal', 'GET /x\\..\\internal HTTP/1.1\r\n' + H + '\r\n'),
    ('GET /../internal', 'GET /../internal HTTP/1.1\r\n' + H + '\r\n'),
    ('GET /%zz', 'GET /%zz HTTP/1.1\r\n' + H + '\r\n'),
    ('GET /a%00b', 'GET /a%00b HTTP/1.1\r\n' + H + '\r\n'),
    ('GET /ok#frag', 'GET /ok#frag HTTP/1.1\r\n' + H + '\r\n'),
    ('GET /caf\\xe9', 'GET /caf\xe9 HTTP/1.1\r\n' + H + '\r\n'),
    ('GET /a/./b/../c?x=%2e', 'GET /a/./b/../c?x=%2e HTTP/1.1\r\n' + H + '\r\n'),
    ('GET /%61pp/%7Euser', 'GET /%61pp/%7Euser HTTP/1.1\r\n' + H + '\r\n'),
    ('GET /a/%2Fb', 'GET /a/%2Fb HTTP/1.1\r\n' + H + '\r\n'),
    ('GET http://admin.example/x + Host: public.example', 'GET http://admin.example/x HTTP/1.1\r\n' + H + '\r\n'),
    ('GET http://public.example/ok + Host: admin.example', 'GET http://public.example/ok HTTP/1.1\r\nHost: admin.example\r\n\r\n'),
    ('GET http://user@public.example/ok', 'GET http://user@public.example/ok HTTP/1.1\r\n' + H + '\r\n'),
    ('GET public.example:80 (authority-form)', 'GET public.example:80 HTTP/1.1\r\n' + H + '\r\n'),
    ('CONNECT public.example:443', 'CONNECT public.example:443 HTTP/1.1\r\nHost: public.example:443\r\n\r\n'),
    ('OPTIONS *', 'OPTIONS * HTTP/1.1\r\n' + H + '\r\n'),
    ('GET * ', 'GET * HTTP/1.1\r\n' + H + '\r\n'),
    ('no Host (HTTP/1.1)', 'GET /ok HTTP/1.1\r\n\r\n'),
    ('two Host fields', 'GET /ok HTTP/1.1\r\nHost: public.example\r\nHost: admin.example\r\n\r\n'),
    ('Host: admin.example:8o', 'GET /ok HTTP/1.1\r\nHost: admin.example:8o\r\n\r\n'),
    ('Host: a/x', 'GET /ok HTTP/1.1\r\nHost: a/x\r\n\r\n'),
    ('Host: a x', 'GET /ok HTTP/1.1\r\nHost: a x\r\n\r\n'),
    ('Host: admin.example:99999', 'GET /ok HTTP/1.1\r\nHost: admin.example:99999\r\n\r\n'),
    ('Host: ADMIN.Example.', 'GET /ok HTTP/1.1\r\nHost: ADMIN.Example.\r\n\r\n'),
    ('HTTP/1.0, no Host', 'GET /ok HTTP/1.0\r\n\r\n'),
    ('GET /%zz, then a pipelined GET /smuggled', 'GET /%zz HTTP/1.1\r\n' + H + '\r\nGET /smuggled HTTP/1.1\r\n' + H + '\r\n'),
    ('two Hosts, then a pipelined GET /smuggled', 'GET /ok HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\nGET /smuggled HTTP/1.1\r\n' + H + '\r\n'),
    ('Connection: close, X-Foo', 'GET /ok HTTP/1.1\r\n' + H + 'Connection: close, X-Foo\r\nX-Foo: 1\r\n\r\n'),
]
print('| request | nginx 1.22: status, connection, origin got | Tiergate: status, connection, origin got |')
print('|---|---|---|')
for name, raw in cases:
    row = ['`' + name.replace('|', '\\|') + '`']
    for port in (N, T):
        st, cl, o = probe(port, raw)
        row.append('%s, %s, %s' % (st, cl, o.replace('|', '\\|')))
    print('| ' + ' | '.join(row) + ' |')

def h2probe(port, headers, body=None):
    got.clear()
    s = socket.create_connection(('127.0.0.1', port)); s.settimeout(3)
    c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding='latin-1',
        validate_outbound_headers=False, normalize_outbound_headers=False, validate_inbound_headers=False))
    c.initiate_connection()
    c.send_headers(1, headers, end_stream=body is None)
    if body is not None:
        c.send_data(1, body[:10]); c.send_data(1, body[10:], end_stream=True)
    s.sendall(c.data_to_send())
    status, outcome = 'none', 'no answer in 3 s'
    try:
        while outcome == 'no answer in 3 s':
            d = s.recv(65535)
            if not d:
                outcome = 'connection closed'; break
            for e in c.receive_data(d):
                if isinstance(e, h2.events.ResponseReceived):
                    status = dict(e.headers).get(':status', status)
                elif isinstance(e, h2.events.StreamEnded):
                    outcome = 'stream answered'
                elif isinstance(e, h2.events.StreamReset):
                    outcome = 'RST_STREAM %s' % e.error_code.name
                elif isinstance(e, h2.events.ConnectionTerminated):
                    outcome = 'GOAWAY %s' % e.error_code.name
            s.sendall(c.data_to_send())
    except (socket.timeout, OSError):
        pass
    s.close()
    time.sleep(0.1)
    return status, outcome, '; '.join(got) if got else 'nothing'

def get(path, authority='public.example', scheme='http', extra=()):
    return [(':method', 'GET'), (':scheme', scheme), (':authority', authority), (':path', path)] + list(extra)
h2cases = [
    ('GET /x/../internal/secret', get('/x/../internal/secret'), None),
    ('GET /%69nternal', get('/%69nternal'), None),
    ('GET //internal', get('//internal'), None),
    (':authority admin.example', get('/ok', authority='admin.example'), None),
    (':authority public.example + Host admin.example', get('/ok', extra=[('host', 'admin.example')]), None),
    (':scheme https on cleartext', get('/ok', scheme='https'), None),
    (':scheme gopher', get('/ok', scheme='gopher'), None),
    ('x-forwarded-proto: https from the client', get('/ok', extra=[('x-forwarded-proto', 'https')]), None),
    ('space in :path', get('/a b'), None),
    (':path http://admin.example/x', get('http://admin.example/x'), None),
    ('missing :path', [(':method', 'GET'), (':scheme', 'http'), (':authority', 'public.example')], None),
    ('CONNECT', [(':method', 'CONNECT'), (':authority', 'public.example:443')], None),
    ('POST, DATA, no content-length', [(':method', 'POST'), (':scheme', 'http'), (':authority', 'public.example'),
                                      (':path', '/up')], b'x' * 1000),
]
h2_rows = True
print()
print('| HTTP/2 (h2c) request | nginx 1.22: status, stream, origin got | Tiergate: status, stream, origin got |')
print('|---|---|---|')
for name, headers, body in h2cases:
    row = ['`' + name.replace('|', '\\|') + '`']
    for port in (N2, T):
        st, out, o = h2probe(port, headers, body)
        row.append('%s, %s, %s' % (st, out, o.replace('|', '\\|')))
    print('| ' + ' | '.join(row) + ' |')
PY
