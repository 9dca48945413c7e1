"The shipped weights and the command line, used from outside the notebooks."
import json, subprocess, sys
import pytest, torch
from minidiff.core import weights_path, load_weights
from minidiff.noise import make_schedule, add_noise
from minidiff.denoiser import UNet, UNetConfig, load_denoiser, predict_noise
from minidiff.judge import load_judge, Judge, JudgeConfig

SHIPPED = ['judge', 'denoiser', 'conditional', 'autoencoder', 'autoencoder_plain', 'clip', 'latent']

@pytest.mark.parametrize('name', SHIPPED)
def test_shipped_weights_load_safely(name):
    obj = torch.load(weights_path(name), map_location='cpu', weights_only=True)  # refuses anything that could run code
    assert {'config', 'state_dict', 'meta'} <= set(obj)
    meta = obj['meta']
    assert meta['recipe'].startswith(f'minidiff train {name}') and meta['wall_seconds'] > 0

@pytest.mark.quality
def test_shipped_judge_is_accurate():
    "Recomputed on MNIST's 10,000 test digits, not read from the weights' record."
    from minidiff.judge import accuracy
    from minidiff.data import load_mnist, digits_to_float
    _, _, x_te, y_te = load_mnist(verbose=False)
    judge = load_judge(device='cpu')
    acc = accuracy(judge, digits_to_float(x_te), y_te)
    assert acc >= 0.993 and abs(acc - judge.meta['test_accuracy']) < 0.002, (acc, judge.meta['test_accuracy'])

def test_weights_mismatch_is_clear():
    with pytest.raises(RuntimeError, match='does not match UNet'): load_weights('judge', UNet, UNetConfig, 'cpu')
    with pytest.raises(FileNotFoundError, match='minidiff train nothing'): load_weights('nothing')

def test_denoiser_bad_input():
    model, sched = load_denoiser(device='cpu'), make_schedule()
    x = torch.zeros(2, 1, 28, 28)
    assert predict_noise(model, x, 10, sched).shape == x.shape
    with pytest.raises(ValueError, match=r'expected shape \[N,1,28,28\]'): predict_noise(model, torch.zeros(2, 3, 28, 28), 10, sched)
    with pytest.raises(ValueError, match=r'Steps must be in \[0, 999\]'): predict_noise(model, x, -1, sched)
    with pytest.raises(ValueError, match='Unknown schedule'): make_schedule('quadratic')
    with pytest.raises(ValueError, match='one step per image'): add_noise(x, torch.tensor([1, 2, 3]), sched)

def test_autoencoder_round_trip_and_bad_input():
    from minidiff.autoencoder import load_autoencoder
    from minidiff.data import load_mnist, digits_to_float
    ae = load_autoencoder(device='cpu')
    x = digits_to_float(load_mnist(verbose=False)[2][:64])
    z = ae.encode(x)
    assert z.shape == (64, 4, 7, 7) and 0.5 < z.std().item() < 2     # scaled to about unit variance
    assert torch.nn.functional.mse_loss(ae.decode(z), x).item() < 0.05

