"""Every figure the course's prose quotes is one its outputs show (issue 37).

A figure is a decimal (0.039), a percentage (99.05%), a ratio (1.57x) or a time (36 min, 87.7 s) in the prose of a
notebook: its markdown cells and the Markdown its cells print. Each must be found in that notebook's stored outputs, or
in a file of `nbs/figures/` that the notebook reads, or its sentence must name where it comes from (a link to a
notebook, a record of `nbs/figures/`, a benchmark of `bench/`, the weights README, or a paper by year). The README and
the weights README are checked the same way against the records the project's commands write (`nbs/figures/`, the
weights' own records). A time said to be "about" one may differ from its record by 10%; any other figure must be its
record rounded as written.

Run alone: python -m pytest tests/test_figures.py -s  (prints how many figures it checked in each file)."""
import json, math, re
from pathlib import Path
import pytest

REPO = Path(__file__).resolve().parent.parent
NBS = REPO/'nbs'
CHAPTERS = sorted(p for p in NBS.glob('*.ipynb') if re.match(r'(0\d|1\d)[a-z]?_', p.name)) + [NBS/'98_glossary.ipynb']

UNITS = {'ms': 1e-3, 's': 1., 'sec': 1., 'second': 1., 'seconds': 1., 'min': 60., 'mins': 60., 'minute': 60.,
         'minutes': 60., 'h': 3600., 'hour': 3600., 'hours': 3600.}
NUM = r'(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?'
FIGURE = re.compile(NUM + r'(?:\s?(%)|(x)(?![\w])|\s?(' + '|'.join(sorted(UNITS, key=len, reverse=True)) + r')\b)?')
# a sentence that names its source: a link, a record, a benchmark, the weights README, a paper by year
SOURCE = re.compile(r'\]\(|figures/[\w.-]+\.json|bench/\w+\.py|weights README|minidiff/weights/README|'
                    r'\bminidiff (?:train|evaluate|generate)\b|\bissue \d+|'
                    r'[A-Z][a-z]+(?: et al\.?| and [A-Z][a-z]+| & [A-Z][a-z]+)?,? \(?(?:19|20)\d\d\b|'
                    r'\bnotebook \d\d[a-z]?\b|\b\d\d[a-z]?_[a-z]+\b|\bappendix \d\d\b')

def prose_of(text:str)->str:
    "Markdown without what is not prose: code blocks and spans, maths, link targets, HTML tags and tables' rules."
    text = re.sub(r'```.*?```', ' ', text, flags=re.S)
    text = re.sub(r'\$\$.*?\$\$|\$[^$\n]+\$', ' ', text, flags=re.S)
    text = re.sub(r'`[^`\n]*`', ' ', text)
    text = re.sub(r'<[^>\n]+>', ' ', text)
    text = re.sub(r'\b\d+\.\d+\.\d+\.\d+\b|\bPython \d\.\d+', ' ', text)       # an address, a Python version
    return re.sub(r'\b(?:sec|eq|Table|Fig)\.? \d+(?:\.\d+)*', ' ', text)      # a paper's section or equation number

def figures_in(text:str)->list[tuple[str, float, int, str]]:
    """The figures of prose `text`: (as written, value, decimals, kind), kind one of 'decimal', '%', 'x' or a time unit;
    plain whole numbers (20 steps, N = 2,000) are not figures."""
    out = []
    for m in FIGURE.finditer(text):
        whole, frac, pct, x, unit = m.groups()
        kind = '%' if pct else 'x' if x else unit if unit else 'decimal' if frac else None
        if kind is None: continue
        out.append((m.group(0), float(whole.replace(',', '') + (frac or '')), len(frac) - 1 if frac else 0, kind))
    return out

def numbers_in(text:str)->list[float]:
    "Every number written in `text` (1,234.5 and 1e-3 included)."
    return [float(n.replace(',', '')) for n in re.findall(r'-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?(?:e-?\d+)?', text)]

def json_numbers(obj)->list[float]:
    "Every number in a JSON value."
    if isinstance(obj, bool): return []
    if isinstance(obj, (int, float)): return [float(obj)]
    if isinstance(obj, str): return numbers_in(obj)
    if isinstance(obj, dict): return [v for k, x in obj.items() for v in json_numbers(k) + json_numbers(x)]
    if isinstance(obj, list): return [v for x in obj for v in json_numbers(x)]
    return []

def records(text:str)->list[float]:
    "The numbers of the files of `nbs/figures/` that `text` (a notebook's code, or a README) reads or names."
    out = []
    for name in sorted(set(re.findall(r'figures/([\w.-]+\.jsonl?)', text))):
        f = NBS/'figures'/name
        if not f.exists(): continue
        for line in (f.read_text().splitlines() if f.suffix == '.jsonl' else [f.read_text()]):
            if line.strip(): out += json_numbers(json.loads(line))
    return out

