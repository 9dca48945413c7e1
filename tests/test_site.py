"""The course as a static website (`tools/build_site.py`), read in a real browser.

The site is built once, with the browser demo where `npm ci --prefix tools` installed onnxruntime-web, from a
temporary copy of `nbs/` with two things added: a fake static slider (two controls) in `01a_lab` and an output no
page can show in `80_evaluate`. `http.server` serves it
on 127.0.0.1 and headless Chromium (Debian's `/usr/bin/chromium`, driven by Playwright) reads it.

Needs sphinx, myst-nb, sphinx-book-theme, nbdev, `npm ci --prefix tools` (MathJax), playwright and Chromium;
skipped without them.
"""
import base64, functools, http.server, importlib.util, io, json, os, re, shutil, subprocess, sys, threading
from pathlib import Path
import pytest

REPO = Path(__file__).resolve().parent.parent
NBS = REPO/'nbs'
DOCS = [REPO/'docs'/f'{d}.md' for d in ('prompts', 'speed', 'training', 'student', 'website', 'developers')]
from chromium import CHROMIUM, CHROMIUM_ARGS, canvas_digits
BUILD_TIMEOUT = 300   # s; about 15 s here
SLIDER_MIME = 'application/vnd.minidiff.slider+json'
ODD_MIME = 'application/x-minidiff-test-unshowable'

for mod in ('sphinx', 'myst_nb', 'sphinx_book_theme', 'nbdev'):
    pytest.importorskip(mod, reason=f'{mod} is not installed: the site needs it (pip install sphinx myst-nb ...)')
sync_api = pytest.importorskip('playwright.sync_api', reason='playwright is not installed (pip install playwright)')
if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(f'{CHROMIUM} is missing: run tests/browser_deps.sh to install Debian chromium', allow_module_level=True)
if not (REPO/'tools'/'node_modules'/'mathjax'/'es5'/'tex-mml-chtml.js').exists():
    pytest.skip('MathJax is missing: run `npm ci --prefix tools`', allow_module_level=True)

def _load(name, path):   # by its path: tools/ stays off sys.path, so `export_web` is only found where the build looks
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod

build_site = _load('build_site', REPO/'tools'/'build_site.py')
serve_site = _load('serve_site', REPO/'tools'/'serve_site.py')
# the demo needs onnxruntime-web and the ONNX exporter; without them the site is built and read without it
HAVE_DEMO = ((REPO/'tools'/'node_modules'/'onnxruntime-web'/'dist'/'ort-wasm-simd-threaded.wasm').exists()
             and all(importlib.util.find_spec(m) for m in ('onnx', 'onnxscript', 'onnxruntime')))

def png(shade:int)->str:
    "A 4x4 grey PNG, base64: each frame of the fake slider its own picture."
    from PIL import Image
    buf = io.BytesIO()
    Image.new('L', (4, 4), shade).save(buf, format='PNG')
    return base64.b64encode(buf.getvalue()).decode()

FAKE = dict(version=1, scale=4, controls=[
    dict(name='t', label='step t', values=[0, 500, 999], start=1,
         frames=[dict(png=png(s), caption=f'<b>t = {v}</b>') for s, v in ((0, 0), (120, 500), (250, 999))]),
    dict(name='w', label='guidance', values=[1.0, 2.0], start=0,
         frames=[dict(png=png(s), caption=f'w = {v}') for s, v in ((120, 1.0), (60, 2.0))])])

def title_of(nb:Path):
    "The `# Title` and `> summary` of a notebook's first markdown cell."
    cell = next(c for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'markdown')
    src = ''.join(cell['source'])
    return re.search(r'^#\s+(.+?)\s*$', src, re.M).group(1), re.search(r'^>\s+(.+?)\s*$', src, re.M).group(1)

def course(nbs=NBS):
    "The course's notebooks in its order, worked out here independently of the build script."
    def key(p): n, x = re.match(r'(\d+)([a-z]*)_', p.stem).groups(); return int(n), x
    return sorted((p for p in nbs.glob('*.ipynb') if p.stem != 'index'), key=key)

