"The latent pipeline and `minidiff generate PROMPT`, used from outside the notebooks."
import shutil
import subprocess, sys, warnings
import pytest, torch
from minidiff.core import WEIGHTS_DIR
from minidiff.clip import digit_properties
from minidiff.judge import load_judge, predict
from minidiff.pipeline import LatentDiffusionPipeline, PromptWarning

@pytest.fixture(scope='module')
def pipe(): return LatentDiffusionPipeline.from_pretrained(device='cpu')

@pytest.mark.quality
def test_prompts_are_followed(pipe):
    prompts = ['a zero', 'the number 1', 'a handwritten two', 'a picture of the number 3', 'a sketch of a four',
               'an image of a 5', 'the digit six', '7', 'a sketch of an 8', 'a tiny 9']
    x = pipe(prompts, num_images_per_prompt=5, seed=0).images
    assert x.shape == (50, 1, 28, 28) and 0 <= x.min() and x.max() <= 1
    acc = (predict(load_judge(device='cpu'), x*2 - 1) == torch.arange(10).repeat_interleave(5)).float().mean().item()
    assert acc >= 0.9, acc

@pytest.mark.quality
def test_requests_are_followed(pipe):
    prompts = ['draw me a zero please', 'show me a 1', 'i want a two', 'can you make a thick 3', 'a photo of a four',
               'please draw the number 5', 'give me a drawing of a six', 'make a 7 for me', 'a picture of an eight', 'draw a tiny 9']
    acc = (predict(load_judge(device='cpu'), pipe(prompts, num_images_per_prompt=5, seed=0).images*2 - 1) == torch.arange(10).repeat_interleave(5)).float().mean().item()
    assert acc >= 0.9, acc

def said(fn):
    "What `fn()` returns, and the messages of the PromptWarnings it gave."
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        out = fn()
    return out, [str(w.message) for w in ws if issubclass(w.category, PromptWarning)]

def test_unknown_words_are_drawn_with_one_warning_of_each_kind(pipe):
    x, msgs = said(lambda: pipe(['a qxzv seven', 'a seven upside down', 'a sevn', 'the thickest 7'], seed=0).images)
    assert x.shape == (4, 1, 28, 28) and len(msgs) == 2, msgs
    # no known word, English word or n-gram: named; the rest said gently: a misspelling as the word it is read as,
    # English words the model never saw left out, forms of known words read from their letters
    assert "cannot place: ['qxzv']" in msgs[0] and 'drawing anyway' in msgs[0], msgs
    assert "read 'sevn' as 'seven'" in msgs[1] and "read from their letters: ['thickest']" in msgs[1], msgs
    assert "left out words it never learned: ['upside', 'down']" in msgs[1], msgs
    test = lambda ps: pipe(ps, seed=0, num_images_per_prompt=2).images
    assert torch.equal(said(lambda: test(['a seven upside down', 'a lovely tree 3']))[0], test(['a seven', 'a 3']))
    _, msgs = said(lambda: pipe('Draw me a seven, please!', seed=0).images)     # capitals and punctuation are not unknown words
    assert msgs == [], msgs

def test_no_digit_and_only_unknown_words(pipe):
    x, msgs = said(lambda: pipe('a thick one-legged thing', seed=0).images)      # 'one' names a digit
    assert [m for m in msgs if 'names no digit' in m] == []
    x, msgs = said(lambda: pipe('a pretty picture', seed=0).images)               # English words only: no digit named
    assert x.shape == (1, 1, 28, 28) and any('names no digit' in m for m in msgs), msgs
    x, msgs = said(lambda: pipe('the number tree', seed=0).images)                # no digit: the word one edit from one
    assert "read 'tree' as 'three' (the prompt names no other digit)" in msgs[0], msgs
    assert [m for m in msgs if 'names no digit' in m] == []
    x, msgs = said(lambda: pipe('a thick thing', seed=0).images)
    assert x.shape == (1, 1, 28, 28) and any('names no digit' in m for m in msgs), msgs
    x, msgs = said(lambda: pipe('xyzzy qxzv', seed=0).images)                    # only unknown words: both warnings, a digit all the same
    assert x.shape == (1, 1, 28, 28) and len(msgs) == 2 and "['xyzzy', 'qxzv']" in msgs[0] and 'names no digit' in msgs[1], msgs
    with pytest.raises(ValueError, match='never saw'): pipe('xyzzy', check_words=True)
    with pytest.raises(ValueError, match='never saw'): pipe('a sevn', check_words=True)   # strict: misspellings too