@pytest.mark.quality
def test_autoencoder_figures_recomputed():
    "The round trip on 2,000 test digits: the reconstruction error and the judge's verdicts, measured here."
    from minidiff.autoencoder import load_autoencoder
    from minidiff.lab import reconstruction_report
    ae = load_autoencoder(device='cpu')
    rep = reconstruction_report(ae, n=1000, n_test=2000)
    assert rep['test_mse'] < 1.5*ae.meta['test_mse'] and rep['test_mse'] < 0.006, rep
    assert rep['accuracy_reconstructions'] >= rep['accuracy_originals'] - 0.005, rep
    assert rep['fid_reconstructions'] < 1.5*rep['floor'], rep
    with pytest.raises(ValueError, match=r'expected shape \[N,1,28,28\]'): ae.encode(torch.zeros(2, 784))
    with pytest.raises(TypeError, match='float tensor'): ae.encode(torch.zeros(2, 1, 28, 28, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r'latents: expected shape \[N,4,7,7\]'): ae.decode(torch.zeros(2, 4, 8, 8))
    with pytest.raises(TypeError, match='float tensor'): ae.decode(torch.zeros(2, 4, 7, 7, dtype=torch.long))

@pytest.mark.quality
def test_clip_prompts_bad_input_and_figures():
    import warnings
    from minidiff.clip import load_clip, search, normalise
    from minidiff.lab import clip_report
    clip = load_clip(device='cpu')
    rep = clip_report(clip, n_test=2000)                                   # measured here, on 2,000 test digits
    assert rep['zero_shot_training'] >= 0.97 and rep['zero_shot_held_out'] >= 0.95, rep
    assert rep['attributes_training'] >= 0.8, rep
    e = clip.encode_text(['the number seven', ''])                         # the empty prompt is a valid text
    assert e.shape == (2, clip.cfg.dim) and torch.allclose(e.norm(dim=1), torch.ones(2), atol=1e-5)
    assert normalise('A Sevén, ☃!') == 'a seven'                          # capitals, punctuation, accents and other characters
    assert torch.equal(clip.tokenizer('A seven, please!'), clip.tokenizer('a seven please'))
    with pytest.warns(UserWarning, match='cut to'): clip.encode_text('seven ' * (clip.cfg.max_len + 10))  # too long: cut, with a warning
    with pytest.raises(TypeError, match='Expected a string'): clip.encode_text(7)
    with pytest.raises(TypeError, match='Expected a string'): clip.encode_text(['seven', b'seven'])
    with pytest.raises(ValueError, match='k must be an integer of at least 1'): search(clip, 'seven', torch.zeros(4, 1, 28, 28), 0)
    with pytest.raises(ValueError, match=r'expected shape \[N,1,28,28\]'): clip.encode_images(torch.zeros(4, 28, 28))

def run_cli(*args):
    return subprocess.run([sys.executable, '-c', 'from minidiff.cli import main; main()', *args], capture_output=True, text=True, timeout=600)

def test_cli_evaluate_json():
    r = run_cli('evaluate', 'denoiser', '--n', '64', '--steps', '4', '--json')
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert {'fid', 'floor', 'fid_ratio', 'seconds_per_1000', 'n', 'steps'} <= set(res) and res['n'] == 64

@pytest.mark.parametrize('args,msg', [(['evaluate', 'missing.pt'], 'No weights at'),
                                      (['evaluate', 'denoiser', '--steps', '0'], 'steps must be an integer'),
                                      (['evaluate', 'denoiser', '--n', '-3'], 'n must be a positive integer')])
def test_cli_errors(args, msg):
    r = run_cli(*args)
    assert r.returncode == 2 and msg in r.stderr, r.stderr
    assert 'Traceback' not in r.stderr

def test_schedule_travels_with_the_model(tmp_path):
    "A model trained with another schedule saves it in its config, and sampling uses it without being told."
    from minidiff.core import save_weights
    from minidiff.denoiser import train_denoiser
    from minidiff.fit import FitConfig
    from minidiff.noise import schedule_for
    from minidiff.samplers import generate
    x = torch.rand(16, 1, 28, 28)*2 - 1
    cfg = UNetConfig(chs=(8, 16), emb_dim=16, schedule='linear', T=500)
    model, _ = train_denoiser(cfg, FitConfig(max_steps=2, bs=16, ema=0.999), (x, torch.zeros(16, dtype=torch.long)), device='cpu', progress_bar=False)
    loaded = load_denoiser(save_weights(model, tmp_path/'linear.pt', cfg), device='cpu')
    assert (loaded.cfg.schedule, loaded.cfg.T) == ('linear', 500)
    assert schedule_for(loaded).name == 'linear' and schedule_for(loaded).T == 500
    own = generate(loaded, 2, 3, 'ddim', seed=0, disable=True)
    assert torch.equal(own, generate(loaded, 2, 3, 'ddim', sched=make_schedule('linear', 500), seed=0, disable=True))
    assert not torch.equal(own, generate(loaded, 2, 3, 'ddim', sched=make_schedule('cosine', 1000), seed=0, disable=True))
    assert schedule_for(load_denoiser(device='cpu')).name == 'cosine'   # shipped weights from before: the default they were trained with
