"""Running exported models: the sampler (model.py), the one runner, ONNX Runtime and OpenVINO
sessions, providers, the graph check, core counting, environment facts."""
