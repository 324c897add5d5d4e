"""Online tracking with a trained WCS-Net: first-frame initialisation, per-frame mask and
hotspot tracking of one or several objects, and the tracker's outputs on disk.

Imports no framework: the networks come from a backend (`backend.load_backend`), and
the JAX one (`jax_backend`) is imported only when chosen.
"""
from wcs_jax.inference.backend import Backend
from wcs_jax.inference.backend import BackendUnavailableError
from wcs_jax.inference.backend import load_backend
from wcs_jax.inference.first_frame import InitialisationError
from wcs_jax.inference.tracker import FrameResult
from wcs_jax.inference.tracker import Tracker
from wcs_jax.inference.tracker import TrackerConfig
