"""Video reframing: a virtual camera that crops a video to another aspect ratio,
following the tracked object's hotspot (the supplementary material's auto zoom)."""
