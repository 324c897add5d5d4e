"""Training: the trainer loop, pure update steps, losses, checkpoints and metrics."""
