#!/usr/bin/env python
"""Serve the built site on 127.0.0.1, cross-origin isolated, so that the home page's demo runs on several threads.

    python tools/serve_site.py [--dir _docs] [--port 8000]

A page may share memory with its workers (SharedArrayBuffer, which onnxruntime-web's threads need) only when the
server sends two headers, `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`;
this server sends them (as a host such as Netlify or Cloudflare Pages can be told to). Any static server works
without them, and the demo then runs on one thread."""
import argparse, functools, http.server, sys
from pathlib import Path

ISOLATION = {'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp'}

class IsolatedHandler(http.server.SimpleHTTPRequestHandler):
    "Static files, with the two headers that make a page cross-origin isolated."
    def end_headers(self):
        for k, v in ISOLATION.items(): self.send_header(k, v)
        super().end_headers()

def server(root:Path, port:int=0, quiet:bool=False)->http.server.ThreadingHTTPServer:
    "A server of `root` on 127.0.0.1 (`port` 0: a free one); call `serve_forever` on it."
    handler = type('Handler', (IsolatedHandler,), {'log_message': lambda *a: None} if quiet else {})
    return http.server.ThreadingHTTPServer(('127.0.0.1', port), functools.partial(handler, directory=str(root)))

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--dir', type=Path, default=Path(__file__).resolve().parents[1]/'_docs',
                    help='the built site (default: _docs)')
    ap.add_argument('--port', type=int, default=8000, help='port on 127.0.0.1 (default: %(default)s; 0: a free one)')
    a = ap.parse_args(argv)
    if not (a.dir/'index.html').is_file():
        sys.exit(f'{a.dir} holds no site: build it first with python tools/build_site.py --out {a.dir}')
    srv = server(a.dir, a.port)
    print(f'serving {a.dir} at http://127.0.0.1:{srv.server_port}/ (cross-origin isolated); Ctrl-C stops')
    try: srv.serve_forever()
    except KeyboardInterrupt: pass

if __name__ == '__main__': main()
