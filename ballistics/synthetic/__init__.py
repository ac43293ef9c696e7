"""Synthetic cartridge cases with known ground truth: firearm, ammunition, rotation and shift.

Pistols (:class:`Firearm`) carry class, subclass (shared by a production run of consecutively
made slides) and individual breech-face and firing-pin marks; brands (:class:`Ammunition`)
carry a headstamp, a case-head finish and a primer cup class texture. :func:`fire` transfers a
pistol's marks to one primer with random quality and lays the case under the scanner at a random
rotation and shift; :func:`render_topography`, :func:`render_photograph` and
:func:`render_processed_topography` turn it into a :class:`~ballistics.surface.Surface`.

May import: the standard library, numpy, scipy, OpenCV, and of this package ``surface`` and
``io``; never ``casing`` or ``bullet`` (test data must not be made by the method it tests),
``api`` or ``indexer``.

Example
-------
>>> from ballistics.synthetic import fire, make_ammunition, make_firearm, render_topography
>>> pistol = make_firearm("P01", seed=1)
>>> case = fire(pistol, make_ammunition("WIN"), seed=1)
>>> render_topography(case).shape
(700, 700)
"""

from ballistics.synthetic.ammunition import (
    CALIBERS,
    STANDARD_BRANDS,
    Ammunition,
    make_ammunition,
)
from ballistics.synthetic.bullets import (
    SYNTHETIC_BULLETS_VERSION,
    BarrelMake,
    BulletAmmunition,
    PlannedBullet,
    ScanSettings,
    SyntheticBullet,
    fire_bullet,
    fire_planned,
    make_barrel,
    make_barrel_make,
    make_bullet_set,
    write_bullet,
)
from ballistics.synthetic.dataset import (
    PAIR_RELATIONS,
    CasingExhibit,
    known_pairs,
    make_casing_dataset,
    pair_relation,
    render_surface,
    write_exhibit_files,
)
from ballistics.synthetic.firearms import (
    BREECH_FACE_PATTERNS,
    FIRING_PIN_SHAPES,
    Firearm,
    firearm_marks,
    make_consecutive_firearms,
    make_firearm,
)
from ballistics.synthetic.firing import (
    FiredCasing,
    fire,
    head_heights,
    primer_heights,
    relative_pose,
    rotation_matrix,
)
from ballistics.synthetic.render import (
    DEFAULT_FIELD_OF_VIEW_UM,
    DEFAULT_PIXEL_UM,
    PROCESSED_BANDPASS_UM,
    PROCESSED_PIXEL_UM,
    ScanGeometry,
    clean_heights,
    render_photograph,
    render_processed_topography,
    render_topography,
    scan_geometry,
)

__all__ = [
    "BREECH_FACE_PATTERNS",
    "CALIBERS",
    "DEFAULT_FIELD_OF_VIEW_UM",
    "DEFAULT_PIXEL_UM",
    "FIRING_PIN_SHAPES",
    "PAIR_RELATIONS",
    "PROCESSED_BANDPASS_UM",
    "PROCESSED_PIXEL_UM",
    "STANDARD_BRANDS",
    "SYNTHETIC_BULLETS_VERSION",
    "Ammunition",
    "BarrelMake",
    "BulletAmmunition",
    "CasingExhibit",
    "Firearm",
    "FiredCasing",
    "PlannedBullet",
    "ScanGeometry",
    "ScanSettings",
    "SyntheticBullet",
    "clean_heights",
    "fire",
    "fire_bullet",
    "fire_planned",
    "firearm_marks",
    "head_heights",
    "known_pairs",
    "make_ammunition",
    "make_barrel",
    "make_barrel_make",
    "make_bullet_set",
    "make_casing_dataset",
    "make_consecutive_firearms",
    "make_firearm",
    "pair_relation",
    "primer_heights",
    "relative_pose",
    "render_photograph",
    "render_processed_topography",
    "render_surface",
    "render_topography",
    "rotation_matrix",
    "scan_geometry",
    "write_bullet",
    "write_exhibit_files",
]
