"""Computational complexity: multiply-accumulates (MACs) and parameters (Section 3, Fig. 2C).

The paper compares CordsNet-R2…R8, simulated for the 300 Euler steps of its training protocol
(eq. 4), with the classification models of ``torchvision.models`` in a plot of MACs against
parameter counts (Fig. 2C): CordsNet-R8 has about as many parameters as ResNet-18, yet even
CordsNet-R2 needs more MACs to simulate than ViT-H/14 needs for one image.

What counts as a MAC
--------------------
One multiply-accumulate is one product added to a running sum, as in a dot product. We count
the MACs of

- convolutions (any groups, stride, dilation, padding, transposed): for each output element,
  ``C_in / groups · prod(kernel)`` MACs;
- matrix products (``mm``, ``addmm``, ``bmm``, ``baddbmm``, ``matmul``, ``linear``, ``einsum``
  contractions, which PyTorch lowers to these): ``m · k · n`` for an ``(m, k) @ (k, n)`` product;
- scaled dot-product attention (``torch.nn.MultiheadAttention``, ViT, Swin, MaxViT): the two
  products ``Q Kᵀ`` and ``softmax(·) V``.

Element-wise work is **not** counted: bias additions, activations, normalisation (BatchNorm,
LayerNorm, weight normalisation of the weights), pooling, softmax, residual sums and the Euler
update ``r ← (1 − α) r + α σ(·)``. This is the convention of torchvision's own operation counts
(the ``_ops`` field of its weights' metadata, which are GMACs although torchvision labels the
column "GFLOPS": ResNet-18's 1.814 is its 1.814 G multiply-accumulates) and of the MAC counts
usually quoted for CNNs. One MAC is two floating-point operations (FLOPs).

Counting runs on the ``meta`` device: modules and inputs are replaced by tensors that carry
shapes and dtypes but no data, so no weight is materialised and no arithmetic is done; a
ViT-H/14 is counted in a fraction of a second. The per-operator formulas are those of
:class:`torch.utils.flop_counter.FlopCounterMode`, which counts FLOPs = 2 × MACs; we halve them.

Modules: :mod:`~cordsneuro.analyses.complexity.counter` (the meta-device counter),
:mod:`~cordsneuro.analyses.complexity.torchvision_models` (torchvision adapter),
:mod:`~cordsneuro.analyses.complexity.cordsnet_count` (CordsNet, from the wiring table) and
:mod:`~cordsneuro.analyses.complexity.table` (rows, CSV, agreement with torchvision).
"""

from cordsneuro.analyses.complexity.cordsnet_count import (
    PAPER_STEPS,
    CordsNetLayer,
    cordsnet_complexity,
    cordsnet_layers,
    cordsnet_parameter_count,
    count_cordsnet,
)
from cordsneuro.analyses.complexity.counter import (
    MacCount,
    ModelComplexity,
    count_macs,
    count_parameters,
)
from cordsneuro.analyses.complexity.table import (
    Agreement,
    agreement,
    complexity_table,
    format_table,
    write_csv,
)
from cordsneuro.analyses.complexity.torchvision_models import (
    TorchvisionWeights,
    build_torchvision_model,
    torchvision_complexity,
    torchvision_models,
    torchvision_weights,
)

__all__ = [
    "PAPER_STEPS",
    "Agreement",
    "CordsNetLayer",
    "MacCount",
    "ModelComplexity",
    "TorchvisionWeights",
    "agreement",
    "build_torchvision_model",
    "complexity_table",
    "cordsnet_complexity",
    "cordsnet_layers",
    "cordsnet_parameter_count",
    "count_cordsnet",
    "count_macs",
    "count_parameters",
    "format_table",
    "torchvision_complexity",
    "torchvision_models",
    "torchvision_weights",
    "write_csv",
]
