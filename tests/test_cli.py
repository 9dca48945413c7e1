"The `minidiff` command and the recipe table: bad input is one line and exit code 2, every shipped model loads, a recipe trains."
import json, os, subprocess, sys
import pytest, torch
from minidiff import recipes
from minidiff.cli import main
from minidiff.core import weights_path

SHIPPED = [n for n in recipes.RECIPES if weights_path(n).exists()]

def run(argv, capsys):
    "Run `minidiff ARGV` in this process: (exit code, stdout, stderr)."
    try: main(argv); code = 0
    except SystemExit as e: code = e.code
    out, err = capsys.readouterr()
    return code, out, err

def one_line_error(code, err):
    assert code == 2, err
    assert err.startswith('minidiff: error: ') and len(err.splitlines()) == 1 and 'Traceback' not in err, err

@pytest.mark.parametrize('name', ['judge', 'clip', 'autoencoder', 'toy', 'bogus', str(weights_path('judge'))])
def test_evaluate_not_a_generator_lists_choices(name, capsys):
    code, _, err = run(['evaluate', name, '--n', '50', '--steps', '2'], capsys)
    one_line_error(code, err)
    assert 'not a generator: expected one of denoiser, conditional, latent, pipeline' in err, err

@pytest.mark.parametrize('argv', [
    ['evaluate', 'denoiser', '--n', '1'], ['evaluate', 'denoiser', '--n', 'lots'], ['evaluate', 'latent', '--steps', '0'],
    ['evaluate', 'latent', '--guidance', 'nan'], ['evaluate', 'latent', '--sampler', 'ddim'], ['evaluate', 'denoiser', '--guidance', '2'],
    ['evaluate', 'missing.pt'], ['evaluate'], ['train', 'bogus'], ['train', 'toy', '--epochs', '0'], ['train', 'toy', '--nproc', '3'],
    ['train', 'toy', '--clip', 'x.pt'], ['train', 'latent', '--clip', '/nowhere/clip.pt'], ['train', 'toy', '--resume', '--out', '/tmp/never.pt'],
    ['generate', '--digit', '12', '-o', '/tmp/never.png'], ['generate', '--digit', '3', '--n', '0', '-o', '/tmp/never.png'],
    ['generate', '--digit', '3', '--guidance', 'inf', '-o', '/tmp/never.png'], ['generate', '--digit', '3', '--model', 'latent', '-o', '/tmp/never.png'],
    ['generate', 'a 7', '--model', 'denoiser', '-o', '/tmp/never.png'], ['generate', 'a 7', '--steps', '-1', '-o', '/tmp/never.png'],
    ['generate', '', '-o', '/tmp/never.png'], ['generate', 'a 7', '-o', '/tmp/never.jpg'], ['generate', 'a 7', '-o', '/nowhere/x.png'],
    ['generate', 'a 7', '--digit', '7', '-o', '/tmp/never.png'], ['generate', 'a 7'], ['frobnicate'], [],
])
def test_bad_input_is_one_line(argv, capsys):
    code, _, err = run(argv, capsys)
    one_line_error(code, err)
    assert not os.path.exists('/tmp/never.png') and not os.path.exists('/tmp/never.pt')

def test_no_traceback_from_the_command():
    "The installed command itself: a bad value is one line on stderr and exit code 2."
    r = subprocess.run([sys.executable, '-m', 'minidiff.cli', 'evaluate', 'latent', '--n', '1'], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.count('\n') == 1 and r.stderr.startswith('minidiff: error: n must be'), r.stderr

def test_evaluate_latent(capsys):
    "`minidiff evaluate latent` measures the text-to-image pipeline (it used to end in a TypeError)."
    code, out, err = run(['evaluate', 'latent', '--n', '20', '--steps', '2', '--json'], capsys)
    assert code == 0, err
    res = json.loads(out)
    assert res['model'] == 'latent' and res['kind'] == 'pipeline' and res['n'] == 20
    assert 0 <= res['accuracy_training'] <= 1 and 0 <= res['accuracy_held_out'] <= 1 and res['fid'] > 0

def test_generate_says_which_model(tmp_path, capsys):
    code, _, err = run(['generate', '--digit', '7', '--n', '2', '--steps', '2', '-o', str(tmp_path/'d.pt')], capsys)
    assert code == 0 and 'pixel model of 07_conditional (conditional.pt), guidance 1.35; --digit switches' in err, err
    code, _, err = run(['generate', 'a 7', '--n', '2', '--steps', '2', '-o', str(tmp_path/'p.pt')], capsys)
    assert code == 0 and 'minidiff: drawing with the latent pipeline (latent.pt, autoencoder.pt, clip.pt), guidance 2 for sigma in [0.3, 5]' in err, err
    assert torch.load(tmp_path/'p.pt', weights_only=True).shape == (2, 1, 28, 28)

@pytest.mark.parametrize('name', SHIPPED)
def test_load_shipped(name):
    m = recipes.load(name, 'cpu')
    assert isinstance(m, recipes.RECIPES[name].model) and not m.training
    assert m.meta['recipe'].split()[:3] == ['minidiff', 'train', name]

def test_load_by_path():
    "A file's record names its recipe: the right class whatever the file is called."
    assert type(recipes.load(weights_path('latent'), 'cpu')).__name__ == 'TextUNet'
    assert recipes.load(weights_path('conditional'), 'cpu').cfg.n_classes == 10
    with pytest.raises(ValueError, match='expected one of toy'): recipes.load('bogus')

def test_train_toy_tiny(tmp_path, capsys):
    p = recipes.train('toy', tmp_path/'toy.pt', max_steps=3, seed=2, verbose=False)
    m = torch.load(p, weights_only=True)['meta']
    assert m['recipe'] == 'minidiff train toy --seed 2 --max-steps 3' and m['steps'] == 3
    assert {'wall_seconds', 'threads', 'date', 'torch', 'machine', 'loss_curve', 'train_config', 'accuracy'} <= set(m)
    assert recipes.load(p, 'cpu').meta['steps'] == 3
    code, out, err = run(['train', 'toy', '--max-steps', '3', '--seed', '2', '--out', str(tmp_path/'cli.pt')], capsys)
    assert code == 0 and 'saved' in out, err
    assert torch.load(tmp_path/'cli.pt', weights_only=True)['meta']['recipe'] == m['recipe']

def test_the_installed_command_exits_0_when_it_succeeds(tmp_path):
    "The console script runs `sys.exit(main())`: a command that worked exits with 0, and prints no return value."
    code = 'import sys; from minidiff.cli import main; sys.exit(main(sys.argv[1:]))'
    r = subprocess.run([sys.executable, '-c', code, 'generate', '--digit', '3', '--n', '2', '--steps', '2', '-o', str(tmp_path/'three.png')],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and (tmp_path/'three.png').exists() and 'three.png\n' not in r.stderr, (r.returncode, r.stderr)
