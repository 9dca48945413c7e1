"""Our samplers against Hugging Face diffusers' schedulers: the same noise predictor, the same starting noise, the same images.

diffusers is a test-only dependency (`pip install diffusers`); without it the comparisons are skipped (the checks of
the samplers' inputs and callback at the end need no diffusers). Each diffusers scheduler
is configured to our conventions (the table at the end of nbs/06_samplers.ipynb) and driven the way its pipelines drive
it: scale the input, call the model, `step`. Beyond the schedulers' arguments we set four things, each for a reason:

- `sigma_max=80`: EulerDiscreteScheduler takes it as an argument; HeunDiscreteScheduler and DPMSolverMultistepScheduler
  have no such argument, but their Karras conversion reads `config.sigma_max` when it is there, so we register it.
- `exact_schedule`: diffusers takes the cumulative product of the betas in float32, which loses digits where alpha_bar is
  close to 1 (its sigma_min is off by 2.6e-4, relative). The 1e-4 comparisons give it our float64 alphas_cumprod (the
  same cosine schedule, more digits), so that they measure the samplers; `test_stock_schedule` runs the unmodified
  schedule, with a tolerance that allows for it.
- DPMSolverMultistepScheduler stores its timesteps as int64, truncating the fractional step of each Karras sigma; the
  model is given the fractional step: log sigma interpolated between the steps with NumPy's `interp` (what diffusers'
  Euler and Heun schedulers compute internally; no private function of diffusers is called).
- `set_begin_index(0)`: from the top of the schedule those truncated timesteps repeat (998, 998, 998, ...), and a
  scheduler that finds its place by looking its first timestep up takes the second match and silently skips a step.
- The starting point of DDIM and DDPM: ours start from the noise scaled to sigma_999 = 20,000 (`init_noise`), which the
  denoiser divides back for the model; in float32 that round trip moves the noise by about one unit in the last place,
  and the first clean estimate multiplies it by sigma (one such change of the starting noise moves the shipped model's
  DDIM digits by 7e-4). diffusers' DDIM and DDPM start from that same point, `init_noise(x)/sqrt(sigma**2 + 1)`, so
  that the comparison measures the samplers, not the rounding of the change of scale.
"""
import math
import numpy as np
import pytest, torch
from torch import nn

try:
    import diffusers
    from diffusers import (DDIMScheduler, DDPMScheduler, EulerDiscreteScheduler, HeunDiscreteScheduler,
                           DPMSolverMultistepScheduler)
except ImportError: diffusers = None
needs_diffusers = pytest.mark.skipif(diffusers is None, reason='needs diffusers (pip install diffusers)')
from minidiff.core import weights_path
from minidiff.noise import make_schedule
from minidiff.denoiser import UNet, UNetConfig, load_denoiser
from minidiff.samplers import (SAMPLERS, Denoiser, check_sigmas, default_sigmas, generate, init_noise, karras_sigmas,
                               model_evals, sigma_to_t, t_to_sigma, timestep_sigmas)

SCHED = make_schedule('cosine', 1000)
COMMON = dict(num_train_timesteps=1000, beta_schedule='squaredcos_cap_v2', prediction_type='epsilon')
KARRAS = dict(COMMON, use_karras_sigmas=True)
DPMPP = dict(KARRAS, algorithm_type='dpmsolver++', solver_type='midpoint', final_sigmas_type='zero',
             lower_order_final=True, euler_at_final=False)
CLIP_DPM = dict(thresholding=True, sample_max_value=1.0)   # dynamic threshold s clamped to [1, 1]: clipping to [-1, 1]

def with_sigma_max(sch, sigma_max=80.):
    sch.register_to_config(sigma_max=sigma_max); return sch

