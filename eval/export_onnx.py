"""Export a policy to ONNX for the Jetson and check it against torch.

    python eval/export_onnx.py --out exports/default                 # the shipped default checkpoint
    python eval/export_onnx.py --checkpoint ckpt.safetensors --out exports/ckpt --no-fp16 --int8
    python eval/export_onnx.py --checkpoint RUN.ckpt --robovlms-config RUN.json --out exports/theirs

Writes backbone.onnx (+ backbone_fp16.onnx, backbone_int8.onnx, backbone_int8-text.onnx), head.onnx, the tokenizer and export.json, then
prints the max abs error of each graph and of the whole policy against torch on the same inputs; exits 1 if one
exceeds its tolerance. Every token layout and head exports, theirs included.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Sequence

from eval.cli import CommandParser, run_command
from vla_model.deploy.export_onnx import check_export, export_policy
from vla_model.loading.sequence import load_policy


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = CommandParser(prog="export_onnx.py", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="ours (.safetensors) or a RoboVLMs .ckpt; default: the shipped default checkpoint")
    parser.add_argument("--robovlms-config", type=Path, help="the training JSON of a RoboVLMs .ckpt (default: its "
                                                             "stored copy)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the exported files")
    parser.add_argument("--no-fp16", action="store_true", help="skip the fp16 backbone")
    parser.add_argument("--int8", action="store_true",
                        help="also the int8 backbones: onnxruntime's dynamic quantization of the fp32 graph, whole "
                             "(int8) and the text model's only (int8-text)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Export, check, report."""
    args = parse_args(argv)
    policy = load_policy(args.checkpoint, robovlms_config=args.robovlms_config)
    precisions = ("fp32",) + (() if args.no_fp16 else ("fp16",)) + (("int8", "int8-text") if args.int8 else ())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's warnings are about shapes the graphs do not vary
        files = export_policy(policy, args.out, precisions)
    checks = check_export(policy, files)
    print(f"exported to {files.folder}")
    print(f"{'graph':<10} {'precision':<10} {'max abs error':>14} {'tolerance':>10}  ok")
    for check in checks:
        error, tolerance = check.max_abs_error, check.tolerance
        print(f"{check.graph:<10} {check.precision:<10} {error:>14.3e} {tolerance:>10.0e}  {check.ok}")
    return 0 if all(check.ok for check in checks) else 1


if __name__ == "__main__":
    sys.exit(run_command("export_onnx.py", main))
