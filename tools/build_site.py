#!/usr/bin/env python
"""Build the course's notebooks into a static website that fetches nothing from outside itself.

    python tools/build_site.py [--out _docs] [--nbs nbs] [--demo | --no-demo]

nbdev's own processors prepare copies of the notebooks (front matter, hidden and exported cells, `show_doc`), then
Sphinx with myst-nb and sphinx-book-theme renders them with their stored outputs (nothing is re-run). Quarto, which
`nbdev_docs` needs, is not required."""

import argparse, base64, hashlib, html, importlib.util, json, os, re, shutil, subprocess, sys, tempfile, time, uuid
import warnings
import yaml
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT/'tools'
ASSETS = TOOLS/'site'
MATHJAX = TOOLS/'node_modules'/'mathjax'/'es5'
SLIDER_MIME = 'application/vnd.minidiff.slider+json'
WIDGET_MIME = 'application/vnd.jupyter.widget-view+json'
# What myst-nb can draw in HTML (its default render priority, less the widget view that needs a live kernel)
SHOWN_MIMES = ('application/javascript', 'text/html', 'image/svg+xml', 'image/png', 'image/jpeg', 'image/gif',
               'text/markdown', 'text/latex', 'text/plain')
SLIDER_NOTE = '(an interactive slider: run the notebook to move it)'
UNSHOWN_NOTE = '(an output the website cannot show ({mimes}): run the notebook to see it)'
# What Sphinx writes that no page uses: notebook sources, build caches, the theme's translations (read while building)
KEEP_OUT = ('_sources', '.doctrees', '.buildinfo', 'objects.inv', 'jupyter_execute', '.jupyter_cache',
            '_static/locales')

def warn(msg): print(f'warning: {msg}', file=sys.stderr, flush=True)

class BuildError(Exception): pass

# ---------------------------------------------------------------------------------------------------------------
# The course's order

def course_order(nbs:Path):
    "The notebooks of `nbs` in the course's order: the tour, chapters by number, appendices (80 and up) last."
    def key(p):
        m = re.match(r'(\d+)([a-z]*)_', p.stem)
        if not m: raise BuildError(f'{p.name}: a course notebook is named like 01_data.ipynb or 01a_lab.ipynb')
        return int(m.group(1)), m.group(2)
    nbs_ = [p for p in nbs.glob('*.ipynb') if p.stem != 'index' and not p.name.startswith(('.', '_'))]
    return sorted(nbs_, key=key)

def part_of(p:Path):
    n = int(re.match(r'\d+', p.stem).group())
    return 'Start here' if n == 0 else 'Appendices' if n >= 80 else 'Chapters'

# ---------------------------------------------------------------------------------------------------------------
# nbdev's processing, on copies

def _split_title_cell(nb):
    "Keep only `# Title` and `> summary` in the first markdown cell: nbdev's front matter drops the whole cell."
    from execnb.nbio import mk_cell
    for i, c in enumerate(nb.cells):
        if c.cell_type != 'markdown': continue
        lines = c.source.splitlines()
        heads = [j for j, l in enumerate(lines) if re.match(r'#\s+\S', l)]
        if not heads: return
        quotes = [j for j, l in enumerate(lines) if j > heads[0] and re.match(r'>\s+\S', l)]
        end = (quotes[0] if quotes and all(not l.strip() for l in lines[heads[0]+1:quotes[0]]) else heads[0]) + 1
        rest = '\n'.join(lines[end:]).strip()
        if not rest: return
        c.source = '\n'.join(lines[:end])
        new = mk_cell(rest, 'markdown')
        new.id, new.orig_idx_ = c.get('id'), c.orig_idx_
        nb.cells.insert(i+1, new)
        return