# Each diffusers scheduler, as configured to match one of our samplers with the options beside it: the denoiser's `clip`
# (default 1) and `top`, to start at the schedule's top instead of the sampler's default start.
# 'leading' spacing: with sigma_max set, it gives the same Karras sigmas as 'linspace' (sigma_min is sigma_0 in both) and
# an init_noise_sigma of sqrt(sigma_max**2 + 1), our starting scale ('linspace' uses sigma_max, 0.006% less at 80).
SCHEDULERS = {
    'ddim': (lambda: DDIMScheduler(**COMMON, timestep_spacing='trailing', clip_sample=True, clip_sample_range=1.0,
                                   set_alpha_to_one=True), {}),
    'ddpm': (lambda: DDPMScheduler(**COMMON, timestep_spacing='trailing', clip_sample=True, clip_sample_range=1.0,
                                   variance_type='fixed_small'), {}),
    # EulerDiscreteScheduler cannot clip; DPM-Solver++(1) is the same step (x' = s'/s x + (1 - s'/s) x0) and can
    'euler': (lambda: EulerDiscreteScheduler(**KARRAS, sigma_max=80., timestep_spacing='leading'), dict(clip=None)),
    'euler_as_dpm1': (lambda: with_sigma_max(DPMSolverMultistepScheduler(**DPMPP, **CLIP_DPM, solver_order=1)), {}),
    'heun': (lambda: with_sigma_max(HeunDiscreteScheduler(**KARRAS, clip_sample=True, clip_sample_range=1.0,
                                                          timestep_spacing='leading')), {}),
    'dpmpp_2m': (lambda: with_sigma_max(DPMSolverMultistepScheduler(**DPMPP, **CLIP_DPM, solver_order=2)), {}),
    # from the top of the schedule, unclipped: the schedulers' plain Karras settings
    'euler_full': (lambda: EulerDiscreteScheduler(**KARRAS), dict(top=True, clip=None)),
    'heun_full': (lambda: HeunDiscreteScheduler(**KARRAS), dict(top=True, clip=None)),
    'dpmpp_2m_full': (lambda: DPMSolverMultistepScheduler(**DPMPP, solver_order=2), dict(top=True, clip=None)),
}
OURS = {'euler_as_dpm1': 'euler', 'euler_full': 'euler', 'heun_full': 'heun', 'dpmpp_2m_full': 'dpmpp_2m'}

@pytest.fixture(scope='module', autouse=True)
def one_thread():
    n = torch.get_num_threads(); torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

class RandomDenoiser(nn.Module):
    """A small random UNet, as a noise predictor that behaves like one.

    A fresh UNet predicts zero noise (its last conv is zero-initialised), which would make every comparison trivial, so
    the last conv gets random weights. Used directly as a noise predictor, random weights never remove the noise, and
    samplers that do not clip end around 1e5, where float32 numbers are 0.008 apart. So the UNet predicts the clean
    image instead, a fixed ramp plus a random perturbation, and we turn that into a noise prediction at the (fractional)
    step t. Both implementations call this same function."""
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.unet = UNet(UNetConfig(chs=(8, 16, 16), emb_dim=32)).eval()
        nn.init.normal_(self.unet.conv_out.weight, std=0.05); nn.init.normal_(self.unet.conv_out.bias, std=0.02)
        self.register_buffer('base', torch.linspace(-1, 1, 28*28).view(1, 1, 28, 28))
    def forward(self, x, t):                                                     # x: (N, 1, 28, 28), t: (N,)
        ab = (1/(1 + t_to_sigma(t.cpu(), SCHED)**2)).float().view(-1, 1, 1, 1)   # alpha_bar at t
        x0 = self.base + 0.5*torch.tanh(self.unet(x, t))                         # (N, 1, 28, 28)
        return (x - ab.sqrt()*x0) / (1 - ab).sqrt()

HAVE_WEIGHTS = weights_path('denoiser').exists()
MODELS = ['random', pytest.param('shipped', marks=pytest.mark.skipif(not HAVE_WEIGHTS, reason='no shipped denoiser weights yet'))]

@pytest.fixture(scope='module', params=MODELS)
def model(request):
    return RandomDenoiser() if request.param == 'random' else load_denoiser(device='cpu')

def start_noise(n=4, seed=0): return torch.randn(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))

def make_scheduler(key, steps, exact_schedule=True):
    sch = SCHEDULERS[key][0]()
    if exact_schedule: sch.alphas_cumprod = SCHED.alpha_bar.clone()   # float64; see the module docstring
    sch.set_timesteps(steps)
    if hasattr(sch, 'set_begin_index'): sch.set_begin_index(0)       # see the module docstring
    return sch

