"The training loop: several processes, a killed run resumed, checkpoints refused, and the parts of the recipes' losses."
import math, os, signal, subprocess, sys, time
import pytest, torch
from minidiff.fit import FitConfig, EMA, lr_at, total_steps, load_checkpoint, save_checkpoint, fit, toy_model, toy_loss, toy_problem

ENV = {**os.environ, 'MINIDIFF_PRECISION': 'fp32'}   # bf16 rounds differently for different batch shapes

def train_toy(out, *args, wait=True):
    "`minidiff train toy` into `out`; the finished process, or the running one with `wait=False`."
    cmd = [sys.executable, '-m', 'minidiff.cli', 'train', 'toy', '--out', str(out), *args]
    if not wait: return subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    r = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return torch.load(out, weights_only=True)

def max_diff(a:dict, b:dict)->float: return max((a[k].float() - b[k].float()).abs().max().item() for k in a)

def test_two_processes_equal_one(tmp_path):
    "2 CPU processes (gloo) end with identical weights, equal within 1e-5 to 1 process trained on the same global batches."
    one, two = train_toy(tmp_path/'one.pt'), train_toy(tmp_path/'two.pt', '--nproc', '2')
    assert two['meta']['world_size'] == 2 and one['meta']['world_size'] == 1
    assert two['meta']['rank_max_diff'] == 0.          # rank 1's weights, checked against rank 0's at the end of fit
    assert max_diff(one['state_dict'], two['state_dict']) < 1e-5
    assert two['meta']['steps'] == one['meta']['steps'] == 512
    assert two['meta']['recipe'].endswith('--nproc 2')

def test_sigkill_then_resume(tmp_path):
    "A run killed with SIGKILL partway and resumed ends with the weights of a run never interrupted."
    whole = train_toy(tmp_path/'whole.pt', '--epochs', '20')
    out, ck = tmp_path/'cut.pt', tmp_path/'cut.ckpt'
    p = train_toy(out, '--epochs', '20', '--ckpt-every', '0', wait=False)   # a checkpoint after every step
    t0, step = time.time(), 0
    while time.time() - t0 < 120 and p.poll() is None:
        try: step = load_checkpoint(ck, 'toy')['step']
        except (FileNotFoundError, RuntimeError): pass   # not written yet
        if step >= 300: break
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL); p.wait()
    killed_at = load_checkpoint(ck, 'toy')['step']
    assert 300 <= killed_at < 1280 and not out.exists(), (killed_at, p.stderr.read()[-2000:])   # really partway
    resumed = train_toy(out, '--epochs', '20', '--ckpt-every', '0', '--resume')
    assert max_diff(whole['state_dict'], resumed['state_dict']) < 1e-6
    assert resumed['meta']['steps'] == whole['meta']['steps'] == 1280

@pytest.mark.parametrize('args, msg', [
    (['--resume'], 'no checkpoint to resume from'),
    (['--nproc', '0'], '--nproc must be a positive number'),
    (['--nproc', '3'], 'does not divide evenly between 3 processes'),
    (['--epochs', '0'], '--epochs must be a positive number'),
    (['--max-steps', '-2'], '--max-steps must be a positive number')])
