"""The noise-level slider of `nbs/02_noise.ipynb`, driven in a real browser.

JupyterLab runs in a subprocess on 127.0.0.1 with a random token, serving a *copy* of the notebook from a
temporary directory (so the repo's notebook is never autosaved with outputs), with temporary Jupyter and
IPython settings (so a user's settings neither leak in nor get written). Headless Chromium (Debian's
`/usr/bin/chromium`, driven by Playwright) opens the notebook, runs every cell from the Run menu, then moves
the slider from the keyboard and with the mouse, and waits each time until the caption names the new step,
with its `alpha_bar`, and the picture has been redrawn.

Needs `/usr/bin/chromium` (see `tests/browser_deps.sh`) and the `playwright` package; skipped without them.
"""
import base64, io, json, os, re, secrets, signal, subprocess, sys, time, urllib.request
from pathlib import Path
from types import SimpleNamespace
import pytest

REPO = Path(__file__).resolve().parent.parent
NB = REPO/'nbs'/'02_noise.ipynb'
from chromium import CHROMIUM, CHROMIUM_ARGS
SERVER_TIMEOUT = 120   # s for JupyterLab to answer on /api
LOAD_TIMEOUT = 120     # s for the notebook page to load and its kernel to be idle
RUN_TIMEOUT = 180      # s for Run All Cells to reach the slider and show it (about 15 s here, on a loaded machine)
REDRAW_TIMEOUT = 60    # s for one slider move to show up in the caption and the picture

sync_api = pytest.importorskip('playwright.sync_api', reason='playwright is not installed (pip install playwright)')
if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(f'{CHROMIUM} is missing: run tests/browser_deps.sh to install Debian chromium', allow_module_level=True)

def api(base, token, path='/api', method='GET', timeout=5):
    req = urllib.request.Request(f'{base}{path}', method=method, headers={'Authorization': f'token {token}'})
    with urllib.request.urlopen(req, timeout=timeout) as r: return r.status, r.read()

def our_kernel_pids(runtime:Path)->list[int]:
    "Kernels started by our server: their command lines name a connection file in our own runtime dir."
    pids = []
    for p in Path('/proc').iterdir():
        if not p.name.isdigit(): continue
        try: cmd = (p/'cmdline').read_bytes().split(b'\0')
        except OSError: continue
        if any(a.startswith(str(runtime).encode()) for a in cmd): pids.append(int(p.name))
    return pids

def kill_group(pid:int, sig):
    try: os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError): pass

def copy_notebook(dst:Path):
    "The notebook minus its last `nbdev_export()` cell, which must not export anything from a scratch dir."
    nb = json.loads(NB.read_text())
    nb['cells'] = [c for c in nb['cells'] if 'nbdev_export' not in ''.join(c['source'])]
    dst.write_text(json.dumps(nb, indent=1))

