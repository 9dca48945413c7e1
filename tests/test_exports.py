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
