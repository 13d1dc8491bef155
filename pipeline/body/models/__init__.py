"""Body-model backends behind one interface (:class:`~pipeline.body.models.base.BodyModel`).

``anny`` (embedded default, CC0 assets) and ``smplx`` (SMPL-X / SMPL-H / SMPL through the
``smplx`` package with the user's licensed model files). Import the backends from their modules;
this package stays light so that ``odah --help`` is instant.
"""