@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    "A JupyterLab server on 127.0.0.1 serving a copy of the notebook from a scratch dir, with scratch settings."
    tmp = tmp_path_factory.mktemp('lab')
    root, runtime, user_settings = tmp/'root', tmp/'runtime', tmp/'user-settings'
    for d in (root, runtime): d.mkdir()
    copy_notebook(root/NB.name)
    # No news or update toasts over the notebook (and no requests for them)
    f = user_settings/'@jupyterlab'/'apputils-extension'/'notification.jupyterlab-settings'
    f.parent.mkdir(parents=True)
    f.write_text(json.dumps({'fetchNews': 'false', 'checkForUpdates': False}))
    # Scratch config, data, runtime and IPython dirs; kernelspecs and lab extensions still come from sys.prefix
    env = {**os.environ, 'JUPYTER_CONFIG_DIR': str(tmp/'config'), 'JUPYTER_DATA_DIR': str(tmp/'data'),
           'JUPYTER_RUNTIME_DIR': str(runtime), 'IPYTHONDIR': str(tmp/'ipython')}
    for k in ('JUPYTER_PATH', 'JUPYTER_CONFIG_PATH', 'JUPYTER_TOKEN'): env.pop(k, None)
    token = secrets.token_hex(24)
    cmd = [sys.executable, '-m', 'jupyterlab', '--no-browser', '--allow-root', '--ServerApp.open_browser=False',
           '--ServerApp.ip=127.0.0.1', '--ServerApp.port=0', f'--IdentityProvider.token={token}',
           f'--ServerApp.root_dir={root}', f'--LabApp.user_settings_dir={user_settings}',
           f'--LabApp.workspaces_dir={tmp/"workspaces"}', '--LabApp.news_url=None',
           '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate', '--ServerApp.terminals_enabled=False']
    log_path = tmp/'server.log'
    log = open(log_path, 'wb')
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = None
    try:
        deadline = time.monotonic() + SERVER_TIMEOUT
        info = runtime/f'jpserver-{proc.pid}.json'  # where the server says which port it got
        while True:
            if proc.poll() is not None:
                pytest.fail(f'JupyterLab exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}')
            try:
                if base is None: base = f'http://127.0.0.1:{json.loads(info.read_text())["port"]}'
                if api(base, token)[0] == 200: break
            except (OSError, ValueError, KeyError): pass
            if time.monotonic() > deadline:
                pytest.fail(f'JupyterLab did not answer within {SERVER_TIMEOUT}s:\n{log_path.read_text()[-3000:]}')
            time.sleep(0.5)
        yield SimpleNamespace(base=base, token=token, root=root, log=log_path)
    finally:
        kernels = our_kernel_pids(runtime)
        if proc.poll() is None:
            try: api(base, token, '/api/shutdown', 'POST')  # shuts its kernels down too
            except Exception: pass
            try: proc.wait(20)
            except subprocess.TimeoutExpired: kill_group(proc.pid, signal.SIGTERM)
            try: proc.wait(10)
            except subprocess.TimeoutExpired: kill_group(proc.pid, signal.SIGKILL); proc.wait(10)
        kill_group(proc.pid, signal.SIGKILL)  # anything still in its process group
        for pid in set(kernels + our_kernel_pids(runtime)): kill_group(pid, signal.SIGKILL)  # a kernel leads its own group
        log.close()

def caption_for(t:int)->str:
    "The caption `noise_slider` writes for step `t` of the cosine schedule the notebook uses."
    from minidiff.noise import make_schedule
    return f't = {t}, alpha_bar = {make_schedule("cosine").alpha_bar[t].item():.3f}'

def expected_pixels(t:int):
    "What the notebook's slider must show at step `t`: its four test digits noised to `t` with its seeded noise."
    import numpy as np, torch
    from PIL import Image
    from minidiff.core import from_pm1
    from minidiff.lab import images_png
    from minidiff.data import load_mnist, digits_to_float
    from minidiff.noise import make_schedule, add_noise
    x0 = digits_to_float(load_mnist()[2][:4])
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0))  # as `noise_slider(..., seed=0)` draws it
    png = images_png(from_pm1(add_noise(x0, t, make_schedule('cosine'), noise)[0]), None, 4)
    return np.asarray(Image.open(io.BytesIO(png)).convert('L'), dtype=np.int16)

def shown_pixels(img):
    "The picture the browser shows in `img` (a blob: URL that ipywidgets made from the PNG bytes)."
    import numpy as np
    from PIL import Image
    b64 = img.evaluate("""async el => { const b = new Uint8Array(await (await fetch(el.src)).arrayBuffer());
        let s = ''; for (const x of b) s += String.fromCharCode(x); return btoa(s); }""")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))).convert('L'), dtype=np.int16)

def test_noise_slider_redraws(lab, tmp_path):
    nb_before = NB.read_bytes()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={'width': 1400, 'height': 1000})
            try: drive(page, lab.base, lab.token)
            except BaseException:
                shot = tmp_path/'failure.png'
                try: page.screenshot(path=str(shot)); print(f'\nthe page at the failure: {shot}')
                except Exception as e: print(f'\nno screenshot: {e}')
                print(f'JupyterLab log ({lab.log}), the end:\n{lab.log.read_text()[-3000:]}')
                raise
        finally: browser.close()
    assert NB.read_bytes() == nb_before, 'the repo notebook must be untouched'

RUN_ERROR_JS = """() => {
    const cap = document.querySelector('.minidiff-caption');
    if (cap && cap.textContent.startsWith('t = ')) return {caption: cap.textContent};
    const err = [...document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
        .find(e => /Traceback/.test(e.textContent));
    return err ? {error: err.textContent} : null;
}"""

