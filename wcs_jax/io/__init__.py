"""File I/O at the edges of the system: videos and frame folders, mask and map PNGs, the
checked folders of a dataset download, a training run's directory."""
