"""`sky2ground export-onnx`: export SkyNet to ONNX and check it against onnxruntime."""

from __future__ import annotations

import argparse

MAX_ABS_DIFF = 1e-4


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `export-onnx` subcommand."""
    parser = subparsers.add_parser(
        "export-onnx",
        help="export SkyNet to ONNX and compare onnxruntime with PyTorch",
        description=(
            "Inputs: images [1, S, 3, H, W] (ground/aerial, the first is the world frame) and, "
            "when --sat-frames > 0, satellite_images [1, M, 3, H, W]. Outputs: pose_enc, depth, "
            f"depth_conf. Exits 1 if onnxruntime and PyTorch differ by more than {MAX_ABS_DIFF}."
        ),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--weights", help="SkyNet weights (.safetensors / .pt from save_weights)")
    source.add_argument("--config", help="named config with random weights (e.g. tiny)")
    parser.add_argument("--frames", type=int, default=4, help="ground/aerial frames (S)")
    parser.add_argument("--sat-frames", type=int, default=1, help="satellite frames (M)")
    parser.add_argument(
        "--dynamic-frames", action="store_true", help="make S and M symbolic dimensions (>= 1)"
    )
    parser.add_argument(
        "--size", type=int, nargs=2, default=(224, 224), metavar=("H", "W"), help="image size"
    )
    parser.add_argument("--out", default="skynet.onnx", help="output .onnx path")
    parser.add_argument(
        "--no-optimize", action="store_true", help="skip the ONNX graph optimiser (faster export)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for --config random weights")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export, then run onnxruntime at the export size (and a larger one with --dynamic-frames)."""
    import torch

    from sky2ground_ros.model import SkyNet, get_config
    from sky2ground_ros.model.onnx_export import check_with_onnxruntime, export_onnx
    from sky2ground_ros.model.weights import WeightsError, load_model

    if args.frames < 1 or args.sat_frames < 0:
        print("--frames must be >= 1 and --sat-frames >= 0")
        return 2
    try:
        if args.weights:
            model = load_model(args.weights)
        else:
            torch.manual_seed(args.seed)
            model = SkyNet(get_config(args.config)).eval()
    except (WeightsError, ValueError) as error:
        print(f"cannot build the model: {error}")
        return 2
    image_hw = (args.size[0], args.size[1])
    path = export_onnx(
        model,
        args.out,
        frames=args.frames,
        satellite_frames=args.sat_frames,
        image_hw=image_hw,
        dynamic_frames=args.dynamic_frames,
        optimize=not args.no_optimize,
    )
    print(f"wrote {path} ({model.config.name}, {image_hw[0]}x{image_hw[1]})")
    sizes = [(args.frames, args.sat_frames)]
    if args.dynamic_frames:
        sizes.append((args.frames + 1, args.sat_frames + 1 if args.sat_frames else 0))
    worst = 0.0
    for frames, satellite in sizes:
        check = check_with_onnxruntime(
            model, path, frames=frames, satellite_frames=satellite, image_hw=image_hw
        )
        worst = max(worst, check.max_abs_diff)
        print(
            f"frames={frames} satellite_frames={satellite}: max abs diff {check.max_abs_diff:.3g}"
        )
    if worst > MAX_ABS_DIFF:
        print(f"FAILED: onnxruntime differs from PyTorch by {worst:.3g} > {MAX_ABS_DIFF}")
        return 1
    print("onnxruntime matches PyTorch")
    return 0