_SHELL = None
def _show_docs_proc():
    "nbdev's `exec_show_docs`, fed from the installed package instead of re-running the notebook's code cells."
    from nbdev.process import Processor
    from nbdev.processors import _default_exp, _is_showdoc
    from execnb.shell import CaptureShell

    class show_docs_from_package(Processor):
        def begin(self):
            self.mod, self.loaded = _default_exp(self.nb), set()
            global _SHELL
            if _SHELL is None:   # one for all notebooks: each IPython shell costs seconds at exit
                _SHELL = CaptureShell()
                _SHELL.run_cell('from nbdev.showdoc import show_doc')
            self.k = _SHELL

        def __call__(self, cell):
            d = cell.directives_ or {}
            for k in ('export', 'exports', 'exporti'):
                if k in d: self.mod = (d[k] or [_default_exp(self.nb)])[0]
            if not _is_showdoc(cell) or self.mod is None: return
            if self.mod not in self.loaded:   # every name of the module, also those it imports (a patched class)
                try: self.k.user_ns.update(vars(importlib.import_module(f'minidiff.{self.mod}')))
                except Exception as e: warn(f'{self.nb.path_}: importing minidiff.{self.mod} failed ({e!r})')
                self.loaded.add(self.mod)
            self.k.cell(cell)
            if self.k.exc:
                warn(f'{Path(self.nb.path_).name}: cell {_cell_name(cell)}: `{cell.source.splitlines()[-1]}` '
                     f'failed ({self.k.exc!r}); its documentation is left out')
                cell.source = None
    return show_docs_from_package

def _cell_name(cell): return f"{cell.get('id') or '(no id)'} (index {getattr(cell, 'orig_idx_', '?')})"

def nbdev_process(src:Path):
    "Read `src` and run nbdev's docs processors over it, as `nbdev_proc_nbs` would (without Quarto)."
    from execnb.nbio import read_nb
    from nbdev.processors import FilterDefaults, exec_show_docs
    from nbdev.process import NBProcessor
    nb = read_nb(src)
    nb.path_ = str(src)
    for i, c in enumerate(nb.cells): c.orig_idx_ = i
    _split_title_cell(nb)
    procs = [_show_docs_proc() if p is exec_show_docs else p for p in FilterDefaults().procs()]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')   # "imports and other code" concerns running cells, which we do not
        NBProcessor(nb=nb, procs=procs).process()
    return nb

# ---------------------------------------------------------------------------------------------------------------
# From nbdev's (Quarto) notebook to one myst-nb renders

def _md_cell(src): return dict(cell_type='markdown', id=uuid.uuid4().hex[:8], metadata={}, source=src)

def title_md(title, summary):
    md = f'# {title}\n'
    if summary: md += f'\n```{{container}} minidiff-summary\n{summary}\n```\n'
    return md

def _text(x): return ''.join(x) if isinstance(x, list) else (x or '')

def _slider_html(data, stem, cell, static:Path):
    "Markup for a static slider: one range input per control, one picture and its caption; the PNGs as files."
    if not isinstance(data, dict) or data.get('version') != 1 or not data.get('controls'):
        raise ValueError(f'expected {{"version": 1, "controls": [...]}}, got keys {sorted(data)[:5]}')
    folder = static/'images'/stem
    folder.mkdir(parents=True, exist_ok=True)
    uid = f'slider-{stem}-{cell.get("id") or cell.orig_idx_}'
    controls, spec, size = [], [], None
    scale = data.get('scale', 1)   # frames are drawn at 1x: the page enlarges them, pixels kept sharp
    if not isinstance(scale, (int, float)) or not 0 < scale <= 16: scale = 1
    for ci, c in enumerate(data['controls']):
        vals, frames = c['values'], c['frames']
        if len(vals) != len(frames) or not vals:
            raise ValueError(f'control {c.get("name")!r} has {len(vals)} values and {len(frames)} frames')
        start = c.get('start', 0)   # an index into `values`
        if not isinstance(start, int) or not 0 <= start < len(vals):
            raise ValueError(f'control {c.get("name")!r}: start {start!r} is not an index into its {len(vals)} values')
        srcs = []
        for f in frames:
            png = base64.b64decode(f['png'])
            if png[:8] != b'\x89PNG\r\n\x1a\n': raise ValueError(f'control {c.get("name")!r}: a frame is not a PNG')
            size = size or [int.from_bytes(png[o:o+4], 'big')*scale for o in (16, 20)]   # IHDR: width, height
            name = hashlib.sha1(png).hexdigest()[:16] + '.png'   # the start frame repeats across controls: once
            (folder/name).write_bytes(png)
            srcs.append(f'_static/images/{stem}/{name}')
        spec.append(dict(start=start, values=[str(v) for v in vals], srcs=srcs,
                         captions=[f.get('caption', '') for f in frames]))
        iid = f'{uid}-{ci}'
        label = html.escape(str(c.get('label') or c.get('name') or f'control {ci}'))
        controls.append(
            f'<div class="minidiff-slider-control"><label for="{iid}">{label}</label> '
            f'<input type="range" id="{iid}" class="minidiff-slider-input" min="0" max="{len(vals)-1}" step="1" '
            f'value="{start}" data-control="{ci}" aria-valuetext="{html.escape(str(vals[start]))}"> '
            f'<output class="minidiff-slider-value" for="{iid}">{html.escape(str(vals[start]))}</output></div>')
    first = spec[0]
    payload = json.dumps(spec).replace('</', '<\\/')
    return (f'<div class="minidiff-slider" id="{uid}">{"".join(controls)}'
            f'<img class="minidiff-slider-img" src="{first["srcs"][first["start"]]}" width="{size[0]:g}" '
            f'height="{size[1]:g}" alt="the picture the sliders choose">'
            f'<div class="minidiff-slider-caption">{first["captions"][first["start"]]}</div>'
            f'<script type="application/json" class="minidiff-slider-data">{payload}</script></div>')

