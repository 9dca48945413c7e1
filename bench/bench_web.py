"""The pipeline in the reader's browser (issue 26): its time and what the course's judge reads in its digits.

    python bench/bench_web.py                 # builds the demo's files (tools/export_web.py) in a temp dir
    python bench/bench_web.py --n 32 --save   # digits per prompt; --save writes nbs/figures/web.json

Headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) opens a page served from 127.0.0.1 that holds
the demo as the site's home page does, then:
- time: the page's load until `minidiff.ready()` (models fetched and sessions made), the first 16 digits, then 16
  digits warm (`generate(prompt, {n: 16})`, 4 steps), the median of ten calls with other seeds and prompts; then the
  same warm time with the page served cross-origin isolated (`tools/serve_site.py`), where the models run on as many
  threads as the browser has cores;
- quality: for each digit, prompts of four kinds, written afresh here: plain ('a seven'), numerals ('the number 7'),
  captions in the held-out grammar with attributes (words and frames training never wrote), and training-style
  captions with typos; `--n` digits each, the judge's reading of the digit asked for; and the same prompts
  drawn by the Python pipeline (`from_pretrained(unet='fewstep')`, other noise) beside it;
- every request the page made stayed on 127.0.0.1.
Run it on an otherwise idle machine: the times name the CPU.
"""
import argparse, functools, http.server, importlib.util, json, random, statistics, sys, tempfile, threading, time, warnings
from pathlib import Path
import torch
from minidiff.clip import ATTRS, DIGIT_WORDS, add_typos, write_caption
from minidiff.core import cpu_kind
from minidiff.judge import class_accuracy, load_judge
from minidiff.pipeline import LatentDiffusionPipeline

