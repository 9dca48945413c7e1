"""The few-step student (issue 25) against its teacher, judged by the course's classifier at N digits per prompt kind:

- plain prompts ("a seven", "7", "the number seven"), N/10 of each digit, and attribute prompts (09's training grammar:
  captions of N random test digits, "a thick seven leaning right", ...): right digit and FID against the floor at N;
- the teacher (the shipped latent model, DPM-Solver++ with the pipeline's guidance) at 5, 10 and 20 steps, the student
  at 1, 2, 4 and 8: the same prompts and seeds for both, each with its model evaluations (a guided step costs two);
- the warm pipeline's time for 16 digits ("a thick seven"), teacher at 20 steps and student at each step count, three
  rounds in turn (medians of nine calls each, the middle round kept).

With --one-step: the simplest student instead (`train_fewstep(levels=(0,))`, the shipped recipe's steps otherwise: it
jumps from the noise only), trained here and judged at one step on the same prompts; its figures and first digits go in
the same file under 'one_step', the rest of the file kept.

Run: python bench/bench_fewstep.py [--n 2000] [--student PATH] [--one-step] (on an otherwise idle machine). Writes
nbs/figures/fewstep.json unless --out says otherwise."""
import argparse, base64, json, sys, time
from dataclasses import replace
from pathlib import Path
import torch
from minidiff.core import cpu_kind
from minidiff.clip import DIGIT_WORDS, fix_articles
from minidiff.judge import load_judge, predict, fid, fid_floor
from minidiff.pipeline import LatentDiffusionPipeline, GUIDANCE, GUIDANCE_INTERVAL
from minidiff.samplers import default_sigmas
from minidiff.lab import adherence_prompts, _batched, time_pipeline
from minidiff.fewstep import train_fewstep, FEWSTEP_FIT
from minidiff.autoencoder import load_autoencoder
from minidiff.clip import load_clip

PLAIN = ('a {w}', '{n}', 'the number {w}')

def teacher_evals(pipe, steps:int)->int:
    "Model evaluations of the teacher's `steps` steps: two for a step inside the guidance interval."
    lo, hi = GUIDANCE_INTERVAL
    s = default_sigmas('dpmpp_2m', pipe.sched, steps)[:-1]
    return steps + int(((s >= lo) & (s <= hi)).sum())