@pytest.mark.quality
def test_misspelt_digits_are_drawn(pipe):
    prompts = ['a zeor', 'the number oen', 'a twoo', 'a thre', 'a fuor', 'a fiev', 'the digit sixx', 'a sevne', 'an eihgt', 'a nien']
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', PromptWarning)
        x = pipe(prompts, num_images_per_prompt=5, seed=0).images
    acc = (predict(load_judge(device='cpu'), x*2 - 1) == torch.arange(10).repeat_interleave(5)).float().mean().item()
    assert acc >= 0.8, acc

def test_misspellings_are_read_as_the_words_they_misspell(pipe):
    "A word one edit from one known word is drawn as that word, and said once."
    x, msgs = said(lambda: pipe(['a sevn', 'a thcik eigth', 'the nmuber 4'], 4, seed=0).images)
    assert torch.equal(x, pipe(['a seven', 'a thick eight', 'the number 4'], 4, seed=0).images)
    assert len(msgs) == 1 and "read 'thcik' as 'thick'" in msgs[0] and "read 'nmuber' as 'number'" in msgs[0], msgs

@pytest.mark.parametrize('prompt,same_as,warns', [
    ('sevn thcik', 'seven thick', ["read 'sevn' as 'seven'"]),        # only typos
    ('a 7even', 'a 7', ["left out words it never learned: ['even']"]),   # '7' and 'even': English, never a second word for 7
    ('a 7 \U0001f642\u2728', 'a 7', []),                                  # emoji are not words
    ('seven seven seven seven', None, []),                             # repeated words: one digit named
    ('A SEV\u00c9N', 'a seven', []),                                      # accents dropped, capitals lowered
    ('a ' + 'seven'*30, None, ["as 'seven'"]),                         # one very long word: read from its pieces
])
def test_odd_prompts_are_defined(pipe, prompt, same_as, warns):
    x, msgs = said(lambda: pipe(prompt, 4, num_images_per_prompt=2, seed=0).images)
    assert x.shape == (2, 1, 28, 28) and 0 <= x.min() and x.max() <= 1
    if same_as is not None: assert torch.equal(x, pipe(same_as, 4, num_images_per_prompt=2, seed=0).images)
    for w in warns: assert any(w in m for m in msgs), (prompt, msgs)
    if not warns: assert msgs == [], (prompt, msgs)

def test_long_prompt_is_cut_with_a_warning(pipe):
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        x = pipe('a very thick seven ' * 20, seed=0).images
    assert x.shape == (1, 1, 28, 28) and any('cut to' in str(w.message) for w in ws)

@pytest.mark.quality
def test_thick_has_more_ink_than_thin(pipe):
    ink = lambda p: digit_properties(pipe(p, num_images_per_prompt=20, seed=1).images*2 - 1)['ink']
    assert (ink('a thick three') > ink('a thin three')).float().mean() >= 0.8

def test_seed_latents_negative_and_img2img(pipe):
    a, z = pipe('a 4', num_images_per_prompt=3, seed=7, return_latents=True, return_dict=False)
    assert torch.equal(a, pipe('a 4', num_images_per_prompt=3, seed=7).images) and z.shape == (3, 4, 7, 7)
    assert not torch.equal(a, pipe('a 4', num_images_per_prompt=3, seed=8).images)
    assert pipe('a 4', negative_prompt='a thin four', num_images_per_prompt=3).images.shape == (3, 1, 28, 28)
    img = a[:1, 0]                                                   # [1,28,28] in [0, 1]
    same = pipe('a 9', image=img, strength=0.).images
    assert torch.allclose(same, pipe.vae.decode(pipe.vae.encode(img[None]*2 - 1)).add(1).div(2), atol=1e-4)
    assert pipe('a 9', image=img, strength=0.5, num_images_per_prompt=2).images.shape == (2, 1, 28, 28)

def test_callback_sees_latents_and_digits(pipe):
    seen = []
    pipe('a 2', num_inference_steps=5, callback=seen.append)
    assert [d['i'] for d in seen] == list(range(5))
    assert seen[-1]['x0'].shape == (1, 4, 7, 7) and seen[-1]['image'].shape == (1, 1, 28, 28)