def copy_nbs(dst:Path):
    """A copy of `nbs/`: the fake slider in `01a_lab`'s first widget view; in `80_evaluate` an unshowable output
    and an `echo: false` cell."""
    shutil.copytree(NBS, dst, ignore=shutil.ignore_patterns('.ipynb_checkpoints'))
    lab = json.loads((dst/'01a_lab.ipynb').read_text())
    cell = next(c for c in lab['cells'] for o in c.get('outputs', []) if
                'application/vnd.jupyter.widget-view+json' in o.get('data', {}))
    for o in cell['outputs']: o.get('data', {}).pop(SLIDER_MIME, None)
    cell['outputs'].append(dict(output_type='display_data', metadata={}, data={SLIDER_MIME: FAKE}))
    (dst/'01a_lab.ipynb').write_text(json.dumps(lab))
    ev = json.loads((dst/'80_evaluate.ipynb').read_text())
    ev['cells'].append(dict(cell_type='code', id='0dd0u7pu7', metadata={}, execution_count=1, source='odd()',
                            outputs=[dict(output_type='display_data', metadata={}, data={ODD_MIME: {'x': 1}})]))
    ev['cells'].append(dict(cell_type='code', id='ech0fa15e', metadata={}, execution_count=2,
                            source='#| echo: false\nprint("an output without its code")',
                            outputs=[dict(output_type='stream', name='stdout', text='an output without its code\n')]))
    (dst/'80_evaluate.ipynb').write_text(json.dumps(ev))
    return cell.get('id')

class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass

@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "Build once from the altered copy and serve it on 127.0.0.1: the URL, the folder, the build's output."
    tmp = tmp_path_factory.mktemp('site')
    slider_cell = copy_nbs(tmp/'nbs')
    r = subprocess.run([sys.executable, str(REPO/'tools'/'build_site.py'), '--out', str(tmp/'out'), '--nbs',
                        str(tmp/'nbs'), '--demo' if HAVE_DEMO else '--no-demo'], cwd=tmp, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    assert r.returncode == 0, f'the build failed:\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}'
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(tmp/'out')))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try: yield dict(url=f'http://127.0.0.1:{srv.server_port}/', out=tmp/'out', build=r, slider_cell=slider_cell,
                    nbs=tmp/'nbs')
    finally: srv.shutdown(); srv.server_close()

@pytest.fixture(scope='module')
def browser(site):
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try: yield b
        finally: b.close()

@pytest.fixture
def page(browser, site):
    "A page that records every request it makes, and every response that failed."
    pg = browser.new_page()
    pg.requests, pg.failed = [], []
    pg.on('request', lambda r: pg.requests.append(r.url))
    pg.on('requestfailed', lambda r: pg.failed.append(r.url))
    pg.on('response', lambda r: r.status >= 400 and pg.failed.append(f'{r.status} {r.url}'))
    pg.set_default_timeout(15_000)
    yield pg
    pg.close()

def test_build(site):
    """What the build prints and leaves: its time and size, nothing the site does not use; under 20 MB (12 MB
    without the demo)."""
    out, r = site['out'], site['build']
    assert re.search(r'^site: .* in [\d.]+ s', r.stdout, re.M) and 'size:' in r.stdout, r.stdout
    for unused in ('_sources', '.doctrees', '.buildinfo'): assert not (out/unused).exists(), unused
    assert not list(out.rglob('*.map')) and not list(out.rglob('fontawesome.js')) and 'fontawesome.js' not in \
        (out/'index.html').read_text()
    assert {p.name for p in (out/'_static'/'mathjax').rglob('*') if p.is_file() and p.suffix == '.js'} == \
           {'tex-mml-chtml.js'}
    size = sum(f.stat().st_size for f in out.rglob('*') if f.is_file())
    demo = sum(f.stat().st_size for f in (out/'_static'/'minidiff').rglob('*') if f.is_file()) if HAVE_DEMO else 0
    print(f'\nsite: {size/1e6:.2f} MB, the demo {demo/1e6:.2f} MB of it')
    assert size < 20e6 and size - demo < 12e6
    assert build_site.external_loads(out) == {}