def found(fig:tuple, pool:list, about:bool)->bool:
    "Whether a number of `pool` is the figure as written (rounded as written; a time 'about' one within 10%)."
    written, v, d, kind = fig
    if kind in UNITS:
        sec = v*UNITS[kind]
        same = lambda u: any(math.isclose(round(n*u/UNITS[kind], d), v) for n in pool)
        if about: return any(math.isclose(n, sec, rel_tol=0.1) or math.isclose(n*60, sec, rel_tol=0.1) for n in pool)
        return same(1.) or same(60.) or same(1/60) or same(1e-3)
    scale = (1., 100.) if kind == '%' else (1.,)
    return any(math.isclose(round(n*s, d), v, abs_tol=1e-9) for n in pool for s in scale)

def sentences(text:str)->list[str]:
    "Prose split into sentences (and table rows, and list items)."
    return [s for s in re.split(r'(?<=[.!?:;])\s+(?=[A-Z("*\[])|\n\s*[-*|]|\n\n', text) if s.strip()]

def check_notebook(path:Path)->tuple[int, list]:
    "(figures checked, those missing: (cell, figure, sentence)) for one notebook."
    nb = json.loads(path.read_text())
    code = '\n'.join(''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'code')
    outputs = []
    for c in nb['cells']:
        for o in c.get('outputs', []):
            if 'text' in o: outputs.append(''.join(o['text']))
            for k, v in o.get('data', {}).items():
                if k.startswith('text/') or k.endswith('json'): outputs.append(v if isinstance(v, str) else ''.join(v) if isinstance(v, list) else json.dumps(v))
    pool = [n for t in outputs for n in numbers_in(t)] + records(code)
    prose = [(i, ''.join(c['source'])) for i, c in enumerate(nb['cells']) if c['cell_type'] == 'markdown']
    prose += [(i, t) for i, c in enumerate(nb['cells']) for o in c.get('outputs', []) for t in
              [''.join(o.get('data', {}).get('text/markdown', []))] if t]
    return check_text(prose, pool)

def check_text(prose:list, pool:list, by_paragraph:bool=False)->tuple[int, list]:
    """(figures checked, those missing: (where, figure, sentence)) for [(where, text)] against the numbers `pool`; with
    `by_paragraph`, a paragraph (or table) that names its source names it for each of its sentences."""
    n, missing = 0, []
    for i, text in prose:
        text = re.sub(r'```.*?```', ' ', text, flags=re.S)
        # paragraphs, a table belonging to the one that introduces it
        paras = re.split(r'\n\s*\n(?!\s*\|)', text) if by_paragraph else [text]
        for para in paras:
            named = by_paragraph and SOURCE.search(para)
            for raw in sentences(para):
                s = prose_of(raw)
                if named or SOURCE.search(raw): n += len(figures_in(s)); continue
                for fig in figures_in(s):
                    n += 1
                    about = bool(re.search(r'\b(about|around|roughly|nearly|under|over|within|some)\s+(\S+\s+)?' + re.escape(fig[0]), s))
                    if not found(fig, pool, about): missing.append((i, fig[0], ' '.join(s.split())[:160]))
    return n, missing

def record_numbers()->list[float]:
    "Every number the project's commands recorded: `nbs/figures/`, and the records inside the shipped weights."
    torch = pytest.importorskip('torch')
    pool = records(' '.join(f'figures/{p.name}' for p in (NBS/'figures').glob('*.json*')))
    for p in sorted((REPO/'minidiff'/'weights').glob('*.pt')):
        pool += json_numbers(torch.load(p, map_location='cpu', weights_only=True).get('meta', {}))
    return pool

PAGES = [REPO/'README.md', *sorted((REPO/'docs').glob('*.md')), REPO/'minidiff'/'weights'/'README.md']

@pytest.mark.parametrize('path', PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_readme_figures_are_recorded(path):
    """The README, its pages (docs/) and the weights README quote figures that a record holds, or their paragraph names
    its source (a command, a record, the issue whose closing note holds the run)."""
    n, missing = check_text([(0, path.read_text())], record_numbers(), by_paragraph=True)
    print(f'\n{path.relative_to(REPO)}: {n} figures checked, {len(missing)} not found')
    assert not missing, '\n'.join(f'{path.name}: {fig!r} in "{s}"' for _, fig, s in missing)

@pytest.mark.parametrize('path', CHAPTERS, ids=lambda p: p.stem)
def test_quoted_figures_are_shown(path):
    n, missing = check_notebook(path)
    print(f'\n{path.name}: {n} figures checked, {len(missing)} not found')
    assert not missing, '\n'.join(f'{path.name} cell {i}: {fig!r} in "{s}"' for i, fig, s in missing)

def test_figures_found():
    "The checker finds figures, and finds them in outputs rounded as written."
    assert [f[0] for f in figures_in('99.05% of 2,000 at 1.57x; 36 min, 87.7 s, a 4x7x7 code, 20 steps, 0.039')] == \
        ['99.05%', '1.57x', '36 min', '87.7 s', '0.039']
    assert found(('99.1%', 99.1, 1, '%'), [0.9905], False) and not found(('99.2%', 99.2, 1, '%'), [0.9905], False)
    assert found(('36 min', 36., 0, 'min'), [2174.7], False) and found(('20 minutes', 20, 0, 'minutes'), [1226.2], True)
    assert not found(('15 min', 15., 0, 'min'), [2174.7], True)
    assert prose_of('see `x = 0.5` and $\\sigma = 0.3$') .count('0.') == 0