@torch.no_grad()
def run_diffusers(key, model, x, steps, eta=0., seed=None, exact_schedule=True):
    "Sample with the diffusers scheduler `key`, the way its pipelines do."
    sch = make_scheduler(key, steps, exact_schedule)
    x = x * sch.init_noise_sigma
    g = torch.Generator().manual_seed(seed) if seed is not None else None
    ac = sch.alphas_cumprod.double().numpy()
    log_sigmas = np.log(((1 - ac)/ac)**0.5)
    for i, t in enumerate(sch.timesteps):
        t_model = t
        if isinstance(sch, DPMSolverMultistepScheduler):   # the fractional step (module docstring)
            t_model = torch.tensor(np.interp(np.log(sch.sigmas[i].item()), log_sigmas, np.arange(len(log_sigmas))))
        eps = model(sch.scale_model_input(x, t), t_model.float().expand(len(x)))
        if key == 'ddim':   # the same fresh noise, in the order our sampler draws it (none after the last step)
            noise = torch.randn(x.shape, generator=g) if eta > 0 and i < len(sch.timesteps) - 1 else torch.zeros_like(x)
            x = sch.step(eps, t, x, eta=eta, use_clipped_model_output=True, variance_noise=noise).prev_sample
        elif key == 'ddpm': x = sch.step(eps, t, x, generator=g).prev_sample   # draws its noise as we do
        else: x = sch.step(eps, t, x).prev_sample
    return x

def our_sigmas(key, steps):
    "The noise levels our sampler for `key` visits: its default ones, or Karras levels from the schedule's top."
    if SCHEDULERS[key][1].get('top'): return karras_sigmas(steps, SCHED.sigmas[0].item(), SCHED.sigmas[-1].item())
    return default_sigmas(OURS.get(key, key), SCHED, steps)

@torch.no_grad()
def run_ours(key, model, x, steps, eta=None, seed=None):
    g = torch.Generator().manual_seed(seed) if seed is not None else None
    sigmas, D = our_sigmas(key, steps), Denoiser(model, SCHED, clip=SCHEDULERS[key][1].get('clip', 1.))
    kw = {} if eta is None else dict(eta=eta)
    return SAMPLERS[OURS.get(key, key)](D, init_noise(x, sigmas), sigmas, disable=True, generator=g, **kw)

def their_start(key, x, steps):
    """The starting noise for diffusers: `x`, except for DDIM and DDPM (see the module docstring), which get the noise
    our sampler starts from, scaled back to theirs exactly as our denoiser scales it for the model."""
    if key not in ('ddim', 'ddpm'): return x
    sigmas = our_sigmas(key, steps)
    return init_noise(x, sigmas) / math.sqrt(sigmas[0].item()**2 + 1)

def max_diff(model, key, steps, eta=None, exact_schedule=True):
    x = start_noise()
    seed = 123 if key == 'ddpm' or (eta or 0) > 0 else None
    a = run_ours(key, model, x, steps, eta, seed)
    b = run_diffusers(key, model, their_start(key, x, steps), steps, eta or 0., seed, exact_schedule)
    assert a.shape == b.shape == x.shape and torch.isfinite(a).all()
    assert a.abs().max() > 0.5   # a real sample, not all zeros
    return (a - b).abs().max().item()

@needs_diffusers
def test_schedules_agree():
    assert (make_scheduler('ddim', 10, exact_schedule=False).alphas_cumprod.double() - SCHED.alpha_bar).abs().max() < 1e-6