QUOTES = str.maketrans("‘’“”–", "''\"\"-")   # Sphinx's smart quotes, back to the notebook's
def plain(s): return re.sub(r'[`*]', '', s.translate(QUOTES)).strip().rstrip('#¶ \n')

def test_titles(site, page):
    "Every notebook of `nbs/` has a page with its title and summary."
    assert [p.name for p in course(site['nbs'])] == [p.name for p in course()]
    for nb in [site['nbs']/'index.ipynb', *course(site['nbs'])]:
        title, summary = title_of(nb)
        page.goto(site['url'] + nb.stem + '.html')
        assert plain(page.locator('main h1').first.inner_text()) == plain(title), nb.name
        assert plain(page.locator('main .minidiff-summary').first.inner_text()) == plain(summary), nb.name
        assert title in page.title()

def test_sidebar_order(site, page):
    "The sidebar lists the tour, the chapters by number, the appendices, then the README; previous/next follow it."
    page.goto(site['url'] + 'index.html')
    links = page.locator('nav.bd-docs-nav a.reference.internal')
    want = [plain(title_of(nb)[0]) for nb in course()]
    got = [plain(t) for t in links.all_inner_texts()]
    n = len(want)
    assert got[0] == 'minidiff' and got[1:n+1] == want and got[-1].startswith('About the project'), got
    assert got[n+1:-1] == [plain(f.read_text().splitlines()[0].lstrip('# ')) for f in DOCS], got   # the README's pages
    assert page.locator('nav.bd-docs-nav p.caption').all_inner_texts()[:3] == ['Start here', 'Chapters', 'Appendices']
    page.goto(site['url'] + '02_noise.html')
    assert page.locator('a.left-prev').get_attribute('href') == '01a_lab.html'
    assert page.locator('a.right-next').get_attribute('href') == '02a_fit.html'

def test_maths(site, page):
    "MathJax, served by the site itself, draws a page's maths with its own fonts."
    page.goto(site['url'] + '02_noise.html')
    page.wait_for_selector('mjx-container', timeout=30_000)
    assert page.locator('mjx-container').count() > 5
    assert page.locator('mjx-merror').count() == 0
    page.wait_for_function('document.fonts.status == "loaded"')
    assert any('/_static/mathjax/output/chtml/fonts/woff-v2/' in u for u in page.requests)
    assert not [u for u in page.failed if 'favicon' not in u]

def slider_state(box):
    return dict(src=box.locator('img.minidiff-slider-img').get_attribute('src'),
                caption=box.locator('.minidiff-slider-caption').inner_html(),
                values=[v.strip() for v in box.locator('.minidiff-slider-value').all_inner_texts()],
                inputs=[i.input_value() for i in box.locator('input.minidiff-slider-input').all()])

def frame(site, src):
    return base64.b64encode((site['out']/src).read_bytes()).decode()

def test_slider(site, page):
    "The fake slider moves from the keyboard and by setting its value; the picture and caption follow."
    page.goto(site['url'] + '01a_lab.html')
    box = page.locator(f'#slider-01a_lab-{site["slider_cell"]}')
    assert box.locator('input.minidiff-slider-input').count() == 2
    assert box.locator('label').all_inner_texts() == ['step t', 'guidance']
    s = slider_state(box)
    assert s['inputs'] == ['1', '0'] and s['values'] == ['500', '1.0'] and s['caption'] == '<b>t = 500</b>'
    assert frame(site, s['src']) == FAKE['controls'][0]['frames'][1]['png']
    assert not s['src'].startswith('data:') and s['src'].startswith('_static/images/01a_lab/')
    t, w = box.locator('input.minidiff-slider-input').all()
    t.focus(); page.keyboard.press('ArrowRight')              # the keyboard: t from 500 to 999
    s = slider_state(box)
    assert s['values'] == ['999', '1.0'] and s['caption'] == '<b>t = 999</b>'
    assert frame(site, s['src']) == FAKE['controls'][0]['frames'][2]['png']
    try: w.fill('1')                                          # Playwright sets a range's value and fires input
    except sync_api.Error: w.evaluate("e => { e.value = '1'; e.dispatchEvent(new Event('input', {bubbles: true})) }")
    s = slider_state(box)
    assert s['inputs'] == ['1', '1'] and s['values'] == ['500', '2.0'] and s['caption'] == 'w = 2.0'   # t reset
    assert frame(site, s['src']) == FAKE['controls'][1]['frames'][1]['png']
    w.evaluate("e => { e.value = '0'; e.dispatchEvent(new Event('change', {bubbles: true})) }")
    assert slider_state(box)['caption'] == 'w = 1.0'
    assert page.locator('img[src^="data:"]').count() == 0