def _note(text): return dict(output_type='display_data', metadata={},
                             data={'text/html': f'<p class="minidiff-note">{html.escape(text)}</p>'})

def fix_outputs(cell, stem, nb_name, static:Path):
    "Sliders drawn as static pictures; a widget view without frames, or an output nothing can show, as a note."
    outs = cell.get('outputs') or []
    slider = next((o['data'][SLIDER_MIME] for o in outs if SLIDER_MIME in o.get('data', {})), None)
    res, done = [], False
    for o in outs:
        d = o.get('data')
        if d is None: res.append(o); continue
        if SLIDER_MIME in d or WIDGET_MIME in d:
            if done: continue
            done = True
            if slider is not None:
                try: res.append(dict(output_type='display_data', metadata={},
                                     data={'text/html': _slider_html(slider, stem, cell, static)}))
                except (KeyError, TypeError, ValueError) as e:
                    warn(f'{nb_name}: cell {_cell_name(cell)}: a slider output ({SLIDER_MIME}) this build cannot '
                         f'read ({e!r}); shown as a note')
                    res.append(_note(SLIDER_NOTE))
            else:
                warn(f'{nb_name}: cell {_cell_name(cell)}: a widget view without a static slider '
                     f'({SLIDER_MIME}); shown as a note')
                res.append(_note(SLIDER_NOTE))
        elif not any(m in d for m in SHOWN_MIMES):
            warn(f'{nb_name}: cell {_cell_name(cell)}: an output the website cannot show ({", ".join(d)}); '
                 f'shown as a note')
            res.append(_note(UNSHOWN_NOTE.format(mimes=', '.join(d))))
        else: res.append(o)
    return res

_SOURCE_HTML = r'<p class="minidiff-source"><a class="reference external" href="\1">source</a></p>'
_re_source = re.compile(r'^\[source\]\(([^)#\s]*)(?:#LNone)?\)\{[^}\n]*\}', re.MULTILINE)
def _unlink_code(md):
    "nbdev's `add_links` also links names inside fenced code, where markdown shows the brackets: undo it there."
    parts = re.split(r'(^```.*?^```)', md, flags=re.MULTILINE | re.DOTALL)
    return ''.join(re.sub(r'\[(`[^`\n]+`)\]\([^)\s]*\)', r'\1', p) if p.startswith('```') else p for p in parts)

_re_dir = re.compile(r'^\s*#\|.*\n?', re.MULTILINE)

