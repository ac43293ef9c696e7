"""Bullets: land-engraved areas (LEAs) from raw 3D scans to a bullet-to-bullet decision.

The flow, one function per step::

    X3P file of one land   --ballistics.io.read_surface-->   Surface (µm)
    Surface                --prepare_land-->                 PreparedLand
        orientation (striae upright, heel at the bottom), striae inclination removed,
        stable cross-section above the heel (Hare et al. 2017), both groove shoulders,
        signature = curvature removed + Gaussian band-pass, striae (peaks and valleys)
    folder / list of land files --read_bullet-->             PreparedBullet (lands in order)
    PreparedLand x 2       --compare_lands-->                LandComparison (score = the land
                                                             model's probability over the
                                                             striation features at the best lag)
    PreparedBullet x 2     --compare_bullets-->              BulletComparison (best cyclic phase,
                                                             score, margin, lead, land scores)
    land_descriptor / bullet_descriptor                      float32 retrieval vectors

Public API
----------
``BulletConfig``, ``DEFAULT_BULLET_CONFIG``
    Options, with the units in their names; the defaults are the calibrated operating point.
``prepare_land(surface, *, config) -> PreparedLand``
    One raw land scan to its signature (raises :class:`~ballistics.errors.EvidenceError`
    naming the file for a scan without a usable land).
``read_bullet(path_or_paths, *, config) -> PreparedBullet``
    A folder of one X3P per land (natural sort of the names), one land file, or a list of
    files; one clear error for an empty folder, an unreadable file, or mixed resolutions.
``prepare_bullet(surfaces, *, names, source, config) -> PreparedBullet``
    The same for land scans already read (an upload's files).
``compare_lands(a, b, *, config) -> LandComparison``
    Signatures resampled to one spacing (:mod:`ballistics.bullet.features`: cross-correlation,
    rough correlation, matching and consecutive matching striae, D and its spread, sum of
    peaks, congruent matching profile segments), scored by a random forest
    (:mod:`ballistics.bullet.model`, ``LAND_MODEL_VERSION``) fitted on synthetic bullets only.
``compare_bullets(a, b, *, config) -> BulletComparison``
    ``lead`` at ``config.lead_threshold``, fitted on synthetic bullets only (see
    :func:`compare_bullets`); the scores on the real Hamby sets, never fitted on, are in the
    README's "Bullet results".
``land_descriptor(land)``, ``bullet_descriptor(lands)``, ``BULLET_DESCRIPTOR_VERSION``
    Fixed-length float32 vectors (L2 norm 1) for the bullet partition of the index: shift
    tolerant per land, independent of the land order per bullet.

Class features: ``PreparedBullet.land_count``, ``PreparedBullet.land_width_um``,
``PreparedBullet.twist`` (None: not measurable from land scans aligned with the striae).
Two signatures drawn aligned: :func:`ballistics.bullet.overlay.signature_overlay_png`.

May import: the standard library, numpy, scipy, OpenCV, scikit-learn, and of this package
``surface``, ``errors``, ``io``, the generic picture blocks (``render``, ``text``) and the shared
filters of :mod:`ballistics.casing.filters`; never ``api`` or ``indexer``.

References
----------
.. [1] E. Hare, H. Hofmann and A. Carriquiry, "Automatic matching of bullet land impressions",
   Annals of Applied Statistics 11(4), 2017, pp. 2332-2356.
.. [2] W. Chu, J. Song, T. Vorburger, R. Thompson and R. Silver, "Automatic identification of
   bullet signatures based on consecutive matching striae (CMS) criteria", Forensic Science
   International 231, 2013, pp. 137-141.
.. [3] S. Vanderplas, M. Nally, T. Klep, C. Cadevall and H. Hofmann, "Comparison of three
   similarity scores for bullet LEA matching", Forensic Science International 308, 2020, 110167.
.. [4] W. Chen, J. Chu, R. Thompson, J. Song and X. Zhao, "A statistical method for bullet
   signature matching with congruent matching profile segments (CMPS)", Forensic Science
   International 305, 2019, 110000.
"""

from __future__ import annotations

from ballistics.bullet.bullets import prepare_bullet, read_bullet
from ballistics.bullet.compare import (
    BulletComparison,
    LandComparison,
    PreparedBullet,
    compare_bullets,
    compare_lands,
)
from ballistics.bullet.config import DEFAULT_BULLET_CONFIG, BulletConfig
from ballistics.bullet.descriptors import (
    BULLET_DESCRIPTOR_VERSION,
    DESCRIPTOR_SIZE,
    bullet_descriptor,
    land_descriptor,
)
from ballistics.bullet.features import FEATURE_NAMES, LandFeatures
from ballistics.bullet.land import PreparedLand, prepare_land
from ballistics.bullet.model import LAND_MODEL_VERSION

__all__ = [
    "BULLET_DESCRIPTOR_VERSION",
    "DEFAULT_BULLET_CONFIG",
    "DESCRIPTOR_SIZE",
    "FEATURE_NAMES",
    "LAND_MODEL_VERSION",
    "BulletComparison",
    "BulletConfig",
    "LandComparison",
    "LandFeatures",
    "PreparedBullet",
    "PreparedLand",
    "bullet_descriptor",
    "compare_bullets",
    "compare_lands",
    "land_descriptor",
    "prepare_bullet",
    "prepare_land",
    "read_bullet",
]
