"""The device and precision rules, pinned on a CPU-only machine.

A GPU is not needed to check that no float64 tensor ever leaves the CPU: the `meta` device stands in for one (it has
every op's shapes and dtypes but no data), and a torch-function mode fails any move of a float64 tensor off the CPU.
"""
import os, warnings
import pytest, torch
from torch.overrides import TorchFunctionMode
import minidiff.core as core
from minidiff.core import check_device, default_device, use_bf16, precision_setting, precision_report, available_devices
from minidiff.noise import make_schedule, add_noise
from minidiff.denoiser import UNet, UNetConfig
from minidiff.samplers import SAMPLERS, Denoiser, default_sigmas, init_noise
from minidiff.judge import Judge, JudgeConfig, frechet_distance

class NoFloat64OffCPU(TorchFunctionMode):
    "Fail any float64 tensor moved to, or made on, a device other than the CPU (MPS has no float64)."
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        for o in (out if isinstance(out, (tuple, list)) else (out,)):
            if isinstance(o, torch.Tensor) and o.dtype == torch.float64 and o.device.type != 'cpu':
                raise AssertionError(f'{getattr(func, "__name__", func)} put a float64 tensor on {o.device}')
        return out

@pytest.fixture
def env(monkeypatch):
    "Set environment variables for one test."
    return lambda **kv: [monkeypatch.setenv(k, v) for k, v in kv.items()]

def test_guard_catches_a_float64_move():
    with pytest.raises(AssertionError, match='float64'), NoFloat64OffCPU():
        torch.zeros(3, dtype=torch.float64).to('meta')

@pytest.mark.parametrize('sampler', sorted(SAMPLERS))
def test_sampling_keeps_float64_on_the_cpu(sampler):
    "Schedules are float64 on the CPU; every sampler runs a model on another device without moving them there."
    sched, model = make_schedule(), UNet(UNetConfig(chs=(8, 16), emb_dim=16)).to('meta')
    x, sigmas = torch.randn(2, 1, 28, 28, device='meta'), default_sigmas(sampler, sched, 3)   # sigmas: float64 on the CPU
    with NoFloat64OffCPU():
        out = SAMPLERS[sampler](Denoiser(model, sched, clip=1.), init_noise(x, sigmas), sigmas, disable=True,
                                generator=torch.Generator().manual_seed(0))   # a CPU generator: its noise is moved
    assert out.device.type == 'meta' and out.dtype == torch.float32 and out.shape == x.shape

def test_noising_keeps_float64_on_the_cpu():
    sched, model = make_schedule('linear'), UNet(UNetConfig(chs=(8, 16), emb_dim=16, n_classes=10)).to('meta')
    x0 = torch.zeros(4, 1, 28, 28, device='meta')
    with NoFloat64OffCPU():
        xt, noise = add_noise(x0, torch.tensor([0, 1, 2, 999]), sched)
        eps = model(xt, torch.tensor([0, 1, 2, 999], device='meta'), torch.arange(4, device='meta'))
    assert xt.dtype == torch.float32 and xt.device.type == 'meta' and eps.shape == x0.shape
    assert sched.betas.dtype == torch.float64 and sched.betas.device.type == 'cpu'

def test_add_noise_matches_the_float64_closed_form():
    sched, x0, noise = make_schedule(), torch.rand(3, 1, 4, 4)*2 - 1, torch.randn(3, 1, 4, 4)
    xt, _ = add_noise(x0, torch.tensor([5, 500, 990]), sched, noise)
    ab = sched.alpha_bar[[5, 500, 990]].view(-1, 1, 1, 1)
    torch.testing.assert_close(xt, (ab.sqrt()*x0 + (1 - ab).sqrt()*noise).float())

def test_judge_reference_statistics_stay_float64_on_the_cpu():
    "The judge's network moves and casts; the FID reference statistics stay float64 on the CPU."
    j = Judge(JudgeConfig())
    j.ref_cov.copy_(torch.eye(128, dtype=torch.float64))
    with NoFloat64OffCPU(): j = j.to('meta')
    assert j.convs[0][0].weight.device.type == 'meta'
    assert (j.ref_mu.device.type, j.ref_mu.dtype, j.ref_cov.device.type) == ('cpu', torch.float64, 'cpu')
    j = Judge(JudgeConfig()).to(torch.bfloat16)
    assert j.convs[0][0].weight.dtype == torch.bfloat16 and j.ref_cov.dtype == torch.float64
    assert set(j.state_dict()) >= {'ref_mu', 'ref_cov'}                       # still saved with the weights

def test_frechet_distance_takes_float32_and_float64():
    a, b = torch.randn(500, 8), torch.randn(500, 8) + 1
    f = lambda u, v: frechet_distance(u.mean(0), torch.cov(u.T), v.mean(0), torch.cov(v.T))
    assert abs(f(a, b) - f(a.double(), b.double())) < 1e-3 and f(a, a) < 1e-6

