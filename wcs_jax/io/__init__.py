"""File I/O at the edges of the system: videos and frame folders, mask and map PNGs."""