def drive(page, base, token):
    expect = sync_api.expect
    page.set_default_timeout(REDRAW_TIMEOUT*1000)
    page.goto(f'{base}/lab/tree/{NB.name}?token={token}', wait_until='domcontentloaded', timeout=LOAD_TIMEOUT*1000)
    # Wait for the kernel itself, in the status bar: the toolbar's indicator already reads "Idle" while there is no kernel
    # yet, and Run All Cells with no kernel only opens a "Select Kernel" dialog.
    kernel = page.locator('.jp-StatusBar-TextItem[title^="Change kernel"]')
    dialog = page.locator('.jp-Dialog', has_text='Select Kernel')
    expect(kernel.filter(has_text=re.compile(r'^(?!No Kernel).* \| Idle$')).or_(dialog)).to_be_visible(timeout=LOAD_TIMEOUT*1000)
    if dialog.is_visible():  # JupyterLab could not start the notebook's kernel by itself: pick it, as a user would
        dialog.locator('.jp-Dialog-footer button.jp-mod-accept').click()
    expect(kernel).to_have_text(re.compile(r'^(?!No Kernel).* \| Idle$'), timeout=LOAD_TIMEOUT*1000)

    # Run > Run All Cells, from the menu bar as a user would
    page.locator('.lm-MenuBar-item', has_text=re.compile(r'^Run$')).click()
    page.locator('.lm-Menu-item:visible .lm-Menu-itemLabel', has_text=re.compile(r'^Run All Cells$')).click()
    res = page.wait_for_function(RUN_ERROR_JS, timeout=RUN_TIMEOUT*1000, polling=500).json_value()
    assert 'error' not in res, f'a cell failed before the slider was shown:\n{res["error"][-3000:]}'

    T = REDRAW_TIMEOUT*1000  # ms; `expect` does not take the page's default timeout
    out = page.locator('.jp-OutputArea-output').filter(has=page.locator('.minidiff-caption')).first   # the lesson's slider (a solution at the end has another)
    caption, img, handle = out.locator('.minidiff-caption'), out.locator('img'), out.locator('.noUi-handle')
    readout = out.locator('.widget-readout')
    expect(out.locator('.widget-slider .widget-label')).to_have_text('step t', timeout=T)
    expect(caption).to_have_text(caption_for(500), timeout=T)  # the cell starts the slider at 500
    expect(readout).to_have_text('500', timeout=T)
    def check_picture(t):
        shown, want = shown_pixels(img), expected_pixels(t)
        assert shown.shape == want.shape and abs(shown - want).max() <= 1, f'the picture is not the digits at step {t}'
    check_picture(500)

    def check_move(move, t=None):
        # Do `move`, wait until the caption names step `t` (default: the step the readout shows after the move) and the
        # picture was redrawn, then check that the picture is the digits at step `t`.
        src, before = img.get_attribute('src'), readout.text_content()
        move()
        if t is None:
            expect(readout).not_to_have_text(before, timeout=T)
            t = int(readout.text_content())
        expect(caption).to_have_text(caption_for(t), timeout=T)
        expect(img).not_to_have_attribute('src', src, timeout=T)
        expect(readout).to_have_text(str(t), timeout=T)
        check_picture(t)
        return t

    assert caption_for(501) != caption_for(500), 'one step must change the caption for the test to mean anything'
    # From the keyboard: focus the handle, then keys
    for key, t in [('ArrowRight', 501), ('End', 999), ('Home', 0)]:
        handle.focus()
        expect(handle).to_be_focused(timeout=T)
        check_move(lambda: page.keyboard.press(key), t)

    # With the mouse: drag the handle from 0 to about 30% of the track
    handle.scroll_into_view_if_needed()
    tb, hb = out.locator('.noUi-base').bounding_box(), handle.bounding_box()
    def drag():
        y = hb['y'] + hb['height']/2
        page.mouse.move(hb['x'] + hb['width']/2, y)
        page.mouse.down()
        page.mouse.move(tb['x'] + 0.3*tb['width'], y, steps=10)
        page.mouse.up()
    t = check_move(drag)
    assert 200 < t < 400, f'dragging to 30% of the track gave step {t}'