def test_default_device_order_and_override(env):
    assert available_devices()[-1] == 'cpu'
    want = 'cuda' if torch.cuda.is_available() else ('mps' if core._mps_available() else 'cpu')
    assert default_device().type == want
    env(MINIDIFF_DEVICE='cpu')
    assert default_device() == torch.device('cpu')
    env(MINIDIFF_DEVICE='tpu')
    with pytest.raises(ValueError, match='expected one of cpu, cuda, cuda:N, mps'): default_device()
    if not torch.cuda.is_available():
        env(MINIDIFF_DEVICE='cuda')
        with pytest.raises(ValueError, match='no such device on this machine; available: .*cpu'): default_device()
    if not core._mps_available():
        with pytest.raises(ValueError, match='no such device'): check_device('mps')

def test_precision_policy(env, monkeypatch):
    native = core.cpu_bf16_native()
    assert use_bf16('cpu') == native                           # auto: bf16 only where it is native
    assert use_bf16('mps') is False                            # Apple's GPU: fp32
    assert use_bf16('cuda') == (torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    env(MINIDIFF_PRECISION='fp32')
    assert use_bf16('cpu') is False and use_bf16('cpu', True) is True   # the env var, and the argument that beats it
    env(MINIDIFF_PRECISION=' BF16 ')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        assert use_bf16('cpu') is True and use_bf16('cpu', False) is False
    env(MINIDIFF_PRECISION='')
    assert precision_setting() == 'auto'
    env(MINIDIFF_PRECISION='fp16')
    with pytest.raises(ValueError, match="MINIDIFF_PRECISION='fp16' is not a precision; expected one of auto, fp32, bf16"):
        use_bf16('cpu')

def test_bf16_forced_on_a_cpu_without_it_warns_once(monkeypatch):
    monkeypatch.setattr(core, '_mkldnn_bf16', lambda: False)   # a CPU without bf16 kernels (AVX2)
    monkeypatch.setattr(core, '_warned_slow_bf16', False)
    core.cpu_bf16_native.cache_clear()
    try:
        assert use_bf16('cpu') is False
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter('always')
            assert use_bf16('cpu', True) and use_bf16('cpu', True)
        assert len(w) == 1 and 'slower than fp32' in str(w[0].message)
    finally: core.cpu_bf16_native.cache_clear()

def test_native_bf16_needs_the_instructions(monkeypatch):
    "PyTorch's check alone is not enough: AVX-512 without BF16 passes it, and there a micro-benchmark decides."
    monkeypatch.setattr(core, '_mkldnn_bf16', lambda: True)
    for flags, speedup, want in (({'avx512f', 'avx512_bf16'}, 0.1, True), ({'avx512f', 'amx_bf16'}, 0.1, True),
                                 ({'avx512f', 'avx2'}, 0.5, False), ({'avx512f'}, 1.8, True), (None, 0.05, False)):
        monkeypatch.setattr(core, '_cpu_flags', lambda f=flags: f)
        monkeypatch.setattr(core, 'bf16_speedup', lambda *a, s=speedup, **k: s)
        core.cpu_bf16_native.cache_clear()
        assert core.cpu_bf16_native() is want, (flags, speedup)
    core.cpu_bf16_native.cache_clear()

def test_precision_report_names_the_choice():
    r = precision_report('cpu')
    assert r['precision'] == ('bf16' if core.cpu_bf16_native() else 'fp32')
    assert r['cpu_capability'] == torch.backends.cpu.get_cpu_capability()

def test_bf16_speedup_measures():
    s = core.bf16_speedup('cpu', n=128, repeats=1)
    # a ratio of two timings: positive and finite; its size depends on the machine and its load (one preempted
    # fp32 call on a busy 2-core CPU gave 277)
    assert 0 < s < float('inf')

def test_nbdev_test_workers_share_the_cores(monkeypatch):
    "A worker of nbdev_test (not the main process) takes cpu_count // workers threads; pytest's own process is left alone."
    import multiprocessing as mp
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv('IN_TEST', '1')
        assert core.share_cores_under_test() == before                     # the main process: unchanged
        monkeypatch.setattr(mp, 'current_process', lambda: type('P', (), {'name': 'ForkProcess-1'})())
        monkeypatch.setattr(os, 'cpu_count', lambda: 2)
        assert core.share_cores_under_test() == 1
        monkeypatch.setattr(os, 'cpu_count', lambda: 16)
        assert core.share_cores_under_test() == 2                           # 16 cores, 8 workers
    finally: torch.set_num_threads(before)

def test_bench_precision_workloads_run():
    "Every workload the precision benchmark times builds and runs one step (in fp32, quick)."
    import importlib.util, pathlib
    spec = importlib.util.spec_from_file_location('bench_precision', pathlib.Path(__file__).parents[1]/'bench'/'bench_precision.py')
    bench = importlib.util.module_from_spec(spec); spec.loader.exec_module(bench)
    ws = bench.training_workloads(torch.device('cpu'), bs=8)
    assert {'denoiser', 'conditional', 'judge', 'autoencoder', 'clip', 'latent'} <= set(ws)
    for name, w in ws.items():
        if w is not None: w[1](False)()