@needs_diffusers
@pytest.mark.parametrize('steps', [2, 10, 25])
def test_karras_sigmas_and_timesteps_agree(steps):
    def levels(key, exact_schedule=True):
        s = make_scheduler(key, steps, exact_schedule).sigmas.double()
        return torch.cat([s[:1], s[1::2]]) if key.startswith('heun') else s   # Heun lists each inner sigma twice
    for top, keys in ((80., ('euler', 'heun', 'dpmpp_2m')), (SCHED.sigmas[-1].item(), ('euler_full', 'heun_full', 'dpmpp_2m_full'))):
        ref = karras_sigmas(steps, SCHED.sigmas[0].item(), top)
        for key in keys:
            torch.testing.assert_close(levels(key), ref, rtol=1e-6, atol=0)    # diffusers keeps sigmas in float32
            stock = levels(key, exact_schedule=False)
            assert ((stock[:-1] - ref[:-1]).abs()/ref[:-1]).max() < 1e-3        # its float32 schedule: a few 1e-4
        ts = make_scheduler(keys[0], steps).timesteps.double()
        torch.testing.assert_close(ts, sigma_to_t(ref[:-1], SCHED), rtol=0, atol=1e-3)
    assert len(make_scheduler('heun', steps).timesteps) == model_evals('heun', steps)

# (diffusers scheduler, steps, eta). DDIM compares where steps divide 1000 (see the notebook on diffusers' DDIM next step).
# Heun from 5 steps: with fewer, its correction multiplies float32 rounding by the long last interval (2e-4 at 3 or 4).
CASES = [('ddim', 10, 0.), ('ddim', 20, 0.), ('ddim', 10, 0.5), ('ddim', 10, 1.), ('ddpm', 10, None), ('ddpm', 50, None),
         ('euler', 10, None), ('euler', 5, None), ('euler_as_dpm1', 10, None), ('heun', 10, None), ('heun', 5, None),
         ('dpmpp_2m', 10, None), ('dpmpp_2m', 20, None), ('dpmpp_2m', 4, None)]
FULL = [('euler_full', 10, None), ('heun_full', 10, None), ('dpmpp_2m_full', 10, None)]
ids = lambda cases: [f'{k}-{s}' + ('' if e is None else f'-eta{e}') for k, s, e in cases]

@needs_diffusers
@pytest.mark.parametrize('key,steps,eta', CASES, ids=ids(CASES))
def test_same_images_as_diffusers(model, key, steps, eta):
    d = max_diff(model, key, steps, eta)
    assert d < 1e-4, f'{key} at {steps} steps: max abs difference {d:.2e}'

@needs_diffusers
@pytest.mark.parametrize('key,steps,eta', FULL, ids=ids(FULL))
def test_from_the_top_of_the_schedule(key, steps, eta):
    """Starting at sigma = 20,000 without clipping: the schedulers' plain Karras settings (random model only: the shipped
    one's first estimates there are off by hundreds, see the notebook)."""
    d = max_diff(RandomDenoiser(), key, steps, eta)
    assert d < 1e-4, f'{key} at {steps} steps: max abs difference {d:.2e}'

@needs_diffusers
@pytest.mark.parametrize('key,steps,eta', CASES, ids=ids(CASES))
def test_stock_schedule(model, key, steps, eta):
    """The unmodified float32 schedule: its sigmas are off by up to 2.6e-4 (relative), so the noise-level samplers ask
    the model about slightly different levels."""
    # DDIM at eta=1 also computes sqrt(1 - alpha_bar_prev - sigma**2), which cancels in float32 (1.6e-4 at 10 steps)
    d, tol = max_diff(model, key, steps, eta, exact_schedule=False), (5e-4 if key in ('ddim', 'ddpm') else 1e-2)
    assert d < tol, f'{key} at {steps} steps: max abs difference {d:.2e}'

def test_stochastic_samplers_do_depend_on_the_noise(model):
    "The DDPM comparison is not vacuous: another seed gives other images."
    x = start_noise()
    assert (run_ours('ddpm', model, x, 10, seed=1) - run_ours('ddpm', model, x, 10, seed=2)).abs().max() > 0.1

@needs_diffusers
@pytest.mark.parametrize('steps', [10, 20, 50])
def test_timestep_sigmas_are_the_ddim_steps(steps):
    "DDIM's and DDPM's default noise levels are the schedule's at diffusers' trailing timesteps, then 0."
    sigmas = default_sigmas('ddim', SCHED, steps)
    torch.testing.assert_close(sigma_to_t(sigmas[:-1], SCHED), make_scheduler('ddim', steps).timesteps.double(), rtol=0, atol=1e-6)
    assert sigmas[-1] == 0 and torch.equal(default_sigmas('ddpm', SCHED, steps), sigmas)