def to_myst(nb, stem, static:Path, demo_html=None):
    "A plain nbformat dict that myst-nb renders as nbdev's Quarto docs would look."
    from nbdev.process import extract_directives
    nb_name = Path(nb.path_).name
    cells, fm = [], {}
    for c in nb.cells:
        d = dict(getattr(c, 'directives_', None) or {})
        if c.cell_type == 'code': d.update(extract_directives(c, remove=True))   # those processors added (show_doc)
        if c.cell_type == 'raw' and c.source.startswith('---'):
            fm = yaml.safe_load(c.source.strip().strip('-')) or {}
            cells.append(_md_cell(title_md(fm.get('title', stem), fm.get('description'))))
            if demo_html: cells.append(_md_cell(f'```{{raw}} html\n{demo_html}\n```\n'))
            continue
        if c.cell_type == 'markdown':
            if c.source.strip().startswith('<!-- WARNING: THIS FILE WAS AUTOGENERATED'): continue
            cells.append(_md_cell(c.source))
            continue
        if c.cell_type != 'code': continue
        if d.get('include:') == ['false']: continue
        if d.get('output:') == ['asis']:   # show_doc: its markdown becomes part of the page, as in Quarto
            md = ''.join(_text(o.get('data', {}).get('text/markdown')) for o in c.get('outputs', []))
            md = re.sub(r'^\s*---\s*\n', '', md)   # the rule above each show_doc: myst-nb reads it as front matter
            # Quarto's link attributes as a class, and without the line number nbdev could not find
            md = _re_source.sub(_SOURCE_HTML, md)
            md = _unlink_code(md)
            if md.strip(): cells.append(_md_cell(md))
            continue
        tags = []
        if d.get('echo:') == ['false'] or 'hide_input' in d: tags.append('remove-input')
        if d.get('output:') == ['false'] or 'hide_output' in d: tags.append('remove-output')
        cells.append(dict(cell_type='code', id=c.get('id') or uuid.uuid4().hex[:8], metadata={'tags': tags},
                          execution_count=c.get('execution_count'), source=_re_dir.sub('', c.source),
                          outputs=fix_outputs(c, stem, nb_name, static)))
    meta = {k: v for k, v in nb.metadata.items() if k in ('kernelspec', 'language_info')}   # no widget state
    meta.setdefault('language_info', {'name': 'python'})
    return dict(cells=cells, metadata=meta, nbformat=4, nbformat_minor=5), fm

# ---------------------------------------------------------------------------------------------------------------
# The Sphinx project

CONF = '''
project = author = {title!r}
copyright = {copyright!r}
extensions = ['myst_nb', 'sphinx.ext.mathjax']
myst_enable_extensions = ['dollarmath', 'amsmath']
myst_heading_anchors = 4
nb_execution_mode = 'off'            # the stored outputs, never re-run
nb_merge_streams = True
nb_render_markdown_format = 'myst'   # tables in markdown outputs
nb_ipywidgets_js = {{}}                # widget views are replaced: no widget manager from a CDN
html_theme = 'sphinx_book_theme'
html_title = {title!r}
html_theme_options = dict(home_page_in_toc=True, use_download_button=False, use_fullscreen_button=False,
                          use_source_button=False, use_repository_button=False, show_toc_level=2)
html_static_path = ['_site_static']
html_css_files = ['minidiff-site.css']
html_js_files = ['minidiff-slider.js']
html_favicon = '_site_static/favicon.png'   # a seven the pipeline drew (imgs/thick_seven.png)
mathjax_path = 'mathjax/tex-mml-chtml.js'   # under _static: MathJax from this site, not a CDN
html_copy_source = html_show_sourcelink = html_show_sphinx = False
exclude_patterns = ['_site_static', 'jupyter_execute', '.jupyter_cache']
suppress_warnings = ['myst.header']   # show_doc's H3 straight under a page's H1, as nbdev writes it
'''

def toctree(caption, docs):
    return f'```{{toctree}}\n:hidden:\n:caption: {caption}\n\n' + '\n'.join(docs) + '\n```\n'

def copy_pictures(md:str, src_dir:Path, dst_dir:Path):
    "Copy the local pictures a markdown text shows (`![](x)`, `<img src=x>`) next to its copy."
    for ref in re.findall(r'!\[[^\]]*\]\(\s*<?([^)\s>]+)', md) + re.findall(r'<img[^>]+src=["\']([^"\']+)', md):
        if re.match(r'[a-z]+:|/|#', ref): continue
        f = src_dir/ref
        if f.is_file(): (dst_dir/ref).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(f, dst_dir/ref)
        else: warn(f'{ref}: a picture shown in {src_dir.name} that does not exist')

def readme_md(readme:Path, src:Path):
    "The README as a page: its own title, links into `nbs/` and `docs/` made links to the pages."
    md = readme.read_text()
    copy_pictures(md, readme.parent, src)
    md = re.sub(r'^#\s+.*$', '# About the project (README)', md, count=1, flags=re.MULTILINE)
    return re.sub(r'\]\((?:nbs|docs)/', '](', md)

# the README's long sections, each a page of the site (`docs/`), in this order
DOCS = ('prompts', 'speed', 'training', 'student', 'website', 'developers')