def prompt_kinds(n:int, clip)->dict:
    "The two prompt kinds: plain prompts (N/10 of each digit) and captions of N test digits, each with its labels."
    ds = [i % 10 for i in range(n)]
    plain = [fix_articles(PLAIN[(i // 10) % 3].format(w=DIGIT_WORDS[d], n=d)) for i, d in enumerate(ds)]
    caps, cd = adherence_prompts(n, False, 0, clip)
    return dict(plain=(plain, torch.tensor(ds)), attributes=(caps, cd))

def judged(pipe, kinds:dict, judge, floor:float, steps:int, **row)->dict:
    "One row: right digit and FID against the floor for each prompt kind, digits drawn in `steps` steps (seed 0)."
    row = dict(row, steps=steps)
    for kind, (ps, labels) in kinds.items():
        x = _batched(pipe, ps, seed=0, num_inference_steps=steps)*2 - 1
        row[kind] = dict(accuracy=round((predict(judge, x) == labels).float().mean().item(), 4),
                         fid_ratio=round(fid(judge, x)/floor, 3))
        row.setdefault('_first', x[:16])
    return row

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--n', type=int, default=2000)
    p.add_argument('--student', default='fewstep', help='the student: a weights file (default: the shipped one)')
    p.add_argument('--one-step', action='store_true', help='train and judge the simplest student (from the noise only)')
    p.add_argument('--out', default=str(Path(__file__).parents[1]/'nbs/figures/fewstep.json'))
    a = p.parse_args()
    if a.one_step: return one_step(a)
    teacher = LatentDiffusionPipeline.from_pretrained(device='cpu')
    student = LatentDiffusionPipeline.from_pretrained(unet=a.student, device='cpu')
    judge, n = load_judge(), a.n
    floor = fid_floor(judge, n)
    kinds = prompt_kinds(n, teacher.clip)
    res = dict(command='python bench/bench_fewstep.py ' + ' '.join(sys.argv[1:]), machine=cpu_kind(),
               threads=torch.get_num_threads(), n=n, guidance=GUIDANCE, floor=round(floor, 3),
               student_record={k: student.weights.meta.get(k)
                               for k in ('recipe', 'wall_seconds', 'teacher_seconds', 'machine')},
               rows=[])
    t0 = time.time()
    runs = [(teacher, 'teacher', s) for s in (20, 10, 5)] + [(student, 'student', s) for s in (1, 2, 4, 8)]
    for pipe, who, steps in runs:
        evals = teacher_evals(teacher, steps) if who == 'teacher' else steps
        row = judged(pipe, kinds, judge, floor, steps, model=who, evals=evals)
        del row['_first']
        res['rows'].append(row); print(row, flush=True)
    best = next(r for r in res['rows'] if r['model'] == 'teacher' and r['steps'] == 20)
    res['fid_vs_teacher_20'] = {f"student_{r['steps']}": {k: round(r[k]['fid_ratio']/best[k]['fid_ratio'], 3)
                                                         for k in kinds}
                                for r in res['rows'] if r['model'] == 'student'}
    print('FID against the teacher at 20 steps:', res['fid_vs_teacher_20'], flush=True)
    timed = lambda pipe, s: round(time_pipeline(pipe, 'a thick seven', 16, s), 4)
    rounds = [dict(teacher_20=timed(teacher, 20), **{f'student_{s}': timed(student, s) for s in (1, 2, 4, 8)})
              for _ in range(3)]
    res['seconds_16_digits'] = {k: sorted(r[k] for r in rounds)[1] for k in rounds[0]}
    t = res['seconds_16_digits']
    t['student_4_over_teacher_20'] = round(t['student_4']/t['teacher_20'], 3)
    print('time', res['seconds_16_digits'], flush=True)
    res['wall_s'] = round(time.time() - t0)
    old = json.loads(Path(a.out).read_text()) if Path(a.out).exists() else {}
    if 'one_step' in old: res['one_step'] = old['one_step']   # measured by --one-step: kept
    Path(a.out).write_text(json.dumps(res, indent=1) + '\n')
    print('wrote', a.out)

def one_step(a):
    "The simplest student: the shipped recipe with levels=(0,), judged at one step as `main` judges the student."
    ae, clip = load_autoencoder(device='cpu'), load_clip(device='cpu')
    t0 = time.time()
    # as many steps as the shipped recipe: its data has five rows a prompt, this one the first of them
    fcfg = replace(FEWSTEP_FIT, epochs=FEWSTEP_FIT.epochs*5)
    model, hist = train_fewstep(fcfg=fcfg, clip=clip, levels=(0,), device='cpu')
    seconds = round(time.time() - t0)
    pipe = LatentDiffusionPipeline(model, ae, clip, device='cpu')
    judge, n = load_judge(), a.n
    row = judged(pipe, prompt_kinds(n, clip), judge, fid_floor(judge, n), 1, model='one-step student', evals=1,
                 train_seconds=seconds, teacher_seconds=hist['teacher_seconds'])
    # the first 16 plain digits, a byte a pixel
    pixels = ((row.pop('_first') + 1)*127.5).round().clamp(0, 255).to(torch.uint8)
    row['digits'] = base64.b64encode(pixels.numpy().tobytes()).decode()
    print({k: v for k, v in row.items() if k != 'digits'}, flush=True)
    res = json.loads(Path(a.out).read_text()) if Path(a.out).exists() else {}
    res['one_step'] = dict(command='python bench/bench_fewstep.py ' + ' '.join(sys.argv[1:]), machine=cpu_kind(), n=n,
                           **row)
    Path(a.out).write_text(json.dumps(res, indent=1) + '\n')
    print('wrote', a.out)

if __name__ == '__main__': main()