# ---- The samplers' inputs and callback (no diffusers needed)

BAD_SIGMAS = [([], 'at least two noise levels'), ([80.], 'at least two noise levels'), (torch.tensor([]), 'at least two'),
              ([1., 2., 0.], 'sigmas must fall strictly'), ([5., 5., 0.], 'sigmas must fall strictly'),
              ([3., -1.], 'sigmas must be non-negative'), (torch.tensor([2., 1., -0.5]), 'non-negative'),
              ([float('nan'), 0.], 'sigmas must be finite'), ([float('inf'), 1., 0.], 'sigmas must be finite'),
              (80., 'sigmas must be a 1-D tensor or list'), ('80, 0', 'sigmas must be a 1-D tensor or list'),
              (None, 'sigmas must be a 1-D tensor or list'), (torch.ones(2, 2), 'got a torch.float32 tensor of shape (2, 2)'),
              ([True, False], 'sigmas must be a 1-D tensor or list'), (['80', 0.], 'sigmas must be a 1-D tensor or list'),
              (torch.tensor(80.), 'shape ()'), (np.array([80., 0.]), 'got ndarray')]

@pytest.mark.parametrize('sampler', sorted(SAMPLERS))
@pytest.mark.parametrize('bad,msg', BAD_SIGMAS, ids=[repr(b)[:30] for b, _ in BAD_SIGMAS])
def test_bad_sigmas_are_refused(sampler, bad, msg):
    with pytest.raises(ValueError) as e: SAMPLERS[sampler](Denoiser(lambda x, t: x, SCHED), torch.zeros(1, 1, 4, 4), bad)
    assert msg in str(e.value)

def test_check_sigmas_accepts():
    assert check_sigmas([80, 1, 0]) == [80., 1., 0.] and check_sigmas((2., 1.)) == [2., 1.]
    assert check_sigmas(torch.tensor([3., 0.5], dtype=torch.float64)) == [3., 0.5]
    assert check_sigmas(karras_sigmas(5, 0.01, 80.)) == karras_sigmas(5, 0.01, 80.).tolist()

@pytest.mark.parametrize('bad,msg', [(dict(sigma_max=1e6), 'sigma_max must be in'), (dict(sigma_max=0.), 'sigma_max must be in'),
                                     (dict(sigma_max='80'), 'sigma_max must be in'), (dict(steps=0), 'steps must be an integer in [1, 1000]'),
                                     (dict(steps=2.5), 'steps must be an integer'), (dict(sampler='rk4'), 'Unknown sampler'),
                                     (dict(sampler='ddim', sigma_max=1e-4), 'sigma_max must be a number of at least'),
                                     (dict(sampler='ddim', sigma_max=0.01, steps=20), 'steps must be an integer in [1, ')])
def test_default_sigmas_refuses(bad, msg):
    kw = dict(dict(sampler='euler', steps=10), **bad)
    with pytest.raises(ValueError) as e: default_sigmas(kw.pop('sampler'), SCHED, kw.pop('steps'), **kw)
    assert msg in str(e.value)

def test_default_sigmas():
    lo, hi = SCHED.sigmas[0].item(), SCHED.sigmas[-1].item()
    for name in ('euler', 'heun', 'dpmpp_2m'):
        assert torch.equal(default_sigmas(name, SCHED, 7), karras_sigmas(7, lo, 80.))
        assert torch.equal(default_sigmas(SAMPLERS[name], SCHED, 7, sigma_max=3.), karras_sigmas(7, lo, 3.))
        assert torch.equal(default_sigmas(name, SCHED, 7, sigma_max=hi), karras_sigmas(7, lo, hi))
    part = timestep_sigmas(SCHED, 5, sigma_max=2.)          # DDIM part-way: the steps at or below sigma = 2
    assert part[0] <= 2 < SCHED.sigmas[(SCHED.sigmas <= 2).sum()] and len(part) == 6 and part[-1] == 0
    assert torch.equal(timestep_sigmas(SCHED, 1000)[:-1], SCHED.sigmas.flip(0))