def doc_md(page:Path, src:Path):
    "A page of `docs/`: links to the notebooks (`../nbs/`) made links to their pages."
    md = page.read_text()
    copy_pictures(md, page.parent, src)
    return re.sub(r'\]\(\.\./nbs/', '](', md)

def stage(nbs:Path, src:Path, demo_html=None):
    "Write the Sphinx project into `src`: the processed notebooks, the README, conf.py and the site's static files."
    from nbdev.config import get_config
    static = src/'_site_static'
    static.mkdir(parents=True)
    for f in ('minidiff-slider.js', 'minidiff-site.css', 'favicon.png'): shutil.copy2(ASSETS/f, static/f)
    copy_mathjax(static/'mathjax')
    order = course_order(nbs)
    if not (nbs/'index.ipynb').exists(): raise BuildError(f'{nbs}/index.ipynb is missing: it is the home page')
    for p in [nbs/'index.ipynb', *order]:
        nb = nbdev_process(p)
        out, _ = to_myst(nb, p.stem, static, demo_html if p.stem == 'index' else None)
        for c in out['cells']:
            if c['cell_type'] == 'markdown': copy_pictures(c['source'], nbs, src)
        if p.stem == 'index':
            parts = {}
            for q in order: parts.setdefault(part_of(q), []).append(q.stem)
            tocs = [toctree(k, v) for k, v in parts.items()]
            docs = [d for d in DOCS if (ROOT/'docs'/f'{d}.md').exists()]
            for d in docs: (src/f'{d}.md').write_text(doc_md(ROOT/'docs'/f'{d}.md', src))
            if (ROOT/'README.md').exists():
                (src/'readme.md').write_text(readme_md(ROOT/'README.md', src))
                docs.append('readme')
            if docs: tocs.append(toctree('About', docs))
            out['cells'].append(_md_cell('\n'.join(tocs)))
        (src/p.name).write_text(json.dumps(out, indent=1))
    cfg = get_config()
    (src/'conf.py').write_text(CONF.format(title=cfg.get('title', 'minidiff'), copyright=cfg.get('copyright', '')))
    return order

def copy_mathjax(dst:Path):
    "Only the MathJax files a page loads: the combined component and its woff-v2 fonts."
    if not (MATHJAX/'tex-mml-chtml.js').exists():
        raise BuildError(f'{MATHJAX}/tex-mml-chtml.js is missing: run `npm ci --prefix tools` first')
    dst.mkdir(parents=True)
    shutil.copy2(MATHJAX/'tex-mml-chtml.js', dst)
    shutil.copytree(MATHJAX/'output'/'chtml'/'fonts'/'woff-v2', dst/'output'/'chtml'/'fonts'/'woff-v2')

def sphinx(src:Path, out:Path, doctrees:Path):
    cmd = [sys.executable, '-m', 'sphinx', '-b', 'html', '-q', '-j', '2', '-d', str(doctrees), str(src), str(out)]
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')])}
    r = subprocess.run(cmd, env=env, stderr=subprocess.PIPE, text=True)
    for l in r.stderr.splitlines(): print(f'sphinx: {l.replace(str(src)+os.sep, "")}', file=sys.stderr)
    if r.returncode: raise BuildError(f'sphinx failed (exit {r.returncode}); its messages are above')

# ---------------------------------------------------------------------------------------------------------------
# After Sphinx: local links, nothing unused, nothing fetched from outside

def local_links(out:Path, stems):
    "nbdev links names in backticks to `doc_host`; point them at this site's pages instead."
    from nbdev.config import get_config
    from nbdev.doclinks import _nbpath2html
    cfg = get_config()
    host = (cfg.get('doc_host', '') + cfg.get('doc_baseurl', '')).rstrip('/') + '/'
    if host == '/': return
    pages = {_nbpath2html(Path(s + '.ipynb')).name: s + '.html' for s in stems}
    ids = {}
    def fix(m):
        page, anchor = pages.get(m.group(1)), m.group(2) or ''
        if page is None: return m.group(0)
        if page not in ids: ids[page] = set(re.findall(r'\sid="([^"]+)"', (out/page).read_text()))
        a = anchor.lstrip('#')
        cands = [a, a.replace('_', '-'), re.sub(r'[^\w-]', '', a), re.sub(r'[^a-z0-9]+', '-', a).strip('-')]
        a = next((c for c in cands if c in ids[page]), None)
        return f'href="{page}' + (f'#{a}' if a else '') + '"'
    pat = re.compile(r'href="' + re.escape(host) + r'([\w.-]+\.html)(#[^"]*)?"')
    for f in out.glob('*.html'):
        s = f.read_text()
        new = pat.sub(fix, s)
        if new != s: f.write_text(new)