def test_train_refuses(tmp_path, args, msg):
    r = subprocess.run([sys.executable, '-m', 'minidiff.cli', 'train', 'toy', '--out', str(tmp_path/'t.pt'), *args],
                       env=ENV, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and msg in r.stderr and 'Traceback' not in r.stderr, r.stderr[-2000:]

def test_checkpoints_refused(tmp_path):
    "Truncated, foreign, another recipe's or another length's checkpoints are refused before anything is loaded."
    x, y = toy_problem(512)
    cfg = FitConfig(max_steps=5, bs=64, ckpt_every=0)
    fit(toy_model(), toy_loss, (x, y), cfg, device='cpu', ckpt=tmp_path/'a.ckpt', name='toy', progress_bar=False)
    data = (tmp_path/'a.ckpt').read_bytes()
    (tmp_path/'cut.ckpt').write_bytes(data[:len(data)//2])
    with pytest.raises(RuntimeError, match='not a complete checkpoint'): load_checkpoint(tmp_path/'cut.ckpt', 'toy')
    torch.save({'config': {}, 'state_dict': {}}, tmp_path/'weights.pt')
    with pytest.raises(RuntimeError, match='not a minidiff training checkpoint'): load_checkpoint(tmp_path/'weights.pt', 'toy')
    with pytest.raises(RuntimeError, match="a checkpoint of 'toy', not of 'clip'"): load_checkpoint(tmp_path/'a.ckpt', 'clip')
    m = toy_model(); before = {k: v.clone() for k, v in m.state_dict().items()}
    with pytest.raises(RuntimeError, match='was made for 5 steps'):
        fit(m, toy_loss, (x, y), FitConfig(max_steps=6, bs=64), device='cpu', ckpt=tmp_path/'a.ckpt', name='toy', resume=True)
    wide = torch.nn.Sequential(torch.nn.Linear(32, 65), torch.nn.SiLU(), torch.nn.Linear(65, 4))
    with pytest.raises(RuntimeError, match='other shapes'):
        fit(wide, toy_loss, (x, y), cfg, device='cpu', ckpt=tmp_path/'a.ckpt', name='toy', resume=True)
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())   # nothing half-loaded

def test_lr_schedule():
    lrs = [lr_at(s, 200, 1e-3, 0.1) for s in range(200)]
    assert lrs[0] == pytest.approx(1e-3/20) and lrs[19] == pytest.approx(1e-3)     # 20 warm-up steps, not 0 at step 0
    assert all(a > b for a, b in zip(lrs[20:], lrs[21:])) and 0 < lrs[-1] < 1e-6  # cosine down, never to 0
    assert lrs[110] == pytest.approx(1e-3*0.5*(1 + math.cos(math.pi*90/180)))

def test_total_steps_one_meaning():
    assert total_steps(FitConfig(epochs=2, bs=100), 1050) == 20          # full batches only: 10 per epoch
    assert total_steps(FitConfig(epochs=0.25, bs=100), 1050) == 3        # fractions round up
    assert total_steps(FitConfig(epochs=2, bs=100, max_steps=7), 1050) == 7
    for bad in (0, -1, float('nan'), float('inf')):
        with pytest.raises(ValueError, match='epochs must be a positive number'): total_steps(FitConfig(epochs=bad), 1000)

def test_ema_average():
    "The EMA of a weight that steps from 0 to 1 approaches 1 at the rate its decay says."
    m = torch.nn.Linear(1, 1, bias=False); m.weight.data.zero_()
    e = EMA(m, decay=0.9); m.weight.data.fill_(1.)
    ds = []
    for n in range(1, 101):
        e.update(m); ds.append(min(0.9, (1 + n)/(10 + n)))
    assert e.model.weight.item() == pytest.approx(1 - math.prod(ds), rel=1e-5)
    assert not e.model.weight.requires_grad and not e.model.training

def test_fit_eval_hook_and_history():
    x, y = toy_problem(1024)
    seen = []
    _, h = fit(toy_model(), toy_loss, (x, y), FitConfig(epochs=1, bs=64, lr=1e-2), device='cpu', progress_bar=False,
               eval_fn=lambda m: seen.append(m.training) or dict(acc=(m(x).argmax(1) == y).float().mean().item()), eval_every=5)
    assert [e['step'] for e in h['evals']] == [5, 10, 15, 16] and seen == [False]*4   # evaluated in eval mode
    assert len(h['losses']) == len(h['lr']) == h['steps'] == 16

def test_batch_must_divide_between_processes(monkeypatch):
    monkeypatch.setenv('WORLD_SIZE', '3')   # as torchrun would set it; the check comes before any process group
    x, y = toy_problem(512)
    with pytest.raises(ValueError, match='must divide evenly between the 3 processes'):
        fit(toy_model(), toy_loss, (x, y), FitConfig(bs=64), device='cpu')

def test_kl_term():
    "The autoencoder's KL term is KL(N(mean, exp(logvar)) || N(0, 1)) per latent number."
    from minidiff.autoencoder import Autoencoder, AEConfig, ae_loss
    ae = Autoencoder(AEConfig())
    x = torch.rand(4, 1, 28, 28)*2 - 1
    _, mse, kld = ae_loss(ae, x, kl=1e-3)
    _, mean, logvar = ae(x)
    ref = torch.distributions.kl_divergence(torch.distributions.Normal(mean, (logvar/2).exp()), torch.distributions.Normal(0., 1.)).mean()
    assert kld.item() == pytest.approx(ref.item(), rel=1e-4)
    loss, mse, kld = ae_loss(ae, x, kl=0.5)   # a new sample from the posterior: a new MSE
    assert loss.item() == pytest.approx(mse.item() + 0.5*kld.item(), rel=1e-5)

def test_label_dropout():
    from minidiff.denoiser import drop_labels
    c = drop_labels(torch.zeros(200_000, dtype=torch.long), 0.1, null=10)
    assert set(c.unique().tolist()) == {0, 10} and abs((c == 10).float().mean().item() - 0.1) < 0.003
