"""TFDS builders of the datasets WCS-Net trains and evaluates on; importing registers them.

| name | module | splits | features |
|---|---|---|---|
| `salicon` | `salicon.py` | train, validation | image, gaze, fixations, image_id |
| `duts` | `duts.py` | train (DUTS-TR), test (DUTS-TE) | image, mask, image_id |
| `sbd` | `sbd.py` | train, validation | image, instances, labels, image_id |
| `davis2016` | `davis2016.py` | train, validation | one sequence: `video.video_features()` |
| `segtrackv2` | `segtrackv2.py` | test | as davis2016 |
| `youtube_objects` | `youtube_objects.py` | test | as davis2016 |

Each reads the user's extracted download from `manual_dir` (its
`MANUAL_DOWNLOAD_INSTRUCTIONS` say which files, from where); `python -m
input_pipeline.build` builds one, and `input_pipeline.synthetic` writes procedural
data in every one of these layouts.

Nothing here may reach the network: TFDS would otherwise look up prepared copies and
metadata of a dataset in its GCS bucket, so that lookup is switched off on import.
"""
from tensorflow_datasets.core.utils import gcs_utils

gcs_utils._is_gcs_disabled = True  # pylint: disable=protected-access

# pylint: disable=g-import-not-at-top,wrong-import-position
from input_pipeline.datasets.davis2016 import Davis2016
from input_pipeline.datasets.duts import Duts
from input_pipeline.datasets.salicon import Salicon
from input_pipeline.datasets.sbd import Sbd
from input_pipeline.datasets.segtrackv2 import Segtrackv2
from input_pipeline.datasets.youtube_objects import YoutubeObjects

BUILDERS = {builder.name: builder
            for builder in (Salicon, Duts, Sbd, Davis2016, Segtrackv2, YoutubeObjects)}