@pytest.mark.parametrize('kw,err,msg', [
    (dict(prompt=''), ValueError, 'empty'), (dict(prompt='   '), ValueError, 'empty'),
    (dict(prompt='a curly seven', check_words=True), ValueError, 'never saw'), (dict(prompt=['a 7', 3]), TypeError, 'expected a string'),
    (dict(prompt='a 7', num_images_per_prompt=0), ValueError, 'at least 1'), (dict(prompt='a 7', num_images_per_prompt=1.5), ValueError, 'integer'),
    (dict(prompt='a 7', num_inference_steps=0), ValueError, 'steps'), (dict(prompt='a 7', num_inference_steps=2.0), ValueError, 'steps'),
    (dict(prompt='a 7', guidance_scale=float('nan')), ValueError, 'guidance'), (dict(prompt='a 7', sampler='plms'), ValueError, 'Unknown sampler'),
    (dict(prompt='a 7', image=torch.rand(1, 28, 28), strength=-0.1), ValueError, 'strength'),
    (dict(prompt='a 7', image=torch.rand(1, 28, 28), strength=1.01), ValueError, 'strength'),
    (dict(prompt='a 7', image=torch.rand(3, 1, 28, 28)), ValueError, 'expected 1 digit or 1'),
    (dict(prompt='a 7', image=torch.rand(1, 32, 32)), ValueError, 'expected shape'),
    (dict(prompt='a 7', batch_size=0), ValueError, 'batch_size'), (dict(prompt='a 7', num_images_per_prompt=-1), ValueError, 'at least 1'),
    (dict(prompt='a 7', negative_prompt=['a 1', 'a 2']), ValueError, 'one or 1'),
    (dict(prompt='a 7', output_type='jpeg'), ValueError, 'output_type'), (dict(prompt='a 7', generator='seed'), TypeError, 'Generator'),
    (dict(prompt='a 7', guidance_interval=(5, 1)), ValueError, 'above'), (dict(prompt='a 7', guidance_interval=2), ValueError, 'sigma_lo'),
    (dict(prompt='a 7', guidance_interval=(0, float('inf'))), ValueError, 'guidance_interval'),
])
def test_bad_input(pipe, kw, err, msg):
    with pytest.raises(err, match=msg): pipe(**kw)

def test_outputs_as_diffusers_gives_them(pipe):
    "A `PipelineOutput` with `.images` (and `.latents` when asked), a tuple with `return_dict=False`, three output types."
    out = pipe('a 5', num_images_per_prompt=2, seed=3, return_latents=True)
    assert out.images.shape == (2, 1, 28, 28) and out.latents.shape == (2, 4, 7, 7)
    assert pipe('a 5', num_images_per_prompt=2, seed=3).latents is None
    (x,) = pipe('a 5', num_images_per_prompt=2, seed=3, return_dict=False)
    assert torch.equal(x, out.images)
    a = pipe('a 5', num_images_per_prompt=2, seed=3, output_type='np').images
    assert a.shape == (2, 28, 28, 1) and abs(a - out.images.permute(0, 2, 3, 1).numpy()).max() == 0
    ims = pipe('a 5', num_images_per_prompt=2, seed=3, output_type='pil').images
    assert len(ims) == 2 and ims[0].size == (28, 28) and ims[0].mode == 'L'

def test_generator_and_seed(pipe):
    "`seed=s` is `generator=torch.Generator().manual_seed(s)`: the starting noise is drawn on the CPU, the same everywhere."
    a = pipe('a 6', num_images_per_prompt=2, seed=11).images
    b = pipe('a 6', num_images_per_prompt=2, generator=torch.Generator().manual_seed(11), seed=None).images
    assert torch.equal(a, b)
    with pytest.raises(TypeError, match='torch.Generator'): pipe('a 6', generator=11)
    with pytest.raises(ValueError, match='output_type'): pipe('a 6', output_type='jpeg')
    with pytest.raises(ValueError, match='seed'): pipe('a 6', seed='zero')

def test_from_pretrained_folder(pipe, tmp_path):
    "A folder holding the three weight files loads as the shipped pipeline; one missing is named."
    for name in ('latent.pt', 'autoencoder.pt', 'clip.pt'): shutil.copy(WEIGHTS_DIR/name, tmp_path/name)
    other = LatentDiffusionPipeline.from_pretrained(tmp_path, device='cpu')
    assert torch.equal(other('a 2', seed=0).images, pipe('a 2', seed=0).images)
    (tmp_path/'clip.pt').unlink()
    with pytest.raises(FileNotFoundError, match='has no clip.pt'): LatentDiffusionPipeline.from_pretrained(tmp_path, device='cpu')

def test_to_device(pipe):
    "`.to` returns the pipeline, on the device asked; a device the machine lacks is a clear error."
    assert pipe.to('cpu') is pipe and pipe.device == torch.device('cpu')
    with pytest.raises(ValueError, match='device'): pipe.to('tpu')

def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, '-c', 'from minidiff.cli import main; main()', *args], capture_output=True, text=True, timeout=600, cwd=cwd)

