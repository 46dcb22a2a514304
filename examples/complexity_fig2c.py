"""Fig. 2C: multiply-accumulates (MACs) against parameters of every classification model in
torchvision.models and of CordsNet-R2…R8 simulated for 300 Euler steps (Section 3).

    python examples/complexity_fig2c.py [--steps 300] [--image-size 224] [--out figures/]

Counts run on the meta device (no weights, no arithmetic): about a minute on 2 CPU cores.
Writes ``complexity_fig2c.png`` and ``complexity_fig2c.csv`` into ``--out`` and prints the
table, the agreement with torchvision's recorded operation counts, the paper's statements and
the per-layer breakdown of one CordsNet.
"""

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from cordsneuro.analyses.complexity import (
    Agreement,
    ModelComplexity,
    agreement,
    build_torchvision_model,
    complexity_table,
    cordsnet_complexity,
    cordsnet_layers,
    count_macs,
    format_table,
    torchvision_complexity,
    write_csv,
)
from cordsneuro.plotting import plot_complexity


@dataclass(frozen=True)
class Fig2CSummary:
    """The numbers behind Fig. 2C's statements (Section 3), from a table of rows.

    Attributes
    ----------
    torchvision : Agreement
        Our counts of the torchvision rows against torchvision's recorded ones.
    resnet18_params, cordsnet_r8_params : int
        "CordsNet-R8 has approximately the same number of parameters as ResNet-18".
    vit_h_14_macs : int
        ViT-H/14 at 224² (its ``IMAGENET1K_SWAG_LINEAR_V1`` weights' input size).
    r2_fast_macs, r2_published_macs : int
        CordsNet-R2 over ``steps`` steps at ``image_size``² on our fast path and as the
        published code computes it. The paper's claim ("CordsNet-R2 requires more MACs to
        simulate than ViT-H-14") is ``r2_published_macs > vit_h_14_macs``.
    """

    torchvision: Agreement
    resnet18_params: int
    cordsnet_r8_params: int
    vit_h_14_macs: int
    r2_fast_macs: int
    r2_published_macs: int
    steps: int
    image_size: int

    @property
    def claim_holds(self) -> bool:
        """CordsNet-R2 (published computation) needs more MACs than ViT-H/14 at 224²."""
        return self.r2_published_macs > self.vit_h_14_macs

    def __str__(self) -> str:
        g = 1e9
        lines = [
            str(self.torchvision),
            f"parameters: CordsNet-R8 {self.cordsnet_r8_params / 1e6:.2f} M vs ResNet-18 "
            f"{self.resnet18_params / 1e6:.2f} M (ratio {self.cordsnet_r8_params / self.resnet18_params:.3f})",
            f"Fig. 2C claim, CordsNet-R2 ({self.steps} steps at {self.image_size}x{self.image_size}) "
            f"vs ViT-H/14 at 224x224 ({self.vit_h_14_macs / g:.1f} GMACs): published computation "
            f"{self.r2_published_macs / g:.1f} GMACs -> "
            f"{'holds' if self.claim_holds else 'does NOT hold'}; our fast path "
            f"{self.r2_fast_macs / g:.1f} GMACs "
            f"({'more' if self.r2_fast_macs > self.vit_h_14_macs else 'fewer'} than ViT-H/14)",
        ]
        return "\n".join(lines)


def summarize(rows: Sequence[ModelComplexity], tolerance: float = 0.02) -> Fig2CSummary:
    """Summarise a :func:`complexity_table`: agreement with torchvision's ``_ops``, CordsNet-R8
    vs ResNet-18 parameters, CordsNet-R2 vs ViT-H/14 MACs. ResNet-18, ViT-H/14 (224²) and
    CordsNet-R2/R8 missing from ``rows`` are counted here (at 224² and 300 steps for CordsNet)."""
    checked = agreement(rows, tolerance)

    def find(name: str, size: int | None = None) -> ModelComplexity | None:
        return next(
            (r for r in rows if r.name == name and (size is None or r.image_size == size)), None
        )

    resnet = find("resnet18") or torchvision_complexity(["resnet18"])[0]
    vit = find("vit_h_14", 224)
    if vit is None:
        vit = ModelComplexity(
            "vit_h_14", "torchvision", 224,
            count_macs(build_torchvision_model("vit_h_14", 224), torch.empty(1, 3, 224, 224)).total,
            0,
        )  # fmt: skip
    r2, r8 = find("CordsNet-R2"), find("CordsNet-R8")
    r2 = r2 or cordsnet_complexity(2)
    r8 = r8 or cordsnet_complexity(8, image_size=r2.image_size)
    return Fig2CSummary(
        torchvision=checked,
        resnet18_params=resnet.params,
        cordsnet_r8_params=r8.params,
        vit_h_14_macs=vit.macs,
        r2_fast_macs=r2.macs,
        r2_published_macs=r2.published_macs,
        steps=r2.steps,
        image_size=r2.image_size,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="CordsNet Euler steps (eq. 4)")
    parser.add_argument("--image-size", type=int, default=224, help="CordsNet input size")
    parser.add_argument("--out", type=Path, default=Path("figures"))
    parser.add_argument(
        "--breakdown", type=int, default=2, choices=(2, 4, 6, 8), help="CordsNet depth to detail"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)  # meta tensors: nothing to parallelise

    rows = complexity_table(args.steps, args.image_size, progress=True)
    print(format_table(rows))
    print()
    print(summarize(rows))

    layers = cordsnet_layers(args.breakdown, args.steps, args.image_size)
    print(f"\nCordsNet-R{args.breakdown}, {args.steps} steps at {args.image_size}²: per layer")
    print(f"{'layer':<24} {'MMACs/eval':>11} {'params':>9} {'fast evals':>10} {'published':>10}")
    for layer in layers:
        print(
            f"{layer.name:<24} {layer.macs / 1e6:>11.2f} {layer.params:>9} "
            f"{layer.fast:>10} {layer.published:>10}"
        )

    csv_path = write_csv(rows, args.out / "complexity_fig2c.csv")
    fig = plot_complexity(rows)
    png = args.out / "complexity_fig2c.png"
    fig.savefig(png, dpi=150)
    print(f"\nwrote {png} and {csv_path}")


if __name__ == "__main__":
    main()
