"The MNIST loader: checksum refusal, restricted unpickling, cache rebuilds, concurrent first fetches."
import gzip, io, os, pickle, shutil, subprocess, sys, textwrap
from pathlib import Path
import pytest, torch
from minidiff import mnist_files as data
from minidiff.mnist_files import (ArrayOnlyUnpickler, IDX_SHA256, MNIST_SHA256, load_mnist, mnist_cache_dir,
                                  read_mnist_pickle, fetch_mnist_pickle, parse_idx)
from minidiff.data import digits_to_float, get_dls

@pytest.fixture(scope='session')
def pkl(tmp_path_factory):
    "The real `mnist.pkl.gz`, fetched once for the session the way `load_mnist` fetches it."
    return fetch_mnist_pickle(tmp_path_factory.mktemp('pkl'))

def test_fetched_file_is_checked(pkl):
    assert data.sha256_file(pkl) == MNIST_SHA256

def test_tampered_pickle_refused(pkl, tmp_path):
    bad = tmp_path/'mnist.pkl.gz'
    b = bytearray(pkl.read_bytes()); b[len(b)//2] ^= 0xFF
    bad.write_bytes(bytes(b))
    with pytest.raises(ValueError, match='SHA-256'): read_mnist_pickle(bad)
    with pytest.raises(ValueError, match='SHA-256'): load_mnist(pkl=bad, cache_dir=tmp_path/'cache', verbose=False)
    assert not list((tmp_path/'cache'/'MNIST'/'raw').glob('*-ubyte')), 'nothing is cached from a refused file'

class Evil:
    def __reduce__(self): return (os.system, ('echo pwned',))

def test_unpickler_refuses_code():
    with pytest.raises(pickle.UnpicklingError, match='Refusing'): ArrayOnlyUnpickler(io.BytesIO(pickle.dumps(Evil()))).load()
    with pytest.raises(pickle.UnpicklingError, match='Refusing'):
        ArrayOnlyUnpickler(io.BytesIO(pickle.dumps(shutil.rmtree))).load()

@pytest.mark.parametrize('payload', [{'a': 1}, [1, 2], b'text', 'text', None])
def test_loader_refuses_non_arrays(payload, tmp_path, monkeypatch):
    "Plain containers unpickle (they name no globals), so the loader itself must refuse them where MNIST's arrays belong."
    bad = tmp_path/'mnist.pkl.gz'
    with gzip.open(bad, 'wb') as f: pickle.dump(((payload, payload),)*3, f)
    monkeypatch.setattr(data, 'MNIST_SHA256', data.sha256_file(bad))   # past the checksum, to reach the array check
    with pytest.raises(ValueError, match='expected numeric arrays'): read_mnist_pickle(bad)

def test_unpickler_accepts_arrays():
    import numpy as np
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(ArrayOnlyUnpickler(io.BytesIO(pickle.dumps(a))).load(), a)

def test_load_shapes_and_torchvision(pkl, tmp_path):
    x_train, y_train, x_test, y_test = load_mnist(pkl=pkl, cache_dir=tmp_path, verbose=False)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_train.dtype == torch.uint8 and y_train.dtype == torch.uint8
    assert torch.bincount(y_test.long()).tolist()[:3] == [980, 1135, 1032]  # the classic test-set counts
    import torchvision
    tv = torchvision.datasets.MNIST(tmp_path, train=True, download=False)
    assert torch.equal(tv.data, x_train) and torch.equal(tv.targets, y_train.long())

@pytest.mark.parametrize('damage', ['truncate', 'flip', 'delete'])
def test_corrupted_cache_rebuilt(pkl, tmp_path, damage):
    good = load_mnist(pkl=pkl, cache_dir=tmp_path, verbose=False)
    f = tmp_path/'MNIST'/'raw'/'train-images-idx3-ubyte'
    b = f.read_bytes()
    if damage == 'truncate': f.write_bytes(b[:len(b)//3])
    elif damage == 'flip': f.write_bytes(b[:1000] + bytes([b[1000] ^ 1]) + b[1001:])
    else: f.unlink()
    again = load_mnist(pkl=pkl, cache_dir=tmp_path, verbose=False)
    assert all(torch.equal(a, b) for a, b in zip(good, again))
    assert data.sha256_file(f) == IDX_SHA256[f.name]

def test_pickle_placed_by_hand_in_cache(pkl, tmp_path):
    raw = tmp_path/'MNIST'/'raw'; raw.mkdir(parents=True)
    shutil.copy(pkl, raw/'mnist.pkl.gz')
    x_train, *_ = load_mnist(cache_dir=tmp_path, verbose=False)  # no fetch: the placed file is used
    assert x_train.shape == (60000, 28, 28)

def test_no_registry_error_explains(tmp_path, monkeypatch):
    def fail(*a, **k): return subprocess.CompletedProcess(a, 1, '', 'ERROR: No matching distribution found')
    monkeypatch.setattr(data.subprocess, 'run', fail)
    with pytest.raises(RuntimeError, match='place the digits by hand') as e:
        load_mnist(cache_dir=tmp_path, verbose=False)
    assert 'No matching distribution' in str(e.value) and 'pkl=' in str(e.value)

def test_cache_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv('MINIDIFF_CACHE', str(tmp_path/'env'))
    assert mnist_cache_dir() == tmp_path/'env'
    assert mnist_cache_dir(tmp_path/'arg') == tmp_path/'arg'
    monkeypatch.delenv('MINIDIFF_CACHE'); monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path/'xdg'))
    assert mnist_cache_dir() == tmp_path/'xdg'/'minidiff'

def test_two_processes_fetch_once(tmp_path):
    "Two processes that find no cache at the same moment both get the digits, with one download between them."
    script = textwrap.dedent(f'''
        import sys, time
        from minidiff import mnist_files as data
        fetch = data.fetch_mnist_pickle
        def counted(dest):
            print('FETCH', flush=True); return fetch(dest)
        data.fetch_mnist_pickle = counted
        time.sleep(max(0, float(sys.argv[1]) - time.time()))  # start together
        x_train, y_train, x_test, y_test = data.load_mnist(cache_dir={str(tmp_path)!r}, verbose=False)
        print('OK', tuple(x_train.shape), int(y_test.sum()))
    ''')
    import time
    start = str(time.time() + 3)
    procs = [subprocess.Popen([sys.executable, '-c', script, start], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs): assert p.returncode == 0, err
    stdout = ''.join(o for o, _ in outs)
    assert stdout.count('FETCH') == 1, stdout
    assert stdout.count('OK (60000, 28, 28)') == 2, stdout
    assert not list(tmp_path.rglob('*.tmp')), 'no temporary files left behind'

def test_floats_and_batches():
    x = torch.tensor([[[0, 255]]], dtype=torch.uint8).expand(1, 28, 2).contiguous()
    with pytest.raises(ValueError, match='uint8 digits'): digits_to_float(x.float())
    f = digits_to_float(torch.zeros(2, 28, 28, dtype=torch.uint8) + 255)
    assert f.shape == (2, 1, 28, 28) and f.max() == 1
    assert digits_to_float(torch.zeros(1, 28, 28, dtype=torch.uint8), pm1=False).max() == 0

def test_parse_idx_rejects_garbage():
    with pytest.raises(ValueError, match='IDX'): parse_idx(b'\x01\x02\x03\x04' + b'\0'*8)

def test_dls_use_no_workers_under_tests(monkeypatch):
    monkeypatch.setenv('IN_TEST', '1')
    dl_train, dl_test = get_dls(bs=32, num_workers=2)
    assert dl_train.num_workers == 0 and dl_test.num_workers == 0
    xb, yb = next(iter(dl_train))
    assert xb.shape == (32, 1, 28, 28) and -1 <= xb.min() and xb.max() <= 1 and yb.dtype == torch.long