def test_course_sliders(site, page):
    "Each widget view of the course is a static slider where the notebook stored its frames, a note where not."
    for nb in course(site['nbs']):   # the copy that was built: the notebooks may change meanwhile
        cells = json.loads(nb.read_text())['cells']
        widgets = [c for c in cells if any('application/vnd.jupyter.widget-view+json' in o.get('data', {})
                                           for o in c.get('outputs', []))]
        if not widgets: continue
        page.goto(site['url'] + nb.stem + '.html')
        sliders = page.locator('.minidiff-slider').count()
        notes = page.get_by_text('(an interactive slider: run the notebook to move it)').count()
        if nb.stem == '01a_lab': continue   # its first widget carries the fake slider of the copy
        with_frames = sum(any(SLIDER_MIME in o.get('data', {}) for o in c['outputs']) for c in widgets)
        assert (sliders, notes) == (with_frames, len(widgets) - with_frames), nb.name

def test_search(site, page):
    "Sphinx's own search finds the noise chapter."
    page.goto(site['url'] + 'search.html?q=noise')
    page.wait_for_selector('#search-results a[href*="02_noise.html"]', timeout=30_000)

def test_nothing_from_outside(site, page):
    "Reading several pages (maths, pictures, sliders, search) asks nothing of any host but the site's."
    for p in ('index.html', '00_tour.html', '02_noise.html', '06_samplers.html', '98_glossary.html', 'readme.html',
              'search.html?q=digit'):
        page.goto(site['url'] + p)
        page.wait_for_load_state('networkidle')
    assert len(page.requests) > 20
    outside = [u for u in page.requests if not u.startswith(('http://127.0.0.1:', 'data:', 'blob:'))]
    assert not outside, outside
    assert not [u for u in page.failed if 'favicon' not in u], page.failed

def test_unshowable_output(site, page):
    "An output no page can show: the build goes on, warns naming the notebook and the cell, the page says so."
    err = site['build'].stderr
    assert re.search(r'warning: 80_evaluate\.ipynb: cell 0dd0u7pu7 \(index \d+\): an output the website cannot show '
                     + re.escape(f'({ODD_MIME})'), err), err[-3000:]
    page.goto(site['url'] + '80_evaluate.html')
    assert page.get_by_text(f'an output the website cannot show ({ODD_MIME})').count() == 1

def test_echo_false(site, page):
    "`#| echo: false`: the page shows the output and not the code."
    page.goto(site['url'] + '80_evaluate.html')
    assert page.get_by_text('an output without its code').count() == 1
    assert 'print("an output without its code")' not in page.content()

def test_external_check(tmp_path):
    "The build's check: what a browser would load from outside is found and named; links in prose are not."
    (tmp_path/'_static').mkdir()
    (tmp_path/'ok.html').write_text('<a href="https://arxiv.org/abs/2006.11239">DDPM</a><script src="_static/x.js">'
                                    '</script><link rel="stylesheet" href="_static/x.css">')
    (tmp_path/'cdn.html').write_text('<script src="https://cdn.example.com/require.js"></script>')
    (tmp_path/'font.html').write_text('<link rel="preconnect" href="https://fonts.gstatic.com">')
    (tmp_path/'_static'/'a.css').write_text('@import url("https://fonts.googleapis.com/css?family=Lato");')
    (tmp_path/'_static'/'b.css').write_text('.x { background: url(//cdn.example.com/i.png) }')
    (tmp_path/'_static'/'c.js').write_text('const s = document.createElement("script"); s.src = "https://x.io/a.js";')
    (tmp_path/'_static'/'ok.js').write_text('const ns = "http://www.w3.org/1998/Math/MathML";')
    assert sorted(build_site.external_loads(tmp_path)) == ['_static/a.css', '_static/b.css', '_static/c.js',
                                                            'cdn.html', 'font.html']