REPO = Path(__file__).resolve().parent.parent
def _load(name):
    spec = importlib.util.spec_from_file_location(name, REPO/'tools'/f'{name}.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod
E, S = _load('export_web'), _load('serve_site')
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync']
GENERATE = 'async ([p, o]) => Array.from(await minidiff.generate(p, o))'

def prompts(d:int, rng:random.Random)->dict:
    "One prompt of each kind for digit `d`."
    attrs = lambda: rng.sample(ATTRS, rng.randint(1, 2))
    return dict(plain=f'a {DIGIT_WORDS[d]}', numeral=f'the number {d}',
                held_out=write_caption(dict(digit=d, attrs=attrs()), rng, True),
                typos=add_typos(write_caption(dict(digit=d, attrs=attrs()), rng), rng, 0.3))

def serve(root:Path):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f'http://127.0.0.1:{srv.server_port}/'

TIMED = 'async ([p, o]) => { const t = performance.now(); await minidiff.generate(p, o); return performance.now() - t; }'
def warm16(page, ps)->list:
    "Seconds for 16 digits, ten calls with other prompts and seeds."
    return [page.evaluate(TIMED, [ps[i % 10]['plain'], dict(n=16, seed=1000 + i)])/1000 for i in range(10)]

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=32, help='digits per prompt (default %(default)s)')
    ap.add_argument('--seed', type=int, default=1, help='seed for the prompts (default %(default)s)')
    ap.add_argument('--save', action='store_true', help='write nbs/figures/web.json')
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright
    torch.set_num_threads(2)
    rng = random.Random(a.seed)
    ps = {d: prompts(d, rng) for d in range(10)}
    judge = load_judge(device='cpu')
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        sizes = E.build_web(root/'_static'/'minidiff')
        export_s = time.perf_counter() - t0
        (root/'index.html').write_text(f'<!doctype html><meta charset="utf-8"><title>minidiff</title>{E.DEMO_HTML}')
        srv, base = serve(root)
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path='/usr/bin/chromium', args=CHROMIUM_ARGS)
            page = b.new_page()
            urls = []
            page.on('request', lambda r: urls.append(r.url))
            t0 = time.perf_counter()
            page.goto(base + 'index.html')
            page.evaluate('minidiff.ready()')
            load_s = time.perf_counter() - t0
            page.wait_for_function('document.querySelector("#minidiff-status").textContent.includes("16 digits in")',
                                   timeout=60_000)
            first = page.inner_text('#minidiff-status')
            warm = warm16(page, ps)
            parts = page.evaluate('minidiff.timings')                    # the last of those calls, model by model
            acc, web_s = {}, time.perf_counter()
            for k in ('plain', 'numeral', 'held_out', 'typos'):
                acc[k] = [class_accuracy(judge, torch.tensor(page.evaluate(GENERATE, [ps[d][k], dict(n=a.n, seed=d)]))
                                         .view(a.n, 1, 28, 28)*2 - 1, d) for d in range(10)]
            web_s = time.perf_counter() - web_s
            iso_srv = S.server(root, quiet=True)
            threading.Thread(target=iso_srv.serve_forever, daemon=True).start()
            iso = b.new_page()
            iso.goto(f'http://127.0.0.1:{iso_srv.server_port}/index.html')
            threads = iso.evaluate('crossOriginIsolated ? navigator.hardwareConcurrency : 1')
            iso.evaluate('minidiff.ready()')
            iso.evaluate('minidiff.generate("a 3", {n: 16})')   # the first draw after load warms up
            warm_iso = warm16(iso, ps)
            iso_srv.shutdown()
            b.close()
        srv.shutdown()
    local = all(u.startswith(base) for u in urls)
    pipe = LatentDiffusionPipeline.from_pretrained(unet='fewstep', device='cpu')
    py = {}
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for k in acc:
            py[k] = [class_accuracy(judge, pipe(ps[d][k], num_images_per_prompt=a.n, seed=d, disable=True).images*2 - 1, d)
                     for d in range(10)]
        pipe(ps[7]['plain'], num_images_per_prompt=16, disable=True)
        py_t = []
        for i in range(5):
            t0 = time.perf_counter(); pipe(ps[i]['plain'], num_images_per_prompt=16, seed=i, disable=True)
            py_t.append(time.perf_counter() - t0)
    mean = lambda v: sum(v)/len(v)
    out = dict(cpu=cpu_kind(), chromium_threads=1, n_per_prompt=a.n, export_seconds=round(export_s, 1),
               demo_mb=round(sum(sizes.values())/1e6, 2), load_to_ready_s=round(load_s, 2), first_draw=first,
               warm16_median_s=round(statistics.median(warm), 3), warm16_s=[round(w, 3) for w in warm],
               python16_median_s=round(statistics.median(py_t), 3), isolated_threads=threads,
               last_call_ms={k: [round(x, 1) for x in v] if isinstance(v, list) else round(v, 1) for k, v in parts.items()},
               warm16_isolated_median_s=round(statistics.median(warm_iso), 3), warm16_isolated_s=[round(w, 3) for w in warm_iso],
               browser_accuracy={k: round(mean(v), 4) for k, v in acc.items()},
               browser_accuracy_all=round(mean([x for v in acc.values() for x in v]), 4),
               python_accuracy={k: round(mean(v), 4) for k, v in py.items()},
               python_accuracy_all=round(mean([x for v in py.values() for x in v]), 4),
               worst_digit={k: min(range(10), key=lambda d: v[d]) for k, v in acc.items()},
               requests=len(urls), all_local=local, prompts={str(d): v for d, v in ps.items()},
               date=time.strftime('%Y-%m-%d'))
    print(f"CPU: {out['cpu']}; headless Chromium, onnxruntime-web's wasm backend")
    print(f"demo files {out['demo_mb']} MB, built in {export_s:.1f} s; page load to ready {load_s:.2f} s; first draw: {first}")
    print(f"16 digits, 4 steps, warm: median {out['warm16_median_s']:.3f} s in the browser "
          f"({', '.join(f'{w:.3f}' for w in warm)}); the Python pipeline: {out['python16_median_s']:.3f} s")
    print(f"   in the last: text encoder {parts['text']:.0f} ms, student steps "
          f"{', '.join(f'{t:.0f}' for t in parts['student'])} ms, decoder {parts['decoder']:.0f} ms (the rest: the page)")
    print(f"   cross-origin isolated (tools/serve_site.py), {threads} threads: median {out['warm16_isolated_median_s']:.3f} s "
          f"({', '.join(f'{w:.3f}' for w in warm_iso)})")
    n = 10*a.n
    for k in acc: print(f"  {k:9} right digit: browser {mean(acc[k]):.2%}, Python {mean(py[k]):.2%} ({n} digits each)")
    print(f"  all       right digit: browser {out['browser_accuracy_all']:.2%}, Python {out['python_accuracy_all']:.2%} "
          f"({4*n} digits); drawing them took {web_s:.0f} s in the browser")
    print(f"requests: {len(urls)}, all to 127.0.0.1: {local}")
    if a.save:
        f = REPO/'nbs'/'figures'/'web.json'
        f.write_text(json.dumps(out, indent=1, sort_keys=True) + '\n')
        print('wrote', f)

if __name__ == '__main__': main()
