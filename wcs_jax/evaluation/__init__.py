"""Evaluation: the paper's tables, and the held-out check of a training run.

| module | what |
|---|---|
| `segmentation` | region similarity J and contour accuracy F of one frame (DAVIS) |
| `saliency` | hotspot metrics KLD, NSS, CC, SIM of one map (MIT saliency benchmark) |
| `protocols` | per-sequence Mean / Recall / Decay, each benchmark's aggregation |
| `dense_crf` | optional dense-CRF refinement of a predicted mask (the paper's "Ours*") |
| `layouts` | DAVIS-2016, SegTrackv2, YouTube-Objects on disk: sequences, frames, ground truth, splits |
| `scoring` | a results folder against a benchmark (J, F); hotspot maps (KLD, NSS, CC, SIM) |
| `tracking` | a run's tracker on every sequence of a benchmark, into a results folder |
| `reports` | OUT.json, OUT.csv, OUT.png and the paper's tables |
| `pairs` | mask IoU and hotspot hit of a WCS-Net on held-out template/search pairs |

`tools/evaluate.py` is the command line over `layouts`, `scoring`, `tracking` and
`reports`; `python -m wcs_jax.evaluation.pairs --workdir RUN` runs `pairs`. The TFDS
builders of the three video datasets read their downloads through `layouts`, which
imports neither TensorFlow nor JAX; nothing is imported here, so importing `layouts`
loads nothing else.
"""
