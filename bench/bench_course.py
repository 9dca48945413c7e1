"""The learner's path, timed: run every notebook top to bottom as Jupyter's "Run All" does and print how long each takes.

    python bench/bench_course.py                 # every notebook, one after another, each in a fresh kernel
    python bench/bench_course.py 03 04           # only notebooks whose names start with these
    python bench/bench_course.py --save          # also write nbs/figures/course_times.json
    python bench/bench_course.py --save-outputs  # also store each notebook's outputs from this run (then nbdev_clean)
    python bench/bench_course.py 07 --flags MEASURE=True   # measure again what the notebook's flags keep stored

Unlike `nbdev_test`, this runs every code cell, `#| slow` ones included (Jupyter ignores nbdev's flags), without
`IN_TEST` and with all of PyTorch's threads, with the notebook's flags (`RETRAIN`, `MEASURE`) as committed: off.
`--flags NAME=VALUE` runs the notebooks with a flag switched (`MEASURE=True` re-measures and stores the figures
of every `measured(...)` cell, `RUN=True` retrains the exercises' solutions): on an idle machine, so that their stored
seconds are what a learner will wait; such a run never stores outputs. `--save-outputs` writes what this run printed and drew back into each notebook that ran without error, so the stored
outputs are a learner's Run All on this machine (run it on an idle machine; the timings the notebooks print name the CPU). Targets (issue 15): each notebook <= 120 s, the course <= 15 minutes, each file <= 300 KB.
"""
import argparse, json, os, subprocess, sys, time
from pathlib import Path
from minidiff.core import cpu_kind

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT/'nbs'
NB_LIMIT, COURSE_LIMIT, SIZE_LIMIT = 120, 15*60, 300_000

_RUNNER = r'''
import json, os, re, sys, time
from pathlib import Path
from execnb.nbio import read_nb
from execnb.shell import CaptureShell
from fastcore.xtras import working_directory
fn = Path(sys.argv[1]); nb = read_nb(fn); k = CaptureShell(fn); cells = []
flags = json.loads(os.environ.get('BENCH_COURSE_FLAGS', '{}'))   # a flag's assignment, switched: 'MEASURE = False' -> 'MEASURE = True'
for c in nb.cells:
    for name, value in flags.items(): c.source = re.sub(rf'^{name} = \w+', f'{name} = {value}', c.source, flags=re.M)
k.run_cell('%matplotlib inline')   # figures shown at the end of each cell, as Jupyter shows them
k.run_cell("import matplotlib; matplotlib.rcParams['figure.dpi'] = 72")   # stored small
with working_directory(fn.parent):
    for c in nb.cells:
        if c.cell_type != 'code' or 'nbdev_export(' in c.source: continue
        t0 = time.time(); k.cell(c)
        cells.append(dict(id=c.id, seconds=round(time.time()-t0, 2), first_line=c.source.splitlines()[0][:80] if c.source else ''))
        if k.exc:   # execnb keeps the exception object itself (older versions: a tuple of type, value, traceback)
            e = k.exc[1] if isinstance(k.exc, tuple) else k.exc
            where = f'cell {len(cells)} (id {c.id}, first line {cells[-1]["first_line"]!r})'
            print(json.dumps(dict(cells=cells, error=f'{where}: {type(e).__name__}: {e}'))); sys.exit(0)
if len(sys.argv) > 2:
    import base64, io
    from PIL import Image
    from execnb.nbio import write_nb
    bar = re.compile(r'\d+%\|[^|]*\| *\d+/\d+')   # a progress bar (tqdm's): what it drew, not what a learner reads
    for c in nb.cells:   # progress bars dropped from the stored outputs; the rest of a stream kept, line by line
        for o in c.get('outputs', []):
            if o.get('output_type') == 'stream':
                lines = re.split(r'(?<=\n)', ''.join(o.get('text', '')))
                o['text'] = ''.join(l for l in lines if not bar.search(l))
        c['outputs'] = [o for o in c.get('outputs', []) if o.get('output_type') != 'stream' or o['text'].strip()]
    for c in nb.cells:   # a grey picture is stored as an 8-bit grey PNG: the same pixels, about half the bytes;
        for o in c.get('outputs', []):
            png = o.get('data', {}).get('image/png')
            if not png: continue
            im = Image.open(io.BytesIO(base64.b64decode(png))).convert('RGBA')
            r, g, b, a = im.split()
            grey = r.tobytes() == g.tobytes() == b.tobytes() and a.getextrema() == (255, 255)
            buf = io.BytesIO()   # otherwise a palette of 256 colours: plots and maps look the same at a fraction of the bytes
            (r if grey else im.convert('RGB').quantize(256, method=Image.Quantize.FASTOCTREE)).save(buf, 'PNG', optimize=True)
            if buf.tell() < len(png)*3//4: o['data']['image/png'] = base64.b64encode(buf.getvalue()).decode()
    write_nb(nb, fn)
print(json.dumps(dict(cells=cells, error=None)))
'''

