"""Multi-altitude data: scene format, synthetic scene renderer, COLMAP import, dataset.

Modules (import them directly; this package imports nothing heavy):

* `scene_format`: the on-disk scene format (docs/dataset_format.md) reader / writer;
* `cameras`: camera models (pinhole, orthographic, satellite tile camera, aerial helix rig);
* `procedural_scene`, `raycast_renderer`, `shading`: procedural towns and their exact
  ray-cast rendering; `synthetic`: camera placement and `make-synthetic`;
* `orthophoto`: true orthophoto GeoTIFF of a synthetic scene; `preview`: contact sheets;
* `colmap`: COLMAP sparse model / depth map reader and converter;
* `transforms`, `dataset`, `samplers`: resize / normalisation, the PyTorch dataset, and the
  P-VS / CA-CS curricula; `consistency`: depth / pose reprojection checks.
"""
