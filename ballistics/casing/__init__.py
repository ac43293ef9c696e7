"""Cartridge cases: region of interest, levelling, band-pass, registration, CMC.

From a :class:`~ballistics.surface.Surface` to a :class:`~ballistics.casing.marks.PreparedCasing`
(``roi`` with its steps ``roi_config``, ``roi_geometry``, ``roi_rings``, ``roi_craters``;
``filters``, ``prepare``), two prepared casings to a scored comparison (``registration``,
``cmc``, ``compare``), and the examiner's pictures of them (``preview``, ``overlay``).

May import: the standard library, numpy, scipy, OpenCV, and of this package ``surface``,
``errors``, ``io`` and the generic picture blocks (``render``, ``text``); never ``bullet``,
``api`` or ``indexer``.
"""