# the theme's icons come twice: as Font Awesome's web fonts (its CSS, 0.25 MB) and as a script that redraws them as
# SVG (1.5 MB); the fonts alone draw every icon the pages use
FONTAWESOME_JS = re.compile(r'<script[^>]*src="[^"]*_static/scripts/fontawesome\.js[^"]*"[^>]*>\s*</script>\s*')

def prune(out:Path):
    "Drop what the site never uses: sources, doctrees, source maps, the icon script."
    for n in KEEP_OUT:
        p = out/n
        if p.is_dir(): shutil.rmtree(p)
        elif p.exists(): p.unlink()
    for f in out.rglob('*.map'): f.unlink()
    for f in out.rglob('*.html'):
        s = f.read_text()
        if 'fontawesome.js' in s: f.write_text(FONTAWESOME_JS.sub('', s))
    for f in (out/'_static'/'scripts').glob('fontawesome.js*'): f.unlink()

_EXT = r'''(?:https?:)?//'''
_CSS_EXT = re.compile(r'''(?:@import\s+(?:url\(\s*)?|url\(\s*)['"]?\s*''' + _EXT, re.I)
_JS_EXT = re.compile(r'''(?:\bimport\s*\(\s*|\bfrom\s+|\bimportScripts\s*\(\s*|\.src\s*=\s*|\.href\s*=\s*|'''
                     r'''setAttribute\(\s*['"](?:src|href)['"]\s*,\s*)['"`]''' + _EXT, re.I)
_FETCHING_RELS = {'stylesheet', 'preload', 'prefetch', 'modulepreload', 'icon', 'shortcut', 'apple-touch-icon',
                  'manifest', 'preconnect', 'dns-prefetch', 'mask-icon'}

class _Loads(HTMLParser):
    "The URLs an HTML page makes the browser load (not the links a reader may follow)."
    def __init__(self):
        super().__init__(); self.found, self.tag = [], None
    def handle_starttag(self, tag, attrs):
        a, self.tag = dict(attrs), tag
        urls = [a.get('src'), a.get('data') if tag == 'object' else None, a.get('poster')]
        urls += [u.split()[0] for u in (a.get('srcset') or '').split(',') if u.strip()]
        if tag == 'link' and set((a.get('rel') or '').lower().split()) & _FETCHING_RELS: urls.append(a.get('href'))
        self.found += [f'<{tag}> {u}' for u in urls if u and re.match(_EXT, u.strip(), re.I)]
        if _CSS_EXT.search(a.get('style') or ''): self.found.append(f'<{tag} style> {a["style"][:80]}')
    def handle_data(self, data):
        if self.tag == 'style' and _CSS_EXT.search(data): self.found.append('<style> ' + _CSS_EXT.search(data)[0])
        if self.tag == 'script' and _JS_EXT.search(data): self.found.append('<script> ' + _JS_EXT.search(data)[0])

def external_loads(out:Path):
    "Every file of the site that would make a browser load something from outside it, with what it loads."
    bad = {}
    for f in sorted(out.rglob('*')):
        if f.suffix not in ('.html', '.htm', '.css', '.js', '.mjs'): continue
        s = f.read_text(errors='replace')
        if f.suffix in ('.html', '.htm'):
            p = _Loads(); p.feed(s); found = p.found
        else:
            pat = _CSS_EXT if f.suffix == '.css' else _JS_EXT
            found = [s[m.start():m.end()+40].split('\n')[0] for m in pat.finditer(s)]
        if found: bad[f.relative_to(out).as_posix()] = found
    return bad

def sizes(out:Path):
    "Bytes under each top-level part of the site, `_static` by its folders."
    res = {}
    for f in out.rglob('*'):
        if not f.is_file(): continue
        parts = f.relative_to(out).parts
        k = '/'.join(parts[:2]) if parts[0] == '_static' and len(parts) > 2 else parts[0] if len(parts) > 1 else (
            '*.html' if f.suffix == '.html' else parts[0])
        res[k] = res.get(k, 0) + f.stat().st_size
    return res