def run_notebook(fn:Path, save:bool=False, flags:dict|None=None)->dict:
    "Run `fn` in a fresh Python process (a fresh kernel, as Jupyter's Run All after a restart); its time and slow cells."
    env = {k: v for k, v in os.environ.items() if k != 'IN_TEST'}
    if flags: env['BENCH_COURSE_FLAGS'] = json.dumps(flags)
    t0 = time.time()
    p = subprocess.run([sys.executable, '-c', _RUNNER, str(fn)] + (['save'] if save else []), capture_output=True, text=True, env=env)
    secs = time.time() - t0
    try: res = json.loads(p.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError): res = dict(cells=[], error=(p.stderr or p.stdout)[-500:])
    return dict(notebook=fn.name, seconds=round(secs, 1), bytes=fn.stat().st_size, error=res['error'],
                slowest=sorted(res['cells'], key=lambda c: -c['seconds'])[:3])

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('only', nargs='*', help='run only notebooks whose names start with these')
    ap.add_argument('--save', action='store_true', help='write nbs/figures/course_times.json')
    ap.add_argument('--save-outputs', action='store_true', help="store each notebook's outputs from this run, then nbdev_clean")
    ap.add_argument('--flags', nargs='*', default=[], metavar='NAME=VALUE', help="switch the notebooks' flags (e.g. MEASURE=True); outputs are not stored")
    a = ap.parse_args()
    flags = dict(f.split('=', 1) for f in a.flags)
    if flags and (a.save_outputs or a.save): ap.error('--flags measures again; it does not store outputs or course times')
    fns = sorted(f for f in NBS.glob('*.ipynb') if not f.name.startswith('_') and (not a.only or f.name.startswith(tuple(a.only))))
    print(f'CPU: {cpu_kind()}; {len(fns)} notebooks, each in a fresh process, every cell (flags: {flags or "as committed"})', flush=True)
    rows = []
    for fn in fns:
        r = run_notebook(fn, a.save_outputs, flags); rows.append(r)
        flag = ('  FAILED: ' + r['error']) if r['error'] else ('' if r['seconds'] <= NB_LIMIT else f'  over {NB_LIMIT} s')
        size = '' if r['bytes'] <= SIZE_LIMIT else f'  over {SIZE_LIMIT//1000} KB'
        slow = ', '.join(f"{c['seconds']:.0f} s {c['first_line'][:40]!r}" for c in r['slowest'] if c['seconds'] >= 10)
        print(f"{r['notebook']:24s} {r['seconds']:6.1f} s  {r['bytes']/1000:5.0f} KB{flag}{size}" + (f'   slowest: {slow}' if slow else ''), flush=True)
    total = sum(r['seconds'] for r in rows)
    ok = all(not r['error'] and r['seconds'] <= NB_LIMIT and r['bytes'] <= SIZE_LIMIT for r in rows) and total <= COURSE_LIMIT
    print(f'course: {total:.0f} s = {total/60:.1f} min for {len(rows)} notebooks; largest file {max(r["bytes"] for r in rows)/1000:.0f} KB; '
          f'targets (each <= {NB_LIMIT} s and <= {SIZE_LIMIT//1000} KB, all <= {COURSE_LIMIT//60} min): {"met" if ok else "NOT met"}')
    if a.save_outputs:
        subprocess.run(['nbdev_clean'], cwd=ROOT, check=True)
        print('stored the outputs of', sum(not r['error'] for r in rows), 'notebooks (nbdev_clean run)')
    if a.save:
        out = NBS/'figures'/'course_times.json'
        out.write_text(json.dumps(dict(cpu=cpu_kind(), date=time.strftime('%Y-%m-%d'), command='python bench/bench_course.py --save',
                                       total_seconds=round(total, 1), notebooks=rows), indent=1) + '\n')
        print('wrote', out.relative_to(ROOT))
    return 0 if ok else 1

if __name__ == '__main__': sys.exit(main())