def test_denoiser_refuses_a_bad_clip_or_schedule():
    for clip in (0, -1.):
        with pytest.raises(ValueError, match='clip must be positive'): Denoiser(lambda x, t: x, SCHED, clip=clip)
    from minidiff.noise import NoiseSchedule
    flat = NoiseSchedule(torch.zeros(10, dtype=torch.float64))
    with pytest.raises(ValueError, match='must increase with t'): Denoiser(lambda x, t: x, flat)

def test_init_noise():
    x = torch.randn(3, 1, 4, 4)
    assert torch.equal(init_noise(x, [80., 0.]), x*math.sqrt(80.**2 + 1))
    with pytest.raises(ValueError, match='sigmas must'): init_noise(x, [])

@pytest.mark.parametrize('sampler', sorted(SAMPLERS))
def test_one_callback_dict(sampler):
    "Every sampler reports the same dict after every step, with the model's fractional step t."
    seen, sigmas = [], default_sigmas(sampler, SCHED, 4)
    D = Denoiser(RandomDenoiser(), SCHED, clip=1.)
    x = SAMPLERS[sampler](D, init_noise(start_noise(2), sigmas), sigmas, callback=seen.append, disable=True,
                          generator=torch.Generator().manual_seed(0))
    assert [d['i'] for d in seen] == [0, 1, 2, 3] and all(set(d) == {'i', 't', 'sigma', 'sigma_next', 'x', 'x0'} for d in seen)
    assert [d['sigma'] for d in seen] == sigmas[:-1].tolist() and [d['sigma_next'] for d in seen] == sigmas[1:].tolist()
    assert all(isinstance(d['t'], float) and abs(d['t'] - sigma_to_t(d['sigma'], SCHED).item()) < 1e-12 for d in seen)
    assert torch.equal(seen[-1]['x'], x) and seen[-1]['x0'].shape == x.shape

@pytest.mark.parametrize('sampler', ['ddim', 'euler', 'heun'])   # not DDPM (fresh noise) nor DPM-Solver++ (a history)
def test_stopping_part_way(sampler):
    "Levels that stop above 0 give the images at that level; running the rest from there ends where one run ends."
    lo = SCHED.sigmas[0].item()
    s = karras_sigmas(6, lo, 80.) if sampler not in ('ddim', 'ddpm') else timestep_sigmas(SCHED, 6)
    D, x = Denoiser(RandomDenoiser(), SCHED, clip=1.), init_noise(start_noise(2), s)
    whole = SAMPLERS[sampler](D, x, s, disable=True)
    half = SAMPLERS[sampler](D, SAMPLERS[sampler](D, x, s[:4], disable=True), s[3:], disable=True)
    torch.testing.assert_close(half, whole, rtol=0, atol=1e-6)

def test_ddpm_fresh_noise_comes_from_the_generator():
    s, D = timestep_sigmas(SCHED, 5), Denoiser(RandomDenoiser(), SCHED, clip=1.)
    run = lambda seed: SAMPLERS['ddpm'](D, init_noise(start_noise(2), s), s, disable=True, generator=torch.Generator().manual_seed(seed))
    assert torch.equal(run(1), run(1)) and not torch.equal(run(1), run(2))

def test_generate_clamps_pixels_only():
    "Pixels are clamped to [-1, 1]; latents (in_ch 4) are not: they have no such range."
    for in_ch in (1, 4):
        m = UNet(UNetConfig(in_ch=in_ch, size=7, chs=(8,), emb_dim=8))   # predicts no noise: returns its (large) input
        x = generate(m, 2, 3, 'euler', seed=0, disable=True, clip=None)
        assert x.shape == (2, in_ch, 7, 7) and (x.abs().max() <= 1) == (in_ch == 1)

def test_generate_takes_a_generator():
    m = RandomDenoiser().unet
    a = generate(m, 3, 4, 'ddpm', seed=7, disable=True, bf16=False)
    assert torch.equal(a, generate(m, 3, 4, 'ddpm', generator=torch.Generator().manual_seed(7), disable=True, bf16=False))
