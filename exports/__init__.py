"""exports: PyTorch generators to ONNX, with a parity proof and the ganedge contract embedded."""

from exports.checkpoint import export_checkpoint
from exports.onnx import ExportResult, export_generator
from exports.parity import ParityReport, check_parity

__all__ = ["ExportResult", "ParityReport", "check_parity", "export_checkpoint", "export_generator"]