def test_cli_generate_prompt(tmp_path):
    r = run_cli('generate', 'a thick seven', '--n', '16', '--steps', '20', '--guidance', '4', '--seed', '0', '-o', str(tmp_path/'seven.pt'))
    assert r.returncode == 0, r.stderr
    x = torch.load(tmp_path/'seven.pt', weights_only=True)
    assert x.shape == (16, 1, 28, 28) and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
    assert (predict(load_judge(device='cpu'), x*2 - 1) == 7).float().mean() >= 0.9
    r = run_cli('generate', 'a thick seven', '--n', '16', '--seed', '0', '-o', str(tmp_path/'seven.png'))
    assert r.returncode == 0 and (tmp_path/'seven.png').read_bytes()[:4] == b'\x89PNG'

@pytest.mark.parametrize('args,msg', [(['', '--n', '2'], 'empty'), (['a curly seven', '--strict'], 'never saw'),
                                      (['a 7', '--n', '-1'], 'n must be a positive integer'), (['a 7', '--n', 'two'], 'invalid int'),
                                      (['a 7', '--steps', '0'], 'steps must be a positive integer'), (['a 7', '--digit', '7'], 'not both'),
                                      (['a 7', '--model', 'fewstep', '--steps', '20'], '1 to 8'),
                                      (['a 7', '--model', 'fewstep', '--negative', 'a 1'], '20-step model'),
                                      (['a 7', '--model', 'fewstep', '--guidance', '5'], '1 to 3'),
                                      (['a 7', '--model', 'fewstep', '--sampler', 'euler'], "'fewstep'"),
                                      (['a 7', '--sampler', 'fewstep'], "unet='fewstep'"),
                                      (['a 7', '--model', 'judge'], 'minidiff train fewstep')])
def test_cli_generate_bad_input_leaves_no_file(tmp_path, args, msg):
    r = run_cli('generate', *args, '-o', str(tmp_path/'out.png'))
    assert r.returncode == 2 and msg in r.stderr and 'Traceback' not in r.stderr, r.stderr
    assert list(tmp_path.iterdir()) == []

def test_weights_name_only_minidiff_loaders(tmp_path):
    "A weights file's config may name the loader of a later chapter's network, never code outside minidiff."
    from minidiff.core import load_weights
    from minidiff.pipeline import load_unet
    from minidiff.fewstep import FewStepUNet
    assert type(load_unet('latent', 'cpu')).__name__ == 'TextUNet' and isinstance(load_unet('fewstep', 'cpu'), FewStepUNet)
    obj = load_weights('fewstep')
    obj['config']['loader'] = 'os.system'
    torch.save(obj, tmp_path/'bad.pt')
    with pytest.raises(ValueError, match="not minidiff's"): LatentDiffusionPipeline.from_pretrained(unet=str(tmp_path/'bad.pt'))

def test_cli_generate_fewstep(tmp_path):
    "The few-step student draws from the command line in 4 steps unless told, and says so."
    r = run_cli('generate', 'a thick seven', '--model', 'fewstep', '--n', '16', '-o', str(tmp_path/'seven.pt'))
    assert r.returncode == 0 and '4 steps of the few-step student' in r.stderr, r.stderr
    x = torch.load(tmp_path/'seven.pt', weights_only=True)
    assert x.shape == (16, 1, 28, 28) and (predict(load_judge(device='cpu'), x*2 - 1) == 7).float().mean() >= 0.9
    r = run_cli('generate', 'a 3', '--model', 'fewstep', '--steps', '1', '--n', '2', '-o', str(tmp_path/'three.pt'))
    assert r.returncode == 0 and '1 steps' not in r.stderr and torch.load(tmp_path/'three.pt', weights_only=True).shape == (2, 1, 28, 28)

def test_cli_warns_and_draws(tmp_path):
    r = run_cli('generate', 'draw a curly seven', '--n', '2', '-o', str(tmp_path/'out.pt'))
    assert r.returncode == 0 and "minidiff: warning:" in r.stderr and "['curly']" in r.stderr and 'Traceback' not in r.stderr, r.stderr
    assert torch.load(tmp_path/'out.pt', weights_only=True).shape == (2, 1, 28, 28)

def test_cli_unwritable_output(tmp_path):
    r = run_cli('generate', 'a 7', '-o', str(tmp_path/'missing'/'out.png'))
    assert r.returncode == 2 and 'not a writable folder' in r.stderr

def test_shipped_weights_fit_in_20_mb():
    # issue 7: the course's models within 20 MB; issue 25's few-step student (fewstep.pt, float16) comes on top
    course = sum(f.stat().st_size for f in WEIGHTS_DIR.glob('*.pt') if f.name != 'fewstep.pt')
    assert course <= 20e6, course
    assert (WEIGHTS_DIR/'fewstep.pt').stat().st_size <= 5.5e6
