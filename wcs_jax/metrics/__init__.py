"""Evaluation metrics: DAVIS J and F (`segmentation`), the benchmarks' statistics and
aggregation (`protocols`), hotspot KLD/NSS/CC/SIM (`saliency`), and the datasets' on-disk
layouts with the scoring of a results folder (`benchmarks`)."""
