"""sluice_ml: ML code shared by the inference functions and the model tooling (delivered as the
``${prefix}-ml`` layer with ONNX Runtime, numpy and Pillow).

Modules:

* ``preprocess``  an uploaded PNG/JPEG (any size) -> the model's input: 64 float32 on the digits' 0-16 scale
* ``model_store`` where models live in the model bucket, the "current version" pointer, and a per-process
                  cache (memory + /tmp, keyed by version) that makes the warm path free of S3 calls

The layer is used with the shared layer (``preprocess`` checks uploads with ``sluice.predictions.sniff``, the
same signatures the API checks). Importing ``sluice_ml`` itself does no work; import the modules you need.
"""

__version__ = "0.1.0"
