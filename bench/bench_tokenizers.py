"""Compare the text encoder's two tokenizers (issue 14): the same recipe (`minidiff train clip`) with characters and with
words, measured on MNIST's 10,000 test digits: zero-shot accuracy for training-like and held-out phrasings, and the
attribute check for the training and the held-out synonyms (`clip_report`), plus tokens per caption and training speed.
Run: python bench/bench_tokenizers.py [--chars PATH] [--words PATH] [--pipelines CHARS_JSON WORDS_JSON]
(each recipe is trained first unless its weights file exists: about 3 and 6 minutes on 2 cores). The whole comparison, as run:
  minidiff train clip_chars --out C.pt; minidiff train clip --out W.pt
  minidiff train latent --clip C.pt --out LC.pt; minidiff train latent --clip W.pt --out LW.pt
  python bench/bench_pipeline.py --n 1000 --unet LC.pt --clip C.pt --cold-runs 0 --out pc.json   (and LW.pt, W.pt -> pw.json)
  python bench/bench_tokenizers.py --chars C.pt --words W.pt --pipelines pc.json pw.json
Writes nbs/figures/tokenizers.json (shown in 09_clip)."""
import argparse, json, os, platform, random, subprocess, sys, tempfile
from pathlib import Path
import torch
from minidiff.core import precision_report
from minidiff.clip import load_clip, Captioner, write_caption
from minidiff.lab import clip_report
from minidiff.data import training_digits

p = argparse.ArgumentParser()
p.add_argument('--chars', default=None, help='weights of `minidiff train clip_chars` (default: train them into a temporary folder)')
p.add_argument('--words', default=None, help='weights of `minidiff train clip` (default: train them)')
p.add_argument('--pipelines', nargs=2, default=None, metavar=('CHARS_JSON', 'WORDS_JSON'),
               help='figures of `bench/bench_pipeline.py --unet LATENT --clip CLIP --out JSON` for a latent model trained on each '
                    '(`minidiff train latent --clip CLIP`), added as they are')
p.add_argument('--out', default=str(Path(__file__).parents[1]/'nbs/figures/tokenizers.json'))
a = p.parse_args()

tmp = Path(tempfile.mkdtemp())
x, y = training_digits()
desc = Captioner.fit(x, y).describe(x[:5000], y[:5000])
caps = [write_caption(d, random.Random(i)) for i, d in enumerate(desc)]
res = dict(command='python bench/bench_tokenizers.py ' + ' '.join(sys.argv[1:]),
           machine=f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, CPU kind {precision_report('cpu')['cpu_capability']}, "
                   f"native bf16 {precision_report('cpu')['native_bf16']}")
for kind, recipe, path in (('characters', 'clip_chars', a.chars), ('words', 'clip', a.words)):
    if path is None or not Path(path).exists():
        path = path or str(tmp/f'{recipe}.pt')
        subprocess.run([sys.executable, '-m', 'minidiff.cli', 'train', recipe, '--out', path], check=True)
    m = load_clip(path, device='cpu')
    lens = [m.tokenizer(c).shape[1] for c in caps]
    res[kind] = dict(weights=path, recipe=m.meta['recipe'], wall_seconds=m.meta['wall_seconds'], digits_per_s=m.meta['digits_per_s'],
                     vocab=len(m.tokenizer), tokens_per_caption=round(sum(lens)/len(lens), 1), **clip_report(m))
    print(kind, res[kind], flush=True)
if a.pipelines:
    res['pipeline'] = {kind: json.loads(Path(f).read_text()) for kind, f in zip(('characters', 'words'), a.pipelines)}
Path(a.out).write_text(json.dumps(res, indent=1) + '\n')
