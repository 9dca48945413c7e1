"Every exported module imports on its own, outside the notebooks, and every name in its `__all__` exists."
import importlib, pkgutil
import pytest
import minidiff

MODULES = sorted(m.name for m in pkgutil.iter_modules(minidiff.__path__) if not m.name.startswith('_'))

def test_modules_found():
    assert {'core', 'data'} <= set(MODULES)

@pytest.mark.parametrize('name', MODULES)
def test_all_resolves(name):
    mod = importlib.import_module(f'minidiff.{name}')
    assert hasattr(mod, '__all__'), f'minidiff.{name} has no __all__'
    missing = [n for n in mod.__all__ if not hasattr(mod, n)]
    assert not missing, f'minidiff.{name}.__all__ names undefined objects: {missing}'

def test_modidx_lists_every_module():
    from minidiff._modidx import d
    listed = {k.split('.', 1)[1].removesuffix('.py') for k in d['syms']}
    assert set(MODULES) <= listed, set(MODULES) - listed

# The package's shape: what `minidiff/*.py` imports, read from the source (issue 21's layers).
import ast, pathlib
SRC = pathlib.Path(minidiff.__file__).parent
OPTIONAL = {'matplotlib.pyplot', 'ipywidgets', 'PIL', 'numpy'}   # heavy or optional: imported where used, with a comment

def _tree(name): return ast.parse((SRC/f'{name}.py').read_text())

def _imports(name)->set:
    "The minidiff modules that `name` imports (relative imports, as nbdev writes them)."
    out = set()
    for n in ast.walk(_tree(name)):
        if isinstance(n, ast.ImportFrom) and n.level == 1: out.add(n.module or '')
        elif isinstance(n, ast.ImportFrom) and (n.module or '').startswith('minidiff.'): out.add(n.module.split('.')[1])
    return out - {''}

def test_no_import_cycles():
    graph = {m: _imports(m) & set(MODULES) for m in MODULES}
    def visit(m, path):
        assert m not in path, f'import cycle: {" -> ".join(path + [m])}'
        for n in graph[m]: visit(n, path + [m])
    for m in MODULES: visit(m, [])

def test_imports_inside_functions_only_for_optional_packages():
    bad = []
    for m in MODULES:
        for fn in ast.walk(_tree(m)):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)): continue
            for n in ast.walk(fn):
                if isinstance(n, (ast.Import, ast.ImportFrom)):
                    names = [n.module] if isinstance(n, ast.ImportFrom) else [a.name for a in n.names]
                    bad += [f'{m}.{fn.name}: {x}' for x in names if x not in OPTIONAL]
    assert not bad, bad

def test_no_private_names_across_modules():
    bad = [f'{m}: {a.name} from {n.module}' for m in MODULES for n in ast.walk(_tree(m))
           if isinstance(n, ast.ImportFrom) and n.level == 1 for a in n.names if a.name.startswith('_')]
    assert not bad, bad

FOUNDATIONS = {'core', 'mnist_files'}   # the appendices 95 and 96: every chapter may use them

def _notebook(name)->str:
    "The notebook a module is exported from, e.g. '03_denoiser'."
    head = (SRC/f'{name}.py').read_text().split('File to edit: ../nbs/', 1)[1]
    return head.split('.ipynb', 1)[0]

LAB = 'lab'   # the lab layer: started by 01a_lab, each chapter appends its pictures, reports and timers (`#| export lab`)
TOOLS = {'evaluate', 'recipes', 'cli'}   # the appendices 80, 85, 90: built on everything, the lab included

def _place(name)->str:
    """Where a module stands in the course's order: its notebook's; an appendix of 91 and up that is no foundation (the
    engineering of a chapter, moved out of it) stands just after the latest chapter it imports (91_spelling: after 09)."""
    nb = _notebook(name)
    if nb < '91' or name in FOUNDATIONS | TOOLS: return nb
    return max((_notebook(d) for d in _imports(name) & set(MODULES) if d not in FOUNDATIONS), default='00') + '+'

def test_modules_import_only_earlier_notebooks():
    "A model module reads top to bottom like the course: it imports only the appendices' foundations and earlier chapters."
    models = set(MODULES) - {LAB} - TOOLS
    bad = [f'{m} ({_notebook(m)}) imports {n} ({_notebook(n)})' for m in models for n in _imports(m) & set(MODULES)
           if n not in FOUNDATIONS and _place(n) >= _place(m)]
    assert not bad, bad

def test_no_model_uses_the_lab():
    "What shows or measures a model is never needed to build, train or run one."
    bad = [m for m in set(MODULES) - TOOLS if LAB in _imports(m) and m != LAB]
    assert not bad, bad

def test_lab_cells_import_only_their_chapter_and_earlier():
    "Each chapter's part of the lab (its `# %% ../nbs/NN_...` cells) uses only modules of that chapter or earlier."
    bad, nb = [], None
    for line in (SRC/f'{LAB}.py').read_text().splitlines():
        if line.startswith('# %% ../nbs/'): nb = line.split('/nbs/')[1].split('.ipynb')[0]
        elif line.startswith('from .') and nb:
            n = line.split()[1].lstrip('.')
            if n in MODULES and n not in FOUNDATIONS and _place(n) > nb: bad.append(f'{nb}: {line}')
    assert not bad, bad
    assert not _imports(LAB) & TOOLS
