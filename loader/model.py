"""The neuron model shared with the design document.

The model lives in designdocs/network/lib/neuron.py so that the `evaluate`
list function can `require` it inside CouchDB; the loader imports that same
file, so both give the same numbers.
"""

import importlib.util
from pathlib import Path

DESIGNDOCS = Path(__file__).resolve().parent.parent / "designdocs"
MODEL_PATH = DESIGNDOCS / "network" / "lib" / "neuron.py"


def load_model_module():
    spec = importlib.util.spec_from_file_location("couchnet_neuron", MODEL_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


neuron = load_model_module()
ModelError = neuron.ModelError