# ---------------------------------------------------------------------------------------------------------------
# The browser demo (tools/export_web.py, from another part of the course)

def load_demo(dest:Path):
    "Build the browser demo into `dest`; its HTML for the home page, or None with the reason printed."
    f = TOOLS/'export_web.py'
    if not f.exists():
        print(f'demo: no {f.name} in {TOOLS}: building without the browser demo')
        return None
    sys.path.insert(0, str(TOOLS))   # it may import its neighbours
    try:
        spec = importlib.util.spec_from_file_location('export_web', f)
        export_web = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(export_web)
    except Exception as e:
        print(f'demo: importing {f} failed ({e!r}): building without the browser demo')
        return None
    finally: sys.path.remove(str(TOOLS))
    try:
        export_web.build_web(dest)
        return export_web.DEMO_HTML
    except Exception as e:
        print(f'demo: export_web.build_web failed ({e!r}): building without the browser demo')
        shutil.rmtree(dest, ignore_errors=True)
        return None

# ---------------------------------------------------------------------------------------------------------------

MB = 1e6
SITE_MB = 20   # the whole site, the demo's models included (issue 26)
def build(out:Path, nbs:Path, demo=None, limit_mb=12.):
    "Build the site into `out`; returns the exit status (1 if `demo` was asked for and could not be built)."
    t0 = time.time()
    if not nbs.is_dir(): raise BuildError(f'{nbs} is not a folder of notebooks (expected something like nbs/)')
    if out.exists() and any(out.iterdir()) and not (out/'searchindex.js').exists():
        raise BuildError(f'{out} is not empty and holds no site built by this script: empty it or choose another --out')
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    sys.path.insert(0, str(ROOT))   # show_doc imports the package from this checkout
    demo_html = None if demo is False else load_demo(out/'_static'/'minidiff')
    t1 = time.time()
    with tempfile.TemporaryDirectory(prefix='minidiff-site-') as tmp:
        src = Path(tmp)/'src'
        order = stage(nbs, src, demo_html)
        t2 = time.time()
        sphinx(src, out, Path(tmp)/'doctrees')
    local_links(out, ['index', *[p.stem for p in order]])
    prune(out)
    bad = external_loads(out)
    if bad:
        for f, found in bad.items(): print(f'external: {f} loads from outside the site: {"; ".join(found[:3])}')
        raise BuildError(f'{len(bad)} file(s) of the site load from outside it (listed above): '
                         'the site must serve everything itself')
    sz = sizes(out)
    total, demo_sz = sum(sz.values()), sz.get('_static/minidiff', 0)
    pages = len(list(out.glob('*.html')))
    print(f'site: {out} ({pages} pages) in {time.time()-t0:.1f} s (demo {t1-t0:.1f} s, notebooks {t2-t1:.1f} s, '
          f'sphinx and checks {time.time()-t2:.1f} s)')
    print(f'size: {total/MB:.2f} MB in all, {(total-demo_sz)/MB:.2f} MB without the browser demo; largest parts:')
    for k, v in sorted(sz.items(), key=lambda kv: -kv[1])[:8]: print(f'  {v/MB:6.2f} MB  {k}')
    if (total - demo_sz)/MB > limit_mb: warn(f'the site is over {limit_mb} MB without the demo: look at its parts')
    if total/MB > SITE_MB: warn(f'the site is over {SITE_MB} MB, its size limit: look at its parts')
    if demo and demo_html is None:
        print('demo: --demo was asked for and the demo could not be built', file=sys.stderr)
        return 1
    return 0

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', type=Path, default=ROOT/'_docs', help='where the site goes (default: _docs)')
    ap.add_argument('--nbs', type=Path, default=ROOT/'nbs', help='the notebooks (default: nbs)')
    g = ap.add_mutually_exclusive_group()
    g.add_argument('--demo', dest='demo', action='store_true', default=None,
                   help='the browser demo on the home page, or fail (default: include it if it builds)')
    g.add_argument('--no-demo', dest='demo', action='store_false', help='no browser demo')
    a = ap.parse_args(argv)
    out, nbs = a.out.resolve(), a.nbs.resolve()
    os.chdir(ROOT)   # nbdev reads settings.ini from here
    try: return build(out, nbs, a.demo)
    except BuildError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2

if __name__ == '__main__': sys.exit(main())