def test_demo_hook(tmp_path, monkeypatch, capsys):
    "tools/export_web.py: its files go under the site, its HTML is returned; missing or failing, the build goes on."
    monkeypatch.setattr(build_site, "TOOLS", tmp_path)
    assert build_site.load_demo(tmp_path/'out') is None
    assert 'no export_web.py' in capsys.readouterr().out
    (tmp_path/'export_web.py').write_text(
        'DEMO_HTML = "<div id=demo></div>"\n'
        'def build_web(dest):\n    dest.mkdir(parents=True); (dest/"demo.js").write_text("1"); return {}\n')
    assert build_site.load_demo(tmp_path/'out') == '<div id=demo></div>' and (tmp_path/'out'/'demo.js').exists()
    (tmp_path/'export_web.py').write_text('DEMO_HTML = ""\ndef build_web(dest): raise RuntimeError("no onnx")\n')
    assert build_site.load_demo(tmp_path/'out2') is None
    assert "build_web failed (RuntimeError('no onnx'))" in capsys.readouterr().out

def test_home_page_demo(site, page):
    "The home page's prompt box draws 16 digits that the course's judge reads as asked; bad input gets a message."
    if not HAVE_DEMO: pytest.skip('no demo in this build: npm ci --prefix tools, and pip install onnx onnxscript onnxruntime')
    from minidiff.judge import class_accuracy, load_judge
    judge = load_judge(device='cpu')
    status = 'document.querySelector("#minidiff-status").textContent'
    page.goto(site['url'] + 'index.html')
    page.wait_for_function(f'{status}.includes("16 digits in")', timeout=60_000)   # drawn on load: 'a thick seven'
    assert class_accuracy(judge, canvas_digits(page), 7) >= 14/16
    for prompt, d in (('a 3 leaning left', 3), ('the numbr five', 5)):
        page.fill('#minidiff-prompt', prompt)
        page.evaluate(f'{status} = ""')                       # what the next draw writes
        page.press('#minidiff-prompt', 'Enter')
        page.wait_for_function(f'{status}.includes("16 digits in")', timeout=60_000)
        assert class_accuracy(judge, canvas_digits(page), d) >= 14/16, prompt
    for bad, said in (('', 'empty'), ('hello giraffe window', 'no word the text encoder knows')):
        page.fill('#minidiff-prompt', bad)
        page.click('#minidiff-draw')
        page.wait_for_function(f'document.querySelector("#minidiff-error").textContent.includes({json.dumps(said)})',
                               timeout=60_000)
    assert page.evaluate('window.minidiff.generate("a 4", {n: 10000}).then(() => "drawn", e => e.message)') \
        .startswith('n must be an integer from 1 to 256')
    assert not [u for u in page.requests if not u.startswith(site['url'])]

def test_isolated_server(site, browser):
    "tools/serve_site.py serves the site cross-origin isolated: the demo's models run on the browser's threads."
    if not HAVE_DEMO: pytest.skip('no demo in this build')
    srv = serve_site.server(site['out'], quiet=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    pg = browser.new_page()
    try:
        pg.goto(f'http://127.0.0.1:{srv.server_port}/index.html')
        assert pg.evaluate('crossOriginIsolated')
        pg.wait_for_function('document.querySelector("#minidiff-status").textContent.includes("16 digits in")',
                             timeout=60_000)
        assert pg.evaluate('minidiff.generate("a 2", {n: 3}).then(x => x.length)') == 3*784
        assert pg.evaluate('ort.env.wasm.numThreads') == min(4, pg.evaluate('navigator.hardwareConcurrency'))
    finally: pg.close(); srv.shutdown(); srv.server_close()
